"""RPC waits of 5 s or more are expired by the connection's sweep (``Channel.expire``), not by a
loop timer each; shorter ones keep their own timer. Either way the caller gets
``OperationTimeout`` and the late reply goes to nobody. Socket-free: the test is the broker
(`tests.helpers.aio_fake`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pika import exceptions, spec
from pika.aio.channel import SWEPT_RPC_TIMEOUT
from tests.helpers import server_frames as sf
from tests.helpers.aio_fake import open_channel, open_connection


def _run(main: Any) -> None:
    asyncio.run(asyncio.wait_for(main(), 10))


def test_a_long_rpc_wait_is_expired_by_the_sweep_and_its_late_reply_discarded() -> None:
    async def main() -> None:
        conn, backend = await open_connection()
        ch = await open_channel(conn)
        timeout = SWEPT_RPC_TIMEOUT + 1
        waiting = asyncio.ensure_future(ch.queue_declare('slow', timeout=timeout))
        await asyncio.sleep(0)
        ch.expire(backend.now() + timeout / 2)  # not due yet
        await asyncio.sleep(0)
        assert not waiting.done()
        ch.expire(backend.now() + timeout + 0.01)
        with pytest.raises(exceptions.OperationTimeout, match=r'Queue\.Declare on channel 1'):
            await waiting
        second = asyncio.ensure_future(ch.queue_declare('second'))
        await asyncio.sleep(0)
        conn.data_received(sf.method(1, spec.Queue.DeclareOk('slow', 0, 0)))  # late: nobody
        await asyncio.sleep(0)
        assert not second.done()
        conn.data_received(sf.method(1, spec.Queue.DeclareOk('second', 0, 0)))
        assert (await second).method.queue == 'second'

    _run(main)


def test_a_past_deadline_fails_at_once_even_if_the_reply_is_quick() -> None:
    async def main() -> None:
        conn, _backend = await open_connection()
        ch = await open_channel(conn)
        with pytest.raises(exceptions.OperationTimeout):
            await ch.queue_declare('now', timeout=1e-9)
        conn.data_received(sf.method(1, spec.Queue.DeclareOk('now', 0, 0)))  # discarded
        third = asyncio.ensure_future(ch.queue_declare('third'))
        await asyncio.sleep(0)
        conn.data_received(sf.method(1, spec.Queue.DeclareOk('third', 0, 0)))
        assert (await third).method.queue == 'third'

    _run(main)


def test_a_short_timeout_wait_returns_the_reply_frame() -> None:
    """Below SWEPT_RPC_TIMEOUT a loop timer bounds the wait; the reply is the same frame."""

    async def main() -> None:
        conn, _backend = await open_connection()
        ch = await open_channel(conn)
        waiting = asyncio.ensure_future(ch.queue_declare('short', timeout=SWEPT_RPC_TIMEOUT / 2))
        await asyncio.sleep(0)
        conn.data_received(sf.method(1, spec.Queue.DeclareOk('short', 4, 1)))
        reply = await waiting
        assert reply.channel_number == 1
        assert (reply.method.queue, reply.method.message_count) == ('short', 4)

    _run(main)
