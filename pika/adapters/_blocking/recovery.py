"""The blocking adapter's reconnect schedule (issue 15): which host next, when, and the hooks.

The sans-I/O core keeps the channels and replays them (:mod:`pika._core.recoverer`); the pump
(:mod:`pika.adapters._blocking.pump`) owns the socket. This object sits between: after the
core's ``ConnectionInterrupted`` it walks the policy's attempts
(:meth:`pika.Recovery.attempts`) over the *whole* parameters list the connection was given,
says when the next attempt is due and whether to give up, and calls the application's hooks.
It reads no clock (the pump passes ``now``) and touches no socket.

Hooks run on the thread that leads the pump, with the pump lock released; one that raises is
logged and the recovery goes on. A hook must not wait on this connection (it would wait for
itself). Log lines go to ``pika.recovery`` and show ``host:port`` only, never credentials.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any, Optional

from pika import exceptions

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from pika._parameters import Parameters
    from pika.recovery import Attempt, Recovery

__all__ = ['BlockingReconnect']

LOGGER = logging.getLogger('pika.recovery')

#: bound on a reconnect's handshake and replay when the parameters set no ``stack_timeout``
DEFAULT_RECOVERY_STEP_TIMEOUT = 15.0


def _where(params: Parameters) -> str:
    return f'{params.host}:{params.port}'


class BlockingReconnect:
    """The schedule of one connection's recoveries.

    :param connection: the application's ``BlockingConnection`` (first argument of hooks)
    :param policy: ``params.recovery``
    :param hosts: the parameters list the connection was created with
    :param current: the parameters of the node connected now
    """

    def __init__(
        self, connection: Any, policy: Recovery, hosts: Sequence[Parameters], current: Parameters
    ) -> None:
        self._connection = connection
        self.policy = policy
        self.hosts: list[Parameters] = list(hosts)
        self.current: Parameters = current
        self.rng: random.Random = random.Random()
        #: between the core's ConnectionInterrupted and its ConnectionRecovered
        self.active: bool = False
        self.lost_at: float = 0.0
        self.last_error: Optional[BaseException] = None
        #: the attempt planned or running, and when it may start
        self.attempt: Optional[Attempt] = None
        self.due: float = 0.0
        #: when the running attempt's handshake and replay must be over
        self.step_deadline: Optional[float] = None
        self._attempts: Optional[Iterator[Attempt]] = None
        #: hook calls waiting for the leader to release the lock: (name, args)
        self.hooks: list[tuple[str, tuple[Any, ...]]] = []
        #: losses so far (a confirm that waited across one has an unknown outcome on timeout)
        self.losses: int = 0

    def interrupted(self, error: BaseException, now: float) -> None:
        """The core reported ConnectionInterrupted (the socket is gone)."""
        self.last_error = error
        self.step_deadline = None
        if self.active:  # the attempt's handshake or replay failed: the next one
            LOGGER.warning('Recovery attempt failed: %r', error)
            self.attempt = None
            return
        self.active = True
        self.losses += 1
        self.lost_at = now
        self.attempt = None
        lost = self._index_of(self.current)
        self._attempts = self.policy.attempts(len(self.hosts), lost, self.rng)
        LOGGER.warning('Connection to %s lost (%r); recovering', _where(self.current), error)
        self.hooks.append(('on_connection_lost', (error,)))

    def next_attempt(self, now: float) -> Optional[str]:
        """Plan the next attempt (sets ``attempt`` and ``due``); returns why to give up
        instead, or None."""
        assert self._attempts is not None
        attempt = next(self._attempts)
        reason = self.policy.gives_up(attempt, now - self.lost_at)
        if reason is not None:
            return reason
        params = self.hosts[attempt.host_index]
        if getattr(params.credentials, 'erase_on_connect', False):
            return (
                f'gave up: the credentials of {_where(params)} were erased '
                '(erase_on_connect), a reconnect cannot log in'
            )
        self.attempt = attempt
        self.due = now + attempt.delay
        return None

    def starting(self, now: float) -> Parameters:
        """The planned attempt starts now: its host, and the hook to call."""
        attempt = self.attempt
        assert attempt is not None
        params = self.hosts[attempt.host_index]
        LOGGER.info('Recovery attempt %d: connecting to %s', attempt.number, _where(params))
        self.hooks.append(('on_recovering', (attempt.number, params)))
        timeout = params.stack_timeout or DEFAULT_RECOVERY_STEP_TIMEOUT
        self.step_deadline = now + timeout
        return params

    def connect_failed(self, error: BaseException) -> None:
        """The planned attempt could not connect its socket."""
        LOGGER.warning('Recovery attempt failed: %r', error)
        self.last_error = error
        self.attempt = None
        self.step_deadline = None

    def recovered(self, params: Parameters, renamed: Sequence[tuple[str, str]]) -> None:
        """The core reported ConnectionRecovered."""
        self.active = False
        self.attempt = None
        self.step_deadline = None
        self.current = params
        LOGGER.info('Connection recovered on %s', _where(params))
        for old, new in renamed:
            LOGGER.info('Server-named queue %r came back as %r', old, new)
            self.hooks.append(('on_queue_renamed', (old, new)))
        self.hooks.append(('on_recovered', (params,)))

    def give_up_error(self, reason: str) -> exceptions.AMQPConnectionError:
        """The error the connection closes with when ``reason`` says to give up."""
        self.active = False
        LOGGER.error('Connection recovery %s (last error: %r)', reason, self.last_error)
        error = exceptions.AMQPConnectionError(f'Connection recovery {reason}')
        error.__cause__ = self.last_error
        self.hooks.append(('on_given_up', (error,)))
        return error

    def run_hooks(self) -> None:
        """Call the queued hooks (the caller released the pump lock)."""
        hooks, self.hooks = self.hooks, []
        for name, args in hooks:
            hook = getattr(self.policy, name)
            if hook is None:
                continue
            try:
                hook(self._connection, *args)
            except Exception:
                LOGGER.exception('Recovery hook %s raised; recovery goes on', name)

    def _index_of(self, params: Parameters) -> Optional[int]:
        for index, host in enumerate(self.hosts):
            if host is params:
                return index
        return None
