"""`pika.aio` connection and channel logic without a socket: the test is the broker
(`tests.helpers.aio_fake`), so each late reply, requeue and event is exact."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pika import exceptions, spec
from tests.helpers import server_frames as sf
from tests.helpers.aio_fake import consume_ok, open_channel, open_connection, sent_methods


def _run(main: Any) -> None:
    asyncio.run(asyncio.wait_for(main(), 10))


async def _abandon(awaitable: Any) -> None:
    """Start a call, let its request out, cancel it before any reply."""
    task = asyncio.ensure_future(awaitable)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_late_rpc_reply_goes_to_nobody_and_the_next_caller_gets_its_own() -> None:
    async def main() -> None:
        conn, backend = await open_connection()
        ch = await open_channel(conn)
        assert backend.transport is not None
        await _abandon(ch.queue_declare('first'))
        second = asyncio.ensure_future(ch.queue_declare('second'))
        await asyncio.sleep(0)
        conn.data_received(sf.method(1, spec.Queue.DeclareOk('first', 0, 0)))
        await asyncio.sleep(0)
        assert not second.done()  # the late reply was not handed over
        conn.data_received(sf.method(1, spec.Queue.DeclareOk('second', 0, 0)))
        assert (await second).method.queue == 'second'

    _run(main)


def test_late_consume_ok_is_cancelled_and_its_deliveries_requeued() -> None:
    async def main() -> None:
        conn, backend = await open_connection()
        ch = await open_channel(conn)
        assert backend.transport is not None

        async def enter() -> None:
            async with ch.consume('q', consumer_tag='late'):
                pass

        await _abandon(enter())
        sent_methods(backend.transport)
        conn.data_received(consume_ok(1, 'late') + sf.deliver(1, b'x', 7, 'late'))
        await asyncio.sleep(0)
        methods = sent_methods(backend.transport)
        assert [type(m) for m in methods] == [spec.Basic.Cancel, spec.Basic.Nack]
        assert methods[0].consumer_tag == 'late'
        assert (methods[1].delivery_tag, methods[1].requeue) == (7, True)
        conn.data_received(sf.method(1, spec.Basic.CancelOk('late')))
        ok = asyncio.ensure_future(ch.basic_qos(prefetch_count=1))  # the FIFO is in step
        await asyncio.sleep(0)
        conn.data_received(sf.method(1, spec.Basic.QosOk()))
        assert isinstance((await ok).method, spec.Basic.QosOk)

    _run(main)


def test_late_get_ok_message_is_requeued() -> None:
    async def main() -> None:
        conn, backend = await open_connection()
        ch = await open_channel(conn)
        assert backend.transport is not None
        await _abandon(ch.basic_get('q'))
        sent_methods(backend.transport)
        conn.data_received(sf.get_ok(1, b'body', delivery_tag=3))
        await asyncio.sleep(0)
        (nack,) = sent_methods(backend.transport)
        assert isinstance(nack, spec.Basic.Nack) and (nack.delivery_tag, nack.requeue) == (3, True)

    _run(main)


def test_consumer_exit_cancels_then_requeues_each_buffered_message() -> None:
    async def main() -> None:
        conn, backend = await open_connection()
        ch = await open_channel(conn)
        assert backend.transport is not None
        consumer = ch.consume('q', consumer_tag='c')
        start = asyncio.ensure_future(consumer.__aenter__())
        await asyncio.sleep(0)
        conn.data_received(
            consume_ok(1, 'c') + b''.join(sf.deliver(1, b'm', t, 'c') for t in (1, 2, 3))
        )
        await start
        first = await consumer.__anext__()
        sent_methods(backend.transport)
        exit_task = asyncio.ensure_future(consumer.__aexit__(None, None, None))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        methods = sent_methods(backend.transport)
        assert [type(m).__name__ for m in methods] == ['Cancel', 'Nack', 'Nack']
        assert [m.delivery_tag for m in methods[1:]] == [2, 3]
        conn.data_received(sf.deliver(1, b'late', 4, 'c') + sf.method(1, spec.Basic.CancelOk('c')))
        await exit_task
        (late,) = sent_methods(backend.transport)
        assert isinstance(late, spec.Basic.Nack) and late.delivery_tag == 4
        await first.ack()  # handed out before exit: still the application's
        await asyncio.sleep(0)  # written at the end of the loop step
        (ack,) = sent_methods(backend.transport)
        assert isinstance(ack, spec.Basic.Ack) and ack.delivery_tag == 1

    _run(main)


def test_blocked_and_unblocked_events() -> None:
    seen: list[str] = []

    async def main() -> None:
        conn, _backend = await open_connection()
        conn.add_on_blocked_callback(lambda c, m: seen.append(f'blocked {m.reason}'))
        conn.add_on_unblocked_callback(lambda c, m: seen.append('unblocked'))
        await conn.wait_unblocked()  # not blocked: returns at once
        conn.data_received(sf.blocked('low on memory'))
        assert conn.is_blocked
        waiting = asyncio.ensure_future(conn.wait_unblocked(timeout=5))
        await asyncio.sleep(0)
        assert not waiting.done()
        conn.data_received(sf.unblocked())
        await waiting
        assert not conn.is_blocked

    _run(main)
    assert seen == ['blocked low on memory', 'unblocked']


def test_wait_closed_times_out_on_an_open_connection_and_can_wait_again() -> None:
    async def main() -> None:
        conn, _backend = await open_connection()
        with pytest.raises(exceptions.OperationTimeout, match='wait_closed'):
            await conn.wait_closed(timeout=0.01)
        assert conn.is_open  # the timeout ends the wait, not the connection
        closed = asyncio.ensure_future(conn.wait_closed(timeout=5))
        await asyncio.sleep(0)
        conn.data_received(sf.connection_close(320, 'CONNECTION_FORCED - bye'))
        cause = await closed
        assert isinstance(cause, exceptions.ConnectionClosedByBroker) and cause.reply_code == 320
        # closed already: returns the cause at once, whatever the bound
        assert await conn.wait_closed(timeout=0) is cause

    _run(main)


def test_broker_close_fails_waits_and_reports_the_cause() -> None:
    causes: list[BaseException] = []

    async def main() -> None:
        conn, _backend = await open_connection()
        conn.add_on_close_callback(lambda c, error: causes.append(error))
        ch = await open_channel(conn)
        waiting = asyncio.ensure_future(ch.queue_declare('q'))
        closed = asyncio.ensure_future(conn.wait_closed())
        await asyncio.sleep(0)
        conn.data_received(sf.connection_close(320, 'CONNECTION_FORCED - bye'))
        with pytest.raises(exceptions.ConnectionClosedByBroker):
            await waiting
        cause = await closed
        assert isinstance(cause, exceptions.ConnectionClosedByBroker) and cause.reply_code == 320
        assert conn.is_closed and not ch.is_open
        await conn.close()  # nothing left to close

    _run(main)
    assert len(causes) == 1


def test_stream_loss_ends_consumers_with_the_error() -> None:
    async def main() -> None:
        conn, backend = await open_connection()
        ch = await open_channel(conn)
        assert backend.transport is not None
        consumer = ch.consume('q', consumer_tag='c')
        start = asyncio.ensure_future(consumer.start())
        await asyncio.sleep(0)
        conn.data_received(consume_ok(1, 'c'))
        await start
        waiting = asyncio.ensure_future(consumer.__anext__())
        await asyncio.sleep(0)
        conn.connection_lost(ConnectionResetError('reset'))
        with pytest.raises(exceptions.StreamLostError):
            await waiting
        assert isinstance(conn.close_reason, exceptions.StreamLostError)

    _run(main)


# Each table method of pika.aio, its arguments (a few off their defaults) and its reply.
TABLE_CALLS: list[tuple[str, dict[str, Any], Any]] = [
    ('exchange_declare', {'exchange': 'x', 'exchange_type': 'topic', 'durable': True},
     spec.Exchange.DeclareOk()),
    ('exchange_delete', {'exchange': 'x', 'if_unused': True}, spec.Exchange.DeleteOk()),
    ('exchange_bind', {'destination': 'd', 'source': 's', 'routing_key': 'k'},
     spec.Exchange.BindOk()),
    ('exchange_unbind', {'destination': 'd', 'source': 's', 'arguments': {'a': 1}},
     spec.Exchange.UnbindOk()),
    ('queue_declare', {'queue': 'q', 'passive': True, 'auto_delete': True},
     spec.Queue.DeclareOk('q', 2, 1)),
    ('queue_bind', {'queue': 'q', 'exchange': 'x'}, spec.Queue.BindOk()),
    ('queue_unbind', {'queue': 'q', 'exchange': 'x', 'routing_key': 'k'}, spec.Queue.UnbindOk()),
    ('queue_purge', {'queue': 'q'}, spec.Queue.PurgeOk(3)),
    ('queue_delete', {'queue': 'q', 'if_empty': True}, spec.Queue.DeleteOk(0)),
    ('basic_qos', {'prefetch_count': 10, 'global_qos': True}, spec.Basic.QosOk()),
    ('basic_recover', {'requeue': True}, spec.Basic.RecoverOk()),
    ('basic_cancel', {'consumer_tag': 'ctag'}, spec.Basic.CancelOk('ctag')),
    ('tx_select', {}, spec.Tx.SelectOk()),
    ('tx_commit', {}, spec.Tx.CommitOk()),
    ('tx_rollback', {}, spec.Tx.RollbackOk()),
]  # fmt: skip


@pytest.mark.parametrize(('name', 'kwargs', 'reply'), TABLE_CALLS, ids=[c[0] for c in TABLE_CALLS])
def test_table_methods_send_what_the_shared_table_prepares(
    name: str, kwargs: dict[str, Any], reply: Any
) -> None:
    """pika.aio checks and builds its table methods without ``args.bind`` (its signatures
    bind): what it sends is what the table's full ``prepare`` of the same call builds, and
    the caller gets the reply as a ``frame.Method``."""
    from pika import frame
    from pika._api.methods import METHODS

    async def main() -> None:
        conn, backend = await open_connection()
        ch = await open_channel(conn)
        assert backend.transport is not None
        sent_methods(backend.transport)  # the Channel.Open
        call = asyncio.ensure_future(getattr(ch, name)(**kwargs))
        await asyncio.sleep(0)
        [sent] = sent_methods(backend.transport)
        expected = METHODS[name].prepare((), kwargs)[0]
        assert type(sent) is type(expected)
        assert b''.join(sent.encode()) == b''.join(expected.encode())  # the same wire bytes
        conn.data_received(sf.method(1, reply))
        result = await call
        assert type(result) is frame.Method  # built without its class call: every slot set
        assert (result.frame_type, result.channel_number) == (spec.FRAME_METHOD, 1)
        assert type(result.method) is type(reply) and vars(result.method) == vars(reply)

    _run(main)


def test_table_rpc_cancelled_after_its_reply_came_keeps_the_fifo_in_step() -> None:
    async def main() -> None:
        conn, _ = await open_connection()
        ch = await open_channel(conn)
        first = asyncio.ensure_future(ch.queue_declare('first'))
        await asyncio.sleep(0)
        conn.data_received(sf.method(1, spec.Queue.DeclareOk('first', 0, 0)))
        first.cancel()  # the reply is set, the task has not resumed yet
        with pytest.raises(asyncio.CancelledError):
            await first
        second = asyncio.ensure_future(ch.queue_declare('second'))
        await asyncio.sleep(0)
        conn.data_received(sf.method(1, spec.Queue.DeclareOk('second', 0, 0)))
        assert (await second).method.queue == 'second'

    _run(main)


def test_rpc_whose_write_raised_still_takes_its_own_reply() -> None:
    """The wait of an RPC is set up after its request is written; a write that raises must
    still leave the wait in the FIFO, or the broker's reply would go to the next caller."""

    async def main() -> None:
        conn, backend = await open_connection()
        ch = await open_channel(conn)
        transport = backend.transport
        assert transport is not None

        def refuse(_data: Any) -> None:
            raise OSError('write refused')

        transport.write = refuse  # type: ignore[method-assign]
        with pytest.raises(OSError, match='write refused'):
            await ch.queue_declare('first')
        del transport.write  # the class's method again
        second = asyncio.ensure_future(ch.queue_declare('second'))
        await asyncio.sleep(0)
        conn.data_received(sf.method(1, spec.Queue.DeclareOk('first', 0, 0)))
        await asyncio.sleep(0)
        assert not second.done()  # the first reply went to the first (abandoned) wait
        conn.data_received(sf.method(1, spec.Queue.DeclareOk('second', 0, 0)))
        assert (await second).method.queue == 'second'

    _run(main)


