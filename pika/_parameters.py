"""Connection settings: ``Parameters``, ``ConnectionParameters``, ``URLParameters``, ``SSLOptions``.

These objects only hold and validate settings; they never open sockets. Every
property validates at assignment time: a value of the wrong type raises
``TypeError`` and a value out of range raises ``ValueError``, so mistakes surface
where they are made rather than deep inside a connection attempt.

``pika.connection`` re-exports these names, and ``pika`` exports
``ConnectionParameters``, ``URLParameters`` and ``SSLOptions``.

Heartbeat semantics (applied by the core when it answers ``Connection.Tune``):

* ``heartbeat=None`` (the default) -- accept the broker's proposed interval;
* ``heartbeat=0`` -- ask to disable heartbeats;
* ``heartbeat=<int > 0>`` -- use this interval in seconds;
* ``heartbeat=<callable>`` -- called as ``heartbeat(connection, server_heartbeat)``
  and must return the interval (an ``int >= 0``) to use;
* ``heartbeat=True`` / ``False`` -- the pika 0.9 on/off switch, stored as ``None``
  (accept the broker's interval) and ``0`` (disabled).
"""

from __future__ import annotations

import logging
import numbers
import ssl
from typing import TYPE_CHECKING, Any, Callable, Optional, Union, cast

from pika import credentials as pika_credentials

if TYPE_CHECKING:
    from pika._url_parameters import URLParameters

LOGGER = logging.getLogger(__name__)

__all__ = ['ConnectionParameters', 'Parameters', 'SSLOptions', 'URLParameters']

#: Type of the ``heartbeat`` setting.
HeartbeatSetting = Union[int, None, Callable[[Any, int], int]]
Credentials = Union[pika_credentials.PlainCredentials, pika_credentials.ExternalCredentials]


class SSLOptions:
    """TLS settings: an ``ssl.SSLContext`` and the name to verify the broker against.

    :param context: a client ``ssl.SSLContext`` (for example
        ``ssl.create_default_context(cafile=...)``)
    :param server_hostname: the name sent in SNI and matched against the broker's
        certificate; when ``None`` the transport uses the connection's ``host``
    """

    def __init__(self, context: ssl.SSLContext, server_hostname: Optional[str] = None) -> None:
        if not isinstance(context, ssl.SSLContext):
            raise TypeError(f'context must be an ssl.SSLContext, not {type(context).__name__}')
        if server_hostname is not None and not isinstance(server_hostname, str):
            raise TypeError('server_hostname must be a str or None')
        self.context = context
        self.server_hostname = server_hostname

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SSLOptions):
            return self.context is other.context and self.server_hostname == other.server_hostname
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f'<SSLOptions server_hostname={self.server_hostname!r}>'


# -- small pure validators ----------------------------------------------------


def _is_int(value: object) -> bool:
    """True for integers, excluding ``bool`` (``True`` is not a port number)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    """True for int/float-like numbers, excluding ``bool``."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_int(name: str, value: object, low: int, high: Optional[int] = None) -> int:
    """Return ``value`` as ``int`` if it is an integer in ``[low, high]``."""
    if not _is_int(value):
        raise TypeError(f'{name} must be an int, not {type(value).__name__}')
    number = int(cast('int', value))
    if number < low or (high is not None and number > high):
        bound = f'>= {low}' if high is None else f'between {low} and {high}'
        raise ValueError(f'{name} must be {bound}, got {number}')
    return number


def _check_number(name: str, value: object, *, positive: bool) -> float:
    """Return ``value`` as ``float`` if it is a number ``> 0`` (``positive``) or ``>= 0``."""
    if not _is_real(value):
        raise TypeError(f'{name} must be a number, not {type(value).__name__}')
    number = float(cast('float', value))
    if number != number:  # NaN compares unequal to itself
        raise ValueError(f'{name} must not be NaN')
    if (positive and number <= 0) or number < 0:
        raise ValueError(f'{name} must be {"> 0" if positive else ">= 0"}, got {value!r}')
    return number


def _check_optional_positive(name: str, value: object) -> Optional[float]:
    """Return ``None`` or ``value`` as a ``float > 0``."""
    if value is None:
        return None
    try:
        return _check_number(name, value, positive=True)
    except TypeError:
        raise TypeError(f'{name} must be a number or None, not {type(value).__name__}') from None


