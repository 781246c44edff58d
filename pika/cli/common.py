"""What every AMQP sub-command of ``pika`` shares: the ``--url`` option, the connection, the
exit codes and the one place an error becomes a message on stderr.

The URL comes from ``--url``, else the ``PIKA_URL`` environment variable (which keeps a
password out of the process list), else the local broker as guest/guest. A URL is only ever
shown through :func:`mask_url`; error messages are built from our exceptions, which never
carry the password.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional

import pika
from pika import exceptions
from pika.cli.check import DEFAULT_URL, URL_ENV, mask_url, resolve_url

if TYPE_CHECKING:
    from pika.adapters.blocking_connection import BlockingConnection

__all__ = [
    'EXIT_CONNECT',
    'EXIT_FAILED',
    'EXIT_INTERRUPTED',
    'EXIT_OK',
    'EXIT_REFUSED',
    'EXIT_USAGE',
    'URL_ENV',
    'CliError',
    'add_common_arguments',
    'connect',
    'guarded',
    'parse_pairs',
    'parse_value',
    'resolve_url',
]

EXIT_OK = 0
#: the broker refused the operation (404 NOT_FOUND, 406 PRECONDITION_FAILED, a nack...)
EXIT_FAILED = 1
#: bad command line (argparse's own code)
EXIT_USAGE = 2
#: no connection could be opened (see ``pika check URL`` for which step fails)
EXIT_CONNECT = 3
#: a published message was returned unroutable or nacked
EXIT_REFUSED = 4
#: stopped by Ctrl-C
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = f"""
exit codes:
  {EXIT_OK} success, {EXIT_FAILED} the broker refused the operation, {EXIT_USAGE} bad command \
line,
  {EXIT_CONNECT} cannot connect (run `pika check URL`), {EXIT_REFUSED} message returned or \
nacked,
  {EXIT_INTERRUPTED} interrupted.
"""


class CliError(exceptions.AMQPError):
    """A failure to report as ``pika COMMAND: error: MESSAGE`` with exit code ``code``.

    Under :class:`~pika.exceptions.AMQPError`, as every error pika raises, so code that calls
    these helpers catches one tree.
    """

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code

    def _detail(self) -> str:
        return str(self.args[0])


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--url`` and ``--timeout``, the options of every AMQP sub-command."""
    parser.add_argument(
        '--url',
        default=None,
        help=f'AMQP URL (default: ${URL_ENV}, else {mask_url(DEFAULT_URL).replace("%", "%%")})',
    )
    parser.add_argument(
        '--timeout',
        type=float,
        default=10.0,
        help='seconds to wait for the connection and for each broker reply (default: 10)',
    )


def parameters(url: str, timeout: float) -> pika.URLParameters:
    """Connection parameters for ``url``, every connect step bounded by ``timeout``."""
    try:
        params = pika.URLParameters(url)
    except Exception:  # the parse error is not quoted: it could hold the password
        raise CliError(
            f'cannot parse the URL {mask_url(url)} (amqp[s]://user:pass@host:port/vhost)',
            EXIT_USAGE,
        ) from None
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = timeout
    return params


def connect(url: str, timeout: float) -> BlockingConnection:
    """A ``BlockingConnection`` to ``url``; :class:`CliError` (exit 3) when it cannot open."""
    params = parameters(url, timeout)
    try:
        return pika.BlockingConnection(params, rpc_timeout=timeout)
    except exceptions.AMQPError as exc:
        raise CliError(
            f'cannot connect to {mask_url(url)}: {describe(exc)} (run `pika check` for details)',
            EXIT_CONNECT,
        ) from exc


def describe(error: BaseException) -> str:
    """A one-line account of ``error``: the broker's reply text when it gave one."""
    if isinstance(error, exceptions.ChannelClosedByBroker):
        return f'{error.reply_code} {error.reply_text}'
    if isinstance(error, exceptions.ConnectionClosedByBroker):
        return f'connection closed by the broker: {error.reply_code} {error.reply_text}'
    text = str(error)
    return f'{type(error).__name__}: {text}' if text else type(error).__name__


def guarded(name: str, run: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    """``run`` with its failures turned into a message on stderr and an exit code."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except CliError as exc:
            print(f'pika {name}: error: {exc}', file=sys.stderr)
            return exc.code
        except exceptions.AMQPError as exc:
            print(f'pika {name}: error: {describe(exc)}', file=sys.stderr)
            return EXIT_FAILED
        except KeyboardInterrupt:
            print(f'pika {name}: interrupted', file=sys.stderr)
            return EXIT_INTERRUPTED

    return wrapper


def parse_value(text: str) -> Any:
    """A command-line value for a table: an int, ``true``/``false``, else the string."""
    lowered = text.lower()
    if lowered in ('true', 'false'):
        return lowered == 'true'
    try:
        return int(text)
    except ValueError:
        return text


def parse_pairs(pairs: Optional[list[str]], what: str) -> dict[str, Any]:
    """``['k=v', ...]`` as a dict (values through :func:`parse_value`)."""
    table: dict[str, Any] = {}
    for pair in pairs or ():
        key, equals, value = pair.partition('=')
        if not equals or not key:
            raise CliError(f'{what} must be KEY=VALUE, got {pair!r}', EXIT_USAGE)
        table[key] = parse_value(value)
    return table


def close_quietly(connection: Optional[BlockingConnection]) -> None:
    """Close ``connection`` if it is still open; a failure to close is not the user's error."""
    if connection is None or not connection.is_open:
        return
    try:
        connection.close()
    except exceptions.AMQPError:
        pass


def help_formatter() -> type[argparse.HelpFormatter]:
    """The formatter that keeps the epilog's examples as written."""
    return argparse.RawDescriptionHelpFormatter
