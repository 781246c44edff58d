"""AMQP 0-9-1 frames: value types, the incremental decoder and fast encoders.

Wire format of every frame (the protocol header aside)::

    type:octet  channel:short  size:long  payload:size octets  frame-end:octet (0xCE)

:func:`decode_frame` reads one frame from a buffer that may still be growing: it returns
``(bytes_consumed, frame)``, or ``(0, None)`` while the frame is incomplete, and never copies the
buffer (it reads through ``struct.unpack_from`` at an offset). Anything malformed raises a subclass
of :class:`pika.exceptions.AMQPError`; nothing else escapes, which the fuzz tests enforce.

Encoding goes the other way: the frame classes' ``marshal()`` mirrors pika 1.x, and
:func:`encode_publish` builds the whole Basic.Publish frame set (method, content header, bodies)
in as few allocations as possible, since it is the hottest outbound path. The encoders live in
:mod:`pika._frame_encode` and are re-exported here (import them from ``pika.frame``).
"""

from __future__ import annotations

import logging
import struct
from typing import TYPE_CHECKING, Any, Generic, Optional, Union

from pika import _frame_fast as _fast
from pika import exceptions, spec
from pika._frame_encode import encode_frame, encode_publish, split_body
from pika._wire.constants import (
    BASIC_CLASS_ID,
    CONTENT_HEAD,
    CONTENT_HEADER_FIXED_SIZE,
    CONTENT_HEADER_FRAME_HEAD,
    FRAME_BODY,
    FRAME_END,
    FRAME_END_BYTE,
    FRAME_HEAD,
    FRAME_HEADER,
    FRAME_HEADER_SIZE,
    FRAME_HEARTBEAT,
    FRAME_METHOD,
    FRAME_OVERHEAD,
    HEARTBEAT_FRAME,
    METHOD_FRAME_HEAD,
    METHOD_ID,
    METHOD_ID_SIZE,
    NO_FRAME_LIMIT,
    PROPERTY_FLAGS_SIZE,
    PROTOCOL_HEADER_FIRST,
    PROTOCOL_HEADER_SIZE,
    PROTOCOL_MAGIC,
)
from pika.amqp_object import AMQPObject

if TYPE_CHECKING:
    from typing_extensions import TypeVar  # PEP 696 defaults; only type checkers read this

    from pika.amqp_object import Method as AMQPMethod
    from pika.amqp_object import Properties as AMQPProperties

    #: The method type a :class:`Method` frame carries. A bare ``frame.Method`` annotation
    #: means ``Method[Any]``, so callbacks typed ``(frame: pika.frame.Method)`` may read
    #: ``frame.method.queue``; ``frame.Method[spec.Queue.DeclareOk]`` is precise.
    _M = TypeVar('_M', bound=AMQPMethod, default=Any, covariant=True)
else:
    from typing import TypeVar

    _M = TypeVar('_M', covariant=True)

__all__ = [
    'FRAME_BODY',
    'FRAME_END',
    'FRAME_HEADER',
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
    'decode_deliver_set',
    'decode_frame',
    'decode_frames',
    'encode_frame',
    'encode_publish',
    'split_body',
]

LOGGER = logging.getLogger(__name__)

BytesLike = Union[bytes, bytearray, memoryview]

# Errors a spec decoder raises on truncated or garbled input; decode_frame wraps them.
_DECODE_ERRORS = (
    struct.error,
    IndexError,
    ValueError,
    KeyError,
    TypeError,
    OverflowError,
    RecursionError,
)


