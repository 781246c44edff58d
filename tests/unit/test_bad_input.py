"""Bad input never hangs, never crashes the loop, never passes silently.

A tiny threaded fake broker (:class:`FakePeer`) speaks a scripted AMQP handshake over a real
socket, answers Channel.Open/Queue.Declare/Close like RabbitMQ, and, when the client sends a
chosen method, answers with malformed bytes instead: garbage, an oversize frame, a wrong
frame-end octet, a frame for a channel that was never opened, or a body longer than its header
declared. Then:

* ``SelectConnection``: ``on_close_callback`` gets an ``AMQPError`` subclass and the IOLoop keeps
  running other timers afterwards;
* ``BlockingConnection``: the call in progress raises an ``AMQPError`` subclass promptly (well
  before its ``rpc_timeout``).

Wrong argument types/values on public methods raise ``TypeError``/``ValueError`` at the call and
leave the connection usable.
"""

from __future__ import annotations

import struct
import time
from typing import TYPE_CHECKING, Any, Callable

import pytest

from pika import exceptions, frame, spec
from pika.adapters.blocking_connection import BlockingConnection
from pika.adapters.select_connection import SelectConnection
from tests.helpers import server_frames as sf
from tests.helpers.fake_peer import FakePeer

if TYPE_CHECKING:
    from collections.abc import Iterator

FRAME_END = b'\xce'


# -- the fake broker -------------------------------------------------------------------------


def _frame(frame_type: int, channel: int, payload: bytes, end: bytes = FRAME_END) -> bytes:
    return struct.pack('>BHI', frame_type, channel, len(payload)) + payload + end


def _deliver(channel: int, body_size: int, body: bytes) -> bytes:
    deliver = sf.method(channel, spec.Basic.Deliver('ctag', 1, False, 'x', 'q'))
    header = frame.Header(channel, body_size, spec.BasicProperties()).marshal()
    return deliver + header + _frame(3, channel, body)


#: name -> bytes the fake broker sends instead of a proper reply.
BAD_INPUTS: dict[str, bytes] = {
    'garbage': b'\xde\xad\xbe\xef' * 64,
    'oversize_frame': struct.pack('>BHI', 1, 1, 50_000_000) + b'\0' * 64,
    'wrong_frame_end': sf.method(1, spec.Queue.DeclareOk('q', 0, 0))[:-1] + b'\x00',
    'unknown_channel': sf.method(7, spec.Basic.Deliver('ctag', 1, False, 'x', 'q')),
    'body_longer_than_declared': _deliver(1, 5, b'0123456789'),
    'unknown_frame_type': _frame(9, 0, b'\0\0\0\0'),
    'bad_method_id': _frame(1, 1, struct.pack('>HH', 50, 999) + b'\0' * 8),
    'truncated_method_args': _frame(1, 1, struct.pack('>HH', 50, 11) + b'\x05ab'),
}


@pytest.fixture
def make_peer() -> Iterator[Callable[..., FakePeer]]:
    peers: list[FakePeer] = []

    def make(*args: Any, **kwargs: Any) -> FakePeer:
        peer = FakePeer(*args, **kwargs)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()


# -- BlockingConnection --------------------------------------------------------------------


@pytest.mark.parametrize('name', sorted(BAD_INPUTS))
def test_blocking_raises_amqp_error_promptly_on_bad_frames(
    name: str, make_peer: Callable[..., FakePeer]
) -> None:
    peer = make_peer(BAD_INPUTS[name])
    connection = BlockingConnection(peer.params(), rpc_timeout=30)
    channel = connection.channel()
    start = time.monotonic()
    with pytest.raises(exceptions.AMQPError) as info:
        channel.queue_declare('q')
    assert time.monotonic() - start < 5, 'took the rpc bound, not the protocol error'
    assert not isinstance(info.value, exceptions.OperationTimeout)
    assert connection.is_closed
    assert not connection.is_open
    # The broken connection is finished for good: later calls fail at once, clearly.
    with pytest.raises(exceptions.AMQPError):
        channel.queue_declare('q2')
    with pytest.raises(exceptions.AMQPError):
        connection.channel()
    assert peer.client_closed.wait(5), 'the client did not close its socket'
    # It told the peer why (a connection-level protocol error code) before hanging up.
    closes = [f.method for f in peer.received if isinstance(getattr(f, 'method', None),
                                                             spec.Connection.Close)]  # fmt: skip
    assert closes and closes[-1].reply_code in (501, 503, 504, 505)


