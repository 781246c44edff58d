"""The receive-path limits of docs/limits.md: each is refused before anything is allocated or
awaited for it, with a clean Connection.Close (reply code as AMQP says) and a
``ConnectionClosed`` event -- never a MemoryError, RecursionError or IndexError."""

from __future__ import annotations

import struct
import tracemalloc
from typing import Any, Callable

import pytest

from pika import exceptions, frame, spec
from pika._core import ConnectionCore, events
from pika._limits import DEFAULT_MAX_MESSAGE_SIZE, HANDSHAKE_FRAME_MAX, MAX_TABLE_DEPTH
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import make_core, names, open_channel, open_core

FRAME_MAX = 16384
#: An allocation above this during a refusal means the core allocated for the bogus size.
SMALL = 1024 * 1024
_FRAME_HEAD = struct.Struct('>BHI')


def closed_with(core: ConnectionCore, evs: list[Any], code: int) -> exceptions.ConnectionClosed:
    """The core is closed, the last event carries ``code`` and Connection.Close was queued."""
    assert core.is_closed
    final = evs[-1]
    assert isinstance(final, (events.ConnectionClosed, events.ConnectionOpenFailed)), evs
    error = final.error
    assert isinstance(error, exceptions.ConnectionClosed), error
    assert error.reply_code == code, error
    closes = [
        m for m in sf.methods(bytes(core.data_to_send())) if isinstance(m, spec.Connection.Close)
    ]
    assert [c.reply_code for c in closes] == [code]
    return error


