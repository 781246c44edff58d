"""``URLParameters``: connection settings parsed from an AMQP URI (split from ``_parameters``).

The URL may carry a password, so nothing here ever quotes the URL (or the password) in an error
message or a log line, and the URL string itself is not stored: only the parsed settings are.
"""

from __future__ import annotations

import ast
import json
import logging
import ssl
import urllib.parse
from typing import Any, Callable

from pika import credentials as pika_credentials
from pika._parameters import Parameters, SSLOptions, _is_int

LOGGER = logging.getLogger(__name__)

__all__ = ['URLParameters', 'ssl_options_from_dict']


class URLParameters(Parameters):
    """Connection settings parsed from an AMQP URI.

    ``amqp://user:password@host:port/vhost?option=value&...``; ``amqps://`` selects
    TLS with port 5671 and ``ssl.create_default_context()`` unless ``ssl_options``
    says otherwise. User, password and vhost are percent-decoded (``%2f`` is ``/``);
    an empty path means vhost ``'/'``.

    Query options: ``heartbeat`` (alias ``heartbeat_interval``), ``channel_max``,
    ``frame_max``, ``connection_attempts``, ``retry_delay``, ``socket_timeout``,
    ``stack_timeout``, ``blocked_connection_timeout``, ``locale``, and the
    dict-valued ``ssl_options`` (keys ``ca_certs``, ``ca_path``, ``ca_data``,
    ``certfile``, ``keyfile``, ``password``, ``ciphers``, ``server_hostname``,
    ``verify_mode``), ``tcp_options`` and ``client_properties`` written as Python/JSON
    dict literals, e.g. ``ssl_options=%7B%27ca_certs%27%3A%27%2Fca.pem%27%7D``.
    An unknown option or a bad value raises ``ValueError`` naming the option.

    :param url: the AMQP URI
    """

    def __init__(self, url: str) -> None:
        super().__init__()
        if not isinstance(url, str):
            raise TypeError(f'url must be a str, not {type(url).__name__}')
        _parse_url_into(self, url)


# -- URL parsing ---------------------------------------------------------------


def _parse_url_into(params: Parameters, url: str) -> None:
    """Apply the settings in AMQP URI ``url`` to ``params``.

    Error messages never quote the URL itself, since it may carry a password.
    """
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ('amqp', 'amqps'):
        raise ValueError(f'URL scheme must be amqp or amqps, got {parts.scheme!r}')
    if parts.hostname:
        params.host = urllib.parse.unquote(parts.hostname)
    try:
        port = parts.port
    except ValueError:
        raise ValueError('URL port must be an integer between 0 and 65535') from None
    if port is not None:
        params.port = port
    elif scheme == 'amqps':
        params.port = params.DEFAULT_SSL_PORT
    if scheme == 'amqps':
        params.ssl_options = SSLOptions(ssl.create_default_context())
    if parts.username is not None:
        password = params.DEFAULT_PASSWORD if parts.password is None else parts.password
        params.credentials = pika_credentials.PlainCredentials(
            urllib.parse.unquote(parts.username), urllib.parse.unquote(password)
        )
    params.virtual_host = _vhost_from_path(parts.path)
    for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        _apply_url_option(params, name, value)


def _vhost_from_path(path: str) -> str:
    """``''`` or ``'/'`` -> ``'/'``; otherwise the percent-decoded path minus its first slash."""
    if path in ('', '/'):
        return Parameters.DEFAULT_VIRTUAL_HOST
    return urllib.parse.unquote(path[1:])


def _literal_dict(value: str) -> dict[str, Any]:
    """Parse a JSON object or Python dict literal (pika accepts both forms)."""
    try:
        result = json.loads(value)
    except ValueError:
        try:
            result = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise ValueError('expected a dict literal') from None
    if not isinstance(result, dict):
        raise ValueError(f'expected a dict literal, got {type(result).__name__}')
    return result


_VERIFY_MODES = {
    'CERT_NONE': ssl.CERT_NONE,
    'CERT_OPTIONAL': ssl.CERT_OPTIONAL,
    'CERT_REQUIRED': ssl.CERT_REQUIRED,
}
_SSL_KEYS = frozenset(
    'ca_certs ca_path ca_data certfile keyfile password ciphers server_hostname verify_mode'
    ' cert_reqs'.split()
)


def _verify_mode(value: Any) -> ssl.VerifyMode:
    """Map ``'CERT_REQUIRED'``-style names (or their ints) to ``ssl.VerifyMode``."""
    if isinstance(value, str) and value.upper() in _VERIFY_MODES:
        return _VERIFY_MODES[value.upper()]
    if _is_int(value) and value in _VERIFY_MODES.values():
        return ssl.VerifyMode(value)
    raise ValueError(f'verify_mode must be one of {sorted(_VERIFY_MODES)}')


def ssl_options_from_dict(options: dict[str, Any]) -> SSLOptions:
    """Build ``SSLOptions`` from the dict form used in URLs (see ``URLParameters``).

    :raises ValueError: unknown key, unreadable certificate files or bad values
    """
    unknown = set(options) - _SSL_KEYS
    if unknown:
        raise ValueError(f'unknown ssl_options keys: {", ".join(sorted(unknown))}')
    try:
        context = ssl.create_default_context(
            cafile=options.get('ca_certs'),
            capath=options.get('ca_path'),
            cadata=options.get('ca_data'),
        )
        if options.get('certfile'):
            context.load_cert_chain(
                options['certfile'], options.get('keyfile'), options.get('password')
            )
        if options.get('ciphers'):
            context.set_ciphers(options['ciphers'])
    except (OSError, TypeError) as exc:  # ssl.SSLError is an OSError
        raise ValueError(f'cannot build TLS context: {exc}') from None
    mode = options.get('verify_mode', options.get('cert_reqs'))
    if mode is not None:
        verify = _verify_mode(mode)
        if verify != ssl.CERT_REQUIRED:
            context.check_hostname = False
        context.verify_mode = verify
    return SSLOptions(context, options.get('server_hostname'))


def _set_ssl_options(params: Parameters, value: str) -> None:
    params.ssl_options = ssl_options_from_dict(_literal_dict(value))


def _set_tcp_options(params: Parameters, value: str) -> None:
    params.tcp_options = _literal_dict(value)


def _set_client_properties(params: Parameters, value: str) -> None:
    params.client_properties = _literal_dict(value)


_INT_OPTIONS = {
    'heartbeat': 'heartbeat',
    'heartbeat_interval': 'heartbeat',
    'channel_max': 'channel_max',
    'frame_max': 'frame_max',
    'connection_attempts': 'connection_attempts',
}
_FLOAT_OPTIONS = ('retry_delay', 'socket_timeout', 'stack_timeout', 'blocked_connection_timeout')
_DICT_OPTIONS: dict[str, Callable[[Parameters, str], None]] = {
    'ssl_options': _set_ssl_options,
    'tcp_options': _set_tcp_options,
    'client_properties': _set_client_properties,
}


def _apply_url_option(params: Parameters, name: str, value: str) -> None:
    """Set one query option on ``params``; ``ValueError`` names the option on failure."""
    try:
        if name in _INT_OPTIONS:
            setattr(params, _INT_OPTIONS[name], int(value))
        elif name in _FLOAT_OPTIONS:
            setattr(params, name, float(value))
        elif name == 'locale':
            params.locale = value
        elif name in _DICT_OPTIONS:
            _DICT_OPTIONS[name](params, value)
        else:
            raise LookupError(name)
    except LookupError:
        raise ValueError(f'Unknown URL parameter: {name!r}') from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f'Invalid value for URL parameter {name!r}: {exc}') from None
