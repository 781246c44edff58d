"""The coordinator of ``pika perf``: sets up the queue, starts the workers (threads, or
processes with ``--processes``), sums their reports into one row per interval, decides when
the run ends and tells every worker to stop.

Workers and coordinator only share a report queue and a stop flag (``queue.SimpleQueue`` and
``threading.Event``, or their ``multiprocessing`` twins), so the same code runs in both
modes. Consumers start first and report ``ready`` before any producer starts, so the first
messages do not wait for a consumer; the clock starts when every producer is ready. A ``-C``
run ends when every message was received (or, without consumers, when every producer is
done), a ``-z`` run when its time is up, any run on Ctrl-C or when a worker reports an error.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_mod
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika.cli import common
from pika.cli.perf import blocking_workers
from pika.cli.perf.stats import Meter, Tally
from pika.cli.topology import queue_arguments

if TYPE_CHECKING:
    from pika.cli.perf.options import PerfOptions

__all__ = ['Outcome', 'run_group', 'run_perf']

#: seconds the workers have to connect and report ready, and to report done after the stop
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
#: a -C run whose producers are done ends when nothing arrived for this long
IDLE_END = 5.0

Role = tuple[str, int]  # ('producer' | 'consumer', worker id)


class OrphanAwareStop:
    """The stop flag of a worker process: set by the coordinator, or as good as set once the
    coordinator is gone (killed), so no worker outlives it."""

    def __init__(self, stop: Any) -> None:
        self.stop = stop
        self.parent: int = os.getppid()

    def is_set(self) -> bool:
        """Should the worker stop?"""
        return self.stop.is_set() or os.getppid() != self.parent


def run_group(opts: PerfOptions, queue: str, roles: list[Role], sink: Any, stop: Any) -> None:
    """Run workers (one per role) until ``stop``: the target of every thread and process."""
    if multiprocessing.parent_process() is not None:
        # Ctrl-C and a kill of the process group are the coordinator's to handle: it stops
        # every worker and collects its last report (and a worker whose coordinator died stops)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop = OrphanAwareStop(stop)
    meters = [(role, Meter(sink, worker)) for role, worker in roles]
    try:
        if opts.adapter == 'blocking':
            ((role, meter),) = meters
            run = blocking_workers.run_producer
            if role == 'consumer':
                run = blocking_workers.run_consumer
            run(opts, queue, meter, stop)
        elif opts.adapter == 'aio':
            from pika.cli.perf.aio_workers import run_aio_group

            run_aio_group(opts, queue, meters, stop)
        else:
            from pika.cli.perf.callback_workers import CallbackGroup

            CallbackGroup(opts, queue, meters, stop).run()
    except Exception as exc:  # reported, not raised: the coordinator decides what follows
        for _role, meter in meters:
            meter.tell('error', common.describe(exc))
    finally:
        for _role, meter in meters:
            meter.tell('done')  # again for a callback worker that said so: a set counts it once


def _groups(opts: PerfOptions, role: str, first: int, count: int) -> list[list[Role]]:
    """The workers of one role split into groups: one worker per group, except the callback
    adapters in a single process, which run all of them on one loop."""
    roles = [(role, first + n) for n in range(count)]
    if not roles:
        return []
    if opts.adapter != 'blocking' and not opts.processes:
        return [roles]
    return [[r] for r in roles]


@dataclass
class Outcome:
    """How the run ended."""

    tally: Tally
    queue: str = ''
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    incomplete: Optional[str] = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0


class Coordinator:
    """Starts the groups, reads their reports, ends the run."""

    def __init__(
        self, opts: PerfOptions, queue: str, on_row: Callable[[dict[str, Any], Tally], None]
    ) -> None:
        self.opts = opts
        self.queue = queue
        self.on_row = on_row
        if opts.processes:
            context = multiprocessing.get_context()
            self.sink: Any = context.Queue()
            self.stop: Any = context.Event()
            self.starter: Any = context.Process
        else:
            self.sink = queue_mod.SimpleQueue()
            self.stop = threading.Event()
            self.starter = threading.Thread
        self.outcome: Outcome = Outcome(Tally())
        self.ready: set[int] = set()
        self.done: set[int] = set()
        self.started: list[Any] = []
        #: each started thread or process with the ids of the workers it runs
        self.members: list[tuple[Any, set[int]]] = []

    def start(self, groups: list[list[Role]]) -> None:
        """Start one thread or process per group."""
        for roles in groups:
            worker = self.starter(
                target=run_group,
                args=(self.opts, self.queue, roles, self.sink, self.stop),
                daemon=True,
            )
            worker.start()
            self.started.append(worker)
            self.members.append((worker, {number for _role, number in roles}))

    def wait_ready(self, ids: set[int]) -> None:
        """Read reports until every worker in ``ids`` is ready (or done, or the time is up)."""
        deadline = time.monotonic() + START_TIMEOUT
        while not ids <= (self.ready | self.done) and time.monotonic() < deadline:
            self._read(deadline)
        missing = ids - self.ready - self.done
        if missing:
            self.outcome.errors.append(
                f'{len(missing)} workers not ready after {START_TIMEOUT:g} s'
            )

    def _read(self, until: float) -> None:
        """Handle the reports that arrive before ``until``."""
        self.check_lost()
        try:
            report = self.sink.get(timeout=max(0.0, until - time.monotonic()))
        except queue_mod.Empty:
            return
        kind, worker = report[0], report[1]
        if kind == 'stats':
            self.outcome.tally.add(*report[2:])
        elif kind == 'ready':
            self.ready.add(worker)
        elif kind == 'done':
            self.done.add(worker)
        elif kind == 'error':
            self.outcome.errors.append(f'worker {worker}: {report[2]}')

    def check_lost(self) -> None:
        """A worker process that died without reporting ``done`` (killed, crashed) is an
        error that ends the run: a ``-C`` run would otherwise wait for its messages forever,
        and the stop would wait :data:`STOP_TIMEOUT` for its last report."""
        for worker, ids in self.members:
            exitcode = getattr(worker, 'exitcode', None)  # threads have none: they report
            if exitcode and not ids <= self.done:
                self.done |= ids
                self.outcome.errors.append(
                    f'worker {min(ids)}: its process exited with code {exitcode} '
                    'without reporting its end'
                )

    def measure(self, producers: set[int]) -> None:
        """Read reports, closing a row every interval, until the run should end."""
        tally = self.outcome.tally
        tally.restart()
        next_row = tally.started + self.opts.interval
        self._last_received = (0, tally.started)
        while not self._finished(producers):
            self._read(min(next_row, time.monotonic() + 0.05))
            if time.monotonic() >= next_row:
                self.on_row(tally.close_interval(), tally)
                next_row += self.opts.interval
        self.outcome.seconds = tally.elapsed()
        if tally.has_open_interval():
            self.on_row(tally.close_interval(), tally)

    def _finished(self, producers: set[int]) -> bool:
        opts, tally = self.opts, self.outcome.tally
        if self.outcome.errors:
            return True
        if opts.duration is not None and tally.elapsed() >= opts.duration:
            return True
        if opts.count is None:
            return False
        if opts.consumers == 0:
            return producers <= self.done
        if tally.received >= (opts.expected or 0):
            return True
        return producers <= self.done and self._idle()

    def _idle(self) -> bool:
        """True when nothing arrived for :data:`IDLE_END` seconds."""
        now = time.monotonic()
        received, since = self._last_received
        if self.outcome.tally.received != received:
            self._last_received = (self.outcome.tally.received, now)
            return False
        if now - since >= IDLE_END:
            self.outcome.incomplete = (
                f'received {received} of {self.opts.expected} messages; nothing more arrived '
                f'for {IDLE_END:g} s'
            )
            return True
        return False

    def finish(self) -> None:
        """Tell every worker to stop and read their last reports."""
        self.stop.set()
        all_ids = set(range(self.opts.producers + self.opts.consumers))
        deadline = time.monotonic() + STOP_TIMEOUT
        while not all_ids <= self.done and time.monotonic() < deadline:
            self._read(deadline)
        for worker in self.started:
            worker.join(timeout=max(0.1, deadline - time.monotonic()))
        self.outcome.tally.settle()
        if self.opts.processes:
            self.sink.close()


def prepare_queue(opts: PerfOptions) -> str:
    """Declare the queue of the run (and with ``-e`` the exchange and the binding); its name
    (a fresh one unless ``-u`` names it)."""
    name = opts.queue or f'pika-perf-{uuid.uuid4().hex[:12]}'
    connection = common.connect(opts.url, opts.timeout)
    try:
        channel = connection.channel()
        if opts.predeclared:
            channel.queue_declare(name, passive=True)  # fails early (404) when it is missing
            return name
        channel.queue_declare(
            name,
            durable=opts.queue_type != 'classic',
            arguments=queue_arguments(opts.queue_type, {}) or None,
        )
        if opts.exchange:
            exchange, key = opts.target(name)
            # amq.* exchanges exist already and may not be declared, only checked
            passive = exchange.startswith('amq.')
            channel.exchange_declare(exchange, opts.exchange_type, passive=passive)
            channel.queue_bind(name, exchange, key)
    finally:
        common.close_quietly(connection)
    return name


def remove_queue(opts: PerfOptions, name: str) -> None:
    """Delete the queue of the run if this run made its name up."""
    if opts.queue is not None:
        return
    connection = common.connect(opts.url, opts.timeout)
    try:
        connection.channel().queue_delete(name)
    finally:
        common.close_quietly(connection)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that have ended."""
    try:
        import resource
    except ImportError:  # not on Windows: this process only
        return time.process_time()
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_perf(opts: PerfOptions, on_row: Callable[[dict[str, Any], Tally], None]) -> Outcome:
    """One whole run: the queue, consumers, then producers, measuring, stopping, cleanup."""
    name = prepare_queue(opts)
    coordinator = Coordinator(opts, name, on_row)
    coordinator.outcome.queue = name
    consumer_ids = set(range(opts.producers, opts.producers + opts.consumers))
    producer_ids = set(range(opts.producers))
    cpu_before = cpu_seconds()
    try:
        coordinator.start(_groups(opts, 'consumer', opts.producers, opts.consumers))
        coordinator.wait_ready(consumer_ids)
        if not coordinator.outcome.errors:
            coordinator.start(_groups(opts, 'producer', 0, opts.producers))
            coordinator.wait_ready(producer_ids)  # the clock starts once all are connected
        if not coordinator.outcome.errors:
            coordinator.measure(producer_ids)
    except KeyboardInterrupt:
        coordinator.outcome.interrupted = True
        coordinator.outcome.seconds = coordinator.outcome.tally.elapsed()
    finally:
        coordinator.finish()  # joins the worker processes: their CPU time is counted now
        coordinator.outcome.cpu_seconds = cpu_seconds() - cpu_before
        remove_queue(opts, name)
    return coordinator.outcome
