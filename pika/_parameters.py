"""Connection settings: ``Parameters``, ``ConnectionParameters``, ``URLParameters``, ``SSLOptions``.

These objects only hold and validate settings; they never open sockets. Every
property validates at assignment time: a value of the wrong type raises
``TypeError`` and a value out of range raises ``ValueError``, so mistakes surface
where they are made rather than deep inside a connection attempt. The checks are
pika 1.4.4's (the same values accepted, stored as given, and the same exception
type for each rejected one), except where a value pika accepts would later crash
a socket call or a timer; those are listed under "Deliberate differences" in
docs/api-generations.md.

``pika.connection`` re-exports these names, and ``pika`` exports
``ConnectionParameters``, ``URLParameters`` and ``SSLOptions``.

Heartbeat semantics (applied by the core when it answers ``Connection.Tune``):

* ``heartbeat=None`` (the default) -- accept the broker's proposed interval;
* ``heartbeat=0`` -- ask to disable heartbeats;
* ``heartbeat=<int > 0>`` -- use this interval in seconds;
* ``heartbeat=<callable>`` -- called as ``heartbeat(connection, server_heartbeat)``
  and must return the interval (an ``int >= 0``) to use;
* ``heartbeat=True`` / ``False`` -- the pika 0.9 on/off switch, stored as given
  (as pika 1.x does) and read as "accept the broker's interval" and "disabled".
"""

from __future__ import annotations

import logging
import math
import numbers
import ssl
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional, Union, cast

from pika import _limits, spec
from pika import credentials as pika_credentials

if TYPE_CHECKING:
    from pika._url_parameters import URLParameters
    from pika.recovery import Recovery

LOGGER = logging.getLogger(__name__)

__all__ = [
    'ConnectionParameters',
    'Parameters',
    'SSLOptions',
    'URLParameters',
    'default_ssl_context',
]

#: Type of the ``heartbeat`` setting.
HeartbeatSetting = Union[int, None, Callable[[Any, int], int]]
Credentials = Union[pika_credentials.PlainCredentials, pika_credentials.ExternalCredentials]

#: Largest TCP port number.
_MAX_PORT = 65535


class SSLOptions:
    """TLS settings: an ``ssl.SSLContext`` and the name to verify the broker against.

    :param context: a client ``ssl.SSLContext`` (for example
        ``ssl.create_default_context(cafile=...)``)
    :param server_hostname: the name sent in SNI and matched against the broker's
        certificate; when ``None`` the transport uses the connection's ``host``

    As in pika 1.x, two instances are equal only if they are the same object.
    """

    def __init__(self, context: ssl.SSLContext, server_hostname: Optional[str] = None) -> None:
        if not isinstance(context, ssl.SSLContext):
            raise TypeError(f'context must be an ssl.SSLContext, not {type(context).__name__}')
        if server_hostname is not None and not isinstance(server_hostname, str):
            raise TypeError('server_hostname must be a str or None')
        self.context = context
        self.server_hostname = server_hostname

    def __repr__(self) -> str:
        return f'<SSLOptions server_hostname={self.server_hostname!r}>'


#: The oldest TLS version a context built by pika itself accepts.
MINIMUM_TLS_VERSION = ssl.TLSVersion.TLSv1_2


def default_ssl_context(
    cafile: Optional[str] = None, capath: Optional[str] = None, cadata: Optional[str] = None
) -> ssl.SSLContext:
    """The client context pika builds when the caller gives none (``amqps://`` URLs).

    It verifies the broker's certificate against the given CA (the system's by default) and
    its host name, and refuses anything older than TLS 1.2. Python 3.10+ already sets that
    minimum; on 3.9 it depends on the OpenSSL configuration, so it is set here explicitly
    (a stricter system minimum, such as TLS 1.3, is kept). A context the caller passes in
    ``SSLOptions`` is used as given.
    """
    context = ssl.create_default_context(cafile=cafile, capath=capath, cadata=cadata)
    if context.minimum_version < MINIMUM_TLS_VERSION:  # also MINIMUM_SUPPORTED (-2)
        context.minimum_version = MINIMUM_TLS_VERSION
    return context


# -- small pure validators ----------------------------------------------------
#
# pika 1.x counts ``bool`` as an integer and as a number (``channel_max=True`` is
# 1) and stores the value it was given; so do these.


