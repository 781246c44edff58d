"""pika 1.x's connection workflow (`create_connection`) on every callback adapter that has it.

Against the real broker on 127.0.0.1:5672 and local sockets that misbehave on purpose: a closed
port, a listener whose accept queue is full (the TCP connect never completes), a server that
accepts and never answers (the AMQP handshake never completes) and one that accepts and hangs
up at once (counts the attempts). What `on_done` receives was compared with pika 1.4.4 running
the same scenarios (see docs/adapters.md for the deliberate differences).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

import pytest

import pika
from pika import exceptions
from pika.adapters._io import transport as _transport
from pika.adapters.utils import connection_workflow as cw
from tests.helpers.loop_drivers import (
    AsyncioDriver,
    AsyncoreDriver,
    Driver,
    GeventDriver,
    SelectDriver,
    TornadoDriver,
)
from tests.helpers.private_broker import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.broker

BROKER = ('127.0.0.1', 5672)


def _select() -> tuple[Driver, Any, Any]:
    from pika.adapters.select_connection import SelectConnection, available_poller_types

    driver = SelectDriver(available_poller_types()[-1])  # the platform's best (epoll here)
    return driver, SelectConnection, driver.loop


def _asyncore() -> tuple[Driver, Any, Any]:
    from pika.adapters.asyncore_connection import AsyncoreConnection

    driver = AsyncoreDriver()
    return driver, AsyncoreConnection, driver.loop


def _asyncio() -> tuple[Driver, Any, Any]:
    from pika.adapters.asyncio_connection import AsyncioConnection

    driver = AsyncioDriver()
    return driver, AsyncioConnection, driver.loop


def _tornado() -> tuple[Driver, Any, Any]:
    from pika.adapters.tornado_connection import TornadoConnection

    driver = TornadoDriver()
    return driver, TornadoConnection, driver.loop


def _gevent() -> tuple[Driver, Any, Any]:
    from pika.adapters.gevent_connection import GeventConnection

    return GeventDriver(), GeventConnection, None  # None: the hub's loop


ADAPTERS: dict[str, Callable[[], tuple[Driver, Any, Any]]] = {
    'select': _select,
    'asyncore': _asyncore,
    'asyncio': _asyncio,
    'tornado': _tornado,
    'gevent': _gevent,
}


class Run:
    """One adapter: its class, its loop, and what `on_done` received."""

    def __init__(self, driver: Driver, cls: Any, loop: Any) -> None:
        self.driver = driver
        self.cls = cls
        self.loop = loop
        self.results: list[Any] = []

    def on_done(self, result: Any) -> None:
        self.results.append(result)

    def create(self, configs: list[Any], cls: Any = None, **kwargs: Any) -> Any:
        return (cls or self.cls).create_connection(
            configs, self.on_done, custom_ioloop=self.loop, **kwargs
        )

    def result(self, timeout: float = 10.0) -> Any:
        self.driver.run_until(lambda: bool(self.results), timeout=timeout)
        return self.results[0]

    def close(self, connection: Any) -> None:
        closed: list[Any] = []
        connection.add_on_close_callback(lambda _c, error: closed.append(error))
        connection.close()
        self.driver.run_until(lambda: bool(closed))


@pytest.fixture(params=sorted(ADAPTERS))
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    driver, cls, loop = ADAPTERS[request.param]()
    try:
        yield Run(driver, cls, loop)
    finally:
        driver.stop()


def params(port: int = BROKER[1], **kwargs: Any) -> pika.ConnectionParameters:
    kwargs.setdefault('connection_attempts', 1)
    return pika.ConnectionParameters(host='127.0.0.1', port=port, **kwargs)


# -- local peers that misbehave ------------------------------------------------------------


@pytest.fixture
def unanswered_connect() -> Iterator[int]:
    """A port whose TCP connects never complete: a listener with backlog 0 whose accept queue
    is already full (the kernel drops further SYNs)."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(('127.0.0.1', port))
        fillers.append(filler)
    time.sleep(0.1)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        server.close()