def _check_str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f'{name} must be a str, not {type(value).__name__}')
    return value


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
    DEFAULT_PORT = 5672
    DEFAULT_RETRY_DELAY = 2.0
    DEFAULT_SOCKET_TIMEOUT: Optional[float] = 10.0
    DEFAULT_STACK_TIMEOUT: Optional[float] = 15.0
    DEFAULT_SSL = False
    DEFAULT_SSL_OPTIONS: Optional[SSLOptions] = None
    DEFAULT_SSL_PORT = 5671
    DEFAULT_VIRTUAL_HOST = '/'
    DEFAULT_TCP_OPTIONS: Optional[dict[str, Any]] = None

    #: Bounds enforced by the setters.
    MIN_CHANNEL_MAX = 1
    MAX_CHANNEL_MAX = 65535
    MIN_FRAME_MAX = 4096
    MAX_FRAME_MAX = 2**31 - 1

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

    # -- comparison and display -------------------------------------------------

    def _fields(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if name.startswith('_')}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Parameters):
            return self._fields() == other._fields()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

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
        self._port = _check_int('port', value, 1, 65535)

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
        """Largest frame size in bytes we ask for (4096..2**31-1; negotiated down)."""
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
        if isinstance(value, bool):  # pika 0.9 on/off form
            self._heartbeat = None if value else 0
        elif value is None or callable(value):
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
        """Seconds to wait between connection attempts (>= 0)."""
        return self._retry_delay

    @retry_delay.setter
    def retry_delay(self, value: float) -> None:
        self._retry_delay = _check_number('retry_delay', value, positive=False)

    @property
    def socket_timeout(self) -> Optional[float]:
        """Seconds allowed for the TCP connect (> 0, or ``None`` for no limit)."""
        return self._socket_timeout

    @socket_timeout.setter
    def socket_timeout(self, value: Optional[float]) -> None:
        self._socket_timeout = _check_optional_positive('socket_timeout', value)

    @property
    def stack_timeout(self) -> Optional[float]:
        """Seconds allowed for TCP + TLS + AMQP handshake together (> 0 or ``None``)."""
        return self._stack_timeout

    @stack_timeout.setter
    def stack_timeout(self, value: Optional[float]) -> None:
        self._stack_timeout = _check_optional_positive('stack_timeout', value)

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

        ``None`` (default) waits forever; otherwise a number > 0.
        """
        return self._blocked_connection_timeout

    @blocked_connection_timeout.setter
    def blocked_connection_timeout(self, value: Optional[float]) -> None:
        self._blocked_connection_timeout = _check_optional_positive(
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


class _Default:
    """Sentinel type: "argument not given", distinct from an explicit ``None``."""

    def __repr__(self) -> str:
        return '<default>'


_DEFAULT: Any = _Default()

# ConnectionParameters keywords (all but port), in the order they are applied.
_KEYWORDS = tuple(
    'host virtual_host credentials channel_max frame_max heartbeat ssl_options'
    ' connection_attempts retry_delay socket_timeout stack_timeout locale'
    ' blocked_connection_timeout client_properties tcp_options'.split()
)


class ConnectionParameters(Parameters):
    """Connection settings given as keywords; omitted ones keep the defaults.

    :param host: broker hostname or IP (default ``'localhost'``)
    :param port: TCP port (default 5672, or 5671 when ``ssl_options`` is given)
    :param virtual_host: vhost (default ``'/'``)
    :param credentials: ``PlainCredentials``/``ExternalCredentials`` (default guest/guest)
    :param channel_max: maximum channel number to request (1..65535)
    :param frame_max: maximum frame size to request (4096..2**31-1)
    :param heartbeat: ``None`` (accept the broker's value), ``0`` (disable), an
        ``int`` interval, or a callable ``(connection, server_heartbeat) -> int``
    :param ssl_options: ``SSLOptions`` or ``None``
    :param connection_attempts: attempts per host (>= 1)
    :param retry_delay: seconds between attempts (>= 0)
    :param socket_timeout: TCP connect timeout (> 0 or ``None``)
    :param stack_timeout: whole-handshake timeout (> 0 or ``None``)
    :param locale: locale string (default ``'en_US'``)
    :param blocked_connection_timeout: seconds before a broker-blocked connection is
        torn down (> 0 or ``None``)
    :param client_properties: dict merged into the client properties, or ``None``
    :param tcp_options: dict of TCP keepalive/user-timeout options, or ``None``
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
