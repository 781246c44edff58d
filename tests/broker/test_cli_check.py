"""``python -m pika check`` as a user runs it, against the shared broker: every step passes on
the good URL, and each failure path stops at the step it names, with its own exit code and
never the password in the output."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from pika.cli.check import EXIT_CODES
from tests.helpers.tls_certs import SERVER_NAME

if TYPE_CHECKING:
    from tests.conftest import BrokerAddress
    from tests.helpers.private_broker import PrivateBroker
    from tests.helpers.tls_certs import TlsFiles

ROOT = Path(__file__).resolve().parents[2]
SECRET = 'N0t-the-Passw0rd-4711'
STEP_NAMES = (
    'DNS',
    'TCP connect',
    'TLS handshake',
    'AMQP handshake',
    'authentication',
    'vhost access',
    'negotiated',
    'passive declare',
)


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pika check ARGS`` from this checkout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # a socket left open would print a ResourceWarning: tests assert there is none
    python = [sys.executable, '-W', 'always::ResourceWarning']
    return subprocess.run(
        [*python, '-m', 'pika', 'check', *args, '--timeout', '5'],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


def failed_line(output: str) -> str:
    """The one line that starts with FAIL."""
    lines = [line for line in output.splitlines() if line.startswith('FAIL')]
    assert len(lines) == 1, output
    return lines[0]


def closed_port() -> int:
    """A port nothing listens on: bound by us, then released."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def test_check_passes_every_step_on_the_shared_broker(amqp_url: str) -> None:
    result = run_check(amqp_url)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in STEP_NAMES:
        assert any(line.startswith(f'ok   {name} ') for line in lines), (name, result.stdout)
    assert 'guest:guest' not in result.stdout + result.stderr
    assert 'amqp://guest:***@' in lines[0]
    assert 'server RabbitMQ' in result.stdout
    assert 'PLAIN accepted' in result.stdout
    assert lines[-1] == 'all checks passed'
    assert 'ResourceWarning' not in result.stderr


def test_check_without_url_uses_the_local_broker(broker_address: BrokerAddress) -> None:
    if (broker_address.host, broker_address.port) != ('127.0.0.1', 5672):
        return  # the default URL is only the shared broker when it is the local default
    result = run_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == 'checking amqp://guest:***@127.0.0.1:5672/%2F'


def test_closed_port_fails_at_tcp_connect() -> None:
    port = closed_port()
    result = run_check(f'amqp://guest:{SECRET}@127.0.0.1:{port}/%2F')
    assert result.returncode == EXIT_CODES['TCP connect'], result.stdout
    line = failed_line(result.stdout)
    assert line.startswith('FAIL TCP connect')
    assert f'is RabbitMQ running and listening on port {port}?' in line
    assert SECRET not in result.stdout + result.stderr


def test_wrong_password_fails_at_authentication(broker_address: BrokerAddress) -> None:
    a = broker_address
    result = run_check(f'amqp://guest:{SECRET}@{a.host}:{a.port}/%2F')
    assert result.returncode == EXIT_CODES['authentication'], result.stdout
    line = failed_line(result.stdout)
    assert line.startswith('FAIL authentication')
    assert 'check the user name and password' in line
    assert SECRET not in result.stdout + result.stderr
    assert 'ok   AMQP handshake' in result.stdout


def test_missing_vhost_fails_at_vhost_access(broker_address: BrokerAddress) -> None:
    a = broker_address
    vhost = 'pika-check-no-such-vhost'
    result = run_check(f'amqp://{a.username}:{a.password}@{a.host}:{a.port}/{vhost}')
    assert result.returncode == EXIT_CODES['vhost access'], result.stdout
    line = failed_line(result.stdout)
    assert line.startswith('FAIL vhost access')
    assert f'rabbitmqctl set_permissions -p {vhost}' in line
    assert 'ok   authentication' not in result.stdout  # login and vhost are one Connection.Open
    assert f':{a.password}@' not in result.stdout + result.stderr


def test_unresolvable_host_fails_at_dns() -> None:
    result = run_check(f'amqp://guest:{SECRET}@no-such-host.invalid:5672/%2F')
    assert result.returncode == EXIT_CODES['DNS'], result.stdout
    assert failed_line(result.stdout).startswith('FAIL DNS')
    assert SECRET not in result.stdout + result.stderr


def test_tls_client_on_the_plain_port_fails_at_tls(broker_address: BrokerAddress) -> None:
    a = broker_address
    result = run_check(f'amqps://guest:{SECRET}@{a.host}:{a.port}/%2F')
    assert result.returncode == EXIT_CODES['TLS handshake'], result.stdout
    assert 'a TLS listener' in failed_line(result.stdout)
    assert SECRET not in result.stdout + result.stderr
    assert 'ResourceWarning' not in result.stderr  # the failed TLS socket was closed


# -- TLS: the private TLS node of the TLS conformance suite ----------------------------------


def tls_url(broker: PrivateBroker, password: str, options: dict[str, str] | None = None) -> str:
    """An ``amqps`` URL for the private node's TLS listener, by the name its certificate has."""
    query = '' if options is None else '?' + urllib.parse.urlencode({'ssl_options': repr(options)})
    return f'amqps://guest:{password}@{SERVER_NAME}:{broker.tls_port}/%2F{query}'


def test_untrusted_certificate_fails_at_tls(tls_broker: PrivateBroker) -> None:
    result = run_check(tls_url(tls_broker, SECRET))  # the system CAs do not know the test CA
    assert result.returncode == EXIT_CODES['TLS handshake'], result.stdout + result.stderr
    line = failed_line(result.stdout)
    assert line.startswith('FAIL TLS handshake')
    assert 'certificate verify failed' in line
    assert 'pin the CA' in line
    assert 'ok   TCP connect' in result.stdout
    assert SECRET not in result.stdout + result.stderr
    assert 'ResourceWarning' not in result.stderr


def test_pinned_ca_passes_and_shows_the_certificate(
    tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    result = run_check(tls_url(tls_broker, 'guest', {'ca_certs': str(tls_files.ca_cert)}))
    assert result.returncode == 0, result.stdout + result.stderr
    tls_line = next(line for line in result.stdout.splitlines() if 'TLS handshake' in line)
    assert tls_line.startswith('ok   TLS handshake    TLSv1.')
    assert f'subject {SERVER_NAME}, issuer pika test CA, expires ' in tls_line
    assert 'guest:guest' not in result.stdout + result.stderr
