"""An asyncio application that serves HTTP while it consumes, both on one event loop.

A minimal HTTP/1.0 responder (`asyncio.start_server`) reports how many messages the pika
consumer has received so far. In each round the test publishes a batch and, at the same time,
makes concurrent HTTP requests; then one more request must report the whole batch consumed.
Run on the default asyncio loop and on uvloop.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import pytest

import pika
from pika.adapters.asyncio_connection import AsyncioConnection

if TYPE_CHECKING:
    from pika.channel import Channel
    from tests.conftest import BrokerAddress

pytestmark = pytest.mark.broker

ROUNDS = 4
BATCH = 25
CONCURRENT_REQUESTS = 10


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == 'uvloop':
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class Application:
    """The pika consumer and the HTTP responder, sharing one loop."""

    def __init__(self, params: pika.ConnectionParameters, queue: str) -> None:
        self.params = params
        self.queue = queue
        self.consumed: list[bytes] = []
        self.ready: asyncio.Future[Channel] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()
        self.connection = AsyncioConnection(
            params,
            on_open_callback=self._on_open,
            on_open_error_callback=lambda _c, err: self.ready.set_exception(err),
            on_close_callback=lambda _c, err: self.closed.set_result(err),
        )

    def _on_open(self, connection: AsyncioConnection) -> None:
        connection.channel(on_open_callback=self._on_channel)

    def _on_channel(self, channel: Channel) -> None:
        def on_declared(_frame: Any) -> None:
            channel.basic_consume(self.queue, self._on_message, callback=lambda _f: ready())

        def ready() -> None:
            self.ready.set_result(channel)

        channel.queue_declare(self.queue, auto_delete=True, callback=on_declared)

    def _on_message(self, channel: Channel, method: Any, _props: Any, body: bytes) -> None:
        self.consumed.append(body)
        channel.basic_ack(method.delivery_tag)

    async def handle_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = await reader.readline()
        while (await reader.readline()).strip():
            pass  # skip the headers
        if request_line.startswith(b'GET /count '):
            status, body = b'200 OK', str(len(self.consumed)).encode()
        else:
            status, body = b'404 Not Found', b'no such page'
        writer.write(b'HTTP/1.0 ' + status + b'\r\nContent-Type: text/plain\r\n')
        writer.write(b'Content-Length: %d\r\n\r\n' % len(body) + body)
        await writer.drain()
        writer.close()


async def http_get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    writer.write(f'GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n'.encode())
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b'\r\n\r\n')
    return int(head.split()[1]), body


async def scenario(params: pika.ConnectionParameters) -> list[list[int]]:
    app = Application(params, f'pikatest.asyncio_http.{uuid.uuid4().hex}')
    server = await asyncio.start_server(app.handle_http, '127.0.0.1', 0)
    port = server.sockets[0].getsockname()[1]
    channel = await asyncio.wait_for(app.ready, 15)
    counts_per_round: list[list[int]] = []

    async def publish_batch(first: int) -> None:
        for i in range(first, first + BATCH):
            channel.basic_publish('', app.queue, b'%d' % i)
            await asyncio.sleep(0)  # let the loop serve HTTP between publishes

    async def wait_consumed(total: int) -> None:
        while len(app.consumed) < total:
            await asyncio.sleep(0.01)

    try:
        for round_number in range(ROUNDS):
            expected_total = (round_number + 1) * BATCH
            responses: list[Any] = await asyncio.wait_for(
                asyncio.gather(
                    publish_batch(round_number * BATCH),
                    *(http_get(port, '/count') for _ in range(CONCURRENT_REQUESTS)),
                    wait_consumed(expected_total),
                ),
                15,
            )
            answers = responses[1 : 1 + CONCURRENT_REQUESTS]
            assert all(status == 200 for status, _ in answers)
            counts = [int(body) for _, body in answers]
            assert all(0 <= c <= expected_total for c in counts)
            status, body = await http_get(port, '/count')
            assert (status, int(body)) == (200, expected_total)
            counts_per_round.append(counts)
        assert (await http_get(port, '/nope'))[0] == 404
    finally:
        server.close()
        await server.wait_closed()
        if app.connection.is_open:
            app.connection.close()
        await asyncio.wait_for(app.closed, 10)
    assert app.consumed == [b'%d' % i for i in range(ROUNDS * BATCH)]
    return counts_per_round


@pytest.mark.parametrize('loop_kind', ['asyncio', 'uvloop'])
def test_http_and_consume_on_one_loop(loop_kind: str, broker_address: BrokerAddress) -> None:
    params = pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)
    loop = _new_loop(loop_kind)
    try:
        counts = loop.run_until_complete(scenario(params))
    finally:
        loop.close()
    assert len(counts) == ROUNDS
    assert all(len(round_counts) == CONCURRENT_REQUESTS for round_counts in counts)


def test_default_loop_is_the_running_loop(broker_address: BrokerAddress) -> None:
    params = pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)

    async def main() -> None:
        opened: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        connection = AsyncioConnection(params, on_open_callback=opened.set_result)
        assert connection.ioloop is asyncio.get_running_loop()
        assert await asyncio.wait_for(opened, 10) is connection
        connection.close()
        while not connection.is_closed:
            await asyncio.sleep(0.01)

    asyncio.run(main())


def test_custom_ioloop_must_be_an_event_loop() -> None:
    with pytest.raises(TypeError):
        AsyncioConnection(custom_ioloop=object())  # type: ignore[arg-type]
