"""Helpers for implementing `pika.adapters.utils.nbio_interface` on a readiness-based loop.

`check_callback_arg` and `check_fd_arg` are the argument checks every implementation makes.
`SocketConnectionMixin` and `StreamingConnectionMixin` supply `connect_socket` and
`create_streaming_connection` to a class that already has `call_later` and the reader/writer
methods of `AbstractFileDescriptorServices` (as `SelectorIOServicesAdapter` does): a
non-blocking TCP connect, then a plain or TLS byte stream driven by readiness callbacks.
"""

from __future__ import annotations

import collections
import logging
import os
import socket
import ssl
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from pika.adapters._io import transport as _transport
from pika.adapters.utils.nbio_interface import AbstractIOReference, AbstractStreamTransport

if TYPE_CHECKING:
    from pika.adapters.utils import nbio_interface

    _StreamResult = Union[
        BaseException,
        tuple[nbio_interface.AbstractStreamTransport, nbio_interface.AbstractStreamProtocol],
    ]

__all__ = [
    'SocketConnectionMixin',
    'StreamingConnectionMixin',
    'check_callback_arg',
    'check_fd_arg',
]

LOGGER = logging.getLogger(__name__)


def check_callback_arg(callback: Any, name: str) -> None:
    """Refuse a `callback` argument (called `name`) that is not callable.

    :raises TypeError: if `callback` is not callable
    """
    if not callable(callback):
        raise TypeError(f'{name} must be callable, not {callback!r}')


def check_fd_arg(fd: Any) -> None:
    """Refuse a file descriptor argument that is not an `int`.

    :raises TypeError: if `fd` is not an `int`
    """
    if not isinstance(fd, int):
        raise TypeError(f'fd must be an int file descriptor, not {fd!r}')


def _check_non_blocking(sock: socket.socket) -> None:
    """Refuse a socket in blocking mode: the operations below must never stall the loop."""
    if sock.gettimeout() != 0:
        raise ValueError(f'sock must be non-blocking: {sock!r}')


class _FdServices:
    """What the mixins below need from the class they are mixed into (for type checkers)."""

    call_later: Callable[..., nbio_interface.AbstractTimerReference]
    set_reader: Callable[[int, Callable[[], None]], None]
    remove_reader: Callable[[int], bool]
    set_writer: Callable[[int, Callable[[], None]], None]
    remove_writer: Callable[[int], bool]


class _OperationReference(AbstractIOReference):
    """The `AbstractIOReference` of one of the operations below: `cancel()` is its own."""

    __slots__ = ('_cancel',)

    def __init__(self, cancel: Callable[[], bool]) -> None:
        self._cancel = cancel

    def cancel(self) -> bool:
        return self._cancel()


class _OneShot:
    """An operation that reports once to `on_done`, unless `cancel()`ed first; subclasses
    release what they hold in `_release()`."""

    def __init__(
        self, nbio: _FdServices, sock: socket.socket, on_done: Callable[..., None]
    ) -> None:
        self._nbio = nbio
        self._sock = sock
        self._on_done = on_done
        self._active = True
        self._timer: Optional[nbio_interface.AbstractTimerReference] = None

    def _report(self, result: Any) -> None:
        self._timer = None
        if self._active:
            self._active = False
            self._on_done(result)

    def cancel(self) -> bool:
        """Stop the operation without reporting; False if it had already reported."""
        if not self._active:
            return False
        self._active = False
        if self._timer is not None:
            self._timer.cancel()
        self._release()
        return True

    def _release(self) -> None:
        """Give back the loop registrations (and sockets) the operation made."""


