"""The small pure pieces: content assembler, outbound encoders, receive buffer, state tables,
and the rule that pika/_core does no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pika import exceptions, frame, spec
from pika._core import content
from pika._core.buffer import ReceiveBuffer
from pika._core.states import (
    CHANNEL_TRANSITIONS,
    CONNECTION_TRANSITIONS,
    ChannelInput,
    ChannelState,
    ConnectionInput,
    ConnectionState,
    TransitionError,
    next_channel_state,
    next_connection_state,
)
from pika._wire import encode

CORE_DIR = Path(__file__).resolve().parents[3] / 'pika' / '_core'


def test_core_imports_no_io_modules() -> None:
    forbidden = {'socket', 'select', 'selectors', 'threading', 'asyncio', 'time', 'ssl'}
    for path in CORE_DIR.glob('*.py'):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = {alias.name.split('.')[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                mods = {(node.module or '').split('.')[0]}
            else:
                continue
            assert not mods & forbidden, f'{path.name} imports {mods & forbidden}'


def test_assembler_multi_frame_body_and_reuse() -> None:
    asm = content.ContentAssembler()
    method = spec.Basic.Deliver('t', 1, False, '', 'k')
    asm.start(method)
    assert asm.active
    assert asm.on_header(9, 'props') is None
    assert asm.on_body(b'abc') is None
    assert asm.on_body(b'def') is None
    assert asm.on_body(b'ghi') == b'abcdefghi'
    assert not asm.active and asm.method is method and asm.properties == 'props'
    asm.start(method)
    assert asm.on_header(0, None) == b''  # zero-length body: complete at the header
    asm.start(method)
    asm.on_header(3, None)
    assert asm.on_body(b'xyz') == b'xyz'  # single fragment returned as is


def test_assembler_violations() -> None:
    asm = content.ContentAssembler()
    asm.start(spec.Basic.Deliver('t', 1, False, '', 'k'))
    with pytest.raises(exceptions.UnexpectedFrameError):
        asm.on_body(b'x')
    asm.on_header(2, None)
    with pytest.raises(exceptions.UnexpectedFrameError):
        asm.on_header(2, None)
    with pytest.raises(exceptions.BodyTooLongError):
        asm.on_body(b'xyz')


def test_encode_method_matches_frame_marshal() -> None:
    method = spec.Queue.Declare(queue='abc', durable=True, arguments={'x-max-length': 5})
    assert encode.encode_method(3, method) == frame.Method(3, method).marshal()


@pytest.mark.parametrize('size', [0, 1, 4087, 4088, 4089, 20000])
def test_append_content_matches_frame_classes(size: int) -> None:
    body = bytes(i % 251 for i in range(size))
    props = spec.BasicProperties(message_id='m', headers={'k': 'v'})
    out = bytearray()
    frames, written = encode.append_content(out, 2, encode.encode_properties(props), body, 4088)
    expected = [frame.Header(2, size, props).marshal()] + [
        frame.Body(2, bytes(chunk)).marshal() for chunk in frame.split_body(body, 4096)
    ]
    assert bytes(out) == b''.join(expected)
    assert frames == len(expected) and written == len(out)


def test_publish_method_encoder() -> None:
    data = encode.encode_publish_method(4, 'ex', 'rk', True)
    assert (
        data
        == frame.Method(
            4, spec.Basic.Publish(exchange='ex', routing_key='rk', mandatory=True)
        ).marshal()
    )
    with pytest.raises(exceptions.ShortStringTooLong):
        encode.encode_publish_method(1, 'e' * 256, '', False)


def test_receive_buffer_compaction() -> None:
    buf = ReceiveBuffer()
    buf.feed(b'abcdef')
    buf.offset = 4
    assert len(buf) == 2
    buf.compact()
    assert bytes(buf.data) == b'ef' and buf.offset == 0
    buf.offset = 2
    buf.compact()
    assert bytes(buf.data) == b'' and len(buf) == 0
    buf.feed(memoryview(b'xy'))
    buf.clear()
    assert len(buf) == 0


def test_undefined_transitions_raise() -> None:
    with pytest.raises(TransitionError):
        next_connection_state(ConnectionState.OPEN, ConnectionInput.RECV_TUNE)
    with pytest.raises(TransitionError):
        next_channel_state(ChannelState.CLOSED, ChannelInput.RECV_OPEN_OK)
    assert all(target in ConnectionState for target in CONNECTION_TRANSITIONS.values())
    assert all(target in ChannelState for target in CHANNEL_TRANSITIONS.values())
    # every live state can fail; CLOSED is terminal
    for state in ConnectionState:
        has_fail = (state, ConnectionInput.FAIL) in CONNECTION_TRANSITIONS
        assert has_fail is (state is not ConnectionState.CLOSED)
    assert not any(state is ConnectionState.CLOSED for state, _ in CONNECTION_TRANSITIONS)
