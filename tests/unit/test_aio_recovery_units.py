"""`pika.aio` recovery rules for confirm-mode publishes, without a socket: a wait that times
out after a connection loss raises ``PublishOutcomeUnknown`` and its entry leaves the window;
one that times out without a loss raises ``OperationTimeout`` and stays in flight."""

from __future__ import annotations

from typing import Any, Optional, Union

from pika import exceptions, spec
from pika.aio.confirms import Confirms


class FakeWaiter:
    """A settled-once result, as a `Waiter`."""

    def __init__(self) -> None:
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self._done = False

    def done(self) -> bool:
        return self._done

    def set_result(self, result: Any) -> None:
        assert not self._done
        self._done, self.result = True, result

    def set_exception(self, error: Union[type[BaseException], BaseException]) -> None:
        assert not self._done and isinstance(error, BaseException)
        self._done, self.error = True, error


def _publish(confirms: Confirms, tag: int, deadline: float) -> FakeWaiter:
    waiter = FakeWaiter()
    confirms.add((tag, waiter, deadline, '', 'q', b'body', None, False))  # type: ignore[arg-type]
    return waiter


def test_timeout_after_a_loss_is_an_unknown_outcome_and_frees_the_slot() -> None:
    confirms = Confirms(window=3)
    before = [_publish(confirms, tag, deadline=10.0) for tag in (1, 2)]
    confirms.interrupted()  # tags 1 and 2 were in flight at the loss
    after = _publish(confirms, 3, deadline=10.0)
    assert confirms.full
    assert confirms.expire(now=5.0) == []  # nothing due yet
    assert confirms.expire(now=11.0) == [1, 2]  # the caller abandons them in the record
    assert all(isinstance(w.error, exceptions.PublishOutcomeUnknown) for w in before)
    assert isinstance(after.error, exceptions.OperationTimeout)
    assert not isinstance(after.error, exceptions.PublishOutcomeUnknown)
    assert len(confirms) == 1 and not confirms.full  # 3 stays in flight, 1 and 2 are gone
    confirms.confirmed(spec.Basic.Ack(delivery_tag=3))
    assert len(confirms) == 0


def test_republished_publish_confirmed_in_time_returns() -> None:
    confirms = Confirms()
    waiter = _publish(confirms, 1, deadline=10.0)
    confirms.interrupted()
    confirms.confirmed(spec.Basic.Ack(delivery_tag=1))  # the core maps the new tag back to 1
    assert waiter.done() and waiter.error is None
    assert confirms.expire(now=11.0) == []


def test_give_up_fails_every_wait_with_the_cause() -> None:
    confirms = Confirms()
    waiters = [_publish(confirms, tag, deadline=10.0) for tag in (1, 2)]
    confirms.interrupted()
    cause = exceptions.PublishOutcomeUnknown('recovery gave up')
    confirms.fail_all(cause)
    assert [w.error for w in waiters] == [cause, cause]
    assert len(confirms) == 0
