"""``URLParameters``: connection settings parsed from an AMQP URI (split from ``_parameters``).

The URL may carry a password, so nothing here ever quotes the URL (or the password) in an error
message or a log line, and the URL string itself is not stored: only the parsed settings are.
Parsing follows pika 1.4.4 case by case (see ``URLParameters``); the few deliberate differences
are listed in docs/api-generations.md.
"""

from __future__ import annotations

import ast
import logging
import urllib.parse
from typing import Any, Callable, Optional

from pika import credentials as pika_credentials
from pika._parameters import Parameters, SSLOptions, default_ssl_context

LOGGER = logging.getLogger(__name__)

__all__ = ['URLParameters', 'ssl_options_from_dict']


class URLParameters(Parameters):
    """Connection settings parsed from an AMQP URI, as pika 1.x parses it.

    ``amqp://user:password@host:port/vhost?option=value&...``. The scheme is ``amqp``
    (or ``http``) for plain TCP and ``amqps`` (or ``https``) for TLS on port 5671 with
    ``default_ssl_context()`` (the system CAs, host name checked, TLS 1.2 or newer); a
    URL without a scheme is plain AMQP. Host, port and credentials left out keep the
    defaults; a user name needs a password (``amqp://user@host`` raises ``TypeError``).
    User and password are percent-decoded.
    The virtual host is the first path segment, percent-decoded: ``/%2f`` and ``/%2F``
    are ``'/'``, ``/vh/`` is ``'vh'``, and an empty or ``/`` path keeps ``'/'``.

    Query options, each at most once (a blank value is ignored): ``heartbeat``,
    ``channel_max``, ``frame_max``, ``connection_attempts``, ``max_message_size``,
    ``delivery_backlog_high``, ``delivery_backlog_low`` (these three are ours, not pika's;
    integers);
    ``retry_delay``, ``socket_timeout``, ``stack_timeout``,
    ``blocked_connection_timeout`` (numbers); ``locale``; ``tcp_options`` and
    ``client_properties`` (Python literals: a dict or ``None``); ``ssl_options``
    (``None``, only on a plain URL, or a dict of ``ca_certs``/``cafile``,
    ``ca_path``/``capath``, ``ca_data``/``cadata`` -- one of them is required --
    ``certfile``, ``keyfile``, ``password``, ``ciphers``, ``server_hostname``; other
    keys are ignored, as pika does), e.g.
    ``ssl_options=%7B%27ca_certs%27%3A%27%2Fca.pem%27%7D``. pika 0.9's
    ``heartbeat_interval`` is read as ``heartbeat``. An unknown or repeated option
    raises ``ValueError``; a bad value raises what the matching setter raises.

    Not in pika 1.x: ``recovery=true`` (or ``1``/``yes``/``on``; ``false``/``0``/``no``/
    ``off`` leave it off) sets ``recovery`` to ``pika.Recovery()``, tuned by
    ``recovery_initial_delay``, ``recovery_max_delay``, ``recovery_multiplier``,
    ``recovery_jitter``, ``recovery_max_duration`` (numbers), ``recovery_max_attempts``
    (integer) and ``recovery_host_order`` (``in_order`` or ``shuffle``); these need
    ``recovery=true`` beside them (``ValueError`` otherwise). Callbacks cannot come from a
    URL: add them with ``params.recovery = params.recovery.replace(on_recovered=...)``.

    :param url: the AMQP URI
    """

    def __init__(self, url: str) -> None:
        super().__init__()
        if not isinstance(url, str):
            raise _URLTypeError(f'url must be a str, not {type(url).__name__}')
        _parse_url_into(self, url)


class _URLTypeError(TypeError, ValueError):
    """A URL that is not a ``str`` (pika raises ``TypeError`` or, for bytes, ``ValueError``)."""


class _URLPathError(ValueError, IndexError):
    """A scheme-less URL whose path has no ``/`` (pika raises ``IndexError`` for it)."""


class _NotADictError(TypeError, AttributeError):
    """``ssl_options`` that is neither a dict nor ``None`` (pika: ``TypeError`` or
    ``AttributeError`` depending on the literal)."""


