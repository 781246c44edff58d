"""The connection workflow of pika 1.x: try a list of brokers, with retries, until one opens.

Two pieces, both driven only by an `IOServices` loop (timers and socket readiness):

* `AMQPConnectionWorkflow` walks the retry plan of `_transport.connect_with_retries` (each
  config in order, in cycles; the last config's `connection_attempts` and `retry_delay` set the
  cycles and the pause between them, as in pika 1.x), resolves each host and hands every
  resolved address to a fresh connector. It never touches a socket.
* `AMQPConnector` makes one attempt on one address: TCP connect (bounded by `socket_timeout`),
  TLS when `ssl_options` is set, then the AMQP handshake on a connection made by its
  `conn_factory`; `stack_timeout` bounds all of it. Deadlines are also checked when each phase
  completes, so a timeout shorter than one loop turn (even 1e-19 s) fails the attempt
  deterministically instead of racing the connect.

`BaseConnection.create_connection` and the constructor's own connect both run this workflow;
the constructor's stops after its first AMQP handshake attempt (`_until_first_amqp_attempt`),
so a refused login is reported at once instead of being retried.

Unlike pika 1.x, every exception here is also a `pika.exceptions.AMQPConnectionError`, so the
documented ``except AMQPConnectionError:`` retry loop catches a failed workflow too. Their
``repr``/``str`` read as pika's.
"""

from __future__ import annotations

import abc
import logging
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional, Union

from pika import exceptions
from pika._parameters import Parameters
from pika.adapters._io import transport as _transport
from pika.connection import erase_credentials_of

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator, Sequence

    from pika.adapters._io.services import IOServices
    from pika.connection import Connection

__all__ = [
    'AMQPConnectionWorkflow',
    'AMQPConnectionWorkflowAborted',
    'AMQPConnectionWorkflowFailed',
    'AMQPConnectionWorkflowWrongState',
    'AMQPConnector',
    'AMQPConnectorAMQPHandshakeError',
    'AMQPConnectorAborted',
    'AMQPConnectorException',
    'AMQPConnectorPhaseErrorBase',
    'AMQPConnectorSocketConnectError',
    'AMQPConnectorStackTimeout',
    'AMQPConnectorTransportSetupError',
    'AMQPConnectorWrongState',
    'AbstractAMQPConnectionWorkflow',
]

LOGGER = logging.getLogger(__name__)

#: What a connector reports: the open connection, or why there is none.
Result = Union['Connection', BaseException]
#: What a workflow reports.
WorkflowResult = Union['Connection', 'AMQPConnectorException']


# -- exceptions ----------------------------------------------------------------------------


class AMQPConnectorException(exceptions.AMQPConnectionError):
    """Base of the connector and workflow errors (pika 1.x's name; also an AMQPConnectionError).

    They print as plain exceptions do (``Cls('text')`` and ``text``), as pika's do.
    """

    __repr__: ClassVar[Callable[[BaseException], str]] = Exception.__repr__
    __str__: ClassVar[Callable[[BaseException], str]] = Exception.__str__


class AMQPConnectorStackTimeout(AMQPConnectorException):
    """The whole connection stack (TCP, TLS, AMQP handshake) exceeded `stack_timeout`."""


class AMQPConnectorAborted(AMQPConnectorException):
    """The connector was aborted by its client."""


class AMQPConnectorWrongState(AMQPConnectorException):
    """A connector or workflow method was called in a state that does not allow it."""


class AMQPConnectorPhaseErrorBase(AMQPConnectorException):
    """A phase of the connection attempt failed; `.exception` is why.

    :param exception: the error that failed the phase
    :param args: extra arguments, kept as ``args``
    """

    def __init__(self, exception: BaseException, *args: Any) -> None:
        super().__init__(*args)
        self.exception = exception

    def __repr__(self) -> str:
        return f'{type(self).__name__}: {self.exception!r}'


class AMQPConnectorSocketConnectError(AMQPConnectorPhaseErrorBase):
    """The TCP connect failed or timed out."""


class AMQPConnectorTransportSetupError(AMQPConnectorPhaseErrorBase):
    """The transport (TLS handshake) could not be set up."""


class AMQPConnectorAMQPHandshakeError(AMQPConnectorPhaseErrorBase):
    """The AMQP handshake failed (refused login, no access to the vhost, timeout...)."""


