"""`pika.aio.Connection`: one AMQP connection driven from async code, on the sans-I/O core.

The connection is the core's driver, as the blocking pump is for `BlockingConnection`: the
backend hands it received bytes (:meth:`Connection.data_received`), it feeds them to
:class:`~pika._core.connection.ConnectionCore` and routes each returned event to the channel or
waiter it concerns; what the core queues is written to the transport once per loop step (many
publishes, one write), or at once above :data:`FLUSH_BYTES`. One background task runs the
core's timers (heartbeats, the blocked-connection timeout) and expires waits that passed their
deadline (every wait on the broker is bounded: ``rpc_timeout`` or a per-call ``timeout=``).

See docs/aio.md for the API and docs/architecture.md for the core contract.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from pika import exceptions
from pika._core import events as ev
from pika._core.connection import ConnectionCore
from pika._parameters import ConnectionParameters, Parameters
from pika._url_parameters import URLParameters
from pika.adapters._io import transport as _transport
from pika.adapters._io.backlog import PAUSED_READ_INTERVAL, Backlog
from pika.aio.backend import running_backend
from pika.aio.channel import Channel
from pika.aio.recovery import ConnectionRecovery
from pika.aio.waits import Pending, bounded
from pika.connection import erase_credentials_of

if TYPE_CHECKING:
    from types import TracebackType

    from pika.aio.backend import Backend, TaskHandle, Transport, Waiter

__all__ = ['DEFAULT_RPC_TIMEOUT', 'Connection', 'ParametersLike', 'connect']

LOGGER = logging.getLogger(__name__)

#: Default bound (seconds) on every wait for the broker; ``rpc_timeout=None`` removes it.
DEFAULT_RPC_TIMEOUT = 60.0
#: Handshake bound when the parameters set no ``stack_timeout``; also bounds ``close()``.
DEFAULT_HANDSHAKE_TIMEOUT = 60.0
#: Queued output above which a publish or ack writes at once instead of at the end of the step.
FLUSH_BYTES = 64 * 1024
#: The timer task wakes at least this often to expire confirm waits past their deadline (s).
SWEEP_INTERVAL = 0.25

ParametersLike = Union[Parameters, str, Sequence[Union[Parameters, str]], None]
"""What :func:`connect` takes: parameters, an ``amqp://`` URL, a list of either, or None."""

_NOT_FATAL_ON_RETRY = (
    exceptions.ProbableAuthenticationError,
    exceptions.ProbableAccessDeniedError,
    exceptions.AuthenticationError,
)

EventCallback = Callable[['Connection', Any], Any]
"""``callback(connection, method_or_error)`` for blocked, unblocked and close notifications."""


def _one_params(value: object) -> Parameters:
    if isinstance(value, Parameters):
        return value
    if isinstance(value, str):
        return URLParameters(value)
    raise TypeError(f'parameters: expected Parameters or a URL, got {type(value).__name__}')


def param_list(parameters: ParametersLike) -> list[Parameters]:
    """Normalise what :func:`connect` takes into a non-empty list of ``Parameters``."""
    if parameters is None:
        return [ConnectionParameters()]
    if isinstance(parameters, (Parameters, str)):
        return [_one_params(parameters)]
    if isinstance(parameters, (list, tuple)):
        if not parameters:
            raise ValueError('parameters: the sequence is empty')
        return [_one_params(item) for item in parameters]
    raise TypeError(f'parameters must be Parameters, a URL or a list, not {type(parameters)}')


