"""The latest secret the broker accepted, for the logins of a recovery's reconnects.

An application whose password is a short-lived token (OAuth 2) refreshes it on the open
connection with ``update_secret``; the connection parameters still hold the token it started
with, which has expired by the time a loss forces a reconnect. :class:`RefreshedLogin`
remembers the secret of the last Connection.UpdateSecret the broker confirmed
(UpdateSecretOk), and the handshake of each reconnect logs in with it instead of the
parameters' password. It lives beside the recovery record (one per connection with recovery
on), so every adapter gets the same behaviour from the core.

Secrets are never logged and never shown: :class:`RefreshedLogin` has a repr without them.
``erase_on_connect`` credentials are never given a remembered secret (the application asked
that no secret be kept; recovery refuses them anyway, docs/recovery.md).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Optional, Union

if TYPE_CHECKING:
    from pika._core.settings import SaslCredentials

__all__ = ['RefreshedLogin']


class RefreshedLogin:
    """The secret that replaces a ``PlainCredentials`` password at the next reconnects.

    The secret belongs to the user that was logged in when the broker accepted it, so it is
    used only for credentials with that username (a list of nodes normally shares one).
    """

    __slots__ = ('_secret', '_username')

    def __init__(self) -> None:
        self._username: Optional[Union[str, bytes]] = None
        self._secret: Optional[str] = None

    @property
    def is_set(self) -> bool:
        """Whether a refreshed secret is remembered."""
        return self._secret is not None

    def accepted(self, credentials: SaslCredentials, secret: str) -> None:
        """The broker answered UpdateSecretOk to ``secret`` on a connection logged in with
        ``credentials``: remember it, unless those credentials carry no username and
        password (``ExternalCredentials``: the token is not ours to replay) or were created
        with ``erase_on_connect`` (nothing secret may be kept for them)."""
        username = getattr(credentials, 'username', None)
        if username is None or getattr(credentials, 'erase_on_connect', False):
            self.forget()
            return
        self._username = username
        self._secret = secret

    def for_login(self, credentials: SaslCredentials) -> SaslCredentials:
        """The credentials a (re)connect's handshake answers Connection.Start with:
        ``credentials`` themselves, or, when a refreshed secret is remembered for their user,
        a throw-away copy holding that secret as password (``credentials`` are not changed,
        so the application's object keeps what it was given)."""
        secret = self._secret
        if (
            secret is None
            or getattr(credentials, 'username', None) != self._username
            or getattr(credentials, 'password', None) is None  # erased or not PLAIN
            or getattr(credentials, 'erase_on_connect', False)
        ):
            return credentials
        login = copy.copy(credentials)
        plain: Any = login  # a PlainCredentials (it has a password): set the secret
        plain.password = secret
        return login

    def forget(self) -> None:
        """Drop the remembered secret (the connection is finished for good)."""
        self._username = None
        self._secret = None

    def __repr__(self) -> str:
        return f'<RefreshedLogin set={self.is_set}>'
