"""One callback-API connection on a loop driver (tests/helpers/loop_drivers.py), step by step.

:class:`Session` records what the connection callbacks received and runs the driver's loop until
the next step is done, so a test reads as a sequence: open, channel, declare, publish, close.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika import spec

if TYPE_CHECKING:
    import pika
    from pika.channel import Channel
    from tests.helpers.loop_drivers import Driver


class Session:
    """One connection made by a driver, with what its connection callbacks received."""

    def __init__(self, driver: Driver, params: pika.ConnectionParameters) -> None:
        self.driver = driver
        self.opened = False
        self.open_error: Optional[BaseException] = None
        self.close_error: Optional[BaseException] = None
        self.connection = driver.make_connection(
            params, self._on_open, self._on_open_error, self._on_close
        )

    def _on_open(self, connection: Any) -> None:
        assert connection is self.connection
        self.opened = True

    def _on_open_error(self, connection: Any, error: BaseException) -> None:
        assert connection is self.connection
        self.open_error = error

    def _on_close(self, connection: Any, error: BaseException) -> None:
        assert connection is self.connection
        self.close_error = error

    @property
    def finished(self) -> bool:
        return self.open_error is not None or self.close_error is not None

    def wait_open(self) -> Session:
        self.driver.run_until(lambda: self.opened or self.finished)
        assert self.opened, f'open failed: {self.open_error!r}'
        return self

    def channel(self) -> Channel:
        opened: list[Channel] = []
        self.connection.channel(on_open_callback=opened.append)
        self.driver.run_until(lambda: bool(opened))
        assert opened[0].is_open
        return opened[0]

    def rpc(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a channel RPC with `callback=` and run until its reply arrives."""
        replies: list[Any] = []
        method(*args, callback=replies.append, **kwargs)
        self.driver.run_until(lambda: bool(replies))
        return replies[0]

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()
        self.driver.run_until(lambda: self.finished or self.connection.is_closed)


def declare_queue(session: Session, channel: Channel, auto_delete: bool = True) -> str:
    name = f'pikatest.conformance.{uuid.uuid4().hex}'
    # x-expires: the broker removes the queue once it is unused, even if no consumer ever came
    # (auto_delete alone only fires after a consumer has left), so no run leaves queues behind.
    reply = session.rpc(
        channel.queue_declare, name, auto_delete=auto_delete, arguments={'x-expires': 30000}
    )
    assert isinstance(reply.method, spec.Queue.DeclareOk)
    assert reply.method.queue == name
    return name
