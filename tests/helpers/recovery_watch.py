"""What a recovery test records: the recovery hook calls of one connection, with their times.

:class:`RecoveryWatch` builds the ``pika.Recovery`` whose hooks it records and turns them into
the figures every recovery and failover test reports (time to detect, time to recover,
attempts); :func:`message_figures` adds confirmed messages lost and duplicates. The line itself
is :func:`tests.helpers.recovery_figures.record_figures`'s.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pika

_monotonic = time.monotonic


class RecoveryWatch:
    """The recovery hooks of one connection, with the time each was called.

    :meth:`policy` builds the ``pika.Recovery`` whose hooks feed it. Thread-safe enough for
    the tests: each hook only assigns or appends, and :attr:`recovered_event` is set last.
    """

    def __init__(self) -> None:
        self.lost_at = 0.0
        self.recovered_at = 0.0
        self.lost_error: BaseException | None = None
        #: the connection object the loss was reported for
        self.connection: Any = None
        #: (attempt number, host) per ``on_recovering``
        self.attempts: list[tuple[int, str]] = []
        #: (old name, new name) per ``on_queue_renamed``
        self.renamed: list[tuple[str, str]] = []
        #: the connection object per ``on_recovered``
        self.recovered: list[Any] = []
        #: the parameters of the node reached, from the last ``on_recovered``
        self.reached: Any = None
        self.given_up: list[BaseException] = []
        #: set by ``on_recovered``: a thread can wait for it
        self.recovered_event = threading.Event()
        #: called in ``on_connection_lost``, to snapshot what the test counts at the loss
        self.at_loss: Callable[[], None] = lambda: None

    def policy(self, **settings: Any) -> pika.Recovery:
        """A ``pika.Recovery`` reporting to this watch: short delays, no jitter, bounded.

        ``settings`` override the defaults or add other ``pika.Recovery`` arguments.
        """
        import pika  # the helpers import before pika does

        values: dict[str, Any] = {
            'initial_delay': 0.1,
            'max_delay': 1.0,
            'jitter': 0.0,
            'max_duration': 120,
            'on_connection_lost': self._lost,
            'on_recovering': self._recovering,
            'on_queue_renamed': self._renamed,
            'on_recovered': self._recovered,
            'on_given_up': self._given_up,
        }
        values.update(settings)
        return pika.Recovery(**values)

    def _lost(self, connection: Any, error: BaseException) -> None:
        self.lost_at = _monotonic()
        self.lost_error = error
        self.connection = connection
        self.at_loss()

    def _recovering(self, connection: Any, number: int, params: Any) -> None:
        self.attempts.append((number, params.host))

    def _renamed(self, connection: Any, old: str, new: str) -> None:
        self.renamed.append((old, new))

    def _recovered(self, connection: Any, params: Any) -> None:
        self.recovered_at = _monotonic()
        self.reached = params
        self.recovered.append(connection)
        self.recovered_event.set()

    def _given_up(self, connection: Any, cause: BaseException) -> None:
        self.given_up.append(cause)

    def figures(self, hurt_at: float) -> dict[str, Any]:
        """Detection, recovery and total time (seconds) of a fault begun at ``hurt_at``."""
        return {
            'detect_s': round(self.lost_at - hurt_at, 3),
            'recover_s': round(self.recovered_at - self.lost_at, 3),
            'failover_s': round(self.recovered_at - hurt_at, 3),
            'attempts': len(self.attempts),
        }


def message_figures(sent: Iterable[bytes], received: list[bytes]) -> dict[str, int]:
    """``lost``: bodies of ``sent`` never received; ``duplicates``: bodies received twice."""
    return {
        'lost': len(set(sent) - set(received)),
        'duplicates': len(received) - len(set(received)),
    }
