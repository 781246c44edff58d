"""``pika check URL``: connect step by step and name the first step that fails.

The steps are DNS, TCP connect, TLS handshake, AMQP handshake (our protocol header answered
by Connection.Start), authentication, vhost access, the negotiated limits and a passive
declare. The socket steps use the transport helpers of the adapters on a probe socket; the
AMQP steps open a real ``BlockingConnection``. Each step is a small function that returns the
detail to print or raises :class:`StepFailed` with the likely fix. Nothing printed ever holds
the password: the URL is echoed through :func:`mask_url`.
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

import pika
from pika import exceptions, frame, spec
from pika.adapters._io import transport as _transport

if TYPE_CHECKING:
    from pika.adapters.blocking_connection import BlockingConnection

__all__ = [
    'DEFAULT_URL',
    'EXIT_CODES',
    'URL_ENV',
    'StepFailed',
    'add_parser',
    'describe_certificate',
    'format_line',
    'mask_url',
    'resolve_url',
    'run_check',
]

DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672/%2F'
#: the environment variable holding the broker URL when none is given (keeps a password out
#: of the process list and the shell history)
URL_ENV = 'PIKA_URL'
MASK = '***'

DNS = 'DNS'
TCP = 'TCP connect'
TLS = 'TLS handshake'
AMQP = 'AMQP handshake'
AUTH = 'authentication'
VHOST = 'vhost access'
TUNE = 'negotiated'
DECLARE = 'passive declare'

#: The exit code naming each step that failed (0: every step passed; 2: bad command line).
EXIT_CODES = {DNS: 10, TCP: 11, TLS: 12, AMQP: 13, AUTH: 14, VHOST: 15, TUNE: 16, DECLARE: 17}
EXIT_BAD_URL = 2

_EPILOG = f"""Steps, and the exit code when that step fails:
  {DNS} {EXIT_CODES[DNS]}, {TCP} {EXIT_CODES[TCP]}, {TLS} {EXIT_CODES[TLS]}, \
{AMQP} {EXIT_CODES[AMQP]}, {AUTH} {EXIT_CODES[AUTH]},
  {VHOST} {EXIT_CODES[VHOST]}, {TUNE} {EXIT_CODES[TUNE]}, {DECLARE} {EXIT_CODES[DECLARE]} \
(0: all passed, {EXIT_BAD_URL}: the URL cannot be parsed).

examples:
  pika check                     # $PIKA_URL, else the local broker as guest
  pika check amqp://app:secret@rabbit.example.com:5672/prod
  pika check 'amqps://app:secret@rabbit.example.com/%2F?ssl_options=...' --timeout 3
"""


class StepFailed(Exception):
    """A step failed: ``step`` names it, the message says why and what to try."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


@dataclass
class Probe:
    """What the steps learn and hand to the next step."""

    params: pika.URLParameters
    timeout: float
    infos: list[Any] = field(default_factory=list)
    sock: Optional[socket.socket] = None
    start: Optional[spec.Connection.Start] = None
    connection: Optional[BlockingConnection] = None

    def deadline(self) -> float:
        """A fresh ``time.monotonic()`` deadline, ``timeout`` from now."""
        return time.monotonic() + self.timeout


# -- pure formatting ----------------------------------------------------------------------


def resolve_url(url: Optional[str]) -> str:
    """The URL to use: ``url``, else ``$PIKA_URL``, else the local broker."""
    return url or os.environ.get(URL_ENV) or DEFAULT_URL