@pytest.mark.parametrize('name', ['garbage', 'oversize_frame', 'wrong_frame_end'])
def test_blocking_bad_handshake_raises_connection_error(
    name: str, make_peer: Callable[..., FakePeer]
) -> None:
    peer = make_peer(bad_handshake=BAD_INPUTS[name])
    start = time.monotonic()
    with pytest.raises(exceptions.AMQPConnectionError):
        BlockingConnection(peer.params(stack_timeout=30))
    assert time.monotonic() - start < 5
    assert peer.client_closed.wait(5)


def test_blocking_peer_that_says_nothing_hits_the_handshake_bound(
    make_peer: Callable[..., FakePeer],
) -> None:
    peer = make_peer(bad_handshake=b'')  # accepts, reads the header, then stays silent
    start = time.monotonic()
    with pytest.raises(exceptions.AMQPConnectionError):
        BlockingConnection(peer.params(stack_timeout=1))
    assert time.monotonic() - start < 5


# -- SelectConnection ----------------------------------------------------------------------


def _run_select_against(peer: FakePeer, declare: bool = True) -> dict[str, Any]:
    """Open a connection and a channel, declare a queue, and record how it ended.

    After the connection is reported closed the loop keeps running for a while and a
    separate repeating timer must keep firing: the loop survived the bad input.
    """
    outcome: dict[str, Any] = {'errors': [], 'ticks_after_close': 0, 'closed_at': None}

    def on_open(conn: SelectConnection) -> None:
        conn.channel(on_open_callback=on_channel)

    def on_channel(channel: Any) -> None:
        if declare:
            channel.queue_declare('q', callback=lambda frame: outcome.setdefault('declared', 1))

    def on_error(conn: SelectConnection, error: BaseException) -> None:
        outcome['errors'].append(error)
        outcome['closed_at'] = time.monotonic()

    def ticker() -> None:
        if outcome['closed_at'] is not None:
            outcome['ticks_after_close'] += 1
            if outcome['ticks_after_close'] >= 5:
                conn.ioloop.stop()
                return
        conn.ioloop.call_later(0.02, ticker)

    conn = SelectConnection(peer.params(stack_timeout=30), on_open, on_error, on_error)
    conn.ioloop.call_later(0.02, ticker)
    guard = conn.ioloop.call_later(10, conn.ioloop.stop)
    started = time.monotonic()
    try:
        conn.ioloop.start()
    finally:
        conn.ioloop.remove_timeout(guard)
        conn.ioloop.close()
    outcome['elapsed'] = time.monotonic() - started
    outcome['connection'] = conn
    return outcome


@pytest.mark.parametrize('name', sorted(BAD_INPUTS))
def test_select_reports_amqp_error_and_loop_keeps_running(
    name: str, make_peer: Callable[..., FakePeer]
) -> None:
    peer = make_peer(BAD_INPUTS[name])
    outcome = _run_select_against(peer)
    assert len(outcome['errors']) == 1, outcome['errors']
    assert isinstance(outcome['errors'][0], exceptions.AMQPError)
    assert 'declared' not in outcome
    assert outcome['ticks_after_close'] >= 5, 'the IOLoop stopped running timers'
    assert outcome['elapsed'] < 8
    assert outcome['connection'].is_closed
    assert peer.client_closed.wait(5)


@pytest.mark.parametrize('name', ['garbage', 'oversize_frame', 'wrong_frame_end'])
def test_select_bad_handshake_reports_open_error(
    name: str, make_peer: Callable[..., FakePeer]
) -> None:
    peer = make_peer(bad_handshake=BAD_INPUTS[name])
    outcome = _run_select_against(peer)
    assert len(outcome['errors']) == 1
    assert isinstance(outcome['errors'][0], exceptions.AMQPConnectionError)
    assert outcome['ticks_after_close'] >= 5


