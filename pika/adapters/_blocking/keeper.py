"""The blocking adapter's keeper thread and last-resort flushes.

The keeper (started only when a heartbeat is negotiated) runs :meth:`Pump.keeper_cycle` at the
core's deadlines, so heartbeats never depend on user code, and sends publishes that
:meth:`Pump.send_publish` held back once :data:`FLUSH_DELAY` has passed. A garbage-collected
connection (:func:`send_abandoned`) and the interpreter's exit (:func:`flush_at_exit`) send what is
still held, so coalescing never strands a message.
"""

from __future__ import annotations

import atexit
import time
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket
    import threading

    from pika._core.output import Output
    from pika.adapters._blocking.pump import Pump
    from pika.adapters._io.send_queue import SendQueue

#: how long the keeper lets a burst of held publishes grow before it sends them (seconds)
FLUSH_DELAY = 0.001

#: pumps that may hold output back (flushed at exit)
LIVE_PUMPS: weakref.WeakSet[Pump] = weakref.WeakSet()

_monotonic = time.monotonic


def keeper_main(pump_ref: weakref.ref[Pump], stop: threading.Event, wake: threading.Event) -> None:
    """Body of the keeper thread: run :meth:`Pump.keeper_cycle` at the core's deadlines, and
    flush held publishes :data:`FLUSH_DELAY` after each nudge.

    ``wake`` is cleared *before* flushing, so a burst that starts while we flush sets it again
    and is seen on the next turn.
    """
    next_cycle = 0.0
    while not stop.is_set():
        pump = pump_ref()
        if pump is None:
            return
        if _monotonic() >= next_cycle:
            delay = pump.keeper_cycle()
            if delay is None:
                return
            next_cycle = _monotonic() + delay
        del pump
        if not wake.wait(max(0.0, next_cycle - _monotonic())):
            continue
        wake.clear()
        if stop.is_set():
            return
        time.sleep(FLUSH_DELAY)
        pump = pump_ref()
        if pump is None:
            return
        if pump.flush_held():  # the kernel did not take it all: service the socket soon
            next_cycle = min(next_cycle, _monotonic() + FLUSH_DELAY)
        del pump


def send_abandoned(sock: socket.socket, out: SendQueue, output: Output) -> None:
    """Best effort for a collected connection: send whole frames it still held back.

    Only when ``out`` is empty, i.e. the stream is at a frame boundary.
    """
    if out:
        return
    try:
        data = output.take()
        if data:
            sock.send(data)
    except OSError:  # closed or full: nothing more can be done for an abandoned connection
        pass


@atexit.register
def flush_at_exit() -> None:
    """Send what live connections still hold back before the interpreter exits."""
    for pump in list(LIVE_PUMPS):
        pump.flush_held(timeout=0.5)
