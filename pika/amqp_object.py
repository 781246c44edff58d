"""Base classes for the AMQP classes, methods and content properties in :mod:`pika.spec`.

The generated module only carries field lists and codecs; what every AMQP object shares (a
readable ``repr`` that never shows credentials, value equality, the content attached to a
content-carrying method) lives here so it is written once.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, Union

__all__ = ['AMQPObject', 'Class', 'Method', 'Properties']

_MASK = '<redacted>'


class AMQPObject:
    """Common ancestor of every AMQP class, method and property set.

    ``NAME`` is the dotted AMQP name (``'Basic.Publish'``) and ``INDEX`` the numeric id used on
    the wire (class id, or ``class_id << 16 | method_id`` for methods).
    """

    # No instance dict of its own: the frame classes of `pika.frame` derive from it and keep
    # their `__slots__`; the spec classes (no `__slots__`) still get one.
    __slots__ = ()

    NAME: ClassVar[str] = 'AMQPObject'
    INDEX: ClassVar[Optional[int]] = None
    #: Attribute names whose values are secrets (passwords); ``repr`` masks them.
    _SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def __repr__(self) -> str:
        """``<NAME([...])>`` as pika 1.x prints it: the sorted ``name=value`` of every attribute
        that is not None (content attached by ``_set_content`` included), secrets masked."""
        items = sorted(
            f'{key}={_MASK if key in self._SECRET_FIELDS else value!s}'
            for key, value in getattr(self, '__dict__', {}).items()
            if value is not None
        )
        if not items:
            return f'<{self.NAME}>'
        return f'<{self.NAME}({items})>'

    def __eq__(self, other: object) -> bool:
        """Equal when of the same class with the same attributes (pika 1.x only compares the
        attributes, so there ``Tx.Select() == Tx.Commit()``; here it is False)."""
        if type(other) is not type(self):
            return NotImplemented
        return getattr(self, '__dict__', {}) == getattr(other, '__dict__', {})

    __hash__: ClassVar[None] = None  # type: ignore[assignment]  # mutable value objects are not hashable


class Class(AMQPObject):
    """An AMQP class (``Connection``, ``Basic``...): a namespace holding its method classes."""

    NAME: ClassVar[str] = 'Unextended Class'


class Method(AMQPObject):
    """An AMQP method: its arguments as attributes, plus metadata used by the channel logic.

    ``synchronous`` is True when the peer must answer with one of ``valid_responses`` (which
    methods carry content is :func:`pika.spec.has_content`).
    """

    NAME: ClassVar[str] = 'Unextended Method'
    synchronous: ClassVar[bool] = False
    valid_responses: ClassVar[tuple[type[Method], ...]] = ()

    _properties: Any = None
    _body: Any = None

    def _set_content(self, properties: Any, body: Any) -> None:
        """Attach the content header properties and body that followed this method.

        :param properties: the message's ``BasicProperties``
        :param body: the message body bytes
        """
        self._properties = properties
        self._body = body

    def get_properties(self) -> Any:
        """Return the properties attached by :meth:`_set_content` (None when absent)."""
        return self._properties

    def get_body(self) -> Any:
        """Return the body attached by :meth:`_set_content` (None when absent)."""
        return self._body

    def encode(self) -> list[bytes]:
        """Return the argument payload as byte pieces (without the class/method id)."""
        raise NotImplementedError

    def decode(self, encoded: Union[bytes, memoryview], offset: int = 0) -> Method:
        """Fill the arguments from ``encoded`` starting at ``offset``; return ``self``."""
        raise NotImplementedError


class Properties(AMQPObject):
    """A content-header property set (``BasicProperties``)."""

    NAME: ClassVar[str] = 'Unextended Properties'

    def encode(self) -> list[bytes]:
        """Return the property flags and values as byte pieces."""
        raise NotImplementedError

    def decode(self, encoded: Union[bytes, memoryview], offset: int = 0) -> int:
        """Fill the properties from ``encoded`` at ``offset``; return the offset after them."""
        raise NotImplementedError