def mask_url(url: str) -> str:
    """``url`` with its password (and any query that mentions a password) replaced by ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if '@' not in netloc and '@' in url:
        # An unencoded '/', '?' or '#' in the password ends the authority early, so the
        # password lands in the path, query or fragment: show nothing after the scheme.
        return f'{parts.scheme}://{MASK}' if parts.scheme else MASK
    if '@' in netloc:
        userinfo, _, hostport = netloc.rpartition('@')
        user, colon, _password = userinfo.partition(':')
        netloc = f'{user}:{MASK}@{hostport}' if colon else f'{user}@{hostport}'
    query = parts.query
    if 'password' in urllib.parse.unquote(query).lower():
        query = MASK
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def format_line(ok: bool, step: str, detail: str) -> str:
    """One line of the report: a status column, the step name and what was found."""
    return f'{"ok" if ok else "FAIL":<4} {step:<16} {detail}'


def _name_of(entries: Any) -> str:
    """The commonName (else every field) of a certificate subject or issuer."""
    fields = [pair for rdn in entries or () for pair in rdn]
    common = [value for key, value in fields if key == 'commonName']
    if common:
        return ', '.join(common)
    return ', '.join(f'{key}={value}' for key, value in fields) or '?'


def describe_certificate(cert: Optional[dict[str, Any]]) -> str:
    """Subject, issuer and expiry of a certificate as ``ssl.SSLSocket.getpeercert()`` gives it."""
    if not cert:
        return 'no certificate details (not verified)'
    subject = _name_of(cert.get('subject'))
    issuer = _name_of(cert.get('issuer'))
    return f'subject {subject}, issuer {issuer}, expires {cert.get("notAfter", "?")}'


def _ms(started: float) -> str:
    return f'{(time.monotonic() - started) * 1000:.1f} ms'


# -- the steps ----------------------------------------------------------------------------


def step_dns(probe: Probe) -> str:
    """Resolve the host name."""
    try:
        probe.infos = _transport.resolve(probe.params)
    except _transport.AddressResolutionError as exc:
        raise StepFailed(
            DNS, f'cannot resolve {probe.params.host!r}: check the host name in the URL ({exc})'
        ) from exc
    addresses = sorted({str(info[4][0]) for info in probe.infos})
    return f'{probe.params.host} -> {", ".join(addresses)}'


def step_tcp(probe: Probe) -> str:
    """Open a TCP connection to the first address that accepts."""
    port = probe.params.port
    started = time.monotonic()
    try:
        probe.sock, info = _transport.connect_first(probe.params, probe.infos, probe.deadline())
    except _transport.SocketConnectTimeout as exc:
        raise StepFailed(
            TCP,
            f'TCP connect timed out after {probe.timeout:g} s: is the host reachable '
            f'(firewall, wrong address) and port {port} open?',
        ) from exc
    except _transport.SocketConnectError as exc:
        if isinstance(exc.__cause__, ConnectionRefusedError):
            message = f'TCP connect refused: is RabbitMQ running and listening on port {port}?'
        else:
            message = f'TCP connect failed ({exc.__cause__ or exc}): check host and port {port}'
        raise StepFailed(TCP, message) from exc
    return f'{info[4][0]}:{info[4][1]} in {_ms(started)}'


def step_tls(probe: Probe) -> str:
    """Run the TLS handshake when the URL asks for TLS (``amqps``)."""
    if probe.params.ssl_options is None:
        return 'skipped (not amqps)'
    assert probe.sock is not None
    started = time.monotonic()
    try:
        tls = _transport.blocking_tls_handshake(probe.sock, probe.params, probe.deadline())
    except _transport.SocketConnectError as exc:
        probe.sock = None  # the failed handshake closed it
        raise StepFailed(TLS, tls_hint(exc.__cause__ or exc, probe.params.port)) from exc
    probe.sock = tls
    cert = tls.getpeercert()
    return f'{tls.version()} in {_ms(started)}, {describe_certificate(cert)}'


def tls_hint(error: BaseException, port: int) -> str:
    """What a failed TLS handshake most likely means, and what to do about it."""
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = error.verify_message or str(error)
        if 'hostname' in reason.lower() or 'ip address' in reason.lower():
            return (
                f'TLS: certificate verify failed ({reason}): connect with a name the '
                'certificate carries, or set server_hostname in ssl_options'
            )
        return (
            f'TLS: certificate verify failed ({reason}): pin the CA that signed the broker '
            "certificate with ssl_options, e.g. ?ssl_options={'ca_certs': '/path/ca.pem'} "
            '(percent-encoded; see docs/tls.md)'
        )
    if isinstance(error, socket.timeout):
        return f'TLS handshake timed out: is port {port} a TLS listener?'
    return f'TLS handshake failed ({error}): is port {port} a TLS listener (usually 5671)?'


def _read_first_frame(sock: socket.socket, timeout: float) -> Optional[frame.Frame]:
    """Send the AMQP 0-9-1 protocol header and decode the server's first frame (None: EOF)."""
    sock.settimeout(timeout)
    sock.sendall(frame.ProtocolHeader().marshal())
    received = bytearray()
    while True:
        consumed, decoded = frame.decode_frame(received)
        if consumed:
            return decoded
        chunk = sock.recv(65536)
        if not chunk:
            return None
        received += chunk


def step_amqp(probe: Probe) -> str:
    """Our protocol header must be answered with Connection.Start."""
    assert probe.sock is not None
    port = probe.params.port
    try:
        first = _read_first_frame(probe.sock, probe.timeout)
    except (OSError, exceptions.AMQPError) as exc:
        raise StepFailed(
            AMQP, f'no AMQP answer ({exc!r}): is port {port} the AMQP port of RabbitMQ?'
        ) from exc
    finally:
        probe.sock.close()
        probe.sock = None
    method = getattr(first, 'method', None)
    if not isinstance(method, spec.Connection.Start):
        raise StepFailed(
            AMQP,
            f'the server did not accept AMQP 0-9-1 (answered {type(first).__name__}): '
            f'is port {port} the AMQP port of RabbitMQ?',
        )
    probe.start = method
    props = method.server_properties or {}
    product = _text(props.get('product', '?'))
    version = _text(props.get('version', '?'))
    return f'protocol header accepted, server {product} {version}'


def _text(value: Any) -> str:
    return value.decode('utf-8', 'replace') if isinstance(value, bytes) else str(value)


