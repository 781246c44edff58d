"""`SocketReader`: the one socket read loop, shared by `BaseConnection` and the blocking pump.

Both pumps call :meth:`SocketReader.read` when the socket is readable and do their own thing
with the events it returns (dispatch callbacks, or route them to waiting threads). One read is:

* a plain socket: one ``recv_into`` of a reusable buffer of
  :data:`~pika.adapters._io.transport.RECV_BUFFER_SIZE` bytes (whatever the kernel holds, up to
  that), then one ``core.receive_data()`` of the filled part. No bytes object is made per read
  and nothing is joined: the core copies what it keeps. While a large message body arrives, the
  read goes straight into the core's buffer (``receive_buffer()``/``received_into()``);
* a TLS socket: one ``recv_some`` of :data:`~pika.adapters._io.transport.RECV_SIZE` (plus what
  the SSL object already decrypted, which a poller would never report), then
  ``core.receive_data()``.

More data than one read takes waits for the next readiness report: each loop turn or pump
cycle reads once, so timers, writes and other sockets get their turn.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Optional, cast

from pika.adapters._io import transport

if TYPE_CHECKING:
    import socket

    from pika._core import events as ev
    from pika._core.connection import ConnectionCore

__all__ = ['SocketReader']

_receive_error = transport.receive_error
_eof_error = transport.eof_error
_recv_some = transport.recv_some


class SocketReader:
    """Reads a non-blocking socket into a :class:`~pika._core.connection.ConnectionCore`.

    :param sock: the connected socket (plain or TLS), already non-blocking
    :param core: the core the bytes are fed to
    :param buffer_size: size of the reusable read buffer of a plain socket
    """

    __slots__ = ('_core', '_receiver', '_sock', '_view')

    def __init__(
        self,
        sock: socket.socket,
        core: ConnectionCore,
        buffer_size: int = transport.RECV_BUFFER_SIZE,
    ) -> None:
        self._sock = sock
        self._core = core
        # core.large_message without the property call, before every read: the receiver is
        # the core's for its whole life (bench/offline.py --instructions blocking_rpc).
        self._receiver = core.receiver
        # TLS: None (a plain recv of what was decrypted); plain: the reusable buffer.
        self._view: Optional[memoryview] = (
            None if isinstance(sock, ssl.SSLSocket) else memoryview(bytearray(buffer_size))
        )

    def read(self, now: float, limit: int = 0) -> list[ev.Event]:
        """Read once and feed what came to the core.

        :param now: the time to give the core (its clock)
        :param limit: read at most this many bytes (0: a full read)
        :returns: the core's events; empty when nothing could be read now (EAGAIN, EINTR, a
            TLS want-read) or the bytes completed no event
        :raises StreamLostError: EOF, or the socket failed
        """
        core = self._core
        view = self._view
        if view is None:
            data = _recv_some(self._sock, limit or transport.RECV_SIZE)  # raises when lost
            return [] if data is None else core.receive_data(data, now)
        large = self._receiver.large_message
        if large is not None:  # a large message arrives: straight into its buffer
            view = cast('memoryview', core.receive_buffer())
        if limit:
            view = view[:limit]
        try:
            received = self._sock.recv_into(view)
        except OSError as exc:
            error = _receive_error(exc)
            if error is None:
                return []
            raise error from exc
        if not received:
            raise _eof_error()
        if large is None:  # the usual read, into the reusable buffer
            return core.receive_data(view[:received], now)
        return core.received_into(received, now)