class _SocketConnector(_OneShot):
    """One non-blocking connect: wait for writability, then read the socket's error."""

    def __init__(
        self,
        nbio: _FdServices,
        sock: socket.socket,
        address: Any,
        on_done: Callable[[Optional[BaseException]], None],
    ) -> None:
        super().__init__(nbio, sock, on_done)
        self._address = address
        self._watching = False

    def start(self) -> nbio_interface.AbstractIOReference:
        try:
            code = self._sock.connect_ex(self._address)
        except OSError as exc:
            self._report_soon(exc)
        else:
            if code in _transport.CONNECT_IN_PROGRESS:
                self._nbio.set_writer(self._sock.fileno(), self._on_writable)
                self._watching = True
            else:
                self._report_soon(OSError(code, os.strerror(code)) if code else None)
        return _OperationReference(self.cancel)

    def _report_soon(self, result: Optional[BaseException]) -> None:
        """Report on the next loop turn: `on_done` never runs inside `connect_socket`."""
        self._timer = self._nbio.call_later(0, lambda: self._report(result))

    def _on_writable(self) -> None:
        self._stop_watching()
        code = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self._report(OSError(code, os.strerror(code)) if code else None)

    def _stop_watching(self) -> None:
        if self._watching:
            self._watching = False
            self._nbio.remove_writer(self._sock.fileno())

    _release = _stop_watching


class SocketConnectionMixin:
    """Supplies `AbstractIOServices.connect_socket` from `call_later` and `set_writer`."""

    def connect_socket(
        self,
        sock: socket.socket,
        resolved_addr: Any,
        on_done: Callable[[Optional[BaseException]], None],
    ) -> nbio_interface.AbstractIOReference:
        """Connect the non-blocking `sock` to `resolved_addr`; `on_done(None)` once connected,
        `on_done(exception)` if it failed. `on_done` always runs on a later loop turn.

        :raises ValueError: if `sock` is in blocking mode
        """
        check_callback_arg(on_done, 'on_done')
        _check_non_blocking(sock)
        return _SocketConnector(self, sock, resolved_addr, on_done).start()  # type: ignore[arg-type]


class _StreamTransport(AbstractStreamTransport):
    """A byte stream over a connected non-blocking socket (plain or TLS), driven by the
    reader/writer callbacks of its `nbio`; it reports to one `AbstractStreamProtocol`."""

    def __init__(
        self,
        nbio: _FdServices,
        sock: socket.socket,
        protocol: nbio_interface.AbstractStreamProtocol,
    ) -> None:
        self._nbio = nbio
        self._sock = sock
        self._fd = sock.fileno()
        self._protocol = protocol
        self._unsent: collections.deque[bytes] = collections.deque()
        self._unsent_size = 0
        self._active = True
        self._writing = False

    def start_reading(self) -> None:
        self._nbio.set_reader(self._fd, self._on_readable)

    def get_protocol(self) -> nbio_interface.AbstractStreamProtocol:
        return self._protocol

    def get_write_buffer_size(self) -> int:
        return self._unsent_size

    def write(self, data: bytes) -> None:
        """Queue `data`; it is sent when the socket can take it (dropped once aborted)."""
        if not self._active:
            LOGGER.debug('write() on a finished stream transport ignored (%d bytes)', len(data))
            return
        if not data:
            return
        self._unsent.append(bytes(data))
        self._unsent_size += len(data)
        if not self._writing:
            self._writing = True
            self._nbio.set_writer(self._fd, self._on_writable)

    def abort(self) -> None:
        """Close the stream now; `connection_lost(None)` follows on a later loop turn."""
        if self._active:
            self._deactivate()
            self._nbio.call_later(0, lambda: self._protocol.connection_lost(None))

    def _deactivate(self) -> None:
        self._active = False
        self._nbio.remove_reader(self._fd)
        if self._writing:
            self._writing = False
            self._nbio.remove_writer(self._fd)
        self._unsent.clear()
        self._unsent_size = 0
        self._sock.close()

    def _finish(self, error: Optional[BaseException]) -> None:
        if self._active:
            self._deactivate()
            self._protocol.connection_lost(error)

    def _on_readable(self) -> None:
        for _ in range(_transport.READS_PER_TURN):
            if not self._active:
                return
            try:
                data = self._sock.recv(_transport.RECV_SIZE)
            except _transport.WOULD_BLOCK:
                return
            except OSError as exc:
                self._finish(exc)
                return
            if not data:
                self._protocol.eof_received()
                self._finish(None)
                return
            self._protocol.data_received(data)
        # Read budget used up: bytes still buffered inside a TLS socket would never be reported
        # by the poller, so come back for them on the next loop turn.
        if self._active and isinstance(self._sock, ssl.SSLSocket) and self._sock.pending():
            self._nbio.call_later(0, self._on_readable)

    def _on_writable(self) -> None:
        while self._unsent and self._active:
            chunk = self._unsent[0]
            try:
                sent = self._sock.send(chunk)
            except _transport.WOULD_BLOCK:
                return
            except OSError as exc:
                self._finish(exc)
                return
            self._unsent_size -= sent
            if sent < len(chunk):
                self._unsent[0] = chunk[sent:]
                return
            self._unsent.popleft()
        if self._active and self._writing:
            self._writing = False
            self._nbio.remove_writer(self._fd)


