"""Names pika 1.x programs import, with pika 1.4.4's values and behaviour (read from the
reference): connection and channel state constants, `Channel.open`/`is_opening`/
`add_callback`/`flow_active`, `IOLoop.activate_poller`/`deactivate_poller`, and the small public
modules `pika.validators`, `pika.tcp_socket_opts` and `pika.diagnostic_utils`. No broker."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest

import pika
from pika import exceptions, frame, spec
from pika.adapters.select_connection import IOLoop
from pika.channel import Channel
from pika.connection import Connection
from tests.helpers import server_frames as sf
from tests.helpers.loopback import LoopbackConnection, open_channel


def test_connection_state_constants_are_pika_1x() -> None:
    public = [name for name in dir(Connection) if name.isupper() and not name.startswith('_')]
    assert {name: getattr(Connection, name) for name in public} == {
        'CONNECTION_CLOSED': 0,
        'CONNECTION_INIT': 1,
        'CONNECTION_PROTOCOL': 2,
        'CONNECTION_START': 3,
        'CONNECTION_TUNE': 4,
        'CONNECTION_OPEN': 5,
        'CONNECTION_CLOSING': 6,
        'ON_CONNECTION_CLOSED': '_on_connection_closed',
        'ON_CONNECTION_ERROR': '_on_connection_error',
        'ON_CONNECTION_OPEN_OK': '_on_connection_open_ok',
    }


def test_connection_state_follows_the_handshake_and_close() -> None:
    conn = LoopbackConnection()
    assert conn.connection_state == Connection.CONNECTION_INIT  # no stream yet
    assert conn.server_capabilities == {}
    conn._start_protocol(conn.params)
    assert conn.connection_state == Connection.CONNECTION_PROTOCOL
    conn._on_data_received(sf.start())
    assert conn.connection_state == Connection.CONNECTION_START
    conn._on_data_received(sf.tune(heartbeat=0))
    assert conn.connection_state == Connection.CONNECTION_TUNE
    conn._on_data_received(sf.open_ok())
    assert conn.connection_state == Connection.CONNECTION_OPEN
    assert conn.server_capabilities == conn.server_properties['capabilities']
    assert conn.server_capabilities['publisher_confirms'] is True
    conn.close()
    assert conn.connection_state == Connection.CONNECTION_CLOSING
    conn._on_data_received(sf.connection_close_ok())
    assert conn.connection_state == Connection.CONNECTION_CLOSED


def test_channel_state_constants_are_pika_1x() -> None:
    assert (Channel.CLOSED, Channel.OPENING, Channel.OPEN, Channel.CLOSING) == (0, 1, 2, 3)


def test_is_opening_and_open() -> None:
    conn, _open = open_channel()
    channel = conn.channel()
    assert channel.is_opening and not channel.is_open
    channel.open()  # already opening: nothing to do, nothing sent
    assert conn.sent() == [spec.Channel.Open()]
    conn._on_data_received(sf.channel_open_ok(channel.channel_number))
    assert channel.is_open and not channel.is_opening
    with pytest.raises(exceptions.ChannelWrongStateError):
        channel.open()  # pika would send a second Channel.Open and lose the connection
    channel.close()
    assert not channel.is_opening
    with pytest.raises(exceptions.ChannelWrongStateError):
        channel.open()


def test_add_callback_gets_matching_replies() -> None:
    conn, channel = open_channel()
    got: list[frame.Method] = []
    every: list[frame.Method] = []
    channel.add_callback(got.append, [spec.Basic.GetEmpty, spec.Queue.DeclareOk])
    channel.add_callback(every.append, [spec.Queue.DeclareOk], one_shot=False)
    order: list[str] = []
    channel.add_callback(lambda _f: order.append('listener'), [spec.Queue.DeclareOk])
    channel.queue_declare('q', callback=lambda _f: order.append('completion'))
    conn._on_data_received(sf.method(1, spec.Queue.DeclareOk('q', 0, 0)))
    assert order == ['listener', 'completion']  # registered before the call: called first
    channel.queue_declare('q2')
    conn._on_data_received(sf.method(1, spec.Queue.DeclareOk('q2', 0, 0)))
    assert [f.method.queue for f in got] == ['q']  # one shot, for every class it listened to
    assert all(isinstance(f, frame.Method) and f.channel_number == 1 for f in got)
    assert [f.method.queue for f in every] == ['q', 'q2']
    channel.basic_get('q', lambda *_a: None)
    conn._on_data_received(sf.method(1, spec.Basic.GetEmpty()))
    assert len(got) == 1  # spent
    with pytest.raises(TypeError):
        channel.add_callback('not callable', [spec.Basic.GetEmpty])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        channel.add_callback(got.append, ['Basic.GetEmpty'])


def test_add_callback_with_attribute_values_and_broker_cancel() -> None:
    conn, channel = open_channel()
    cancelled: list[frame.Method] = []
    channel.add_callback(cancelled.append, [(spec.Basic.Cancel, {'consumer_tag': 'mine'})])
    for tag in ('other', 'mine'):
        channel.basic_consume('q', lambda *_a: None, consumer_tag=tag)
        conn._on_data_received(sf.method(1, spec.Basic.ConsumeOk(tag)))
    conn._on_data_received(sf.method(1, spec.Basic.Cancel('other')))
    assert cancelled == []
    conn._on_data_received(sf.method(1, spec.Basic.Cancel('mine')))
    assert [f.method.consumer_tag for f in cancelled] == ['mine']


def test_flow_active_follows_channel_flow() -> None:
    conn, channel = open_channel()
    assert channel.flow_active is True
    conn._on_data_received(sf.method(1, spec.Channel.Flow(False)))
    assert channel.flow_active is False
    conn._on_data_received(sf.method(1, spec.Channel.Flow(True)))
    assert channel.flow_active is True


# -- IOLoop.activate_poller / deactivate_poller ------------------------------------------------


def test_deactivated_poller_is_recreated_with_every_watch() -> None:
    loop = IOLoop()
    left, right = socket.socketpair()
    try:
        seen: list[int] = []

        def on_ready(_fd: int, events: int) -> None:
            seen.append(events)
            loop.stop()

        loop.add_handler(left.fileno(), on_ready, IOLoop.READ)
        loop.deactivate_poller()
        loop.deactivate_poller()  # idempotent
        right.send(b'x')
        loop.call_later(5, loop.stop)
        loop.start()  # activates the poller again, with the handler registered
        assert seen == [IOLoop.READ]
        loop.activate_poller()  # a no-op while active
        loop.deactivate_poller()
        loop.activate_poller()
        loop.update_handler(left.fileno(), IOLoop.READ | IOLoop.WRITE)
        loop.call_later(5, loop.stop)
        loop.start()
        assert seen[-1] == IOLoop.READ | IOLoop.WRITE

        def deactivate_inside() -> None:
            try:
                loop.deactivate_poller()
            finally:
                loop.stop()

        loop.remove_handler(left.fileno())
        loop.add_callback_threadsafe(deactivate_inside)
        with pytest.raises(RuntimeError):
            loop.start()
    finally:
        left.close()
        right.close()
        loop.close()
    loop.deactivate_poller()  # closed: nothing to release
    with pytest.raises(RuntimeError):
        loop.activate_poller()


def test_poll_activates_the_poller() -> None:
    loop = IOLoop()
    try:
        fired: list[bool] = []
        loop.call_later(0, lambda: fired.append(True))
        loop.deactivate_poller()
        deadline = time.monotonic() + 5
        while not fired and time.monotonic() < deadline:
            loop.poll()
            loop.process_timeouts()
        assert fired == [True]
    finally:
        loop.close()


# -- pika.validators, pika.tcp_socket_opts, pika.diagnostic_utils --------------------------------


def test_validators() -> None:
    from pika import validators

    validators.require_string('x', 'name')
    for bad in (1, b'x', None):
        with pytest.raises(TypeError, match='name'):
            validators.require_string(bad, 'name')
    validators.require_callback(print)
    with pytest.raises(TypeError, match='on_x'):
        validators.require_callback(1, 'on_x')  # type: ignore[arg-type]
    assert validators.rpc_completion_callback(None) is True  # pika 1.4.4's answers
    assert validators.rpc_completion_callback(print) is False
    with pytest.raises(TypeError):
        validators.rpc_completion_callback(1)  # type: ignore[arg-type]
    for fine in (0, 5, '1', 1.5):
        validators.zero_or_greater('n', fine)
    with pytest.raises(ValueError, match='n'):
        validators.zero_or_greater('n', -1)
    with pytest.raises(TypeError):
        validators.zero_or_greater('n', None)


def test_tcp_socket_opts() -> None:
    from pika import tcp_socket_opts

    assert tcp_socket_opts.socket_requires_keepalive({}) is False
    assert tcp_socket_opts.socket_requires_keepalive({'TCP_USER_TIMEOUT': 5}) is False
    assert tcp_socket_opts.socket_requires_keepalive({'BOGUS': 5}) is False
    for key in ('TCP_KEEPIDLE', 'TCP_KEEPINTVL', 'TCP_KEEPCNT'):
        assert tcp_socket_opts.socket_requires_keepalive({key: 5}) is True
    with socket.socket() as sock:
        tcp_socket_opts.set_sock_opts(None, sock)
        tcp_socket_opts.set_sock_opts({'TCP_USER_TIMEOUT': 1234, 'BOGUS': 1}, sock)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        if hasattr(socket, 'TCP_USER_TIMEOUT'):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 1234
        tcp_socket_opts.set_sock_opts({'TCP_KEEPCNT': 5}, sock)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 5
        with pytest.raises(TypeError):
            tcp_socket_opts.set_sock_opts({'TCP_KEEPIDLE': '5'}, sock)  # type: ignore[dict-item]


def test_log_exception_decorator(caplog: pytest.LogCaptureFixture) -> None:
    from pika.diagnostic_utils import create_log_exception_decorator

    logger = logging.getLogger('tests.diagnostic')
    decorator = create_log_exception_decorator(logger)

    @decorator
    def fails(value: str) -> None:
        """Docstring kept."""
        raise ValueError(value)

    @decorator
    def doubles(value: int) -> int:
        return value * 2

    assert fails.__name__ == 'fails' and fails.__doc__ == 'Docstring kept.'
    assert doubles(2) == 4
    with caplog.at_level(logging.ERROR, logger='tests.diagnostic'):
        with pytest.raises(ValueError, match='bad'):
            fails('bad')
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert 'fails' in record.getMessage() and 'test_log_exception_decorator' in record.getMessage()


# -- module names ---------------------------------------------------------------------------------


def test_bare_import_reaches_the_small_public_modules() -> None:
    for name in ('validators', 'tcp_socket_opts', 'diagnostic_utils', 'callback'):
        assert name in dir(pika)
        assert getattr(pika, name).__name__ == f'pika.{name}'


def test_adapters_list_pika_1x_exports() -> None:
    from pika import adapters

    for name in ('AsyncioConnection', 'BaseConnection', 'BlockingConnection', 'IOLoop'):
        assert name in dir(adapters)
        assert name in adapters.__all__
    assert adapters.AsyncioConnection.__name__ == 'AsyncioConnection'
    assert 'SelectConnection' in dir(adapters)
    assert 'asyncio_connection' in dir(adapters)  # pika 1.x imports it with the package
    assert adapters.asyncio_connection.AsyncioConnection is adapters.AsyncioConnection


def test_twisted_channel_names() -> None:
    pytest.importorskip('twisted')
    from pika.adapters.twisted_connection import TwistedChannel

    for name in ('callback_deferred', 'open', 'flow_active', 'connection', 'channel_number'):
        assert hasattr(TwistedChannel, name), name


# -- pika.callback (outcomes recorded from pika 1.4.4's CallbackManager) ------------------------


def test_callback_manager_names_and_one_shot() -> None:
    from pika.callback import CallbackManager, name_or_value

    assert name_or_value(spec.Basic.Ack) == name_or_value(spec.Basic.Ack()) == 'Basic.Ack'
    assert name_or_value(frame.Method(1, spec.Basic.Ack())) == 'Basic.Ack'
    assert (name_or_value('x'), name_or_value(5)) == ('x', '5')
    manager = CallbackManager()
    calls: list[tuple[Any, ...]] = []
    assert manager.add(1, spec.Basic.Ack, calls.append) == ('1', 'Basic.Ack')
    assert manager.add(1, spec.Basic.Ack, calls.append) == ('1', 'Basic.Ack')  # one more call
    assert manager.pending(1, spec.Basic.Ack) == manager.pending('1', 'Basic.Ack') == 1
    assert manager.pending(1, 'nothing') is None
    assert manager.process(1, spec.Basic.Ack, 'caller', 'first') is True
    assert manager.process(1, spec.Basic.Ack, 'caller', 'second') is True
    assert manager.process(1, spec.Basic.Ack, 'caller', 'third') is False  # used up
    assert calls == ['first', 'second']


def test_callback_manager_filters_and_removal() -> None:
    from pika.callback import CallbackManager

    manager = CallbackManager()
    calls: list[Any] = []
    manager.add(1, 'k', calls.append, one_shot=False)
    assert manager.process(1, 'k', 'c', 1) and manager.process(1, 'k', 'c', 2)
    assert manager.remove(1, 'k', calls.append) is True
    assert manager.remove(1, 'k', calls.append) is False
    manager.add(1, 'o', calls.append, only_caller='me')
    assert manager.process(1, 'o', 'other', 'x') is True  # filed there, not called
    manager.process(1, 'o', 'me', 'for me')
    manager.add(1, spec.Basic.CancelOk, calls.append, arguments={'consumer_tag': 't1'})
    manager.process(1, spec.Basic.CancelOk, 'c', frame.Method(1, spec.Basic.CancelOk('t2')))
    right = frame.Method(1, spec.Basic.CancelOk('t1'))
    manager.process(1, spec.Basic.CancelOk, 'c', right)
    manager.add(1, 'd', calls.append, arguments={'x': 1})
    manager.process(1, 'd', 'c', {'x': 2})
    manager.process(1, 'd', 'c', {'x': 1})
    assert calls == [1, 2, 'for me', right, {'x': 1}]
    manager.add(6, 'z', calls.append, arguments={'q': 1})
    manager.add(6, 'z', calls.append, arguments={'q': 2})
    assert manager.remove(6, 'z', calls.append, {'q': 1}) and manager.pending(6, 'z') == 1
    assert manager.remove(6, 'z', calls.append) and manager.pending(6, 'z') == 1  # exact args
    manager.add(2, 'z', print)
    assert manager.cleanup(2) is True and manager.cleanup(2) is False
    manager.add(3, 'z', print)
    assert manager.remove_all(3, 'z') is None and manager.pending(3, 'z') is None
    manager.clear()
    assert manager.pending(6, 'z') is None


def test_callback_manager_exceptions_propagate(caplog: pytest.LogCaptureFixture) -> None:
    from pika.callback import CallbackManager

    manager = CallbackManager()
    called: list[Any] = []

    def fails(*_args: Any) -> None:
        raise KeyError('k')

    manager.add(1, 'x', fails)
    manager.add(1, 'x', called.append)
    with caplog.at_level(logging.ERROR, logger='pika.callback'):
        with pytest.raises(KeyError):
            manager.process(1, 'x', 'c', 'arg')
    assert called == []  # after the failing one: not called
    assert manager.pending(1, 'x') is None  # one-shots are spent before any runs
    assert any(record.levelno == logging.ERROR for record in caplog.records)
    manager.add(2, 'x', fails, one_shot=False)
    with pytest.raises(KeyError):
        manager.process(2, 'x', 'c')
    assert manager.pending(2, 'x') == 1
