"""`pika.aio`: a native async/await API on pika's sans-I/O core (docs/aio.md).

::

    # fragment: inside a coroutine (docs/aio.md has the whole program)
    import pika.aio

    async with await pika.aio.connect('amqp://guest:guest@localhost/') as conn:
        async with await conn.channel() as ch:
            await ch.queue_declare('jobs')
            await ch.basic_publish('', 'jobs', b'hello')
            async with ch.consume('jobs', prefetch=100) as messages:
                async for msg in messages:
                    async with msg.process():
                        print(msg.body)

One implementation over a small I/O interface (:mod:`pika.aio.backend`); asyncio (and
uvloop) is the default backend. The callback ``AsyncioConnection`` is unchanged.
"""

from __future__ import annotations

from pika.aio.backend import AsyncioBackend, Backend, Sink, TaskHandle, Transport, Waiter
from pika.aio.channel import Channel
from pika.aio.confirms import DEFAULT_CONFIRM_WINDOW
from pika.aio.connection import DEFAULT_RPC_TIMEOUT, Connection, ParametersLike, connect
from pika.aio.consume import Consumer
from pika.aio.message import Message, Processing

__all__ = [
    'DEFAULT_CONFIRM_WINDOW',
    'DEFAULT_RPC_TIMEOUT',
    'AsyncioBackend',
    'Backend',
    'Channel',
    'Connection',
    'Consumer',
    'Message',
    'ParametersLike',
    'Processing',
    'Sink',
    'TaskHandle',
    'Transport',
    'Waiter',
    'connect',
]
