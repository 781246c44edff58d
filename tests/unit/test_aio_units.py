"""`pika.aio`'s pure parts, without a socket: confirm tracking, waits, parameters, messages."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Optional

import pytest

import pika
from pika import exceptions, spec
from pika._core import events as ev
from pika.aio.confirms import Confirms
from pika.aio.connection import check_timeout, param_list
from pika.aio.message import Message
from pika.aio.waits import Pending, bounded

if TYPE_CHECKING:
    from collections.abc import Generator


class FakeWaiter:
    """The `Waiter` protocol in its simplest form (what a trio backend implements)."""

    def __init__(self) -> None:
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.is_done = False

    def done(self) -> bool:
        return self.is_done

    def set_result(self, result: Any, /) -> None:
        assert not self.is_done
        self.result, self.is_done = result, True

    def set_exception(self, exception: Any, /) -> None:
        assert not self.is_done
        self.error, self.is_done = exception, True

    def __await__(self) -> Generator[Any, None, Any]:
        yield self
        return self.result


def _entry(tag: int, mandatory: bool = False, routing_key: str = 'rk') -> tuple[Any, ...]:
    return (tag, FakeWaiter(), None, 'ex', routing_key, b'body', None, mandatory)


def test_confirms_settle_single_and_multiple_acks_in_order() -> None:
    confirms = Confirms(window=10)
    entries = [_entry(tag) for tag in range(1, 6)]
    for entry in entries:
        confirms.add(entry)  # type: ignore[arg-type]
    confirms.confirmed(spec.Basic.Ack(delivery_tag=1))
    assert entries[0][1].is_done and not entries[1][1].is_done
    confirms.confirmed(spec.Basic.Ack(delivery_tag=3, multiple=True))
    assert all(e[1].is_done and e[1].error is None for e in entries[:3])
    confirms.confirmed(spec.Basic.Ack(delivery_tag=5))  # out of order: found and settled alone
    assert entries[4][1].is_done and not entries[3][1].is_done
    assert len(confirms) == 1


def test_confirms_nack_and_returned_raise_the_right_errors() -> None:
    confirms = Confirms()
    nacked, returned, plain = _entry(1), _entry(2, mandatory=True, routing_key='nowhere'), _entry(3)
    for entry in (nacked, returned, plain):
        confirms.add(entry)  # type: ignore[arg-type]
    confirms.confirmed(spec.Basic.Nack(delivery_tag=1))
    assert isinstance(nacked[1].error, exceptions.NackError)
    assert nacked[1].error.messages[0].body == b'body'
    event = ev.MessageReturned(
        1, spec.Basic.Return(312, 'NO_ROUTE', 'ex', 'nowhere'), spec.BasicProperties(), b'body'
    )
    assert confirms.returned(event)
    other = ev.MessageReturned(1, spec.Basic.Return(312, 'NO_ROUTE', 'ex', 'x'), None, b'')
    assert not confirms.returned(other)  # no mandatory publish with that routing key
    confirms.confirmed(spec.Basic.Ack(delivery_tag=3, multiple=True))
    assert isinstance(returned[1].error, exceptions.UnroutableError)
    assert plain[1].error is None and plain[1].is_done


def test_confirms_window_wakes_waiting_publishers_and_skips_abandoned_entries() -> None:
    confirms = Confirms(window=2)
    first, second = _entry(1), _entry(2)
    confirms.add(first)  # type: ignore[arg-type]
    confirms.add(second)  # type: ignore[arg-type]
    assert confirms.full
    second[1].set_exception(asyncio.CancelledError())  # its task was cancelled
    slot_a, slot_b = FakeWaiter(), FakeWaiter()
    confirms.slot_waiters.extend([slot_a, slot_b])
    confirms.confirmed(spec.Basic.Ack(delivery_tag=2, multiple=True))  # the late one discarded
    assert slot_a.is_done and slot_b.is_done and len(confirms) == 0


def test_confirms_expire_and_fail_all() -> None:
    confirms = Confirms()
    late = (1, FakeWaiter(), 5.0, 'ex', 'rk', b'', None, False)
    fresh = (2, FakeWaiter(), 50.0, 'ex', 'rk', b'', None, False)
    confirms.add(late)  # type: ignore[arg-type]
    confirms.add(fresh)  # type: ignore[arg-type]
    confirms.expire(10.0)
    assert isinstance(late[1].error, exceptions.OperationTimeout) and not fresh[1].is_done
    assert len(confirms) == 2  # still in flight
    error = exceptions.ChannelClosedByBroker(404, 'gone')
    confirms.fail_all(error)
    assert fresh[1].error is error and len(confirms) == 0


def test_pending_settles_once_and_reports_abandoned_waits() -> None:
    waiter = FakeWaiter()
    pending = Pending(waiter, 'request')
    assert pending.live and pending.settle(1) and waiter.result == 1
    assert not pending.settle(2) and not pending.live
    assert not Pending(None).live and not Pending(None).settle(3)


def test_bounded_times_out_with_operation_timeout() -> None:
    async def main() -> None:
        from pika.aio.backend import AsyncioBackend

        backend = AsyncioBackend()
        waiter = backend.create_waiter()
        with pytest.raises(exceptions.OperationTimeout, match='thing timed out'):
            await bounded(backend, waiter, backend.now() + 0.01, 'thing')
        assert waiter.done()
        settled = backend.create_waiter()
        backend.call_soon(lambda: settled.set_result(7))
        assert await bounded(backend, settled, None, 'other') == 7

    asyncio.run(main())


def test_param_list_accepts_params_urls_and_lists() -> None:
    params = pika.ConnectionParameters(host='h')
    assert param_list(params) == [params]
    (url,) = param_list('amqp://u:p@example.org:5673/vh')
    assert (url.host, url.port, url.virtual_host) == ('example.org', 5673, 'vh')
    assert [p.host for p in param_list([params, 'amqp://other/'])] == ['h', 'other']
    assert param_list(None)[0].host == 'localhost'
    with pytest.raises(ValueError):
        param_list([])
    with pytest.raises(TypeError):
        param_list(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        param_list([params, 42])  # type: ignore[list-item]


def test_check_timeout() -> None:
    assert check_timeout('t', None) is None
    assert check_timeout('t', 2) == 2.0
    assert check_timeout('t', float('inf')) is None
    for bad in (0, -1, float('nan')):
        with pytest.raises(ValueError):
            check_timeout('t', bad)
    with pytest.raises(TypeError):
        check_timeout('t', True)


class _AckRecorder:
    """Stands in for a channel: records what a message settles."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.is_open = True

    async def basic_ack(self, tag: int, multiple: bool) -> None:
        self.calls.append(('ack', tag, multiple))

    def ack_delivery(self, tag: int, multiple: bool) -> None:
        self.calls.append(('ack', tag, multiple))

    async def basic_nack(self, tag: int, multiple: bool, requeue: bool) -> None:
        self.calls.append(('nack', tag, multiple, requeue))

    async def basic_reject(self, tag: int, requeue: bool) -> None:
        self.calls.append(('reject', tag, requeue))


