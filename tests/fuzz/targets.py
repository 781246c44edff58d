"""The fuzz targets: one function per fuzzed surface, each checking its invariants.

Every target takes one input (a few control bytes, then wire bytes) and raises
``AssertionError``, or lets any exception that is not a :class:`pika.exceptions.AMQPError`
escape, when an invariant breaks; ``tools/fuzz.py`` runs them under atheris (coverage-guided)
or with the plain random driver, and ``tests/unit/test_fuzz_campaign.py`` in CI.

* ``frame``: ``decode_frame`` over bytes, bytearray and memoryview with several frame_max;
  only AMQPError escapes, every decode loop ends, ``decode_frames`` and the Deliver-set
  decoder (``decode_deliveries``, at every frame start) agree with the frame-by-frame decoder.
* ``table``: ``pika.data.decode_table``/``decode_value`` and the fast table decoder agree,
  only AMQPError escapes, and what decodes re-encodes to an equal table.
* ``core``: a ``ConnectionCore`` after a valid handshake (or during it) fed server frames in
  pieces of fuzzed sizes with ``now`` advancing, ticks and user operations in between. Only
  AMQPError escapes any call, the events follow the documented lifecycle, everything the
  client sends is well-formed frames, and no buffer grows past what was fed or what
  max_message_size allows.

Memory: ``tools/fuzz.py`` caps the address space of the fuzz process, so an allocation sized
by a claimed length (gigabytes from a 4-byte field) fails with ``MemoryError``, which is not an
AMQPError: a finding.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from pika import data as amqp_data
from pika import exceptions, frame, spec
from pika._core import content, events, large_message, receiving
from pika._core.connection import ConnectionCore
from pika._core.large_message import FIRST_BUFFER_MAX, LOOKAHEAD, body_frames_size
from pika._parameters import ConnectionParameters
from pika._wire import deliveries
from tests.fuzz import mutators
from tests.helpers.deliveries import channel_at, check_run

__all__ = ['TARGETS', 'Target', 'core_target', 'frame_target', 'table_target']

Buffer = Union[bytes, bytearray, memoryview]

# ------------------------------------------------------------------------------------ frame

_FRAME_MAXES: tuple[Optional[int], ...] = (None, 0, 4096, 131072, 150, 9)
_BUFFER_TYPES: tuple[Callable[[bytes], Buffer], ...] = (bytes, bytearray, memoryview)


_FRAME_FIELDS = ('method', 'properties', 'body_size', 'fragment', 'major', 'minor', 'revision')


def _show(value: Any) -> str:
    """A comparable form of a decoded value (``repr``: NaN equals NaN, types show)."""
    if isinstance(value, frame.Frame):
        fields = [type(value).__name__, value.channel_number]
        for name in _FRAME_FIELDS:
            field = getattr(value, name, None)
            fields.append(
                (type(field).__name__, vars(field)) if hasattr(field, '__dict__') else field
            )
        return repr(fields)
    return repr(value)


def _decode_loop(
    buf: Buffer, frame_max: Optional[int], starts: list[int]
) -> tuple[list[frame.Frame], bool]:
    """Decode frame by frame until more data is needed or an AMQPError; check that each step
    consumes at least one frame and the loop ends. Returns the frames and whether it raised;
    ``starts`` receives the offset of each frame."""
    frames: list[frame.Frame] = []
    offset = 0
    for _ in range(len(buf) // frame.FRAME_OVERHEAD + 2):
        starts.append(offset)
        try:
            consumed, value = frame.decode_frame(buf, offset, frame_max)
        except exceptions.AMQPError:
            return frames, True
        if consumed == 0:
            assert value is None
            return frames, False
        assert isinstance(value, frame.Frame), value
        assert frame.FRAME_OVERHEAD <= consumed <= len(buf) - offset
        if frame_max and not isinstance(value, frame.ProtocolHeader):
            assert consumed <= frame_max
        frames.append(value)
        offset += consumed
    raise AssertionError('decode loop did not terminate')


def _batched_loop(buf: Buffer, frame_max: Optional[int]) -> tuple[list[frame.Frame], bool]:
    """The same with ``decode_frames``."""
    frames: list[frame.Frame] = []
    offset = 0
    for _ in range(len(buf) // frame.FRAME_OVERHEAD + 2):
        try:
            consumed, got = frame.decode_frames(buf, offset, frame_max)
        except exceptions.AMQPError:
            return frames, True
        if consumed == 0:
            assert got == []
            return frames, False
        assert got
        frames.extend(got)
        offset += consumed
    raise AssertionError('decode_frames loop did not terminate')


def _check_deliveries(buf: Buffer, offset: int, frame_max: Optional[int]) -> None:
    """``decode_deliveries`` (for the channel of the frame at ``offset``) takes exactly what
    the frame decoder reads, set after set; a memoryview it declines."""
    channel = channel_at(buf, offset)
    check_run(buf, offset, frame_max, channel, same=lambda got, want: _show(got) == _show(want))


def frame_target(data: bytes) -> None:
    """Control byte: frame_max (low 3 bits), buffer type (next 2); then wire bytes."""
    if not data:
        return
    frame_max = _FRAME_MAXES[data[0] % len(_FRAME_MAXES)]
    wire = data[1:]
    buf = _BUFFER_TYPES[(data[0] >> 3) % 3](wire)
    starts: list[int] = []
    frames, raised = _decode_loop(buf, frame_max, starts)
    batched, batched_raised = _batched_loop(buf, frame_max)
    assert [_show(f) for f in batched] == [_show(f) for f in frames]
    assert batched_raised == raised
    for offset in [0, *starts[:6]]:
        _check_deliveries(buf, offset, frame_max)


# ------------------------------------------------------------------------------------ table

#: What the fast table decoder may raise on garbage: its callers in pika.frame wrap these.
_FAST_TABLE_ERRORS = (
    exceptions.AMQPError,
    struct.error,
    IndexError,
    ValueError,
    KeyError,
    TypeError,
    OverflowError,
)


def _outcome(decode: Callable[[Any, int], Any], buf: Buffer, errors: tuple[type, ...]) -> Any:
    try:
        return decode(buf, 0)
    except errors as exc:
        return ('error', isinstance(exc, exceptions.AMQPError) or type(exc).__name__)


def table_target(data: bytes) -> None:
    """Control byte: buffer type; then an encoded field table."""
    if not data:
        return
    wire = data[1:]
    buf = _BUFFER_TYPES[data[0] % 3](wire)
    decoded = _outcome(amqp_data.decode_table, buf, (exceptions.AMQPError,))
    _outcome(amqp_data.decode_value, buf, (exceptions.AMQPError,))
    if not isinstance(buf, memoryview):
        fast = _outcome(deliveries.decode_table, buf, _FAST_TABLE_ERRORS)
        if decoded[0] == 'error':
            assert fast[0] == 'error', (decoded, fast)
        else:
            assert _show(fast) == _show(decoded), (fast, decoded)
    if decoded[0] == 'error':
        return
    table, end = decoded
    assert end == 4 + int.from_bytes(wire[:4], 'big')
    pieces: list[bytes] = []
    try:
        amqp_data.encode_table(pieces, table)
    except exceptions.UnsupportedAMQPFieldException:
        return  # an unsigned 64-bit value above 2**63 - 1, a decimal with > 255 places...
    again, _ = amqp_data.decode_table(b''.join(pieces), 0)
    assert _show(_normal(again)) == _show(_normal(table)), (table, again)


def _normal(value: Any) -> Any:
    """Compare decoded values by meaning: a Decimal by value (the encoder may normalise its
    exponent), an ``L`` or ``B`` integer by value, byte arrays and strings as they are."""
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normal(item) for item in value]
    if hasattr(value, 'is_finite'):  # Decimal
        return ('decimal', str(value.normalize()))
    return value


# ------------------------------------------------------------------------------------ core

_TUNE_FRAME_MAX = (131072, 4096, 8192, 1 << 20, 0)
_TUNE_CHANNEL_MAX = (2047, 0, 2, 65535)
_HEARTBEAT = (0, 0, 5, 60)
_MAX_MESSAGE = (None, 1 << 20, 300 * 1024, 4096)
_PIECES = (1, 2, 7, 8, 11, 64, 333, 4096, 65536)
_STEPS = (0.0, 0.0, 0.001, 1.0, 7.0, 31.0, 200.0)
_TERMINAL = (events.ConnectionClosed, events.ConnectionOpenFailed)


def _server(method: Any, channel: int = 0) -> bytes:
    return frame.Method(channel, method).marshal()


@dataclass
class _Session:
    """A core being fed, with what the lifecycle checks remember."""

    core: ConnectionCore
    rng: random.Random
    max_message_size: int
    now: float = 0.0
    opened: bool = False
    finished: bool = False
    fed: int = 0  # bytes received so far

    def check(self, got: list[events.Event]) -> None:
        """The documented lifecycle: one terminal event, last, and then nothing at all."""
        assert isinstance(got, list)
        for index, event in enumerate(got):
            assert isinstance(event, events.Event), event
            assert not self.finished, f'{event!r} after the connection finished'
            if isinstance(event, events.ConnectionOpened):
                assert not self.opened, 'ConnectionOpened twice'
                self.opened = True
            if isinstance(event, (events.ChannelClosed, *_TERMINAL)):
                assert isinstance(event.error, exceptions.AMQPError), event
            if isinstance(event, _TERMINAL):
                assert index == len(got) - 1, 'events after the terminal event'
                self.finished = True
        if self.finished:
            assert self.core.is_closed and not self.core.channels
        self.check_output()
        self.check_memory()

    def check_output(self) -> None:
        """Whatever the client sends is whole, well-formed frames (after the protocol header)."""
        out = bytes(self.core.data_to_send())
        offset = 0
        while offset < len(out):
            consumed, value = frame.decode_frame(out, offset)
            assert value is not None, f'client sent a partial frame: {out[offset:]!r}'
            offset += consumed

    def check_memory(self) -> None:
        """A message being read in place never takes more than max_message_size allows, nor
        more than twice the bytes received (a claimed body size alone allocates nothing)."""
        large = self.core.large_message
        if large is not None:
            allowed = body_frames_size(self.max_message_size, self.core.frame_max) + LOOKAHEAD
            assert len(large.view) <= allowed, (len(large.view), allowed)
            received = max(FIRST_BUFFER_MAX, 2 * self.fed) + 65536 + 2 * LOOKAHEAD
            assert len(large.view) <= received, (len(large.view), self.fed)

    def feed(self, piece: bytes) -> None:
        core = self.core
        self.fed += len(piece)
        large = core.large_message
        if large is not None and self.rng.random() < 0.5:  # read in place, as the adapters do
            room = core.receive_buffer()
            assert room is not None
            taken = piece[: len(room)]
            room[: len(taken)] = taken
            self.check(core.received_into(len(taken), self.now))
            piece = piece[len(taken) :]
            if not piece:
                return
        kind = self.rng.randrange(4)  # transports hand over bytes, bytearray or memoryview
        data: Buffer = piece if kind < 2 else bytearray(piece) if kind == 2 else memoryview(piece)
        self.check(core.receive_data(data, self.now))

    def user_operation(self) -> None:
        """Something an application may do between reads; wrong-state errors are fine."""
        core = self.core
        choice = self.rng.randrange(6)
        try:
            channel = core.channels.get(self.rng.choice((1, 2, 3)))
            if choice == 0 and channel is not None:
                channel.publish('', 'rk', b'x' * self.rng.choice((0, 10, 5000)), None)
            elif choice == 1 and channel is not None:
                channel.send(spec.Basic.Ack(self.rng.choice((0, 1, 7)), False))
            elif choice == 2 and channel is not None:
                channel.close()
            elif choice == 3:
                self.check(core.close())
            elif choice == 4:
                core.open_channel()
            else:
                core.update_secret('token', 'refresh')
        except exceptions.AMQPError:
            pass
        self.check([])


def _make_core(control: bytes) -> tuple[ConnectionCore, int]:
    heartbeat = _HEARTBEAT[control[0] >> 4 & 3]
    max_message = _MAX_MESSAGE[control[0] >> 6]
    params = ConnectionParameters(heartbeat=heartbeat)
    if max_message is not None:
        params.max_message_size = max_message
    core = ConnectionCore(params)
    core.start()
    core.data_to_send()
    return core, params.max_message_size


def _handshake(session: _Session, control: bytes) -> None:
    """Open the connection and set channels up as the setup bits say."""
    core = session.core
    tune = spec.Connection.Tune(
        _TUNE_CHANNEL_MAX[control[0] >> 2 & 3], _TUNE_FRAME_MAX[control[0] % 5], 60
    )
    start = spec.Connection.Start(0, 9, {'product': 'fuzz'}, 'PLAIN', 'en_US')
    session.check(
        core.receive_data(_server(start) + _server(tune) + _server(spec.Connection.OpenOk()), 0.0)
    )
    if not core.is_open:
        return  # a tune the core refuses: the connection is already finished
    setup = control[3]
    numbers = range(1, min(core.channel_max or 3, 3) + 1)
    for number in numbers:
        core.open_channel(number)
    pending = 3 if setup & 8 else None
    opened = b''.join(_server(spec.Channel.OpenOk(), n) for n in numbers if n != pending)
    session.check(core.receive_data(opened, 0.0))
    first, second = core.channels[1], core.channels.get(2)
    if setup & 1:
        first.rpc(spec.Basic.Consume(queue='q', consumer_tag='ctag1'))
        session.check(core.receive_data(_server(spec.Basic.ConsumeOk('ctag1'), 1), 0.0))
    if setup & 4:
        first.rpc(spec.Confirm.Select())
        session.check(core.receive_data(_server(spec.Confirm.SelectOk(), 1), 0.0))
        first.publish('', 'rk', b'one', None)
    if setup & 16 and second is not None:
        second.rpc(spec.Queue.Declare(queue='q'))
    if setup & 2 and second is not None:
        second.close()
    session.check([])


#: Setup bit 64: the large-message thresholds scaled down (module, name, small value), so
#: inputs of a few KiB take the whole-body and read-in-place paths, grow their buffer, and
#: complete (the real thresholds start at 64 KiB, beyond the campaign's input size).
_SMALL_THRESHOLDS = (
    (content, 'LARGE_BODY_MIN', 256),
    (receiving, 'IN_PLACE_MIN', 512),
    (large_message, 'FIRST_BUFFER_MAX', 1024),
    (large_message, 'LOOKAHEAD', 64),
)


def core_target(data: bytes) -> None:
    """Control bytes: settings (tune, heartbeat, max_message_size), a seed for the piece sizes,
    time steps and user operations (2 bytes), setup bits; then the server's bytes."""
    if len(data) > 3 and data[3] & 64:
        saved = [getattr(module, name) for module, name, _ in _SMALL_THRESHOLDS]
        for module, name, value in _SMALL_THRESHOLDS:
            setattr(module, name, value)
        try:
            _core_run(data)
        finally:
            for (module, name, _), value in zip(_SMALL_THRESHOLDS, saved):
                setattr(module, name, value)
    else:
        _core_run(data)


