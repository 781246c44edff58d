"""Benchmark scenarios written once against the pika 1.x public API, run by two interpreters.

Why one module: the comparison is only fair if both libraries run the very same scenario code.
This file is the entry point for *our* package (``/work/main/.venv/bin/python
bench/scenarios_ours.py '<json job>'`` puts the repository root first on ``sys.path``);
``scenarios_pika.py`` imports :func:`run_job` from here inside the reference virtualenv, where
``import pika`` finds pika 1.4.4. Neither process ever sees the other library.

A job is a JSON object: ``library`` ('ours' | 'pika'), ``adapter`` ('blocking' | 'select'),
``scenario``, ``queue`` (already declared, and prefilled for consume scenarios, by ``run.py``),
``count``, ``body_size``, for ``rss``, ``checkpoint``, and ``recovery`` (true: our client with
``ConnectionParameters(recovery=pika.Recovery())``, which pika 1.4.4 does not have). The
process prints one JSON line: ``{'ok': true, 'count', 'elapsed', 'cpu', ...}`` with wall and
CPU seconds of the timed section only, or ``{'ok': false, 'error': ...}``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, Callable

from raw_ceiling import LARGE_PREFETCH, PREFETCH, WINDOW, Meter, current_rss, run_job_main

if TYPE_CHECKING:
    from types import ModuleType

HOST = '127.0.0.1'
POLL_DELAY = 0.001


class NotApplicable(Exception):
    """The scenario cannot be expressed with this adapter's public API."""


def _prefetch(scenario: str) -> int:
    return LARGE_PREFETCH if scenario == 'large_consume' else PREFETCH


