"""Building connections for each event loop, and every kind of parameters (type-checked only)."""

# ruff: noqa: TC001  (user programs import pika classes at runtime, as users do)

from __future__ import annotations

import asyncio
import ssl

import pika
from pika.adapters.asyncio_connection import AsyncioConnection
from pika.adapters.tornado_connection import TornadoConnection
from pika.connection import Connection


def tls_parameters() -> pika.ConnectionParameters:
    context = ssl.create_default_context(cafile='/etc/ssl/ca.pem')
    context.load_cert_chain('/etc/ssl/client.pem', '/etc/ssl/client.key')
    return pika.ConnectionParameters(
        host='rabbit.example.com',
        port=5671,
        virtual_host='/',
        credentials=pika.PlainCredentials('user', 'secret', erase_on_connect=True),
        ssl_options=pika.SSLOptions(context, server_hostname='rabbit.example.com'),
        heartbeat=60,
        blocked_connection_timeout=300.0,
        connection_attempts=3,
        retry_delay=2.5,
        socket_timeout=None,
        client_properties={'connection_name': 'typing-fixture'},
    )


def external_parameters() -> pika.ConnectionParameters:
    return pika.ConnectionParameters(credentials=pika.credentials.ExternalCredentials())


def heartbeat_chooser(connection: Connection, server_value: int) -> int:
    return max(server_value, 30)


def on_open(connection: Connection) -> None:
    connection.channel(on_open_callback=lambda ch: ch.basic_qos(prefetch_count=1))


def on_error(connection: Connection, error: BaseException) -> None:
    print('failed', error)


def asyncio_connection(loop: asyncio.AbstractEventLoop) -> AsyncioConnection:
    params = pika.URLParameters('amqps://guest:guest@localhost/%2F?connection_attempts=2')
    params.heartbeat = heartbeat_chooser
    conn = AsyncioConnection(params, on_open, on_error, on_error, custom_ioloop=loop)
    conn.add_on_close_callback(on_error)
    return conn


def tornado_connection() -> TornadoConnection:
    conn = pika.TornadoConnection(
        pika.ConnectionParameters(), on_open_callback=on_open, on_open_error_callback=on_error
    )
    conn.ioloop.call_later(1.0, conn.close)
    return conn


def lazy_names() -> list[type[object]]:
    """The adapter classes reached through `pika` itself are the real classes."""
    return [
        pika.BlockingConnection,
        pika.SelectConnection,
        pika.AsyncioConnection,
        pika.TornadoConnection,
        pika.adapters.AsyncioConnection,
        pika.adapters.BlockingConnection,
    ]


def main() -> None:
    loop = asyncio.new_event_loop()
    conn: AsyncioConnection = asyncio_connection(loop)
    conn.ioloop.run_forever()
    tornado_connection().ioloop.start()
    print(tls_parameters().port, external_parameters().credentials, lazy_names())