def test_stream_protocol_hands_reads_straight_to_the_sink() -> None:
    """uvloop looks up ``data_received`` when it attaches the protocol, before
    ``connection_made``: the sink's method must be in place from construction."""
    from pika.aio.backend import _StreamProtocol

    received: list[bytes] = []

    class Sink:
        def data_received(self, data: bytes) -> None:
            received.append(data)

    sink = Sink()
    protocol = _StreamProtocol(sink)  # type: ignore[arg-type]
    assert protocol.data_received == sink.data_received
    protocol.data_received(b'frame')
    assert received == [b'frame']


@pytest.mark.parametrize('path', ['basic_publish', 'table_rpc', 'send_rpc'])
def test_a_call_while_recovering_waits_its_timeout_then_raises_connection_recovering(
    path: str,
) -> None:
    """Each channel path that waits for a recovering connection (publish, a table RPC, an RPC
    through ``send_rpc``) is bounded by the call's ``timeout`` and sends nothing meanwhile."""

    async def main() -> None:
        conn, backend = await open_connection()
        ch = await open_channel(conn)
        assert backend.transport is not None
        backend.transport.take()
        conn.recovering = True  # as a ConnectionInterrupted event leaves it
        # no default bound: a path that ignored its call's timeout would wait for good (and
        # fail by _run's bound) instead of passing on rpc_timeout a few seconds later
        conn.rpc_timeout = None
        calls = {
            'basic_publish': lambda: ch.basic_publish('', 'q', b'x', timeout=0.01),
            'table_rpc': lambda: ch.queue_declare('q', timeout=0.01),
            'send_rpc': lambda: ch.basic_get('q', timeout=0.01),
        }
        with pytest.raises(exceptions.ConnectionRecovering):
            await calls[path]()
        assert backend.transport.take() == b''

    _run(main)
