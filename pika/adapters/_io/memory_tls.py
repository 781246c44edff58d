"""`MemoryTLS`: a client TLS session over memory buffers, for a transport that moves bytes
itself (Twisted's reconnect of a node with ``ssl_options``: `pika.adapters.twisted_connection`).

It has no socket: the transport hands it the ciphertext it received (`receive`, which returns
the plaintext it could decrypt), hands it the plaintext to send (`send`), and writes out what
`data_to_send` returns after each of those calls (handshake records, encrypted data, alerts,
the ``close_notify`` of `close`). The stdlib does the TLS (``ssl.SSLContext.wrap_bio`` on two
``ssl.MemoryBIO``), so the caller's ``ssl.SSLContext`` decides protocols, trust and client
certificates, and the server name is checked as on every other adapter.

Errors are the ones the socket adapters raise (`pika.adapters._io.transport`): a failed
handshake (certificate, name, protocol) is a `TLSHandshakeError`, a TLS error afterwards a
``StreamLostError``.
"""

from __future__ import annotations

import ssl
from typing import Union

from pika import exceptions
from pika.adapters._io.transport import RECV_SIZE, tls_handshake_step

__all__ = ['MemoryTLS']

Bytes = Union[bytes, bytearray, memoryview]


class MemoryTLS:
    """One client TLS session whose records come and go through memory, not a socket.

    :param context: the client context (``SSLOptions.context``)
    :param server_hostname: the name the certificate must carry (and the SNI sent)
    :param where: ``host:port`` of the peer, for error messages (never a secret)
    """

    def __init__(self, context: ssl.SSLContext, server_hostname: str, where: str) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_side=False, server_hostname=server_hostname
        )
        self._where = where
        #: True once the handshake finished: `send` is allowed, `receive` yields plaintext
        self.handshake_done = False
        #: True once the peer sent its ``close_notify`` (a clean end of the TLS stream)
        self.peer_closed = False
        self._closing = False

    def start(self) -> None:
        """Begin the handshake: the ClientHello is then in `data_to_send`."""
        self._handshake_step()

    def receive(self, data: Bytes) -> bytes:
        """Feed ``data`` received from the peer; return the plaintext it completed.

        During the handshake this advances it (and returns what already follows it).

        :raises TLSHandshakeError: the handshake failed (certificate, name, protocol); the
            alert for the peer is in `data_to_send`
        :raises pika.exceptions.StreamLostError: a TLS error after the handshake
        """
        if data:
            self._incoming.write(data)
        if not self.handshake_done and not self._handshake_step():
            return b''
        return self._read_plaintext()

    def send(self, data: Bytes) -> None:
        """Encrypt ``data`` (the handshake must be done); the records go to `data_to_send`."""
        if not self.handshake_done:
            raise RuntimeError('MemoryTLS.send before the handshake finished')
        if self._closing:
            return
        view = memoryview(data)
        while view:
            try:
                written = self._tls.write(view)
            except ssl.SSLError as exc:
                raise exceptions.StreamLostError(
                    f'TLS with {self._where} failed while sending: {exc}'
                ) from exc
            view = view[written:]

    def data_to_send(self) -> bytes:
        """The ciphertext waiting for the peer (and forget it)."""
        return self._outgoing.read()

    def close(self) -> None:
        """Send our ``close_notify`` (without waiting for the peer's); idempotent."""
        if self._closing:
            return
        self._closing = True
        if not self.handshake_done:
            return
        try:
            self._tls.unwrap()
        except ssl.SSLWantReadError:
            pass  # the peer's close_notify: not waited for
        except (ssl.SSLError, OSError):
            pass  # the session is broken already: nothing clean to send

    def _handshake_step(self) -> bool:
        """Advance the handshake; True when it is done."""
        # A memory BIO takes every write: the only wait is for the peer's records ('read').
        self.handshake_done = tls_handshake_step(self._tls, self._where) is None
        return self.handshake_done

    def _read_plaintext(self) -> bytes:
        """Decrypt every complete record buffered so far."""
        chunks: list[bytes] = []
        tls = self._tls
        while not self.peer_closed:
            try:
                chunk = tls.read(RECV_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:  # what a socket raises; an SSLObject returns b''
                self.peer_closed = True
                break
            except ssl.SSLError as exc:
                raise exceptions.StreamLostError(
                    f'TLS with {self._where} failed while receiving: {exc}'
                ) from exc
            if not chunk:
                self.peer_closed = True  # the peer's close_notify
                break
            chunks.append(chunk)
        return b''.join(chunks)
