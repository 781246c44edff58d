"""BlockingConnection: a synchronous, thread-safe AMQP client over the sans-I/O core.

It drives :class:`pika._core.ConnectionCore` directly (no callback adapter underneath): the
socket, the core and a leader/follower reading scheme live in
:mod:`pika.adapters._blocking.pump`; :class:`~pika.adapters._blocking.channel.BlockingChannel`
holds the channel API. Summary of the guarantees (details in ``docs/blocking.md``):

* Every blocking call is bounded: RPCs by ``timeout=`` or the connection's ``rpc_timeout``
  (raising :class:`pika.exceptions.OperationTimeout`), connecting by ``socket_timeout`` and the
  handshake by ``stack_timeout``. A dead broker surfaces as a socket error, a heartbeat timeout,
  or at the latest as ``OperationTimeout``.
* Heartbeats do not depend on user code: with a non-zero heartbeat a daemon keeper thread
  services the socket whenever no other thread is reading it.
* Any thread may use the connection and its channels; frames are never interleaved. User
  callbacks run outside the internal lock, in the thread that dispatches them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from pika import exceptions, frame
from pika._core import events as ev
from pika._core.connection import ConnectionCore
from pika._parameters import ConnectionParameters, Parameters
from pika.adapters._blocking.channel import (
    BlockingChannel,
    ConnectionLink,
    GetEmpty,
    ReturnedMessage,
)
from pika.adapters._blocking.pump import Pump
from pika.adapters._blocking.recovery import BlockingReconnect
from pika.adapters._blocking.slots import ChannelSlot, Waiter
from pika.adapters._io import transport as _transport
from pika.adapters._io.timers import TimerHandle, TimerQueue

# Private names of pika 1.x that OpenTelemetry's pika instrumentation imports from here.
from pika.adapters._otel_compat import _ConsumerCancellationEvt as _ConsumerCancellationEvt
from pika.adapters._otel_compat import _ConsumerDeliveryEvt as _ConsumerDeliveryEvt
from pika.adapters._otel_compat import _QueueConsumerGeneratorInfo as _QueueConsumerGeneratorInfo
from pika.connection import erase_credentials_of
from pika.exchange_type import ExchangeType as ExchangeType  # importable here, as in pika 1.x

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    'DEFAULT_RPC_TIMEOUT',
    'BlockingChannel',
    'BlockingConnection',
    'GetEmpty',
    'ReturnedMessage',
]

LOGGER = logging.getLogger(__name__)

#: Default bound (seconds) on waiting for a broker reply; ``rpc_timeout=None`` removes it.
DEFAULT_RPC_TIMEOUT = 60.0
#: Handshake bound used when the parameters set no ``stack_timeout``.
_DEFAULT_HANDSHAKE_TIMEOUT = 60.0

_monotonic = time.monotonic
_get_ident = threading.get_ident
_NOT_FATAL_ON_RETRY = (
    exceptions.ProbableAuthenticationError,
    exceptions.ProbableAccessDeniedError,
    exceptions.AuthenticationError,
)


def _param_list(parameters: Any) -> list[Parameters]:
    """Normalise ``None`` / one ``Parameters`` / a sequence of them into a list."""
    if parameters is None:
        return [ConnectionParameters()]
    if isinstance(parameters, Parameters):
        return [parameters]
    if isinstance(parameters, (list, tuple)):
        result = list(parameters)
        if not result:
            raise ValueError('parameters: the sequence is empty')
        for item in result:
            if not isinstance(item, Parameters):
                raise TypeError(f'parameters: expected Parameters, got {type(item).__name__}')
        return result
    raise TypeError(f'parameters must be Parameters or a list of them, not {type(parameters)}')


def _check_timeout(name: str, value: Optional[float]) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f'{name} must be a number or None, not {type(value).__name__}')
    if math.isnan(value) or value <= 0:
        raise ValueError(f'{name} must be > 0, got {value!r}')
    return None if math.isinf(value) else float(value)


class BlockingConnection:
    """A blocking connection to RabbitMQ.

    :param parameters: ``ConnectionParameters``/``URLParameters``, a list of them (tried in
        turn, honouring ``connection_attempts`` and ``retry_delay``), or None for
        localhost:5672 as guest/guest
    :param rpc_timeout: default bound in seconds on every wait for a broker reply (None: no
        bound); blocking channel methods also take ``timeout=`` per call
    :raises AMQPConnectionError: (or a subclass such as ``ProbableAuthenticationError``) when
        no attempt succeeded
    """

    def __init__(
        self,
        parameters: Union[Parameters, Sequence[Parameters], None] = None,
        _impl_class: Any = None,
        *,
        rpc_timeout: Optional[float] = DEFAULT_RPC_TIMEOUT,
    ) -> None:
        params_list = _param_list(parameters)
        self._rpc_timeout = _check_timeout('rpc_timeout', rpc_timeout)
        self._timers = TimerQueue()
        self._timer_lock = threading.Lock()
        self._timer_epoch = 0
        self._next_timer_at = math.inf
        self._ready_timers: deque[Callable[[], Any]] = deque()
        self._threadsafe: deque[Callable[[], Any]] = deque()
        self._channels: dict[int, BlockingChannel] = {}
        self._local = threading.local()
        self._on_blocked: list[Callable[..., Any]] = []
        self._on_unblocked: list[Callable[..., Any]] = []
        self._on_close: list[Callable[..., Any]] = []
        self._backpressure: list[Callable[..., Any]] = []
        self._backpressure_multiplier = 10
        self._error_reported = False
        try:
            self._pump: Pump = self._connect(params_list)
        except BaseException:
            erase_credentials_of(params_list)  # erase_on_connect holds on failure too
            raise
        self._pump.on_alarm = self._dispatch_alarms
        self.params: Parameters = self._params

    def __repr__(self) -> str:
        state = 'open' if self.is_open else 'closed'
        return f'<BlockingConnection {state} {self._params.host}:{self._params.port}>'

    def __enter__(self) -> BlockingConnection:
        return self

    def __exit__(self, exc_type: Any, value: Any, traceback: Any) -> None:
        if self.is_open:
            self.close()

    # -- connecting ----------------------------------------------------------------------

    def _connect(self, params_list: list[Parameters]) -> Pump:
        last_error: Optional[BaseException] = None
        for params, delay in _transport.connect_with_retries(params_list):
            if delay:
                time.sleep(delay)
            try:
                pump = self._open(params)
            except _NOT_FATAL_ON_RETRY:
                raise
            except exceptions.AMQPError as error:
                LOGGER.warning('Connection to %s:%s failed: %r', params.host, params.port, error)
                last_error = error
                continue
            self._params = params
            if params.recovery is not None:
                pump.reconnect = BlockingReconnect(self, params.recovery, params_list, params)
            return pump
        if isinstance(last_error, exceptions.AMQPConnectionError):
            raise last_error
        raise exceptions.AMQPConnectionError(last_error)

    def _open(self, params: Parameters) -> Pump:
        """Connect the socket and run the AMQP handshake, both bounded."""
        handshake = params.stack_timeout or _DEFAULT_HANDSHAKE_TIMEOUT
        deadline = _monotonic() + handshake
        sock = _transport.connect_blocking(params, params.socket_timeout)
        core = ConnectionCore(params, self)
        core.start()
        pump = Pump(core, sock)
        with pump.lock:
            pump.send_now()
            done = pump.wait(lambda: pump.opened, deadline)
            if not done and pump.error is None:
                pump.force_close(exceptions.AMQPConnectionError('AMQP handshake timed out'))
            if pump.error is not None:
                pump.shutdown()
                raise pump.error
            pump.conn_pending.clear()
            if core.heartbeat:
                pump.start_keeper()
        LOGGER.info('Connected to %s:%s (heartbeat %s)', params.host, params.port, core.heartbeat)
        return pump

    # -- state ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """True while the connection is usable (also while it is being recovered: calls then
        wait for the recovery, up to their timeout)."""
        pump = self._pump
        core = pump.core
        return pump.opened and pump.error is None and (core.is_open or core.is_recovering)

    @property
    def is_closed(self) -> bool:
        """True once the connection is closed or lost."""
        return self._pump.error is not None

    @property
    def server_properties(self) -> dict[str, Any]:
        """The broker's Connection.Start server properties."""
        return self._pump.core.server_properties

    @property
    def negotiated_limits(self) -> tuple[int, int, int]:
        """``(channel_max, frame_max, heartbeat)`` agreed with the broker in Connection.Tune
        (0 means no limit, or heartbeats off). Not in pika 1.x; used by ``pika check``."""
        core = self._pump.core
        return core.channel_max, core.frame_max, core.heartbeat or 0

    def _capability(self, name: str) -> bool:
        capabilities = self._pump.core.server_properties.get('capabilities') or {}
        return bool(capabilities.get(name, False))

    @property
    def basic_nack_supported(self) -> bool:
        """True if the broker supports Basic.Nack."""
        return self._capability('basic.nack')

    @property
    def consumer_cancel_notify_supported(self) -> bool:
        """True if the broker notifies consumers it cancels."""
        return self._capability('consumer_cancel_notify')

    @property
    def exchange_exchange_bindings_supported(self) -> bool:
        """True if the broker supports exchange-to-exchange bindings."""
        return self._capability('exchange_exchange_bindings')

    @property
    def publisher_confirms_supported(self) -> bool:
        """True if the broker supports publisher confirms."""
        return self._capability('publisher_confirms')

    # Older spellings kept by pika 1.x.
    basic_nack = basic_nack_supported
    consumer_cancel_notify = consumer_cancel_notify_supported
    exchange_exchange_bindings = exchange_exchange_bindings_supported
    publisher_confirms = publisher_confirms_supported

    def _deadline(self, timeout: Optional[float]) -> Optional[float]:
        """Absolute deadline for a wait: per-call ``timeout`` or the connection default."""
        if timeout is None:
            timeout = self._rpc_timeout
        else:
            timeout = _check_timeout('timeout', timeout)
        return None if timeout is None else _monotonic() + timeout

    def _check_open(self, refusal: str = 'Connection is closed') -> None:
        """Raise the loss reason once, then ConnectionWrongStateError(`refusal`), if not
        usable."""
        pump = self._pump
        if pump.error is None:
            return
        error = pump.error
        if not self._error_reported and not isinstance(error, exceptions.ConnectionClosedByClient):
            self._error_reported = True
            raise error
        raise exceptions.ConnectionWrongStateError(refusal)

    # -- channels ------------------------------------------------------------------------

    def channel(
        self, channel_number: Optional[int] = None, *, timeout: Optional[float] = None
    ) -> BlockingChannel:
        """Open a channel (the lowest free number, or ``channel_number``) and wait for OpenOk."""
        if callable(channel_number):
            raise TypeError('BlockingConnection.channel() takes a channel number, not a callback')
        deadline = self._deadline(timeout)
        pump = self._pump
        with pump.lock:
            self._check_open(f'Channel allocation requires an open connection: {self!r}')
            for number, old in list(self._channels.items()):
                if old.is_closed:  # closed by the broker and never close()d: forget it
                    self._channels.pop(number, None)
            core = pump.core.open_channel(channel_number)
            slot = ChannelSlot(core)
            pump.slots[slot.number] = slot
            channel = BlockingChannel(self, slot, self._channel_link())
            self._channels[slot.number] = channel
            pump.send_now()
            done = pump.wait(slot.open_waiter.is_done, deadline)
        if not done:
            raise exceptions.OperationTimeout(f'Channel.Open {slot.number} timed out')
        if slot.open_waiter.error is not None:
            self._forget_channel(slot.number)
            slot.error_reported = True
            raise slot.open_waiter.error
        return channel

    def _channel_link(self) -> ConnectionLink:
        """What a channel may use of this connection (its own methods, no reach-in)."""
        return ConnectionLink(
            self._pump,
            self._deadline,
            self._loss_reported,
            self._note_backpressure,
            self._run_once,
            self._forget_channel,
        )

    def _loss_reported(self) -> None:
        """The connection's loss has been raised once; later calls say it is closed."""
        self._error_reported = True

    def _forget_channel(self, number: int) -> None:
        channel = self._channels.get(number)
        if channel is not None and channel.is_closed:
            del self._channels[number]

    # -- closing -------------------------------------------------------------------------

    def close(
        self,
        reply_code: int = 200,
        reply_text: str = 'Normal shutdown',
        *,
        timeout: Optional[float] = None,
    ) -> None:
        """Cancel consumers, close every channel, then the connection; wait for the broker.

        :raises ConnectionWrongStateError: the connection is already closed
        """
        pump = self._pump
        deadline = self._deadline(timeout)
        with pump.lock:
            if pump.error is not None:
                raise exceptions.ConnectionWrongStateError(
                    f'BlockingConnection.close({reply_code}, {reply_text!r}) called on closed '
                    'connection.'
                )
            pump.write_batched_acks()  # a callback's acks go before Connection.Close
            pump.router.route(pump.core.close(reply_code, reply_text))
            pump.send_now()
            done = pump.wait(lambda: pump.error is not None, deadline)
            if not done:
                pump.force_close(exceptions.ConnectionClosedByClient(reply_code, reply_text))
            pump.shutdown()
        self._error_reported = True
        self._channels.clear()
        self._dispatch_connection_events()

    # -- dispatching -----------------------------------------------------------------------

    def in_callback(self) -> bool:
        """Whether the calling thread is running one of this connection's user callbacks
        (there, acks wait to be sent in one batch and start_consuming() is refused)."""
        return getattr(self._local, 'depth', 0) > 0

    def _has_work(self, me: int) -> bool:
        """Anything this thread could dispatch now (pump lock held)."""
        pump = self._pump
        if pump.conn_pending or self._threadsafe or self._ready_timers:
            return True
        if self._next_timer_at <= _monotonic():
            return True
        for slot in pump.slots.values():
            if slot.pending and (slot.owner is None or slot.owner == me):
                return True
        return False

    def _run_once(
        self, deadline: Optional[float], extra: Optional[Callable[[], bool]] = None
    ) -> int:
        """Wait (bounded by ``deadline`` and the next timer) for work, then dispatch it."""
        me = _get_ident()
        epoch = self._timer_epoch
        wait_until = deadline
        if self._next_timer_at < math.inf:
            wait_until = (
                self._next_timer_at if deadline is None else min(deadline, self._next_timer_at)
            )
        pump = self._pump

        def ready() -> bool:
            return (
                self._has_work(me) or self._timer_epoch != epoch or (extra is not None and extra())
            )

        with pump.lock:
            pump.wait(ready, wait_until, deliveries=True)
        return self._dispatch(me)

    def _dispatch(self, me: int) -> int:
        """Run due timers, queued callbacks and channel events (no lock held)."""
        local = self._local
        local.depth = getattr(local, 'depth', 0) + 1
        count = 0
        try:
            count += self._dispatch_connection_events()
            count += self._run_timers()
            threadsafe = self._threadsafe
            while threadsafe:
                try:
                    callback = threadsafe.popleft()
                except IndexError:
                    break
                callback()
                count += 1
            for slot in list(self._pump.slots.values()):  # a closed channel has no slot
                if slot.pending:
                    count += slot.dispatch(me)
        finally:
            local.depth -= 1
            if local.depth == 0:
                pump = self._pump
                with pump.lock:
                    pump.write_batched_acks()
                    pump.send_now()  # acks batched by the callbacks
        return count

    def _dispatch_alarms(self) -> None:
        """Called by a blocking call waiting in the pump (lock released) when the broker
        blocked or unblocked the connection: run those callbacks now, not at the next
        ``process_data_events`` (issue 15 item 5: a ``basic_publish`` waiting for its
        confirm while blocked hears about it before ``ConnectionBlockedTimeout``)."""
        local = self._local
        local.depth = getattr(local, 'depth', 0) + 1
        try:
            self._dispatch_connection_events()
        finally:
            local.depth -= 1
            if local.depth == 0:
                pump = self._pump
                with pump.lock:
                    pump.write_batched_acks()  # acks the callbacks made, as _dispatch does
                    pump.send_now()

    def _dispatch_connection_events(self) -> int:
        pending = self._pump.conn_pending
        count = 0
        while pending:
            try:
                event = pending.popleft()
            except IndexError:
                break
            count += 1
            kind = type(event)
            if kind is ev.ConnectionBlocked:
                for callback in list(self._on_blocked):
                    callback(self, frame.Method(0, event.method))  # type: ignore[attr-defined]
            elif kind is ev.ConnectionUnblocked:
                for callback in list(self._on_unblocked):
                    callback(self, frame.Method(0, event.method))  # type: ignore[attr-defined]
            elif kind is ev.ConnectionClosed:
                for callback in list(self._on_close):
                    callback(self, event.error)  # type: ignore[attr-defined]
            elif kind is _Backpressure:
                for callback in list(self._backpressure):
                    callback()
        return count

    def process_data_events(self, time_limit: Optional[float] = 0) -> None:
        """Service the connection and dispatch callbacks (consumers, returns, timers...).

        :param time_limit: 0 (default) processes what is already available and returns; a
            positive number waits up to that many seconds for something to dispatch; None
            waits until at least one callback was dispatched
        :raises: the connection's loss reason (e.g. ``StreamLostError``) if it was lost
        """
        if time_limit is not None:
            time_limit = float(time_limit)
            if math.isnan(time_limit) or time_limit < 0:
                raise ValueError('time_limit must be >= 0 or None')
        self._check_open()
        deadline = None if time_limit is None else _monotonic() + time_limit
        while True:
            dispatched = self._run_once(deadline)
            if dispatched or self._pump.error is not None:
                break
            if deadline is not None and _monotonic() >= deadline:
                break
        self._check_open()

    def sleep(self, duration: float) -> None:
        """Sleep ``duration`` seconds while servicing the connection and dispatching callbacks."""
        if duration < 0:
            raise ValueError('duration must be >= 0')
        self._check_open()
        deadline = _monotonic() + duration
        while True:
            self._run_once(deadline)
            self._check_open()
            if _monotonic() >= deadline:
                return

    # -- timers and thread-safe callbacks ----------------------------------------------------

    def call_later(self, delay: float, callback: Callable[[], Any]) -> TimerHandle:
        """Run ``callback()`` after ``delay`` seconds, from a thread dispatching this connection
        (``process_data_events``, ``sleep``, ``start_consuming``...). Returns a handle."""
        if not callable(callback):
            raise TypeError('callback must be callable')
        ready = self._ready_timers
        with self._timer_lock:
            handle = self._timers.call_later(delay, lambda: ready.append(callback))
            self._timers_changed()
        return handle

    def add_timeout(self, deadline: float, callback: Callable[[], Any]) -> TimerHandle:
        """pika 0.9 name of :meth:`call_later` (``deadline`` is a delay in seconds)."""
        return self.call_later(deadline, callback)

    def remove_timeout(self, timeout_id: TimerHandle) -> None:
        """Cancel a timer made by :meth:`call_later`/:meth:`add_timeout`."""
        with self._timer_lock:
            self._timers.cancel(timeout_id)
            self._timers_changed()

    def _timers_changed(self) -> None:
        """Timer lock held: recompute the next deadline and wake a waiting dispatcher."""
        until = self._timers.next_timeout(_monotonic())
        self._next_timer_at = math.inf if until is None else _monotonic() + until
        self._timer_epoch += 1
        with self._pump.lock:
            self._pump.kick()

    def _run_timers(self) -> int:
        if self._next_timer_at <= _monotonic():
            with self._timer_lock:
                self._timers.run_due(_monotonic())  # only moves callbacks to _ready_timers
                until = self._timers.next_timeout(_monotonic())
                self._next_timer_at = math.inf if until is None else _monotonic() + until
        ready = self._ready_timers
        count = 0
        while ready:
            try:
                callback = ready.popleft()
            except IndexError:
                break
            callback()
            count += 1
        return count

    def process_timeouts(self) -> None:
        """pika 0.9: run the timers that are due now."""
        self._run_timers()

    def add_callback_threadsafe(self, callback: Callable[[], Any]) -> None:
        """Ask the thread dispatching this connection to run ``callback()``; callable from any
        thread. It runs in the next ``process_data_events``/``sleep``/``start_consuming``."""
        if not callable(callback):
            raise TypeError('callback must be callable')
        pump = self._pump
        with pump.lock:
            if pump.error is not None:
                raise exceptions.ConnectionWrongStateError('Connection is closed')
            self._threadsafe.append(callback)
            pump.kick()

    # -- connection-level callbacks ----------------------------------------------------------

    def add_on_connection_blocked_callback(self, callback: Callable[..., Any]) -> None:
        """``callback(connection, method_frame)`` when the broker blocks us (Connection.Blocked)."""
        self._require_callable(callback)
        self._on_blocked.append(callback)

    def add_on_connection_unblocked_callback(self, callback: Callable[..., Any]) -> None:
        """``callback(connection, method_frame)`` when the broker unblocks us."""
        self._require_callable(callback)
        self._on_unblocked.append(callback)

    def add_on_close_callback(self, callback: Callable[..., Any]) -> None:
        """``callback(connection, reason_exception)`` once the connection is closed or lost."""
        self._require_callable(callback)
        self._on_close.append(callback)

    def add_on_open_callback(self, callback: Callable[..., Any]) -> None:
        """pika 0.9: ``callback(connection)``; a BlockingConnection is already open, so it runs
        at once."""
        self._require_callable(callback)
        callback(self)

    def add_backpressure_callback(self, callback: Callable[[], Any]) -> None:
        """``callback()`` when unsent output exceeds ``multiplier`` x the average frame size."""
        self._require_callable(callback)
        self._backpressure.append(callback)

    def set_backpressure_multiplier(self, value: int = 10) -> None:
        """Set the multiplier used by the backpressure check (default 10)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError('value must be an int')
        if value < 1:
            raise ValueError('value must be >= 1')
        self._backpressure_multiplier = value

    def _note_backpressure(self) -> None:
        """Pump lock held, output is backing up: queue the backpressure callbacks if needed."""
        if not self._backpressure:
            return
        core = self._pump.core
        average = core.bytes_queued_total / max(core.frames_sent, 1)
        if self._pump.output_pending > average * self._backpressure_multiplier:
            self._pump.conn_pending.append(_Backpressure())

    @staticmethod
    def _require_callable(callback: Any) -> None:
        if not callable(callback):
            raise TypeError('callback must be callable')

    def update_secret(
        self, new_secret: str, reason: str, *, timeout: Optional[float] = None
    ) -> None:
        """Send Connection.UpdateSecret (e.g. a refreshed OAuth token) and wait for the reply."""
        pump = self._pump
        waiter = Waiter()
        with pump.lock:
            self._check_open()
            pump.core.update_secret(new_secret, reason)
            pump.conn_rpc_waiters.append(waiter)
            pump.send_now()
            done = pump.wait(waiter.is_done, self._deadline(timeout))
        if not done:
            raise exceptions.OperationTimeout('Connection.UpdateSecret timed out')
        if waiter.error is not None:
            self._error_reported = True
            raise waiter.error


class _Backpressure(ev.Event):
    """Internal connection event: output is backing up (for the 0.9 backpressure callbacks)."""

    __slots__ = ()