def _check_int(name: str, value: object, low: int, high: Optional[int] = None) -> int:
    """Return ``value`` unchanged if it is an integer (``bool`` included) in ``[low, high]``."""
    if not isinstance(value, numbers.Integral):
        raise TypeError(f'{name} must be an int, not {type(value).__name__}')
    number = cast('int', value)
    if number < low or (high is not None and number > high):
        bound = f'>= {low}' if high is None else f'between {low} and {high}'
        raise ValueError(f'{name} must be {bound}, got {number!r}')
    return number


def _check_real(name: str, value: object) -> float:
    """Return ``value`` unchanged if it is a finite real number (``bool`` included).

    NaN and infinity are refused although pika 1.x takes them: they reach
    ``time.sleep``, ``socket.settimeout`` and timer deadlines, which raise on them
    or never fire.
    """
    if not isinstance(value, numbers.Real):
        raise TypeError(f'{name} must be a number, not {type(value).__name__}')
    number = cast('float', value)
    if not math.isfinite(number):
        raise ValueError(f'{name} must be a finite number, got {number!r}')
    return number


def _check_optional_real(name: str, value: object) -> Optional[float]:
    """``None``, or a finite real number returned as given (the two optional settings below)."""
    if value is None:
        return None
    if not isinstance(value, numbers.Real):
        raise TypeError(f'{name} must be a number or None, not {type(value).__name__}')
    return _check_real(name, value)


def _check_timeout(name: str, value: object) -> Optional[float]:
    """``None`` or a number ``> 0``, stored as ``float`` (socket and stack timeouts)."""
    number = _check_optional_real(name, value)
    if number is None:
        return None
    if number <= 0:
        raise ValueError(f'{name} must be > 0, got {value!r}')
    return float(number)


def _check_optional_delay(name: str, value: object) -> Optional[float]:
    """``None`` or a number ``>= 0``, stored as given (``blocked_connection_timeout``)."""
    number = _check_optional_real(name, value)
    if number is not None and number < 0:
        raise ValueError(f'{name} must be >= 0, got {value!r}')
    return number


def _check_port(value: object) -> int:
    """Convert ``value`` with ``int()`` as pika does (``'5672'`` and ``5672.0`` pass).

    A value ``int()`` cannot convert raises ``TypeError`` (``OverflowError`` for an
    infinite float); unlike pika, a number outside 0..65535 raises ``ValueError``
    here instead of failing later inside the socket calls.
    """
    try:
        port = int(cast('Any', value))
    except (TypeError, ValueError):
        raise TypeError(f'port must be an int, not {type(value).__name__}') from None
    if not 0 <= port <= _MAX_PORT:
        raise ValueError(f'port must be between 0 and {_MAX_PORT}, got {port}')
    return port


def _check_str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f'{name} must be a str, not {type(value).__name__}')
    return value


def _check_recovery(value: object) -> Optional[Recovery]:
    """``None`` or a ``pika.Recovery`` (imported here: only programs that use it load it)."""
    if value is None:
        return None
    from pika.recovery import Recovery

    if not isinstance(value, Recovery):
        raise TypeError(f'recovery must be a pika.Recovery or None, not {type(value).__name__}')
    return value


def _check_recoverable(credentials: Credentials, recovery: Optional[Recovery]) -> None:
    """Refuse recovery with credentials erased after the first connect.

    Recovery logs in again with the same credentials at every reconnect; erased ones would
    fail every attempt with ``AuthenticationError``, so the pair is an error where it is
    configured rather than an outage that never recovers.
    """
    if (
        recovery is not None
        and isinstance(credentials, pika_credentials.PlainCredentials)
        and credentials.erase_on_connect
    ):
        raise ValueError(
            'recovery needs the credentials again at every reconnect, but '
            'PlainCredentials(erase_on_connect=True) erases them after the first connect: '
            'use one or the other'
        )


def _check_dict(name: str, value: object) -> Optional[dict[str, Any]]:
    if value is not None and not isinstance(value, dict):
        raise TypeError(f'{name} must be a dict or None, not {type(value).__name__}')
    return value


