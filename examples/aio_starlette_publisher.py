"""A Starlette endpoint that publishes through `pika.aio` and answers 202 once RabbitMQ confirmed.

``POST /publish/{routing_key}`` publishes the request body to ``PIKA_EXCHANGE`` (default: the
default exchange, where the routing key names a queue); ``GET /health`` reports whether the
channel is open. Why it is built this way:

* **One connection per application**, opened by the lifespan and closed at shutdown. An AMQP
  connection is expensive (TCP, a handshake, heartbeats) and one confirm-mode channel carries
  any number of concurrent requests' publishes (up to its ``confirm_window`` in flight, later
  ones wait for a slot), so requests share it instead of connecting each time.
* **202 only after the broker's confirm.** The channel is in confirm mode and every publish is
  ``mandatory``: ``basic_publish`` returns once RabbitMQ took responsibility for the message,
  and raises ``UnroutableError`` when no queue is bound for the key or ``NackError`` when the
  broker refused it. The client hears of a lost message as an HTTP error, never as a 202.
* **Bounded.** Every wait is bounded by the connection's ``rpc_timeout``
  (``PIKA_CONFIRM_TIMEOUT``, default 10 s): a request never hangs on a stalled broker, it gets
  504 (the message may still arrive). A lost connection gives 503; for reconnection pass
  ``ConnectionParameters(recovery=pika.Recovery(...))`` (docs/recovery.md) instead of a URL.

    pip install starlette uvicorn
    pika declare queue jobs    # the key must reach a queue: else the JSON 500 "unroutable"
    PIKA_URL=amqp://guest:guest@localhost/ python examples/aio_starlette_publisher.py
    curl -i -X POST --data 'hello' http://127.0.0.1:8000/publish/jobs

It serves on 127.0.0.1, port ``PORT`` (default 8000). tests/broker/test_aio_starlette_served.py
runs it exactly this way (on a free ``PORT``).
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Optional

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

import pika
import pika.aio
from pika import exceptions

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request

DEFAULT_URL = 'amqp://guest:guest@localhost:5672/%2F'

#: publish failures and the answer each gets, most specific first (UnroutableError and
#: NackError are AMQPChannelErrors, PublishOutcomeUnknown is an AMQPConnectionError)
ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (exceptions.ShortStringTooLong, 400, 'the routing key is longer than 255 bytes'),
    (exceptions.UnroutableError, 500, 'unroutable: no queue is bound for this routing key'),
    (exceptions.NackError, 503, 'refused by the broker (a queue full or unavailable)'),
    (exceptions.OperationTimeout, 504, 'no confirm in time; the message may still arrive'),
    (exceptions.PublishOutcomeUnknown, 504, 'connection lost; the message may have arrived'),
    (exceptions.AMQPConnectionError, 503, 'no connection to the broker'),
    (exceptions.AMQPChannelError, 503, 'the publishing channel is closed'),
)


class Publisher:
    """The application's one connection to RabbitMQ and its confirm-mode channel."""

    def __init__(self, url: str, exchange: str, confirm_timeout: float) -> None:
        self.url = url
        self.exchange = exchange
        self.confirm_timeout = confirm_timeout
        self.connection: Optional[pika.aio.Connection] = None
        self.channel: Optional[pika.aio.Channel] = None

    async def open(self) -> None:
        """Connect and put one channel in confirm mode (the lifespan's start)."""
        self.connection = await pika.aio.connect(self.url, rpc_timeout=self.confirm_timeout)
        self.channel = await self.connection.channel()
        await self.channel.confirm_delivery()

    async def close(self) -> None:
        """Close the connection (the lifespan's end); publishes still waiting fail."""
        if self.connection is not None:
            await self.connection.close()

    @property
    def healthy(self) -> bool:
        """True while the channel can publish."""
        return self.channel is not None and self.channel.is_open

    async def publish(self, routing_key: str, body: bytes, content_type: Optional[str]) -> None:
        """Publish one persistent, mandatory message and wait for the broker's confirm."""
        if self.channel is None:
            raise exceptions.ConnectionWrongStateError('the application has not started')
        props = pika.BasicProperties(
            content_type=content_type, delivery_mode=pika.DeliveryMode.Persistent
        )
        await self.channel.basic_publish(self.exchange, routing_key, body, props, mandatory=True)


def error_response(error: exceptions.AMQPError) -> JSONResponse:
    """The JSON answer for a publish that failed, by the first matching row of ``ERRORS``."""
    for kind, status, text in ERRORS:
        if isinstance(error, kind):
            return JSONResponse({'error': text, 'type': type(error).__name__}, status)
    return JSONResponse({'error': 'publish failed', 'type': type(error).__name__}, 500)


async def publish(request: Request) -> JSONResponse:
    """``POST /publish/{routing_key}``: 202 once the broker confirmed the body."""
    publisher: Publisher = request.app.state.publisher
    routing_key = request.path_params['routing_key']
    try:
        await publisher.publish(
            routing_key, await request.body(), request.headers.get('content-type')
        )
    except exceptions.AMQPError as error:
        return error_response(error)
    return JSONResponse({'published': routing_key}, 202)


async def health(request: Request) -> JSONResponse:
    """``GET /health``: 200 while the channel is open, else 503."""
    publisher: Publisher = request.app.state.publisher
    if publisher.healthy:
        return JSONResponse({'status': 'ok'})
    return JSONResponse({'status': 'unavailable'}, 503)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Open the connection before the first request, close it at shutdown."""
    publisher: Publisher = app.state.publisher
    try:
        await publisher.open()  # inside: a channel that fails to open still closes the connection
        yield
    finally:
        await publisher.close()


def create_app(
    url: str = DEFAULT_URL, exchange: str = '', confirm_timeout: float = 10.0
) -> Starlette:
    """The application, publishing to ``exchange`` on the broker at ``url``."""
    app = Starlette(
        routes=[
            Route('/publish/{routing_key}', publish, methods=['POST']),
            Route('/health', health, methods=['GET']),
        ],
        lifespan=lifespan,
    )
    app.state.publisher = Publisher(url, exchange, confirm_timeout)
    return app


app = create_app(
    os.environ.get('PIKA_URL', DEFAULT_URL),
    os.environ.get('PIKA_EXCHANGE', ''),
    float(os.environ.get('PIKA_CONFIRM_TIMEOUT', '10')),
)

if __name__ == '__main__':
    import uvicorn  # the server only: the app itself needs starlette alone

    uvicorn.run(app, host='127.0.0.1', port=int(os.environ.get('PORT', '8000')))