def _core_run(data: bytes) -> None:
    control = data[:4].ljust(4, b'\x00')
    wire = data[4:]
    core, max_message = _make_core(control)
    rng = random.Random(control[1] << 8 | control[2])
    session = _Session(core, rng, max_message)
    if not control[3] & 32:  # else the fuzzed bytes start right after the protocol header
        _handshake(session, control)
    offset = 0
    while offset < len(wire) and not session.finished:
        size = rng.choice(_PIECES) if rng.random() < 0.8 else len(wire)
        session.feed(wire[offset : offset + size])
        offset += size
        session.now += rng.choice(_STEPS)
        if rng.random() < 0.25 and not session.finished:
            session.check(core.tick(session.now))
        if rng.random() < 0.05 and not session.finished:
            session.user_operation()
    if session.finished:
        assert core.receive_data(wire[:16] or b'\x08', session.now) == []
        assert core.tick(session.now + 1000) == []
        return
    session.check(core.tick(session.now + 1000.0))
    if not session.finished:
        final = core.connection_lost(None)
        session.check(final)
        assert session.finished, final


# ------------------------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Target:
    """A fuzz target: the function, its control-byte count and its structural mutator."""

    name: str
    run: Callable[[bytes], None]
    control_size: int
    mutate_body: Callable[..., bytes]
    #: modules whose line coverage the campaign reports
    modules: tuple[str, ...]

    def mutate(
        self, data: bytes, max_size: int, seed: int, byte_mutate: mutators.ByteMutator
    ) -> bytes:
        return mutators.mutate_input(
            data, max_size, seed, self.control_size, self.mutate_body, byte_mutate
        )


_CORE_MODULES = (
    'pika/_core/receiving.py',
    'pika/_core/connection.py',
    'pika/_core/channel_zero.py',
    'pika/_core/channel.py',
    'pika/_core/content.py',
    'pika/_wire/bodies.py',
    'pika/_core/large_message.py',
    'pika/_core/buffer.py',
    'pika/_core/heartbeat.py',
    'pika/_core/negotiation.py',
    'pika/_core/states.py',
)

_WIRE_MODULES = (
    'pika/frame.py',
    'pika/_wire/frames.py',
    'pika/_wire/decode.py',
    'pika/_wire/deliveries.py',
)

TARGETS: dict[str, Target] = {
    'frame': Target('frame', frame_target, 1, mutators.mutate_frames, _WIRE_MODULES),
    'table': Target(
        'table',
        table_target,
        1,
        mutators.mutate_table,
        ('pika/data.py', 'pika/_wire/deliveries.py'),
    ),
    'core': Target(
        'core',
        core_target,
        4,
        mutators.mutate_frames,
        (*_WIRE_MODULES, 'pika/data.py', *_CORE_MODULES),
    ),
}
