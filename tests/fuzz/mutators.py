"""Structure-aware mutations: bend one thing in a valid frame sequence or field table.

A fuzz input is a few control bytes (which the target reads as its settings) followed by wire
bytes. The frame mutator splits the wire bytes into frames by their size fields and then edits
at the frame level -- splice in a valid template, drop, duplicate or swap a frame, set a channel
number, frame type, size field, frame-end octet, method id, content body size or property flags
to a boundary value, or let the byte mutator (libFuzzer's, under atheris) change one payload and
fix up its size -- so most inputs get past the frame layer into the code behind it. The table
mutator does the same for field tables: it edits the decoded value (nests it deeper, adds a value
of another type) and re-encodes it, or bends a length or type octet in the bytes.
"""

from __future__ import annotations

import random
import struct
from typing import Any, Callable

from pika import data as amqp_data
from pika import exceptions, spec
from tests.fuzz import templates

__all__ = ['ByteMutator', 'mutate_frames', 'mutate_input', 'mutate_table', 'plain_byte_mutate']

ByteMutator = Callable[[bytes, int], bytes]

_HEAD = struct.Struct('>BHI')
_U64 = struct.Struct('>Q')
_U16 = struct.Struct('>H')
_U32 = struct.Struct('>I')
_CHANNELS = (0, 0, 1, 1, 1, 2, 3, 4, 2047, 2048, 65535)
_TYPES = (1, 1, 2, 3, 8, 0, 4, 7, 0x41, 0xCE, 0xFF)
_BODY_SIZES = (
    0,
    1,
    5,
    4095,
    65536,
    256 * 1024,
    1 << 20,
    32 << 20,
    64 << 20,
    128 << 20,
    (128 << 20) + 1,
    2**63,
    2**64 - 1,
)
_METHOD_IDS = (*tuple(spec.methods), 0, 4294967295, 3932160, 655615)