def test_fake_peer_serves_a_normal_session(make_peer: Callable[..., FakePeer]) -> None:
    """Control: without bad input the same script opens, declares and closes cleanly."""
    peer = make_peer(trigger=None)
    connection = BlockingConnection(peer.params())
    channel = connection.channel()
    assert channel.queue_declare('q').method.queue == 'q'
    connection.close()
    assert connection.is_closed
    assert peer.client_closed.wait(5)


# -- wrong argument types and values ---------------------------------------------------------

_CB = lambda *args: None  # noqa: E731

#: (method, args, kwargs) that must raise TypeError/ValueError at the call, sending nothing.
#: Flags follow the one argument policy of both front-ends (docs/api-generations.md): a bool,
#: 0 or 1, anything else a TypeError (pika 1.x would send ``durable='no'`` as True).
BLOCKING_CHANNEL_BAD_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ('queue_declare', ('q',), {'durable': 'yes'}),
    ('queue_declare', ('q',), {'passive': None}),
    ('exchange_declare', ('x',), {'internal': 2}),
    ('queue_delete', ('q',), {'if_empty': 'x'}),
    ('basic_qos', (0, 1), {'global_qos': 'no'}),
    ('basic_ack', (1,), {'multiple': 'yes'}),
    ('basic_nack', (1,), {'requeue': 'no'}),
    ('basic_reject', (1,), {'requeue': 1.0}),
    ('basic_publish', ('', 'rk', b'x'), {'mandatory': 'y'}),
    ('basic_consume', ('q', _CB), {'auto_ack': 'y'}),
    ('basic_consume', ('q', _CB), {'exclusive': None}),
    ('basic_get', ('q',), {'auto_ack': 'y'}),
    ('consume', ('q',), {'auto_ack': 'y'}),
    ('basic_ack', ('1',), {}),
    ('basic_ack', (-1,), {}),
    ('basic_nack', (None,), {}),
    ('basic_reject', (1.5,), {}),
    ('basic_cancel', (5,), {}),
    ('basic_consume', (5, _CB), {}),
    ('basic_consume', ('q', 'not callable'), {}),
    ('basic_consume', ('q', _CB), {'arguments': 'x'}),
    ('basic_consume', ('q', _CB), {'no_ack': True, 'auto_ack': True}),
    ('basic_get', (5,), {}),
    ('basic_get', ('q',), {'timeout': -1}),
    ('basic_get', ('q',), {'timeout': 'soon'}),
    ('basic_publish', (5, 'rk', b'x'), {}),
    ('basic_publish', ('', 7, b'x'), {}),
    ('basic_publish', ('', 'rk', 12345), {}),
    ('basic_publish', ('', 'rk', b'x', 'props'), {}),
    ('basic_publish', ('', 'x' * 256, b'x'), {}),
    ('basic_qos', (-1,), {}),
    ('basic_qos', (0, 'ten'), {}),
    ('basic_qos', (0, 70000), {}),
    ('basic_recover', ('yes',), {}),
    ('close', ('200',), {}),
    ('close', (200, 5), {}),
    ('consume', (5,), {}),
    ('consume', ('q',), {'inactivity_timeout': -1}),
    ('exchange_bind', (5, 'src'), {}),
    ('exchange_declare', (5,), {}),
    ('exchange_declare', ('x',), {'exchange_type': 5}),
    ('exchange_declare', ('x' * 256,), {}),
    ('exchange_delete', (5,), {}),
    ('exchange_unbind', (5, 'src'), {}),
    ('flow', ('on',), {}),
    ('queue_bind', ('q', 5), {}),
    ('queue_bind', ('q', 'x'), {'arguments': []}),
    ('queue_declare', (5,), {}),
    ('queue_declare', ('q',), {'arguments': 'x'}),
    ('queue_declare', ('q',), {'timeout': 0}),
    ('queue_declare', ('q',), {'bogus': 1}),
    ('queue_delete', (5,), {}),
    ('queue_purge', (None,), {}),
    ('queue_unbind', (5,), {}),
    ('add_on_return_callback', ('x',), {}),
    ('add_on_cancel_callback', (None,), {}),
]