class AMQPConnectionWorkflowAborted(AMQPConnectorException):
    """The workflow was aborted by its client (`abort()`)."""


class AMQPConnectionWorkflowWrongState(AMQPConnectorException):
    """The workflow was used in a state that does not allow it."""


class AMQPConnectionWorkflowFailed(AMQPConnectorException):
    """Every attempt of the workflow failed; `.exceptions` holds one error per attempt.

    :param exceptions: the errors of the attempts, oldest first (kept as a tuple)
    :param args: extra arguments, kept as ``args``
    """

    def __init__(self, exceptions: Sequence[BaseException], *args: Any) -> None:
        super().__init__(*args)
        self.exceptions: tuple[BaseException, ...] = tuple(exceptions)

    def __repr__(self) -> str:
        count = len(self.exceptions)
        last = self.exceptions[-1] if count else None
        first = self.exceptions[0] if count > 1 else None
        return (
            f'{type(self).__name__}: {count} exceptions in all; '
            f'last exception - {last!r}; first exception - {first!r}'
        )


# -- one attempt on one address ------------------------------------------------------------

_INIT, _TCP, _TLS, _AMQP, _ABORTING, _DONE = 'INIT', 'TCP', 'TLS', 'AMQP', 'ABORTING', 'DONE'


def _may_abort(state: str) -> bool:
    """Whether an ``abort()`` in ``state`` has work to do (False: already aborting).

    The connector and the workflow share pika's rule: aborting before ``start()`` or after the
    result was reported is a caller error.

    :raises AMQPConnectorWrongState: in the initial or the final state
    """
    if state == _INIT:
        raise AMQPConnectorWrongState('Cannot abort before starting.')
    if state == _DONE:
        raise AMQPConnectorWrongState('Cannot abort after completion was reported')
    return state != _ABORTING


def _deadline(now: float, timeout: Optional[float]) -> Optional[float]:
    """The absolute deadline of ``timeout`` seconds from ``now`` (None: unbounded).

    A timeout too small to move the clock's value (1e-19 s) yields ``now`` itself, which
    `_expired` reports as passed: the check is deterministic, not a race with the loop.
    """
    return None if not timeout else now + timeout


