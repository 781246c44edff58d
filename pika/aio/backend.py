"""The small I/O interface `pika.aio` runs on, and its asyncio implementation.

`pika.aio` has one implementation of connections, channels, publishing and consuming, written
against three small protocols (docs/aio.md, "Backends"):

- :class:`Backend`: the event loop's clock, sleep, one-shot waiters, "call soon", background
  tasks, and opening a byte stream to the broker;
- :class:`Transport`: what the connection writes to (asyncio's own transport satisfies it);
- :class:`Sink`: what the backend calls with what the network did (the connection).

A backend for another loop (trio) implements :class:`Backend` and hands the connection a
:class:`Transport`; nothing else of `pika.aio` changes. :class:`AsyncioBackend` is the default,
and runs on uvloop too.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Union

from pika.adapters._io import transport as _transport

if TYPE_CHECKING:
    from collections.abc import Coroutine, Generator

    from pika._parameters import Parameters

__all__ = [
    'WRITE_HIGH_WATER',
    'WRITE_LOW_WATER',
    'AsyncioBackend',
    'Backend',
    'Sink',
    'TaskHandle',
    'Transport',
    'Waiter',
    'running_backend',
]

#: Bytes a transport may hold unsent before it tells the connection to pause writing; a
#: publish without confirms awaits only above this mark (flow control).
WRITE_HIGH_WATER = 1 << 20
#: Bytes below which a paused transport tells the connection to resume writing.
WRITE_LOW_WATER = 256 * 1024

BytesLike = Union[bytes, bytearray, memoryview]


class Waiter(Protocol):
    """A one-shot result an awaiting task suspends on (asyncio: a ``Future``).

    ``done()`` must be True once a result or exception is set, and also once the task awaiting
    it was cancelled: the connection then discards what arrives for it.
    """

    def done(self) -> bool:
        """True once settled or abandoned."""

    def set_result(self, result: Any, /) -> None:
        """Wake the awaiting task with ``result``."""

    def set_exception(self, exception: Union[type[BaseException], BaseException], /) -> None:
        """Wake the awaiting task with ``exception`` raised."""

    def __await__(self) -> Generator[Any, None, Any]:
        """Suspend until settled; return the result or raise the exception."""


class TaskHandle(Protocol):
    """A background task started by :meth:`Backend.spawn`."""

    def cancel(self) -> Any:
        """Stop the task (idempotent)."""


class Transport(Protocol):
    """A connected byte stream the connection writes to; asyncio's transports satisfy it.

    ``write`` never blocks: what cannot be sent now is buffered, and the backend calls
    :meth:`Sink.pause_writing` once more than :data:`WRITE_HIGH_WATER` bytes are buffered, then
    :meth:`Sink.resume_writing` once below :data:`WRITE_LOW_WATER`.
    """

    def write(self, data: BytesLike, /) -> None:
        """Send ``data`` (buffering what the socket does not take now)."""

    def get_write_buffer_size(self) -> int:
        """Bytes written but not yet sent."""

    def close(self) -> None:
        """Send what is buffered, then close; :meth:`Sink.connection_lost` follows. Nothing
        more is received once this is called."""

    def abort(self) -> None:
        """Close at once, dropping what is buffered; :meth:`Sink.connection_lost` follows."""

    # Optional (asyncio's transports have them): ``pause_reading()`` and ``resume_reading()``.
    # With them, consumers slower than the broker keep at most ``delivery_backlog_high`` bytes
    # buffered; a transport without them is never paused.


class Sink(Protocol):
    """What a backend tells the connection about its stream (asyncio's Protocol callbacks)."""

    def data_received(self, data: bytes) -> None:
        """Bytes arrived from the broker."""

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        """The stream ended (``None``: closed cleanly by either side)."""

    def pause_writing(self) -> None:
        """The transport's buffer rose above the high-water mark."""

    def resume_writing(self) -> None:
        """The transport's buffer fell below the low-water mark."""


class Backend(Protocol):
    """The event-loop services `pika.aio` needs; one instance per connection."""

    def now(self) -> float:
        """Monotonic seconds (the clock the core's heartbeats are measured on)."""

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds``."""

    def create_waiter(self) -> Waiter:
        """A new unsettled :class:`Waiter`."""

    def call_soon(self, callback: Callable[[], None]) -> None:
        """Run ``callback()`` on the loop after the current step (coalesces writes)."""

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> TaskHandle:
        """Run ``coroutine`` in the background until it returns or is cancelled."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> TaskHandle:
        """Run ``callback()`` on the loop after ``delay`` seconds unless cancelled first."""

    async def open_transport(
        self, params: Parameters, sink: Sink, timeout: Optional[float]
    ) -> Transport:
        """Connect TCP (and TLS with ``params.ssl_options``) to ``params.host:port``, with
        ``params.tcp_options`` applied, within ``timeout`` seconds; deliver to ``sink``.

        :raises AMQPConnectionError: a subclass saying what failed (resolve, connect, TLS,
            time-out)
        """


def running_backend() -> Backend:
    """The backend of the async library running the caller: asyncio (uvloop included) when a
    loop runs, else trio inside ``trio.run`` (the ``pika[trio]`` extra). No dependency is
    needed to tell them apart: trio is only looked at once something imported it.

    :raises RuntimeError: neither asyncio nor trio is running
    """
    try:
        return AsyncioBackend(asyncio.get_running_loop())
    except RuntimeError:
        pass
    if 'trio' in sys.modules:
        from pika.aio import trio_backend

        if trio_backend.trio_running():
            return trio_backend.TrioBackend()
    raise RuntimeError('pika.aio needs a running asyncio event loop or trio.run')


class _StreamProtocol(asyncio.Protocol):
    """Forwards asyncio's protocol callbacks to the connection (the :class:`Sink`)."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        # the sink's own method, called by the transport without this one around it: set
        # before the transport exists, because uvloop looks the method up once, when it
        # attaches the protocol (before connection_made)
        self.data_received = sink.data_received  # type: ignore[method-assign]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.WriteTransport):
            transport.set_write_buffer_limits(high=WRITE_HIGH_WATER, low=WRITE_LOW_WATER)

    def data_received(self, data: bytes) -> None:  # replaced by the sink's in __init__
        self._sink.data_received(data)

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost(None) follows

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._sink.connection_lost(exc)

    def pause_writing(self) -> None:
        self._sink.pause_writing()

    def resume_writing(self) -> None:
        self._sink.resume_writing()


class AsyncioBackend:
    """:class:`Backend` on the running asyncio loop (uvloop included)."""

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
        self.loop: asyncio.AbstractEventLoop = (
            loop if loop is not None else asyncio.get_running_loop()
        )
        loop = self.loop
        self.now = loop.time  # type: ignore[method-assign]
        self.create_waiter = loop.create_future  # type: ignore[method-assign]
        self.call_soon = loop.call_soon  # type: ignore[method-assign,assignment]
        # asyncio's own loops (not uvloop's, whose methods are C already): the same clock and
        # the same futures without the Python method around each (every RPC reads the clock
        # and creates a future; bench/NOTES.md "pika.aio RPC")
        loop_type = type(loop)
        if loop_type.time is asyncio.BaseEventLoop.time:
            self.now = time.monotonic  # type: ignore[method-assign]
        if loop_type.create_future is asyncio.BaseEventLoop.create_future:
            self.create_waiter = functools.partial(asyncio.Future, loop=loop)  # type: ignore[method-assign]

    def now(self) -> float:  # replaced by the loop's bound method in __init__
        return self.loop.time()

    def create_waiter(self) -> Waiter:  # replaced by the loop's bound method in __init__
        return self.loop.create_future()

    def call_soon(self, callback: Callable[[], None]) -> None:  # replaced in __init__
        self.loop.call_soon(callback)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> TaskHandle:
        return self.loop.create_task(coroutine)

    def call_later(self, delay: float, callback: Callable[[], None]) -> TaskHandle:
        return self.loop.call_later(delay, callback)

    async def open_transport(
        self, params: Parameters, sink: Sink, timeout: Optional[float]
    ) -> Transport:
        where = f'{params.host}:{params.port}'
        tls = params.ssl_options
        context = None if tls is None else tls.context
        hostname = None if tls is None else (tls.server_hostname or params.host)
        connecting = self.loop.create_connection(
            lambda: _StreamProtocol(sink),
            params.host,
            params.port,
            ssl=context,
            server_hostname=hostname,
        )
        try:
            transport, _ = await asyncio.wait_for(connecting, timeout)
        except asyncio.TimeoutError:
            raise _transport.SocketConnectTimeout(f'TCP connection to {where} timed out') from None
        except socket.gaierror as error:
            raise _transport.AddressResolutionError(f'cannot resolve {where}: {error}') from error
        except (ssl.SSLError, ssl.CertificateError) as error:
            raise _transport.TLSHandshakeError(
                f'TLS handshake with {where} failed: {error}'
            ) from error
        except ConnectionRefusedError as error:
            raise _transport.SocketConnectError(f'TCP connection to {where} refused') from error
        except OSError as error:
            if context is not None:  # reset or closed by a peer that does not speak TLS
                raise _transport.TLSHandshakeError(
                    f'TLS handshake with {where} failed: {error!r}'
                ) from error
            raise _transport.SocketConnectError(
                f'TCP connection to {where} failed: {error}'
            ) from error
        sock = transport.get_extra_info('socket')
        if sock is not None and params.tcp_options:
            _transport.apply_socket_options(sock, params.tcp_options)
        return transport