BLOCKING_CONNECTION_BAD_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ('channel', ('1',), {}),
    ('channel', (0,), {}),
    ('channel', (70000,), {}),
    ('channel', (), {'timeout': -5}),
    ('process_data_events', ('soon',), {}),
    ('process_data_events', (-1,), {}),
    ('sleep', (-1,), {}),
    ('sleep', ('x',), {}),
    ('call_later', (1, 'not callable'), {}),
    ('call_later', ('x', _CB), {}),
    ('call_later', (-1, _CB), {}),
    ('add_timeout', (1, None), {}),
    ('add_callback_threadsafe', ('x',), {}),
    ('add_on_close_callback', (5,), {}),
    ('add_on_connection_blocked_callback', (5,), {}),
    ('add_on_connection_unblocked_callback', (5,), {}),
    ('add_backpressure_callback', (5,), {}),
    ('set_backpressure_multiplier', ('10',), {}),
    ('set_backpressure_multiplier', (0,), {}),
    ('update_secret', (5, 'reason'), {}),
    ('update_secret', ('s', 5), {}),
    ('close', ('200',), {}),
    ('close', (200, None), {}),
]


def _call_id(call: tuple[str, tuple[Any, ...], dict[str, Any]]) -> str:
    """A test id that is the same in every process: a function shows as ``<fn>``, not as its
    address, so pytest-xdist workers collect the same ids."""
    name, args, kwargs = call
    shown_args = ', '.join(_shown(a) for a in args)
    shown_kwargs = ', '.join(f'{k}={_shown(v)}' for k, v in kwargs.items())
    return f'{name}({shown_args}){{{shown_kwargs}}}'[:60]


def _shown(value: Any) -> str:
    return '<fn>' if callable(value) else repr(value)


@pytest.fixture
def blocking_pair(make_peer: Callable[..., FakePeer]) -> Iterator[tuple[Any, Any, FakePeer]]:
    peer = make_peer(trigger=None)
    connection = BlockingConnection(peer.params(), rpc_timeout=10)
    channel = connection.channel()
    yield connection, channel, peer
    if connection.is_open:
        connection.close()


def _assert_rejected_at_call(target: Any, call: tuple[str, tuple[Any, ...], dict[str, Any]],
                             peer: FakePeer) -> None:  # fmt: skip
    name, args, kwargs = call
    sent_before = len(peer.received)
    with pytest.raises((TypeError, ValueError)):
        result = getattr(target, name)(*args, **kwargs)
        if name == 'consume':  # a generator: the checks run at the first next()
            next(result)
    time.sleep(0.05)
    assert len(peer.received) == sent_before, 'a rejected call still sent frames'


@pytest.mark.parametrize('call', BLOCKING_CHANNEL_BAD_CALLS, ids=_call_id)
def test_blocking_channel_rejects_bad_arguments_at_the_call(
    call: tuple[str, tuple[Any, ...], dict[str, Any]], blocking_pair: tuple[Any, Any, FakePeer]
) -> None:
    connection, channel, peer = blocking_pair
    _assert_rejected_at_call(channel, call, peer)
    assert channel.is_open and connection.is_open
    assert channel.queue_declare('still-works').method.queue == 'still-works'


@pytest.mark.parametrize('call', BLOCKING_CONNECTION_BAD_CALLS, ids=_call_id)
def test_blocking_connection_rejects_bad_arguments_at_the_call(
    call: tuple[str, tuple[Any, ...], dict[str, Any]], blocking_pair: tuple[Any, Any, FakePeer]
) -> None:
    connection, channel, peer = blocking_pair
    _assert_rejected_at_call(connection, call, peer)
    assert connection.is_open
    assert channel.queue_declare('still-works').method.queue == 'still-works'


