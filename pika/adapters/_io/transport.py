"""Socket-level helpers shared by ``SelectConnection`` and ``BlockingConnection``.

Nothing here knows AMQP: these functions resolve addresses, open (blocking or
non-blocking) TCP connections, wrap them in TLS, tune socket options, and move
bytes while hiding the "try again later" conditions of non-blocking sockets.

Errors are ``pika.exceptions`` types so adapters can hand them to the core:

* connecting fails -> :class:`SocketConnectError` (a ``AMQPConnectionError``), or
  its subclasses :class:`AddressResolutionError`, :class:`SocketConnectTimeout`
  and :class:`TLSHandshakeError`;
* an established stream fails or reaches EOF -> ``StreamLostError``.

Retry policy is a pure plan (:func:`connect_with_retries`) so the blocking adapter
can ``time.sleep`` through it and loop adapters can schedule timers for it.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any, Optional, Union

from pika import exceptions
from pika._parameters import Parameters

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

LOGGER = logging.getLogger(__name__)

__all__ = [
    'AddressResolutionError',
    'SocketConnectError',
    'SocketConnectTimeout',
    'TLSHandshakeError',
    'apply_socket_options',
    'blocking_tls_handshake',
    'connect_blocking',
    'connect_first',
    'connect_with_retries',
    'finish_nonblocking_connect',
    'recv_some',
    'resolve',
    'send_some',
    'send_vector',
    'start_nonblocking_connect',
    'tls_handshake_step',
    'tls_server_name',
    'wrap_tls',
]

#: One entry of ``socket.getaddrinfo``: (family, type, proto, canonname, sockaddr).
AddrInfo = tuple[Any, Any, int, str, Any]


class SocketConnectError(exceptions.AMQPConnectionError):
    """The TCP (or TLS) connection to the broker could not be established."""


class AddressResolutionError(SocketConnectError):
    """The broker's host name could not be resolved."""


class SocketConnectTimeout(SocketConnectError):
    """The TCP connect or TLS handshake did not finish within the timeout."""


class TLSHandshakeError(SocketConnectError):
    """The TLS handshake failed (certificate, protocol or hostname mismatch)."""


# errno values meaning "a non-blocking connect is under way".
_CONNECT_IN_PROGRESS = frozenset(
    code
    for code in (
        getattr(errno, 'EINPROGRESS', None),
        getattr(errno, 'EWOULDBLOCK', None),
        getattr(errno, 'EAGAIN', None),
        getattr(errno, 'EALREADY', None),
        getattr(errno, 'WSAEWOULDBLOCK', None),
    )
    if code is not None
)

# Conditions that only mean "nothing can move right now" on a non-blocking socket.
_WOULD_BLOCK = (
    BlockingIOError,
    InterruptedError,
    ssl.SSLWantReadError,
    ssl.SSLWantWriteError,
    socket.timeout,
)

#: the same two, for the other socket code of the package (`pika.adapters.utils`)
CONNECT_IN_PROGRESS = _CONNECT_IN_PROGRESS
WOULD_BLOCK = _WOULD_BLOCK

#: Bytes one recv() asks for when it returns a new bytes object: TLS reads (`recv_some`) and
#: the nbio stream transport of `pika.adapters.utils`.
RECV_SIZE = 128 * 1024
#: The reusable buffer a plain socket is read into (`pika.adapters._io.reader`): up to this many
#: bytes per read, large enough to decode many small deliveries per syscall.
RECV_BUFFER_SIZE = 1 << 20
#: Fairness: successful reads one readiness callback of the nbio stream transport
#: (`pika.adapters.utils.io_services_utils`) makes before it gives the loop back.
READS_PER_TURN = 8

# tcp_options key -> socket option constant name(s), first one available wins.
_TCP_OPTION_NAMES = {
    'TCP_KEEPIDLE': ('TCP_KEEPIDLE', 'TCP_KEEPALIVE'),  # macOS calls it TCP_KEEPALIVE
    'TCP_KEEPINTVL': ('TCP_KEEPINTVL',),
    'TCP_KEEPCNT': ('TCP_KEEPCNT',),
    'TCP_USER_TIMEOUT': ('TCP_USER_TIMEOUT',),
}