def peak_while(action: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``action``; return its result and the peak of memory traced meanwhile."""
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def consuming_core(frame_max: int = FRAME_MAX, **params: Any) -> ConnectionCore:
    """An open core with channel 1 consuming ``ctag1``; output drained."""
    core = open_core(frame_max=frame_max, tune_kwargs={'frame_max': frame_max}, **params)
    channel = open_channel(core)
    channel.rpc(spec.Basic.Consume(queue='q', consumer_tag='ctag1'))
    core.receive_data(sf.method(1, spec.Basic.ConsumeOk('ctag1')), 0.0)
    core.data_to_send()
    return core


def deliver_method(channel: int = 1, tag: int = 1) -> bytes:
    return sf.method(channel, spec.Basic.Deliver('ctag1', tag, False, 'amq.direct', 'rk'))


def header_frame(body_size: int, channel: int = 1) -> bytes:
    return frame.Header(channel, body_size, spec.BasicProperties()).marshal()


# --------------------------------------------------------------------------- frame size


def oversized_head(channel: int, size: int, frame_type: int = 1) -> bytes:
    """The 7-byte head of a frame declaring ``size`` payload bytes (the payload never comes)."""
    return _FRAME_HEAD.pack(frame_type, channel, size)


@pytest.mark.parametrize('size', [FRAME_MAX - 7, 2**31, 2**32 - 1])
@pytest.mark.parametrize('channel', [0, 1, 9])
def test_a_frame_above_frame_max_is_refused_at_its_head(channel: int, size: int) -> None:
    core = consuming_core()
    evs, peak = peak_while(lambda: core.receive_data(oversized_head(channel, size), 0.0))
    error = closed_with(core, evs, spec.FRAME_ERROR)
    assert f'exceeds frame_max {FRAME_MAX}' in str(error)
    assert peak < SMALL


def test_a_frame_of_exactly_frame_max_is_accepted() -> None:
    core = consuming_core()
    payload = b'x' * (FRAME_MAX - 8)
    evs = core.receive_data(deliver_method() + header_frame(len(payload)), 0.0)
    evs += core.receive_data(frame.Body(1, payload).marshal(), 0.0)
    assert names(evs) == ['MessageDelivered'] and evs[0].body == payload


def test_the_in_place_method_path_refuses_an_oversized_method_frame() -> None:
    """A whole method frame on an open channel, one byte over frame_max (the path that decodes
    method frames without frame objects must not take it)."""
    core = consuming_core()
    method = sf.method(1, spec.Basic.QosOk())
    payload = method[7:-1] + b'\x00' * (FRAME_MAX - 8 - len(method[7:-1]) + 1)
    evs = core.receive_data(_FRAME_HEAD.pack(1, 1, len(payload)) + payload + b'\xce', 0.0)
    closed_with(core, evs, spec.FRAME_ERROR)


@pytest.mark.parametrize('oversized', ['method', 'header', 'body'])
def test_the_delivery_batch_refuses_any_oversized_frame(oversized: str) -> None:
    """decode_deliveries takes runs of deliveries; a set with one frame over the limit is
    refused after the good sets before it are delivered."""
    core = consuming_core()
    good = sf.deliver(1, b'ok', 1)
    bad_size = 2**32 - 1
    if oversized == 'method':
        bad = oversized_head(1, bad_size) + b'\x00\x3c\x00\x3c' + b'\x00' * 20
    elif oversized == 'header':
        bad = deliver_method(tag=2) + oversized_head(1, bad_size, 2) + b'\x00\x3c' + b'\x00' * 20
    else:
        bad = deliver_method(tag=2) + header_frame(100) + oversized_head(1, bad_size, 3)
        bad += b'\x00' * 20
    evs, peak = peak_while(lambda: core.receive_data(good * 3 + bad, 0.0))
    assert names(evs)[:3] == ['MessageDelivered'] * 3
    closed_with(core, evs, spec.FRAME_ERROR)
    assert peak < SMALL


@pytest.mark.parametrize('into', [False, True])
def test_a_large_message_read_in_place_refuses_an_oversized_body_frame(into: bool) -> None:
    """While a large body is read into its own buffer, a body frame head over frame_max ends
    the connection as soon as its 7 bytes are in."""
    core = consuming_core()
    body = b'b' * (400 * 1024)
    data = sf.deliver(1, body, 1, frame_max=FRAME_MAX)
    first = data[: len(data) // 2]
    cut = first.rindex(b'\xce\x03\x00\x01') + 1  # the start of a body frame
    evs = core.receive_data(data[:cut], 0.0)
    assert evs == [] and core.large_message is not None
    bad = oversized_head(1, 2**31)
    if into:
        room = core.receive_buffer()
        assert room is not None
        room[: len(bad)] = bad
        evs = core.received_into(len(bad), 0.0)
    else:
        evs = core.receive_data(bad, 0.0)
    closed_with(core, evs, spec.FRAME_ERROR)
    assert core.large_message is None


def test_before_tune_frames_are_capped_at_the_handshake_limit() -> None:
    core = make_core()
    head = oversized_head(0, HANDSHAKE_FRAME_MAX - 7)
    evs, peak = peak_while(lambda: core.receive_data(head, 0.0))
    assert names(evs) == ['ConnectionOpenFailed']
    assert isinstance(evs[0].error, exceptions.ConnectionClosed)
    assert evs[0].error.reply_code == spec.FRAME_ERROR
    assert peak < SMALL


def test_a_start_of_exactly_the_handshake_limit_is_accepted() -> None:
    core = make_core()
    start = sf.start(server_properties={'pad': 'x' * 100})
    pad = HANDSHAKE_FRAME_MAX - len(start)
    start = sf.start(server_properties={'pad': 'x' * (100 + pad)})
    assert len(start) == HANDSHAKE_FRAME_MAX
    assert core.receive_data(start, 0.0) == []
    assert core.state.name == 'START_OK_SENT'


@pytest.mark.parametrize('frame_max', [1, 8, 4095])
def test_tune_with_frame_max_below_the_amqp_minimum_is_refused(frame_max: int) -> None:
    core = make_core(heartbeat=0)
    core.receive_data(sf.start(), 0.0)
    core.data_to_send()
    evs = core.receive_data(sf.tune(frame_max=frame_max), 0.0)
    assert names(evs) == ['ConnectionOpenFailed']
    error = closed_with(core, evs, spec.NOT_ALLOWED)
    assert f'frame_max {frame_max} is below the AMQP minimum 4096' in str(error)


@pytest.mark.parametrize(('server', 'negotiated'), [(0, 131072), (4096, 4096), (2**32 - 1, 131072)])
def test_tune_frame_max_zero_or_huge_keeps_ours(server: int, negotiated: int) -> None:
    core = open_core(tune_kwargs={'frame_max': server})
    assert core.frame_max == negotiated
    evs = core.receive_data(oversized_head(0, negotiated - 7), 0.0)
    closed_with(core, evs, spec.FRAME_ERROR)


# --------------------------------------------------------------------------- max_message_size


def assert_too_large(core: ConnectionCore, evs: list[Any], body_size: int, limit: int) -> None:
    error = closed_with(core, evs, spec.RESOURCE_ERROR)
    assert f'message body of {body_size} bytes on channel 1 exceeds max_message_size {limit}' in (
        str(error)
    )


@pytest.mark.parametrize('split', [False, True])
def test_a_header_announcing_2_63_bytes_allocates_nothing_for_them(split: bool) -> None:
    """The default limit (128 MiB) refuses it; together with its method or a read later."""
    core = consuming_core()
    assert core.max_message_size == DEFAULT_MAX_MESSAGE_SIZE == 134217728
    huge = 2**63
    data = sf.deliver(1, b'ok', 1) + deliver_method(tag=2) + header_frame(huge)
    data += frame.Body(1, b'x' * 100).marshal()

    def feed() -> list[Any]:
        if not split:
            return core.receive_data(data, 0.0)
        cut = len(data) - 120  # inside the header frame
        return core.receive_data(data[:cut], 0.0) + core.receive_data(data[cut:], 0.0)

    evs, peak = peak_while(feed)
    assert names(evs) == ['MessageDelivered', 'ChannelClosed', 'ConnectionClosed']
    assert_too_large(core, evs, huge, DEFAULT_MAX_MESSAGE_SIZE)
    assert peak < SMALL


def test_a_body_within_the_limit_is_delivered_and_one_byte_more_is_refused() -> None:
    core = consuming_core(max_message_size=1000)
    evs = core.receive_data(sf.deliver(1, b'a' * 1000, 1), 0.0)
    assert names(evs) == ['MessageDelivered'] and len(evs[0].body) == 1000
    evs = core.receive_data(sf.deliver(1, b'b' * 1001, 2), 0.0)
    assert_too_large(core, evs, 1001, 1000)


def test_the_delivery_batch_stops_before_a_body_above_the_limit() -> None:
    """decode_deliveries takes single-frame bodies below frame_max; max_message_size, when
    smaller, is its bound too."""
    core = consuming_core(max_message_size=50)
    evs = core.receive_data(sf.deliver(1, b'a' * 50, 1) * 3 + sf.deliver(1, b'b' * 51, 4), 0.0)
    assert names(evs) == ['MessageDelivered'] * 3 + ['ChannelClosed', 'ConnectionClosed']
    assert_too_large(core, evs, 51, 50)


def test_a_large_body_is_refused_before_its_in_place_buffer_is_allocated() -> None:
    """60 MiB is below the read-in-place cap: the refusal comes before a LargeMessage (and
    its first buffer) is made for it."""
    core = consuming_core(max_message_size=1024 * 1024)
    size = 60 * 1024 * 1024
    data = deliver_method() + header_frame(size) + oversized_head(1, FRAME_MAX - 8, 3)
    evs, peak = peak_while(lambda: core.receive_data(data + b'x' * 1000, 0.0))
    assert_too_large(core, evs, size, 1024 * 1024)
    assert core.large_message is None
    assert peak < SMALL


@pytest.mark.parametrize('kind', ['return', 'get_ok'])
def test_returned_and_fetched_messages_are_bounded_too(kind: str) -> None:
    core = consuming_core(max_message_size=10)
    if kind == 'return':
        method = sf.method(1, spec.Basic.Return(312, 'NO_ROUTE', 'x', 'rk'))
    else:
        core.channels[1].rpc(spec.Basic.Get(queue='q'))
        method = sf.method(1, spec.Basic.GetOk(1, False, '', 'q', 0))
    evs = core.receive_data(method + header_frame(2**40), 0.0)
    assert_too_large(core, evs, 2**40, 10)


def test_a_message_swallowed_while_the_channel_closes_is_bounded_too() -> None:
    """Deliveries still arriving on a closing channel are dropped, not assembled past the
    limit."""
    core = consuming_core()
    core.channels[1].close()
    core.data_to_send()
    evs = core.receive_data(deliver_method() + header_frame(2**63), 0.0)
    assert_too_large(core, evs, 2**63, DEFAULT_MAX_MESSAGE_SIZE)


def test_max_message_size_is_a_validated_parameter_and_url_option() -> None:
    from pika import ConnectionParameters, URLParameters

    assert ConnectionParameters().max_message_size == DEFAULT_MAX_MESSAGE_SIZE
    assert ConnectionParameters(max_message_size=4096).max_message_size == 4096
    assert URLParameters('amqp://h/?max_message_size=2048').max_message_size == 2048
    assert URLParameters('amqp://h/').max_message_size == DEFAULT_MAX_MESSAGE_SIZE
    for bad, error in ((0, ValueError), (-1, ValueError), ('1', TypeError), (1.5, TypeError)):
        with pytest.raises(error, match='max_message_size'):
            ConnectionParameters(max_message_size=bad)
    with pytest.raises(ValueError, match='max_message_size'):
        URLParameters('amqp://h/?max_message_size=lots')
    with pytest.raises(TypeError):  # keyword only: pika 1.x's positional order is unchanged
        positional = ('h', 5672, '/', None, 1, 4096, 0, None, 1, 1.0, 1.0, 1.0, 'en_US')
        ConnectionParameters(*positional, None, None, None, 1024)


# --------------------------------------------------------------------------- channel ids


@pytest.mark.parametrize(
    ('number', 'what'),
    [(2, 'unknown channel 2'), (11, 'channel 11 above the negotiated channel_max 10')],
)
@pytest.mark.parametrize('whole', [True, False])
def test_a_frame_for_a_channel_not_open_is_refused_at_its_head(
    number: int, what: str, whole: bool
) -> None:
    """Whole, or only its head in (then without waiting for the rest)."""
    core = open_core(channel_max=10, tune_kwargs={'channel_max': 2047})
    assert core.channel_max == 10
    open_channel(core)
    data = sf.method(number, spec.Basic.QosOk()) if whole else oversized_head(number, 9000)
    evs, peak = peak_while(lambda: core.receive_data(data, 0.0))
    error = closed_with(core, evs, spec.CHANNEL_ERROR)
    assert f'CHANNEL_ERROR - frame for {what}' in str(error)
    assert peak < SMALL


def test_a_broker_channel_max_of_0_leaves_ours() -> None:
    core = open_core(tune_kwargs={'channel_max': 0})
    assert core.channel_max == 65535
    evs = core.receive_data(oversized_head(65535, 100), 0.0)
    assert 'frame for unknown channel 65535' in str(closed_with(core, evs, spec.CHANNEL_ERROR))


def test_the_broker_channel_max_bounds_open_channel() -> None:
    core = open_core(tune_kwargs={'channel_max': 2})
    assert core.channel_max == 2
    assert [core.open_channel().channel_number for _ in range(2)] == [1, 2]
    with pytest.raises(exceptions.NoFreeChannels):
        core.open_channel()
    with pytest.raises(exceptions.InvalidChannelNumber):
        core.open_channel(3)


def test_frames_for_unknown_channels_are_still_skipped_after_our_close() -> None:
    """In CLOSE_SENT the broker may still send what it sent before seeing our Close: frames
    for channels already gone are dropped, whole, as before."""
    core = open_core()
    assert core.close() == []
    core.data_to_send()
    late = sf.method(5, spec.Basic.QosOk())
    assert core.receive_data(late[:9], 0.0) == []
    assert core.receive_data(late[9:], 0.0) == []
    evs = core.receive_data(sf.connection_close_ok(), 0.0)
    assert names(evs) == ['ConnectionClosed']
    assert isinstance(evs[0].error, exceptions.ConnectionClosedByClient)


# --------------------------------------------------------------------------- table nesting


def nested_headers_frame(levels: int, body_size: int) -> bytes:
    """A content header frame whose ``headers`` table is ``levels`` tables deep."""
    table = b'\x00\x00\x00\x00'
    for _ in range(levels - 1):
        entry = b'\x01kF' + table
        table = struct.pack('>I', len(entry)) + entry
    payload = struct.pack('>HHQH', 60, 0, body_size, 0x2000) + table
    return _FRAME_HEAD.pack(2, 1, len(payload)) + payload + b'\xce'


@pytest.mark.parametrize('levels', [MAX_TABLE_DEPTH + 1, 1000])
def test_headers_nested_too_deep_close_with_a_frame_error(levels: int) -> None:
    core = consuming_core()
    ok = (
        deliver_method() + nested_headers_frame(MAX_TABLE_DEPTH, 2) + frame.Body(1, b'ok').marshal()
    )
    evs = core.receive_data(ok, 0.0)
    assert names(evs) == ['MessageDelivered']
    headers = evs[0].properties.headers
    for _ in range(MAX_TABLE_DEPTH - 1):
        headers = headers['k']
    assert headers == {}
    bad = deliver_method(tag=2) + nested_headers_frame(levels, 2) + frame.Body(1, b'no').marshal()
    evs = core.receive_data(bad, 0.0)
    error = closed_with(core, evs, spec.FRAME_ERROR)
    assert 'nested deeper than 64 levels' in str(error)


def test_arguments_nested_too_deep_are_refused_when_sent() -> None:
    core = open_core()
    channel = open_channel(core)
    arguments: dict[str, Any] = {}
    arguments['self'] = arguments
    with pytest.raises(exceptions.UnsupportedAMQPFieldException, match='nested deeper'):
        channel.rpc(spec.Queue.Declare(queue='q', arguments=arguments))
    assert core.data_to_send() == b''


# --------------------------------------------------------------------------- string lengths


def test_a_header_string_claiming_4_gib_in_a_small_frame_is_refused_without_slicing() -> None:
    """The delivery batch decodes headers from the whole receive buffer: the frame's end, not
    the buffer's, bounds them (here 2 MiB of body frames follow the header)."""
    core = consuming_core()
    entry = b'\x01kS' + struct.pack('>I', 2**32 - 1) + b'x' * 60
    table = struct.pack('>I', len(entry)) + entry
    size = 16000 * 130
    payload = struct.pack('>HHQH', 60, 0, size, 0x2000) + table
    header = _FRAME_HEAD.pack(2, 1, len(payload)) + payload + b'\xce'
    bodies = frame.Body(1, b'b' * 16000).marshal() * 130
    data = deliver_method() + header + bodies
    evs, peak = peak_while(lambda: core.receive_data(data, 0.0))
    error = closed_with(core, evs, spec.FRAME_ERROR)
    assert 'long string of 4294967295 bytes' in str(error)
    assert peak < SMALL


def test_a_method_long_string_claiming_4_gib_is_refused() -> None:
    """Connection.Start's mechanisms (a long string) claiming 4 GiB in a 300-byte frame."""
    core = make_core()
    start = sf.start()
    mechanisms = struct.pack('>I', len('PLAIN AMQPLAIN')) + b'PLAIN AMQPLAIN'
    at = start.index(mechanisms)
    bad = start[:at] + struct.pack('>I', 2**32 - 1) + start[at + 4 :]
    evs, peak = peak_while(lambda: core.receive_data(bad, 0.0))
    assert names(evs) == ['ConnectionOpenFailed']
    assert evs[0].error.reply_code == spec.FRAME_ERROR
    assert 'overruns' in str(evs[0].error)
    assert peak < SMALL


def test_a_body_in_one_byte_frames_costs_about_its_size() -> None:
    """The assembler keeps one buffer: a list of one-byte fragments would cost ~40 bytes per
    body byte (2.4 MB here), so max_message_size would not bound memory."""
    core = consuming_core()
    size = 60000  # below the whole-body paths' minimum: assembled frame by frame
    body = bytes(range(256)) * (size // 256) + b'e' * (size % 256)
    frames = b''.join(frame.Body(1, body[i : i + 1]).marshal() for i in range(size))
    chunks = [frames[i : i + 65536] for i in range(0, len(frames), 65536)]
    assert core.receive_data(deliver_method() + header_frame(size), 0.0) == []

    def feed() -> list[Any]:
        evs: list[Any] = []
        for chunk in chunks:
            evs += core.receive_data(chunk, 0.0)
        return evs

    evs, peak = peak_while(feed)
    assert names(evs) == ['MessageDelivered'] and evs[0].body == body
    assert peak < 4 * size


# --------------------------------------------------------------------------- frames we send


def small_frames_core() -> ConnectionCore:
    core = open_core(frame_max=4096, tune_kwargs={'frame_max': 4096})
    open_channel(core)
    return core


def test_a_method_larger_than_frame_max_raises_at_the_call_and_sends_nothing() -> None:
    core = small_frames_core()
    channel = core.channels[1]
    declare = spec.Queue.Declare(queue='q', arguments={'x-big': 'a' * 5000})
    with pytest.raises(exceptions.FrameTooLargeError, match=r'Queue\.Declare frame of 5\d+ bytes'):
        channel.rpc(declare)
    assert core.data_to_send() == b''
    channel.rpc(spec.Queue.Declare(queue='q', arguments={'x-ok': 'a' * 4000}))  # fits
    assert [type(m) for m in sf.methods(bytes(core.data_to_send()))] == [spec.Queue.Declare]


def test_headers_larger_than_frame_max_raise_at_publish_and_send_nothing() -> None:
    core = small_frames_core()
    channel = core.channels[1]
    properties = spec.BasicProperties(headers={'big': 'a' * 5000})
    with pytest.raises(exceptions.FrameTooLargeError, match='content header frame of'):
        channel.publish('', 'q', b'body', properties)
    assert core.data_to_send() == b''
    channel.publish('', 'q', b'x' * 10000, spec.BasicProperties(headers={'ok': 'a' * 4000}))
    sent = sf.parse_frames(bytes(core.data_to_send()))
    assert [type(f).__name__ for f in sent] == ['Method', 'Header', 'Body', 'Body', 'Body']


def test_an_update_secret_larger_than_frame_max_raises() -> None:
    core = small_frames_core()
    with pytest.raises(exceptions.FrameTooLargeError) as caught:
        core.update_secret('s3cret' * 1000, 'rotate')
    assert 's3cret' not in str(caught.value)
    assert core.data_to_send() == b''
