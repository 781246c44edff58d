"""Throw-away TLS material for tests: a CA, and a server certificate it signed for localhost.

Made with the ``openssl`` command line (Python's ``ssl`` module cannot issue certificates), in
a directory the caller owns. The server certificate names ``localhost`` and ``127.0.0.1`` and
carries the extensions a strict verifier asks for (Python 3.13 turns on
``VERIFY_X509_STRICT``): key identifiers, key usage, ``serverAuth``.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

SERVER_NAME = 'localhost'

_CA_EXTENSIONS = (
    'basicConstraints = critical, CA:TRUE\n'
    'keyUsage = critical, keyCertSign, cRLSign\n'
    'subjectKeyIdentifier = hash\n'
)
_SERVER_EXTENSIONS = (
    'basicConstraints = critical, CA:FALSE\n'
    'keyUsage = critical, digitalSignature, keyEncipherment\n'
    'extendedKeyUsage = serverAuth\n'
    f'subjectAltName = DNS:{SERVER_NAME}, IP:127.0.0.1\n'
    'subjectKeyIdentifier = hash\n'
    'authorityKeyIdentifier = keyid, issuer\n'
)


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files: the CA certificate, the server's certificate and its key."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def openssl_available() -> bool:
    """True when the ``openssl`` command is installed."""
    return shutil.which('openssl') is not None


def _openssl(directory: Path, *args: str) -> None:
    subprocess.run(['openssl', *args], cwd=directory, check=True, capture_output=True, timeout=60)


def make_tls_files(directory: Path) -> TlsFiles:
    """Create a CA and a server certificate for ``localhost`` in ``directory`` (valid 2 days)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / 'ca.ext').write_text(_CA_EXTENSIONS, encoding='ascii')
    (directory / 'server.ext').write_text(_SERVER_EXTENSIONS, encoding='ascii')
    _openssl(directory, 'genrsa', '-out', 'ca.key', '2048')
    _openssl(
        directory, 'req', '-new', '-key', 'ca.key', '-subj', '/CN=pika test CA', '-out', 'ca.csr'
    )
    _openssl(
        directory, 'x509', '-req', '-in', 'ca.csr', '-signkey', 'ca.key', '-days', '2',
        '-extfile', 'ca.ext', '-out', 'ca.pem',
    )  # fmt: skip
    _openssl(directory, 'genrsa', '-out', 'server.key', '2048')
    _openssl(
        directory, 'req', '-new', '-key', 'server.key', '-subj', f'/CN={SERVER_NAME}',
        '-out', 'server.csr',
    )  # fmt: skip
    _openssl(
        directory, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
        '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem',
    )  # fmt: skip
    for private in ('ca.key', 'server.key'):
        (directory / private).chmod(0o600)
    return TlsFiles(directory / 'ca.pem', directory / 'server.pem', directory / 'server.key')