def _message(channel: Any, tag: int, settled: bool = False) -> Message:
    method = spec.Basic.Deliver('ctag', tag, False, 'ex', 'rk')
    return Message(channel, method, spec.BasicProperties(), b'x', settled)


def test_message_settles_once_and_process_acks_or_nacks() -> None:
    channel = _AckRecorder()

    async def main() -> None:
        first = _message(channel, 1)
        assert (first.delivery_tag, first.exchange, first.routing_key) == (1, 'ex', 'rk')
        assert first.consumer_tag == 'ctag' and first.message_count is None
        await first.ack()
        with pytest.raises(exceptions.AMQPChannelError):
            await first.nack()
        async with _message(channel, 2).process():
            pass
        with pytest.raises(RuntimeError):
            async with _message(channel, 3).process(requeue_on_error=False):
                raise RuntimeError('boom')
        async with _message(channel, 4).process() as fourth:
            await fourth.reject(requeue=False)  # settled inside: left alone on exit
        with pytest.raises(exceptions.AMQPChannelError):
            await _message(channel, 5, settled=True).ack()  # auto_ack delivery

    asyncio.run(main())
    assert channel.calls == [
        ('ack', 1, False),
        ('ack', 2, False),
        ('nack', 3, False, False),
        ('reject', 4, False),
    ]
