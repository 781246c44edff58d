"""`SelectorIOServicesAdapter` against the real RabbitMQ: a `BaseConnection` subclass built the
way pika 1.x documents for a custom loop (here our `IOLoop`, wrapped by the adapter) opens,
publishes, consumes and closes; the adapter's own `getaddrinfo`, `connect_socket` and
`create_streaming_connection` reach the broker and read its Connection.Start.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any, Callable, Optional

import pytest

from pika.adapters.base_connection import BaseConnection
from pika.adapters.select_connection import IOLoop
from pika.adapters.utils.selector_ioloop_adapter import SelectorIOServicesAdapter
from tests.helpers.nbio_probe import ConnectionStartProbe

if TYPE_CHECKING:
    from pika import frame, spec

pytestmark = pytest.mark.broker


class CustomLoopConnection(BaseConnection):
    """A third-party style adapter: any AbstractSelectorIOLoop, through the adapter."""

    def __init__(
        self,
        parameters: Any = None,
        on_open_callback: Optional[Callable[..., Any]] = None,
        on_open_error_callback: Optional[Callable[..., Any]] = None,
        on_close_callback: Optional[Callable[..., Any]] = None,
        custom_ioloop: Optional[IOLoop] = None,
        internal_connection_workflow: bool = True,
    ) -> None:
        nbio = SelectorIOServicesAdapter(custom_ioloop or IOLoop())
        super().__init__(
            parameters,
            on_open_callback,
            on_open_error_callback,
            on_close_callback,
            nbio,
            internal_connection_workflow,
        )


def _run(loop: IOLoop, timeout: float = 15.0) -> None:
    def expired() -> None:
        loop.stop()
        raise AssertionError(f'not finished within {timeout} s')

    handle = loop.call_later(timeout, expired)
    try:
        loop.start()
    finally:
        loop.remove_timeout(handle)


def test_base_connection_on_the_adapter_round_trip(broker_params: Any, unique_name: str) -> None:
    loop = IOLoop()
    seen: dict[str, Any] = {}

    def on_open(connection: CustomLoopConnection) -> None:
        connection.channel(on_open_callback=on_channel)

    def on_channel(channel: Any) -> None:
        seen['channel'] = channel
        channel.queue_declare(unique_name, auto_delete=True, callback=on_declared)

    def on_declared(_frame: frame.Method) -> None:
        channel = seen['channel']
        channel.basic_consume(unique_name, on_message, auto_ack=True)
        channel.basic_publish('', unique_name, b'via the adapter')

    def on_message(_channel: Any, method: spec.Basic.Deliver, _props: Any, body: bytes) -> None:
        seen['body'] = body
        conn.close()

    def on_closed(_connection: Any, error: BaseException) -> None:
        seen['closed'] = error
        loop.stop()

    conn = CustomLoopConnection(
        broker_params, on_open, lambda c, e: loop.stop(), on_closed, custom_ioloop=loop
    )
    try:
        assert conn.ioloop is loop  # pika 1.x: the native loop, not the adapter
        _run(loop)
        assert seen.get('body') == b'via the adapter'
        assert conn.is_closed and 'closed' in seen
    finally:
        loop.close()


def test_resolve_connect_and_stream_reach_the_broker(broker_params: Any) -> None:
    loop = IOLoop()
    nbio = SelectorIOServicesAdapter(loop)
    protocol = ConnectionStartProbe(loop.stop)
    results: dict[str, Any] = {}

    def on_resolved(infos: Any) -> None:
        assert isinstance(infos, list), infos
        family, socktype, proto, _name, address = infos[0]
        sock = socket.socket(family, socktype, proto)
        sock.setblocking(False)
        results['sock'] = sock
        nbio.connect_socket(sock, address, on_connected)

    def on_connected(error: Optional[BaseException]) -> None:
        assert error is None, error
        nbio.create_streaming_connection(lambda: protocol, results['sock'], on_stream)

    def on_stream(result: Any) -> None:
        assert not isinstance(result, BaseException), result
        results['stream'] = result

    try:
        nbio.getaddrinfo(
            broker_params.host, broker_params.port, on_resolved, socktype=socket.SOCK_STREAM
        )
        _run(loop)
        transport, made = results['stream']
        assert made is protocol and transport.get_protocol() is protocol
        assert protocol.start is True
        assert protocol.lost == [None]  # aborted by us after Connection.Start
        assert transport.get_write_buffer_size() == 0
    finally:
        loop.close()


def test_connect_socket_reports_a_refused_port() -> None:
    loop = IOLoop()
    nbio = SelectorIOServicesAdapter(loop)
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    sock = socket.socket()
    sock.setblocking(False)
    outcome: list[Optional[BaseException]] = []

    def on_done(error: Optional[BaseException]) -> None:
        outcome.append(error)
        loop.stop()

    try:
        nbio.connect_socket(sock, ('127.0.0.1', port), on_done)
        _run(loop, timeout=5)
        assert len(outcome) == 1 and isinstance(outcome[0], ConnectionRefusedError)
    finally:
        sock.close()
        loop.close()
