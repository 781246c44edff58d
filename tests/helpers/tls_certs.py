"""Throw-away TLS material for tests: a CA, a server certificate it signed for localhost, and
a client certificate for user ``guest`` (SASL EXTERNAL takes the user from its common name).

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
CLIENT_USER = 'guest'

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
_CLIENT_EXTENSIONS = (
    'basicConstraints = critical, CA:FALSE\n'
    'keyUsage = critical, digitalSignature, keyEncipherment\n'
    'extendedKeyUsage = clientAuth\n'
    'subjectKeyIdentifier = hash\n'
    'authorityKeyIdentifier = keyid, issuer\n'
)


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files: the CA certificate, the server's and the client's certificates
    and keys."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def openssl_available() -> bool:
    """True when the ``openssl`` command is installed."""
    return shutil.which('openssl') is not None


def _openssl(directory: Path, *args: str) -> None:
    subprocess.run(['openssl', *args], cwd=directory, check=True, capture_output=True, timeout=60)


def _signed(directory: Path, name: str, subject: str, extensions: str) -> None:
    """``<name>.key`` and ``<name>.pem``, a certificate for ``subject`` signed by the CA."""
    (directory / f'{name}.ext').write_text(extensions, encoding='ascii')
    _openssl(directory, 'genrsa', '-out', f'{name}.key', '2048')
    _openssl(
        directory, 'req', '-new', '-key', f'{name}.key', '-subj', subject, '-out', f'{name}.csr'
    )
    _openssl(
        directory, 'x509', '-req', '-in', f'{name}.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
        '-CAcreateserial', '-days', '2', '-extfile', f'{name}.ext', '-out', f'{name}.pem',
    )  # fmt: skip
    (directory / f'{name}.key').chmod(0o600)


def make_tls_files(directory: Path) -> TlsFiles:
    """Create a CA, a server certificate for ``localhost`` and a client certificate for
    ``guest`` in ``directory`` (valid 2 days)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / 'ca.ext').write_text(_CA_EXTENSIONS, encoding='ascii')
    _openssl(directory, 'genrsa', '-out', 'ca.key', '2048')
    _openssl(
        directory, 'req', '-new', '-key', 'ca.key', '-subj', '/CN=pika test CA', '-out', 'ca.csr'
    )
    _openssl(
        directory, 'x509', '-req', '-in', 'ca.csr', '-signkey', 'ca.key', '-days', '2',
        '-extfile', 'ca.ext', '-out', 'ca.pem',
    )  # fmt: skip
    (directory / 'ca.key').chmod(0o600)
    _signed(directory, 'server', f'/CN={SERVER_NAME}', _SERVER_EXTENSIONS)
    _signed(directory, 'client', f'/CN={CLIENT_USER}', _CLIENT_EXTENSIONS)
    return TlsFiles(
        directory / 'ca.pem',
        directory / 'server.pem',
        directory / 'server.key',
        directory / 'client.pem',
        directory / 'client.key',
    )
