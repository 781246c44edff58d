"""pika._wire.constants, the one home of the wire numbers, agrees with the generated pika.spec."""

from __future__ import annotations

from pika import frame, spec
from pika._wire import constants as wire


def test_frame_numbers_match_the_spec() -> None:
    assert (wire.FRAME_METHOD, wire.FRAME_HEADER, wire.FRAME_BODY, wire.FRAME_HEARTBEAT) == (
        spec.FRAME_METHOD,
        spec.FRAME_HEADER,
        spec.FRAME_BODY,
        spec.FRAME_HEARTBEAT,
    )
    assert wire.FRAME_END == spec.FRAME_END == 206
    assert wire.FRAME_END_BYTE == bytes((spec.FRAME_END,))
    assert wire.FRAME_HEADER_SIZE == spec.FRAME_HEADER_SIZE
    assert wire.FRAME_END_SIZE == spec.FRAME_END_SIZE
    assert wire.FRAME_OVERHEAD == spec.FRAME_HEADER_SIZE + spec.FRAME_END_SIZE == 8


def test_method_ids_match_the_spec() -> None:
    assert wire.BASIC_CLASS_ID == spec.Basic.INDEX
    assert wire.BASIC_DELIVER_ID == spec.Basic.Deliver.INDEX
    assert wire.BASIC_PUBLISH_ID == spec.Basic.Publish.INDEX
    assert wire.BASIC_ACK_ID == spec.Basic.Ack.INDEX
    assert wire.DELIVER_ID_LAST_OCTET == spec.Basic.Deliver.INDEX & 0xFF


def test_layouts_have_the_sizes_the_offsets_assume() -> None:
    assert wire.FRAME_HEAD.size == wire.FRAME_HEADER_SIZE
    assert wire.METHOD_FRAME_HEAD.size == wire.FRAME_HEADER_SIZE + wire.METHOD_ID_SIZE
    assert wire.CONTENT_HEADER_FRAME_HEAD.size == (
        wire.FRAME_HEADER_SIZE + wire.CONTENT_HEADER_FIXED_SIZE
    )
    assert wire.EMPTY_HEADER_FRAME.size == wire.FRAME_OVERHEAD + wire.EMPTY_CONTENT_HEADER_SIZE
    assert wire.ACK_PAYLOAD_SIZE == 13  # method id, delivery tag, bit octet


def test_heartbeat_frame_is_what_the_frame_class_marshals() -> None:
    expected = b'\x08\x00\x00\x00\x00\x00\x00\xce'
    assert wire.HEARTBEAT_FRAME == frame.Heartbeat().marshal() == expected


def test_frame_reexports_the_same_objects() -> None:
    assert frame.FRAME_END is wire.FRAME_END
    assert frame.FRAME_OVERHEAD is wire.FRAME_OVERHEAD
