"""pika 1.4.4 names and signatures that no other part of the API surface tests covers.

The frame classes as `AMQPObject`s, the `select_connection` poller names, the small constants
of `pika.connection`, the credential and `BlockingChannel` signatures, and the adapter-author
modules of `pika.adapters.utils`. No broker needed.
"""

from __future__ import annotations

import inspect
import logging

from pika import amqp_object, frame, spec


def _param_names(func: object) -> list[str]:
    return [n for n in inspect.signature(func).parameters if n != 'self']  # type: ignore[arg-type]


# -- pika.frame ----------------------------------------------------------------------------


def test_frames_are_amqp_objects_without_an_index() -> None:
    for cls in (frame.Frame, frame.Method, frame.Header, frame.Body, frame.Heartbeat):
        assert issubclass(cls, amqp_object.AMQPObject)
        assert cls.INDEX is None
    assert issubclass(frame.ProtocolHeader, amqp_object.AMQPObject)
    assert isinstance(frame.LOGGER, logging.Logger) and frame.LOGGER.name == 'pika.frame'


def test_frames_keep_their_slots() -> None:
    """The AMQPObject base adds no per-instance dict to the frames built per RPC reply."""
    for instance in (frame.Method(1, spec.Basic.Ack()), frame.Body(1, b'x'), frame.Heartbeat()):
        assert not hasattr(instance, '__dict__')


def test_frame_repr_as_pika() -> None:
    assert repr(frame.Method(1, spec.Basic.Ack())) == (
        "<METHOD(['channel_number=1', 'frame_type=1', "
        "\"method=<Basic.Ack(['delivery_tag=0', 'multiple=False'])>\"])>"
    )
    assert repr(frame.Heartbeat()) == "<Heartbeat(['channel_number=0', 'frame_type=8'])>"


def test_protocol_header_defaults_mean_0_9_1() -> None:
    assert [p.default for p in inspect.signature(frame.ProtocolHeader).parameters.values()] == [
        None,
        None,
        None,
    ]
    header = frame.ProtocolHeader()
    assert (header.major, header.minor, header.revision) == spec.PROTOCOL_VERSION
    assert header == frame.ProtocolHeader(0, 9, 1)
    assert frame.ProtocolHeader(None, 9, 2).marshal() == b'AMQP\x00\x00\x09\x02'


def test_amqp_object_still_works_alone() -> None:
    assert repr(amqp_object.AMQPObject()) == '<AMQPObject>'
    assert amqp_object.AMQPObject() == amqp_object.AMQPObject()
    assert spec.Basic.Ack(1) == spec.Basic.Ack(1) and spec.Basic.Ack(1).__dict__