class Parameters:
    """Base class holding every connection setting, initialised to the defaults.

    Use :class:`ConnectionParameters` (keywords) or :class:`URLParameters` (an AMQP
    URI). See the module docstring for what the ``heartbeat`` values mean.
    """

    DEFAULT_USERNAME = 'guest'
    DEFAULT_PASSWORD = 'guest'
    DEFAULT_BLOCKED_CONNECTION_TIMEOUT: Optional[float] = None
    DEFAULT_CHANNEL_MAX = 65535
    DEFAULT_CLIENT_PROPERTIES: Optional[dict[str, Any]] = None
    DEFAULT_CREDENTIALS = pika_credentials.PlainCredentials(DEFAULT_USERNAME, DEFAULT_PASSWORD)
    DEFAULT_CONNECTION_ATTEMPTS = 1
    DEFAULT_FRAME_MAX = 131072
    DEFAULT_HEARTBEAT_TIMEOUT: Optional[int] = None
    DEFAULT_HOST = 'localhost'
    DEFAULT_LOCALE = 'en_US'
    DEFAULT_MAX_MESSAGE_SIZE = _limits.DEFAULT_MAX_MESSAGE_SIZE
    DEFAULT_PORT = 5672
    DEFAULT_RETRY_DELAY = 2.0
    DEFAULT_SOCKET_TIMEOUT: Optional[float] = 10.0
    DEFAULT_STACK_TIMEOUT: Optional[float] = 15.0
    DEFAULT_SSL = False
    DEFAULT_SSL_OPTIONS: Optional[SSLOptions] = None
    DEFAULT_SSL_PORT = 5671
    DEFAULT_VIRTUAL_HOST = '/'
    DEFAULT_TCP_OPTIONS: Optional[dict[str, Any]] = None
    DEFAULT_RECOVERY: Optional[Recovery] = None

    #: Bounds enforced by the setters (pika 1.x's).
    MIN_CHANNEL_MAX = 1
    MAX_CHANNEL_MAX = _limits.MAX_CHANNEL_NUMBER
    MIN_FRAME_MAX = spec.FRAME_MIN_SIZE
    MAX_FRAME_MAX = spec.FRAME_MAX_SIZE

    def __init__(self) -> None:
        self._host = self.DEFAULT_HOST
        self._port = self.DEFAULT_PORT
        self._virtual_host = self.DEFAULT_VIRTUAL_HOST
        # A fresh object per instance: erasing one connection's credentials must not
        # erase everybody's defaults.
        self._credentials: Credentials = pika_credentials.PlainCredentials(
            self.DEFAULT_USERNAME, self.DEFAULT_PASSWORD
        )
        self._channel_max = self.DEFAULT_CHANNEL_MAX
        self._frame_max = self.DEFAULT_FRAME_MAX
        self._heartbeat: HeartbeatSetting = self.DEFAULT_HEARTBEAT_TIMEOUT
        self._ssl_options: Optional[SSLOptions] = self.DEFAULT_SSL_OPTIONS
        self._connection_attempts = self.DEFAULT_CONNECTION_ATTEMPTS
        self._retry_delay: float = self.DEFAULT_RETRY_DELAY
        self._socket_timeout = self.DEFAULT_SOCKET_TIMEOUT
        self._stack_timeout = self.DEFAULT_STACK_TIMEOUT
        self._locale = self.DEFAULT_LOCALE
        self._blocked_connection_timeout = self.DEFAULT_BLOCKED_CONNECTION_TIMEOUT
        self._client_properties = self.DEFAULT_CLIENT_PROPERTIES
        self._tcp_options = self.DEFAULT_TCP_OPTIONS
        self._max_message_size = self.DEFAULT_MAX_MESSAGE_SIZE
        self._delivery_backlog_high = _limits.DEFAULT_DELIVERY_BACKLOG_HIGH
        self._delivery_backlog_low = _limits.DEFAULT_DELIVERY_BACKLOG_LOW
        self._recovery = self.DEFAULT_RECOVERY

    # -- comparison and display -------------------------------------------------

    def __eq__(self, other: object) -> bool:
        """Same broker endpoint: equal ``host`` and ``port``, as pika 1.x compares them.

        Credentials, virtual host and the other settings do not take part; neither
        does ``ssl_options`` (a TLS and a plain object on the same port are equal).
        """
        if isinstance(other, Parameters):
            return (self.host, self.port) == (other.host, other.port)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Parameters):
            return not self == other
        return NotImplemented

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # Deliberately omits credentials: a password must never reach a log line.
        return (
            f'<{type(self).__name__} host={self.host} port={self.port} '
            f'virtual_host={self.virtual_host} ssl={bool(self.ssl_options)}>'
        )

    # -- validated properties ----------------------------------------------------

    @property
    def host(self) -> str:
        """Hostname or IP address of the broker (default ``'localhost'``)."""
        return self._host

    @host.setter
    def host(self, value: str) -> None:
        self._host = _check_str('host', value)

    @property
    def port(self) -> int:
        """TCP port (default 5672, or 5671 when TLS is configured at construction)."""
        return self._port

    @port.setter
    def port(self, value: int) -> None:
        self._port = _check_port(value)

    @property
    def virtual_host(self) -> str:
        """RabbitMQ virtual host (default ``'/'``)."""
        return self._virtual_host

    @virtual_host.setter
    def virtual_host(self, value: str) -> None:
        self._virtual_host = _check_str('virtual_host', value)

    @property
    def credentials(self) -> Credentials:
        """A ``PlainCredentials`` or ``ExternalCredentials`` (default guest/guest)."""
        return self._credentials

    @credentials.setter
    def credentials(self, value: Credentials) -> None:
        if not isinstance(value, tuple(pika_credentials.VALID_TYPES)):
            names = [cls.__name__ for cls in pika_credentials.VALID_TYPES]
            raise TypeError(f'credentials must be one of {names}, not {type(value).__name__}')
        _check_recoverable(value, self._recovery)
        self._credentials = value

    @property
    def channel_max(self) -> int:
        """Largest channel number we ask for (1..65535; the broker may lower it)."""
        return self._channel_max

    @channel_max.setter
    def channel_max(self, value: int) -> None:
        self._channel_max = _check_int(
            'channel_max', value, self.MIN_CHANNEL_MAX, self.MAX_CHANNEL_MAX
        )

    @property
    def frame_max(self) -> int:
        """Largest frame size in bytes we ask for (4096..131072; negotiated down)."""
        return self._frame_max

    @frame_max.setter
    def frame_max(self, value: int) -> None:
        self._frame_max = _check_int('frame_max', value, self.MIN_FRAME_MAX, self.MAX_FRAME_MAX)

    @property
    def heartbeat(self) -> HeartbeatSetting:
        """Heartbeat interval setting: ``None``, an ``int >= 0`` or a callable.

        See the module docstring for the meaning of each form.
        """
        return self._heartbeat

    @heartbeat.setter
    def heartbeat(self, value: HeartbeatSetting) -> None:
        if value is None or callable(value):
            self._heartbeat = value
        else:
            self._heartbeat = _check_int('heartbeat', value, 0)

    @property
    def ssl_options(self) -> Optional[SSLOptions]:
        """``SSLOptions`` to connect with TLS, or ``None`` for plain TCP."""
        return self._ssl_options

    @ssl_options.setter
    def ssl_options(self, value: Optional[SSLOptions]) -> None:
        if value is not None and not isinstance(value, SSLOptions):
            raise TypeError(f'ssl_options must be SSLOptions or None, not {type(value).__name__}')
        self._ssl_options = value

    @property
    def connection_attempts(self) -> int:
        """How many times to try to connect to this host (>= 1)."""
        return self._connection_attempts

    @connection_attempts.setter
    def connection_attempts(self, value: int) -> None:
        self._connection_attempts = _check_int('connection_attempts', value, 1)

    @property
    def retry_delay(self) -> float:
        """Seconds to wait between connection attempts (a negative number waits 0)."""
        return self._retry_delay

    @retry_delay.setter
    def retry_delay(self, value: float) -> None:
        self._retry_delay = _check_real('retry_delay', value)

    @property
    def socket_timeout(self) -> Optional[float]:
        """Seconds allowed for the TCP connect (> 0, or ``None`` for no limit)."""
        return self._socket_timeout

    @socket_timeout.setter
    def socket_timeout(self, value: Optional[float]) -> None:
        self._socket_timeout = _check_timeout('socket_timeout', value)

    @property
    def stack_timeout(self) -> Optional[float]:
        """Seconds allowed for TCP + TLS + AMQP handshake together (> 0 or ``None``)."""
        return self._stack_timeout

    @stack_timeout.setter
    def stack_timeout(self, value: Optional[float]) -> None:
        self._stack_timeout = _check_timeout('stack_timeout', value)

    @property
    def locale(self) -> str:
        """Locale sent in ``Connection.StartOk`` (default ``'en_US'``)."""
        return self._locale

    @locale.setter
    def locale(self, value: str) -> None:
        self._locale = _check_str('locale', value)

    @property
    def blocked_connection_timeout(self) -> Optional[float]:
        """Seconds a broker-blocked connection may stay blocked before we drop it.

        ``None`` (default) or ``0`` waits forever; otherwise a number of seconds.
        """
        return self._blocked_connection_timeout

    @blocked_connection_timeout.setter
    def blocked_connection_timeout(self, value: Optional[float]) -> None:
        self._blocked_connection_timeout = _check_optional_delay(
            'blocked_connection_timeout', value
        )

    @property
    def client_properties(self) -> Optional[dict[str, Any]]:
        """Extra client properties merged into ``Connection.StartOk`` (dict or ``None``)."""
        return self._client_properties

    @client_properties.setter
    def client_properties(self, value: Optional[dict[str, Any]]) -> None:
        self._client_properties = _check_dict('client_properties', value)

    @property
    def tcp_options(self) -> Optional[dict[str, Any]]:
        """Socket options: keys ``TCP_KEEPIDLE``, ``TCP_KEEPINTVL``, ``TCP_KEEPCNT``,
        ``TCP_USER_TIMEOUT`` (applied where the platform has them), or ``None``.
        """
        return self._tcp_options

    @tcp_options.setter
    def tcp_options(self, value: Optional[dict[str, Any]]) -> None:
        self._tcp_options = _check_dict('tcp_options', value)

    @property
    def max_message_size(self) -> int:
        """Largest message body accepted from the broker, in bytes (>= 1; default 128 MiB,
        RabbitMQ's own default). A content header announcing more closes the connection
        (506 RESOURCE_ERROR) before anything is allocated for the body; see docs/limits.md.
        Not in pika 1.x."""
        return self._max_message_size

    @max_message_size.setter
    def max_message_size(self, value: int) -> None:
        self._max_message_size = _check_int('max_message_size', value, 1)

    @property
    def delivery_backlog_high(self) -> int:
        """Bytes of received deliveries not yet handed to the application above which a
        ``BlockingConnection`` stops reading its socket (>= 0; 0 never stops; default
        64 MiB). Not in pika 1.x; see docs/blocking.md, "Bounded memory while consuming"."""
        return self._delivery_backlog_high

    @delivery_backlog_high.setter
    def delivery_backlog_high(self, value: int) -> None:
        self._delivery_backlog_high = _check_int('delivery_backlog_high', value, 0)

    @property
    def delivery_backlog_low(self) -> int:
        """Backlog (bytes) at which reading resumes once paused (>= 0; default 32 MiB; a
        value above ``delivery_backlog_high`` acts as that mark). Not in pika 1.x."""
        return self._delivery_backlog_low

    @delivery_backlog_low.setter
    def delivery_backlog_low(self, value: int) -> None:
        self._delivery_backlog_low = _check_int('delivery_backlog_low', value, 0)

    @property
    def recovery(self) -> Optional[Recovery]:
        """A ``pika.Recovery`` policy to recover the connection automatically when it is lost,
        or ``None`` (the default: a lost connection stays closed, as in pika 1.x). Refused
        with ``PlainCredentials(erase_on_connect=True)`` (``ValueError``): a reconnect needs
        the credentials again. Not in pika 1.x; docs/recovery.md is the contract and says
        which adapters act on it yet."""
        return self._recovery

    @recovery.setter
    def recovery(self, value: Optional[Recovery]) -> None:
        checked = _check_recovery(value)
        _check_recoverable(self._credentials, checked)
        self._recovery = checked


