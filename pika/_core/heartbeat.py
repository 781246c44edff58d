"""Heartbeat arithmetic over a caller-supplied clock (no clock is read here).

With a negotiated interval ``H`` (seconds, > 0):

* **Sending.** Every ``H/2`` the core checks whether any byte was queued for the peer since the
  previous check (it compares ``bytes_queued_total``, so queueing data costs no clock read). If
  nothing was, it queues a heartbeat frame. The longest silence we allow is therefore just under
  ``H`` (activity right after one check is seen at the next; the check after that sends), which
  is what RabbitMQ expects: traffic at least every ``H`` seconds.
* **Receiving.** A read that completes a frame proves the peer alive; bytes that complete none
  prove it only once ``LIVENESS_BYTES`` (4096) of them have arrived since the last proof, so a
  peer that trickles an endless frame (slowloris) cannot keep the connection forever. Without a
  proof for ``2*H`` the connection is declared dead
  (:class:`pika.exceptions.AMQPHeartbeatTimeout`); the deadline is exactly
  ``last_received + 2*H`` (``last_received``: the last proof) so a caller that honours
  :meth:`next_deadline` detects it no later than ``2*H`` after it.
"""

from __future__ import annotations

from pika._limits import LIVENESS_BYTES

__all__ = ['HeartbeatTimer']


class HeartbeatTimer:
    """Tracks when to send a heartbeat and when the peer counts as dead.

    :param interval: negotiated heartbeat interval in seconds (> 0)
    :param now: current time on the caller's clock
    :param bytes_queued_total: the connection's outbound byte counter at this moment
    """

    __slots__ = ('_next_send_check', 'bytes_seen', 'interval', 'last_received', 'unproven')

    def __init__(self, interval: float, now: float, bytes_queued_total: int = 0) -> None:
        if interval <= 0:
            raise ValueError(f'heartbeat interval must be > 0, got {interval!r}')
        self.interval: float = interval
        self.last_received: float = now
        self.unproven: int = 0  # bytes received since last_received that completed no frame
        self.bytes_seen: int = bytes_queued_total
        self._next_send_check = now + interval / 2.0

    def received(self, now: float, nbytes: int, whole_frame: bool) -> None:
        """Record that ``nbytes`` arrived at ``now``, completing a frame or not: a whole frame
        proves the peer alive, and so do :data:`~pika._limits.LIVENESS_BYTES` of unfinished
        ones (a large frame may take longer than the timeout to arrive)."""
        unproven = 0 if whole_frame else self.unproven + nbytes
        if whole_frame or unproven >= LIVENESS_BYTES:
            self.last_received = now
            unproven = 0
        self.unproven = unproven

    def receive_deadline(self) -> float:
        """Time at which the peer is declared dead if nothing arrives before."""
        return self.last_received + 2.0 * self.interval

    def is_timed_out(self, now: float) -> bool:
        """True when nothing was received for ``2*H`` or more."""
        return now >= self.receive_deadline()

    def send_due(self, now: float, bytes_queued_total: int) -> bool:
        """Run the send check if its time has come; True means "queue a heartbeat now".

        After queueing the heartbeat the caller sets :attr:`bytes_seen` to its new
        ``bytes_queued_total`` so the heartbeat itself does not count as silence.
        """
        if now < self._next_send_check:
            return False
        self._next_send_check = now + self.interval / 2.0
        idle = bytes_queued_total == self.bytes_seen
        self.bytes_seen = bytes_queued_total
        return idle

    def next_deadline(self) -> float:
        """When ``tick`` must run next: the earlier of the send check and the receive deadline."""
        return min(self._next_send_check, self.receive_deadline())
