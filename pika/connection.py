"""The callback-style public `Connection`, independent of any transport.

A `Connection` owns a sans-I/O `ConnectionCore`. Its transport (a subclass: `BaseConnection` for
file-descriptor loops, the Twisted protocol for Twisted) feeds it bytes through
`_on_data_received` (`BaseConnection` reads into the core with the `SocketReader` it shares with
the blocking pump, and queues the events itself), reports the end of the stream through
`_on_stream_lost` (public forms for outside transports: `transport_received`, `transport_lost`),
and takes output
when `_output_ready` is called. Core events are queued and dispatched one by one after decoding,
through a dict from event type to handler; if a user callback raises, the rest of the queue is
dispatched on the next loop turn, so no event is lost.

Transport hooks a subclass provides: `_output_ready`, `_close_transport`, `call_later`,
`remove_timeout`, `add_callback_threadsafe`, `_now` and the `ioloop` attribute.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union, cast

from pika import exceptions, frame, spec
from pika._api.args import require_callable, require_int, require_str
from pika._core import ConnectionCore, events
from pika._core.negotiation import PRODUCT as PRODUCT  # public here, as in pika 1.x
from pika._core.states import ConnectionState
from pika._parameters import ConnectionParameters, Parameters, SSLOptions
from pika._reconnect import Reconnector
from pika._url_parameters import URLParameters
from pika.channel import Channel, ConnectionLink

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    'Connection',
    'ConnectionParameters',
    'Parameters',
    'SSLOptions',
    'URLParameters',
]

LOGGER = logging.getLogger(__name__)

#: The connection class a callback receives: `add_on_open_callback` on a SelectConnection
#: accepts `def cb(conn: SelectConnection)`, not only callbacks typed for the base class.
_C = TypeVar('_C', bound='Connection')

_MessageDelivered = events.MessageDelivered
_RpcReply = events.RpcReply
_DeliveryConfirmed = events.DeliveryConfirmed

#: bound on the close handshake when the parameters give no `stack_timeout` (seconds)
CLOSE_TIMEOUT_DEFAULT = 15.0


def erase_credentials_of(params_list: Sequence[Parameters]) -> None:
    """Let every credentials object in ``params_list`` erase itself (when it was created with
    ``erase_on_connect=True``; otherwise this does nothing).

    Called once a connection attempt is over, whatever its outcome: the core already erases at
    Connection.StartOk, this covers the attempts that failed before the handshake got that far.
    """
    for params in params_list:
        credentials = getattr(params, 'credentials', None)
        if credentials is not None:
            credentials.erase_credentials()


def parameters_list(parameters: Union[Parameters, Sequence[Parameters], None]) -> list[Parameters]:
    """What a callback adapter's ``parameters`` argument may be, as a non-empty list: None
    (localhost, guest), one ``Parameters``, or a list or tuple of them (the first is connected
    first; a recovery may reconnect to any of them).

    :raises TypeError: anything else, or an empty list
    """
    if parameters is None:
        return [ConnectionParameters()]
    if isinstance(parameters, Parameters):
        return [parameters]
    if isinstance(parameters, (list, tuple)) and parameters:
        return list(parameters)
    raise TypeError(f'parameters must be Parameters or a list of them: {parameters!r}')


class Connection:
    """An AMQP connection with the pika callback API (both the 0.9 and the 1.x generation).

    :param parameters: a `ConnectionParameters`/`URLParameters` (default: localhost, guest)
    :param on_open_callback: `callback(connection)` once the connection is open
    :param on_open_error_callback: `callback(connection, exception)` if it could not open
    :param on_close_callback: `callback(connection, exception)` once an open connection closed
    :param internal_connection_workflow: accepted as in pika 1.x; this transport-agnostic class
        never connects by itself, the socket adapters (`BaseConnection`) act on it
    """

    # pika 1.x's connection states, the values of `connection_state`.
    CONNECTION_CLOSED = 0
    CONNECTION_INIT = 1
    CONNECTION_PROTOCOL = 2
    CONNECTION_START = 3
    CONNECTION_TUNE = 4
    CONNECTION_OPEN = 5
    CONNECTION_CLOSING = 6

    #: the core's connection states as those values
    _CORE_STATES = {
        ConnectionState.INIT: CONNECTION_INIT,
        ConnectionState.PROTOCOL_HEADER_SENT: CONNECTION_PROTOCOL,
        ConnectionState.START_OK_SENT: CONNECTION_START,
        ConnectionState.OPEN_SENT: CONNECTION_TUNE,
        ConnectionState.OPEN: CONNECTION_OPEN,
        ConnectionState.CLOSING: CONNECTION_CLOSING,
        ConnectionState.CLOSE_SENT: CONNECTION_CLOSING,
        ConnectionState.CLOSED: CONNECTION_CLOSED,
        ConnectionState.RECOVERING: CONNECTION_INIT,  # lost, reconnecting (recovery on)
    }

    # pika 1.x's names of its internal connection callbacks (they were keys of its callback
    # registry); kept as constants for code that refers to them.
    ON_CONNECTION_CLOSED = '_on_connection_closed'
    ON_CONNECTION_ERROR = '_on_connection_error'
    ON_CONNECTION_OPEN_OK = '_on_connection_open_ok'

    def __init__(
        self,
        parameters: Optional[Parameters] = None,
        on_open_callback: Optional[Callable[[Connection], Any]] = None,
        on_open_error_callback: Optional[Callable[[Connection, Exception], object]] = None,
        on_close_callback: Optional[Callable[[Connection, Exception], object]] = None,
        internal_connection_workflow: bool = True,
    ) -> None:
        if parameters is None:
            parameters = ConnectionParameters()
        elif not isinstance(parameters, Parameters):
            raise TypeError(f'parameters must be a Parameters object, not {parameters!r}')
        require_callable('on_open_callback', on_open_callback, allow_none=True)
        require_callable('on_open_error_callback', on_open_error_callback, allow_none=True)
        require_callable('on_close_callback', on_close_callback, allow_none=True)
        self.params: Parameters = parameters
        #: every Parameters the connection may try (BaseConnection sets the whole list)
        self._all_params: list[Parameters] = [parameters]
        self.ioloop: Any = None
        self._core: Optional[ConnectionCore] = None
        #: what the channels share with this connection; ``routes`` is the channel table
        self._link = ConnectionLink(self._after_core_call)
        self._pending_events: collections.deque[events.Event] = collections.deque()
        self._redispatch_scheduled = False
        self._tick_handle: Optional[object] = None
        self._tick_deadline: Optional[float] = None
        self._deadline_changes_seen = -1  # the core's deadline_changes when last re-armed
        self._secret_callbacks: collections.deque[Optional[Callable[..., Any]]] = (
            collections.deque()
        )
        self._on_open_callbacks: list[Callable[..., Any]] = []
        self._on_open_error_callbacks: list[Callable[..., Any]] = []
        self._on_close_callbacks: list[Callable[..., Any]] = []
        self._on_blocked_callbacks: list[Callable[..., Any]] = []
        self._on_unblocked_callbacks: list[Callable[..., Any]] = []
        self._backpressure_callbacks: list[Callable[..., Any]] = []
        self._backpressure_multiplier = 10
        self._close_requested = False
        self._close_timer: Optional[object] = None
        self._finished = False
        # True while the transport is inside a read callback and flushes the output when it
        # returns (BaseConnection sets it): then queuing output need not call _output_ready.
        self._in_read = False
        self._opened = False
        self._error: Optional[BaseException] = None
        #: the reconnect loop, made at the first loss when ``params.recovery`` is set
        self._reconnector: Optional[Reconnector] = None
        if on_open_callback is not None:
            self._on_open_callbacks.append(on_open_callback)
        if on_open_error_callback is not None:
            self._on_open_error_callbacks.append(on_open_error_callback)
        if on_close_callback is not None:
            self._on_close_callbacks.append(on_close_callback)
        self._event_handlers: dict[type, Callable[[Any], None]] = {
            events.ConnectionOpened: self._on_connection_open_ok,
            events.ConnectionOpenFailed: self._on_connection_open_failed,
            events.ConnectionClosed: self._on_connection_closed,
            events.ConnectionBlocked: self._on_connection_blocked,
            events.ConnectionUnblocked: self._on_connection_unblocked,
            events.ConnectionInterrupted: self._on_connection_interrupted,
            events.ConnectionRecovered: self._on_connection_recovered,
        }

    # -- transport hooks (overridden by the adapter) -----------------------------------------

    def _output_ready(self) -> None:
        """The core has bytes to send; the transport should take them with `_take_output`."""
        raise NotImplementedError

    def _close_transport(self) -> None:
        """The connection is finished: flush what can be flushed and close the stream."""
        raise NotImplementedError

    def _now(self) -> float:
        """Monotonic seconds, the clock of every `now` passed to the core."""
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], Any]) -> object:
        """Call `callback()` once after `delay` seconds; return a handle for `remove_timeout`."""
        raise NotImplementedError

    def remove_timeout(self, timeout_id: object) -> None:
        """Cancel a timer made by `call_later`/`add_timeout`."""
        raise NotImplementedError

    def add_callback_threadsafe(self, callback: Callable[[], Any]) -> None:
        """Run `callback()` on the connection's loop thread; the only thread-safe method."""
        raise NotImplementedError

    def add_timeout(self, deadline: float, callback: Callable[[], Any]) -> object:
        """The seed's name for `call_later`: `deadline` is a delay in seconds."""
        return self.call_later(deadline, callback)

    def _drop_stream(self) -> None:
        """Recovery: the connection was lost; close the stream without finishing."""
        self._close_transport()

    def _connect_for_recovery(
        self, params: Parameters, on_failed: Callable[[BaseException], None]
    ) -> None:
        """Recovery: connect a new stream to ``params`` and hand it to the core
        (``begin_reconnect``); ``on_failed(error)`` if no stream could be made. A transport
        that cannot reconnect by itself fails every attempt (the policy then gives up)."""
        error = exceptions.AMQPConnectionError(
            f'{type(self).__name__} cannot reconnect by itself (no recovery transport)'
        )
        self.call_later(0, lambda: on_failed(error))

    def _reconnect_failed(self, error: BaseException) -> None:
        """Recovery: the handshake or replay on the attempt's new stream failed."""
        assert self._reconnector is not None
        self._reconnector.attempt_failed(error)

    def _reconnect_succeeded(self) -> None:
        """Recovery: the attempt in progress ended in ``ConnectionRecovered``."""

    def _stop_reconnecting(self) -> None:
        """Recovery: the application closes the connection; stop the attempt in progress."""

    # -- feeding the core (called by the transport) ------------------------------------------

    def _start_protocol(self, params: Parameters) -> None:
        """The stream is connected: build a core for `params` and send the protocol header."""
        self.params = params
        self._core = ConnectionCore(params, self)
        self._core.start()
        self._after_core_call()

    def _on_data_received(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Bytes arrived from the peer."""
        core = self._core
        if core is None or self._finished:
            return
        self._pending_events.extend(core.receive_data(data, self._now()))  # _process, inlined
        self._dispatch_pending()

    def _on_stream_lost(self, error: Optional[BaseException]) -> None:
        """The stream ended (EOF when `error` is None) or failed."""
        if self._core is None or self._finished:
            return
        self._process(self._core.connection_lost(error))

    def transport_received(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Transport hook: bytes arrived from the peer (for transports outside this class
        tree, e.g. the Twisted protocol)."""
        self._on_data_received(data)

    def transport_lost(self, error: Optional[BaseException]) -> None:
        """Transport hook: the stream ended (EOF when `error` is None) or failed."""
        self._on_stream_lost(error)

    def _on_connect_failed(self, error: BaseException) -> None:
        """No stream could be established (every attempt failed, or the open was aborted)."""
        if self._finished:
            return
        if not isinstance(error, exceptions.AMQPError):
            error = exceptions.AMQPConnectionError(error)
        self._process([events.ConnectionOpenFailed(error)])

    def _take_output(self) -> Union[bytes, bytearray]:
        """Drain the core's outbound bytes."""
        core = self._core
        if core is None:
            return b''
        return core.data_to_send()

    def _check_backpressure(self, unsent: int) -> None:
        """Call the backpressure callbacks when `unsent` bytes exceed multiplier x average frame."""
        core = self._core
        if not self._backpressure_callbacks or core is None or not core.frames_sent:
            return
        average = core.bytes_queued_total / core.frames_sent
        if unsent > average * self._backpressure_multiplier:
            LOGGER.warning(
                'Backpressure: %d bytes unsent (average frame %.0f bytes)', unsent, average
            )
            for callback in list(self._backpressure_callbacks):
                callback(self)

    def _on_tick(self) -> None:
        self._tick_handle = None
        self._tick_deadline = None
        if self._core is not None and not self._finished:
            self._process(self._core.tick(self._now()))

    def _after_core_call(self) -> None:
        """After anything that may have queued output or moved the core's deadline.

        Runs after every publish and every batch of events, so it looks at the core's output
        queue itself (``core.has_output()``, inlined: as a call it cost 2% of a publish,
        ``bench/offline.py --instructions publish``) and only outside a read (a read flushes
        once at its end), and re-arms the tick timer only when the core says its deadline may
        have moved earlier (``deadline_changes``).
        """
        core = self._core
        if core is None or self._finished:
            return
        output = core.output
        if not self._in_read and (output.buffer or output.parts):
            self._output_ready()
        if core.deadline_changes != self._deadline_changes_seen:
            self._reschedule_tick()

    def _reschedule_tick(self) -> None:
        core = self._core
        deadline = None
        if core is not None and not self._finished:
            self._deadline_changes_seen = core.deadline_changes
            deadline = core.next_deadline()
        if deadline == self._tick_deadline:
            return
        if self._tick_handle is not None:
            self.remove_timeout(self._tick_handle)
            self._tick_handle = None
        self._tick_deadline = deadline
        if deadline is not None:
            self._tick_handle = self.call_later(max(0.0, deadline - self._now()), self._on_tick)

    # -- dispatch ----------------------------------------------------------------------------

    def _process(self, new_events: Sequence[events.Event]) -> None:
        self._pending_events.extend(new_events)
        self._dispatch_pending()  # ends with _after_core_call (output, tick), even if re-entered

    def _dispatch_pending(self) -> None:
        """Dispatch queued events in order; a raising callback leaves the rest for later."""
        self._redispatch_scheduled = False
        link = self._link
        if link.dispatching:
            return
        link.dispatching = True
        pending = self._pending_events
        routes = link.routes
        try:
            while pending:
                event: Any = pending.popleft()
                kind = type(event)
                if kind is _MessageDelivered:  # the consume hot path: straight to the consumer
                    route = routes.get(event.channel_number)
                    if route is not None:
                        method = event.method
                        callback = route.consumers.get(method.consumer_tag or '')
                        if callback is None:
                            route.deliver(event)  # logs the drop
                        else:
                            callback(route.channel, method, event.properties, event.body)
                        continue
                elif kind is _RpcReply and event.channel_number:  # RPC round trips likewise
                    route = routes.get(event.channel_number)
                    if route is not None:
                        route.rpc_reply(event)
                        continue
                elif kind is _DeliveryConfirmed:  # and publisher confirms
                    route = routes.get(event.channel_number)
                    if route is not None:
                        route.confirm(event)
                        continue
                self._dispatch(event)
        finally:
            link.dispatching = False
            if self._pending_events and not self._redispatch_scheduled:
                self._redispatch_scheduled = True
                self.call_later(0, self._dispatch_pending)
            self._after_core_call()

    def _dispatch(self, event: events.Event) -> None:
        handler = self._event_handlers.get(type(event))
        if handler is not None:
            handler(event)
            return
        channel_number = getattr(event, 'channel_number', None)
        if channel_number == 0 and isinstance(event, events.RpcReply):
            self._on_update_secret_ok(event)
            return
        routes = self._link.routes
        route = routes.get(channel_number) if channel_number is not None else None
        if route is None:
            LOGGER.warning('Dropping %r: no such channel', event)
            return
        if isinstance(event, events.ChannelClosed):
            del routes[event.channel_number]
        route.handle(event)

    def _on_connection_open_ok(self, event: events.ConnectionOpened) -> None:
        self._opened = True
        LOGGER.info('Connection opened to %s:%s', self.params.host, self.params.port)
        for callback in list(self._on_open_callbacks):
            callback(self)

    def _on_connection_open_failed(self, event: events.ConnectionOpenFailed) -> None:
        if self._finished:
            return
        LOGGER.error('Connection could not be opened: %r', event.error)
        erase_credentials_of(self._all_params)
        self._finish(event.error)
        for callback in list(self._on_open_error_callbacks):
            callback(self, event.error)
        self._on_fully_closed()

    def _on_connection_closed(self, event: events.ConnectionClosed) -> None:
        if self._finished:
            return
        if not self._opened:
            self._on_connection_open_failed(events.ConnectionOpenFailed(event.error))
            return
        LOGGER.info('Connection closed: %r', event.error)
        self._finish(event.error)
        routes = self._link.routes
        for number, route in list(routes.items()):
            route.handle(events.ChannelClosed(number, event.error))
        routes.clear()
        for callback in list(self._on_close_callbacks):
            callback(self, event.error)
        self._on_fully_closed()

    def _finish(self, error: BaseException) -> None:
        self._finished = True
        self._error = error
        if self._close_timer is not None:
            self.remove_timeout(self._close_timer)
            self._close_timer = None
        if self._tick_handle is not None:
            self.remove_timeout(self._tick_handle)
            self._tick_handle = None
            self._tick_deadline = None
        self._close_transport()

    def _on_fully_closed(self) -> None:
        """Hook run after the close (or open-error) callbacks; `SelectConnection` stops here."""

    # -- recovery (``params.recovery`` set; the core never emits these otherwise) ---------------

    def _on_connection_interrupted(self, event: events.ConnectionInterrupted) -> None:
        """The core kept the connection and its channels for a recovery: drop the stream,
        let the channels forget replies that will never come, and reconnect."""
        self._drop_stream()
        for route in list(self._link.routes.values()):
            route.handle(event)
        reconnector = self._reconnector
        if reconnector is None:
            assert self._core is not None and self._core.recovery is not None
            reconnector = self._reconnector = Reconnector(
                self,
                self._core.recovery,
                self._all_params,
                clock=self._now,
                call_later=self.call_later,
                remove_timeout=self.remove_timeout,
                connect=self._connect_for_recovery,
                give_up=self._give_up_recovery,
            )
        if reconnector.connecting:
            self._reconnect_failed(event.error)
        else:
            reconnector.interrupted(event.error, self.params)

    def _on_connection_recovered(self, event: events.ConnectionRecovered) -> None:
        self.params = event.params
        self._reconnect_succeeded()
        if self._reconnector is not None:
            self._reconnector.recovered(event.params, event.renamed)

    def _give_up_recovery(self, cause: BaseException) -> None:
        """The policy gave up (its ``on_given_up`` hook ran): close for good with ``cause``."""
        core = self._core
        if core is None or self._finished:
            return
        error = cause if isinstance(cause, exceptions.AMQPError) else exceptions.AMQPError(cause)
        self._fail_unconfirmed(error)
        self._process(core.give_up(error))

    def _fail_unconfirmed(self, cause: BaseException) -> None:
        """Recovery ends without a connection: each confirm-mode publish still awaiting its
        confirm is reported once, as a ``Basic.Nack`` of its sequence number to the
        channel's confirmation callback (the broker may or may not have it), and logged as
        `PublishOutcomeUnknown`."""
        core = self._core
        if core is None:
            return
        routes = self._link.routes
        for number, channel_core in list(core.channels.items()):
            record = channel_core.record
            route = routes.get(number)
            if record is None or route is None:
                continue
            dropped = record.drop_publishes()
            if not dropped:
                continue
            LOGGER.warning(
                '%r',
                exceptions.PublishOutcomeUnknown(
                    f'channel {number}: {len(dropped)} publish(es) unconfirmed when recovery '
                    f'ended ({cause!r}); reported as Basic.Nack'
                ),
            )
            for entry in dropped:
                nack = spec.Basic.Nack(delivery_tag=entry.sequence, multiple=False, requeue=False)
                route.confirm(events.DeliveryConfirmed(number, nack))

    def _on_connection_blocked(self, event: events.ConnectionBlocked) -> None:
        method_frame = frame.Method(0, event.method)
        for callback in list(self._on_blocked_callbacks):
            callback(self, method_frame)

    def _on_connection_unblocked(self, event: events.ConnectionUnblocked) -> None:
        method_frame = frame.Method(0, event.method)
        for callback in list(self._on_unblocked_callbacks):
            callback(self, method_frame)

    def _on_update_secret_ok(self, event: events.RpcReply) -> None:
        callback = self._secret_callbacks.popleft() if self._secret_callbacks else None
        if callback is not None:
            callback(frame.Method(0, event.method))

    # -- public API --------------------------------------------------------------------------

    def add_on_open_callback(self: _C, callback: Callable[[_C], object]) -> None:
        """Call `callback(connection)` when the connection has opened."""
        require_callable('callback', callback)
        self._on_open_callbacks.append(callback)

    def add_on_open_error_callback(
        self: _C, callback: Callable[[_C, Exception], object], remove_default: bool = True
    ) -> None:
        """Call `callback(connection, exception)` when the connection could not be opened."""
        require_callable('callback', callback)
        self._on_open_error_callbacks.append(callback)

    def add_on_close_callback(self: _C, callback: Callable[[_C, Exception], object]) -> None:
        """Call `callback(connection, exception)` when an open connection has closed."""
        require_callable('callback', callback)
        self._on_close_callbacks.append(callback)

    def add_on_connection_blocked_callback(self, callback: Callable[..., Any]) -> None:
        """Call `callback(connection, method_frame)` on Connection.Blocked (resource alarm)."""
        require_callable('callback', callback)
        self._on_blocked_callbacks.append(callback)

    def add_on_connection_unblocked_callback(self, callback: Callable[..., Any]) -> None:
        """Call `callback(connection, method_frame)` on Connection.Unblocked."""
        require_callable('callback', callback)
        self._on_unblocked_callbacks.append(callback)

    def add_backpressure_callback(self: _C, callback: Callable[[_C], object]) -> None:
        """Call `callback(connection)` when the unsent output exceeds the backpressure
        multiplier times the average size of the frames sent so far (the seed's rule)."""
        require_callable('callback', callback)
        self._backpressure_callbacks.append(callback)

    def set_backpressure_multiplier(self, value: int = 10) -> None:
        """Set the multiplier of the backpressure rule (default 10).

        :raises TypeError: if `value` is not an int; ValueError: if it is not > 0.
        """
        require_int('value', value, minimum=1)
        self._backpressure_multiplier = value

    def channel(
        self,
        channel_number: Union[int, Callable[[Channel], Any], None] = None,
        on_open_callback: Union[Callable[[Channel], Any], int, None] = None,
    ) -> Channel:
        """Open a channel and return it; `on_open_callback(channel)` runs once it is open.

        The seed's form `channel(on_open_callback)` (a callable first) is accepted too.

        :raises ConnectionWrongStateError: if the connection is not open.
        """
        if callable(channel_number):  # the seed's form: channel(on_open_callback[, number])
            channel_number, on_open_callback = on_open_callback, channel_number
        if channel_number is not None:
            require_int('channel_number', channel_number, minimum=1, maximum=65535)
        require_callable('on_open_callback', on_open_callback, allow_none=True)
        number = cast('Optional[int]', channel_number)
        on_open = cast('Optional[Callable[[Channel], Any]]', on_open_callback)
        if not self.is_open:
            raise exceptions.ConnectionWrongStateError(
                f'Channel allocation requires an open connection: {self!r}'
            )
        assert self._core is not None
        channel_core = self._core.open_channel(number)
        channel = Channel(self, channel_core, self._link, on_open)  # adds its route to the link
        self._after_core_call()
        return channel

    def close(self, reply_code: int = 200, reply_text: str = 'Normal shutdown') -> None:
        """Close the connection: cancel consumers, close channels, then Connection.Close.

        Closing a connection that is still opening aborts it (the open-error callbacks get
        `ConnectionOpenAborted`).

        :raises ConnectionWrongStateError: if it is already closing or closed.
        """
        require_int('reply_code', reply_code, minimum=0, maximum=65535)
        require_str('reply_text', reply_text)
        if self.is_closing or self.is_closed:
            raise exceptions.ConnectionWrongStateError(
                f'Illegal close({reply_code}, {reply_text!r}) request on {self!r}'
            )
        self._close_requested = True
        reconnector = self._reconnector
        if reconnector is not None and reconnector.active:
            LOGGER.info('Connection close requested while recovering: recovery stops')
            reconnector.stop()
            self._stop_reconnecting()
            assert self._core is not None
            self._fail_unconfirmed(exceptions.ConnectionClosedByClient(reply_code, reply_text))
            self._process(self._core.close(reply_code, reply_text) or [])
            return
        if not self.is_open:
            LOGGER.info('Connection close requested while opening: aborting')
            self._abort_opening()
            return
        assert self._core is not None
        LOGGER.info('Closing connection (%s): %r', reply_code, reply_text)
        self._process(self._core.close(reply_code, reply_text) or [])
        if not self._finished:
            bound = self.params.stack_timeout or CLOSE_TIMEOUT_DEFAULT
            self._close_timer = self.call_later(
                bound, lambda: self._on_close_timeout(reply_code, reply_text)
            )

    def _on_close_timeout(self, reply_code: int, reply_text: str) -> None:
        """The broker did not finish the close handshake in time: drop the stream.

        A frozen or vanished broker must not keep `close()` (and a loop waiting for it)
        pending forever; the close callbacks still get `ConnectionClosedByClient`.
        """
        self._close_timer = None
        if self._finished or self._core is None:
            return
        LOGGER.warning('Broker did not answer the close handshake in time; dropping the stream')
        self._core.connection_lost(None)
        self._on_connection_closed(
            events.ConnectionClosed(exceptions.ConnectionClosedByClient(reply_code, reply_text))
        )

    def _abort_opening(self) -> None:
        """Abort an open in progress (the open-error callbacks get `ConnectionOpenAborted`).

        Transports override this to stop a socket-level connect first.
        """
        if self._core is not None and not self._core.is_closed:
            self._process(self._core.close() or [])
        else:
            self._on_connect_failed(exceptions.ConnectionOpenAborted('close() while connecting'))

    def update_secret(
        self, new_secret: str, reason: str, callback: Optional[Callable[..., Any]] = None
    ) -> None:
        """Send Connection.UpdateSecret; `callback(method_frame)` gets the UpdateSecretOk."""
        require_str('new_secret', new_secret)
        require_str('reason', reason)
        require_callable('callback', callback, allow_none=True)
        if not self.is_open:
            raise exceptions.ConnectionWrongStateError('update_secret requires an open connection')
        assert self._core is not None
        self._core.update_secret(new_secret, reason)
        self._secret_callbacks.append(callback)
        self._after_core_call()

    # -- state and capabilities --------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """True once Connection.OpenOk arrived and until closing starts."""
        return self._core is not None and not self._finished and self._core.is_open

    @property
    def is_closing(self) -> bool:
        """True while a close is in progress."""
        return self._core is not None and not self._finished and self._core.is_closing

    @property
    def is_closed(self) -> bool:
        """True once the connection has finished (closed, failed to open, or aborted)."""
        return self._finished or (self._core is not None and self._core.is_closed)

    @property
    def connection_state(self) -> int:
        """Where the connection is, as one of pika 1.x's `CONNECTION_*` values: `INIT` until
        the stream is up, then `PROTOCOL` (header sent), `START` (Connection.StartOk sent),
        `TUNE` (Connection.TuneOk and Open sent), `OPEN`, `CLOSING` and `CLOSED`."""
        if self._finished:
            return self.CONNECTION_CLOSED
        if self._core is None:
            return self.CONNECTION_INIT
        return self._CORE_STATES[self._core.state]

    @property
    def server_properties(self) -> dict[str, Any]:
        """The broker's Connection.Start server properties (empty before the handshake)."""
        if self._core is None:
            return {}
        return self._core.server_properties or {}

    @property
    def server_capabilities(self) -> dict[str, Any]:
        """The `capabilities` table of the broker's server properties (empty before the
        handshake)."""
        return self.server_properties.get('capabilities') or {}

    def _capability(self, name: str) -> bool:
        return bool(self.server_capabilities.get(name, False))

    @property
    def basic_nack(self) -> bool:
        """The broker supports Basic.Nack."""
        return self._capability('basic.nack')

    @property
    def consumer_cancel_notify(self) -> bool:
        """The broker sends Basic.Cancel when it cancels a consumer."""
        return self._capability('consumer_cancel_notify')

    @property
    def exchange_exchange_bindings(self) -> bool:
        """The broker supports Exchange.Bind/Unbind."""
        return self._capability('exchange_exchange_bindings')

    @property
    def publisher_confirms(self) -> bool:
        """The broker supports Confirm.Select."""
        return self._capability('publisher_confirms')

    def __repr__(self) -> str:
        if self.is_closed:
            state = 'CLOSED'
        elif self.is_open:
            state = 'OPEN'
        elif self.is_closing:
            state = 'CLOSING'
        else:
            state = 'OPENING'
        host = getattr(self.params, 'host', '?')
        port = getattr(self.params, 'port', '?')
        return f'<{type(self).__name__} {state} params={host}:{port}>'