def _publish_batch(body_size: int) -> int:
    """How many publishes a SelectConnection run issues before yielding to its ioloop."""
    return max(1, (256 * 1024) // max(body_size, 1))


# --------------------------------------------------------------------------- BlockingConnection


def _blocking_publish(ch: Any, job: dict[str, Any], meter: Meter) -> None:
    queue, count, body = job['queue'], job['count'], b'x' * job['body_size']
    meter.start()
    for _ in range(count):
        ch.basic_publish(exchange='', routing_key=queue, body=body)
    while ch.queue_declare(queue=queue, passive=True).method.message_count < count:
        time.sleep(POLL_DELAY)
    meter.stop()


def _blocking_consume(ch: Any, job: dict[str, Any], meter: Meter) -> None:
    count, checkpoint = job['count'], job.get('checkpoint', 0)
    seen = [0]

    def on_message(channel: Any, method: Any, _properties: Any, _body: bytes) -> None:
        channel.basic_ack(delivery_tag=method.delivery_tag)
        seen[0] += 1
        if seen[0] == checkpoint:
            meter.extra['rss_checkpoint'] = current_rss()
        if seen[0] == count:
            channel.stop_consuming()

    ch.basic_qos(prefetch_count=_prefetch(job['scenario']))
    meter.start()
    ch.basic_consume(job['queue'], on_message_callback=on_message)
    ch.start_consuming()
    meter.stop()
    meter.extra['rss_end'] = current_rss()


def _blocking_confirm_each(ch: Any, job: dict[str, Any], meter: Meter) -> None:
    queue, count, body = job['queue'], job['count'], b'x' * job['body_size']
    ch.confirm_delivery()
    meter.start()
    for _ in range(count):
        ch.basic_publish(exchange='', routing_key=queue, body=body)
    meter.stop()


def _blocking_confirm_pipelined(_ch: Any, _job: dict[str, Any], _meter: Meter) -> None:
    raise NotApplicable('the 1.x BlockingChannel waits for every confirm in basic_publish')


def _blocking_rpc(ch: Any, job: dict[str, Any], meter: Meter) -> None:
    queue = job['queue']
    meter.start()
    for _ in range(job['count']):
        ch.queue_declare(queue=queue, passive=True)
    meter.stop()


BLOCKING: dict[str, Callable[[Any, dict[str, Any], Meter], None]] = {
    'publish': _blocking_publish,
    'large_publish': _blocking_publish,
    'consume': _blocking_consume,
    'large_consume': _blocking_consume,
    'rss': _blocking_consume,
    'confirm_each': _blocking_confirm_each,
    'confirm_pipelined': _blocking_confirm_pipelined,
    'rpc': _blocking_rpc,
}


def connection_parameters(pika: ModuleType, job: dict[str, Any]) -> Any:
    """The broker's parameters; with ``job['recovery']``, automatic recovery on (defaults)."""
    if job.get('recovery'):
        return pika.ConnectionParameters(HOST, recovery=pika.Recovery())
    return pika.ConnectionParameters(HOST)


def run_blocking(pika: ModuleType, job: dict[str, Any]) -> Meter:
    """Run one scenario on a BlockingConnection."""
    meter = Meter()
    conn = pika.BlockingConnection(connection_parameters(pika, job))
    try:
        BLOCKING[job['scenario']](conn.channel(), job, meter)
    finally:
        if conn.is_open:
            conn.close()
    return meter


# --------------------------------------------------------------------------- SelectConnection


class SelectRun:
    """One scenario on a SelectConnection, as a small callback state machine."""

    def __init__(self, pika: ModuleType, job: dict[str, Any]) -> None:
        self.job = job
        self.queue: str = job['queue']
        self.count: int = job['count']
        self.body = b'x' * job['body_size']
        self.meter = Meter()
        self.error: str | None = None
        self.done = False
        self.ch: Any = None
        self.published = self.confirmed = self.seen = self.nacks = 0
        self.conn = pika.SelectConnection(
            connection_parameters(pika, job),
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_failed,
            on_close_callback=self._on_failed,
        )

    def run(self) -> Meter:
        """Run the ioloop until the scenario finished and the connection closed."""
        if self.job['scenario'] not in self._STARTS:
            raise ValueError(f'unknown scenario {self.job["scenario"]!r}')
        self.conn.ioloop.start()
        if self.error is not None:
            raise RuntimeError(self.error)
        return self.meter

    # -- plumbing

    def _on_open(self, conn: Any) -> None:
        conn.channel(on_open_callback=self._on_channel)

    def _on_channel(self, ch: Any) -> None:
        self.ch = ch
        self._STARTS[self.job['scenario']](self)

    def _on_failed(self, conn: Any, reason: Any) -> None:
        if not self.done:
            self.error = f'connection lost before the scenario finished: {reason!r}'
        conn.ioloop.stop()

    def _finish(self) -> None:
        self.meter.stop()
        self.done = True
        self.conn.close()

    # -- publish (and 1 MiB publish): batches, then poll the queue depth

    def _start_publish(self) -> None:
        self.meter.start()
        self._publish_some()

    def _publish_some(self) -> None:
        todo = min(_publish_batch(len(self.body)), self.count - self.published)
        for _ in range(todo):
            self.ch.basic_publish(exchange='', routing_key=self.queue, body=self.body)
        self.published += todo
        if self.published < self.count:
            self.conn.ioloop.call_later(0, self._publish_some)
        else:
            self._poll_depth()

    def _poll_depth(self) -> None:
        self.ch.queue_declare(queue=self.queue, passive=True, callback=self._on_depth)

    def _on_depth(self, frame: Any) -> None:
        if frame.method.message_count >= self.count:
            self._finish()
        else:
            self.conn.ioloop.call_later(POLL_DELAY, self._poll_depth)

    # -- consume (and 1 MiB consume, rss): qos, consume, ack each

    def _start_consume(self) -> None:
        self.ch.basic_qos(prefetch_count=_prefetch(self.job['scenario']), callback=self._on_qos)

    def _on_qos(self, _frame: Any) -> None:
        self.meter.start()
        self.ch.basic_consume(self.queue, on_message_callback=self._on_message)

    def _on_message(self, channel: Any, method: Any, _properties: Any, _body: bytes) -> None:
        channel.basic_ack(delivery_tag=method.delivery_tag)
        self.seen += 1
        if self.seen == self.job.get('checkpoint', 0):
            self.meter.extra['rss_checkpoint'] = current_rss()
        if self.seen == self.count:
            self._finish()
            self.meter.extra['rss_end'] = current_rss()

    # -- publisher confirms: a window of 1000 in flight, or one at a time

    def _start_confirms(self) -> None:
        self.window = WINDOW if self.job['scenario'] == 'confirm_pipelined' else 1
        self.ch.confirm_delivery(ack_nack_callback=self._on_confirm, callback=self._on_select)

    def _on_select(self, _frame: Any) -> None:
        self.meter.start()
        self._refill()

    def _refill(self) -> None:
        room = min(self.window - (self.published - self.confirmed), self.count - self.published)
        for _ in range(room):
            self.ch.basic_publish(exchange='', routing_key=self.queue, body=self.body)
        self.published += max(room, 0)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        self.confirmed = max(self.confirmed, method.delivery_tag)
        if method.NAME == 'Basic.Nack':
            self.nacks += 1
        if self.confirmed >= self.count:
            self.meter.extra['nacks'] = self.nacks
            self._finish()
        else:
            self._refill()

    # -- RPC round trips: Queue.Declare(passive) one after another

    def _start_rpc(self) -> None:
        self.meter.start()
        self._declare()

    def _declare(self) -> None:
        self.ch.queue_declare(queue=self.queue, passive=True, callback=self._on_declare_ok)

    def _on_declare_ok(self, _frame: Any) -> None:
        self.seen += 1
        if self.seen == self.count:
            self._finish()
        else:
            self._declare()

    _STARTS: dict[str, Callable[[SelectRun], None]] = {
        'publish': _start_publish,
        'large_publish': _start_publish,
        'consume': _start_consume,
        'large_consume': _start_consume,
        'rss': _start_consume,
        'confirm_pipelined': _start_confirms,
        'confirm_each': _start_confirms,
        'rpc': _start_rpc,
    }


# --------------------------------------------------------------------------- entry points


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Import whichever ``pika`` this interpreter sees, run the job, return the JSON result."""
    try:
        import pika
    except Exception as exc:
        return {'ok': False, 'error': f'not available: cannot import pika ({exc})'}
    needed = 'BlockingConnection' if job['adapter'] == 'blocking' else 'SelectConnection'
    if not hasattr(pika, needed) or not hasattr(pika, 'ConnectionParameters'):
        return {'ok': False, 'error': f'not available: pika.{needed} is missing'}
    if job.get('recovery') and not hasattr(pika, 'Recovery'):
        return {'ok': False, 'error': 'not available: pika.Recovery is missing'}
    try:
        if job['adapter'] == 'blocking':
            meter = run_blocking(pika, job)
        else:
            meter = SelectRun(pika, job).run()
    except NotApplicable as exc:
        return {'ok': False, 'na': True, 'error': f'n/a: {exc}'}
    result = meter.result(job['count'])
    result['pika_file'] = pika.__file__
    result['pika_version'] = getattr(pika, '__version__', '?')
    return result


def _run_ours(job: dict[str, Any]) -> dict[str, Any]:
    """Entry for our package: refuse to measure anything but the expected ``pika``.

    That is this repository's, or the checkout named by the job's ``pika_root`` (``run.py
    --baseline``: our package at another revision, run by this very scenario code).
    """
    root = job.get('pika_root') or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    result = run_job(job)
    where = result.get('pika_file', '')
    if result.get('ok') and not where.startswith(os.path.join(root, 'pika')):
        return {'ok': False, 'error': f'imported the wrong pika: {where}'}
    return result


if __name__ == '__main__':
    run_job_main(_run_ours)
