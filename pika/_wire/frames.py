"""AMQP 0-9-1 frame values: ``Method``, ``Header``, ``Body``, ``Heartbeat``, ``ProtocolHeader``.

What :func:`pika._wire.decode.decode_frame` returns, and what pika 1.x code builds and
``marshal()``-s; :mod:`pika.frame` re-exports them under their pika 1.x path. Wire format of
every frame (the protocol header aside)::

    type:octet  channel:short  size:long  payload:size octets  frame-end:octet (0xCE)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, Optional, Union

from pika import spec
from pika._wire.constants import (
    BASIC_CLASS_ID,
    CONTENT_HEADER_FIXED_SIZE,
    CONTENT_HEADER_FRAME_HEAD,
    FRAME_BODY,
    FRAME_END_BYTE,
    FRAME_HEAD,
    FRAME_HEADER,
    FRAME_HEARTBEAT,
    FRAME_METHOD,
    FRAME_PROTOCOL_HEADER,
    HEARTBEAT_FRAME,
    PROTOCOL_MAGIC,
)
from pika._wire.encode import encode_frame, encode_method
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

__all__ = ['Body', 'Frame', 'Header', 'Heartbeat', 'Method', 'ProtocolHeader']

BytesLike = Union[bytes, bytearray, memoryview]


class Frame(AMQPObject):
    """Base of every frame: its type octet and channel number.

    An `AMQPObject` as in pika 1.x (``INDEX`` is None: frames have no AMQP id); the slots keep
    frame objects as small as before.

    :param frame_type: FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT (-1: protocol header)
    :param channel_number: channel the frame belongs to (0 for connection-level frames)
    """

    __slots__ = ('channel_number', 'frame_type')
    NAME: ClassVar[str] = 'Frame'

    def __init__(self, frame_type: int, channel_number: int) -> None:
        self.frame_type: int = frame_type
        self.channel_number: int = channel_number

    def field_values(self) -> tuple[Any, ...]:
        """Values that define the frame (in slot order), used by equality and repr."""
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
        return self.field_values() == other.field_values()

    def __repr__(self) -> str:
        """``<NAME([...])>`` as pika 1.x prints a frame: the sorted ``name=value`` of every
        field that is not None."""
        items = sorted(
            f'{name}={value}'
            for name, value in zip(self._field_names(), self.field_values())
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
    NAME: ClassVar[str] = 'METHOD'

    def __init__(self, channel_number: int, method: _M) -> None:
        self.frame_type = FRAME_METHOD
        self.channel_number = channel_number
        self.method: _M = method

    def marshal(self) -> bytes:
        """Return the frame's wire bytes: method id followed by the encoded arguments."""
        index = self.method.INDEX
        if index is None:
            raise TypeError(f'{self.method!r} is not a concrete AMQP method')
        return encode_method(self.channel_number, self.method)


class Header(Frame):
    """A content header frame: the body size and the message properties.

    :param channel_number: channel the content belongs to
    :param body_size: total size of the body that follows, in bytes
    :param props: the ``pika.spec.BasicProperties`` of the message
    """

    __slots__ = ('body_size', 'properties')
    NAME: ClassVar[str] = 'Header'

    def __init__(self, channel_number: int, body_size: int, props: AMQPProperties) -> None:
        self.frame_type = FRAME_HEADER
        self.channel_number = channel_number
        self.body_size: int = body_size
        self.properties: AMQPProperties = props

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
    NAME: ClassVar[str] = 'Body'

    def __init__(self, channel_number: int, fragment: BytesLike) -> None:
        self.frame_type = FRAME_BODY
        self.channel_number = channel_number
        self.fragment: BytesLike = fragment

    def marshal(self) -> bytes:
        """Return the frame's wire bytes."""
        return encode_frame(FRAME_BODY, self.channel_number, self.fragment)


class Heartbeat(Frame):
    """A heartbeat frame (always on channel 0, empty payload)."""

    __slots__ = ()
    NAME: ClassVar[str] = 'Heartbeat'

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
    NAME: ClassVar[str] = 'ProtocolHeader'

    def __init__(
        self,
        major: Optional[int] = None,
        minor: Optional[int] = None,
        revision: Optional[int] = None,
    ) -> None:
        self.frame_type = FRAME_PROTOCOL_HEADER
        self.channel_number = 0
        default_major, default_minor, default_revision = spec.PROTOCOL_VERSION
        self.major: int = default_major if major is None else major
        self.minor: int = default_minor if minor is None else minor
        self.revision: int = default_revision if revision is None else revision

    def marshal(self) -> bytes:
        """Return ``b'AMQP'``, a zero octet, then major, minor and revision."""
        return PROTOCOL_MAGIC + bytes((0, self.major, self.minor, self.revision))