class _Default:
    """Sentinel type: "argument not given", distinct from an explicit ``None``."""

    def __repr__(self) -> str:
        return '<default>'


_DEFAULT: Any = _Default()

# ConnectionParameters keywords (all but port), in the order they are applied.
_KEYWORDS = tuple(
    'host virtual_host credentials channel_max frame_max heartbeat ssl_options'
    ' connection_attempts retry_delay socket_timeout stack_timeout locale'
    ' blocked_connection_timeout client_properties tcp_options max_message_size'
    ' delivery_backlog_high delivery_backlog_low recovery'.split()
)


class ConnectionParameters(Parameters):
    """Connection settings given as keywords; omitted ones keep the defaults.

    :param host: broker hostname or IP (default ``'localhost'``)
    :param port: TCP port, converted with ``int()`` (default 5672, or 5671 when
        ``ssl_options`` is given)
    :param virtual_host: vhost (default ``'/'``)
    :param credentials: ``PlainCredentials``/``ExternalCredentials`` (default guest/guest)
    :param channel_max: maximum channel number to request (1..65535)
    :param frame_max: maximum frame size to request (4096..131072)
    :param heartbeat: ``None`` (accept the broker's value), ``0`` (disable), an
        ``int`` interval, or a callable ``(connection, server_heartbeat) -> int``
    :param ssl_options: ``SSLOptions`` or ``None``
    :param connection_attempts: attempts per host (>= 1)
    :param retry_delay: seconds between attempts (a negative delay waits 0)
    :param socket_timeout: TCP connect timeout (> 0 or ``None``)
    :param stack_timeout: whole-handshake timeout (> 0 or ``None``)
    :param locale: locale string (default ``'en_US'``)
    :param blocked_connection_timeout: seconds before a broker-blocked connection is
        torn down (>= 0; ``None`` or 0 never)
    :param client_properties: dict merged into the client properties, or ``None``
    :param tcp_options: dict of TCP keepalive/user-timeout options, or ``None``
    :param max_message_size: keyword only, not in pika 1.x: the largest message body
        accepted from the broker in bytes (default 134217728, RabbitMQ's default); a
        larger one closes the connection (docs/limits.md)
    :param delivery_backlog_high: keyword only, not in pika 1.x: bytes of received,
        undispatched deliveries above which a ``BlockingConnection`` pauses reading
        (default 67108864; 0 never pauses; docs/blocking.md)
    :param delivery_backlog_low: keyword only, not in pika 1.x: the backlog at which
        reading resumes (default 33554432)
    :param recovery: keyword only, not in pika 1.x: a ``pika.Recovery`` policy to recover
        the connection when it is lost, or ``None`` (default: no recovery, as today). With
        ``PlainCredentials(erase_on_connect=True)`` it raises ``ValueError``: a reconnect
        needs the credentials again (docs/recovery.md, which says which adapters act on
        it yet)
    :param kwargs: only the pika 0.9-era alias ``heartbeat_interval`` (same meaning
        as ``heartbeat``; giving both raises ``TypeError``). Anything else raises
        ``TypeError``.
    """

    def __init__(
        self,
        host: str = _DEFAULT,
        port: int = _DEFAULT,
        virtual_host: str = _DEFAULT,
        credentials: Credentials = _DEFAULT,
        channel_max: int = _DEFAULT,
        frame_max: int = _DEFAULT,
        heartbeat: HeartbeatSetting = _DEFAULT,
        ssl_options: Optional[SSLOptions] = _DEFAULT,
        connection_attempts: int = _DEFAULT,
        retry_delay: float = _DEFAULT,
        socket_timeout: Optional[float] = _DEFAULT,
        stack_timeout: Optional[float] = _DEFAULT,
        locale: str = _DEFAULT,
        blocked_connection_timeout: Optional[float] = _DEFAULT,
        client_properties: Optional[dict[str, Any]] = _DEFAULT,
        tcp_options: Optional[dict[str, Any]] = _DEFAULT,
        *,
        max_message_size: int = _DEFAULT,
        delivery_backlog_high: int = _DEFAULT,
        delivery_backlog_low: int = _DEFAULT,
        recovery: Optional[Recovery] = _DEFAULT,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if 'heartbeat_interval' in kwargs:
            if heartbeat is not _DEFAULT:
                raise TypeError('give heartbeat or heartbeat_interval, not both')
            heartbeat = kwargs.pop('heartbeat_interval')
        if kwargs:
            raise TypeError(f'Unexpected keyword arguments: {", ".join(sorted(kwargs))}')
        given = {
            'host': host,
            'virtual_host': virtual_host,
            'credentials': credentials,
            'channel_max': channel_max,
            'frame_max': frame_max,
            'heartbeat': heartbeat,
            'ssl_options': ssl_options,
            'connection_attempts': connection_attempts,
            'retry_delay': retry_delay,
            'socket_timeout': socket_timeout,
            'stack_timeout': stack_timeout,
            'locale': locale,
            'blocked_connection_timeout': blocked_connection_timeout,
            'client_properties': client_properties,
            'tcp_options': tcp_options,
            'max_message_size': max_message_size,
            'delivery_backlog_high': delivery_backlog_high,
            'delivery_backlog_low': delivery_backlog_low,
            'recovery': recovery,
        }
        for name in _KEYWORDS:
            if given[name] is not _DEFAULT:
                setattr(self, name, given[name])
        if port is not _DEFAULT:
            self.port = port
        elif self.ssl_options is not None:
            self.port = self.DEFAULT_SSL_PORT


def __getattr__(name: str) -> Any:
    """Keep ``pika._parameters.URLParameters`` importable; it lives in ``pika._url_parameters``.

    Imported lazily because that module builds on the classes defined here.
    """
    if name == 'URLParameters':
        from pika._url_parameters import URLParameters

        return URLParameters
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
