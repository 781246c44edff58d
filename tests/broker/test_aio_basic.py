"""`pika.aio` against the real broker: connect, close, channels, every RPC and its errors.

Each test runs its coroutine on a fresh loop (asyncio; asyncio, uvloop and trio where
parametrized by `loop_kind`), bounded by `tests.helpers.aio.run`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

import pika
import pika.aio
from pika import exceptions, spec
from tests.helpers.aio import ALL_KINDS, run

if TYPE_CHECKING:
    from tests.conftest import BrokerAddress

pytestmark = pytest.mark.broker


@pytest.fixture(params=ALL_KINDS)
def loop_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_connect_with_url_and_close(loop_kind: str, amqp_url: str) -> None:
    async def main() -> None:
        conn = await pika.aio.connect(amqp_url)
        assert conn.is_open and not conn.is_closed
        assert 'capabilities' in conn.server_properties
        await conn.close()
        assert conn.is_closed and not conn.is_open
        assert isinstance(conn.close_reason, exceptions.ConnectionClosedByClient)
        await conn.close()  # idempotent
        assert isinstance(await conn.wait_closed(), exceptions.ConnectionClosedByClient)

    run(loop_kind, main)


def test_connect_with_params_list_and_async_with(broker_params: Any) -> None:
    async def main() -> pika.aio.Connection:
        dead = pika.ConnectionParameters(host='127.0.0.1', port=1, connection_attempts=1)
        async with await pika.aio.connect([dead, broker_params]) as conn:
            assert conn.is_open
            assert conn.params is broker_params
            async with await conn.channel() as ch:
                assert ch.is_open and ch.channel_number == 1
            assert ch.is_closed
            assert isinstance(ch.close_reason, exceptions.ChannelClosedByClient)
        return conn

    conn = run('asyncio', main)
    assert conn.is_closed


def test_connect_refused_raises_connection_error() -> None:
    async def main() -> None:
        params = pika.ConnectionParameters(host='127.0.0.1', port=1, connection_attempts=2,
                                           retry_delay=0.01)  # fmt: skip
        with pytest.raises(exceptions.AMQPConnectionError, match='refused'):
            await pika.aio.connect(params)

    run('asyncio', main)


def test_bad_credentials_raise_authentication_error(broker_address: BrokerAddress) -> None:
    async def main() -> None:
        params = pika.ConnectionParameters(
            host=broker_address.host, port=broker_address.port,
            credentials=pika.PlainCredentials('guest', 'wrong-password'),
        )  # fmt: skip
        with pytest.raises(exceptions.ProbableAuthenticationError):
            await pika.aio.connect(params)

    run('asyncio', main)


def test_every_rpc(loop_kind: str, amqp_url: str, unique_name: str) -> None:
    queue, source, destination = unique_name, unique_name + '.src', unique_name + '.dst'

    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            ok = await ch.exchange_declare(source, 'topic', auto_delete=False)
            assert isinstance(ok.method, spec.Exchange.DeclareOk)
            await ch.exchange_declare(destination, exchange_type='fanout')
            assert isinstance(
                (await ch.exchange_bind(destination, source, 'a.#')).method, spec.Exchange.BindOk
            )
            declared = await ch.queue_declare(queue, durable=False, arguments={'x-max-length': 10})
            assert declared.method.queue == queue and declared.method.message_count == 0
            assert isinstance((await ch.queue_bind(queue, destination)).method, spec.Queue.BindOk)
            await ch.basic_publish(source, 'a.b', b'routed')
            await ch.basic_publish(source, 'x.y', b'dropped')
            purged = await ch.queue_purge(queue)
            assert purged.method.message_count == 1
            assert isinstance(
                (await ch.queue_unbind(queue, destination)).method, spec.Queue.UnbindOk
            )
            assert isinstance(
                (await ch.exchange_unbind(destination, source, 'a.#')).method,
                spec.Exchange.UnbindOk,
            )
            assert isinstance((await ch.basic_qos(prefetch_count=10)).method, spec.Basic.QosOk)
            assert isinstance((await ch.basic_recover(requeue=True)).method, spec.Basic.RecoverOk)
            assert isinstance((await ch.tx_select()).method, spec.Tx.SelectOk)
            await ch.basic_publish('', queue, b'in tx')
            assert isinstance((await ch.tx_rollback()).method, spec.Tx.RollbackOk)
            assert (await ch.queue_declare(queue, passive=True)).method.message_count == 0
            await ch.basic_publish('', queue, b'in tx')
            assert isinstance((await ch.tx_commit()).method, spec.Tx.CommitOk)
            assert (await ch.queue_declare(queue, passive=True)).method.message_count == 1
            async with ch.consume(queue, consumer_tag='my-tag') as messages:
                assert messages.consumer_tag == 'my-tag'
                msg = await messages.__anext__()
                assert msg.body == b'in tx' and msg.consumer_tag == 'my-tag'
                await msg.ack()
            cancelled = await ch.basic_cancel('not-a-consumer')
            assert isinstance(cancelled.method, spec.Basic.CancelOk)
            deleted = await ch.queue_delete(queue, if_unused=False, if_empty=True)
            assert deleted.method.message_count == 0
            await ch.exchange_delete(destination)
            assert isinstance((await ch.exchange_delete(source)).method, spec.Exchange.DeleteOk)
            async with await conn.channel() as confirming:
                await confirming.confirm_delivery()
                await confirming.basic_publish('', 'no-such-queue-' + queue, b'confirmed')

    run(loop_kind, main)


def test_broker_closes_channel_with_the_reply(amqp_url: str, unique_name: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn:
            ch = await conn.channel()
            with pytest.raises(exceptions.ChannelClosedByBroker) as info:
                await ch.queue_declare(unique_name, passive=True)
            assert info.value.reply_code == 404
            assert ch.is_closed and isinstance(ch.close_reason, exceptions.ChannelClosedByBroker)
            with pytest.raises(exceptions.ChannelWrongStateError):
                await ch.queue_declare(unique_name)
            with pytest.raises(exceptions.ChannelWrongStateError):
                await ch.basic_publish('', unique_name, b'x')
            await ch.close()  # closing a closed channel does nothing
            other = await conn.channel()  # the connection is fine
            await other.queue_declare(unique_name, auto_delete=True)
            assert conn.is_open

    run('asyncio', main)


def test_broker_closes_connection_and_reports_the_cause(amqp_url: str) -> None:
    closed: list[BaseException] = []

    async def main() -> None:
        conn = await pika.aio.connect(amqp_url)
        conn.add_on_close_callback(lambda c, error: closed.append(error))
        ch = await conn.channel()
        with pytest.raises(exceptions.ConnectionClosedByBroker) as info:
            await ch.exchange_declare('pikatest.bogus', exchange_type='x-no-such-type')
        assert info.value.reply_code == 503
        cause = await conn.wait_closed()
        assert cause is conn.close_reason and isinstance(cause, exceptions.ConnectionClosedByBroker)
        with pytest.raises(exceptions.ConnectionWrongStateError):
            await conn.channel()

    run('asyncio', main)
    assert len(closed) == 1 and isinstance(closed[0], exceptions.ConnectionClosedByBroker)


def test_bad_arguments_raise_at_the_call(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            with pytest.raises(TypeError):
                await ch.queue_declare(5)  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                await ch.queue_declare('q', durable='yes')  # type: ignore[arg-type]
            with pytest.raises(ValueError):
                await ch.basic_qos(prefetch_count=-1)
            with pytest.raises(TypeError):
                await ch.basic_publish('', 'q', 12)  # type: ignore[arg-type]
            with pytest.raises(ValueError):
                await ch.queue_declare('q', timeout=-1)
            await ch.queue_declare('', exclusive=True)  # still usable

    run('asyncio', main)


def test_rpc_timeout_bounds_the_wait(amqp_url: str) -> None:
    """A wait that outlives its bound raises OperationTimeout; the late reply is discarded
    and the next call gets its own reply."""

    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            with pytest.raises(exceptions.OperationTimeout):
                await ch.queue_declare('', exclusive=True, timeout=1e-9)
            ok = await ch.queue_declare('', exclusive=True)
            assert ok.method.queue.startswith('amq.gen-')
            second = await ch.queue_declare(ok.method.queue, passive=True)
            assert second.method.queue == ok.method.queue

    run('asyncio', main)


def test_heartbeats_keep_an_idle_connection_open(broker_address: BrokerAddress) -> None:
    async def main() -> None:
        params = pika.ConnectionParameters(
            host=broker_address.host, port=broker_address.port, heartbeat=1
        )
        async with await pika.aio.connect(params) as conn:
            assert conn.core.heartbeat == 1
            await asyncio.sleep(3.5)  # the broker closes a silent client after 2 heartbeats
            assert conn.is_open
            ch = await conn.channel()
            await ch.queue_declare('', exclusive=True)

    run('asyncio', main)


def test_channel_numbers_and_many_channels(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn:
            channels = [await conn.channel() for _ in range(5)]
            assert [c.channel_number for c in channels] == [1, 2, 3, 4, 5]
            await channels[1].close()
            again = await conn.channel()
            assert again.channel_number == 2
            explicit = await conn.channel(42)
            assert explicit.channel_number == 42
            results = await asyncio.gather(*(c.queue_declare('', exclusive=True)
                                             for c in channels if c.is_open))  # fmt: skip
            assert len({r.method.queue for r in results}) == 4

    run('asyncio', main)


def test_update_secret(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn:
            await conn.update_secret('guest', 'same password, new secret')
            with pytest.raises(TypeError):
                await conn.update_secret(5, 'not a str')  # type: ignore[arg-type]
            ch = await conn.channel()
            await ch.queue_declare('', exclusive=True)  # still fine

    run('asyncio', main)