# Upper bound of extra TLS-buffered bytes recv_some drains in one call: a plain read's size.
_MAX_TLS_PENDING_DRAIN = RECV_BUFFER_SIZE


def _endpoint(params: Parameters) -> str:
    return f'{params.host}:{params.port}'


# -- resolving and socket options ---------------------------------------------------


def resolve(params: Parameters) -> list[AddrInfo]:
    """Resolve ``params.host``/``params.port`` into TCP ``getaddrinfo`` entries.

    :raises AddressResolutionError: the name does not resolve
    """
    try:
        infos = socket.getaddrinfo(
            params.host, params.port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressResolutionError(f'Cannot resolve {_endpoint(params)}: {exc}') from exc
    if not infos:
        raise AddressResolutionError(f'Cannot resolve {_endpoint(params)}: no addresses')
    return list(infos)


def apply_socket_options(sock: socket.socket, tcp_options: Optional[dict[str, Any]]) -> None:
    """Enable TCP_NODELAY and SO_KEEPALIVE, then apply ``tcp_options``.

    Keys of ``tcp_options`` are ``TCP_KEEPIDLE``, ``TCP_KEEPINTVL``, ``TCP_KEEPCNT`` and
    ``TCP_USER_TIMEOUT`` (integers). Options the platform lacks, unknown keys and
    non-integer values are logged and skipped rather than failing the connection.
    """
    if sock.family in (socket.AF_INET, getattr(socket, 'AF_INET6', socket.AF_INET)):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for key, value in (tcp_options or {}).items():
        option = tcp_option_constant(key)
        if option is None:
            LOGGER.warning('Ignoring tcp_options key %r: not supported on this platform', key)
        elif not isinstance(value, int) or isinstance(value, bool):
            LOGGER.warning('Ignoring tcp_options %r: value must be an int, got %r', key, value)
        else:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def tcp_option_constant(key: str) -> Optional[int]:
    """The socket option number of `tcp_options` key `key` here, or None (unknown key, or an
    option this platform lacks)."""
    for name in _TCP_OPTION_NAMES.get(key, ()):
        constant = getattr(socket, name, None)
        if constant is not None:
            return int(constant)
    return None


# -- blocking connect -------------------------------------------------------------------


def _remaining(deadline: Optional[float]) -> Optional[float]:
    """Seconds left before ``deadline`` (never negative), or ``None`` for no deadline."""
    if deadline is None:
        return None
    return max(deadline - time.monotonic(), 0.0)


def _connect_one(info: AddrInfo, deadline: Optional[float]) -> socket.socket:
    """Blocking connect to one resolved address, bounded by ``deadline``."""
    family, socktype, proto, _, sockaddr = info
    sock = socket.socket(family, socktype, proto)
    try:
        remaining = _remaining(deadline)
        if remaining is not None and remaining <= 0:
            raise socket.timeout('timed out')
        sock.settimeout(remaining)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def connect_blocking(params: Parameters, timeout: Optional[float] = None) -> socket.socket:
    """Open a TCP (and, with ``params.ssl_options``, TLS) connection to the broker.

    Every resolved address is tried in turn until one accepts. ``timeout`` (default
    ``params.socket_timeout``; ``None`` means no limit) bounds the whole operation:
    all connect attempts plus the TLS handshake.

    The returned socket has TCP_NODELAY, keepalive and ``params.tcp_options`` applied
    and is in **non-blocking** mode, ready for :func:`send_some`/:func:`recv_some`.

    :raises AddressResolutionError: the host does not resolve
    :raises SocketConnectTimeout: the timeout expired
    :raises TLSHandshakeError: TLS negotiation failed
    :raises SocketConnectError: every address refused or failed
    """
    if timeout is None:
        timeout = params.socket_timeout
    deadline = None if timeout is None else time.monotonic() + timeout
    sock, _ = connect_first(params, resolve(params), deadline)
    try:
        apply_socket_options(sock, params.tcp_options)
        if params.ssl_options is not None:
            sock = blocking_tls_handshake(sock, params, deadline)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    LOGGER.info('Socket connected to %s', _endpoint(params))
    return sock


def connect_first(
    params: Parameters, infos: Sequence[AddrInfo], deadline: Optional[float]
) -> tuple[socket.socket, AddrInfo]:
    """Blocking TCP connect to the first address of ``infos`` (from :func:`resolve`) that
    accepts, bounded by ``deadline`` (a ``time.monotonic()`` instant, ``None``: no bound).

    :returns: the connected (blocking, no options applied) socket and the address it reached
    :raises SocketConnectTimeout: the deadline passed
    :raises SocketConnectError: every address refused or failed
    """
    last_error: Optional[OSError] = None
    for info in infos:
        try:
            return _connect_one(info, deadline), info
        except OSError as exc:
            LOGGER.debug('Connect to %s (%s) failed: %r', _endpoint(params), info[4], exc)
            last_error = exc
    raise _connect_failure(params, last_error) from last_error


def _connect_failure(params: Parameters, error: Optional[OSError]) -> SocketConnectError:
    """Turn the last connect ``OSError`` into a clear ``SocketConnectError``."""
    where = _endpoint(params)
    if isinstance(error, socket.timeout):
        return SocketConnectTimeout(f'TCP connection to {where} timed out')
    if isinstance(error, ConnectionRefusedError):
        return SocketConnectError(f'TCP connection to {where} refused')
    return SocketConnectError(f'TCP connection to {where} failed: {error}')


def tls_server_name(params: Parameters) -> str:
    """The TLS name to verify: ``ssl_options.server_hostname``, else ``params.host``."""
    configured = params.ssl_options.server_hostname if params.ssl_options else None
    return configured or params.host


def blocking_tls_handshake(
    sock: socket.socket, params: Parameters, deadline: Optional[float]
) -> ssl.SSLSocket:
    """Wrap ``sock`` in TLS (``params.ssl_options``) and finish the handshake before
    ``deadline`` (a ``time.monotonic()`` instant, ``None``: no bound).

    :raises SocketConnectTimeout: the deadline passed
    :raises TLSHandshakeError: TLS negotiation failed (certificate, name, protocol)
    :raises SocketConnectError: the socket failed during the handshake
    """
    tls = wrap_tls(sock, params)
    try:
        _handshake_until(tls, deadline, params)
    except BaseException:
        tls.close()  # wrapping detached `sock`: closing it would leave this one open
        raise
    return tls


def _handshake_until(tls: ssl.SSLSocket, deadline: Optional[float], params: Parameters) -> None:
    """Run the blocking handshake of ``tls``; failures become ``SocketConnectError`` types."""
    try:
        tls.settimeout(_remaining(deadline))
        tls.do_handshake()
    except socket.timeout as exc:
        raise SocketConnectTimeout(f'TLS handshake with {_endpoint(params)} timed out') from exc
    except (ssl.SSLError, ssl.CertificateError) as exc:
        raise TLSHandshakeError(f'TLS handshake with {_endpoint(params)} failed: {exc}') from exc
    except OSError as exc:
        raise SocketConnectError(f'TLS handshake with {_endpoint(params)} failed: {exc}') from exc


# -- TLS for loop adapters --------------------------------------------------------------


def wrap_tls(sock: socket.socket, params: Parameters) -> ssl.SSLSocket:
    """Wrap a connected socket with ``params.ssl_options`` without handshaking yet.

    The server name is ``ssl_options.server_hostname`` or, if unset, ``params.host``.
    Drive the handshake with :func:`tls_handshake_step` (non-blocking) or call
    ``do_handshake()`` on a blocking socket.
    """
    if params.ssl_options is None:
        raise ValueError('wrap_tls needs params.ssl_options')
    return params.ssl_options.context.wrap_socket(
        sock,
        server_side=False,
        do_handshake_on_connect=False,
        suppress_ragged_eofs=False,
        server_hostname=tls_server_name(params),
    )


def tls_handshake_step(
    sock: Union[ssl.SSLSocket, ssl.SSLObject], where: Optional[str] = None
) -> Optional[str]:
    """Advance a non-blocking TLS handshake (of a socket, or of an ``SSLObject`` on memory
    BIOs: `pika.adapters._io.memory_tls`).

    :param where: ``host:port`` of the peer, named in the error (never a secret)
    :returns: ``None`` when the handshake is complete, otherwise ``'read'`` or
        ``'write'``: wait until the socket is readable/writable and call again
    :raises TLSHandshakeError: the handshake failed
    """
    try:
        sock.do_handshake()
    except ssl.SSLWantReadError:
        return 'read'
    except ssl.SSLWantWriteError:
        return 'write'
    except (ssl.SSLError, ssl.CertificateError, OSError) as exc:
        peer = f' with {where}' if where else ''
        raise TLSHandshakeError(f'TLS handshake{peer} failed: {exc}') from exc
    return None


# -- non-blocking connect ---------------------------------------------------------------


def start_nonblocking_connect(
    info: AddrInfo, tcp_options: Optional[dict[str, Any]] = None
) -> socket.socket:
    """Create a non-blocking socket for ``info`` and start connecting it.

    Wait until the socket is writable, then call :func:`finish_nonblocking_connect`.

    :param info: one entry returned by :func:`resolve`
    :param tcp_options: ``params.tcp_options``, applied before connecting
    :raises SocketConnectError: the connect failed immediately
    """
    family, socktype, proto, _, sockaddr = info
    sock = socket.socket(family, socktype, proto)
    try:
        sock.setblocking(False)
        apply_socket_options(sock, tcp_options)
        code = sock.connect_ex(sockaddr)
    except OSError as exc:
        sock.close()
        raise SocketConnectError(f'TCP connection to {sockaddr} failed: {exc}') from exc
    if code != 0 and code not in _CONNECT_IN_PROGRESS:
        sock.close()
        raise SocketConnectError(
            f'TCP connection to {sockaddr} failed: {os.strerror(code)} (errno {code})'
        )
    return sock


def finish_nonblocking_connect(sock: socket.socket) -> None:
    """Check the result of a non-blocking connect once the socket became writable.

    :raises SocketConnectError: the connect failed (``SO_ERROR`` is set)
    """
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        if code == errno.ECONNREFUSED:
            raise SocketConnectError(f'TCP connection refused (errno {code})')
        raise SocketConnectError(f'TCP connection failed: {os.strerror(code)} (errno {code})')


# -- retry plan -------------------------------------------------------------------------


def connect_with_retries(
    param_list: Union[Parameters, Sequence[Parameters]],
) -> Iterator[tuple[Parameters, float]]:
    """Yield ``(params, delay_before)``: whom to try next and how long to wait first.

    Pure: no sockets, no sleeping. Stop iterating at the first success; when the
    iterator is exhausted every attempt has failed. The plan follows pika 1.x: the
    list is tried front to back (no delay between entries) in *cycles*; the number
    of cycles is the last entry's ``connection_attempts`` and the pause before each
    new cycle is the last entry's ``retry_delay``. For a single ``params`` this is
    simply ``connection_attempts`` tries, ``retry_delay`` seconds apart.

    Example: ``[A(attempts=1), B(attempts=3, retry_delay=2)]`` yields
    ``(A, 0), (B, 0), (A, 2), (B, 0), (A, 2), (B, 0)``.

    :raises ValueError: empty sequence
    :raises TypeError: an element is not a ``Parameters`` instance
    """
    configs = [param_list] if isinstance(param_list, Parameters) else list(param_list)
    if not configs:
        raise ValueError('need at least one connection parameters object')
    for config in configs:
        if not isinstance(config, Parameters):
            raise TypeError(f'expected Parameters, got {type(config).__name__}')
    cycles = configs[-1].connection_attempts
    pause = max(0.0, configs[-1].retry_delay)  # pika 1.x accepts a negative delay
    for cycle in range(cycles):
        for index, config in enumerate(configs):
            yield config, (pause if cycle > 0 and index == 0 else 0.0)


# -- moving bytes -----------------------------------------------------------------------


def send_some(sock: socket.socket, data: Union[bytes, bytearray, memoryview]) -> int:
    """Send as much of ``data`` as the socket accepts now.

    :returns: bytes sent; 0 when the socket cannot take data now (EAGAIN, EINTR,
        TLS want-read/want-write) -- wait for writability and retry with the same data
    :raises StreamLostError: the connection was reset, closed or failed
    """
    if not data:
        return 0
    try:
        return sock.send(data)
    except _WOULD_BLOCK:
        return 0
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError) as exc:
        raise exceptions.StreamLostError(f'TLS stream closed while sending: {exc!r}') from exc
    except OSError as exc:
        raise exceptions.StreamLostError(f'Stream lost while sending: {exc!r}') from exc


