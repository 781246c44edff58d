"""A slow ``BlockingConnection`` consumer that samples its own RSS: run as a script.

Runs unchanged on our pika and on pika 1.4.4 (only the pika 1.x API is used), so
``bench/slow_consumer_rss.py`` and ``tests/broker/test_blocking_backlog.py`` compare the two on
the same queue. It consumes ``--count`` messages without ``basic_qos`` (the broker pushes as
fast as TCP allows), sleeping ``--sleep`` seconds in each callback and ``--pause`` seconds in
the callback of message ``--pause-at``; a thread reads ``VmRSS`` from ``/proc/self/status``
every ``--interval`` seconds. One JSON object is printed on stdout: ``consumed``, ``samples``
(``[seconds since start, RSS in KiB]``), ``baseline_kib`` (RSS once connected, before
consuming), ``hwm_kib`` (peak RSS), ``elapsed`` and ``error`` (``None`` or the exception that
ended the run, as text).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

import pika


def rss_kib(field: str = 'VmRSS') -> int:
    """The process's resident set size (or another ``/proc/self/status`` field) in KiB."""
    with open('/proc/self/status', encoding='ascii') as status:
        for line in status:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise LookupError(field)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--url', required=True)
    parser.add_argument('--queue', required=True)
    parser.add_argument('--count', type=int, required=True)
    parser.add_argument('--sleep', type=float, default=0.001)
    parser.add_argument('--pause-at', type=int, default=-1)
    parser.add_argument('--pause', type=float, default=0.0)
    parser.add_argument('--interval', type=float, default=0.25)
    parser.add_argument('--timeout', type=float, default=300.0)
    args = parser.parse_args()

    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    start = time.monotonic()
    samples: list[list[float]] = []
    stop = threading.Event()
    state: dict[str, Any] = {'consumed': 0, 'error': None, 'baseline_kib': rss_kib()}

    def sample() -> None:
        while not stop.is_set():
            samples.append([round(time.monotonic() - start, 2), rss_kib()])
            stop.wait(args.interval)

    def on_message(ch: Any, method: Any, properties: Any, body: bytes) -> None:
        time.sleep(args.sleep)
        if state['consumed'] == args.pause_at:
            time.sleep(args.pause)
        ch.basic_ack(method.delivery_tag)
        state['consumed'] += 1
        if state['consumed'] >= args.count or time.monotonic() - start > args.timeout:
            ch.stop_consuming()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    channel.basic_consume(args.queue, on_message)
    try:
        channel.start_consuming()
        connection.close()
    except Exception as error:  # reported, not raised: the series up to it still counts
        state['error'] = repr(error)
    stop.set()
    sampler.join()
    state.update(
        samples=samples, hwm_kib=rss_kib('VmHWM'), elapsed=round(time.monotonic() - start, 2)
    )
    print(json.dumps(state))


if __name__ == '__main__':
    main()
