"""`MemoryTLSServer`: the broker's side of a TLS session on memory buffers (no socket), for
unit tests of `pika.adapters._io.memory_tls` and of the transports that use it.

The test moves the bytes: what the client wrote goes in through `feed`, which returns what
the server answers; `read_all` is the plaintext received so far. The certificate is the
server certificate of `tests.helpers.tls_certs`.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.helpers.tls_certs import TlsFiles


class MemoryTLSServer:
    """A server ``SSLObject`` on two memory BIOs; `error` is why its handshake failed."""

    def __init__(self, files: TlsFiles) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(files.server_cert), str(files.server_key))
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.error: BaseException | None = None
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """Take the client's bytes, advance the handshake, return what the server sends."""
        self.incoming.write(data)
        if not self.done:
            try:
                self.tls.do_handshake()
                self.done = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as exc:
                self.error = exc
        return self.outgoing.read()

    def read_all(self) -> bytes:
        """The plaintext decrypted so far (b'' after the client's close_notify)."""
        chunks = []
        while True:
            try:
                chunk = self.tls.read(1 << 16)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b''.join(chunks)

    def send(self, data: bytes) -> bytes:
        """Encrypt ``data``; the records for the client."""
        self.tls.write(data)
        return self.outgoing.read()