def offered_mechanisms(start: Optional[spec.Connection.Start]) -> list[str]:
    """The SASL mechanisms a Connection.Start offers."""
    return _text(start.mechanisms if start else '').split()


def step_login(probe: Probe) -> str:
    """Open the connection: the broker checks the credentials, then the vhost."""
    offered = offered_mechanisms(probe.start)
    mechanism = getattr(probe.params.credentials, 'TYPE', '?')
    try:
        probe.connection = pika.BlockingConnection(probe.params)
    except exceptions.ProbableAccessDeniedError as exc:
        vhost = probe.params.virtual_host
        user = getattr(probe.params.credentials, 'username', None) or 'USER'
        raise StepFailed(
            VHOST,
            f'vhost access refused: the vhost {vhost!r} does not exist or the user has no '
            f'permissions: rabbitmqctl add_vhost {vhost} / rabbitmqctl set_permissions '
            f'-p {vhost} {_text(user)} ".*" ".*" ".*"',
        ) from exc
    except exceptions.ProbableAuthenticationError as exc:
        raise StepFailed(
            AUTH,
            f'authentication refused ({mechanism}): check the user name and password '
            '(ACCESS_REFUSED)',
        ) from exc
    except exceptions.AuthenticationError as exc:
        raise StepFailed(
            AUTH,
            f'the broker does not offer {mechanism} (offers: {" ".join(offered)}): '
            'enable it on the broker or use other credentials',
        ) from exc
    except exceptions.AMQPError as exc:
        raise StepFailed(AMQP, f'AMQP handshake failed: {exc!r}') from exc
    return f'{mechanism} accepted (offered: {" ".join(offered) or "?"})'


def step_vhost(probe: Probe) -> str:
    """Reached once the connection is open: the vhost let us in."""
    return f'vhost {probe.params.virtual_host!r} opened'


def step_tune(probe: Probe) -> str:
    """The limits agreed in Connection.Tune."""
    assert probe.connection is not None
    channel_max, frame_max, heartbeat = probe.connection.negotiated_limits
    return f'heartbeat {heartbeat} s, frame_max {frame_max}, channel_max {channel_max}'


def step_declare(probe: Probe) -> str:
    """Time one round trip: a passive declare of the built-in exchange amq.direct."""
    assert probe.connection is not None
    try:
        channel = probe.connection.channel()
        started = time.monotonic()
        channel.exchange_declare('amq.direct', passive=True)
        elapsed = _ms(started)
        channel.close()
    except exceptions.AMQPError as exc:
        raise StepFailed(DECLARE, f'passive declare of amq.direct failed: {exc!r}') from exc
    return f"exchange 'amq.direct' round trip {elapsed}"


STEPS: list[tuple[str, Callable[[Probe], str]]] = [
    (DNS, step_dns),
    (TCP, step_tcp),
    (TLS, step_tls),
    (AMQP, step_amqp),
    (AUTH, step_login),
    (VHOST, step_vhost),
    (TUNE, step_tune),
    (DECLARE, step_declare),
]


def run_check(url: str, timeout: float, out: Callable[[str], None] = print) -> int:
    """Run every step against ``url``, printing one line each; returns the exit code."""
    out(f'checking {mask_url(url)}')
    try:
        params = pika.URLParameters(url)
    except Exception:  # a parse error never quotes the URL, but keep it out of the output
        out(format_line(False, 'URL', 'cannot parse the URL (amqp[s]://user:pass@host:port/vhost)'))
        return EXIT_BAD_URL
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.connection_attempts = 1
    probe = Probe(params, timeout)
    try:
        for step, run in STEPS:
            out(format_line(True, step, run(probe)))
    except StepFailed as failure:
        out(format_line(False, failure.step, str(failure)))
        out(f'failed at step: {failure.step}')
        return EXIT_CODES[failure.step]
    finally:
        _release(probe)
    out('all checks passed')
    return 0


def _release(probe: Probe) -> None:
    """Close what the steps left open."""
    if probe.sock is not None:
        probe.sock.close()
    if probe.connection is not None and probe.connection.is_open:
        probe.connection.close()


# -- command line -------------------------------------------------------------------------


def add_parser(commands: Any) -> None:
    """Register ``check`` with the sub-command parsers of ``pika``."""
    parser = commands.add_parser(
        'check',
        help='diagnose a connection step by step (DNS, TCP, TLS, AMQP, login, vhost)',
        description='Connect to a broker step by step and name the first step that fails, '
        'with its likely fix. The password is never printed.',
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        'url',
        nargs='?',
        default=None,
        help=f'AMQP URL (default: ${URL_ENV}, else {mask_url(DEFAULT_URL).replace("%", "%%")})',
    )
    parser.add_argument(
        '--timeout', type=float, default=5.0, help='seconds each step may take (default: 5)'
    )
    parser.set_defaults(run=lambda args: run_check(resolve_url(args.url), args.timeout))