class AMQPConnector:
    """One connection attempt on one resolved address: TCP, TLS, then the AMQP handshake.

    :param conn_factory: ``conn_factory(params)`` returns the connection that runs the AMQP
        handshake over the connected socket (a `BaseConnection` made without its own workflow)
    :param nbio: the loop services (timers and socket readiness)
    """

    def __init__(self, conn_factory: Callable[[Parameters], Any], nbio: IOServices) -> None:
        self._conn_factory = conn_factory
        self._nbio = nbio
        self._state = _INIT
        self._params: Optional[Parameters] = None
        self._address: Any = None
        self._on_done: Optional[Callable[[Result], None]] = None
        self._sock: Optional[socket.socket] = None
        self._conn: Any = None
        self._socket_deadline: Optional[float] = None
        self._stack_deadline: Optional[float] = None
        self._timers: dict[str, object] = {}  # 'socket', 'stack', 'report' -> loop handle

    def start(
        self,
        addr_record: tuple[Any, ...],
        conn_params: Parameters,
        on_done: Callable[[Result], None],
    ) -> None:
        """Connect to ``addr_record`` (a `socket.getaddrinfo` entry) with ``conn_params``;
        ``on_done`` gets the open connection or an `AMQPConnectorException`, once.

        :raises AMQPConnectorWrongState: if already started
        """
        if self._state != _INIT:
            raise AMQPConnectorWrongState(f'Already in progress or finished; state={self._state}')
        self._params = conn_params
        self._address = addr_record
        self._on_done = on_done
        self._state = _TCP
        now = self._nbio.time()
        self._socket_deadline = _deadline(now, conn_params.socket_timeout)
        self._stack_deadline = _deadline(now, conn_params.stack_timeout)
        if conn_params.stack_timeout:
            self._arm('stack', conn_params.stack_timeout, self._on_stack_timeout)
        try:
            sock = _transport.start_nonblocking_connect(addr_record, conn_params.tcp_options)
        except exceptions.AMQPConnectionError as exc:
            error = AMQPConnectorSocketConnectError(exc)
            self._arm('report', 0, lambda: self._fail(error))  # from the loop, not in start()
            return
        self._sock = sock
        self._nbio.set_writer(sock.fileno(), self._on_tcp_writable)
        if conn_params.socket_timeout:
            self._arm('socket', conn_params.socket_timeout, self._on_socket_timeout)

    def abort(self) -> None:
        """Stop the attempt; ``on_done`` gets `AMQPConnectorAborted` from the loop.

        :raises AMQPConnectorWrongState: before `start()` or after the result was reported
        """
        if not _may_abort(self._state):
            return
        conn = self._conn if self._state == _AMQP else None
        self._state = _ABORTING
        self._cleanup()
        if conn is not None:
            _abandon(conn)
        self._arm('report', 0, lambda: self._report(AMQPConnectorAborted()))

    # -- phases --------------------------------------------------------------------------

    def _describe(self) -> str:
        assert self._params is not None
        return f'{self._params.host}:{self._params.port} ({self._address[4]!r})'

    def _timed_out(self, deadline: Optional[float]) -> bool:
        return deadline is not None and self._nbio.time() >= deadline

    def _phase_error(self, error: BaseException) -> AMQPConnectorPhaseErrorBase:
        if self._state == _TLS:
            return AMQPConnectorTransportSetupError(error)
        return AMQPConnectorSocketConnectError(error)

    def _check_deadlines(self) -> bool:
        """At the end of the TCP or TLS phase: fail (and return False) if a deadline passed."""
        if self._timed_out(self._socket_deadline):
            self._on_socket_timeout()
            return False
        if self._timed_out(self._stack_deadline):
            self._on_stack_timeout()
            return False
        return True

    def _on_tcp_writable(self) -> None:
        sock = self._sock
        assert sock is not None and self._params is not None
        self._nbio.remove_writer(sock.fileno())
        if not self._check_deadlines():
            return
        try:
            _transport.finish_nonblocking_connect(sock)
        except exceptions.AMQPConnectionError as exc:
            self._fail(AMQPConnectorSocketConnectError(exc))
            return
        if self._params.ssl_options is None:
            self._start_amqp()
            return
        self._state = _TLS
        try:
            self._sock = _transport.wrap_tls(sock, self._params)
        except (OSError, ValueError) as exc:
            self._fail(AMQPConnectorTransportSetupError(exc))
            return
        self._tls_step()

    def _tls_step(self) -> None:
        sock = self._sock
        assert sock is not None
        fd = sock.fileno()
        self._nbio.remove_reader(fd)
        self._nbio.remove_writer(fd)
        try:
            wanted = _transport.tls_handshake_step(sock)  # type: ignore[arg-type]
        except exceptions.AMQPConnectionError as exc:
            self._fail(AMQPConnectorTransportSetupError(exc))
            return
        if wanted == 'read':
            self._nbio.set_reader(fd, self._tls_step)
        elif wanted == 'write':
            self._nbio.set_writer(fd, self._tls_step)
        elif self._check_deadlines():
            self._start_amqp()

    def _start_amqp(self) -> None:
        """Hand the connected socket to a new connection and watch its handshake."""
        self._cancel('socket')
        sock, self._sock = self._sock, None
        assert sock is not None and self._params is not None
        self._state = _AMQP
        conn = self._conn = self._conn_factory(self._params)
        conn.add_on_open_callback(self._on_amqp_open)
        conn.add_on_open_error_callback(self._on_amqp_failed)
        conn.attach_socket(sock, self._params)

    def _on_amqp_open(self, conn: Any) -> None:
        if self._state == _AMQP:
            self._report(conn)

    def _on_amqp_failed(self, _conn: Any, error: BaseException) -> None:
        if self._state == _AMQP:
            self._report(AMQPConnectorAMQPHandshakeError(error))

    # -- timeouts and outcome ----------------------------------------------------------------

    def _on_socket_timeout(self) -> None:
        assert self._params is not None
        self._fail(
            self._phase_error(
                _transport.SocketConnectTimeout(
                    f'TCP/TLS connection to {self._describe()} timed out after '
                    f'{self._params.socket_timeout} s (socket_timeout)'
                )
            )
        )

    def _on_stack_timeout(self) -> None:
        assert self._params is not None
        timeout = self._params.stack_timeout
        if self._state != _AMQP:
            error = AMQPConnectorStackTimeout(
                f'Timeout while connecting socket to {self._describe()} '
                f'after {timeout} s (stack_timeout)'
            )
            self._fail(self._phase_error(error))
        elif self._conn.is_open or self._conn.is_closing:  # opened, but a raising on-open
            self._report(self._conn)  # callback hid it from us
        elif self._conn.is_closed:  # failed, but a raising open-error callback hid it from us
            self._report(
                AMQPConnectorAMQPHandshakeError(
                    exceptions.AMQPConnectionError('the connection failed while opening')
                )
            )
        else:  # the connection's open-error callback reports it through _on_amqp_failed
            self._conn.fail_opening(
                AMQPConnectorStackTimeout(
                    f'Timeout during AMQP handshake with {self._describe()} '
                    f'after {timeout} s (stack_timeout)'
                )
            )

    def _fail(self, error: AMQPConnectorException) -> None:
        LOGGER.debug('Connection attempt failed: %r', error)
        self._report(error)

    def _report(self, result: Result) -> None:
        self._cleanup()
        self._state = _DONE
        on_done, self._on_done = self._on_done, None
        self._conn = None
        if on_done is not None:
            on_done(result)

    def _arm(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._cancel(name)
        self._timers[name] = self._nbio.call_later(delay, callback)

    def _cancel(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            self._nbio.remove_timeout(handle)

    def _cleanup(self) -> None:
        """Cancel every timer (a fired one too: a no-op) and close a socket not handed over."""
        for name in list(self._timers):
            self._cancel(name)
        sock, self._sock = self._sock, None
        if sock is not None:
            fd = sock.fileno()
            self._nbio.remove_reader(fd)
            self._nbio.remove_writer(fd)
            try:
                sock.close()
            except OSError as exc:
                LOGGER.debug('Ignoring error closing socket: %r', exc)


def _abandon(conn: Any) -> None:
    """Stop the connection of an aborted attempt: fail its handshake, or close it if it opened
    (a raising on-open callback of the constructor's own can hide that from the connector)."""
    if conn.is_closed or conn.is_closing:
        return
    if conn.is_open:
        conn.close()
    else:
        conn.fail_opening(exceptions.ConnectionOpenAborted('connection workflow aborted'))


# -- the workflow --------------------------------------------------------------------------


class AbstractAMQPConnectionWorkflow(abc.ABC):
    """What `create_connection` needs from a workflow: `start()` once, `abort()` at will."""

    @abc.abstractmethod
    def start(
        self,
        connection_configs: Sequence[Parameters],
        connector_factory: Callable[..., Any],
        native_loop: Any,
        on_done: Callable[[WorkflowResult], None],
    ) -> None:
        """Start connecting; ``on_done`` gets the open connection or an
        `AMQPConnectorException` (`AMQPConnectionWorkflowFailed`, `...Aborted`), once.

        :param connection_configs: the `Parameters` to try, in order
        :param connector_factory: ``connector_factory()`` returns a new `AMQPConnector`
        :param native_loop: the adapter's own event loop object
        :param on_done: the completion callback
        """

    @abc.abstractmethod
    def abort(self) -> None:
        """Stop the workflow: close the attempt in progress and report
        `AMQPConnectionWorkflowAborted` to ``on_done``."""


class AMQPConnectionWorkflow(AbstractAMQPConnectionWorkflow):
    """pika 1.x's workflow: every config in order, in cycles, every resolved address of each.

    It owns no socket: the plan is `_transport.connect_with_retries`, the waits are loop
    timers, and each address is one `AMQPConnector`.

    :param _until_first_amqp_attempt: stop at the first failed AMQP handshake instead of
        going on with the plan (the constructor's connect uses it, as in pika 1.x)
    """

    def __init__(self, _until_first_amqp_attempt: bool = False) -> None:
        self._until_first_amqp_attempt = _until_first_amqp_attempt
        self._nbio: Optional[IOServices] = None
        self._state = _INIT
        self._configs: list[Parameters] = []
        self._plan: Optional[Iterator[tuple[Parameters, float]]] = None
        self._params: Optional[Parameters] = None
        self._addresses: list[Any] = []
        self._connector_factory: Optional[Callable[[], Any]] = None
        self._connector: Any = None
        self._timer: Optional[object] = None
        self._errors: list[BaseException] = []
        self._on_done: Optional[Callable[[WorkflowResult], None]] = None

    def set_io_services(self, nbio: IOServices) -> None:
        """Give the workflow its loop services; `create_connection` calls this before `start`."""
        self._nbio = nbio

    def start(
        self,
        connection_configs: Sequence[Parameters],
        connector_factory: Callable[..., Any],
        native_loop: Any,
        on_done: Callable[[WorkflowResult], None],
    ) -> None:
        """Start the plan; see `AbstractAMQPConnectionWorkflow.start`.

        :raises AMQPConnectorWrongState: if already started
        :raises AMQPConnectionWorkflowWrongState: if `set_io_services` was not called
        :raises ValueError: no configs; TypeError: not a sequence of `Parameters`
        """
        if self._state != _INIT:
            raise AMQPConnectorWrongState(f'Already in progress or finished; state={self._state}')
        if self._nbio is None:
            raise AMQPConnectionWorkflowWrongState('set_io_services() must be called first')
        self._configs = _checked_configs(connection_configs)
        self._plan = _transport.connect_with_retries(self._configs)
        self._connector_factory = connector_factory
        self._on_done = on_done
        self._state = _ACTIVE
        self._next_config()

    def abort(self) -> None:
        """Stop the workflow; ``on_done`` gets `AMQPConnectionWorkflowAborted` from the loop.

        :raises AMQPConnectorWrongState: before `start()` or after the result was reported
        """
        if not _may_abort(self._state):
            return
        self._state = _ABORTING
        self._cancel_timer()
        connector, self._connector = self._connector, None
        if connector is not None:
            connector.abort()  # its own report is ignored: ours follows
        assert self._nbio is not None
        self._timer = self._nbio.call_later(
            0, lambda: self._finish(AMQPConnectionWorkflowAborted())
        )

    # -- walking the plan --------------------------------------------------------------------

    def _next_config(self) -> None:
        """Schedule the next config of the plan (after its delay), or fail: plan exhausted."""
        assert self._plan is not None and self._nbio is not None
        try:
            params, delay = next(self._plan)
        except StopIteration:
            self._finish(AMQPConnectionWorkflowFailed(self._errors))
            return
        if delay:
            LOGGER.info('Retrying connection in %s s', delay)
        self._timer = self._nbio.call_later(delay, lambda: self._try_config(params))

    def _try_config(self, params: Parameters) -> None:
        self._timer = None
        LOGGER.info('Connecting to %s:%s', params.host, params.port)
        try:
            self._addresses = _transport.resolve(params)
        except exceptions.AMQPConnectionError as exc:
            LOGGER.warning('Connection attempt failed: %r', exc)
            self._errors.append(exc)
            self._next_config()
            return
        self._params = params
        self._try_next_address()

    def _try_next_address(self) -> None:
        if not self._addresses:
            self._next_config()
            return
        assert self._connector_factory is not None and self._params is not None
        address = self._addresses.pop(0)
        self._connector = self._connector_factory()
        self._connector.start(address, self._params, self._on_connector_done)

    def _on_connector_done(self, result: Result) -> None:
        if self._state != _ACTIVE:
            return  # aborting: the abort report is scheduled
        self._connector = None
        if not isinstance(result, BaseException):
            self._finish(result)
            return
        LOGGER.warning('Connection attempt failed: %r', result)
        self._errors.append(result)
        if self._until_first_amqp_attempt and isinstance(result, AMQPConnectorAMQPHandshakeError):
            self._finish(AMQPConnectionWorkflowFailed(self._errors))
        else:
            self._try_next_address()

    def _finish(self, result: WorkflowResult) -> None:
        self._timer = None
        self._state = _DONE
        on_done, self._on_done = self._on_done, None
        if isinstance(result, BaseException):
            LOGGER.error('Connection workflow failed: %r', result)
            erase_credentials_of(self._configs)
        assert on_done is not None
        on_done(result)

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            assert self._nbio is not None
            self._nbio.remove_timeout(timer)


_ACTIVE = 'ACTIVE'


def _checked_configs(connection_configs: Sequence[Parameters]) -> list[Parameters]:
    """The configs as a list, or the error pika 1.x raises for them."""
    if isinstance(connection_configs, (Parameters, str, bytes)):
        raise TypeError(
            f'connection_configs must be a sequence of Parameters: {connection_configs!r}'
        )
    try:
        configs = list(connection_configs)
    except TypeError as exc:
        raise TypeError(f'connection_configs does not support iteration: {exc!r}') from exc
    if not configs:
        raise ValueError(f'connection_configs is empty: {configs!r}.')
    for config in configs:
        if not isinstance(config, Parameters):
            raise TypeError(f'connection_configs must hold Parameters, not {config!r}')
    return configs
