"""The callback `Connection`'s recovery wiring, on the real core without a socket.

A `Connection` whose "transport" is the test: the broker's frames go in through
`_on_data_received`, timers run on a fake clock, and each reconnect attempt is recorded;
the test then hands the core a new "stream" (`begin_reconnect`) and answers the handshake
and the replay. Checks the order of the hooks, that the application keeps its objects, and
the two ways a recovery ends without a connection (give-up, close()).
"""

from __future__ import annotations

from typing import Any, Callable

import pika
from pika import exceptions, spec
from pika.connection import Connection
from tests.helpers import server_frames as sf
from tests.helpers.fake_loop import FakeLoop


class LoopConnection(Connection):
    """A callback Connection on a fake loop; reconnect attempts are only recorded."""

    def __init__(self, params: pika.ConnectionParameters, loop: FakeLoop) -> None:
        self.loop = loop
        self.closed: list[BaseException] = []
        self.attempts: list[tuple[Any, Callable[[BaseException], None]]] = []
        self.wire = bytearray()  # what the connection wrote
        super().__init__(params, on_close_callback=lambda _c, error: self.closed.append(error))

    def _output_ready(self) -> None:
        self.wire += self._take_output()

    def _close_transport(self) -> None:
        self.wire += self._take_output()

    def _now(self) -> float:
        return self.loop.now

    def call_later(self, delay: float, callback: Any) -> object:
        return self.loop.call_later(delay, callback)

    def remove_timeout(self, timeout_id: object) -> None:
        self.loop.remove_timeout(timeout_id)

    def _connect_for_recovery(
        self, params: Any, on_failed: Callable[[BaseException], None]
    ) -> None:
        self.attempts.append((params, on_failed))

    # the test as the transport and the broker
    def handshake(self) -> None:
        self._on_data_received(sf.start() + sf.tune(heartbeat=0) + sf.open_ok())

    def reconnect(self) -> None:
        assert self._core is not None
        self._core.begin_reconnect(self.attempts[-1][0])
        self.handshake()


def _opened(**policy: Any) -> tuple[LoopConnection, pika.channel.Channel, list[tuple[Any, ...]]]:
    calls: list[tuple[Any, ...]] = []

    def record(name: str) -> Callable[..., None]:
        return lambda *args: calls.append((name, *args))

    names = ('on_connection_lost', 'on_recovering', 'on_recovered', 'on_given_up')
    recovery = pika.Recovery(
        initial_delay=0.5, jitter=0.0, **{n: record(n) for n in names}, **policy
    )
    conn = LoopConnection(pika.ConnectionParameters(heartbeat=0, recovery=recovery), FakeLoop())
    conn._start_protocol(conn.params)
    conn.handshake()
    assert conn.is_open
    channel = conn.channel()
    conn._on_data_received(sf.channel_open_ok(channel.channel_number))
    assert channel.is_open
    return conn, channel, calls


def test_broker_close_is_recovered_on_the_same_objects() -> None:
    conn, channel, calls = _opened()
    conn._on_data_received(sf.connection_close(320, 'CONNECTION_FORCED - test'))
    assert [c[0] for c in calls] == ['on_connection_lost']
    assert isinstance(calls[0][2], exceptions.ConnectionClosedByBroker)
    assert not conn.is_open and not conn.is_closed and not channel.is_closed
    try:
        channel.basic_publish('', 'q', b'x')
    except exceptions.ConnectionRecovering:
        pass
    else:
        raise AssertionError('a publish while recovering must raise ConnectionRecovering')
    assert conn.loop.run_next() == 100.5 and len(conn.attempts) == 1
    conn.reconnect()
    conn._on_data_received(sf.channel_open_ok(channel.channel_number))  # the replay
    assert [c[0] for c in calls] == ['on_connection_lost', 'on_recovering', 'on_recovered']
    assert calls[2][1] is conn and calls[1][1] is conn
    assert conn.is_open and channel.is_open and not conn.closed
    channel.basic_publish('', 'q', b'after')  # the same channel object works again


