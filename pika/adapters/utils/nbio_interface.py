"""The non-blocking I/O interfaces of pika 1.x, for people who write their own adapter.

These abstract classes name what a connection adapter needs from an event loop: timers, a
thread-safe wake-up, name resolution, socket connection, a byte-stream transport
(`AbstractIOServices`) and, for loops built on file-descriptor readiness, reader and writer
callbacks (`AbstractFileDescriptorServices`). Their names and signatures are pika 1.x's.

How they meet our design: `BaseConnection` pumps its own socket and needs only timers, the
thread-safe wake-up and reader/writer callbacks (the narrow protocol of
`pika.adapters._io.services`). An object implementing both classes here (for example
`pika.adapters.utils.selector_ioloop_adapter.SelectorIOServicesAdapter` around a loop of
your own) can be passed to `BaseConnection` as its `nbio`; the name resolution, socket
connection and stream methods are then available to your code but not used by the pump.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

if TYPE_CHECKING:
    import socket
    import ssl

__all__ = [
    'AbstractFileDescriptorServices',
    'AbstractIOReference',
    'AbstractIOServices',
    'AbstractStreamProtocol',
    'AbstractStreamTransport',
    'AbstractTimerReference',
]


class AbstractIOReference(abc.ABC):
    """A handle on an asynchronous operation in progress (resolution, connect, stream setup)."""

    @abc.abstractmethod
    def cancel(self) -> bool:
        """Stop the operation if it has not finished; its completion callback is then never
        called. Returns True if it was stopped, False if it had already finished or stopped."""


class AbstractTimerReference(abc.ABC):
    """A handle on a timer made by `AbstractIOServices.call_later`."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Cancel the timer; a no-op once it fired or was cancelled."""


class AbstractStreamProtocol(abc.ABC):
    """The receiving side of a byte stream: what a transport tells as the stream progresses."""

    @abc.abstractmethod
    def connection_made(self, transport: AbstractStreamTransport) -> None:
        """The stream is set up; `transport` is how to write to it and abort it."""

    @abc.abstractmethod
    def connection_lost(self, error: Optional[BaseException]) -> None:
        """The stream is finished: `error` is None after an orderly end or `abort()`."""

    @abc.abstractmethod
    def eof_received(self) -> Optional[bool]:
        """The peer ended its side of the stream; `connection_lost` follows."""

    @abc.abstractmethod
    def data_received(self, data: bytes) -> None:
        """`data` arrived on the stream."""


class AbstractStreamTransport(abc.ABC):
    """The sending side of a byte stream set up by `create_streaming_connection`."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Close the stream at once, dropping unsent data; the protocol's `connection_lost`
        is then called with None (asynchronously)."""

    @abc.abstractmethod
    def get_protocol(self) -> AbstractStreamProtocol:
        """The protocol this transport reports to."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Queue `data` for sending, without blocking."""

    @abc.abstractmethod
    def get_write_buffer_size(self) -> int:
        """How many written bytes are still waiting to be sent."""


class AbstractIOServices(abc.ABC):
    """The event-loop services a pika 1.x connection adapter is built on.

    Every method runs on the loop's thread, except `add_callback_threadsafe`.
    """

    @abc.abstractmethod
    def get_native_ioloop(self) -> Any:
        """The loop object these services wrap (exposed as `connection.ioloop`)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the loop's resources; the services cannot be used afterwards."""

    @abc.abstractmethod
    def run(self) -> None:
        """Run the loop until `stop()` is called."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Make `run()` return once the current iteration ends."""

    @abc.abstractmethod
    def add_callback_threadsafe(self, callback: Callable[..., None]) -> None:
        """Run `callback()` on the loop's thread soon; safe to call from any thread."""

    @abc.abstractmethod
    def call_later(self, delay: float, callback: Callable[..., None]) -> AbstractTimerReference:
        """Run `callback()` once, `delay` seconds from now; return a reference to cancel it."""

    @abc.abstractmethod
    def getaddrinfo(
        self,
        host: str,
        port: int,
        on_done: Callable[..., None],
        family: int = 0,
        socktype: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> AbstractIOReference:
        """Resolve `host`/`port` as `socket.getaddrinfo` does, without blocking the loop;
        `on_done` gets the list of address records, or the exception."""

    @abc.abstractmethod
    def connect_socket(
        self,
        sock: socket.socket,
        resolved_addr: Any,
        on_done: Callable[[Optional[BaseException]], None],
    ) -> AbstractIOReference:
        """Connect the non-blocking `sock` to `resolved_addr`; `on_done` gets None on
        success, else the exception."""

    @abc.abstractmethod
    def create_streaming_connection(
        self,
        protocol_factory: Callable[[], AbstractStreamProtocol],
        sock: socket.socket,
        on_done: Callable[
            [Union[BaseException, tuple[AbstractStreamTransport, AbstractStreamProtocol]]], None
        ],
        ssl_context: Optional[ssl.SSLContext] = None,
        server_hostname: Optional[str] = None,
    ) -> AbstractIOReference:
        """Set up a byte stream over the connected `sock` (a TLS one when `ssl_context` is
        given); `on_done` gets `(transport, protocol)`, or the exception."""


class AbstractFileDescriptorServices(abc.ABC):
    """Readiness callbacks on file descriptors, for loops built on select/poll/epoll/kqueue."""

    @abc.abstractmethod
    def set_reader(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Call `on_readable()` whenever `fd` is readable (replacing any previous reader)."""

    @abc.abstractmethod
    def remove_reader(self, fd: int) -> bool:
        """Stop watching `fd` for readability; True if a reader was set."""

    @abc.abstractmethod
    def set_writer(self, fd: int, on_writable: Callable[[], None]) -> None:
        """Call `on_writable()` whenever `fd` is writable (replacing any previous writer)."""

    @abc.abstractmethod
    def remove_writer(self, fd: int) -> bool:
        """Stop watching `fd` for writability; True if a writer was set."""
