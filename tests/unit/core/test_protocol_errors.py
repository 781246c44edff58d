"""Every (state, unexpected frame) pair closes the connection with the right reply code, and
random bytes never make anything but AMQPError escape ``receive_data``."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pika import exceptions, frame, spec
from pika._core import ConnectionCore, ConnectionState, events
from pika._core.states import CHANNEL_INBOUND, CONNECTION_INBOUND, ChannelState
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import make_core, open_channel, open_core
from tests.helpers.methods import ALL_METHODS, sample

# --------------------------------------------------------------------------- states


def core_in(state: str) -> tuple[ConnectionCore, int]:
    """A core in a named situation, and the channel number to target (0 for connection)."""
    if state == 'PROTOCOL_HEADER_SENT':
        return make_core(), 0
    if state == 'START_OK_SENT':
        core = make_core()
        core.receive_data(sf.start(), 0.0)
        return core, 0
    if state == 'OPEN_SENT':
        core = make_core(heartbeat=0)
        core.receive_data(sf.start() + sf.tune(), 0.0)
        return core, 0
    core = open_core()
    if state == 'OPEN':
        return core, 0
    if state == 'CLOSING':
        ch = open_channel(core)
        ch.rpc(spec.Basic.Consume(queue='q', consumer_tag='t'))
        core.receive_data(sf.method(1, spec.Basic.ConsumeOk('t')), 0.0)
        core.close()
        return core, 0
    if state == 'CHANNEL_OPENING':
        core.open_channel()
        return core, 1
    ch = open_channel(core)
    if state == 'CHANNEL_OPEN':
        return core, 1
    if state == 'CHANNEL_CANCELLING':
        ch.rpc(spec.Basic.Consume(queue='q', consumer_tag='t'))
        core.receive_data(sf.method(1, spec.Basic.ConsumeOk('t')), 0.0)
        ch.close()
        return core, 1
    raise AssertionError(state)


CONNECTION_STATES = ['PROTOCOL_HEADER_SENT', 'START_OK_SENT', 'OPEN_SENT', 'OPEN', 'CLOSING']
CHANNEL_STATES = ['CHANNEL_OPENING', 'CHANNEL_OPEN', 'CHANNEL_CANCELLING']


def assert_closed_with(core: ConnectionCore, evs: list[Any], code: int) -> None:
    """The last event is the terminal one and carries ``code``; Close was queued if possible."""
    assert core.is_closed
    final = evs[-1]
    assert isinstance(final, (events.ConnectionClosed, events.ConnectionOpenFailed))
    assert isinstance(final.error, exceptions.ConnectionClosed)
    assert final.error.reply_code == code
    sent_methods = sf.methods(bytes(core.data_to_send()).replace(sf.PROTOCOL_HEADER, b''))
    closes = [m for m in sent_methods if isinstance(m, spec.Connection.Close)]
    if closes:
        assert closes[-1].reply_code == code


def unexpected_connection_methods() -> list[tuple[str, type]]:
    cases = []
    for state in CONNECTION_STATES:
        allowed = CONNECTION_INBOUND[ConnectionState[state]]
        for cls in ALL_METHODS:
            if cls.NAME not in allowed:
                cases.append((state, cls))
    return cases


@pytest.mark.parametrize(('state', 'cls'), unexpected_connection_methods())
def test_unexpected_method_on_channel_zero_is_503(state: str, cls: type) -> None:
    core, _ = core_in(state)
    core.data_to_send()
    evs = core.receive_data(sf.method(0, sample(cls)), 0.0)
    assert_closed_with(core, evs, 503)


def unexpected_channel_methods() -> list[tuple[str, type]]:
    cases = []
    for state in CHANNEL_STATES:
        allowed = CHANNEL_INBOUND[ChannelState[state.split('_', 1)[1]]]
        for cls in ALL_METHODS:
            if cls.NAME in allowed or cls.INDEX >> 16 == 10:
                continue
            if state == 'CHANNEL_CANCELLING' and cls is spec.Basic.CancelOk:
                continue  # the valid reply to the outstanding internal Cancel
            cases.append((state, cls))
    return cases


@pytest.mark.parametrize(('state', 'cls'), unexpected_channel_methods())
def test_unexpected_method_on_channel_is_503(state: str, cls: type) -> None:
    """No RPC is outstanding (CANCELLING: only our internal Cancel), so nothing else fits."""
    core, number = core_in(state)
    core.data_to_send()
    evs = core.receive_data(sf.method(number, sample(cls)), 0.0)
    assert_closed_with(core, evs, 503)


def _header(n: int) -> bytes:
    return frame.Header(n, 3, spec.BasicProperties()).marshal()


def _body(n: int) -> bytes:
    return frame.Body(n, b'abc').marshal()


FRAME_CASES: list[tuple[str, Callable[[int], bytes], int]] = [
    ('header without content method', _header, 505),
    ('body without content method', _body, 505),
    ('frame for unknown channel', lambda n: sf.method(n + 7, spec.Basic.QosOk()), 504),
    ('bad frame end', lambda n: sf.method(n, spec.Basic.QosOk())[:-1] + b'\x00', 501),
    ('unknown frame type', lambda n: b'\x05\x00\x00\x00\x00\x00\x00\xce', 501),
    ('heartbeat on a channel', lambda n: b'\x08\x00\x01\x00\x00\x00\x00\xce', 501),
    ('oversized frame', lambda n: b'\x01\x00\x00\x7f\x00\x00\x00', 501),
]


@pytest.mark.parametrize('state', CONNECTION_STATES[1:] + CHANNEL_STATES)
@pytest.mark.parametrize(('label', 'build', 'code'), FRAME_CASES, ids=[c[0] for c in FRAME_CASES])
def test_bad_frames_close_with_code(
    state: str, label: str, build: Callable[[int], bytes], code: int
) -> None:
    core, number = core_in(state)
    if state == 'CLOSING' and code in (504, 505):
        number = 0  # channel 1 is still known while closing
    core.data_to_send()
    evs = core.receive_data(build(number), 0.0)
    assert_closed_with(core, evs, code)


@pytest.mark.parametrize(
    ('label', 'data'),
    [
        ('method inside content', sf.method(1, spec.Basic.Deliver('t', 1, False, '', 'k'))),
        ('second header', _header(1)),
        ('body longer than announced', frame.Body(1, b'x' * 20).marshal()),
    ],
)
def test_content_sequence_violations_are_505(label: str, data: bytes) -> None:
    core = open_core()
    open_channel(core)
    deliver = sf.method(1, spec.Basic.Deliver('t', 1, False, '', 'k'))
    header = frame.Header(1, 10, spec.BasicProperties()).marshal()
    evs = core.receive_data(deliver + header + data, 0.0)
    assert_closed_with(core, evs, 505)


def test_protocol_header_mid_stream_is_501() -> None:
    core = open_core()
    evs = core.receive_data(b'AMQP\x00\x00\x09\x01', 0.0)
    assert_closed_with(core, evs, 501)


def test_events_before_violation_are_kept() -> None:
    core = open_core()
    open_channel(core)
    evs = core.receive_data(sf.deliver(1, b'ok') + _body(1), 0.0)
    assert [type(e).__name__ for e in evs] == [
        'MessageDelivered',
        'ChannelClosed',
        'ConnectionClosed',
    ]


# --------------------------------------------------------------------------- fuzz


@settings(max_examples=300)
@given(chunks=st.lists(st.binary(max_size=64), max_size=8))
def test_random_bytes_after_handshake(chunks: list[bytes]) -> None:
    core = open_core()
    open_channel(core)
    for chunk in chunks:
        try:
            evs = core.receive_data(chunk, 1.0)
        except exceptions.AMQPError:
            return
        assert all(isinstance(e, events.Event) for e in evs)


_VALID_STREAM = (
    sf.deliver(1, b'hello', delivery_tag=1)
    + sf.method(1, spec.Basic.Ack(delivery_tag=1))
    + sf.heartbeat()
    + sf.deliver(1, b'x' * 300, delivery_tag=2)
)


@settings(max_examples=300)
@given(
    position=st.integers(min_value=0, max_value=len(_VALID_STREAM) - 1),
    value=st.integers(min_value=0, max_value=255),
)
def test_mutated_stream(position: int, value: int) -> None:
    core = open_core()
    open_channel(core)
    data = bytearray(_VALID_STREAM)
    data[position] = value
    try:
        evs = core.receive_data(bytes(data), 1.0)
    except exceptions.AMQPError:
        return
    assert all(isinstance(e, events.Event) for e in evs)
    if core.is_closed:
        assert isinstance(evs[-1], events.ConnectionClosed)
