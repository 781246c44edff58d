"""The reconnect loop of the callback adapters (issue 15): one for every transport.

After the sans-I/O core reported that an opened connection was lost and that it is
recovering (``ConnectionInterrupted``), a :class:`Reconnector` walks the policy's schedule
(:meth:`pika.Recovery.attempts`), waits each attempt's delay on the connection's own timers,
asks the transport to connect one host (``connect(params, on_failed)``), and calls the
application's observation hooks. What is replayed on the new socket (channels, topology,
consumers, unconfirmed publishes) is the core's business, not this one's: the transport only
hands the core a fresh stream (``ConnectionCore.begin_reconnect``) and feeds it bytes.

It has no socket and no clock of its own: the connection passes ``clock``, ``call_later``
and ``remove_timeout``, so the loop runs on select, asyncio, Tornado, asyncore, gevent and
Twisted alike, and a unit test drives it with a fake clock.

Log lines go to the ``pika.recovery`` logger and name hosts by ``host:port`` only (never
credentials). A hook that raises is logged and does not stop the recovery.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika import exceptions

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from pika._parameters import Parameters
    from pika.recovery import Attempt, Recovery

__all__ = ['Reconnector', 'describe']

LOGGER = logging.getLogger('pika.recovery')

#: ``connect(params, on_failed)``: start connecting one host; ``on_failed(error)`` once if the
#: attempt fails before the core reports anything (TCP, TLS, timeouts).
Connect = Callable[['Parameters', Callable[[BaseException], None]], None]


def describe(params: Parameters) -> str:
    """``host:port`` of ``params``: what the recovery log lines show of a node (no secret)."""
    return f'{params.host}:{params.port}'


class Reconnector:
    """Walks a :class:`pika.Recovery` schedule after a loss; see the module docstring.

    :param connection: the application's connection object, first argument of every hook
    :param policy: the recovery policy (``params.recovery``)
    :param hosts: the parameters list the connection was made with, in the caller's order
    :param clock: monotonic seconds (the connection's clock)
    :param call_later: ``call_later(delay, callback) -> handle``
    :param remove_timeout: cancels a handle of ``call_later``
    :param connect: starts one connection attempt (see :data:`Connect`)
    :param give_up: ``give_up(cause)``: recovery is over without a connection; the connection
        closes with ``cause`` (the ``on_given_up`` hook has been called)
    :param rng: the random source of jitter and shuffling (default: a new ``random.Random``)
    """

    def __init__(
        self,
        connection: Any,
        policy: Recovery,
        hosts: Sequence[Parameters],
        *,
        clock: Callable[[], float],
        call_later: Callable[[float, Callable[[], Any]], object],
        remove_timeout: Callable[[object], None],
        connect: Connect,
        give_up: Callable[[BaseException], None],
        rng: Optional[random.Random] = None,
    ) -> None:
        self._connection = connection
        self.policy = policy
        self._hosts = list(hosts)
        self._clock = clock
        self._call_later = call_later
        self._remove_timeout = remove_timeout
        self._connect = connect
        self._give_up = give_up
        self._rng = rng if rng is not None else random.Random()
        #: True from a loss until the connection is back or recovery gave up.
        self.active: bool = False
        #: True while one attempt is in progress (connecting, handshake or replay).
        self.connecting: bool = False
        self._attempts: Optional[Iterator[Attempt]] = None
        self._attempt: Optional[Attempt] = None
        self._timer: Optional[object] = None
        self._lost_at = 0.0
        self._last_error: Optional[BaseException] = None
        #: Completed recoveries, for the application's and the tests' curiosity.
        self.recoveries: int = 0
        #: Seconds from the loss to ``on_recovered`` of the last recovery.
        self.last_duration: Optional[float] = None

    # -- what the connection reports ----------------------------------------------------

    def interrupted(self, error: BaseException, lost: Optional[Parameters]) -> None:
        """The core said ``ConnectionInterrupted``: start recovering, or (during an attempt
        whose transport reports no failure of its own) count the attempt as failed.

        :param lost: the parameters of the node whose connection was lost (tried last in the
            first round), or None
        """
        if self.active:
            self.attempt_failed(error)
            return
        self.active = True
        self.connecting = False
        self._lost_at = self._clock()
        self._last_error = error
        lost_index = self._index_of(lost)
        self._attempts = self.policy.attempts(len(self._hosts), lost_index, self._rng)
        where = describe(lost) if lost is not None else 'the broker'
        LOGGER.warning('Connection to %s lost (%r); recovering', where, error)
        self._hook('on_connection_lost', error)
        if self.active:  # a hook may have closed the connection
            self._schedule_next()

    def attempt_failed(self, error: BaseException) -> None:
        """The attempt in progress failed (connect, TLS, handshake or replay): go on."""
        if not self.active:
            return
        self.connecting = False
        self._last_error = error
        attempt = self._attempt
        number = attempt.number if attempt is not None else 0
        LOGGER.warning('Recovery attempt %d failed: %r', number, error)
        self._schedule_next()

    def recovered(self, params: Parameters, renamed: Sequence[tuple[str, str]]) -> None:
        """The core said ``ConnectionRecovered``: report it and stop."""
        if not self.active:
            return
        self.active = False
        self.connecting = False
        self.recoveries += 1
        self.last_duration = self._clock() - self._lost_at
        attempts = self._attempt.number if self._attempt is not None else 0
        LOGGER.info(
            'Connection recovered on %s after %.3f s (%d attempt(s))',
            describe(params),
            self.last_duration,
            attempts,
        )
        for old, new in renamed:
            LOGGER.info('Server-named queue %r came back as %r', old, new)
            self._hook('on_queue_renamed', old, new)
        self._hook('on_recovered', params)

    def stop(self) -> None:
        """The application closes the connection while it recovers: no more attempts."""
        if self.active:
            LOGGER.info('Recovery stopped: the application closed the connection')
        self.active = False
        self.connecting = False
        self._cancel_timer()

    # -- the schedule ---------------------------------------------------------------------

    def _schedule_next(self) -> None:
        assert self._attempts is not None
        attempt = next(self._attempts)
        elapsed = self._clock() - self._lost_at
        reason = self.policy.gives_up(attempt, elapsed)
        if reason is not None:
            self._stop_with(reason)
            return
        self._attempt = attempt
        self._cancel_timer()
        if attempt.delay > 0:
            LOGGER.info('Recovery attempt %d in %.3f s', attempt.number, attempt.delay)
        self._timer = self._call_later(attempt.delay, self._start_attempt)

    def _start_attempt(self) -> None:
        self._timer = None
        attempt = self._attempt
        if not self.active or attempt is None:
            return
        params = self._hosts[attempt.host_index]
        self._hook('on_recovering', attempt.number, params)
        if not self.active:  # the hook closed the connection
            return
        if _credentials_erased(params):
            self._stop_with(
                f'gave up: the credentials of {describe(params)} were erased '
                '(erase_on_connect), a reconnect cannot log in'
            )
            return
        LOGGER.info('Recovery attempt %d: connecting to %s', attempt.number, describe(params))
        self.connecting = True
        self._connect(params, self._on_connect_failed)

    def _on_connect_failed(self, error: BaseException) -> None:
        if self.connecting:
            self.attempt_failed(error)

    def _stop_with(self, reason: str) -> None:
        last = self._last_error
        cause = exceptions.AMQPConnectionError(
            f'Connection recovery {reason}; last error: {last!r}'
        )
        cause.__cause__ = last
        LOGGER.error('Connection recovery %s (last error: %r)', reason, last)
        self.active = False
        self.connecting = False
        self._cancel_timer()
        self._hook('on_given_up', cause)
        self._give_up(cause)

    # -- helpers --------------------------------------------------------------------------

    def _index_of(self, params: Optional[Parameters]) -> Optional[int]:
        for index, host in enumerate(self._hosts):
            if host is params:
                return index
        return None

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            self._remove_timeout(timer)

    def _hook(self, name: str, *args: Any) -> None:
        """Call the policy's hook ``name`` with the connection first; a raise is logged."""
        hook = getattr(self.policy, name)
        if hook is None:
            return
        try:
            hook(self._connection, *args)
        except Exception:
            LOGGER.exception('Recovery hook %s raised; recovery goes on', name)

    def __repr__(self) -> str:
        state = 'connecting' if self.connecting else ('waiting' if self.active else 'idle')
        return f'<Reconnector {state} hosts={len(self._hosts)} recoveries={self.recoveries}>'


def _credentials_erased(params: Parameters) -> bool:
    """True when the credentials cannot log in again (``erase_on_connect`` erased them)."""
    credentials = getattr(params, 'credentials', None)
    return bool(getattr(credentials, 'erase_on_connect', False))