class Frame(AMQPObject):
    """Base of every frame: its type octet and channel number.

    An `AMQPObject` as in pika 1.x (``INDEX`` is None: frames have no AMQP id); the slots keep
    frame objects as small as before.

    :param frame_type: FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT (-1: protocol header)
    :param channel_number: channel the frame belongs to (0 for connection-level frames)
    """

    __slots__ = ('channel_number', 'frame_type')
    NAME = 'Frame'

    def __init__(self, frame_type: int, channel_number: int) -> None:
        self.frame_type = frame_type
        self.channel_number = channel_number

    def _fields(self) -> tuple[Any, ...]:
        """Values that define the frame, used by equality and repr."""
        return tuple(getattr(self, name) for name in self._field_names())

    def _field_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for klass in reversed(type(self).__mro__):
            names.extend(getattr(klass, '__slots__', ()))
        return tuple(names)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Frame)
        return self._fields() == other._fields()

    def __repr__(self) -> str:
        """``<NAME([...])>`` as pika 1.x prints a frame: the sorted ``name=value`` of every
        field that is not None."""
        items = sorted(
            f'{name}={value}'
            for name, value in zip(self._field_names(), self._fields())
            if value is not None
        )
        return f'<{self.NAME}({items})>'

    def _marshal(self, pieces: list[bytes]) -> bytes:
        """Wrap payload ``pieces`` in this frame's header and frame-end octet."""
        payload = b''.join(pieces)
        head = FRAME_HEAD.pack(self.frame_type, self.channel_number, len(payload))
        return head + payload + FRAME_END_BYTE

    def marshal(self) -> bytes:
        """Return the frame's wire bytes."""
        raise NotImplementedError


class Method(Frame, Generic[_M]):
    """A method frame carrying one AMQP method (``spec.Basic.Deliver()``...).

    Generic over the method type for type checkers only: ``frame.Method[spec.Queue.DeclareOk]``
    is what a blocking ``queue_declare`` returns; a bare ``frame.Method`` is ``Method[Any]``.

    :param channel_number: channel the method belongs to
    :param method: the ``pika.spec`` method instance
    """

    __slots__ = ('method',)
    NAME = 'METHOD'

    def __init__(self, channel_number: int, method: _M) -> None:
        self.frame_type = FRAME_METHOD
        self.channel_number = channel_number
        self.method: _M = method

    def marshal(self) -> bytes:
        """Return the frame's wire bytes: method id followed by the encoded arguments."""
        index = self.method.INDEX
        if index is None:
            raise TypeError(f'{self.method!r} is not a concrete AMQP method')
        args = b''.join(self.method.encode())
        head = METHOD_FRAME_HEAD.pack(
            FRAME_METHOD, self.channel_number, len(args) + METHOD_ID_SIZE, index
        )
        return b''.join((head, args, FRAME_END_BYTE))


class Header(Frame):
    """A content header frame: the body size and the message properties.

    :param channel_number: channel the content belongs to
    :param body_size: total size of the body that follows, in bytes
    :param props: the ``pika.spec.BasicProperties`` of the message
    """

    __slots__ = ('body_size', 'properties')
    NAME = 'Header'

    def __init__(self, channel_number: int, body_size: int, props: AMQPProperties) -> None:
        self.frame_type = FRAME_HEADER
        self.channel_number = channel_number
        self.body_size = body_size
        self.properties = props

    def marshal(self) -> bytes:
        """Return the frame's wire bytes: class id, weight, body size, property flags/values."""
        flags_and_values = b''.join(self.properties.encode())
        class_id = self.properties.INDEX or BASIC_CLASS_ID
        head = CONTENT_HEADER_FRAME_HEAD.pack(
            FRAME_HEADER, self.channel_number, CONTENT_HEADER_FIXED_SIZE + len(flags_and_values),
            class_id, 0, self.body_size,
        )  # fmt: skip
        return b''.join((head, flags_and_values, FRAME_END_BYTE))


class Body(Frame):
    """A content body frame holding one fragment of a message body.

    :param channel_number: channel the content belongs to
    :param fragment: the bytes of this fragment
    """

    __slots__ = ('fragment',)
    NAME = 'Body'

    def __init__(self, channel_number: int, fragment: BytesLike) -> None:
        self.frame_type = FRAME_BODY
        self.channel_number = channel_number
        self.fragment = fragment

    def marshal(self) -> bytes:
        """Return the frame's wire bytes."""
        return encode_frame(FRAME_BODY, self.channel_number, self.fragment)


