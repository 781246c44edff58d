"""`TwistedProtocolConnection`: pika on Twisted, with Deferreds.

Twisted owns the socket, so there is no `IOServices` here: the protocol feeds received bytes
(`dataReceived`) into the transport-agnostic callback `Connection` and writes what it produces to
`self.transport`; timers are `reactor.callLater`. That is all this module does, but for a
recovery's reconnect (`reactor.connectTCP` of its own), which runs the TLS of ``ssl_options``
itself over the TCP stream (`pika.adapters._io.memory_tls`). The Deferred API
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
from pika._reconnect import describe
from pika.adapters._io import transport as _transport
from pika.adapters._io.backlog import PAUSED_READ_INTERVAL, Backlog
from pika.adapters._io.memory_tls import MemoryTLS
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

#: Seconds a reconnect's TCP connect (and TLS handshake) may take when ``socket_timeout`` is unset.
_CONNECT_TIMEOUT = 30


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
        self._recovery_connector: Any = None  # the reconnect attempt's (connectTCP's result)
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
        params = self.params
        if (
            params.recovery is not None
            and params.ssl_options is None
            and interfaces.ISSLTransport.providedBy(transport)
        ):
            LOGGER.warning(
                'Connected over TLS but the parameters have no ssl_options: a recovery '
                'reconnects to %s over plain TCP',
                describe(params),
            )
        transport.registerProducer(self, True)
        if self.params.stack_timeout:
            self._stack_timer = self.call_later(self.params.stack_timeout, self._on_stack_timeout)
        self._start_protocol(self.params)

    # -- recovery (only with ``params.recovery``; see pika._reconnect) --------------------------

    def _connect_for_recovery(
        self, params: Parameters, on_failed: Callable[[BaseException], None]
    ) -> None:
        """One reconnect attempt: `reactor.connectTCP` to ``params`` with a stream protocol
        of our own that feeds this same connection; with ``params.ssl_options`` that stream
        runs the TLS itself (`_RecoveryStream`)."""
        self._recovery_connector = self.ioloop.connectTCP(
            params.host,
            params.port,
            _RecoveryFactory(self, params, on_failed),
            params.socket_timeout or _CONNECT_TIMEOUT,
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
        self._recovery_connector = None
        self._cancel_stack_timer()

    def _stop_reconnecting(self) -> None:
        """The application closes while recovering: stop the attempt's TCP connect, or drop
        its stream (a TLS handshake in progress would otherwise run to its timeout)."""
        connector, self._recovery_connector = self._recovery_connector, None
        if connector is not None:
            connector.disconnect()

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


class _TLSTransport:
    """What the connection writes to on a reconnected TLS stream: the plaintext goes through
    `MemoryTLS`, its records to the TCP transport. Flow control (producer registration,
    pausing reads) is the TCP transport's."""

    def __init__(self, transport: Any, tls: MemoryTLS) -> None:
        self._transport = transport
        #: the session (`_RecoveryStream` drives its handshake through this same object)
        self.tls = tls

    def write(self, data: bytes) -> None:
        """Encrypt ``data`` and write the records (a TLS failure drops the TCP stream, whose
        loss the connection then hears of)."""
        try:
            self.tls.send(data)
        except exceptions.StreamLostError as error:
            LOGGER.warning('%s; dropping the stream', error)
            self._transport.loseConnection()
            return
        self.flush()

    def flush(self) -> None:
        """Write what the TLS session has for the peer (records, alerts, close_notify)."""
        records = self.tls.data_to_send()
        if records:
            self._transport.write(records)

    def loseConnection(self) -> None:
        """Send our close_notify, then close the TCP stream once its buffer is written."""
        self.tls.close()
        self.flush()
        self._transport.loseConnection()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Twisted: the connection learns of the TCP write buffer's pauses."""
        self._transport.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        """Twisted: see `registerProducer`."""
        self._transport.unregisterProducer()

    def pauseProducing(self) -> None:
        """Stop reading the TCP stream (the consumers' backlog is full)."""
        self._transport.pauseProducing()

    def resumeProducing(self) -> None:
        """Read the TCP stream again."""
        self._transport.resumeProducing()