def send_vector(sock: socket.socket, buffers: Sequence[Union[bytes, bytearray, memoryview]]) -> int:
    """Send as much of the concatenation of ``buffers`` as the socket accepts now.

    One ``sendmsg`` (scatter/gather) for a plain socket, so large message bodies go to the kernel
    straight from the caller's objects; a TLS socket cannot gather, so it sends the first
    buffer only. Same return value and errors as :func:`send_some`.
    """
    if len(buffers) == 1 or isinstance(sock, ssl.SSLSocket):
        return send_some(sock, buffers[0])
    try:
        return sock.sendmsg(buffers)
    except _WOULD_BLOCK:
        return 0
    except OSError as exc:
        raise exceptions.StreamLostError(f'Stream lost while sending: {exc!r}') from exc


def recv_some(sock: socket.socket, n: int) -> Optional[bytes]:
    """Receive up to ``n`` bytes (more for TLS, see below) without blocking.

    For a TLS socket, bytes already decrypted and buffered inside the SSL object are
    drained too, because a selector would never report them as readable.

    :returns: the bytes, or ``None`` when nothing is available now (EAGAIN, EINTR,
        TLS want-read/want-write)
    :raises StreamLostError: EOF, connection reset, or any other socket failure
    """
    try:
        data = sock.recv(n)
    except _WOULD_BLOCK:
        return None
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError) as exc:
        raise exceptions.StreamLostError(f'TLS stream closed by peer: {exc!r}') from exc
    except OSError as exc:
        raise exceptions.StreamLostError(f'Stream lost while receiving: {exc!r}') from exc
    if not data:
        raise exceptions.StreamLostError('Transport indicated EOF')
    if isinstance(sock, ssl.SSLSocket):
        data = _drain_tls_pending(sock, data)
    return data