def test_close_while_recovering_closes_without_give_up() -> None:
    conn, channel, calls = _opened()
    conn._on_data_received(sf.connection_close(320, 'CONNECTION_FORCED - test'))
    conn.close(200, 'bye')
    assert len(conn.closed) == 1 and isinstance(conn.closed[0], exceptions.ConnectionClosedByClient)
    assert conn.is_closed and channel.is_closed
    assert 'on_given_up' not in [c[0] for c in calls]
    assert conn.loop.armed == 0  # no attempt left behind


def test_give_up_calls_hook_then_close_callback_with_the_same_cause() -> None:
    conn, channel, calls = _opened(max_attempts=1)
    conn._on_data_received(sf.connection_close(320, 'CONNECTION_FORCED - test'))
    conn.loop.run_next()
    conn.attempts[-1][1](exceptions.AMQPConnectionError('refused'))
    names = [c[0] for c in calls]
    assert names == ['on_connection_lost', 'on_recovering', 'on_given_up']
    assert conn.closed == [calls[-1][2]]
    assert conn.is_closed and channel.is_closed


def test_unconfirmed_publishes_are_nacked_once_when_recovery_gives_up() -> None:
    conn, channel, _calls = _opened(max_attempts=1)
    confirms: list[Any] = []
    channel.confirm_delivery(lambda frame: confirms.append(frame.method))
    conn._on_data_received(sf.method(channel.channel_number, spec.Confirm.SelectOk()))
    for body in (b'a', b'b', b'c'):
        channel.basic_publish('', 'q', body)
    conn._on_data_received(
        sf.method(channel.channel_number, spec.Basic.Ack(delivery_tag=1, multiple=False))
    )
    conn._on_data_received(sf.connection_close(320, 'CONNECTION_FORCED - test'))
    conn.loop.run_next()
    conn.attempts[-1][1](exceptions.AMQPConnectionError('refused'))
    assert [(type(m).__name__, m.delivery_tag) for m in confirms] == [
        ('Ack', 1),
        ('Nack', 2),
        ('Nack', 3),
    ]
    assert conn.is_closed


def test_a_consume_in_flight_at_the_loss_is_started_after_recovery() -> None:
    """basic_consume and queue_declare sent, replies lost with the connection: both go out
    again after the replay, their callbacks get the new replies, and the consumer the
    application asked for receives (issue 15: consumer_tags never lists a dead consumer)."""
    conn, channel, _calls = _opened()
    number = channel.channel_number
    got: list[Any] = []
    declared: list[Any] = []
    tag = channel.basic_consume('q', lambda *args: got.append(args[3]), callback=got.append)
    channel.queue_declare('other', callback=declared.append)
    conn._on_data_received(sf.connection_close(320, 'CONNECTION_FORCED - test'))
    assert channel.consumer_tags == [tag]
    conn.loop.run_next()
    conn.reconnect()
    conn.wire.clear()
    conn._on_data_received(sf.channel_open_ok(number))  # the replay: channel only
    assert [m.NAME for m in sf.methods(bytes(conn.wire))] == ['Basic.Consume']
    conn._on_data_received(sf.method(number, spec.Basic.ConsumeOk(tag)))
    assert [type(f.method).__name__ for f in got] == ['ConsumeOk']
    conn._on_data_received(sf.method(number, spec.Queue.DeclareOk('other', 0, 0)))
    assert [f.method.queue for f in declared] == ['other']
    conn._on_data_received(sf.deliver(number, b'hello', consumer_tag=tag))
    assert got[-1] == b'hello' and channel.consumer_tags == [tag]


def test_a_commit_in_flight_at_the_loss_closes_the_channel_with_the_reason() -> None:
    conn, channel, _calls = _opened()
    closed: list[BaseException] = []
    channel.add_on_close_callback(lambda _ch, error: closed.append(error))
    channel.tx_select()
    conn._on_data_received(sf.method(channel.channel_number, spec.Tx.SelectOk()))
    channel.basic_publish('', 'q', b'x')
    channel.tx_commit(callback=lambda frame: closed.append(frame))
    conn._on_data_received(sf.connection_close(320, 'CONNECTION_FORCED - test'))
    assert channel.is_closed and len(closed) == 1
    assert isinstance(closed[0], exceptions.ChannelClosed)
    assert 'outcome is unknown' in str(closed[0])