class _RecoveryStream(protocol.Protocol):
    """The stream of one reconnect attempt: feeds the application's connection.

    With ``params.ssl_options`` it first runs the TLS handshake over the TCP stream
    (`MemoryTLS`, bounded by ``socket_timeout``) and hands the connection a `_TLSTransport`
    once it is done; a handshake that fails (certificate, name, protocol, timeout, the peer
    hanging up) fails the attempt with a `TLSHandshakeError`/`SocketConnectTimeout`, as the
    other adapters' connect does.
    """

    def __init__(
        self,
        connection: _TwistedConnection,
        params: Parameters,
        on_failed: Callable[[BaseException], None],
    ) -> None:
        self._connection = connection
        self._params = params
        self._on_failed: Optional[Callable[[BaseException], None]] = on_failed
        self._stream: Any = None  # what the connection writes to, once attached
        #: with ssl_options: the TLS session over the TCP stream, from its first record
        self._tls: Optional[_TLSTransport] = None
        self._tls_timer: Optional[object] = None
        self._error: Optional[BaseException] = None  # why we closed an attached stream

    def connectionMade(self) -> None:
        """Twisted: connected; TLS (if configured), then the core's handshake on this stream."""
        transport: Any = self.transport
        if self._connection.is_closed:
            transport.loseConnection()
            return
        options = self._params.ssl_options
        if options is None:
            self._attach(transport)
            return
        where = describe(self._params)
        tls = MemoryTLS(options.context, _transport.tls_server_name(self._params), where)
        self._tls = _TLSTransport(transport, tls)
        try:
            tls.start()
        except exceptions.AMQPConnectionError as error:
            self._fail(error)
            return
        self._tls.flush()
        timeout = self._params.socket_timeout or _CONNECT_TIMEOUT
        self._tls_timer = self._connection.call_later(timeout, self._on_tls_timeout)

    def dataReceived(self, data: bytes) -> None:
        """Twisted: bytes arrived."""
        if self._tls is not None:
            data = self._decrypt(self._tls, data)
        if data and self._stream is not None and self._connection.transport is self._stream:
            self._connection.transport_received(data)

    def _decrypt(self, secure: _TLSTransport, data: bytes) -> bytes:
        """Feed the TLS session; attach when its handshake completes; the plaintext."""
        tls = secure.tls
        handshaking = not tls.handshake_done
        try:
            plaintext = tls.receive(data)
        except exceptions.AMQPConnectionError as error:  # TLSHandshakeError, StreamLostError
            if handshaking:
                self._fail(error)
            else:
                self._error = error
                secure.loseConnection()  # our close_notify, then the TCP stream
            return b''
        secure.flush()
        if handshaking and tls.handshake_done:
            self._cancel_tls_timer()
            if self._connection.is_closed:
                secure.loseConnection()
                return b''
            self._attach(secure)
        if tls.peer_closed:
            transport: Any = self.transport
            transport.loseConnection()
        return plaintext

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        """Twisted: the stream is gone (before the TLS handshake finished: the attempt failed)."""
        self._cancel_tls_timer()
        cause = reason.value if reason is not None else ConnectionDone()
        if self._stream is None:
            if self._tls is not None:
                where = describe(self._params)
                self._report(
                    _transport.TLSHandshakeError(
                        f'TLS handshake with {where} failed: the peer closed ({cause!r})'
                    )
                )
            return
        error = self._error or exceptions.StreamLostError(f'Transport lost: {cause!r}')
        self._connection.recovery_stream_lost(self._stream, error)

    def _attach(self, stream: Any) -> None:
        self._stream = stream
        self._on_failed = None  # from now on, the core reports how the attempt ends
        self._connection.attach_reconnected(stream, self._params)

    def _on_tls_timeout(self) -> None:
        self._tls_timer = None
        timeout = self._params.socket_timeout or _CONNECT_TIMEOUT
        self._fail(
            _transport.SocketConnectTimeout(
                f'TLS handshake with {describe(self._params)} timed out after {timeout} s'
            )
        )

    def _fail(self, error: BaseException) -> None:
        """The attempt failed before the connection took the stream: tell the peer, close."""
        self._cancel_tls_timer()
        self._report(error)
        transport: Any = self.transport
        if self._tls is not None:
            self._tls.flush()  # the alert that says why
        transport.loseConnection()

    def _report(self, error: BaseException) -> None:
        on_failed, self._on_failed = self._on_failed, None
        if on_failed is not None:
            on_failed(error)

    def _cancel_tls_timer(self) -> None:
        timer, self._tls_timer = self._tls_timer, None
        if timer is not None:
            self._connection.remove_timeout(timer)


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
        return _RecoveryStream(self._connection, self._params, self._on_failed)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        """Twisted: the TCP connect failed."""
        self._on_failed(exceptions.AMQPConnectionError(f'connect failed: {reason.value!r}'))