def receive_error(exc: OSError) -> Optional[exceptions.StreamLostError]:
    """What an ``OSError`` from a non-blocking plain-socket receive means: ``None`` when nothing
    can be read now (EAGAIN, EINTR), else the `StreamLostError` to report (its cause set).

    For the plain-socket read of :class:`pika.adapters._io.reader.SocketReader`, which calls
    ``sock.recv_into`` itself.
    """
    if isinstance(exc, _WOULD_BLOCK):
        return None
    error = exceptions.StreamLostError(f'Stream lost while receiving: {exc!r}')
    error.__cause__ = exc
    return error


def eof_error() -> exceptions.StreamLostError:
    """The error for a receive that returned no bytes: the peer closed the stream."""
    return exceptions.StreamLostError('Transport indicated EOF')


def _drain_tls_pending(sock: ssl.SSLSocket, data: bytes) -> bytes:
    """Append bytes the SSL layer has already buffered (invisible to select)."""
    chunks = [data]
    total = len(data)
    while total < _MAX_TLS_PENDING_DRAIN:
        pending = sock.pending()
        if pending <= 0:
            break
        try:
            more = sock.recv(pending)
        except _WOULD_BLOCK:
            break
        except OSError:
            break  # report the failure on the next call, after delivering what we have
        if not more:
            break
        chunks.append(more)
        total += len(more)
    return b''.join(chunks)