def check_timeout(name: str, value: Optional[float]) -> Optional[float]:
    """``None`` or a finite number > 0 (as float).

    :raises TypeError: not a number
    :raises ValueError: not > 0
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f'{name} must be a number or None, not {type(value).__name__}')
    if math.isnan(value) or value <= 0:
        raise ValueError(f'{name} must be > 0, got {value!r}')
    return None if math.isinf(value) else float(value)


async def connect(
    parameters: ParametersLike = None,
    *,
    rpc_timeout: Optional[float] = DEFAULT_RPC_TIMEOUT,
    backend: Optional[Backend] = None,
) -> Connection:
    """Connect to RabbitMQ and return the open :class:`Connection`.

    :param parameters: ``ConnectionParameters``/``URLParameters``, an ``amqp://`` URL, or a list
        of them tried in turn (``connection_attempts``/``retry_delay`` as `BlockingConnection`);
        None: localhost as guest
    :param rpc_timeout: default bound (seconds) on every wait for the broker (None: no bound)
    :param backend: the I/O backend (default: that of the running library, asyncio or trio)
    :raises AMQPConnectionError: (a subclass) when no attempt succeeded
    """
    params_list = param_list(parameters)
    rpc_timeout = check_timeout('rpc_timeout', rpc_timeout)
    if backend is None:
        backend = running_backend()
    last_error: Optional[BaseException] = None
    try:
        for params, delay in _transport.connect_with_retries(params_list):
            if delay:
                await backend.sleep(delay)
            try:
                conn = await Connection.open(params, backend, rpc_timeout)
            except _NOT_FATAL_ON_RETRY:
                raise
            except exceptions.AMQPError as error:
                LOGGER.warning('Connection to %s:%s failed: %r', params.host, params.port, error)
                last_error = error
            else:
                conn.hosts = params_list  # a recovery walks the whole list
                return conn
    except BaseException:
        erase_credentials_of(params_list)  # erase_on_connect holds on failure too
        raise
    erase_credentials_of(params_list)
    if isinstance(last_error, exceptions.AMQPConnectionError):
        raise last_error
    raise exceptions.AMQPConnectionError(last_error)


class Connection:
    """An open AMQP connection; create it with :func:`connect` (``await pika.aio.connect()``).

    ``async with conn:`` closes it on exit. Channels come from :meth:`channel`.
    """

    def __init__(self, params: Parameters, backend: Backend, rpc_timeout: Optional[float]) -> None:
        self.params: Parameters = params
        self.backend = backend
        #: default bound on waits for the broker (seconds, None: unbounded)
        self.rpc_timeout = rpc_timeout
        self.core: ConnectionCore = ConnectionCore(params, self)
        self._output = self.core.output
        #: bytes of deliveries buffered by this connection's consumers and not yet handed out
        #: by ``async for``; above ``delivery_backlog_high`` reading pauses (docs/aio.md)
        self.backlog: Backlog = Backlog(params.delivery_backlog_high, params.delivery_backlog_low)
        #: True while reading is paused because consumers hold too many undelivered bytes
        #: (read it, never set it: :meth:`resume_reading` clears it; a plain attribute, as
        #: every RPC reads it)
        self.reading_paused: bool = False
        self._paused_at = 0.0
        #: the parameters list :func:`connect` was given (a recovery tries each node)
        self.hosts: list[Parameters] = [params]
        #: True from a loss until the connection is recovered (recovery on): calls wait
        self.recovering: bool = False
        self._recovery: Optional[ConnectionRecovery] = None
        self._recovered_waiters: list[Waiter] = []
        self._transport: Optional[Transport] = None
        self._stream: Optional[Stream] = None
        self._timer_task: Optional[TaskHandle] = None
        self._channels: dict[int, Channel] = {}
        self._flush_scheduled = False
        self._write_paused = False
        self._drain_waiters: list[Waiter] = []
        self._opening: Optional[Pending] = None
        self._closed_waiters: list[Waiter] = []
        #: update_secret calls awaiting UpdateSecretOk (channel 0's replies), oldest first
        self._secret_updates: list[Pending] = []
        self._unblocked_waiters: list[Waiter] = []
        self._error: Optional[BaseException] = None
        self._blocked = False
        self._on_blocked: list[EventCallback] = []
        self._on_unblocked: list[EventCallback] = []
        self._on_close: list[EventCallback] = []
        self._handlers: dict[type, Callable[[Any], None]] = {
            ev.MessageDelivered: self._on_delivered,
            ev.RpcReply: self._on_rpc_reply,
            ev.DeliveryConfirmed: self._on_channel_event,
            ev.MessageReturned: self._on_channel_event,
            ev.ConsumerCancelled: self._on_channel_event,
            ev.FlowChanged: self._on_channel_event,
            ev.ChannelOpened: self._on_channel_event,
            ev.ChannelClosed: self._on_channel_closed,
            ev.ConnectionOpened: self._on_opened,
            ev.ConnectionOpenFailed: self._on_finished,
            ev.ConnectionClosed: self._on_finished,
            ev.ConnectionInterrupted: self._on_interrupted,
            ev.ConnectionRecovered: self._on_recovered,
            ev.ConnectionBlocked: self._on_blocked_event,
            ev.ConnectionUnblocked: self._on_unblocked_event,
        }

    @classmethod
    async def open(
        cls, params: Parameters, backend: Backend, rpc_timeout: Optional[float]
    ) -> Connection:
        """Connect one ``params`` (no retries; :func:`connect` walks the list): the stream,
        then the AMQP handshake, bounded by ``socket_timeout`` and ``stack_timeout``."""
        self = cls(params, backend, rpc_timeout)
        self._stream = stream = Stream(self)
        self._transport = await backend.open_transport(params, stream, params.socket_timeout)
        self.core.start()
        self._timer_task = backend.spawn(self._run_timers())
        handshake = params.stack_timeout or DEFAULT_HANDSHAKE_TIMEOUT
        waiter = backend.create_waiter()
        self._opening = Pending(waiter)
        self.flush()
        try:
            await bounded(backend, waiter, backend.now() + handshake, 'AMQP handshake')
        except BaseException as error:
            if not isinstance(error, exceptions.AMQPError) or not self.core.is_closed:
                self._shut_down(exceptions.AMQPConnectionError(f'connect aborted: {error!r}'))
            raise
        LOGGER.info(
            'Connected to %s:%s (heartbeat %s)', params.host, params.port, self.core.heartbeat
        )
        return self

    def __repr__(self) -> str:
        state = 'open' if self.is_open else 'closed'
        return f'<pika.aio.Connection {state} {self.params.host}:{self.params.port}>'

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        if not self.is_closed:
            await self.close()

    # -- state ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """True while the connection is usable."""
        return self._error is None and self.core.is_open

    @property
    def is_closed(self) -> bool:
        """True once the connection is closed or lost."""
        return self._error is not None

    @property
    def is_blocked(self) -> bool:
        """True while the broker blocks publishing (a resource alarm, Connection.Blocked)."""
        return self._blocked

    @property
    def close_reason(self) -> Optional[BaseException]:
        """Why the connection closed (``ConnectionClosedByClient`` after :meth:`close`), or
        None while open."""
        return self._error

    @property
    def server_properties(self) -> dict[str, Any]:
        """The broker's Connection.Start server properties."""
        return self.core.server_properties

    @property
    def buffered_bytes(self) -> int:
        """Bytes queued for the broker and not yet sent (the core's queue plus the transport's
        buffer): bounded by flow control."""
        transport = self._transport
        buffered = 0 if transport is None else transport.get_write_buffer_size()
        return buffered + self.core.pending_bytes

    @property
    def write_paused(self) -> bool:
        """True while the transport holds more than its high-water mark of unsent bytes."""
        return self._write_paused

    # -- user operations -----------------------------------------------------------------

    async def channel(
        self, channel_number: Optional[int] = None, *, timeout: Optional[float] = None
    ) -> Channel:
        """Open a channel (``async with await conn.channel() as ch:`` closes it on exit).

        :param channel_number: a specific number, or None for the lowest free one
        :param timeout: bound on waiting for Channel.OpenOk (default: ``rpc_timeout``)
        """
        self.check_usable()
        core_channel = self.core.open_channel(channel_number)
        channel = Channel(self, core_channel)
        self._channels[core_channel.channel_number] = channel
        self.schedule_flush()
        await channel.wait_opened(self.deadline(timeout))
        return channel

    async def close(self, reply_code: int = 200, reply_text: str = 'Normal shutdown') -> None:
        """Close the connection (its channels and consumers first) and wait until it is closed,
        at most ``stack_timeout`` (else 60 s); then the stream is dropped. Idempotent."""
        if self._error is None and not self.core.is_closing:
            self._dispatch(self.core.close(reply_code, reply_text))
            self.flush()
            self.resume_reading()  # the replies must not wait for the consumers
        if self._error is not None:
            return
        limit = self.params.stack_timeout or DEFAULT_HANDSHAKE_TIMEOUT
        waiter = self.backend.create_waiter()
        self._closed_waiters.append(waiter)
        try:
            await bounded(self.backend, waiter, self.backend.now() + limit, 'Connection.Close')
        except exceptions.OperationTimeout:
            self._shut_down(exceptions.ConnectionClosedByClient(reply_code, reply_text))

    async def update_secret(
        self, new_secret: str, reason: str, *, timeout: Optional[float] = None
    ) -> None:
        """Send Connection.UpdateSecret (a refreshed OAuth token, say) and wait for the
        broker's UpdateSecretOk, bounded by ``timeout`` (default ``rpc_timeout``)."""
        deadline = self.deadline(timeout)
        self.check_usable()
        self.core.update_secret(new_secret, reason)  # raises for bad arguments, sends nothing
        waiter = self.backend.create_waiter()
        self._secret_updates.append(Pending(waiter))
        self.schedule_flush()
        await bounded(self.backend, waiter, deadline, 'Connection.UpdateSecret')

    async def wait_closed(self, timeout: Optional[float] = None) -> BaseException:
        """Wait until the connection is closed or lost and return the cause (an exception:
        ``ConnectionClosedByClient``, ``ConnectionClosedByBroker``, ``StreamLostError``...).

        ``timeout`` (seconds) bounds the wait; None (the default) waits as long as the
        connection lives, since waiting for the end of a healthy connection is this call's
        purpose (``rpc_timeout``, which bounds replies from the broker, does not apply).

        :raises OperationTimeout: still open after ``timeout``
        """
        if self._error is None:
            waiter = self.backend.create_waiter()
            self._closed_waiters.append(waiter)
            deadline = None if timeout is None else self.backend.now() + timeout
            try:
                await bounded(self.backend, waiter, deadline, 'wait_closed')
            except exceptions.OperationTimeout:
                if waiter in self._closed_waiters:  # a caller that retries does not pile up
                    self._closed_waiters.remove(waiter)
                raise
        assert self._error is not None
        return self._error

    async def wait_unblocked(self, timeout: Optional[float] = None) -> None:
        """Return once the broker no longer blocks the connection (at once if it does not).

        :raises OperationTimeout: still blocked after ``timeout`` (default ``rpc_timeout``)
        """
        while self._blocked:
            self.check_usable()
            waiter = self.backend.create_waiter()
            self._unblocked_waiters.append(waiter)
            await bounded(self.backend, waiter, self.deadline(timeout), 'wait_unblocked')

    def add_on_blocked_callback(self, callback: EventCallback) -> None:
        """Call ``callback(connection, Connection.Blocked method)`` when the broker blocks us."""
        self._on_blocked.append(callback)

    def add_on_unblocked_callback(self, callback: EventCallback) -> None:
        """Call ``callback(connection, Connection.Unblocked method)`` when it unblocks us."""
        self._on_unblocked.append(callback)

    def add_on_close_callback(self, callback: EventCallback) -> None:
        """Call ``callback(connection, error)`` once the connection is closed or lost."""
        self._on_close.append(callback)

    # -- what channels use ---------------------------------------------------------------

    def deadline(self, timeout: Optional[float]) -> Optional[float]:
        """Absolute deadline of a wait: ``timeout`` or the connection's ``rpc_timeout``."""
        limit = self.wait_limit(timeout)
        return None if limit is None else self.backend.now() + limit

    def wait_limit(self, timeout: Optional[float]) -> Optional[float]:
        """How long a wait may last: ``timeout`` checked (None: ``rpc_timeout``); None when
        unbounded.

        :raises TypeError: not a number
        :raises ValueError: not > 0
        """
        return self.rpc_timeout if timeout is None else check_timeout('timeout', timeout)

    def check_usable(self) -> None:
        """Raise unless the connection is open.

        :raises ConnectionWrongStateError: closing or closed
        """
        if self._error is not None or not self.core.is_open:
            raise exceptions.ConnectionWrongStateError(
                'Connection is closed' if self._error is not None else 'Connection is closing'
            )

    def schedule_flush(self) -> None:
        """Write what the core queued at the end of this loop step (once for many calls)."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.backend.call_soon(self.flush)

    def wrote(self) -> None:
        """A channel queued frames (publish, ack): write them at the end of this loop step,
        or at once when more than :data:`FLUSH_BYTES` are queued (the hot paths' one call)."""
        output = self._output
        if len(output.buffer) + output.parts_size > FLUSH_BYTES:
            self.flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self.backend.call_soon(self.flush)

    def flush(self) -> None:
        """Write what the core queued now."""
        self._flush_scheduled = False
        # core.has_output() and core.data_to_send(), inlined on the core's Output (every RPC
        # and every loop step with publishes or acks comes here)
        output = self._output
        if (output.buffer or output.parts) and self._transport is not None:
            self._transport.write(output.take())

    async def drained(self, deadline: Optional[float]) -> None:
        """Wait until the transport is below its low-water mark (flow control).

        :raises OperationTimeout: not drained by ``deadline``
        """
        while self._write_paused:
            self.check_usable()
            waiter = self.backend.create_waiter()
            self._drain_waiters.append(waiter)
            await bounded(self.backend, waiter, deadline, 'output drain')

    def resume_reading(self) -> None:
        """Read again: the consumers' backlog fell to its low mark, an RPC needs its reply,
        or the once-a-second read that shows the broker's writes progressing."""
        if self.reading_paused:
            self.reading_paused = False
            resume = getattr(self._transport, 'resume_reading', None)
            if resume is not None:
                resume()

    def _maybe_pause_reading(self) -> None:
        """Stop reading while the backlog is above its high mark, unless a channel awaits a
        reply (it would wait for the application's consumers) or the transport cannot pause."""
        pause = getattr(self._transport, 'pause_reading', None)
        if pause is None or self.core.is_closing:
            return
        if any(channel.awaiting_reply for channel in self._channels.values()):
            return
        pause()
        self.reading_paused = True
        self._paused_at = self.backend.now()

    def forget_channel(self, channel_number: int) -> None:
        """Drop a finished channel from the routing table."""
        self._channels.pop(channel_number, None)

    # -- the Sink: what the backend reports ------------------------------------------------

    def data_received(self, data: bytes) -> None:
        """Feed received bytes to the core and route its events."""
        events = self.core.receive_data(data, self.backend.now())
        if events:
            handlers = self._handlers  # _dispatch, inlined: every read comes here
            for event in events:
                handlers[type(event)](event)
        output = self._output
        if (output.buffer or output.parts) and self._transport is not None:
            self._transport.write(output.take())
        if self.backlog.paused and not self.reading_paused:
            self._maybe_pause_reading()

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        """The stream ended: let the core close everything (events fail the waiters)."""
        self._transport = None
        if self._error is None:
            events = self.core.connection_lost(exc)
            self._dispatch(events)
            if self._error is None and not self.recovering:  # the core was closed already
                self._finish(exceptions.StreamLostError(f'Stream connection lost: {exc!r}'))

    def pause_writing(self) -> None:
        """The transport is above its high-water mark: publishes wait (flow control)."""
        self._write_paused = True

    def resume_writing(self) -> None:
        """The transport drained: wake the waiting publishers."""
        self._write_paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- event routing -------------------------------------------------------------------

    def _dispatch(self, events: list[ev.Event]) -> None:
        handlers = self._handlers
        for event in events:
            handlers[type(event)](event)

    def _on_delivered(self, event: ev.MessageDelivered) -> None:
        channel = self._channels.get(event.channel_number)
        if channel is not None:
            channel.on_delivery(event)

    def _on_rpc_reply(self, event: ev.RpcReply) -> None:
        channel = self._channels.get(event.channel_number)
        if channel is not None:
            channel.on_reply(event)  # not on_event: one call less per round trip
        elif event.channel_number == 0 and self._secret_updates:  # Connection.UpdateSecretOk
            self._secret_updates.pop(0).settle(None)

    def _on_channel_event(self, event: Any) -> None:
        channel = self._channels.get(event.channel_number)
        if channel is not None:
            channel.on_event(event)

    def _on_channel_closed(self, event: ev.ChannelClosed) -> None:
        channel = self._channels.pop(event.channel_number, None)
        if channel is not None:
            channel.on_closed(event.error)

    def _on_opened(self, event: ev.ConnectionOpened) -> None:
        opening, self._opening = self._opening, None
        if opening is not None:
            opening.settle(None)

    def _on_finished(self, event: Union[ev.ConnectionClosed, ev.ConnectionOpenFailed]) -> None:
        self._finish(event.error)

    def _on_interrupted(self, event: ev.ConnectionInterrupted) -> None:
        """Recovery on: the core kept the connection and its channels. Drop the stream, tell
        the channels, and reconnect (:mod:`pika.aio.recovery`)."""
        self.recovering = True
        self._drop_stream()
        for channel in list(self._channels.values()):
            channel.interrupted()
        recovery = self._recovery
        if recovery is None:
            policy = self.core.recovery
            assert policy is not None  # the core interrupts only with recovery on
            recovery = self._recovery = ConnectionRecovery(self, policy, self.hosts)
        recovery.interrupted(event.error, self.params)

    def _on_recovered(self, event: ev.ConnectionRecovered) -> None:
        """The core replayed everything on the new stream: calls may go on."""
        self.params = event.params
        self.recovering = False
        waiters, self._recovered_waiters = self._recovered_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        if self._recovery is not None:
            self._recovery.recovered(event.params, event.renamed)

    def _drop_stream(self) -> None:
        """Recovery: let go of the lost stream (what the core queued for it goes first, best
        effort); its late reports are ignored, and publishers waiting for it to drain go on."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.dropped = True
        transport, self._transport = self._transport, None
        if transport is not None:
            self._write_rest_and_close(transport)
        self.reading_paused = False  # the next stream starts reading
        self.resume_writing()

    # -- recovery hooks (pika.aio.recovery) ------------------------------------------------

    async def reconnect_stream(self, params: Parameters) -> None:
        """Recovery: open a new stream to ``params`` and let the core start over on it.

        :raises AMQPConnectionError: the stream could not be opened
        """
        stream = Stream(self)
        transport = await self.backend.open_transport(params, stream, params.socket_timeout)
        if self._error is not None or not self.recovering or self._transport is not None:
            stream.dropped = True  # closed (or recovered) meanwhile: not needed any more
            transport.abort()
            raise exceptions.ConnectionWrongStateError('no recovery in progress')
        self._stream = stream
        self._transport = transport
        self.core.begin_reconnect(params)
        self.flush()

    def abort_stream(self) -> None:
        """Recovery: drop the current stream at once; its loss is reported as usual."""
        if self._transport is not None:
            self._transport.abort()

    def give_up_recovery(self, cause: BaseException) -> None:
        """Recovery gave up (the policy's ``on_given_up`` ran): confirm-mode publishes still
        waiting fail with ``PublishOutcomeUnknown``, then the connection closes with
        ``cause``."""
        if self._error is not None:
            return
        unknown = exceptions.PublishOutcomeUnknown(
            f'no publisher confirm before recovery gave up: {cause}'
        )
        for channel in list(self._channels.values()):
            channel.fail_unconfirmed(unknown)
        error = cause if isinstance(cause, exceptions.AMQPError) else exceptions.AMQPError(cause)
        self._dispatch(self.core.give_up(error))

    async def wait_recovered(self, timeout: Optional[float]) -> None:
        """Return once the connection is not recovering, waiting at most ``timeout`` (None:
        ``rpc_timeout``); at once, checking nothing, if it is not recovering.

        The one wait of every channel call made while the connection recovers. The hot
        callers (``basic_publish``, ``send_rpc``) test ``recovering`` before calling: creating
        and awaiting this coroutine with nothing to wait for costs about 1.1k instructions,
        +8.7% per publish and +0.8% per ``basic_get`` round trip (bench/NOTES.md, "One home
        for the recovery wait").

        :raises ConnectionRecovering: still recovering after ``timeout``
        :raises AMQPConnectionError: the connection closed meanwhile (recovery gave up, or
            the application closed it)
        """
        if not self.recovering:
            return
        deadline = self.deadline(timeout)
        while self.recovering:
            waiter = self.backend.create_waiter()
            self._recovered_waiters.append(waiter)
            try:
                await bounded(self.backend, waiter, deadline, 'connection recovery')
            except exceptions.OperationTimeout:
                raise exceptions.ConnectionRecovering(
                    'the connection is being recovered and did not come back in time'
                ) from None
        if self._error is not None:
            raise exceptions.ConnectionWrongStateError('Connection is closed') from self._error

    def _on_blocked_event(self, event: ev.ConnectionBlocked) -> None:
        self._blocked = True
        self._notify(self._on_blocked, event.method)

    def _on_unblocked_event(self, event: ev.ConnectionUnblocked) -> None:
        self._blocked = False
        waiters, self._unblocked_waiters = self._unblocked_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._notify(self._on_unblocked, event.method)

    def _notify(self, callbacks: list[EventCallback], value: Any) -> None:
        for callback in list(callbacks):
            try:
                callback(self, value)
            except Exception:  # a user callback must not break the connection
                LOGGER.exception('Connection callback %r failed', callback)

    def _finish(self, error: BaseException) -> None:
        """The connection is over: fail every wait, stop the timers, drop the stream."""
        if self._error is not None:
            return
        self._error = error
        self.recovering = False
        LOGGER.info('Connection to %s:%s closed: %r', self.params.host, self.params.port, error)
        if self._recovery is not None:
            self._recovery.stop()
        for channel in list(self._channels.values()):
            channel.on_closed(error)
        self._channels.clear()
        self._fail_waits(error)
        self._report_closed(error)
        self._stop_io()
        self._notify(self._on_close, error)

    def _fail_waits(self, error: BaseException) -> None:
        """Fail the handshake, update_secret calls and every wait on the connection's state
        with ``error``: none of them can be answered any more."""
        opening, self._opening = self._opening, None
        if opening is not None:
            opening.fail(error)
        for pending in self._secret_updates:
            pending.fail(error)
        self._secret_updates.clear()
        for waiters in (self._drain_waiters, self._unblocked_waiters, self._recovered_waiters):
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            waiters.clear()

    def _report_closed(self, error: BaseException) -> None:
        """Hand ``error`` to every :meth:`wait_closed` (and :meth:`close`): for them it is
        the result they waited for, not a failure."""
        closed, self._closed_waiters = self._closed_waiters, []
        for waiter in closed:
            if not waiter.done():
                waiter.set_result(error)

    def _stop_io(self) -> None:
        """Stop the timer task and close the transport, after writing what the core still
        has to send (a Connection.Close or CloseOk)."""
        if self._timer_task is not None:
            self._timer_task.cancel()
            self._timer_task = None
        if self._transport is not None:
            self._write_rest_and_close(self._transport)

    def _write_rest_and_close(self, transport: Transport) -> None:
        """Write what the core still queued for ``transport``, then close it (the one ending
        of a stream that lets its last frames out: a close, or a recovery's drop)."""
        if self.core.has_output():
            transport.write(self.core.data_to_send())
        transport.close()

    def _shut_down(self, error: exceptions.AMQPError) -> None:
        """Give up on the stream at once (a wait expired or the caller was cancelled)."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.abort()
        if self._error is None:
            events = self.core.connection_lost(error)
            self._dispatch(events)
            self._finish(error)

    # -- timers --------------------------------------------------------------------------

    async def _run_timers(self) -> None:
        """Run the core's timers (heartbeats, blocked timeout) and expire confirm waits, until
        the connection is finished (then this task is cancelled)."""
        backend = self.backend
        core = self.core
        while self._error is None:
            now = backend.now()
            delay = SWEEP_INTERVAL
            deadline = core.next_deadline()
            if deadline is not None and deadline - now < delay:
                delay = max(deadline - now, 0.0)
            await backend.sleep(delay)
            now = backend.now()
            if deadline is not None and now >= deadline:
                self._dispatch(core.tick(now))
                self.flush()
            if self.reading_paused and now - self._paused_at >= PAUSED_READ_INTERVAL:
                self.resume_reading()  # one read; data_received pauses again if still needed
            for channel in list(self._channels.values()):
                channel.expire(now)


class Stream:
    """The :class:`~pika.aio.backend.Sink` of one transport: the connection, until a recovery
    drops the stream (``dropped``); then the old transport's late reports go nowhere."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dropped = False
        self.data_received = connection.data_received  # type: ignore[method-assign]

    def data_received(self, data: bytes) -> None:  # replaced by the connection's in __init__
        self.connection.data_received(data)

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        """The stream ended: the connection's business unless it was dropped."""
        if not self.dropped:
            self.connection.connection_lost(exc)

    def pause_writing(self) -> None:
        """Above the high-water mark (ignored once dropped)."""
        if not self.dropped:
            self.connection.pause_writing()

    def resume_writing(self) -> None:
        """Below the low-water mark (ignored once dropped)."""
        if not self.dropped:
            self.connection.resume_writing()
