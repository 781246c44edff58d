"""`BaseConnection`: the callback `Connection` pumped through a non-blocking socket.

Every file-descriptor event loop adapter (select, tornado, asyncio, gevent, asyncore) is this
class plus an `IOServices` implementation. The pump:

* connect: the parameters (one object or a list) are tried per the pure retry plan of
  `_transport.connect_with_retries`; each address gets a non-blocking connect bounded by
  `socket_timeout`, then the TLS handshake when `ssl_options` is set, and the whole stack
  (through Connection.OpenOk) is bounded by `stack_timeout`;
* readable: one `recv_into` of up to 1 MiB (TLS: `recv` until EAGAIN or a read budget), then
  one `core.receive_data()` and dispatch;
* output: written once per loop turn (at the end of a read, else on a zero-delay timer);
  whatever the socket does not take waits for writability;
* the core's next deadline is a single timer that calls `core.tick()`.
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from pika import exceptions
from pika._parameters import ConnectionParameters, Parameters
from pika.adapters import _transport
from pika.adapters._send_queue import SendQueue
from pika.connection import Connection

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator, Sequence

    from pika.adapters._io_services import IOServices

LOGGER = logging.getLogger(__name__)

_RECV_SIZE = 128 * 1024
_READS_PER_TURN = 8  # fairness: yield to the loop after this many successful reads (TLS)
_RECV_BUFFER_SIZE = _RECV_SIZE * _READS_PER_TURN  # one reusable recv_into target per connection


class BaseConnection(Connection):
    """A `Connection` over a socket driven by an `IOServices` event loop.

    :param parameters: a `Parameters` object, or a list of them to try in turn
    :param nbio: the event loop services (also exposed as `connection.ioloop`)
    :param internal_connection_workflow: when False, no connect is started; call
        `_adopt_socket(sock, params)` with a connected socket instead
    """

    def __init__(
        self,
        parameters: Union[Parameters, Sequence[Parameters], None],
        on_open_callback: Optional[Callable[..., Any]],
        on_open_error_callback: Optional[Callable[..., Any]],
        on_close_callback: Optional[Callable[..., Any]],
        nbio: IOServices,
        internal_connection_workflow: bool = True,
    ) -> None:
        if parameters is None:
            param_list: list[Parameters] = [ConnectionParameters()]
        elif isinstance(parameters, Parameters):
            param_list = [parameters]
        elif isinstance(parameters, (list, tuple)) and parameters:
            param_list = list(parameters)
        else:
            raise TypeError(f'parameters must be Parameters or a list of them: {parameters!r}')
        super().__init__(param_list[0], on_open_callback, on_open_error_callback, on_close_callback)
        self._all_params = param_list
        self._nbio = nbio
        self.ioloop = nbio
        self._sock: Optional[socket.socket] = None
        self._fd = -1
        # Output the socket has not taken yet: whole buffers, and how much of the first was sent.
        self._unsent = SendQueue()
        self._writer_active = False
        self._recv_view: Optional[memoryview] = None
        self._flush_handle: Optional[object] = None
        self._in_read = False
        self._plan: Optional[Iterator[tuple[Parameters, float]]] = None
        self._attempt_timer: Optional[object] = None
        self._socket_timer: Optional[object] = None
        self._stack_timer: Optional[object] = None
        self._last_connect_error: Optional[BaseException] = None
        self._pending_infos: list[Any] = []
        if internal_connection_workflow:
            self._plan = _transport.connect_with_retries(param_list)
            self._attempt_timer = nbio.call_later(0, self._next_attempt)

    # -- loop services -----------------------------------------------------------------------

    def _now(self) -> float:
        return self._nbio.time()

    def call_later(self, delay: float, callback: Callable[[], Any]) -> object:
        """Call `callback()` once after `delay` seconds; return a handle for `remove_timeout`."""
        return self._nbio.call_later(delay, callback)

    def remove_timeout(self, timeout_id: object) -> None:
        """Cancel a timer made by `call_later`/`add_timeout`."""
        self._nbio.remove_timeout(timeout_id)

    def add_callback_threadsafe(self, callback: Callable[[], Any]) -> None:
        """Run `callback()` on the loop thread; safe to call from any thread."""
        if not callable(callback):
            raise TypeError(f'callback must be callable, not {type(callback).__name__}')
        self._nbio.add_callback_threadsafe(callback)

    def _cancel(self, attribute: str) -> None:
        handle = getattr(self, attribute)
        if handle is not None:
            setattr(self, attribute, None)
            self._nbio.remove_timeout(handle)

    # -- connecting --------------------------------------------------------------------------

    def _next_attempt(self) -> None:
        """Start the next attempt of the retry plan, or fail if the plan is exhausted."""
        self._attempt_timer = None
        assert self._plan is not None
        try:
            params, delay = next(self._plan)
        except StopIteration:
            error = self._last_connect_error or exceptions.AMQPConnectionError('no attempts')
            LOGGER.error('Connection workflow failed: %r', error)
            self._on_connect_failed(error)
            return
        if delay:
            LOGGER.info('Retrying connection in %s s', delay)
        self._attempt_timer = self._nbio.call_later(delay, lambda: self._attempt(params))

    def _attempt(self, params: Parameters) -> None:
        self._attempt_timer = None
        self.params = params
        LOGGER.info('Connecting to %s:%s', params.host, params.port)
        try:
            self._pending_infos = _transport.resolve(params)
        except exceptions.AMQPConnectionError as exc:
            self._attempt_failed(exc)
            return
        if params.stack_timeout:
            self._stack_timer = self._nbio.call_later(params.stack_timeout, self._on_stack_timeout)
        self._connect_next_address()

    def _connect_next_address(self) -> None:
        if not self._pending_infos:
            self._attempt_failed(self._last_connect_error)
            return
        info = self._pending_infos.pop(0)
        try:
            sock = _transport.start_nonblocking_connect(info, self.params.tcp_options)
        except exceptions.AMQPConnectionError as exc:
            self._last_connect_error = exc
            self._connect_next_address()
            return
        self._sock = sock
        self._fd = sock.fileno()
        self._nbio.set_writer(self._fd, self._on_tcp_connected)
        if self.params.socket_timeout:
            self._socket_timer = self._nbio.call_later(
                self.params.socket_timeout, self._on_socket_timeout
            )

    def _on_socket_timeout(self) -> None:
        self._socket_timer = None
        self._last_connect_error = _transport.SocketConnectTimeout(
            f'TCP/TLS connection to {self.params.host}:{self.params.port} timed out'
        )
        self._drop_socket()
        self._connect_next_address()

    def _on_stack_timeout(self) -> None:
        self._stack_timer = None
        error = _transport.SocketConnectTimeout(
            f'connection to {self.params.host}:{self.params.port} not open after '
            f'{self.params.stack_timeout} s'
        )
        LOGGER.warning('%s', error)
        if self._core is not None:  # in the AMQP handshake: the core reports the failure
            self._pending_infos = []
            self._drop_socket()
            self._on_stream_lost(error)
        else:
            self._pending_infos = []
            self._cancel('_socket_timer')
            self._drop_socket()
            self._attempt_failed(error)

    def _on_tcp_connected(self) -> None:
        self._nbio.remove_writer(self._fd)
        assert self._sock is not None
        try:
            _transport.finish_nonblocking_connect(self._sock)
        except exceptions.AMQPConnectionError as exc:
            self._cancel('_socket_timer')
            self._last_connect_error = exc
            self._drop_socket()
            self._connect_next_address()
            return
        if self.params.ssl_options is not None:
            self._sock = _transport.wrap_tls(self._sock, self.params)
            self._tls_step()
        else:
            self._on_stream_ready()

    def _tls_step(self) -> None:
        assert isinstance(self._sock, ssl.SSLSocket)
        self._nbio.remove_reader(self._fd)
        self._nbio.remove_writer(self._fd)
        try:
            wanted = _transport.tls_handshake_step(self._sock)
        except exceptions.AMQPConnectionError as exc:
            self._cancel('_socket_timer')
            self._last_connect_error = exc
            self._drop_socket()
            self._connect_next_address()
            return
        if wanted == 'read':
            self._nbio.set_reader(self._fd, self._tls_step)
        elif wanted == 'write':
            self._nbio.set_writer(self._fd, self._tls_step)
        else:
            self._on_stream_ready()

    def _on_stream_ready(self) -> None:
        self._cancel('_socket_timer')
        LOGGER.info('Socket connected to %s:%s', self.params.host, self.params.port)
        self._nbio.set_reader(self._fd, self._on_readable)
        self._start_protocol(self.params)

    def _adopt_socket(self, sock: socket.socket, params: Parameters) -> None:
        """Use an already connected (non-blocking) socket: the external connection workflow."""
        sock.setblocking(False)
        self._sock = sock
        self._fd = sock.fileno()
        self.params = params
        self._nbio.set_reader(self._fd, self._on_readable)
        self._start_protocol(params)

    def _attempt_failed(self, error: Optional[BaseException]) -> None:
        self._cancel('_stack_timer')
        if error is not None:
            self._last_connect_error = error
            LOGGER.warning('Connection attempt failed: %r', error)
        if self._plan is None:
            self._on_connect_failed(error or exceptions.AMQPConnectionError('connect failed'))
        else:
            self._next_attempt()

    def _on_connection_open_ok(self, event: Any) -> None:
        self._cancel('_stack_timer')
        super()._on_connection_open_ok(event)

    def _abort_opening(self) -> None:
        """close() while connecting: stop the workflow, then report `ConnectionOpenAborted`."""
        self._cancel('_attempt_timer')
        self._cancel('_socket_timer')
        self._cancel('_stack_timer')
        self._pending_infos = []
        if self._core is None:
            self._drop_socket()
        super()._abort_opening()

    # -- the pump ----------------------------------------------------------------------------

    def _on_readable(self) -> None:
        """Read what the socket holds, feed it to the connection, then flush the output.

        A plain socket gets one `recv_into` of a reusable buffer (allocated on first use):
        whatever the socket holds up to 1 MiB, more waits for the next loop turn. No bytes
        object is made per read and nothing is joined: the core copies the filled part into
        its receive buffer once. That read is inlined here (the hot path: one Python call
        fewer per read, `sock.recv_into` directly rather than `_transport.recv_into_some`);
        the error mapping is still `_transport`'s.
        """
        sock = self._sock
        if sock is None:
            return
        data: Union[bytes, memoryview, None] = None
        lost: Optional[BaseException] = None
        in_place = 0  # bytes read into the core's own buffer (a large message arriving)
        if isinstance(sock, ssl.SSLSocket):
            data, lost = self._read_tls(sock)
        else:
            core = self._core
            target = None  # the core's memory while a large message arrives (rarely)
            if core is not None and core.large_message is not None:
                target = core.receive_buffer()
            view = self._recv_view if target is None else target
            if view is None:
                view = self._recv_view = memoryview(bytearray(_RECV_BUFFER_SIZE))
            try:
                received = sock.recv_into(view)
            except OSError as exc:
                lost = _transport.receive_error(exc)  # None: nothing to read now
            else:
                if not received:
                    lost = _transport.eof_error()
                elif target is None:
                    data = view[:received]
                else:
                    in_place = received
        self._in_read = True
        try:
            if data:
                self._on_data_received(data)
            elif in_place:
                self._on_data_received_in_place(in_place)
            if lost is not None and self._sock is not None:
                LOGGER.warning('Stream lost: %r', lost)
                self._on_stream_lost(lost)
        finally:
            self._in_read = False
            if self._sock is not None and not self._writer_active:
                self._flush()

    def _read_tls(self, sock: socket.socket) -> tuple[Optional[bytes], Optional[BaseException]]:
        """Read TLS records (`recv_some` also drains what the SSL object already decrypted)."""
        chunks: list[bytes] = []
        lost: Optional[BaseException] = None
        for _ in range(_READS_PER_TURN):
            try:
                data = _transport.recv_some(sock, _RECV_SIZE)
            except exceptions.StreamLostError as exc:
                lost = exc
                break
            if data is None:
                break
            chunks.append(data)
            if len(data) < _RECV_SIZE:
                break
        if not chunks:
            return None, lost
        return (chunks[0] if len(chunks) == 1 else b''.join(chunks)), lost

    def _output_ready(self) -> None:
        if self._in_read or self._writer_active or self._flush_handle is not None:
            return  # flushed at the end of the read, when writable, or by the pending timer
        self._flush_handle = self._nbio.call_later(0, self._on_flush_timer)

    def _on_flush_timer(self) -> None:
        self._flush_handle = None
        if not self._writer_active:
            self._flush()

    def _on_writable(self) -> None:
        self._flush()

    def _flush(self) -> None:
        """Send pending output until the socket stops taking it; the rest waits for writability
        in a :class:`SendQueue` (no bytes are moved by a partial send)."""
        sock = self._sock
        if sock is None:
            return
        unsent = self._unsent
        core = self._core
        if core is not None:
            parts = core.data_to_send_parts()
            if len(parts) == 1 and not unsent.size:  # .size: no Python-level __bool__ call
                # Inlined common case (a request, the acks of a read): one buffer and nothing
                # older waiting is one `send_some`, without going through the queue.
                data = parts[0]
                try:
                    sent = _transport.send_some(sock, data)
                except exceptions.StreamLostError as exc:
                    self._on_send_failed(exc)
                    return
                if sent == len(data):
                    if self._writer_active:
                        self._set_writer(False)
                    return
                unsent.extend(parts, sent)
                self._set_writer(True)
                self._check_backpressure(unsent.size)
                return
            unsent.extend(parts)
        try:
            unsent.send(sock)
        except exceptions.StreamLostError as exc:
            self._on_send_failed(exc)
            return
        self._set_writer(unsent.size > 0)
        if unsent.size:
            self._check_backpressure(unsent.size)

    def _on_send_failed(self, exc: exceptions.StreamLostError) -> None:
        LOGGER.warning('Stream lost while sending: %r', exc)
        self._unsent.clear()
        self._set_writer(False)
        self._on_stream_lost(exc)

    def _set_writer(self, active: bool) -> None:
        if active == self._writer_active or self._sock is None:
            return
        self._writer_active = active
        if active:
            self._nbio.set_writer(self._fd, self._on_writable)
        else:
            self._nbio.remove_writer(self._fd)

    def _close_transport(self) -> None:
        """Send what can go out without blocking (e.g. Connection.CloseOk), then close."""
        self._cancel('_flush_handle')
        self._cancel('_stack_timer')
        self._cancel('_socket_timer')
        sock = self._sock
        if sock is not None:
            pending = self._unsent.take() + bytes(self._take_output())
            if pending:
                try:
                    _transport.send_some(sock, pending)
                except exceptions.StreamLostError:
                    pass
        self._drop_socket()

    def _drop_socket(self) -> None:
        sock, self._sock = self._sock, None
        self._unsent.clear()
        self._writer_active = False
        if sock is None:
            return
        self._nbio.remove_reader(self._fd)
        self._nbio.remove_writer(self._fd)
        self._fd = -1
        try:
            sock.close()
        except OSError as exc:
            LOGGER.debug('Ignoring error closing socket: %r', exc)
