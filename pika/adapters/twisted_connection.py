"""`TwistedProtocolConnection`: pika on Twisted, with Deferreds.

Twisted owns the socket, so there is no `IOServices` here: the protocol feeds received bytes
(`dataReceived`) into the transport-agnostic callback `Connection` and writes what it produces to
`self.transport`; timers are `reactor.callLater`. That is all this module does. The Deferred API
(`ready`, `channel()`, `TwistedChannel`, `ClosableDeferredQueue`) lives in `_twisted_channel` and
is re-exported here.

Usage::

    # fragment: inside an inlineCallbacks generator (docs/adapters.md has the whole program)
    creator = ClientCreator(reactor, TwistedProtocolConnection, params)
    protocol = yield creator.connectTCP(host, port)   # or connectSSL / an endpoint for TLS
    yield protocol.ready
    channel = yield protocol.channel()
    yield channel.queue_declare(queue='q')
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from twisted.internet import interfaces, protocol
from twisted.internet.error import ConnectionDone
from zope.interface import implementer  # type: ignore[import-untyped]

from pika import exceptions
from pika.adapters._io import transport as _transport
from pika.adapters._io.backlog import PAUSED_READ_INTERVAL, Backlog
from pika.adapters._twisted_channel import (
    ClosableDeferredQueue,
    DeferredConnectionAPI,
    ReceivedMessage,
    TwistedChannel,
)
from pika.connection import Connection, parameters_list
from pika.exchange_type import ExchangeType as ExchangeType  # importable here, as in pika 1.x

if TYPE_CHECKING:
    from collections.abc import Sequence

    from twisted.python.failure import Failure

    from pika._parameters import Parameters

__all__ = [
    'ClosableDeferredQueue',
    'ReceivedMessage',
    'TwistedChannel',
    'TwistedProtocolConnection',
]

LOGGER = logging.getLogger(__name__)


def _default_reactor() -> Any:
    from twisted.internet import reactor

    return reactor


class _DeliveryFlow:
    """Stops the transport reading while the consumers' queue objects hold too much.

    `basic_consume` hands each message to a queue object the application drains at its own
    pace (`queue_object.get()`); those queues report here what they hold. At the backlog's high
    mark the transport stops reading (`pauseProducing`: TCP then makes the broker wait), at the
    low mark it reads again. While paused, one read is let through every
    `PAUSED_READ_INTERVAL` (Twisted reads at most 64 KiB at a time), so the broker still counts
    as alive and its writes progress (`pika.adapters._io.backlog.PAUSED_READ_SIZE`); the next
    queued delivery pauses again.
    """

    def __init__(self, connection: _TwistedConnection, high: int, low: int) -> None:
        self._connection = connection
        self.backlog = Backlog(high, low)
        self.reading_paused = False
        self._timer: Optional[object] = None  # the next read let through while paused

    def delivery_queued(self, nbytes: int) -> None:
        """A queue object now holds ``nbytes`` more."""
        backlog = self.backlog
        backlog.add(nbytes)
        if backlog.paused and not self.reading_paused:
            transport = self._connection.transport
            if transport is not None:
                self.reading_paused = True
                transport.pauseProducing()
                if self._timer is None:
                    self._timer = self._connection.call_later(
                        PAUSED_READ_INTERVAL, self._let_one_read
                    )

    def delivery_taken(self, nbytes: int) -> None:
        """The application took (or a closed queue dropped) ``nbytes``."""
        if self.backlog.remove(nbytes):
            self.resume()

    def _let_one_read(self) -> None:
        self._timer = None
        self.resume()

    def resume(self) -> None:
        """Let the transport read again (if it was paused here)."""
        if self._timer is not None:
            self._connection.remove_timeout(self._timer)
            self._timer = None
        if self.reading_paused:
            self.reading_paused = False
            transport = self._connection.transport
            if transport is not None:
                transport.resumeProducing()


@implementer(interfaces.IPushProducer)
class _TwistedConnection(Connection):
    """The callback `Connection` whose stream is a Twisted transport and whose timers are the
    reactor's.

    It registers itself as the transport's streaming producer only to learn when the
    transport's write buffer is full (`pauseProducing`) and drained again (`resumeProducing`).
    Twisted buffers every write without sending it synchronously, so the bytes written from
    the pause on are all still unsent: that count (a lower bound) drives the backpressure
    callbacks.
    """

    def __init__(
        self, parameters: Union[Parameters, Sequence[Parameters], None], reactor: Any
    ) -> None:
        hosts = parameters_list(parameters)
        super().__init__(hosts[0])
        #: a recovery may reconnect to any of them (Twisted connected the first stream)
        self._all_params = hosts
        self.ioloop = reactor
        self.transport: Any = None
        self._stack_timer: Any = None
        self._unsent_since_pause: Optional[int] = None  # None: the transport is not full
        params = self.params
        #: what the consumers' queue objects hold, and whether reading is paused for it
        self.delivery_flow = _DeliveryFlow(
            self, params.delivery_backlog_high, params.delivery_backlog_low
        )

    def _now(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], Any]) -> object:
        """Call `callback()` once after `delay` seconds (`reactor.callLater`)."""
        return self.ioloop.callLater(delay, callback)

    def remove_timeout(self, timeout_id: object) -> None:
        """Cancel a delayed call (idempotent)."""
        if timeout_id.active():  # type: ignore[attr-defined]
            timeout_id.cancel()  # type: ignore[attr-defined]

    def add_callback_threadsafe(self, callback: Callable[[], Any]) -> None:
        """Run `callback()` in the reactor thread (`reactor.callFromThread`)."""
        if not callable(callback):
            raise TypeError(f'callback must be callable, not {type(callback).__name__}')
        self.ioloop.callFromThread(callback)

    def connection_made(self, transport: Any) -> None:
        """The TCP (or TLS) stream is up: start AMQP, bounded by `stack_timeout`."""
        if self.is_closed:  # close() aborted the open before the stream came up
            transport.loseConnection()
            return
        self.transport = transport
        transport.registerProducer(self, True)
        if self.params.stack_timeout:
            self._stack_timer = self.call_later(self.params.stack_timeout, self._on_stack_timeout)
        self._start_protocol(self.params)

    # -- recovery (only with ``params.recovery``; see pika._reconnect) --------------------------

    def _connect_for_recovery(
        self, params: Parameters, on_failed: Callable[[BaseException], None]
    ) -> None:
        """One reconnect attempt: `reactor.connectTCP` to ``params`` with a stream protocol
        of our own that feeds this same connection (Twisted's TLS is the application's
        business, so a TLS node cannot be reconnected here: that attempt fails)."""
        if params.ssl_options is not None:
            error = exceptions.AMQPConnectionError(
                'the Twisted adapter reconnects over plain TCP only (ssl_options is set)'
            )
            self.call_later(0, lambda: on_failed(error))
            return
        self.ioloop.connectTCP(
            params.host,
            params.port,
            _RecoveryFactory(self, params, on_failed),
            params.socket_timeout or 30,
        )

    def attach_reconnected(self, transport: Any, params: Parameters) -> None:
        """The attempt's TCP stream is up: the same core starts over on it."""
        assert self._core is not None
        self.params = params
        self.transport = transport
        transport.registerProducer(self, True)
        if params.stack_timeout:
            self._stack_timer = self.call_later(params.stack_timeout, self._on_stack_timeout)
        self._core.begin_reconnect(params)
        self._after_core_call()

    def _reconnect_succeeded(self) -> None:
        self._cancel_stack_timer()

    def recovery_stream_lost(self, transport: Any, error: BaseException) -> None:
        """A transport went away: only the current one's loss concerns the connection (the
        stream dropped at an interruption reports its end after the next one took over)."""
        if transport is not self.transport:
            return
        self.transport = None
        self._on_stream_lost(error)

    def _on_stack_timeout(self) -> None:
        self._stack_timer = None
        self._on_stream_lost(
            _transport.SocketConnectTimeout(f'not open after {self.params.stack_timeout} s')
        )

    def _cancel_stack_timer(self) -> None:
        if self._stack_timer is not None:
            self.remove_timeout(self._stack_timer)
            self._stack_timer = None

    def _on_connection_open_ok(self, event: Any) -> None:
        self._cancel_stack_timer()
        super()._on_connection_open_ok(event)

    def _output_ready(self) -> None:
        if self.transport is None:
            return
        data = bytes(self._take_output())
        self.transport.write(data)  # may call pauseProducing() before it returns
        if self._unsent_since_pause is not None:
            self._unsent_since_pause += len(data)
            self._check_backpressure(self._unsent_since_pause)

    def pauseProducing(self) -> None:
        """Twisted: the transport's write buffer is over its limit."""
        if self._unsent_since_pause is None:
            self._unsent_since_pause = 0

    def resumeProducing(self) -> None:
        """Twisted: the transport has written out its whole buffer."""
        self._unsent_since_pause = None

    def stopProducing(self) -> None:
        """Twisted: the transport is going away (`connectionLost` reports it)."""
        self._unsent_since_pause = None

    def _close_transport(self) -> None:
        self._cancel_stack_timer()
        transport, self.transport = self.transport, None
        if transport is not None:
            pending = self._take_output()
            if pending:
                transport.write(bytes(pending))
            transport.unregisterProducer()  # a registered producer would hold the close
            transport.loseConnection()