class _StreamConnector(_OneShot):
    """Set up a stream over a connected socket: the TLS handshake if asked, then link a new
    protocol to a `_StreamTransport` and report `(transport, protocol)`."""

    def __init__(
        self,
        nbio: _FdServices,
        protocol_factory: Callable[[], nbio_interface.AbstractStreamProtocol],
        sock: socket.socket,
        on_done: Callable[[_StreamResult], None],
    ) -> None:
        super().__init__(nbio, sock, on_done)
        self._protocol_factory = protocol_factory
        self._tls = False

    def start(
        self, ssl_context: Optional[ssl.SSLContext], server_hostname: Optional[str]
    ) -> nbio_interface.AbstractIOReference:
        if ssl_context is None:
            self._timer = self._nbio.call_later(0, self._link)
            return _OperationReference(self.cancel)
        try:
            self._sock = ssl_context.wrap_socket(
                self._sock, do_handshake_on_connect=False, server_hostname=server_hostname
            )
        except (OSError, ValueError) as exc:
            failure: BaseException = exc
            self._timer = self._nbio.call_later(0, lambda: self._report(failure))
            return _OperationReference(self.cancel)
        self._tls = True
        self._timer = self._nbio.call_later(0, self._handshake_step)
        return _OperationReference(self.cancel)

    def _handshake_step(self) -> None:
        self._timer = None
        fd = self._sock.fileno()
        self._nbio.remove_reader(fd)
        self._nbio.remove_writer(fd)
        try:
            wanted = _transport.tls_handshake_step(self._sock)  # type: ignore[arg-type]
        except _transport.TLSHandshakeError as exc:
            self._sock.close()
            self._report(exc)
            return
        if wanted == 'read':
            self._nbio.set_reader(fd, self._handshake_step)
        elif wanted == 'write':
            self._nbio.set_writer(fd, self._handshake_step)
        else:
            self._link()

    def _link(self) -> None:
        self._timer = None
        if not self._active:
            return
        try:
            protocol = self._protocol_factory()
            transport = _StreamTransport(self._nbio, self._sock, protocol)
            protocol.connection_made(transport)
        except Exception as exc:  # reported to on_done, as any other setup failure
            LOGGER.exception('stream setup failed in the protocol')
            self._report(exc)
            return
        transport.start_reading()
        self._report((transport, protocol))

    def _release(self) -> None:
        if self._tls:  # the TLS socket is ours (wrapping detached the caller's)
            fd = self._sock.fileno()
            self._nbio.remove_reader(fd)
            self._nbio.remove_writer(fd)
            self._sock.close()


class StreamingConnectionMixin:
    """Supplies `AbstractIOServices.create_streaming_connection` from `call_later` and the
    reader/writer methods."""

    def create_streaming_connection(
        self,
        protocol_factory: Callable[[], nbio_interface.AbstractStreamProtocol],
        sock: socket.socket,
        on_done: Callable[[_StreamResult], None],
        ssl_context: Optional[ssl.SSLContext] = None,
        server_hostname: Optional[str] = None,
    ) -> nbio_interface.AbstractIOReference:
        """Set up a byte stream over the connected non-blocking `sock`, with a TLS handshake
        first when `ssl_context` is given (`server_hostname` is checked against the broker's
        certificate if the context asks for it). `on_done((transport, protocol))` once the
        protocol made by `protocol_factory()` got `connection_made`, else `on_done(error)`.

        :raises ValueError: if `sock` is in blocking mode
        """
        check_callback_arg(protocol_factory, 'protocol_factory')
        check_callback_arg(on_done, 'on_done')
        _check_non_blocking(sock)
        connector = _StreamConnector(self, protocol_factory, sock, on_done)  # type: ignore[arg-type]
        return connector.start(ssl_context, server_hostname)