def plain_byte_mutate(data: bytes, max_size: int, rng: random.Random | None = None) -> bytes:
    """A byte mutator for runs without atheris: flip, set, insert, delete or repeat bytes."""
    rng = rng or random
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        pos = rng.randint(0, len(out))
        if op == 0 and pos < len(out):
            out[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and pos < len(out):
            out[pos] = rng.choice((0, 1, 0x7F, 0x80, 0xCE, 0xFF, rng.randrange(256)))
        elif op == 2:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3:
            del out[pos : pos + rng.randint(1, 8)]
        else:
            out[pos:pos] = out[pos : pos + rng.randint(1, 16)] * rng.randint(1, 4)
    return bytes(out[:max_size])


# ------------------------------------------------------------------------------------ frames


def split_frames(wire: bytes) -> list[bytearray]:
    """Cut ``wire`` into frames by their size fields (the last piece may be a partial frame or
    garbage; a protocol header is one 8-byte piece)."""
    pieces: list[bytearray] = []
    offset = 0
    while offset < len(wire):
        if len(wire) - offset < 8 or wire[offset] == 0x41:
            length = 8
        else:
            length = 8 + _HEAD.unpack_from(wire, offset)[2]
        pieces.append(bytearray(wire[offset : offset + length]))
        offset += length
    return pieces


def _set_size(piece: bytearray, size: int) -> None:
    if len(piece) >= 7:
        piece[3:7] = _U32.pack(size & 0xFFFFFFFF)


def _edit_payload(piece: bytearray, rng: random.Random, byte_mutate: ByteMutator) -> bytearray:
    """Mutate one frame's payload and keep its size field and frame end consistent."""
    if len(piece) < 8:
        return bytearray(byte_mutate(bytes(piece), 64))
    payload = byte_mutate(bytes(piece[7:-1]), max(16, 2 * (len(piece) - 8)))
    out = bytearray(piece[:7]) + payload + b'\xce'
    _set_size(out, len(payload))
    return out


def _edit_field(piece: bytearray, rng: random.Random) -> None:
    """Set a field the frame layer and the fast paths look at to a boundary value."""
    if len(piece) < 7:
        return
    choice = rng.randrange(8)
    if choice == 0:
        piece[1:3] = _U16.pack(rng.choice(_CHANNELS))
    elif choice == 1:
        piece[0] = rng.choice(_TYPES)
    elif choice == 2:
        size = len(piece) - 8
        _set_size(piece, rng.choice((size + 1, size - 1, 0, 4, 131064, 2**31, 2**32 - 1)))
    elif choice == 3:
        piece[-1] = rng.choice((0, 0xCD, 0xCF, rng.randrange(256)))
    elif choice == 4 and piece[0] == 1 and len(piece) >= 12:
        piece[7:11] = _U32.pack(rng.choice(_METHOD_IDS))
    elif choice == 5 and piece[0] == 2 and len(piece) >= 21:
        piece[11:19] = _U64.pack(rng.choice(_BODY_SIZES))
    elif choice == 6 and piece[0] == 2 and len(piece) >= 23:
        piece[19:21] = _U16.pack(rng.choice((0, 0xFFFF, 0x0001, 0x8000, rng.randrange(65536))))
    elif len(piece) > 12:  # a length octet of a string in the payload
        position = rng.randrange(11, len(piece) - 1)
        piece[position] = rng.choice((0, 1, 0xFF, 0x80))


def mutate_frames(
    wire: bytes, max_size: int, rng: random.Random, byte_mutate: ByteMutator
) -> bytes:
    """Apply one to four frame-level edits to ``wire``."""
    pieces = split_frames(wire)
    pool = templates.frame_templates()
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(10)
        index = rng.randrange(len(pieces)) if pieces else 0
        if op <= 1 or not pieces:
            pieces[index:index] = [bytearray(p) for p in split_frames(rng.choice(pool))]
        elif op == 2:
            del pieces[index]
        elif op == 3:
            pieces.insert(index, bytearray(pieces[index]))
        elif op == 4:
            other = rng.randrange(len(pieces))
            pieces[index], pieces[other] = pieces[other], pieces[index]
        elif op in (5, 6, 7):
            _edit_field(pieces[index], rng)
        elif op == 8:
            pieces[index] = _edit_payload(pieces[index], rng, byte_mutate)
        else:
            return byte_mutate(b''.join(pieces), max_size)
    return b''.join(pieces)[:max_size]


# ------------------------------------------------------------------------------------ tables


def _bend_value(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """Return ``value`` with one change somewhere inside it."""
    choice = rng.randrange(5)
    if choice == 0:
        return rng.choice(templates.FIELD_VALUES)
    if choice == 1:  # nest deeper, sometimes past the limit
        for _ in range(rng.choice((1, 1, 8, 63, 64, 65))):
            value = {'n': value} if rng.random() < 0.5 else [value]
        return value
    if isinstance(value, dict) and value and choice == 2:
        key = rng.choice(list(value))
        value[key] = _bend_value(value[key], rng, depth + 1)
        return value
    if isinstance(value, list) and value and choice == 2:
        index = rng.randrange(len(value))
        value[index] = _bend_value(value[index], rng, depth + 1)
        return value
    if isinstance(value, dict):
        value[rng.choice(('', 'k', 'é', 'x' * 255))] = rng.choice(templates.FIELD_VALUES)
        return value
    return [value, rng.choice(templates.FIELD_VALUES)]


def _bend_length(raw: bytearray, rng: random.Random) -> None:
    """Set a 32-bit length or a type octet somewhere in an encoded table."""
    if len(raw) < 4:
        return
    position = rng.randrange(len(raw) - 3)
    if rng.random() < 0.5:
        raw[position : position + 4] = _U32.pack(
            rng.choice((0, 1, len(raw), 2**31, 2**32 - 1, rng.randrange(64)))
        )
    else:
        raw[position] = rng.choice(b'tbBsuIiLlfdDSxTFAVUcZ\x00\xff')


def mutate_table(
    encoded: bytes, max_size: int, rng: random.Random, byte_mutate: ByteMutator
) -> bytes:
    """Edit the decoded table and re-encode it, or bend its bytes."""
    op = rng.randrange(6)
    if op == 0:
        return rng.choice(templates.table_templates())
    if op <= 2:
        try:
            table, _ = amqp_data.decode_table(encoded, 0)
            value = _bend_value(table, rng)
            if not isinstance(value, dict):
                value = {'wrapped': value}
            pieces: list[bytes] = []
            amqp_data.encode_table(pieces, value)
            return b''.join(pieces)[:max_size]
        except exceptions.AMQPError:
            pass
    if op == 3:
        raw = bytearray(encoded)
        _bend_length(raw, rng)
        return bytes(raw[:max_size])
    return byte_mutate(encoded, max_size)


# ------------------------------------------------------------------------------------ inputs


def mutate_input(
    data: bytes,
    max_size: int,
    seed: int,
    control_size: int,
    mutate_body: Callable[[bytes, int, random.Random, ByteMutator], bytes],
    byte_mutate: ByteMutator,
) -> bytes:
    """Mutate a whole input: its control bytes now and then, its body structurally."""
    rng = random.Random(seed)
    control = bytearray(data[:control_size].ljust(control_size, b'\x00'))
    body = data[control_size:]
    if rng.random() < 0.15:
        control[rng.randrange(control_size)] = rng.randrange(256)
    if rng.random() < 0.9 or not body:
        body = mutate_body(body, max(max_size - control_size, 1), rng, byte_mutate)
    return bytes(control) + body
