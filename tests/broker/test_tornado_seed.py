"""The seed's Tornado pattern: an HTTP server and pika on one IOLoop, pika added by a timer.

An HTTP request's handler publishes through pika; the test then checks the message arrived in
the queue (a consumer on the same connection) and that the HTTP response came back.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any, Optional

import pytest
import tornado.httpclient
import tornado.httpserver
import tornado.ioloop
import tornado.testing
import tornado.web

import pika
from pika.adapters.tornado_connection import TornadoConnection

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pika.channel import Channel
    from tests.conftest import BrokerAddress

pytestmark = pytest.mark.broker


class PikaClient:
    """The seed's PikaClient: connects when the IOLoop timer fires, then declares and consumes."""

    def __init__(self, params: pika.ConnectionParameters, queue: str) -> None:
        self.params = params
        self.queue = queue
        self.connection: Optional[TornadoConnection] = None
        self.channel: Optional[Channel] = None
        self.ready = False
        self.received: list[bytes] = []

    def connect(self) -> None:
        self.connection = TornadoConnection(self.params, on_connected_callback=self.on_connected)

    def on_connected(self, connection: TornadoConnection) -> None:
        connection.channel(self.on_channel_open)  # the seed's 0.9 form

    def on_channel_open(self, channel: Channel) -> None:
        self.channel = channel
        channel.queue_declare(queue=self.queue, auto_delete=True, callback=self.on_declared)

    def on_declared(self, _frame: Any) -> None:
        assert self.channel is not None
        self.channel.basic_consume(self.on_message, queue=self.queue, no_ack=True)  # 0.9 form
        self.ready = True

    def on_message(self, _channel: Any, _method: Any, _header: Any, body: bytes) -> None:
        self.received.append(body)

    def publish(self, body: bytes) -> None:
        assert self.channel is not None
        self.channel.basic_publish('', self.queue, body)


class PublishHandler(tornado.web.RequestHandler):
    """GET /?msg=... publishes `msg` through the application's pika client."""

    def get(self) -> None:
        pika_client: PikaClient = self.application.pika  # type: ignore[attr-defined]
        if not pika_client.ready:
            self.set_status(503)
            self.finish('pika not ready')
            return
        message = self.get_argument('msg')
        pika_client.publish(message.encode())
        self.finish(f'published {message}')


@pytest.fixture
def ioloop() -> Iterator[tornado.ioloop.IOLoop]:
    asyncio_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(asyncio_loop)
    loop = tornado.ioloop.IOLoop.current()
    try:
        yield loop
    finally:
        loop.close(all_fds=False)  # sockets are closed by their owners
        asyncio.set_event_loop(None)


def test_seed_tornado_application(
    ioloop: tornado.ioloop.IOLoop, broker_address: BrokerAddress
) -> None:
    application = tornado.web.Application([(r'/', PublishHandler)])
    params = pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)
    application.pika = PikaClient(params, f'pikatest.tornado.{uuid.uuid4().hex}')  # type: ignore[attr-defined]
    sock, port = tornado.testing.bind_unused_port()
    http_server = tornado.httpserver.HTTPServer(application)
    http_server.add_sockets([sock])
    # The seed: `ioloop.add_timeout(500, application.pika.connect)` on the instance. Tornado
    # deadlines are absolute, so 500 is long past and the connect runs on the first iteration.
    seed_loop = tornado.ioloop.IOLoop.instance()
    assert seed_loop is ioloop
    seed_loop.add_timeout(500, application.pika.connect)  # type: ignore[attr-defined]
    responses: list[tornado.httpclient.HTTPResponse] = []

    async def scenario() -> None:
        for _ in range(200):
            if application.pika.ready:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.05)
        client = tornado.httpclient.AsyncHTTPClient()
        for text in ('hello', 'world'):
            responses.append(await client.fetch(f'http://127.0.0.1:{port}/?msg={text}'))
        for _ in range(200):
            if len(application.pika.received) == 2:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.05)
        connection = application.pika.connection  # type: ignore[attr-defined]
        connection.close()
        while not connection.is_closed:
            await asyncio.sleep(0.02)

    ioloop.run_sync(scenario, timeout=30)
    http_server.stop()
    assert [r.body for r in responses] == [b'published hello', b'published world']
    assert application.pika.received == [b'hello', b'world']  # type: ignore[attr-defined]


def test_tornado_connection_uses_current_loop_by_default(
    ioloop: tornado.ioloop.IOLoop, broker_address: BrokerAddress
) -> None:
    params = pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)
    opened: list[Any] = []
    connection = TornadoConnection(params, on_open_callback=opened.append)
    assert connection.ioloop is ioloop

    async def wait_open() -> None:
        while not opened:
            await asyncio.sleep(0.02)
        connection.close()
        while not connection.is_closed:
            await asyncio.sleep(0.02)

    ioloop.run_sync(wait_open, timeout=15)
    assert opened == [connection]


def test_on_connected_callback_and_on_open_callback_are_exclusive() -> None:
    with pytest.raises(TypeError):
        TornadoConnection(on_open_callback=print, on_connected_callback=print)