class _LiteralSyntaxError(ValueError, SyntaxError):
    """A query option that is not a Python literal (pika lets ``SyntaxError`` through)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


# -- URL parsing ---------------------------------------------------------------

_PLAIN_SCHEMES = frozenset({'', 'amqp', 'http'})
_TLS_SCHEMES = frozenset({'amqps', 'https'})


def _parse_url_into(params: Parameters, url: str) -> None:
    """Apply the settings in AMQP URI ``url`` to ``params``.

    Error messages never quote the URL itself, since it may carry a password.
    """
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _PLAIN_SCHEMES | _TLS_SCHEMES:
        raise ValueError(
            f'Unexpected URL scheme {parts.scheme!r}; supported scheme values: amqp, amqps'
        )
    tls = scheme in _TLS_SCHEMES
    if parts.hostname:
        params.host = parts.hostname
    port = _port_of(parts)
    if port is not None:
        params.port = port
    elif tls:
        params.port = params.DEFAULT_SSL_PORT
    if tls:
        params.ssl_options = SSLOptions(default_ssl_context())
    if parts.username is not None:
        if parts.password is None:
            raise TypeError('URL has a user name but no password')
        params.credentials = pika_credentials.PlainCredentials(
            urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password)
        )
    vhost = _vhost_from_path(parts.path)
    if vhost is not None:
        params.virtual_host = vhost
    recovery_options: dict[str, str] = {}  # applied together, after the loop
    for name, values in urllib.parse.parse_qs(parts.query).items():
        if len(values) > 1:
            raise ValueError(f'URL parameter {name!r} given {len(values)} times')
        if name == 'recovery' or name.startswith(_RECOVERY_PREFIX):
            recovery_options[name] = values[0]
        else:
            _apply_url_option(params, name, values[0], tls=tls)
    if recovery_options:
        _apply_recovery_options(params, recovery_options)


def _port_of(parts: urllib.parse.SplitResult) -> Optional[int]:
    """The URL's port, or ``None`` when it has none.

    ``urllib`` quotes the text it took for the port in its error, and with a password
    holding an unencoded ``/``, ``?`` or ``#`` that text is the start of the password. So
    the error raised here is a new one, outside the ``except`` block: it has no
    ``__context__`` (``from None`` would only hide the original, not drop it).
    """
    try:
        return parts.port
    except ValueError:
        pass
    raise ValueError('URL port must be an integer between 0 and 65535')


def _vhost_from_path(path: str) -> Optional[str]:
    """The percent-decoded first path segment, or ``None`` (keep the default) for ``''``/``'/'``.

    As in pika 1.x: ``/vh/x`` is ``'vh'``, ``//`` is ``''``, and a one-character path of a
    scheme-less URL (``'h'``) keeps the default.
    """
    if len(path) <= 1:
        return None
    segments = path.split('/')
    if len(segments) < 2:
        raise _URLPathError('URL without a scheme must be written //host/vhost or /vhost')
    return urllib.parse.unquote(segments[1])


def _literal(value: str) -> Any:
    """Evaluate a Python literal (``{'a': 1}``, ``None``...) as pika reads dict options.

    A ``SyntaxError`` carries the source text, which may hold a key password from
    ``ssl_options``: the error raised instead is made outside the ``except`` block, so that
    it does not keep the original as its ``__context__``.
    """
    failure: Exception
    try:
        return ast.literal_eval(value)
    except SyntaxError:
        failure = _LiteralSyntaxError('expected a Python literal such as {...} or None')
    except (ValueError, TypeError, MemoryError, RecursionError):
        failure = ValueError('expected a Python literal such as {...} or None')
    raise failure


_CA_KEYS = (('ca_certs', 'cafile'), ('ca_path', 'capath'), ('ca_data', 'cadata'))


def _first(options: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((options[name] for name in names if options.get(name) is not None), None)


def ssl_options_from_dict(options: dict[str, Any]) -> SSLOptions:
    """Build ``SSLOptions`` from the dict form used in URLs (see ``URLParameters``).

    As pika 1.x: a CA location is required (``TypeError`` without one), unknown keys are
    ignored (``verify_mode``/``cert_reqs`` too: verification stays on), and unreadable
    files raise the ``OSError``/``ssl.SSLError`` of the ``ssl`` module.
    """
    cafile, capath, cadata = (_first(options, names) for names in _CA_KEYS)
    if cafile is None and capath is None and cadata is None:
        raise TypeError('ssl_options needs one of ca_certs, ca_path or ca_data')
    context = default_ssl_context(cafile, capath, cadata)
    if options.get('certfile'):
        context.load_cert_chain(
            options['certfile'], options.get('keyfile'), options.get('password')
        )
    if options.get('ciphers'):
        context.set_ciphers(options['ciphers'])
    return SSLOptions(context, options.get('server_hostname'))


def _set_ssl_options(params: Parameters, value: str, tls: bool) -> None:
    options = _literal(value)
    if options is None:
        if tls:
            raise ValueError('ssl_options=None contradicts the amqps URL scheme')
        params.ssl_options = None
    elif isinstance(options, dict):
        params.ssl_options = ssl_options_from_dict(options)
    else:
        raise _NotADictError(f'ssl_options must be a dict or None, not {type(options).__name__}')


def _set_tcp_options(params: Parameters, value: str, tls: bool) -> None:
    params.tcp_options = _literal(value)


def _set_client_properties(params: Parameters, value: str, tls: bool) -> None:
    params.client_properties = _literal(value)


_INT_OPTIONS = {
    'heartbeat': 'heartbeat',
    'heartbeat_interval': 'heartbeat',
    'channel_max': 'channel_max',
    'frame_max': 'frame_max',
    'connection_attempts': 'connection_attempts',
    'max_message_size': 'max_message_size',
    'delivery_backlog_high': 'delivery_backlog_high',
    'delivery_backlog_low': 'delivery_backlog_low',
}
_FLOAT_OPTIONS = ('retry_delay', 'socket_timeout', 'stack_timeout', 'blocked_connection_timeout')
_LITERAL_OPTIONS: dict[str, Callable[[Parameters, str, bool], None]] = {
    'ssl_options': _set_ssl_options,
    'tcp_options': _set_tcp_options,
    'client_properties': _set_client_properties,
}


# -- recovery ------------------------------------------------------------------------------

_RECOVERY_PREFIX = 'recovery_'
_TRUE = frozenset({'true', '1', 'yes', 'on'})
_FALSE = frozenset({'false', '0', 'no', 'off'})


def _host_order(value: str) -> str:
    from pika.recovery import HOST_ORDERS  # loaded only by URLs that ask for recovery

    if value not in HOST_ORDERS:
        raise ValueError('not a host order')
    return value


#: URL option -> (``Recovery`` keyword, conversion).
_RECOVERY_OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    'recovery_initial_delay': ('initial_delay', float),
    'recovery_max_delay': ('max_delay', float),
    'recovery_multiplier': ('multiplier', float),
    'recovery_jitter': ('jitter', float),
    'recovery_max_attempts': ('max_attempts', int),
    'recovery_max_duration': ('max_duration', float),
    'recovery_host_order': ('host_order', _host_order),
}


def _recovery_switch(value: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("Invalid value for URL parameter 'recovery': expected true or false")


def _apply_recovery_options(params: Parameters, options: dict[str, str]) -> None:
    """``recovery=true`` and the ``recovery_*`` settings: one ``pika.Recovery`` for ``params``.

    A ``recovery_*`` option needs ``recovery=true`` beside it: alone it would look like
    recovery is on when it is not. Errors never quote the URL.
    """
    switch = options.pop('recovery', None)
    enabled = switch is not None and _recovery_switch(switch)
    settings: dict[str, Any] = {}
    for name, value in options.items():
        if name not in _RECOVERY_OPTIONS:
            raise ValueError(f'Unknown URL parameter: {name!r}')
        if not enabled:
            raise ValueError(f'URL parameter {name!r} needs recovery=true')
        keyword, convert = _RECOVERY_OPTIONS[name]
        try:
            settings[keyword] = convert(value)
        except ValueError:
            # Not quoting the value: with a password holding an unencoded '?', the query
            # starts inside the password.
            failure = ValueError(f'Invalid value for URL parameter {name!r}')
        else:
            continue
        raise failure
    if enabled:
        from pika.recovery import Recovery

        params.recovery = Recovery(**settings)


def _apply_url_option(params: Parameters, name: str, value: str, *, tls: bool) -> None:
    """Set one query option on ``params``.

    A ``TypeError``/``ValueError`` keeps its type (pika's) and gains the option's name; it
    is raised anew without the original as ``__context__`` (see ``_port_of``).
    ``OSError``/``ssl.SSLError`` from loading TLS files pass through.
    """
    failure: Exception
    try:
        if name in _INT_OPTIONS:
            setattr(params, _INT_OPTIONS[name], int(value))
        elif name in _FLOAT_OPTIONS:
            setattr(params, name, float(value))
        elif name == 'locale':
            params.locale = value
        elif name in _LITERAL_OPTIONS:
            _LITERAL_OPTIONS[name](params, value, tls)
        else:
            raise LookupError(name)
    except LookupError:
        failure = ValueError(f'Unknown URL parameter: {name!r}')
    except (TypeError, ValueError) as exc:
        failure = type(exc)(f'Invalid value for URL parameter {name!r}: {exc}')
    else:
        return
    raise failure
