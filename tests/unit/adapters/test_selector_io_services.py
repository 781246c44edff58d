"""`SelectorIOServicesAdapter` over our `IOLoop`: timers, thread-safe callbacks, readiness
callbacks and the byte-stream transport, on local socket pairs (the broker tests are in
tests/broker/test_selector_io_services.py)."""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Any, Optional

import pytest

from pika.adapters.select_connection import IOLoop
from pika.adapters.utils import nbio_interface
from pika.adapters.utils.selector_ioloop_adapter import SelectorIOServicesAdapter

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def nbio() -> Iterator[SelectorIOServicesAdapter]:
    loop = IOLoop()
    adapter = SelectorIOServicesAdapter(loop)
    guard = loop.call_later(10, loop.stop)  # never hang a failing test
    yield adapter
    loop.remove_timeout(guard)
    adapter.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    yield ours, theirs
    ours.close()
    theirs.close()


def test_timers_fire_and_cancel(nbio: SelectorIOServicesAdapter) -> None:
    fired: list[str] = []
    cancelled = nbio.call_later(0, lambda: fired.append('cancelled'))
    assert isinstance(cancelled, nbio_interface.AbstractTimerReference)
    cancelled.cancel()
    cancelled.cancel()  # twice is harmless
    nbio.call_later(0.01, lambda: (fired.append('fired'), nbio.stop()))
    nbio.remove_timeout(nbio.call_later(0, lambda: fired.append('removed')))
    nbio.run()
    assert fired == ['fired']
    with pytest.raises(ValueError):
        nbio.call_later(-1, lambda: None)
    with pytest.raises(TypeError):
        nbio.call_later(1, None)  # type: ignore[arg-type]


def test_add_callback_threadsafe_from_another_thread(nbio: SelectorIOServicesAdapter) -> None:
    ran_on: list[threading.Thread] = []

    def callback() -> None:
        ran_on.append(threading.current_thread())
        nbio.stop()

    threading.Thread(target=nbio.add_callback_threadsafe, args=(callback,)).start()
    nbio.run()
    assert ran_on == [threading.current_thread()]


def test_reader_and_writer_callbacks(
    nbio: SelectorIOServicesAdapter, pair: tuple[socket.socket, socket.socket]
) -> None:
    ours, theirs = pair
    fd = ours.fileno()
    events: list[str] = []

    def on_writable() -> None:
        events.append('writable')
        assert nbio.remove_writer(fd) is True
        theirs.send(b'x')

    def on_readable() -> None:
        events.append(ours.recv(10).decode())
        nbio.stop()

    nbio.set_reader(fd, on_readable)
    nbio.set_writer(fd, on_writable)
    nbio.run()
    assert events == ['writable', 'x']
    assert nbio.remove_writer(fd) is False
    assert nbio.remove_reader(fd) is True and nbio.remove_reader(fd) is False
    with pytest.raises(TypeError):
        nbio.set_reader('fd', on_readable)  # type: ignore[arg-type]


class _Protocol(nbio_interface.AbstractStreamProtocol):
    def __init__(self, nbio: SelectorIOServicesAdapter) -> None:
        self.nbio = nbio
        self.calls: list[Any] = []

    def connection_made(self, transport: nbio_interface.AbstractStreamTransport) -> None:
        self.calls.append('made')
        transport.write(b'hello')

    def data_received(self, data: bytes) -> None:
        self.calls.append(data)

    def eof_received(self) -> Optional[bool]:
        self.calls.append('eof')
        return None

    def connection_lost(self, error: Optional[BaseException]) -> None:
        self.calls.append(('lost', error))
        self.nbio.stop()


def test_stream_transport_reads_writes_and_sees_eof(
    nbio: SelectorIOServicesAdapter, pair: tuple[socket.socket, socket.socket]
) -> None:
    ours, theirs = pair
    protocol = _Protocol(nbio)
    results: list[Any] = []

    def peer() -> None:
        theirs.settimeout(5)
        assert theirs.recv(10) == b'hello'  # sent by the transport once writable
        theirs.sendall(b'answer')
        nbio.call_later(0.05, lambda: theirs.shutdown(socket.SHUT_WR))

    def on_done(result: Any) -> None:
        results.append(result)
        nbio.call_later(0.05, peer)

    nbio.create_streaming_connection(lambda: protocol, ours, on_done)
    assert results == []  # never called inside create_streaming_connection
    nbio.run()
    transport, made = results[0]
    assert made is protocol and transport.get_protocol() is protocol
    assert protocol.calls == ['made', b'answer', 'eof', ('lost', None)]
    transport.write(b'ignored after the end')  # no error, nothing queued
    assert transport.get_write_buffer_size() == 0


def test_stream_abort_reports_connection_lost_later(
    nbio: SelectorIOServicesAdapter, pair: tuple[socket.socket, socket.socket]
) -> None:
    ours, _theirs = pair
    protocol = _Protocol(nbio)

    def on_done(result: Any) -> None:
        transport, _protocol = result
        transport.abort()
        assert protocol.calls == ['made']  # connection_lost comes on a later turn

    nbio.create_streaming_connection(lambda: protocol, ours, on_done)
    nbio.run()
    assert protocol.calls == ['made', ('lost', None)]


def test_cancelled_operations_never_report(
    nbio: SelectorIOServicesAdapter, pair: tuple[socket.socket, socket.socket]
) -> None:
    ours, _theirs = pair
    reported: list[Any] = []
    stream = nbio.create_streaming_connection(lambda: _Protocol(nbio), ours, reported.append)
    assert stream.cancel() is True and stream.cancel() is False
    resolution = nbio.getaddrinfo('localhost', 5672, reported.append)
    assert resolution.cancel() is True
    nbio.call_later(0.2, nbio.stop)
    nbio.run()
    assert reported == []
    with pytest.raises(ValueError):
        nbio.connect_socket(socket.socket(), ('127.0.0.1', 1), reported.append)
