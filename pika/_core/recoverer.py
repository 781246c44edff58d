"""Recovering a ConnectionCore after a loss (issue 15): interruption, replay, republish.

:mod:`pika._core.recovery` is the record (what to restore); this module runs a recovery on
one :class:`~pika._core.connection.ConnectionCore`, sans-I/O like the rest of the core. The
connection holds a :class:`Recoverer` only when ``params.recovery`` is set (``None``
otherwise, and then nothing here runs).

The sequence, as the adapters see it (docs/recovery.md, "For adapter authors"):

1. A loss of an opened connection that is not the application's doing (stream lost,
   heartbeat timeout, Connection.Close from the broker) becomes
   ``ConnectionInterrupted(error)``: the connection is RECOVERING, every channel object is
   kept (RECOVERING too: application calls raise ``ConnectionRecovering``), tag offsets move
   and unconfirmed confirm-mode publishes wait to be sent again.
2. The adapter connects a new socket and calls ``begin_reconnect(params)``; the handshake
   runs as usual. A failure in it is ``ConnectionInterrupted`` again.
3. At Connection.OpenOk the replay runs by itself, one step at a time, on the kept channel
   objects (their numbers) and on a channel of its own for exchanges, queues and bindings.
   A step the broker refuses is logged and skipped; its channel is opened again with its
   modes and the consumers already restored on it. Then the unconfirmed publishes go out
   again and ``ConnectionRecovered(params, renamed)`` is returned.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any, Optional

from pika import exceptions, spec
from pika._core import events
from pika._core.channel import ChannelCore
from pika._core.refreshed_login import RefreshedLogin
from pika._core.states import ChannelState, ConnectionState

if TYPE_CHECKING:
    from pika._core.connection import ConnectionCore
    from pika._core.recovery import RecoveryRecord, ReplayStep
    from pika.recovery import Recovery

__all__ = ['RECOVERABLE_ERRORS', 'Recoverer']

#: logger of the recovery's own lines (the adapters log the attempts there too)
LOGGER = logging.getLogger('pika.recovery')

#: losses of an open connection that start a recovery; anything else (the application's
#: close, a protocol error we found, a blocked-connection timeout) closes as without recovery
RECOVERABLE_ERRORS = (
    exceptions.StreamLostError,
    exceptions.AMQPHeartbeatTimeout,
    exceptions.ConnectionClosedByBroker,
)

_RECOVERING = ChannelState.RECOVERING
#: Pauses (seconds) before each fresh open of a recovered channel that keeps nacking (no
#: Basic.Ack in between; see :meth:`Recoverer.reopen_after_nack`). A quorum queue whose leader
#: died needs seconds to elect another, and a channel opened before that can get stuck too
#: (measured on the private 3-node cluster: a channel opened 3 s after the kill acks). After
#: the last one, the nacks are believed and reported.
NACK_REOPEN_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
NACK_REOPEN_LIMIT = len(NACK_REOPEN_DELAYS)
_LIVE_CHANNEL = (ChannelState.OPENING, ChannelState.OPEN, _RECOVERING)

# What the recoverer waits for (``Recoverer._waiting``).
_STEP = 'step'  # the reply to the current replay step
_TOPOLOGY_OPEN = 'topology channel open'  # the OpenOk of its own channel, then the step
_REOPEN = 'reopen'  # the OpenOk of a channel the broker closed over a refused step
_EXTRA = 'extra'  # the reply to a method restoring such a reopened channel


class Recoverer:
    """The recovery of one connection: its record, and the replay in progress.

    :param connection: the connection it recovers (``channels``, ``output``, ``events``,
        ``params``, ``free_channel_number``)
    :param policy: the connection's :class:`pika.Recovery`
    """

    def __init__(self, connection: ConnectionCore, policy: Recovery) -> None:
        self._conn = connection
        self.policy = policy
        #: what the connection declared and must restore (:class:`RecoveryRecord`)
        self.record: RecoveryRecord = policy.new_record()
        #: the last secret the broker accepted (``update_secret``): the reconnects log in with
        #: it instead of the parameters' password, which may be an expired token
        self.login: RefreshedLogin = RefreshedLogin()
        #: True from an interruption until ConnectionRecovered (or give_up)
        self.active: bool = False
        #: the connection was opened once: later losses are recovery cases
        self.opened_once: bool = False
        #: give_up() in progress: the failure it causes is final
        self.giving_up = False
        self._replay: Any = None
        self._step: Optional[ReplayStep] = None
        self._waiting: Optional[str] = None
        self._extra: deque[tuple[ChannelCore, Any]] = deque()
        self._topology: Optional[ChannelCore] = None
        self._closing_topology: Optional[int] = None
        # channel number -> Basic.Consume methods replayed on it (redone after a reopen)
        self._consumed: dict[int, list[Any]] = {}
        # channel number -> restore methods left, for channels opened afresh on the live
        # connection (None until the channel's OpenOk)
        self._reopening: dict[int, Optional[deque[Any]]] = {}
        # channel number -> when it may be opened again (its reopen started then)
        self._reopen_due: dict[int, float] = {}
        # channel number -> channel closed for a reopen, waiting for its due time
        self._reopen_waiting: dict[int, ChannelCore] = {}

    # -- feeding --------------------------------------------------------------------

    def channel_created(self, channel: ChannelCore) -> None:
        """An application channel was created: give it its records."""
        channel.topology = self.record
        record = channel.record = self.record.channel_opened(channel.channel_number)
        if record.tag_offset or record.tx:  # a record from before a loss (not on a new channel)
            channel.tag_map = record

    def after_receive(self, result: list[events.Event]) -> None:
        """Post-process the events of one read: the reconnect's ConnectionOpened starts the
        replay, and the replay channel's close is not reported. Recovery on only.

        Only the first open, a recovery in progress and the close of the replay's channel
        make such events, so a read outside those (a consumer's steady state) is not looked
        at: no cost per delivery (bench/NOTES.md, "Cost of recovery"). Delivery tags are
        mapped where deliveries are decoded (``ChannelRecord.delivered_run`` per run of the
        receiver's fast path, ``ChannelRecord.deliver`` on the others), with the offset of
        the connection they came on.
        """
        if self.active or not self.opened_once or self._closing_topology is not None:
            self._after_other_events(result)

    def _after_other_events(self, result: list[events.Event]) -> None:
        """The reconnect's ConnectionOpened starts the replay; the close of the replay's own
        channel is not reported; both are dropped from ``result``."""
        dropped: list[events.Event] = []
        start = False
        for event in result:
            kind = type(event)
            if kind is events.ConnectionOpened:
                if self.opened_once:
                    dropped.append(event)
                    start = True
                self.opened_once = True
            elif kind is events.ChannelClosed and (
                event.channel_number == self._closing_topology  # type: ignore[attr-defined]
            ):
                dropped.append(event)
                self._closing_topology = None
        if dropped:
            result[:] = [event for event in result if not any(event is d for d in dropped)]
        if start:
            self._start_replay()

    # -- interruption ---------------------------------------------------------------

    def takes_over(self, state: ConnectionState, error: BaseException) -> bool:
        """Whether the failure ``error`` in ``state`` is an interruption to recover from."""
        if not self.opened_once or self.giving_up:
            return False
        if self.active:  # the reconnect's handshake or replay failed: try again
            return state is not ConnectionState.CLOSED
        return state is ConnectionState.OPEN and isinstance(error, RECOVERABLE_ERRORS)

    def interrupt(self, error: Exception) -> events.ConnectionInterrupted:
        """The connection is lost (its state already RECOVERING): keep the channels."""
        conn = self._conn
        if not self.active:
            LOGGER.info('Connection lost, recovering: %r', error)
        self.active = True
        self.record.connection_lost()
        self._replay = self._step = self._waiting = None
        self._extra.clear()
        self._consumed.clear()
        self._reopening.clear()
        self._reopen_due.clear()
        self._reopen_waiting.clear()
        own = {self._closing_topology}
        if self._topology is not None:
            own.add(self._topology.channel_number)
        self._topology = self._closing_topology = None
        for number, channel in list(conn.channels.items()):
            if number in own:
                del conn.channels[number]
            elif channel.state in _LIVE_CHANNEL:
                channel.suspend()
                if channel.commit_interrupted:
                    del conn.channels[number]
                    self._commit_lost(channel)
            else:  # the application was closing it: closed for good
                del conn.channels[number]
                channel.connection_gone(error)
                self.record.channel_closed(number)
        return events.ConnectionInterrupted(error)

    def _commit_lost(self, channel: ChannelCore) -> None:
        """A Tx.Commit was in flight at the loss: nobody knows whether the broker committed,
        and sending it again would commit an empty transaction and report success. The
        channel is closed for good instead, its close callbacks told why."""
        number = channel.channel_number
        LOGGER.error(
            'Channel %d: the connection was lost during Tx.Commit; the transaction outcome '
            'is unknown, the channel is closed instead of recovered',
            number,
        )
        self.record.channel_closed(number)
        channel.connection_gone(
            exceptions.ChannelClosed(
                0, 'connection lost during Tx.Commit: the transaction outcome is unknown'
            )
        )

    # -- the replay -----------------------------------------------------------------

    def _start_replay(self) -> None:
        LOGGER.debug('Reconnected to %r: replaying %r', self._conn.params, self.record)
        self._replay = self.record.replay()
        self._advance()

    def _advance(self) -> None:
        """Send the next method of the replay, or finish it."""
        conn = self._conn
        while True:
            if self._extra:
                channel, method = self._extra.popleft()
                self._waiting = _EXTRA
                channel.replay_rpc(method)
                return
            step = self._step = self._replay.next_step()
            if step is None:
                self._finish()
                return
            number = step.channel_number
            if number is None:
                if self._topology is None:
                    self._open_topology_channel()
                    return
                self._send_step(self._topology, step)
                return
            known = conn.channels.get(number)
            if known is None or known.state is not _RECOVERING:
                self._replay.failed(exceptions.ChannelWrongStateError(f'channel {number} gone'))
                continue
            if isinstance(step.method, spec.Channel.Open):
                self._waiting = _STEP
                known.reopen()
            else:
                self._send_step(known, step)
            return

    def _send_step(self, channel: ChannelCore, step: ReplayStep) -> None:
        self._waiting = _STEP
        channel.replay_rpc(step.method)
        if isinstance(step.method, spec.Basic.Consume):
            self._consumed.setdefault(channel.channel_number, []).append(step.method)

    def _open_topology_channel(self) -> None:
        """A channel of the recovery's own for exchanges, queues and bindings: a redeclare
        the broker refuses then closes no channel the application holds."""
        conn = self._conn
        number = conn.free_channel_number()
        channel = ChannelCore(conn, conn.output, number)
        conn.channels[number] = channel
        channel.suspend()
        self._topology = channel
        self._waiting = _TOPOLOGY_OPEN
        channel.reopen()

    def step_completed(self, channel: ChannelCore, reply: Any) -> None:
        """The broker answered what the replay sent on ``channel`` (called by the channel)."""
        if channel.channel_number in self._reopening:
            self._reopen_next(channel)
            return
        waiting = self._waiting
        self._waiting = None
        if waiting == _TOPOLOGY_OPEN:
            assert self._step is not None
            self._send_step(channel, self._step)
            return
        if waiting == _REOPEN:
            self._restore_reopened(channel)
        elif waiting == _STEP:
            renamed = self._replay.completed(reply)
            if renamed is not None:
                LOGGER.info('Queue %r came back as %r', *renamed)
        self._advance()

    def step_failed(self, channel: ChannelCore, error: Exception) -> None:
        """The broker closed ``channel`` over what the replay sent (called by the channel):
        log it, skip it, open the channel again and go on."""
        if self._reopening.pop(channel.channel_number, 0) != 0:
            LOGGER.warning(
                'Channel %d: the broker refused restoring it after a fresh open: %r; closed',
                channel.channel_number,
                error,
            )
            self._drop_channel(channel, error)
            return
        waiting = self._waiting
        step = self._step
        LOGGER.warning(
            'Recovery: the broker refused %s on channel %d: %r; skipped',
            step.method.NAME if step is not None and waiting != _EXTRA else 'a restore step',
            channel.channel_number,
            error,
        )
        if waiting in (_STEP, _TOPOLOGY_OPEN):
            self._replay.failed(error)
        consumed = self._consumed.get(channel.channel_number)
        if waiting == _STEP and consumed and step is not None and consumed[-1] is step.method:
            consumed.pop()  # the refused consumer is not restored after the reopen
        opening = waiting == _TOPOLOGY_OPEN or (
            waiting == _STEP and step is not None and isinstance(step.method, spec.Channel.Open)
        )
        if opening:  # the channel cannot be opened at all: it is gone
            self._drop_channel(channel, error)
            self._advance()
            return
        self._waiting = _REOPEN
        channel.reopen()

    def _drop_channel(self, channel: ChannelCore, error: Exception) -> None:
        conn = self._conn
        if conn.channels.get(channel.channel_number) is channel:
            del conn.channels[channel.channel_number]
        if channel is self._topology:
            self._topology = None
        else:
            self.record.channel_closed(channel.channel_number)
            channel.connection_gone(error)

    def _restore_reopened(self, channel: ChannelCore) -> None:
        """After a reopen: the channel's modes, then the consumers it had got back."""
        record = channel.record
        extra = self._extra
        if record is not None:
            if record.global_qos != (0, 0):
                extra.append((channel, _qos(record.global_qos, True)))
            if record.prefetch != (0, 0):
                extra.append((channel, _qos(record.prefetch, False)))
            if record.confirm:
                extra.append((channel, spec.Confirm.Select()))
            if record.tx:
                extra.append((channel, spec.Tx.Select()))
        for method in self._consumed.get(channel.channel_number, ()):
            extra.append((channel, method))

    def _finish(self) -> None:
        """The replay is over: resume the channels, republish, report."""
        conn = self._conn
        replay = self._replay
        topology = self._topology
        self._topology = None
        if topology is not None:
            self._closing_topology = topology.channel_number
            topology.begin_close(200, 'Recovery done')
        for number, channel in sorted(conn.channels.items()):
            if channel.state is not _RECOVERING or number == self._closing_topology:
                continue
            if channel.resume():
                conn.events.append(events.ChannelOpened(number))
            channel.resend_interrupted()
        self._republish()
        for step, error in replay.failures:
            LOGGER.warning('Recovery: %r was not restored: %r', step, error)
        self.active = False
        self._replay = self._step = None
        self._consumed.clear()
        LOGGER.info('Connection recovered on %r', conn.params)
        conn.events.append(events.ConnectionRecovered(conn.params, list(replay.renamed)))

    def _republish(self) -> None:
        """Publish again, in order, what was unconfirmed at the loss (at-least-once)."""
        for channel in self._conn.channels.values():
            _republish_channel(channel)

    # -- a recovered channel opened afresh (the connection stays) --------------------

    def reopen_after_nack(self, channel: ChannelCore) -> bool:
        """The first confirm ``channel`` got after a recovery is a Nack: open the channel
        afresh and publish its unconfirmed messages again there. RabbitMQ 3.10.8 can keep a
        recovered channel whose first publish to a quorum queue met a dying leader nacking
        every publish (issue 15); a fresh channel process does not. Returns False (report
        the Nack) during a connection recovery, or after :data:`NACK_REOPEN_LIMIT` reopens
        in a row: then the nacks are the broker's real answer."""
        record = channel.record
        if self.active or record is None or channel.nack_reopens >= NACK_REOPEN_LIMIT:
            channel.on_probation = False
            return False
        delay = NACK_REOPEN_DELAYS[channel.nack_reopens]
        channel.nack_reopens += 1
        number = channel.channel_number
        LOGGER.warning(
            'Channel %d nacked a publish right after recovery: opening it afresh in %.1f s '
            'and publishing its unconfirmed messages again (%d of %d)',
            number,
            delay,
            channel.nack_reopens,
            NACK_REOPEN_LIMIT,
        )
        self._reopen_due[number] = self._conn.now + delay
        record.connection_lost()  # tag offsets move; the unconfirmed wait for the new channel
        channel.begin_reopen()
        return True

    def closed_for_reopen(self, channel: ChannelCore) -> None:
        """The broker closed the channel being reopened: open it again (same number) once
        its pause is over (:meth:`tick`)."""
        if self.active:  # a connection recovery took over; it reopens every channel
            return
        number = channel.channel_number
        if self._conn.now >= self._reopen_due.get(number, 0.0):
            self._open_again(channel)
        else:
            self._reopen_waiting[number] = channel
            self._conn.deadline_changes += 1  # next_deadline() may be earlier now

    def next_deadline(self) -> Optional[float]:
        """When a channel closed for a reopen is due to open again (None: none waits)."""
        if not self._reopen_waiting:
            return None
        return min(self._reopen_due[number] for number in self._reopen_waiting)

    def tick(self, now: float) -> None:
        """Open again the channels whose pause is over (called by the connection's tick)."""
        for number, channel in list(self._reopen_waiting.items()):
            if now >= self._reopen_due[number]:
                del self._reopen_waiting[number]
                self._open_again(channel)

    def _open_again(self, channel: ChannelCore) -> None:
        number = channel.channel_number
        self._reopen_due.pop(number, None)
        self._reopening[number] = None
        channel.reopen()

    def _reopen_next(self, channel: ChannelCore) -> None:
        """A reply on a channel opened afresh: send its next restore method (qos, confirm,
        tx, consumers, from the record), or resume it and publish again."""
        number = channel.channel_number
        steps = self._reopening[number]
        if steps is None:  # its OpenOk
            steps = self._reopening[number] = deque(self.record.channel_restore(number))
        if steps:
            channel.replay_rpc(steps.popleft())
            return
        del self._reopening[number]
        channel.resume()
        channel.resend_interrupted()
        _republish_channel(channel)
        LOGGER.info('Channel %d opened afresh', number)


def _republish_channel(channel: ChannelCore) -> None:
    """Publish again, in order, what the channel had unconfirmed when it was lost."""
    record = channel.record
    if record is None or not channel.confirm_mode:
        return
    for entry in record.unconfirmed():
        record.republished(entry, channel.publish_again(entry))


def _qos(prefetch: tuple[int, int], global_qos: bool) -> spec.Basic.Qos:
    return spec.Basic.Qos(
        prefetch_size=prefetch[0], prefetch_count=prefetch[1], global_qos=global_qos
    )
