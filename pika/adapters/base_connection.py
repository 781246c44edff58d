"""`BaseConnection`: the callback `Connection` pumped through a non-blocking socket.

Every file-descriptor event loop adapter (select, tornado, asyncio, gevent, asyncore) is this
class plus an `IOServices` implementation. The pump:

* connect: pika 1.x's connection workflow (`pika.adapters.utils.connection_workflow`) walks
  the parameters (one object or a list) through the pure retry plan of
  `_transport.connect_with_retries`; its connector makes a non-blocking TCP connect bounded by
  `socket_timeout`, then the TLS handshake when `ssl_options` is set, and hands the socket
  over (`attach_socket`); `stack_timeout` bounds the whole stack through Connection.OpenOk.
  `create_connection` runs the same workflow with a new connection per AMQP attempt;
* readable: one read of the `SocketReader` (`pika.adapters._io.reader`, the blocking pump's
  too: one `recv_into` of up to 1 MiB, TLS one `recv`), then dispatch of the core's events;
* output: written once per loop turn (at the end of a read, else on a zero-delay timer);
  whatever the socket does not take waits for writability;
* the core's next deadline is a single timer that calls `core.tick()`;
* recovery (``params.recovery``): each reconnect attempt is a `_RecoveryAttempt`, the
  workflow's `AMQPConnector` on the resolved addresses of one host; the new socket goes to
  the same connection, whose core replays the rest (`pika._reconnect`, docs/recovery.md).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from pika import exceptions
from pika._api.args import require_callable
from pika.adapters._io import transport as _transport
from pika.adapters._io.reader import SocketReader
from pika.adapters._io.send_queue import SendQueue
from pika.adapters.utils import connection_workflow
from pika.adapters.utils.nbio_interface import AbstractIOServices
from pika.connection import Connection, parameters_list

if TYPE_CHECKING:
    import socket
    from collections.abc import Sequence

    from pika._parameters import Parameters
    from pika.adapters._io.services import IOServices

LOGGER = logging.getLogger(__name__)


class BaseConnection(Connection):
    """A `Connection` over a socket driven by an `IOServices` event loop.

    :param parameters: a `Parameters` object, or a list of them to try in turn
    :param nbio: the event loop services (`pika.adapters._io.services.IOServices`; also
        exposed as `connection.ioloop`, or its native loop for a pika 1.x `AbstractIOServices`
        such as `SelectorIOServicesAdapter`)
    :param internal_connection_workflow: when False, no connect is started; call
        `attach_socket(sock, params)` with a connected socket instead
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
        param_list = parameters_list(parameters)
        super().__init__(param_list[0], on_open_callback, on_open_error_callback, on_close_callback)
        self._all_params = param_list
        self._nbio = nbio
        # pika 1.x: for I/O services of its nbio interface, `connection.ioloop` is their loop.
        self.ioloop: Any = (
            nbio.get_native_ioloop() if isinstance(nbio, AbstractIOServices) else nbio
        )
        self._sock: Optional[socket.socket] = None
        self._fd = -1
        # Output the socket has not taken yet: whole buffers, and how much of the first was sent.
        self._unsent = SendQueue()
        self._writer_active = False
        self._reader: Optional[SocketReader] = None  # once the socket is attached
        self._flush_handle: Optional[object] = None
        self._in_read = False
        self._workflow: Optional[connection_workflow.AMQPConnectionWorkflow] = None
        self._recovery_attempt: Optional[_RecoveryAttempt] = None
        if internal_connection_workflow:
            self._start_workflow(param_list)

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

    # -- connecting ----------------------------------------------------------------------------

    @classmethod
    def create_connection(
        cls,
        connection_configs: Sequence[Parameters],
        on_done: Callable[[Union[Connection, connection_workflow.AMQPConnectorException]], None],
        custom_ioloop: Optional[Any] = None,
        workflow: Optional[connection_workflow.AbstractAMQPConnectionWorkflow] = None,
    ) -> connection_workflow.AbstractAMQPConnectionWorkflow:
        """Connect to the first broker of ``connection_configs`` that accepts (pika 1.x).

        Each config is tried in order, every resolved address of its host, in cycles: the last
        config's `connection_attempts` sets the number of cycles and its `retry_delay` the pause
        between them. ``on_done`` is called once, from the loop, with the open connection (an
        instance of the class this is called on) or with an `AMQPConnectorException`:
        `AMQPConnectionWorkflowFailed` (its ``.exceptions`` holds one error per attempt) or
        `AMQPConnectionWorkflowAborted` after `abort()`, both `AMQPConnectionError` subclasses.

        :param connection_configs: a sequence of `ConnectionParameters`/`URLParameters`
        :param on_done: ``on_done(connection_or_exception)``
        :param custom_ioloop: the adapter's native loop (default: as the constructor's)
        :param workflow: a not yet started workflow (default: a new `AMQPConnectionWorkflow`)
        :returns: the workflow; its `abort()` stops it cleanly
        """
        require_callable('on_done', on_done)
        native_loop, nbio = cls._workflow_services(custom_ioloop)
        configs = list(connection_configs)

        def connection_factory(params: Parameters) -> BaseConnection:
            # With recovery on, a reconnect may go to any config, as from the constructor's
            # list (issue 15); the socket handed over sets the node connected to.
            recovers = params.recovery is not None and any(p is params for p in configs)
            return cls(  # type: ignore[call-arg]
                parameters=configs if recovers else params,
                custom_ioloop=native_loop,
                internal_connection_workflow=False,
            )

        if workflow is None:
            workflow = connection_workflow.AMQPConnectionWorkflow()
        if isinstance(workflow, connection_workflow.AMQPConnectionWorkflow):
            workflow.set_io_services(nbio)
        workflow.start(
            connection_configs=connection_configs,
            connector_factory=lambda: connection_workflow.AMQPConnector(connection_factory, nbio),
            native_loop=native_loop,
            on_done=on_done,
        )
        return workflow

    @classmethod
    def _workflow_services(cls, custom_ioloop: Optional[Any]) -> tuple[Any, IOServices]:
        """The native loop the connections of `create_connection` share (``custom_ioloop`` or
        the constructor's default) and an `IOServices` over it for the workflow's timers.
        Each adapter provides it."""
        raise NotImplementedError(f'{cls.__name__} does not support create_connection')

    def _start_workflow(self, param_list: list[Parameters]) -> None:
        """The constructor's connect: pika 1.x's workflow, stopping at the first AMQP handshake.

        Every attempt that reaches the AMQP handshake runs it on this connection; a failure
        before that is reported here once the whole retry plan has failed.
        """
        nbio = self._nbio
        workflow = connection_workflow.AMQPConnectionWorkflow(_until_first_amqp_attempt=True)
        workflow.set_io_services(nbio)
        self._workflow = workflow
        workflow.start(
            connection_configs=param_list,
            connector_factory=lambda: connection_workflow.AMQPConnector(lambda _p: self, nbio),
            native_loop=nbio,
            on_done=self._on_workflow_done,
        )

    def _on_workflow_done(self, result: Union[Connection, BaseException]) -> None:
        self._workflow = None
        if self._finished or result is self:
            return  # opened, or the handshake's failure was already reported by this connection
        self._on_connect_failed(_open_error_of(result))

    def attach_socket(self, sock: socket.socket, params: Parameters) -> None:
        """Run the AMQP handshake over ``sock``, already connected (and TLS-wrapped when
        ``params.ssl_options`` is set). The connection workflow's hand-over; also for a socket
        the application connected itself (``internal_connection_workflow=False``).

        :raises ConnectionWrongStateError: if the connection already has a stream or finished
        """
        if self._sock is not None or self._core is not None or self._finished:
            raise exceptions.ConnectionWrongStateError(f'cannot attach a socket to {self!r}')
        self._take_socket(sock, params)
        self._start_protocol(params)
        if self._core is not None and self._sock is sock:  # still attached
            self._reader = SocketReader(sock, self._core)

    def _take_socket(self, sock: socket.socket, params: Parameters) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._fd = sock.fileno()
        self.params = params
        LOGGER.info('Socket connected to %s:%s', params.host, params.port)
        self._nbio.set_reader(self._fd, self._on_readable)

    # -- recovery (only with ``params.recovery``; see pika._reconnect) --------------------------

    def _connect_for_recovery(
        self, params: Parameters, on_failed: Callable[[BaseException], None]
    ) -> None:
        attempt = _RecoveryAttempt(
            params, self._nbio, self._attach_reconnected, self._on_stream_lost, on_failed
        )
        self._recovery_attempt = attempt
        attempt.start()

    def _attach_reconnected(self, sock: socket.socket, params: Parameters) -> None:
        """The attempt's socket is connected: the same core starts over on it."""
        core = self._core
        assert core is not None and self._sock is None
        self._take_socket(sock, params)
        core.begin_reconnect(params)
        self._reader = SocketReader(sock, core)
        self._after_core_call()

    def _reconnect_failed(self, error: BaseException) -> None:
        attempt = self._recovery_attempt
        if attempt is not None:
            attempt.handshake_failed(error)  # its connector reports it to the reconnector
        else:
            super()._reconnect_failed(error)

    def _reconnect_succeeded(self) -> None:
        attempt, self._recovery_attempt = self._recovery_attempt, None
        if attempt is not None:
            attempt.opened()

    def _stop_reconnecting(self) -> None:
        attempt, self._recovery_attempt = self._recovery_attempt, None
        if attempt is not None:
            attempt.abort()

    def fail_opening(self, error: BaseException) -> None:
        """End a connection that is still opening: drop its stream (no close handshake) and
        give ``error`` to its open-error callbacks. The connection workflow uses it for
        `stack_timeout` and `abort()` during the AMQP handshake.

        :raises ConnectionWrongStateError: if the connection is open or finished
        """
        if self._opened or self._finished:
            raise exceptions.ConnectionWrongStateError(f'{self!r} is not opening')
        self._on_connect_failed(error)

    def _abort_opening(self) -> None:
        """close() while connecting: stop the workflow, then report `ConnectionOpenAborted`."""
        workflow, self._workflow = self._workflow, None
        if workflow is not None:
            workflow.abort()  # in the AMQP handshake, this connection is failed with it
        if not self._finished:
            super()._abort_opening()

    # -- the pump ----------------------------------------------------------------------------

    def _on_readable(self) -> None:
        """Read what the socket holds (one `SocketReader.read`), dispatch the events, then
        flush the output. More than one read takes waits for the next loop turn."""
        reader = self._reader
        if reader is None:  # no socket (yet, or any more)
            return
        self._in_read = True
        try:
            try:
                found = reader.read(self._nbio.time())
            except exceptions.StreamLostError as lost:
                LOGGER.warning('Stream lost: %r', lost)
                self._on_stream_lost(lost)
            else:
                if found:  # what Connection._process does (Connection's own state)
                    self._pending_events.extend(found)
                    self._dispatch_pending()
        finally:
            self._in_read = False
            if self._sock is not None and not self._writer_active:
                self._flush()

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
                # Fast path for the common case (a request, the acks of a read): one buffer and
                # nothing older waiting is one `send_some`, not `SendQueue.extend` + `send`
                # (sendmsg). Measured for one 100-byte buffer on a socket pair, median of 15 x
                # 20k flushes: 9.0 us this way, 13.1 us through the queue.
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
        self._reader = None
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


