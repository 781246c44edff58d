"""AMQP 0-9-1 frames (pika 1.x's ``pika.frame``): the frame classes, decoder and encoders.

A façade: the code lives in :mod:`pika._wire` (frame values in ``frames``, the decoder in
``decode``, the encoders in ``encode``, the numbers in ``constants``); every name pika 1.x
code imports from ``pika.frame`` is re-exported here, with the fast encoders
(:func:`encode_publish`, :func:`encode_frame`, :func:`split_body`) and :func:`decode_frames`.
"""

from __future__ import annotations

import logging

from pika._wire.constants import (
    FRAME_BODY,
    FRAME_END,
    FRAME_HEADER,
    FRAME_HEADER_SIZE,
    FRAME_HEARTBEAT,
    FRAME_METHOD,
    FRAME_OVERHEAD,
)
from pika._wire.decode import decode_frame, decode_frames
from pika._wire.encode import encode_frame, encode_publish, split_body
from pika._wire.frames import Body, Frame, Header, Heartbeat, Method, ProtocolHeader

__all__ = [
    'FRAME_BODY',
    'FRAME_END',
    'FRAME_HEADER',
    'FRAME_HEADER_SIZE',
    'FRAME_HEARTBEAT',
    'FRAME_METHOD',
    'FRAME_OVERHEAD',
    'LOGGER',
    'Body',
    'Frame',
    'Header',
    'Heartbeat',
    'Method',
    'ProtocolHeader',
    'decode_frame',
    'decode_frames',
    'encode_frame',
    'encode_publish',
    'split_body',
]

LOGGER = logging.getLogger(__name__)