@pytest.mark.parametrize(
    'kwargs',
    [
        {'parameters': 'amqp://localhost'},
        {'parameters': []},
        {'parameters': [object()]},
        {'rpc_timeout': 0},
        {'rpc_timeout': 'long'},
    ],
)
def test_blocking_connection_constructor_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        BlockingConnection(**kwargs)


SELECT_BAD_CALLS: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = [
    ('connection', 'channel', ('1',), {}),
    ('connection', 'channel', (0,), {}),
    ('connection', 'channel', (1, 'not callable'), {}),
    ('connection', 'close', ('200',), {}),
    ('connection', 'close', (200, 5), {}),
    ('connection', 'add_on_close_callback', (5,), {}),
    ('connection', 'add_on_open_callback', (None,), {}),
    ('connection', 'add_on_connection_blocked_callback', ('x',), {}),
    ('connection', 'add_callback_threadsafe', ('x',), {}),
    ('connection', 'set_backpressure_multiplier', (0,), {}),
    ('connection', 'update_secret', (5, 'r'), {}),
    ('channel', 'basic_publish', (5, 'rk', b'x'), {}),
    ('channel', 'basic_publish', ('', 'rk', 12345), {}),
    ('channel', 'basic_ack', ('1',), {}),
    ('channel', 'basic_qos', (-1,), {}),
    ('channel', 'queue_declare', (5,), {}),
    ('channel', 'queue_declare', ('q',), {'callback': 'x'}),
    ('channel', 'exchange_declare', ('x',), {'exchange_type': 5}),
    ('channel', 'basic_consume', ('q', 'not callable'), {}),
    ('channel', 'basic_get', ('q', None), {}),
    ('channel', 'confirm_delivery', ('x',), {}),
    ('channel', 'close', ('200',), {}),
    ('channel', 'add_on_close_callback', (5,), {}),
]


def test_select_connection_and_channel_reject_bad_arguments(
    make_peer: Callable[..., FakePeer],
) -> None:
    """Every bad call raises TypeError/ValueError at once; the connection stays usable and the
    peer receives nothing for them."""
    peer = make_peer(trigger=None)
    results: dict[str, Any] = {'rejected': [], 'accepted': []}

    def on_channel(channel: Any) -> None:
        targets = {'connection': channel.connection, 'channel': channel}
        for target, name, args, kwargs in SELECT_BAD_CALLS:
            try:
                getattr(targets[target], name)(*args, **kwargs)
            except (TypeError, ValueError):
                results['rejected'].append(name)
            else:
                results['accepted'].append((target, name, args, kwargs))
        channel.queue_declare('ok', callback=on_declared)

    def on_declared(method_frame: Any) -> None:
        results['declared'] = method_frame.method.queue
        conn.close()

    conn = SelectConnection(peer.params(), lambda c: c.channel(on_open_callback=on_channel))
    guard = conn.ioloop.call_later(10, conn.ioloop.stop)
    conn.ioloop.start()
    conn.ioloop.remove_timeout(guard)
    conn.ioloop.close()
    assert results['accepted'] == []
    assert len(results['rejected']) == len(SELECT_BAD_CALLS)
    assert peer.client_closed.wait(5)
    sent = [type(f.method).__name__ for f in peer.received if hasattr(f, 'method')]
    # Only the good calls reached the wire (closing sends Channel.Close + Connection.Close).
    assert sent[3:] in (
        ['Open', 'Declare', 'Close', 'Close'],
        ['Open', 'Declare', 'Close'],
    ), sent
    declares = [f.method for f in peer.received if isinstance(getattr(f, 'method', None),
                                                               spec.Queue.Declare)]  # fmt: skip
    assert [d.queue for d in declares] == ['ok']
    assert results['declared'] == 'ok'
    assert conn.is_closed


@pytest.mark.parametrize(
    'args',
    [('amqp://localhost',), ([object()],), (None, 'not callable'), (None, None, 5)],
)
def test_select_connection_constructor_rejects_bad_arguments(args: tuple[Any, ...]) -> None:
    with pytest.raises((TypeError, ValueError)):
        SelectConnection(*args)
