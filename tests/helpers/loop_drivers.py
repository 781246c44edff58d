"""Adapter drivers: one small object per event loop, so each scenario runs on every adapter.

A driver knows three things about its loop: how to build a connection on it
(`make_connection`), how to run it until something happened (`run_until`), and how to release it
(`stop`). Scenarios only use the callback `Connection`/`Channel` API on what `make_connection`
returns. For Twisted that is the callback core under `TwistedProtocolConnection` (its Deferred
API is tested separately), connected by a `ClientFactory` shim.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika import exceptions
from pika.adapters import select_connection
from tests.helpers.tls_certs import SERVER_NAME

if TYPE_CHECKING:
    from pika._parameters import Parameters
    from tests.helpers.tls_certs import TlsFiles

Callback = Optional[Callable[..., Any]]


class Driver:
    """Run pika connections on one event loop."""

    name = 'base'

    def make_connection(
        self, params: Parameters, on_open: Callback, on_open_error: Callback, on_close: Callback
    ) -> Any:
        """Build (and start connecting) a connection on this driver's loop."""
        raise NotImplementedError

    def run_for(self, seconds: float) -> None:
        """Run the loop for about `seconds` (it may return earlier)."""
        raise NotImplementedError

    def io_services(self) -> Any:
        """The adapter's `IOServices` on this loop (None for Twisted, which has none)."""
        return None

    def run_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Run the loop until `predicate()` is true.

        :raises AssertionError: if it is still false after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f'{self.name}: condition not met within {timeout} s')
            self.run_for(0.02)

    def stop(self) -> None:
        """Release the loop (the driver is not used afterwards)."""


class SelectDriver(Driver):
    """`SelectConnection` on its own `IOLoop` with a forced poller."""

    def __init__(self, poller: str) -> None:
        self.name = f'select-{poller}'
        saved = select_connection.POLLER_TYPE
        select_connection.POLLER_TYPE = poller
        try:
            self.loop = select_connection.IOLoop()
        finally:
            select_connection.POLLER_TYPE = saved
        assert self.loop.poller_type == poller

    def make_connection(
        self, params: Parameters, on_open: Callback, on_open_error: Callback, on_close: Callback
    ) -> Any:
        return select_connection.SelectConnection(
            params, on_open, on_open_error, on_close, custom_ioloop=self.loop
        )

    def io_services(self) -> Any:
        return self.loop

    def run_for(self, seconds: float) -> None:
        handle = self.loop.call_later(seconds, self.loop.stop)
        try:
            self.loop.start()
        finally:
            self.loop.remove_timeout(handle)

    def stop(self) -> None:
        self.loop.close()


class SelectorAdapterDriver(SelectDriver):
    """A `BaseConnection` subclass on an `IOLoop` wrapped by pika 1.x's
    `SelectorIOServicesAdapter`: the path of an adapter written for a loop of one's own."""

    def __init__(self) -> None:
        from pika.adapters.utils.selector_ioloop_adapter import SelectorIOServicesAdapter

        super().__init__(select_connection.available_poller_types()[0])
        self.name = 'selector-adapter'
        self.services = SelectorIOServicesAdapter(self.loop)

    def make_connection(
        self, params: Parameters, on_open: Callback, on_open_error: Callback, on_close: Callback
    ) -> Any:
        from pika.adapters.base_connection import BaseConnection

        return BaseConnection(params, on_open, on_open_error, on_close, self.services)

    def io_services(self) -> Any:
        return self.services


class AsyncoreDriver(SelectDriver):
    """`AsyncoreConnection` on an `AsyncoreIOLoop` with a private socket map."""

    def __init__(self) -> None:
        from pika.adapters.asyncore_connection import AsyncoreIOLoop

        self.name = 'asyncore'
        self.loop = AsyncoreIOLoop(socket_map={})

    def make_connection(
        self, params: Parameters, on_open: Callback, on_open_error: Callback, on_close: Callback
    ) -> Any:
        from pika.adapters.asyncore_connection import AsyncoreConnection

        loop: Any = self.loop  # an AsyncoreIOLoop (set in __init__)
        return AsyncoreConnection(params, on_open, on_open_error, on_close, custom_ioloop=loop)


class AsyncioDriver(Driver):
    """`AsyncioConnection` on a fresh asyncio (or uvloop) event loop."""

    def __init__(self, use_uvloop: bool = False) -> None:
        if use_uvloop:
            import uvloop

            self.name = 'asyncio-uvloop'
            self.loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        else:
            self.name = 'asyncio'
            self.loop = asyncio.new_event_loop()

    def make_connection(
        self, params: Parameters, on_open: Callback, on_open_error: Callback, on_close: Callback
    ) -> Any:
        from pika.adapters.asyncio_connection import AsyncioConnection

        return AsyncioConnection(params, on_open, on_open_error, on_close, custom_ioloop=self.loop)

    def io_services(self) -> Any:
        from pika.adapters.asyncio_connection import AsyncioServices

        return AsyncioServices(self.loop)

    def run_for(self, seconds: float) -> None:
        self.loop.run_until_complete(asyncio.sleep(seconds))

    def stop(self) -> None:
        self.loop.close()


