"""A base for test helpers that own something outside the test: processes, sockets, files.

Such a helper must let go of it exactly once, whether the test uses it in a ``with`` block,
calls :meth:`Owned.close` itself, or dies and leaves it to interpreter exit. One base keeps
that contract in one place for :class:`~tests.helpers.private_broker.PrivateBroker`,
:class:`~tests.helpers.private_broker.PrivateCluster` and
:class:`~tests.helpers.tcp_proxy.TcpProxy`.
"""

from __future__ import annotations

import atexit
import contextlib
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from types import TracebackType

_Self = TypeVar('_Self', bound='Owned')


class Owned:
    """Closed once: by :meth:`close`, at the end of a ``with`` block, or at interpreter exit.

    Subclasses put the letting-go in :meth:`_release` and, when entering a ``with`` block
    should start something, override :meth:`start` (it returns the helper).
    """

    def __init__(self, at_exit: bool = True) -> None:
        self._closed = False
        self._at_exit = at_exit
        if at_exit:
            atexit.register(self.close)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has begun: the helper cannot be used again."""
        return self._closed

    def start(self: _Self) -> _Self:
        """Make the helper ready for use; the base has nothing to start."""
        return self

    def close(self) -> None:
        """Let go of what the helper owns. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        try:
            self._release()
        finally:
            if self._at_exit:
                with contextlib.suppress(Exception):
                    atexit.unregister(self.close)

    def _release(self) -> None:
        """Let go of what the helper owns (called once, by :meth:`close`)."""
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
