"""Authentication credentials handed to ``ConnectionParameters``.

A credentials object answers one question during the AMQP handshake: given the
broker's ``Connection.Start`` (which lists the SASL mechanisms it offers), which
mechanism do we pick and what response bytes do we send in ``Connection.StartOk``?
That is :meth:`response_for`. It returns ``(None, None)`` when the mechanism the
object implements is not offered, so the core can fail the handshake with a clear
error instead of sending something the broker will reject.

Two mechanisms exist, as in pika 1.x:

* :class:`PlainCredentials` -- SASL ``PLAIN`` (username and password).
* :class:`ExternalCredentials` -- SASL ``EXTERNAL`` (identity taken from the TLS
  client certificate; no secret travels in AMQP).

If no credentials are given, ``ConnectionParameters`` uses ``guest``/``guest``.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Optional, Union

LOGGER = logging.getLogger(__name__)

__all__ = ['VALID_TYPES', 'ExternalCredentials', 'PlainCredentials']


def _offered_mechanisms(start_method: Any) -> list[str]:
    """Return the SASL mechanism names the broker offered in ``Connection.Start``.

    ``mechanisms`` is a space separated long string; depending on the decoder it may
    arrive as ``bytes`` or ``str``, so both are accepted.
    """
    raw = getattr(start_method, 'mechanisms', b'')
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw).decode('utf-8', 'replace')
    if not isinstance(raw, str):
        return []
    return raw.split()


def _as_bytes(value: Union[str, bytes]) -> bytes:
    """UTF-8 encode ``value`` if it is a ``str``; pass ``bytes`` through."""
    return value.encode('utf-8') if isinstance(value, str) else bytes(value)


class PlainCredentials:
    """Username and password sent with the SASL ``PLAIN`` mechanism.

    :param username: the user name (``str``, or ``bytes`` already encoded)
    :param password: the password (``str``, or ``bytes`` already encoded)
    :param erase_on_connect: when true, the connection calls :meth:`erase_credentials`
        once the attempt no longer needs them: right after ``Connection.StartOk`` is
        queued, and also when the connection attempt fails before getting that far
        (refused, unresolvable host, TLS or socket timeout). Erased means
        ``username`` and ``password`` are set to ``None``: this object, and so the
        parameters holding it, no longer reference them (``URLParameters`` never
        keeps the URL string). The bytes of the StartOk frame are dropped from the
        output buffer once written. A reconnect with the same parameters is then
        impossible (the handshake fails with ``AuthenticationError``).

    The password never appears in ``repr()``.
    """

    TYPE = 'PLAIN'

    def __init__(
        self,
        username: Union[str, bytes],
        password: Union[str, bytes],
        erase_on_connect: bool = False,
    ) -> None:
        if not isinstance(username, (str, bytes)):
            raise TypeError(f'username must be str or bytes, not {type(username).__name__}')
        if not isinstance(password, (str, bytes)):
            raise TypeError(f'password must be str or bytes, not {type(password).__name__}')
        self.username: Optional[Union[str, bytes]] = username
        self.password: Optional[Union[str, bytes]] = password
        self.erase_on_connect: bool = bool(erase_on_connect)

    def response_for(self, start: Any) -> tuple[Optional[str], Optional[bytes]]:
        """Validate that ``PLAIN`` is offered and build the SASL response.

        :param start: the broker's ``spec.Connection.Start`` method
        :returns: ``('PLAIN', b'\\0user\\0password')``, or ``(None, None)`` when the
            broker does not offer ``PLAIN`` or the credentials were already erased
        """
        if self.TYPE not in _offered_mechanisms(start):
            return None, None
        if self.username is None or self.password is None:
            LOGGER.warning('PlainCredentials were erased; cannot answer Connection.Start')
            return None, None
        response = b'\0' + _as_bytes(self.username) + b'\0' + _as_bytes(self.password)
        return self.TYPE, response

    def erase_credentials(self) -> None:
        """Drop the username and password if ``erase_on_connect`` was requested.

        Python strings are immutable, so their memory cannot be overwritten in place;
        what this does is make this object stop referencing them (they are set to
        ``None``), so they can be garbage collected once nothing else refers to them.
        """
        if self.erase_on_connect:
            LOGGER.info('Erasing stored credential values')
            self.username = None
            self.password = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PlainCredentials):
            return (
                self.username == other.username
                and self.password == other.password
                and self.erase_on_connect == other.erase_on_connect
            )
        return NotImplemented

    __hash__: ClassVar[None] = None  # type: ignore[assignment]  # mutable (erasable): not hashable

    def __repr__(self) -> str:
        return (
            f'<{type(self).__name__} username={self.username!r} '
            f'erase_on_connect={self.erase_on_connect!r}>'
        )


class ExternalCredentials:
    """SASL ``EXTERNAL``: the broker takes the identity from the TLS client certificate.

    Use it with ``ssl_options`` carrying a client certificate and a broker that has the
    ``rabbitmq_auth_mechanism_ssl`` plugin enabled. The SASL response is empty.
    """

    TYPE = 'EXTERNAL'

    def __init__(self) -> None:
        self.erase_on_connect = False

    def response_for(self, start: Any) -> tuple[Optional[str], Optional[bytes]]:
        """Return ``('EXTERNAL', b'')`` if the broker offers it, else ``(None, None)``.

        :param start: the broker's ``spec.Connection.Start`` method
        """
        if self.TYPE not in _offered_mechanisms(start):
            return None, None
        return self.TYPE, b''

    def erase_credentials(self) -> None:
        """Nothing to erase: no secret is stored (kept for interface symmetry)."""
        LOGGER.debug('ExternalCredentials hold no secret; nothing to erase')

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ExternalCredentials):
            return self.erase_on_connect == other.erase_on_connect
        return NotImplemented

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f'<{type(self).__name__}>'


#: Credential classes ``ConnectionParameters.credentials`` accepts.
VALID_TYPES = [PlainCredentials, ExternalCredentials]