class Server:
    """A local TCP server: accepts, then hangs up at once (``hang_up``) or stays silent."""

    def __init__(self, hang_up: bool) -> None:
        self.sock = socket.create_server(('127.0.0.1', 0), backlog=16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[float] = []
        self.peers: list[socket.socket] = []
        self._hang_up = hang_up
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self._running:
            try:
                peer, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted.append(time.monotonic())
            if self._hang_up:
                peer.close()
            else:
                self.peers.append(peer)

    def peer_closed(self, index: int = 0) -> bool:
        """Whether the client closed the ``index``-th accepted connection (EOF after its
        protocol header)."""
        peer = self.peers[index]
        peer.settimeout(2.0)
        try:
            while peer.recv(4096):
                pass  # the protocol header
        except socket.timeout:
            return False  # still open
        except OSError:
            return True  # reset
        return True  # EOF

    def close(self) -> None:
        self._running = False
        self._thread.join()
        for peer in self.peers:
            peer.close()
        self.sock.close()


@pytest.fixture
def silent_server() -> Iterator[Server]:
    server = Server(hang_up=False)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def hang_up_server() -> Iterator[Server]:
    server = Server(hang_up=True)
    try:
        yield server
    finally:
        server.close()


# -- outcomes ------------------------------------------------------------------------------


def test_first_config_fails_and_the_second_opens(run: Run) -> None:
    workflow = run.create([params(free_port()), params()])
    assert isinstance(workflow, cw.AMQPConnectionWorkflow)
    connection = run.result()
    assert isinstance(connection, run.cls)
    assert connection.is_open
    assert connection.params.port == BROKER[1]
    run.close(connection)


def test_subclass_gets_an_instance_of_the_subclass(run: Run) -> None:
    subclass = type('MyConnection', (run.cls,), {})
    run.create([params()], cls=subclass)
    connection = run.result()
    assert type(connection) is subclass
    run.close(connection)


def test_retries_with_delays_then_fails_with_every_attempt(
    run: Run, hang_up_server: Server
) -> None:
    started = time.monotonic()
    run.create([params(hang_up_server.port, connection_attempts=3, retry_delay=0.3)])
    result = run.result()
    assert isinstance(result, cw.AMQPConnectionWorkflowFailed)
    assert len(result.exceptions) == 3
    assert len(hang_up_server.accepted) == 3
    gaps = [b - a for a, b in zip(hang_up_server.accepted, hang_up_server.accepted[1:])]
    assert all(gap >= 0.25 for gap in gaps), gaps
    assert time.monotonic() - started >= 0.55
    for error in result.exceptions:
        assert isinstance(error, cw.AMQPConnectorAMQPHandshakeError)
        assert isinstance(error.exception, exceptions.IncompatibleProtocolError)


def test_refused_attempts_are_socket_connect_errors(run: Run) -> None:
    run.create([params(free_port(), connection_attempts=2, retry_delay=0.1)])
    result = run.result()
    assert isinstance(result, cw.AMQPConnectionWorkflowFailed)
    assert [type(error) for error in result.exceptions] == [cw.AMQPConnectorSocketConnectError] * 2
    assert isinstance(result.exceptions[0].exception, _transport.SocketConnectError)
    assert 'refused' in str(result.exceptions[0].exception)
    assert repr(result).startswith('AMQPConnectionWorkflowFailed: 2 exceptions in all; ')


def test_the_failure_is_an_amqp_connection_error(run: Run) -> None:
    run.create([params(free_port())])
    result = run.result()
    with pytest.raises(exceptions.AMQPConnectionError) as caught:
        raise result
    assert caught.value is result
    assert all(isinstance(e, exceptions.AMQPConnectionError) for e in result.exceptions)


def test_refused_login_is_retried_then_reported(run: Run) -> None:
    bad = pika.PlainCredentials('guest', 'not-the-password')
    run.create([params(credentials=bad, connection_attempts=2, retry_delay=0.1)])
    result = run.result()
    assert isinstance(result, cw.AMQPConnectionWorkflowFailed)
    assert len(result.exceptions) == 2
    for error in result.exceptions:
        assert isinstance(error, cw.AMQPConnectorAMQPHandshakeError)
        assert isinstance(error.exception, exceptions.ProbableAuthenticationError)


def test_stack_timeout_bounds_the_amqp_handshake(run: Run, silent_server: Server) -> None:
    started = time.monotonic()
    run.create([params(silent_server.port, stack_timeout=0.5)])
    result = run.result()
    assert 0.45 <= time.monotonic() - started < 5
    (error,) = result.exceptions
    assert isinstance(error, cw.AMQPConnectorAMQPHandshakeError)
    assert isinstance(error.exception, cw.AMQPConnectorStackTimeout)
    assert silent_server.peer_closed()


def test_socket_timeout_bounds_the_tcp_connect(run: Run, unanswered_connect: int) -> None:
    started = time.monotonic()
    run.create([params(unanswered_connect, socket_timeout=0.5)])
    result = run.result()
    assert 0.45 <= time.monotonic() - started < 5
    (error,) = result.exceptions
    assert isinstance(error, cw.AMQPConnectorSocketConnectError)
    assert isinstance(error.exception, _transport.SocketConnectTimeout)


# -- tiny timeouts -------------------------------------------------------------------------


@pytest.mark.parametrize('which', ['socket_timeout', 'stack_timeout'])
def test_a_tiny_timeout_fails_and_never_connects(run: Run, which: str) -> None:
    for _ in range(10):  # deterministic, not a race won most of the time
        run.results.clear()
        run.create([params(**{which: 1e-19})])
        result = run.result()
        assert isinstance(result, cw.AMQPConnectionWorkflowFailed), result
        (error,) = result.exceptions
        assert isinstance(error, cw.AMQPConnectorSocketConnectError)
        expected = (
            _transport.SocketConnectTimeout
            if which == 'socket_timeout'
            else cw.AMQPConnectorStackTimeout
        )
        assert isinstance(error.exception, expected)
        assert isinstance(error.exception, exceptions.AMQPConnectionError)


@pytest.mark.parametrize('which', ['socket_timeout', 'stack_timeout'])
def test_constructor_with_a_tiny_timeout_reports_an_open_error(run: Run, which: str) -> None:
    outcome: list[Any] = []
    kwargs: dict[str, Any] = {} if run.loop is None else {'custom_ioloop': run.loop}
    run.cls(
        params(**{which: 1e-19}),
        on_open_callback=lambda conn: outcome.append(conn),
        on_open_error_callback=lambda _conn, error: outcome.append(error),
        **kwargs,
    )
    run.driver.run_until(lambda: bool(outcome))
    assert isinstance(outcome[0], exceptions.AMQPConnectionError), outcome
    assert 'timeout' in repr(outcome[0]).lower() or 'timed out' in str(outcome[0])


# -- abort -------------------------------------------------------------------------------


def test_abort_before_start_is_a_wrong_state() -> None:
    with pytest.raises(cw.AMQPConnectorWrongState):
        cw.AMQPConnectionWorkflow().abort()


def test_abort_right_after_create(run: Run) -> None:
    workflow = run.create([params()])
    workflow.abort()
    assert run.results == []  # reported from the loop, not inside abort()
    assert isinstance(run.result(), cw.AMQPConnectionWorkflowAborted)
    run.driver.run_for(0.3)  # a late connect does not revive it
    assert len(run.results) == 1


def test_abort_during_the_tcp_connect(run: Run, unanswered_connect: int) -> None:
    workflow = run.create([params(unanswered_connect, socket_timeout=30)])
    run.driver.run_for(0.3)
    assert run.results == []
    started = time.monotonic()
    workflow.abort()
    assert isinstance(run.result(), cw.AMQPConnectionWorkflowAborted)
    assert time.monotonic() - started < 2
    run.driver.run_for(0.2)
    assert len(run.results) == 1


def test_abort_during_the_amqp_handshake(run: Run, silent_server: Server) -> None:
    workflow = run.create([params(silent_server.port, stack_timeout=30)])
    run.driver.run_until(lambda: bool(silent_server.peers))
    run.driver.run_for(0.1)
    assert run.results == []
    workflow.abort()
    result = run.result(timeout=2)
    assert isinstance(result, cw.AMQPConnectionWorkflowAborted)
    assert isinstance(result, exceptions.AMQPConnectionError)
    assert silent_server.peer_closed()  # the attempt's socket was closed
    run.driver.run_for(0.2)
    assert len(run.results) == 1


def test_abort_during_the_retry_delay(run: Run) -> None:
    workflow = run.create([params(free_port(), connection_attempts=3, retry_delay=5)])
    run.driver.run_for(0.3)
    started = time.monotonic()
    workflow.abort()
    assert isinstance(run.result(), cw.AMQPConnectionWorkflowAborted)
    assert time.monotonic() - started < 2


def test_abort_after_done_is_a_wrong_state(run: Run) -> None:
    workflow = run.create([params()])
    connection = run.result()
    with pytest.raises(cw.AMQPConnectorWrongState):
        workflow.abort()
    assert connection.is_open
    run.close(connection)


def test_a_given_workflow_is_used_and_returned(run: Run) -> None:
    workflow = cw.AMQPConnectionWorkflow()
    assert run.create([params()], workflow=workflow) is workflow
    connection = run.result()
    assert connection.is_open
    with pytest.raises(cw.AMQPConnectorWrongState):
        workflow.start([params()], lambda: None, None, lambda _r: None)
    run.close(connection)


def test_until_first_amqp_attempt_stops_at_a_refused_login(run: Run) -> None:
    bad = pika.PlainCredentials('guest', 'not-the-password')
    workflow = cw.AMQPConnectionWorkflow(_until_first_amqp_attempt=True)
    run.create(
        [params(free_port()), params(credentials=bad, connection_attempts=3, retry_delay=0.1)],
        workflow=workflow,
    )
    result = run.result()
    assert [type(e) for e in result.exceptions] == [
        cw.AMQPConnectorSocketConnectError,
        cw.AMQPConnectorAMQPHandshakeError,
    ]


@pytest.mark.parametrize('outcome', ['open', 'open_error'])
def test_a_raising_user_callback_does_not_break_the_constructors_workflow(outcome: str) -> None:
    """The user's callbacks run before the workflow's own: if one raises, the workflow learns
    the outcome at `stack_timeout` and must not act on the finished connection then."""
    from pika.adapters.select_connection import IOLoop, SelectConnection

    class UserError(Exception):
        pass

    def raiser(*_args: Any) -> None:
        raise UserError

    credentials = pika.PlainCredentials('guest', 'guest' if outcome == 'open' else 'wrong')
    loop = IOLoop()
    try:
        connection = SelectConnection(
            params(credentials=credentials, stack_timeout=0.5),
            on_open_callback=raiser if outcome == 'open' else None,
            on_open_error_callback=raiser if outcome == 'open_error' else None,
            custom_ioloop=loop,
        )
        guard = loop.call_later(5, loop.stop)
        with pytest.raises(UserError):
            loop.start()
        loop.remove_timeout(guard)
        loop.call_later(1.0, loop.stop)  # past stack_timeout: nothing else may raise
        loop.start()
        assert connection.is_open is (outcome == 'open')
        if outcome == 'open':
            connection.close()
            loop.call_later(5, loop.stop)
            loop.start()
            assert connection.is_closed
    finally:
        loop.close()