class Heartbeat(Frame):
    """A heartbeat frame (always on channel 0, empty payload)."""

    __slots__ = ()
    NAME = 'Heartbeat'

    def __init__(self) -> None:
        self.frame_type = FRAME_HEARTBEAT
        self.channel_number = 0

    def marshal(self) -> bytes:
        """Return the 8 constant bytes of a heartbeat frame."""
        return HEARTBEAT_FRAME


class ProtocolHeader(Frame):
    """The ``AMQP`` protocol header a client sends first (and a broker sends to refuse us).

    Unlike pika 1.x's it is also a `Frame`, since `decode_frame` returns it like any frame.

    :param major: protocol major version (None: 0, as in AMQP 0-9-1)
    :param minor: protocol minor version (None: 9)
    :param revision: protocol revision (None: 1)
    """

    __slots__ = ('major', 'minor', 'revision')
    NAME = 'ProtocolHeader'

    def __init__(
        self,
        major: Optional[int] = None,
        minor: Optional[int] = None,
        revision: Optional[int] = None,
    ) -> None:
        self.frame_type = -1
        self.channel_number = 0
        default_major, default_minor, default_revision = spec.PROTOCOL_VERSION
        self.major: int = default_major if major is None else major
        self.minor: int = default_minor if minor is None else minor
        self.revision: int = default_revision if revision is None else revision

    def marshal(self) -> bytes:
        """Return ``b'AMQP'``, a zero octet, then major, minor and revision."""
        return PROTOCOL_MAGIC + bytes((0, self.major, self.minor, self.revision))


# --------------------------------------------------------------------------- decoding


def decode_frame(
    data_in: BytesLike, offset: int = 0, frame_max: Optional[int] = None
) -> tuple[int, Optional[Frame]]:
    """Decode the frame that starts at ``data_in[offset]``.

    The buffer is only read, never copied or modified: callers keep appending received bytes to
    a ``bytearray`` and advance ``offset`` by the returned count.

    :param data_in: received bytes (``bytes``, ``bytearray`` or a ``memoryview`` of bytes)
    :param offset: where the frame starts in ``data_in``
    :param frame_max: negotiated maximum frame size including the 8 bytes of framing; ``None``
        or 0 means no limit. A larger declared size is refused as soon as the 7-byte frame
        header is in, before waiting for (or allocating) its payload.
    :returns: ``(bytes_consumed, frame)``, or ``(0, None)`` when more bytes are needed
    :raises pika.exceptions.FrameTooLargeError: declared size above ``frame_max``
    :raises pika.exceptions.InvalidFrameError: bad frame-end octet, unknown type, bad payload
    :raises pika.exceptions.AMQPError: any other malformed input (never anything else)
    """
    available = len(data_in) - offset
    if available < FRAME_HEADER_SIZE:
        if available > 0:
            _check_partial_head(data_in, offset, available)
        return 0, None
    try:
        frame_type, channel, size = FRAME_HEAD.unpack_from(data_in, offset)
    except (struct.error, TypeError, ValueError) as exc:  # negative offset, odd buffer...
        raise exceptions.InvalidFrameError(f'unreadable frame header: {exc}') from exc
    if frame_type == PROTOCOL_HEADER_FIRST:
        return _decode_protocol_header(data_in, offset, available)
    if frame_max and size > frame_max - FRAME_OVERHEAD:
        raise exceptions.FrameTooLargeError(
            f'frame of {size + FRAME_OVERHEAD} bytes exceeds frame_max {frame_max}'
        )
    if available <= size + FRAME_HEADER_SIZE:
        if frame_type not in _KNOWN_TYPES:
            raise exceptions.InvalidFrameError(f'unknown frame type {frame_type}')
        return 0, None
    start = offset + FRAME_HEADER_SIZE
    end = start + size
    if data_in[end] != FRAME_END:
        raise exceptions.InvalidFrameError(
            f'invalid frame end octet {data_in[end]:#04x} (type {frame_type}, size {size})'
        )
    # The payload is copied out (small for method/header frames; the body must outlive the
    # receive buffer anyway), so decoders never see the next frame's bytes.
    if type(data_in) is bytes:
        payload = data_in[start:end]
    else:
        payload = memoryview(data_in)[start:end].tobytes()
    if frame_type == FRAME_BODY:
        return size + FRAME_OVERHEAD, Body(channel, payload)
    if frame_type == FRAME_METHOD:
        return size + FRAME_OVERHEAD, Method(channel, _decode_method(payload))
    if frame_type == FRAME_HEADER:
        return size + FRAME_OVERHEAD, _decode_header(payload, channel)
    if frame_type == FRAME_HEARTBEAT:
        if channel != 0 or size != 0:
            raise exceptions.InvalidFrameError(
                f'heartbeat frame on channel {channel} with {size} payload bytes'
            )
        return FRAME_OVERHEAD, Heartbeat()
    raise exceptions.InvalidFrameError(f'unknown frame type {frame_type}')