class TwistedProtocolConnection(DeferredConnectionAPI, protocol.Protocol):
    """An AMQP connection as a Twisted `Protocol`, with pika 1.x's Deferred API.

    `ready` fires with this protocol once the connection is open (errback if it cannot open);
    from then on `closed` is a Deferred that fires with the close reason (an exception).

    :param parameters: connection parameters (host and port are the caller's business: connect
        this protocol with `connectTCP`/`connectSSL` or an endpoint), or a list of them, the
        node the protocol is connected to first: with ``recovery=`` a reconnect may go to any
        of them (a cluster's nodes), over plain TCP
    :param custom_reactor: the reactor to use (default: the global one)
    """

    _impl: _TwistedConnection

    def __init__(
        self,
        parameters: Union[Parameters, Sequence[Parameters], None] = None,
        custom_reactor: Any = None,
    ):
        reactor = custom_reactor if custom_reactor is not None else _default_reactor()
        super().__init__(_TwistedConnection(parameters, reactor))

    def connectionMade(self) -> None:
        """Twisted: the stream is connected; the AMQP handshake starts."""
        self._impl.connection_made(self.transport)

    def dataReceived(self, data: bytes) -> None:
        """Twisted: bytes arrived."""
        self._impl.transport_received(data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        """Twisted: the stream is gone; unless we closed it, that is a `StreamLostError`."""
        impl = self._impl
        if impl.transport is not None and impl.transport is not self.transport:
            return  # a stream of a recovery replaced ours: its loss is not ours
        impl.transport = None
        error = reason.value if reason is not None else ConnectionDone()
        impl.transport_lost(exceptions.StreamLostError(f'Transport lost: {error!r}'))


class _RecoveryStream(protocol.Protocol):
    """The stream of one reconnect attempt: feeds the application's connection."""

    def __init__(self, connection: _TwistedConnection, params: Parameters) -> None:
        self._connection = connection
        self._params = params

    def connectionMade(self) -> None:
        """Twisted: connected; the core starts its handshake on this stream."""
        connection = self._connection
        transport: Any = self.transport
        if not connection.is_closed:
            connection.attach_reconnected(transport, self._params)
        else:
            transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        """Twisted: bytes arrived."""
        if self._connection.transport is self.transport:
            self._connection.transport_received(data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        """Twisted: the stream is gone."""
        error = reason.value if reason is not None else ConnectionDone()
        self._connection.recovery_stream_lost(
            self.transport, exceptions.StreamLostError(f'Transport lost: {error!r}')
        )


class _RecoveryFactory(protocol.ClientFactory):
    """`reactor.connectTCP`'s factory for one reconnect attempt."""

    def __init__(
        self,
        connection: _TwistedConnection,
        params: Parameters,
        on_failed: Callable[[BaseException], None],
    ) -> None:
        self._connection = connection
        self._params = params
        self._on_failed = on_failed

    def buildProtocol(self, addr: Any) -> _RecoveryStream:
        """Twisted: the protocol of the new stream."""
        return _RecoveryStream(self._connection, self._params)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        """Twisted: the TCP connect failed."""
        self._on_failed(exceptions.AMQPConnectionError(f'connect failed: {reason.value!r}'))