class _RecoveryAttempt:
    """One reconnect attempt of a `BaseConnection` to one host: the connection workflow's
    `AMQPConnector` on each resolved address in turn (TCP, TLS, ``socket_timeout`` and
    ``stack_timeout`` as for the first connect).

    To the connector it stands for the connection that takes the socket (``attach_socket``,
    the open and open-error callbacks): the handshake and the replay run in the application's
    own connection, which tells this object how they ended (`opened`, `handshake_failed`).
    ``on_failed(error)`` is called once if the attempt fails.

    :param attach: ``attach(sock, params)``: hand the connected socket to the connection
    :param lose: ``lose(error)``: the connection's stream is lost (a ``stack_timeout`` during
        the handshake); the core then reports the interruption, which ends here
    """

    def __init__(
        self,
        params: Parameters,
        nbio: IOServices,
        attach: Callable[[socket.socket, Parameters], None],
        lose: Callable[[BaseException], None],
        on_failed: Callable[[BaseException], None],
    ) -> None:
        self._params = params
        self._nbio = nbio
        self._attach = attach
        self._lose = lose
        self._on_failed = on_failed
        self._addresses: list[Any] = []
        self._connector: Optional[connection_workflow.AMQPConnector] = None
        self._open_callbacks: list[Callable[..., Any]] = []
        self._error_callbacks: list[Callable[..., Any]] = []
        self._attached = False
        self._done = False  # reported, succeeded or aborted: nothing more to say
        self.is_open = False
        self.is_closing = False
        self.is_closed = False

    def start(self) -> None:
        """Resolve the host (as the workflow does) and connect its first address."""
        try:
            self._addresses = _transport.resolve(self._params)
        except exceptions.AMQPConnectionError as exc:
            error = exc
            self._nbio.call_later(0, lambda: self._fail(error))
            return
        self._next_address()

    def _next_address(self) -> None:
        connector = self._connector = connection_workflow.AMQPConnector(lambda _p: self, self._nbio)
        connector.start(self._addresses.pop(0), self._params, self._on_connector_done)

    def _on_connector_done(self, result: Any) -> None:
        self._connector = None
        if self._done or result is self:
            return
        if not self._attached and self._addresses:
            self._next_address()
            return
        self._fail(_open_error_of(result))

    def _fail(self, error: BaseException) -> None:
        if not self._done:
            self._done = True
            self._on_failed(error)

    def abort(self) -> None:
        """The application closed the connection: stop quietly."""
        self._done = True
        connector, self._connector = self._connector, None
        if connector is not None:
            connector.abort()

    # -- what the connection tells it ----------------------------------------------------

    def opened(self) -> None:
        """The core reported ``ConnectionRecovered``."""
        self.is_open = True
        for callback in self._open_callbacks:
            callback(self)
        self._done = True

    def handshake_failed(self, error: BaseException) -> None:
        """The core reported ``ConnectionInterrupted`` during this attempt."""
        if self.is_closed:
            return
        self.is_closed = True
        for callback in self._error_callbacks:
            callback(self, error)
        self._fail(error)  # when the connector had already let go of us

    # -- the connection protocol of AMQPConnector -----------------------------------------

    def add_on_open_callback(self, callback: Callable[..., Any]) -> None:
        """The connector's completion callback."""
        self._open_callbacks.append(callback)

    def add_on_open_error_callback(self, callback: Callable[..., Any]) -> None:
        """The connector's failure callback."""
        self._error_callbacks.append(callback)

    def attach_socket(self, sock: socket.socket, params: Parameters) -> None:
        """The connector's hand-over of the connected socket."""
        self._attached = True
        if self._done:  # aborted meanwhile
            sock.close()
            return
        self._attach(sock, params)

    def fail_opening(self, error: BaseException) -> None:
        """``stack_timeout`` (or an abort) during the handshake: drop the stream."""
        if not self._done and not self.is_closed:
            self._lose(error)


def _open_error_of(result: Union[Connection, BaseException]) -> BaseException:
    """What the constructor's open-error callbacks get when its workflow failed: the last
    attempt's own error (`SocketConnectError`, `AddressResolutionError`, a timeout...), as
    before the workflow existed; any of them is an `AMQPConnectionError`."""
    if isinstance(result, connection_workflow.AMQPConnectionWorkflowAborted):
        return exceptions.ConnectionOpenAborted('close() while connecting')
    if isinstance(result, connection_workflow.AMQPConnectionWorkflowFailed) and result.exceptions:
        result = result.exceptions[-1]
    if isinstance(result, connection_workflow.AMQPConnectorPhaseErrorBase):
        return result.exception
    if isinstance(result, BaseException):
        return result
    return exceptions.AMQPConnectionError(f'unexpected connection workflow result {result!r}')
