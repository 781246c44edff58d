"""Waits on the broker: :class:`Pending` (one awaited reply) and :func:`bounded` (a wait with
a deadline, one loop timer while it waits).

A wait is *abandoned* when its task is cancelled or its deadline passes (:func:`bounded`): its
waiter is then done, and whatever the broker sends for it later is consumed in order and
discarded (the owner decides how to undo it, e.g. cancel a consumer nobody waits for).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from pika import exceptions

if TYPE_CHECKING:
    from pika.aio.backend import Backend, Waiter

__all__ = ['Pending', 'bounded']


class Pending:
    """One wait for the broker: its waiter and, for an RPC, what to undo if it is abandoned."""

    __slots__ = ('deadline', 'delivered', 'framed', 'undo', 'waiter')

    def __init__(self, waiter: Optional[Waiter], undo: Any = None, framed: bool = False) -> None:
        #: None: nobody waits (a request of our own whose reply is discarded)
        self.waiter: Optional[Waiter] = waiter
        #: what the owner needs to undo a late reply (e.g. the request), or None
        self.undo: Any = undo
        #: an RPC whose waiter gets the reply as the ``frame.Method`` the caller returns
        #: (the channel's table methods), not the ``RpcReply`` event
        self.framed: bool = framed
        #: the reply handed to the waiter (None until then): if the awaiting task is
        #: cancelled after this but before it resumes, the owner undoes it as a late reply
        self.delivered: Any = None
        #: when its owner's periodic sweep fails it with ``OperationTimeout`` (None: bounded
        #: otherwise, or not at all)
        self.deadline: Optional[float] = None

    @property
    def live(self) -> bool:
        """True while someone still awaits this."""
        waiter = self.waiter
        return waiter is not None and not waiter.done()

    def settle(self, value: Any) -> bool:
        """Wake the waiter with ``value``; False when it was abandoned (nobody to wake)."""
        waiter = self.waiter
        if waiter is None or waiter.done():
            return False
        waiter.set_result(value)
        self.delivered = value
        return True

    def fail(self, error: BaseException) -> None:
        """Wake the waiter with ``error`` raised (no-op when abandoned)."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


async def bounded(backend: Backend, waiter: Waiter, deadline: Optional[float], what: str) -> Any:
    """Await ``waiter``; past ``deadline`` (absolute, the backend's clock; None: no bound) fail
    it with ``OperationTimeout`` naming ``what``. The waiter is then done, so whatever the
    broker sends for it later is discarded by its owner."""
    if deadline is None:
        return await waiter

    def expire() -> None:
        if not waiter.done():
            waiter.set_exception(exceptions.OperationTimeout(f'{what} timed out'))

    remaining = deadline - backend.now()
    if remaining <= 0:  # already past: fail now, not after a reply that may come first
        expire()
        return await waiter
    timer = backend.call_later(remaining, expire)
    try:
        return await waiter
    finally:
        timer.cancel()
