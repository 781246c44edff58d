"""Which of an RPC round trip's Python lines the caller waits for, and which overlap the broker.

Why: on the 2-core bench machine the broker answers on the other core, so what the client does
between handing the request to the kernel and starting to wait for the reply costs no wall
time; everything before the send and after the wake-up does (the critical path). The RPC row
of ``run.py`` is a ratio of wall times, so only the critical lines can move it.

The script counts, with ``sys.settrace``, the Python lines one ``queue_declare(passive=True)``
runs in each window:

* ``before send``: from the call to the send system call (front-end, core, encoding);
* ``send to poll``: from the send to the poller call (overlaps the broker's work);
* ``after wake-up``: from the poller's return to the return to the caller (read, decode, the
  channel's bookkeeping, routing). For the select adapter the next request's ``before send``
  follows in the same loop turn, from the user's callback.

The raw ceiling's loop is counted the same way, for comparison (its blocking ``recv_into``
is both its wait and its read). The peer is ``offline.py``'s scripted broker on a loopback
port, so the counts are exact and repeatable; lines of this file are not counted.

Usage: ``.venv/bin/python bench/rpc_lines.py [--by-function] [--round-trips N]``
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

import offline  # noqa: E402
import raw_ceiling  # noqa: E402

import pika  # noqa: E402
from pika.adapters._io import transport as _transport  # noqa: E402
from pika.adapters.select_connection import SelectConnection  # noqa: E402

WINDOWS = ('before send', 'send to poll', 'after wake-up')
Counts = dict[str, collections.Counter[tuple[str, str]]]


class LineCounter:
    """Counts traced lines per window and per (file, function); the window is switched by the
    send and poll wrappers below."""

    def __init__(self) -> None:
        self.window = WINDOWS[0]
        self.counts: Counts = {name: collections.Counter() for name in WINDOWS}
        self.active = False

    def trace(self, frame: Any, event: str, _arg: Any) -> Any:
        if event == 'line' and frame.f_code.co_filename != __file__:
            code = frame.f_code
            where = (Path(code.co_filename).name, code.co_name)
            self.counts[self.window][where] += 1
        return self.trace

    def marking(self, func: Callable[..., Any], before: str, after: str = '') -> Callable[..., Any]:
        """``func`` wrapped so that calling it switches the window (and again on return)."""

        def call(*args: Any) -> Any:
            if self.active:
                self.window = before
            result = func(*args)
            if self.active and after:
                self.window = after
            return result

        return call


class _MarkedSocket:
    """A socket whose ``send`` switches the counter to the "send to poll" window."""

    def __init__(self, sock: Any, counter: LineCounter) -> None:
        self._sock = sock
        self.send = counter.marking(sock.send, WINDOWS[1])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _MarkedRawSocket(_MarkedSocket):
    """The raw client's blocking socket: ``sendall`` is its send, and its blocking
    ``recv_into`` is both its poll and its read (the wait ends inside it)."""

    def __init__(self, sock: Any, counter: LineCounter) -> None:
        super().__init__(sock, counter)
        self.sendall = counter.marking(sock.sendall, WINDOWS[1])
        self.recv_into = counter.marking(sock.recv_into, WINDOWS[1], WINDOWS[2])


class _MarkedPoller:
    """A poller whose ``poll`` switches the counter to "after wake-up" when it returns."""

    def __init__(self, poller: Any, counter: LineCounter) -> None:
        self._poller = poller
        self.poll = counter.marking(poller.poll, WINDOWS[1], WINDOWS[2])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._poller, name)


def count_blocking(round_trips: int) -> Counts:
    """Lines per window of ``round_trips`` BlockingChannel round trips."""
    peer = offline._RpcPeer()
    conn = pika.BlockingConnection(pika.ConnectionParameters(port=peer.port, heartbeat=0))
    channel = conn.channel()
    counter = LineCounter()
    pump: Any = conn._pump
    real_sock, real_poller = pump.sock, pump._poller
    pump.sock = _MarkedSocket(real_sock, counter)
    pump._poller = _MarkedPoller(real_poller, counter)
    for _ in range(50):  # warm-up: caches, first-use paths
        channel.queue_declare(queue='q', passive=True)
    counter.active = True
    for _ in range(round_trips):
        counter.window = WINDOWS[0]
        sys.settrace(counter.trace)
        channel.queue_declare(queue='q', passive=True)
        sys.settrace(None)
    counter.active = False
    pump.sock, pump._poller = real_sock, real_poller
    conn.close()
    return counter.counts


def count_raw(round_trips: int) -> Counts:
    """Lines per window of ``round_trips`` round trips of the raw ceiling's RPC loop
    (``raw_ceiling.py``: ``sendall`` of the pre-encoded request, ``expect`` the reply)."""
    peer = offline._RpcPeer()
    raw = raw_ceiling.RawConnection(port=peer.port)
    request = raw_ceiling.declare_frame('q', passive=True)
    counter = LineCounter()
    real_sock = raw.sock
    sock: Any = _MarkedRawSocket(real_sock, counter)
    raw.sock = sock
    counter.active = True
    for _ in range(round_trips):
        counter.window = WINDOWS[0]
        sys.settrace(counter.trace)
        sock.sendall(request)
        raw.expect(50, 11)
        sys.settrace(None)
    counter.active = False
    real_sock.close()
    return counter.counts


def count_select(round_trips: int) -> Counts:
    """Lines per window of ``round_trips`` SelectConnection round trips (each request is sent
    from the previous reply's callback, as a callback client does)."""
    peer = offline._RpcPeer()
    counter = LineCounter()
    state: dict[str, Any] = {'left': 50 + round_trips}
    conn: Any = None

    def on_reply(_frame: Any) -> None:
        state['left'] -= 1
        if state['left'] == round_trips:  # warm-up done: count from the next request on
            counter.active = True
            counter.window = WINDOWS[0]
            sys.settrace(counter.trace)
        if state['left'] == 0:
            sys.settrace(None)
            counter.active = False
            conn.close()
            return
        state['channel'].queue_declare(queue='q', passive=True, callback=on_reply)

    def on_channel(channel: Any) -> None:
        state['channel'] = channel
        channel.queue_declare(queue='q', passive=True, callback=on_reply)

    real_send_some = _transport.send_some
    marked_send = counter.marking(real_send_some, WINDOWS[1])
    _transport.send_some = marked_send
    try:
        conn = SelectConnection(
            pika.ConnectionParameters(port=peer.port, heartbeat=0),
            on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
            on_close_callback=lambda *_: conn.ioloop.stop(),
        )
        ioloop = conn.ioloop
        ioloop._poll_fds = counter.marking(ioloop._poll_fds, WINDOWS[1], WINDOWS[2])
        ioloop.start()
    finally:
        _transport.send_some = real_send_some
    if state['left']:
        raise RuntimeError(f'select run ended with {state["left"]} round trips left')
    return counter.counts


def report(name: str, counts: Counts, round_trips: int, by_function: bool) -> None:
    """Print the lines per round trip of each window, and the critical path's total."""
    per = {window: sum(counts[window].values()) / round_trips for window in WINDOWS}
    critical = per[WINDOWS[0]] + per[WINDOWS[2]]
    print(f'\n{name}: lines per round trip')
    for window in WINDOWS:
        print(f'  {window:<14} {per[window]:6.1f}')
    print(f'  {"critical path":<14} {critical:6.1f}  (before send + after wake-up)')
    if by_function:
        for window in WINDOWS:
            print(f'  -- {window}')
            for (file, func), lines in counts[window].most_common():
                print(f'     {lines / round_trips:6.1f}  {file}:{func}')


def main(argv: list[str] | None = None) -> int:
    """Print the per-window line counts of the raw client and of both adapters."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--round-trips', type=int, default=20)
    parser.add_argument('--by-function', action='store_true', help='list the functions too')
    args = parser.parse_args(argv)
    report('raw client', count_raw(args.round_trips), args.round_trips, args.by_function)
    report('BlockingChannel', count_blocking(args.round_trips), args.round_trips, args.by_function)
    report('SelectConnection', count_select(args.round_trips), args.round_trips, args.by_function)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