def _check_partial_head(data_in: BytesLike, offset: int, available: int) -> None:
    """Fail early on a partial header whose first octet (or AMQP magic) is already wrong."""
    first = data_in[offset]
    if first == PROTOCOL_HEADER_FIRST:
        head = bytes(data_in[offset : offset + min(available, len(PROTOCOL_MAGIC))])
        if not PROTOCOL_MAGIC.startswith(head):
            raise exceptions.InvalidFrameError(f'garbled protocol header {head!r}')
    elif first not in _KNOWN_TYPES:
        raise exceptions.InvalidFrameError(f'unknown frame type {first}')


def _decode_protocol_header(
    data_in: BytesLike, offset: int, available: int
) -> tuple[int, Optional[Frame]]:
    """Decode ``b'AMQP'`` + 4 octets (a broker refusing our protocol version)."""
    magic_end = offset + len(PROTOCOL_MAGIC)
    magic = bytes(data_in[offset:magic_end])
    if magic != PROTOCOL_MAGIC:
        raise exceptions.InvalidFrameError(f'garbled protocol header {magic!r}')
    if available < PROTOCOL_HEADER_SIZE:
        return 0, None
    _, major, minor, revision = bytes(data_in[magic_end : offset + PROTOCOL_HEADER_SIZE])
    return PROTOCOL_HEADER_SIZE, ProtocolHeader(major, minor, revision)


def decode_frames(
    data_in: BytesLike, offset: int = 0, frame_max: Optional[int] = None
) -> tuple[int, list[Frame]]:
    """Decode every complete frame from ``data_in[offset:]`` in one call.

    Same contract as :func:`decode_frame`, batched: the returned count covers all returned
    frames, and a partial frame at the end stays in the buffer. If a malformed frame follows
    good ones, the good ones are returned and the next call raises, so no frame that arrived
    before a protocol error is lost. The loop keeps everything in local variables, which makes
    it the fastest way for a connection to consume a receive buffer.

    :param data_in: received bytes (``bytes``, ``bytearray`` or a ``memoryview`` of bytes)
    :param offset: where the first frame starts
    :param frame_max: negotiated maximum frame size (None or 0: no limit)
    :returns: ``(bytes_consumed, frames)``; ``(0, [])`` when no complete frame is there
    :raises pika.exceptions.AMQPError: the first frame at ``offset`` is malformed
    """
    frames: list[Frame] = []
    append = frames.append
    limit = frame_max - FRAME_OVERHEAD if frame_max else NO_FRAME_LIMIT
    view: Any = data_in if type(data_in) is bytes else None
    total = len(data_in)
    position = offset
    while total - position >= FRAME_OVERHEAD:
        frame_type, channel, size = FRAME_HEAD.unpack_from(data_in, position)
        start = position + FRAME_HEADER_SIZE
        end = start + size
        if end >= total or size > limit or data_in[end] != FRAME_END:
            break  # partial, oversized or broken: decode_frame below sorts it out
        if frame_type == FRAME_METHOD:  # a whole Basic.Deliver set: decoded in one go
            found = _fast.decode_deliver_set(data_in, position, frame_max)
            if found is not None:
                consumed, _channel, method, props, body = found
                append(Method(channel, method))
                append(Header(channel, len(body), props))
                if body:
                    append(Body(channel, body))
                position += consumed
                continue
        if view is None:
            view = memoryview(data_in)
        payload: bytes = view[start:end] if type(view) is bytes else view[start:end].tobytes()
        # Common cases inline; anything unusual (or any error) falls through to decode_frame.
        try:
            if frame_type == FRAME_BODY:
                append(Body(channel, payload))
            elif frame_type == FRAME_METHOD:
                decode_method = _fast.METHOD_DECODERS.get(METHOD_ID.unpack_from(payload)[0])
                if decode_method is None:
                    break
                append(Method(channel, decode_method(payload)))
            elif frame_type == FRAME_HEADER:
                class_id, _weight, body_size = CONTENT_HEAD.unpack_from(payload)
                flags = payload[_FLAGS_AT] << 8 | payload[_FLAGS_AT + 1]
                decode_props = _fast.PROPERTY_DECODERS.get(flags)
                if class_id != BASIC_CLASS_ID or decode_props is None:
                    break
                props = decode_props(payload, _PROPERTIES_AT, len(payload))
                append(Header(channel, body_size, props))
            else:
                break
        except _BATCH_ERRORS:
            break
        position = end + 1
    while position < total:  # the careful path: until it needs more data or hits an error
        try:
            consumed, value = decode_frame(data_in, position, frame_max)
        except exceptions.AMQPError:
            if not frames:
                raise
            break  # return the good frames first; the next call raises
        if value is None:
            break
        append(value)
        position += consumed
    return position - offset, frames


