"""One callback-adapter connection through a recovery scenario on a private node (issue 15).

Every scenario of ``tests/broker/test_callback_recovery.py`` opens a connection on a loop
driver (tests/helpers/loop_drivers.py) whose recovery reports to a
:class:`~tests.helpers.recovery_watch.RecoveryWatch`, hurts the node on a thread
(:class:`~tests.helpers.failover.Hurt`, so the loop keeps running and detection is measured),
runs the loop until the connection recovered, records its figures, closes the connection and
stops the driver. :func:`recovery_scenario` does those steps, so a test reads as its scenario:
the topology it builds, the fault, what must hold afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Optional

from tests.helpers.failover import Hurt
from tests.helpers.loop_drivers import open_channel, open_connection
from tests.helpers.recovery_figures import record_figures
from tests.helpers.recovery_watch import RecoveryWatch

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pika
    from tests.helpers.loop_drivers import Driver
    from tests.helpers.private_broker import PrivateBroker

#: how long a scenario's fault and recovery may take, unless the test says otherwise
RECOVERY_TIMEOUT = 60.0


class RecoveryScenario:
    """An open connection of ``driver`` to ``broker``, with its watch and close errors.

    ``closed`` is the list the connection's close (and open-error) callbacks append to: empty
    while the connection lives, recovering or not.
    """

    def __init__(
        self,
        driver: Driver,
        broker: PrivateBroker,
        watch: RecoveryWatch,
        conn: Any,
        closed: list[BaseException],
    ) -> None:
        self.driver = driver
        self.broker = broker
        self.watch = watch
        self.conn = conn
        self.closed = closed
        #: the last fault started with :meth:`hurt`
        self.fault: Optional[Hurt] = None

    def run_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Run the driver's loop until ``predicate()`` holds (fails after ``timeout``)."""
        self.driver.run_until(predicate, timeout=timeout)

    def channel(self) -> Any:
        """A new channel of the connection, run until open."""
        return open_channel(self.driver, self.conn)

    def rpc(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``call(*args, callback=..., **kwargs)`` run until its reply (15 s at most)."""
        box: list[Any] = []
        call(*args, callback=box.append, **kwargs)
        self.run_until(lambda: bool(box), timeout=15)
        return box[0]

    def close_all_connections(self) -> None:
        """The fault most scenarios use: the broker closes every client connection."""
        self.broker.rabbitmqctl('close_all_connections', 'recovery')

    def hurt(self, action: Callable[[], Any]) -> Hurt:
        """Start ``action`` on a thread; the test runs the loop meanwhile."""
        self.fault = Hurt(action)
        return self.fault

    def recover_from(self, action: Callable[[], Any], timeout: float = RECOVERY_TIMEOUT) -> Hurt:
        """:meth:`hurt` with ``action``, then run the loop until it returned and the connection
        recovered or closed; assert the action raised nothing and this connection recovered
        once."""
        fault = self.hurt(action)
        watch = self.watch
        self.run_until(
            lambda: fault.done() and (bool(watch.recovered) or bool(self.closed)), timeout
        )
        assert fault.error is None, fault.error
        assert watch.recovered == [self.conn], (self.closed, watch.given_up)
        return fault

    def report(self, name: str, **figures: Any) -> str:
        """Record the figures of the last fault, detection timed from the start of its command
        (the CLI itself needs about 2 s to boot, so ``fault_command_s`` says how long it ran)."""
        fault = self.fault
        assert fault is not None, 'report() follows hurt() or recover_from()'
        return record_figures(
            name,
            {
                **self.watch.figures(fault.began),
                'fault_command_s': fault.ended - fault.began,
                **figures,
            },
        )

    def close(self) -> None:
        """Close the connection unless it is closed already, and run until it is."""
        if self.closed:
            return
        self.conn.close()
        self.run_until(lambda: bool(self.closed), timeout=15)


@contextmanager
def recovery_scenario(
    driver: Driver,
    broker: PrivateBroker,
    *,
    params: Optional[Callable[[RecoveryWatch], pika.ConnectionParameters]] = None,
    **policy: Any,
) -> Iterator[RecoveryScenario]:
    """A connection of ``driver`` to ``broker``, open, recovering with ``policy`` (the
    arguments of ``RecoveryWatch.policy``), closed when the block ends normally; the driver is
    stopped however it ends.

    ``params(watch)`` builds the connection's parameters instead of
    ``broker.connection_parameters(recovery=watch.policy(**policy))`` (a TLS connection, say).
    """
    watch = RecoveryWatch()
    try:
        if params is None:
            parameters = broker.connection_parameters(recovery=watch.policy(**policy))
        else:
            parameters = params(watch)
        conn, closed = open_connection(driver, parameters)
        scenario = RecoveryScenario(driver, broker, watch, conn, closed)
        yield scenario
        scenario.close()
    finally:
        driver.stop()
