"""Recovery of a `pika.aio` connection (``ConnectionParameters(recovery=pika.Recovery(...))``).

The recovery itself is the core's, shared by every adapter (:mod:`pika._core.recoverer`: the
channels are kept, the topology and consumers replayed, unconfirmed confirm-mode publishes
sent again, delivery tags kept increasing), and the schedule is the callback adapters'
:class:`pika._reconnect.Reconnector` (which host next, when, when to give up, the hooks). This
module only redoes the socket part on a :class:`~pika.aio.backend.Backend`: it opens a new
stream for each attempt, hands it to the core (``begin_reconnect``), and bounds the attempt's
handshake and replay.

What the application sees (docs/aio.md, "Recovery"): ``async for`` keeps yielding on the same
consumer; calls made while recovering wait for the connection to come back (within their
timeout, else ``ConnectionRecovering``); a confirm-mode publish in flight at the loss is
published again and returns once confirmed, or raises ``PublishOutcomeUnknown`` when its
timeout passes first (it is then not published again) or the recovery gives up.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika._reconnect import Reconnector

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pika._parameters import Parameters
    from pika.aio.backend import TaskHandle
    from pika.aio.connection import Connection
    from pika.recovery import Recovery

__all__ = ['DEFAULT_ATTEMPT_TIMEOUT', 'ConnectionRecovery']

LOGGER = logging.getLogger('pika.recovery')

#: bound on one attempt's handshake and replay when the parameters set no ``stack_timeout``
DEFAULT_ATTEMPT_TIMEOUT = 15.0


class ConnectionRecovery:
    """The reconnect loop of one `pika.aio` connection, created at its first loss.

    :param connection: the connection to recover (its public recovery hooks:
        :meth:`Connection.reconnect_stream`, :meth:`Connection.abort_stream`,
        :meth:`Connection.give_up_recovery`)
    :param policy: ``params.recovery``
    :param hosts: the parameters list the connection was made with
    """

    def __init__(self, connection: Connection, policy: Recovery, hosts: Sequence[Parameters]):
        self._connection = connection
        backend = connection.backend
        self._backend = backend
        self._task: Optional[TaskHandle] = None
        self._watchdog: Optional[TaskHandle] = None
        self.reconnector: Reconnector = Reconnector(
            connection,
            policy,
            hosts,
            clock=backend.now,
            call_later=backend.call_later,
            remove_timeout=_cancel,
            connect=self._connect,
            give_up=connection.give_up_recovery,
        )

    @property
    def active(self) -> bool:
        """True from a loss until the connection is back or the recovery gave up."""
        return self.reconnector.active

    def interrupted(self, error: BaseException, lost: Optional[Parameters]) -> None:
        """The core reported ``ConnectionInterrupted``: start recovering, or count the
        attempt in progress (its handshake or replay failed) as failed."""
        self._stop_watchdog()
        if self.reconnector.connecting:
            self.reconnector.attempt_failed(error)
        else:
            self.reconnector.interrupted(error, lost)

    def recovered(self, params: Parameters, renamed: Sequence[tuple[str, str]]) -> None:
        """The core reported ``ConnectionRecovered``."""
        self._stop_watchdog()
        self._task = None
        self.reconnector.recovered(params, renamed)

    def stop(self) -> None:
        """The connection is finished (closed by the application, or given up)."""
        self._stop_watchdog()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        self.reconnector.stop()

    def _connect(self, params: Parameters, on_failed: Callable[[BaseException], None]) -> None:
        """One attempt (the reconnector's ``connect``): open a stream in a task of its own."""
        self._task = self._backend.spawn(self._attempt(params, on_failed))

    async def _attempt(
        self, params: Parameters, on_failed: Callable[[BaseException], None]
    ) -> None:
        try:
            await self._connection.reconnect_stream(params)
        except Exception as error:
            on_failed(error)
            return
        limit = params.stack_timeout or DEFAULT_ATTEMPT_TIMEOUT
        self._watchdog = self._backend.call_later(limit, self._too_slow)

    def _too_slow(self) -> None:
        """The attempt's handshake or replay outlived its bound: drop its stream (the core
        reports ``ConnectionInterrupted`` again, and the next attempt follows)."""
        self._watchdog = None
        LOGGER.warning('Recovery attempt: no handshake and replay in time; dropping the stream')
        self._connection.abort_stream()

    def _stop_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.cancel()


def _cancel(handle: Any) -> None:
    handle.cancel()