#: Whole Basic.Deliver frame set (method + header + body) in one call, no frame objects; the
#: connection's consuming hot path. ``None`` means "decode frame by frame". See
#: :func:`pika._frame_fast.decode_deliver_set`.
decode_deliver_set = _fast.decode_deliver_set


def _decode_method(payload: bytes) -> AMQPMethod:
    """Decode a method frame payload: method id, then the method's own arguments."""
    if len(payload) < METHOD_ID_SIZE:
        raise exceptions.InvalidFrameError('method frame shorter than a method id')
    (method_id,) = METHOD_ID.unpack_from(payload)
    fast = _fast.METHOD_DECODERS.get(method_id)
    if fast is not None:
        try:
            return fast(payload)
        except exceptions.AMQPError:
            raise
        except _DECODE_ERRORS as exc:
            raise exceptions.InvalidFrameError(f'malformed method {method_id:#x}: {exc}') from exc
    method_class = spec.methods.get(method_id)
    if method_class is None:
        raise exceptions.MethodNotImplemented(
            f'unknown method {method_id >> 16}.{method_id & 0xFFFF} (id {method_id:#x})'
        )
    try:  # decode() sets every argument: no __init__, which may require some (UpdateSecret)
        method: AMQPMethod = method_class.__new__(method_class)
        method.decode(payload, METHOD_ID_SIZE)
    except exceptions.AMQPError:
        raise
    except _DECODE_ERRORS as exc:
        raise exceptions.InvalidFrameError(f'malformed {method_class.NAME} frame: {exc}') from exc
    return method


def _decode_header(payload: bytes, channel: int) -> Header:
    """Decode a content header payload: class id, weight, body size, then the properties."""
    if len(payload) < _PROPERTIES_AT:
        raise exceptions.InvalidFrameError('content header frame too short')
    class_id, _weight, body_size = CONTENT_HEAD.unpack_from(payload)
    if class_id != BASIC_CLASS_ID:
        raise exceptions.InvalidFrameError(f'content header for class {class_id}, not Basic')
    try:
        props = _fast.decode_basic_properties(payload, CONTENT_HEADER_FIXED_SIZE)
    except exceptions.AMQPError:
        raise
    except _DECODE_ERRORS as exc:
        raise exceptions.InvalidFrameError(f'malformed content header: {exc}') from exc
    return Header(channel, body_size, props)


#: Where a content header payload holds its property flags, and where the properties start.
_FLAGS_AT = CONTENT_HEADER_FIXED_SIZE
_PROPERTIES_AT = CONTENT_HEADER_FIXED_SIZE + PROPERTY_FLAGS_SIZE

_KNOWN_TYPES = frozenset((FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT))

_BATCH_ERRORS = (*_DECODE_ERRORS, exceptions.AMQPError)