class TornadoDriver(Driver):
    """`TornadoConnection` on a fresh Tornado IOLoop."""

    name = 'tornado'

    def __init__(self) -> None:
        from tornado.ioloop import IOLoop

        self._asyncio_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._asyncio_loop)
        self.loop = IOLoop.current()

    def make_connection(
        self, params: Parameters, on_open: Callback, on_open_error: Callback, on_close: Callback
    ) -> Any:
        from pika.adapters.tornado_connection import TornadoConnection

        return TornadoConnection(params, on_open, on_open_error, on_close, custom_ioloop=self.loop)

    def io_services(self) -> Any:
        from pika.adapters.tornado_connection import TornadoServices

        return TornadoServices(self.loop)

    def run_for(self, seconds: float) -> None:
        self.loop.call_later(seconds, self.loop.stop)
        self.loop.start()

    def stop(self) -> None:
        self.loop.close(all_fds=False)
        asyncio.set_event_loop(None)


class GeventDriver(Driver):
    """`GeventConnection` on the main thread's gevent hub."""

    name = 'gevent'

    def make_connection(
        self, params: Parameters, on_open: Callback, on_open_error: Callback, on_close: Callback
    ) -> Any:
        from pika.adapters.gevent_connection import GeventConnection

        return GeventConnection(params, on_open, on_open_error, on_close)

    def io_services(self) -> Any:
        from pika.adapters.gevent_connection import GeventServices

        return GeventServices()

    def run_for(self, seconds: float) -> None:
        import gevent

        gevent.sleep(seconds)


class TwistedDriver(Driver):
    """`TwistedProtocolConnection`'s callback core, connected by `reactor.connectTCP` (or
    `reactor.connectSSL` with ``tls_options``: the first connect's TLS is the caller's, the
    adapter reads ``ssl_options`` only to reconnect) and run with `reactor.iterate` (the global
    reactor cannot be restarted once stopped)."""

    name = 'twisted'

    def __init__(self, tls_options: Any = None) -> None:
        from twisted.internet import reactor

        self.reactor: Any = reactor
        self.tls_options = tls_options
        self._connectors: list[Any] = []

    def make_connection(
        self, params: Parameters, on_open: Callback, on_open_error: Callback, on_close: Callback
    ) -> Any:
        from twisted.internet import protocol

        from pika.adapters.twisted_connection import TwistedProtocolConnection

        proto = TwistedProtocolConnection(params, custom_reactor=self.reactor)
        assert proto.ready is not None
        proto.ready.addErrback(lambda _failure: None)  # failures reach on_open_error below
        impl = proto._impl
        for register, callback in (
            (impl.add_on_open_callback, on_open),
            (impl.add_on_open_error_callback, on_open_error),
            (impl.add_on_close_callback, on_close),
        ):
            if callback is not None:
                register(callback)

        class Factory(protocol.ClientFactory):
            def buildProtocol(self, addr: Any) -> Any:
                return proto

            def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
                impl._on_connect_failed(exceptions.AMQPConnectionError(repr(reason.value)))

        timeout = params.socket_timeout or 30
        if self.tls_options is None:
            connector = self.reactor.connectTCP(params.host, params.port, Factory(), timeout)
        else:
            connector = self.reactor.connectSSL(
                params.host, params.port, Factory(), self.tls_options, timeout
            )
        self._connectors.append(connector)
        return impl

    def run_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.reactor.iterate(min(remaining, 0.01))

    def stop(self) -> None:
        for connector in self._connectors:
            connector.disconnect()
        self.run_for(0.05)


def open_connection(driver: Driver, params: Any) -> tuple[Any, list[BaseException]]:
    """A connection made on ``driver``'s loop and run until open; also the list its close
    (or open-error) callbacks append their error to.

    :raises AssertionError: when it did not open within 20 s
    """
    opened: list[Any] = []
    closed: list[BaseException] = []
    conn = driver.make_connection(
        params,
        opened.append,
        lambda _c, error: closed.append(error),
        lambda _c, error: closed.append(error),
    )
    driver.run_until(lambda: bool(opened) or bool(closed), timeout=20)
    assert opened, closed
    return conn, closed


def open_channel(driver: Driver, conn: Any) -> Any:
    """A new channel of ``conn``, run until open (15 s at most)."""
    box: list[Any] = []
    conn.channel(on_open_callback=box.append)
    driver.run_until(lambda: bool(box), timeout=15)
    return box[0]


def driver_factories() -> dict[str, Callable[[], Driver]]:
    """Every adapter this machine can run, by id: each select poller, then the other loops."""
    factories: dict[str, Callable[[], Driver]] = {}
    for poller in select_connection.available_poller_types():
        factories[f'select-{poller}'] = lambda poller=poller: SelectDriver(poller)  # type: ignore[misc]
    factories['selector-adapter'] = SelectorAdapterDriver
    factories['tornado'] = TornadoDriver
    factories['asyncore'] = AsyncoreDriver
    factories['asyncio'] = AsyncioDriver
    factories['asyncio-uvloop'] = lambda: AsyncioDriver(use_uvloop=True)
    factories['gevent'] = GeventDriver
    factories['twisted'] = TwistedDriver
    return factories


#: The adapters that recover automatically (issue 15) and have a driver here, in test order.
_RECOVERING = ('select-select', 'asyncio', 'tornado', 'asyncore', 'gevent', 'twisted')


def recovering_adapters() -> list[str]:
    """The ids of :func:`driver_factories` whose adapter recovers (``recovery=``)."""
    factories = driver_factories()
    return [name for name in _RECOVERING if name in factories]


def twisted_tls_driver(files: TlsFiles, server_name: str = SERVER_NAME) -> TwistedDriver:
    """A Twisted driver connecting with TLS that trusts the test CA and checks the name."""
    from twisted.internet import ssl as twisted_ssl

    authority = twisted_ssl.Certificate.loadPEM(files.ca_cert.read_bytes())
    return TwistedDriver(twisted_ssl.optionsForClientTLS(server_name, trustRoot=authority))
