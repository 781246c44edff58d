"""The recovery record: what a connection must restore after it is lost (sans-I/O).

One implementation for every adapter (issue 15). It has no socket, thread or clock: the
adapter reports what happened and asks what to do.

* **Observation.** ``method_completed(channel, request, reply)`` for each channel method that
  completed (``reply`` is the broker's answer, ``None`` for a method that gets none), plus
  ``channel_opened``, ``channel_closed`` and ``consumer_cancelled`` (by the broker). From them
  the record keeps the channels (number, qos, confirm and tx modes) and the topology declared
  through the connection: exchanges, queues, bindings (exchange-to-exchange too) and
  consumers with their tags. Deleted entities are forgotten, and so are those the broker
  deletes by itself: an auto-delete queue when its last consumer goes, an auto-delete exchange
  when its last binding goes. Passive declares check, they do not declare: not recorded.
* **Replay.** After ``connection_lost()``, ``replay()`` returns a :class:`Replay`: the ordered
  steps (spec method objects) that restore channels, qos, confirm, tx, exchanges, queues,
  bindings and consumers. It is built step by step, so a server-named queue's new name (from
  its ``DeclareOk``) is carried to the bindings and consumers that follow.
* **Delivery tags.** ``ChannelRecord.deliver(broker_tag)`` gives the tag the application
  sees: the broker's plus an offset that grows at each loss, so tags keep increasing across
  recoveries. ``ChannelRecord.broker_tag_for(app_tag)`` maps an ack back, and returns ``None``
  for a tag from before the loss: the caller drops that ack instead of sending it (the broker
  would close the new channel over an unknown tag).
* **Publishes awaiting a confirm.** In confirm mode ``ChannelCore.publish`` keeps each
  message in ``ChannelRecord.sent`` until ``confirmed``; at a loss the unconfirmed ones are
  kept, with their application-visible sequence numbers, to be published again after the
  replay.

Cost: with recovery off there is no record (``None``) and nothing here runs. With it on, a
run of deliveries costs one call (:meth:`ChannelRecord.delivered_run`), an ack nothing until
a loss or a transaction (then one call), a confirm-mode publish one tuple (:data:`Sent`)
appended by ``ChannelCore.publish`` until its confirm.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional, Union

from pika import spec

if TYPE_CHECKING:
    from collections.abc import Iterator

LOGGER = logging.getLogger(__name__)

__all__ = [
    'TOPOLOGY_CHANNEL',
    'ChannelRecord',
    'PendingPublish',
    'RecordedBinding',
    'RecordedConsumer',
    'RecordedEntity',
    'RecordedExchange',
    'RecordedQueue',
    'RecoveryRecord',
    'Replay',
    'ReplayStep',
    'Sent',
]

#: ``ReplayStep.channel_number`` of exchange, queue and binding steps: send them on a channel
#: of the adapter's own, not an application channel, so that a failing redeclare (say a
#: queue now declared elsewhere with other arguments) closes no channel the application holds.
TOPOLOGY_CHANNEL = None

#: ``(prefetch_size, prefetch_count)`` of a fresh channel: no limit.
NO_PREFETCH = (0, 0)

Prefetch = tuple[int, int]


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a field-table value (dicts and lists nest), for binding keys."""
    if isinstance(value, dict):
        return tuple(sorted((str(key), _freeze(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


# -- recorded entities --------------------------------------------------------------------


class RecordedExchange:
    """An exchange declared through the connection (``kind == 'exchange'``)."""

    kind = 'exchange'
    __slots__ = ('arguments', 'auto_delete', 'durable', 'exchange_type', 'internal', 'name')

    def __init__(self, method: Any) -> None:
        self.name: str = method.exchange
        # ExchangeType members are str enums: keep the plain value ('direct', ...).
        self.exchange_type: str = getattr(method.type, 'value', method.type)
        self.durable: bool = bool(method.durable)
        self.auto_delete: bool = bool(method.auto_delete)
        self.internal: bool = bool(method.internal)
        self.arguments: Optional[dict[str, Any]] = method.arguments

    def method(self) -> spec.Exchange.Declare:
        """The Exchange.Declare that recreates it."""
        return spec.Exchange.Declare(
            exchange=self.name,
            type=self.exchange_type,
            durable=self.durable,
            auto_delete=self.auto_delete,
            internal=self.internal,
            arguments=self.arguments,
        )

    def __repr__(self) -> str:
        return f'<RecordedExchange {self.name!r} type={self.exchange_type}>'


class RecordedQueue:
    """A queue declared through the connection (``kind == 'queue'``).

    ``server_named``: declared with an empty name; it is redeclared that way and comes back
    under a new name.
    """

    kind = 'queue'
    __slots__ = ('arguments', 'auto_delete', 'durable', 'exclusive', 'name', 'server_named')

    def __init__(self, name: str, method: Any, server_named: bool) -> None:
        self.name: str = name
        self.durable: bool = bool(method.durable)
        self.exclusive: bool = bool(method.exclusive)
        self.auto_delete: bool = bool(method.auto_delete)
        self.arguments: Optional[dict[str, Any]] = method.arguments
        self.server_named: bool = server_named

    def method(self) -> spec.Queue.Declare:
        """The Queue.Declare that recreates it (an empty name for a server-named queue)."""
        return spec.Queue.Declare(
            queue='' if self.server_named else self.name,
            durable=self.durable,
            exclusive=self.exclusive,
            auto_delete=self.auto_delete,
            arguments=self.arguments,
        )

    def __repr__(self) -> str:
        named = ' server-named' if self.server_named else ''
        return f'<RecordedQueue {self.name!r}{named}>'


class RecordedBinding:
    """A queue or exchange-to-exchange binding (``kind == 'binding'``).

    ``destination_kind`` is ``'queue'`` (Queue.Bind) or ``'exchange'`` (Exchange.Bind);
    ``source`` is the exchange messages come from.
    """

    kind = 'binding'
    __slots__ = ('arguments', 'destination', 'destination_kind', 'routing_key', 'source')

    def __init__(
        self,
        destination_kind: str,
        destination: str,
        source: str,
        routing_key: str,
        arguments: Optional[dict[str, Any]],
    ) -> None:
        self.destination_kind: str = destination_kind
        self.destination: str = destination
        self.source: str = source
        self.routing_key: str = routing_key
        self.arguments: Optional[dict[str, Any]] = arguments

    @property
    def key(self) -> tuple[Any, ...]:
        """What identifies the binding on the broker (a second identical bind is a no-op)."""
        return (
            self.destination_kind,
            self.destination,
            self.source,
            self.routing_key,
            _freeze(self.arguments or {}),
        )

    def method(self) -> Union[spec.Queue.Bind, spec.Exchange.Bind]:
        """The Queue.Bind or Exchange.Bind that recreates it."""
        if self.destination_kind == 'queue':
            return spec.Queue.Bind(
                queue=self.destination,
                exchange=self.source,
                routing_key=self.routing_key,
                arguments=self.arguments,
            )
        return spec.Exchange.Bind(
            destination=self.destination,
            source=self.source,
            routing_key=self.routing_key,
            arguments=self.arguments,
        )

    def __repr__(self) -> str:
        return (
            f'<RecordedBinding {self.destination_kind} {self.destination!r} <- '
            f'{self.source!r} key={self.routing_key!r}>'
        )


class RecordedConsumer:
    """A consumer started through the connection (``kind == 'consumer'``).

    ``prefetch``: the channel's per-consumer ``(prefetch_size, prefetch_count)`` when it was
    started, which the replay restores before restarting it.
    """

    kind = 'consumer'
    __slots__ = (
        'arguments',
        'channel_number',
        'consumer_tag',
        'exclusive',
        'no_ack',
        'no_local',
        'prefetch',
        'queue',
    )

    def __init__(self, channel_number: int, tag: str, method: Any, prefetch: Prefetch) -> None:
        self.channel_number: int = channel_number
        self.consumer_tag: str = tag
        self.queue: str = method.queue
        self.no_local: bool = bool(method.no_local)
        self.no_ack: bool = bool(method.no_ack)
        self.exclusive: bool = bool(method.exclusive)
        self.arguments: Optional[dict[str, Any]] = method.arguments
        self.prefetch: Prefetch = prefetch

    def method(self) -> spec.Basic.Consume:
        """The Basic.Consume that restarts it, with the same consumer tag."""
        return spec.Basic.Consume(
            queue=self.queue,
            consumer_tag=self.consumer_tag,
            no_local=self.no_local,
            no_ack=self.no_ack,
            exclusive=self.exclusive,
            arguments=self.arguments,
        )

    def __repr__(self) -> str:
        return (
            f'<RecordedConsumer {self.consumer_tag!r} channel={self.channel_number} '
            f'queue={self.queue!r}>'
        )


RecordedEntity = Union[RecordedExchange, RecordedQueue, RecordedBinding, RecordedConsumer]


# -- per channel: tags, confirms, transactions ------------------------------------------


class PendingPublish:
    """A message published in confirm mode and not confirmed yet.

    ``sequence`` is the number the application saw (it never changes); ``broker_tag`` the
    broker's delivery tag for the copy sent on the current connection, ``None`` until it is
    published again after a loss.
    """

    __slots__ = (
        'body',
        'broker_tag',
        'exchange',
        'mandatory',
        'properties',
        'routing_key',
        'sequence',
    )

    def __init__(
        self,
        sequence: int,
        broker_tag: Optional[int],
        exchange: str,
        routing_key: str,
        body: Any,
        properties: Any,
        mandatory: bool,
    ) -> None:
        self.sequence: int = sequence
        self.broker_tag: Optional[int] = broker_tag
        self.exchange: str = exchange
        self.routing_key: str = routing_key
        self.body: Any = body
        self.properties: Any = properties
        self.mandatory: bool = mandatory

    @classmethod
    def from_sent(cls, sequence: int, broker_tag: Optional[int], sent: Sent) -> PendingPublish:
        """The record of a publish kept as a :data:`Sent` tuple."""
        (exchange, routing_key, mandatory), body, properties = sent
        return cls(sequence, broker_tag, exchange, routing_key, body, properties, mandatory)

    def sent(self) -> Sent:
        """This publish as a :data:`Sent` tuple."""
        return ((self.exchange, self.routing_key, self.mandatory), self.body, self.properties)

    def __repr__(self) -> str:
        # No body or properties: a message's content does not belong in a log line.
        return f'<PendingPublish sequence={self.sequence} broker_tag={self.broker_tag}>'


#: How a publish awaiting its confirm is kept while the connection lives: ``((exchange,
#: routing_key, mandatory), body, properties)`` (the first, ``ChannelCore.publish``'s key of
#: its encoded method frames, is already made), at the index of its broker tag in
#: ``ChannelRecord.sent`` (its sequence number follows from the tag). A tuple costs a fifth
#: of a ``PendingPublish`` to build, and every confirm-mode publish builds one; the object is
#: made only when one is handed out (lost with a connection, dropped, abandoned).
Sent = tuple[tuple[str, str, bool], Any, Any]


class ChannelRecord:
    """What one channel must get back, and its tag and sequence arithmetic across losses.

    The adapter keeps a reference next to its channel object and calls :meth:`deliver`,
    :meth:`broker_tag_for` and :meth:`confirmed` (or :meth:`confirmed_sequence`) directly
    (no lookup); ``ChannelCore`` keeps its confirm-mode publishes itself (below).

    Hot paths may do less: while ``tag_offset`` is 0 (no loss yet) an application tag *is*
    the broker's, so a consumer may skip :meth:`broker_tag_for` and call :meth:`deliver` once
    per batch of deliveries with the last tag (only ``last_tag`` must be kept).

    Publishes in confirm mode: the broker numbers them 1, 2, 3... per connection, and every
    one is kept, in order, in :attr:`sent`, so ``sent[broker_tag - first_tag]`` is the
    publish of ``broker_tag`` (settling a multiple confirm is one slice). The application
    numbers publishes by channel, across losses: the number of a new publish is its broker
    tag plus :attr:`sequence_offset` (0 until a loss); one published again keeps the number
    it had (:attr:`resent`). ``ChannelCore`` counts those numbers itself (its count goes on
    across losses, and a message published again takes none), so keeping a new publish is
    a single append to :attr:`sent`, which ``ChannelCore.publish`` does itself (no call: it
    is every confirm-mode publish's cost of recovery, bench/NOTES.md "Cost of recovery"). A
    copy sent by ``ChannelCore.publish_again`` is kept by :meth:`republished`.
    """

    __slots__ = (
        '_unsent',
        'channel_number',
        'confirm',
        'first_tag',
        'global_qos',
        'last_tag',
        'prefetch',
        'resent',
        'sent',
        'sequence_offset',
        'tag_offset',
        'transaction_lost',
        'tx',
        'tx_dirty',
    )

    def __init__(self, channel_number: int) -> None:
        self.channel_number: int = channel_number
        self.confirm: bool = False
        self.tx: bool = False
        #: Per-consumer and channel-wide (``global_qos=True``) Basic.Qos in effect.
        self.prefetch: Prefetch = NO_PREFETCH
        self.global_qos: Prefetch = NO_PREFETCH
        #: Added to broker delivery tags; tags up to it are from an earlier connection.
        self.tag_offset: int = 0
        #: The last application-visible delivery tag handed out.
        self.last_tag: int = 0
        #: The application's number of a new confirm-mode publish is its broker tag plus
        #: this: 0 until a loss, then the last number handed out, less one per message
        #: published again (those keep their numbers, in :attr:`resent`).
        self.sequence_offset: int = 0
        #: Work done in the current transaction (publishes, acks) since Tx.Commit/Rollback.
        self.tx_dirty: bool = False
        #: A transaction with work in it was lost with the connection (see docs/recovery.md).
        self.transaction_lost: bool = False
        #: Unconfirmed publishes of this connection by broker tag: ``sent[i]`` has the tag
        #: ``first_tag + i``; None once settled by a single confirm (or abandoned).
        #: ``first_tag + len(sent)`` is always the next broker tag. Appended to in place
        #: (``ChannelCore.publish``, :meth:`republished`): never rebound.
        self.sent: list[Optional[Sent]] = []
        self.first_tag: int = 1
        #: broker tag -> sequence number of a message published again on this connection
        self.resent: dict[int, int] = {}
        # sequence -> PendingPublish lost with a connection, not published again yet.
        self._unsent: dict[int, PendingPublish] = {}

    # -- deliveries -----------------------------------------------------------------

    def deliver(self, broker_tag: int) -> int:
        """The application-visible tag of a Basic.Deliver or Basic.GetOk's ``broker_tag``."""
        tag = broker_tag + self.tag_offset
        self.last_tag = tag
        return tag

    def delivered_run(self, delivered: list[Any], first: int) -> None:
        """``delivered[first:]`` are Basic.Deliver events just decoded for this channel, in
        order (a run of the receiver's fast path): their tags become the application's.

        Once per run, not per delivery: before the first loss the tags stay as they are and
        only the last one is kept (broker tags only grow within a connection).
        """
        offset = self.tag_offset
        if offset:
            for index in range(first, len(delivered)):
                delivered[index].method.delivery_tag += offset
        self.last_tag = delivered[-1].method.delivery_tag

    def broker_tag_for(self, app_tag: int) -> Optional[int]:
        """The broker's tag for an ack/nack/reject of ``app_tag``; ``None``: from before a loss.

        ``0`` (with ``multiple``: everything outstanding) stays ``0``. A stale ack must be
        dropped (the message was requeued by the broker when the connection died).
        """
        if self.tx:
            self.tx_dirty = True
        if app_tag == 0:
            return 0
        if app_tag <= self.tag_offset:
            return None
        return app_tag - self.tag_offset

    # -- publishes --------------------------------------------------------------------

    @property
    def next_broker_tag(self) -> int:
        """The broker's delivery tag of the next confirm-mode publish on this connection."""
        return self.first_tag + len(self.sent)

    def sequence_of(self, broker_tag: int) -> int:
        """The application-visible sequence number of this connection's ``broker_tag``."""
        if self.resent:
            sequence = self.resent.get(broker_tag)
            if sequence is not None:
                return sequence
        return broker_tag + self.sequence_offset

    def confirmed(self, broker_tag: int, multiple: bool) -> list[PendingPublish]:
        """A Basic.Ack/Nack of ``broker_tag`` arrived: the publishes it settles (removed), in
        order, each with its application-visible ``sequence`` and its ``broker_tag``.

        :meth:`confirmed_sequence` settles the same without building a record per message.
        """
        base, slots = self._settle(broker_tag, multiple)
        return [
            PendingPublish.from_sent(self.sequence_of(base + index), base + index, sent)
            for index, sent in enumerate(slots)
            if sent is not None
        ]

    def confirmed_sequence(self, broker_tag: int, multiple: bool) -> Optional[int]:
        """Like :meth:`confirmed`, but only the application-visible sequence number to report
        in the broker tag's place, with the same ``multiple`` (sequence numbers rise with
        broker tags on a connection, since the unconfirmed are published again first, in
        order); ``None`` when the confirm settles nothing the record holds."""
        sent_list = self.sent
        first = self.first_tag
        index = broker_tag - first
        if index < 0 or index >= len(sent_list):
            return None
        if not multiple:
            if sent_list[index] is None:
                return None
            sent_list[index] = None
            if index == 0:
                self._drop_settled_head()
            return self.sequence_of(broker_tag)
        last = index  # the last one still unconfirmed, unless it was confirmed on its own
        while last >= 0 and sent_list[last] is None:
            last -= 1
        del sent_list[: index + 1]
        self.first_tag = broker_tag + 1
        if last < 0:
            return None
        if self.resent:
            return self.sequence_of(first + last)
        return first + last + self.sequence_offset  # sequence_of, inlined

    def _settle(self, broker_tag: int, multiple: bool) -> tuple[int, list[Optional[Sent]]]:
        """Remove what a confirm of ``broker_tag`` covers: (broker tag of the first slot, slots)."""
        index = broker_tag - self.first_tag
        sent_list = self.sent
        if index < 0 or index >= len(sent_list):
            return broker_tag, []
        if multiple:
            base = self.first_tag
            slots = sent_list[: index + 1]
            del sent_list[: index + 1]
            self.first_tag = broker_tag + 1
            return base, slots
        slots = [sent_list[index]]
        sent_list[index] = None
        if index == 0:
            self._drop_settled_head()
        return broker_tag, slots

    def _drop_settled_head(self) -> None:
        """Slots settled one by one at the front go, so the list starts at a live one."""
        sent_list = self.sent
        settled = 0
        while settled < len(sent_list) and sent_list[settled] is None:
            settled += 1
        del sent_list[:settled]
        self.first_tag += settled

    def app_sequence(self, broker_tag: int) -> Optional[int]:
        """The application-visible sequence number of an unconfirmed publish, or ``None``."""
        index = broker_tag - self.first_tag
        if 0 <= index < len(self.sent) and self.sent[index] is not None:
            return self.sequence_of(broker_tag)
        return None

    def unconfirmed(self) -> list[PendingPublish]:
        """Publishes lost with a connection and not published again, by sequence number.

        Publish them again in this order, before anything new on the channel.
        """
        return sorted(self._unsent.values(), key=_by_sequence)

    def republished(self, entry: PendingPublish, broker_tag: int) -> None:
        """``entry`` was published again on the new connection as ``broker_tag``: it keeps
        its sequence number, which a new publish's tag no longer gives (one number less).

        ``broker_tag`` is what ``ChannelCore.publish_again`` returned: :attr:`next_broker_tag`
        (that publish does not keep the copy itself), so the copy is appended to :attr:`sent`.
        """
        self._unsent.pop(entry.sequence, None)
        entry.broker_tag = broker_tag
        self.sent.append(entry.sent())
        self.resent[broker_tag] = entry.sequence
        self.sequence_offset -= 1

    def abandon(self, sequence: int) -> Optional[PendingPublish]:
        """Stop tracking a publish (its caller gave up: the outcome is unknown)."""
        entry = self._unsent.pop(sequence, None)
        if entry is not None:
            return entry
        for index, sent in enumerate(self.sent):
            tag = self.first_tag + index
            if sent is not None and self.sequence_of(tag) == sequence:
                self.sent[index] = None
                return PendingPublish.from_sent(sequence, tag, sent)
        return None

    def _tracked(self) -> Iterator[PendingPublish]:
        """The unconfirmed publishes of this connection, as records (still kept)."""
        first = self.first_tag
        for index, sent in enumerate(self.sent):
            if sent is not None:
                yield PendingPublish.from_sent(self.sequence_of(first + index), first + index, sent)

    def drop_publishes(self) -> list[PendingPublish]:
        """Every publish still tracked, removed (the channel is closed for good)."""
        dropped = list(self._tracked())
        dropped.extend(self._unsent.values())
        self.sent.clear()
        self.resent.clear()
        self._unsent.clear()
        return sorted(dropped, key=_by_sequence)

    def take_transaction_lost(self) -> bool:
        """Whether a transaction with work in it was lost since the last call (then reset)."""
        lost = self.transaction_lost
        self.transaction_lost = False
        return lost

    def connection_lost(self) -> None:
        """The connection is gone: later broker tags restart at 1, unconfirmed wait for resend."""
        self.tag_offset = self.last_tag
        for entry in self._tracked():
            entry.broker_tag = None
            self._unsent[entry.sequence] = entry
        # Numbers go on after the last one handed out: what a new publish would have had
        # under the last broker tag (a message published again had an older number).
        self.sequence_offset += self.first_tag + len(self.sent) - 1
        self.sent.clear()
        self.resent.clear()
        self.first_tag = 1
        self.transaction_lost = self.transaction_lost or self.tx_dirty
        self.tx_dirty = False

    def __repr__(self) -> str:
        modes = ''.join((' confirm' if self.confirm else '', ' tx' if self.tx else ''))
        pending = sum(sent is not None for sent in self.sent)
        return (
            f'<ChannelRecord {self.channel_number}{modes} tag_offset={self.tag_offset} '
            f'pending={pending} unsent={len(self._unsent)}>'
        )


def _by_sequence(entry: PendingPublish) -> int:
    return entry.sequence


# -- the replay ---------------------------------------------------------------------------


class ReplayStep:
    """One method to send during a replay.

    ``channel_number``: the channel to send it on, or :data:`TOPOLOGY_CHANNEL` (``None``)
    for exchanges, queues and bindings. A ``Channel.Open`` step means
    ``ConnectionCore.open_channel(channel_number)``. ``entity``: the recorded entity the step
    restores, ``None`` for channel set-up steps.
    """

    __slots__ = ('channel_number', 'entity', 'method')

    def __init__(
        self, channel_number: Optional[int], method: Any, entity: Optional[RecordedEntity] = None
    ) -> None:
        self.channel_number: Optional[int] = channel_number
        self.method: Any = method
        self.entity: Optional[RecordedEntity] = entity

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReplayStep):
            return NotImplemented
        return (self.channel_number, self.method, self.entity) == (
            other.channel_number,
            other.method,
            other.entity,
        )

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f'<ReplayStep channel={self.channel_number} {self.method.NAME}>'


class Replay:
    """The restoring of one recovery, one step at a time.

    ::

        replay = record.replay()
        while (step := replay.next_step()) is not None:
            ...send step.method on step.channel_number, wait for its reply...
            renamed = replay.completed(reply)   # (old, new) when a queue got a new name
            # or, when the broker refused it: replay.failed(error)

    Every step gets a reply. A step is built only when asked for, so it uses names as the
    earlier steps left them. After a failed ``Channel.Open`` that channel's other steps are
    skipped; after a failed server-named queue, its bindings and consumers are (they have no
    name to use). ``renamed``, ``failures`` and ``skipped`` report what happened.
    """

    def __init__(self, record: RecoveryRecord) -> None:
        self._record = record
        self._current: Optional[ReplayStep] = None
        self.renamed: list[tuple[str, str]] = []
        self.failures: list[tuple[ReplayStep, BaseException]] = []
        self.skipped: list[RecordedEntity] = []
        self.failed_channels: set[int] = set()
        self.lost_queues: set[str] = set()
        self._steps = record.replay_steps(self)

    def next_step(self) -> Optional[ReplayStep]:
        """The next step to send, or ``None`` when the replay is finished.

        :raises RuntimeError: the previous step has not been reported as completed or failed
        """
        if self._current is not None:
            raise RuntimeError(f'{self._current!r} has not been completed or failed yet')
        self._current = next(self._steps, None)
        return self._current

    def completed(self, reply: Any = None) -> Optional[tuple[str, str]]:
        """The current step succeeded with ``reply``; returns ``(old, new)`` for a renamed queue."""
        step = self._take_current()
        entity = step.entity
        if not isinstance(entity, RecordedQueue) or reply is None:
            return None
        new = getattr(reply, 'queue', None)
        if not new or new == entity.name:
            return None
        old = entity.name
        self._record.rename_queue(old, new)
        self.renamed.append((old, new))
        return old, new

    def failed(self, error: BaseException) -> None:
        """The broker refused the current step (or its channel closed before the reply)."""
        step = self._take_current()
        self.failures.append((step, error))
        entity = step.entity
        if isinstance(step.method, spec.Channel.Open) and step.channel_number is not None:
            self.failed_channels.add(step.channel_number)
        elif isinstance(entity, RecordedQueue) and entity.server_named:
            self.lost_queues.add(entity.name)

    def skip(self, entity: RecordedEntity) -> None:
        """Note an entity left out (excluded, or depending on something that failed)."""
        self.skipped.append(entity)

    def _take_current(self) -> ReplayStep:
        step = self._current
        if step is None:
            raise RuntimeError('no replay step is in progress')
        self._current = None
        return step


# -- the record ---------------------------------------------------------------------------


class RecoveryRecord:
    """Channels and topology of one connection, kept to be restored after a loss.

    :param recover_topology: replay exchanges, queues and bindings
    :param recover_consumers: replay consumers
    :param exclude: ``exclude(entity) -> bool``; True leaves the entity out of replays
    """

    def __init__(
        self,
        *,
        recover_topology: bool = True,
        recover_consumers: bool = True,
        exclude: Optional[Callable[[RecordedEntity], bool]] = None,
    ) -> None:
        self.recover_topology = recover_topology
        self.recover_consumers = recover_consumers
        self.exclude = exclude
        self.channels: dict[int, ChannelRecord] = {}
        self.exchanges: dict[str, RecordedExchange] = {}
        self.queues: dict[str, RecordedQueue] = {}
        self.bindings: dict[tuple[Any, ...], RecordedBinding] = {}
        self.consumers: dict[tuple[int, str], RecordedConsumer] = {}
        #: How many times the connection was lost.
        self.losses: int = 0

    # -- channels -------------------------------------------------------------------

    def channel(self, channel_number: int) -> Optional[ChannelRecord]:
        """The record of an open channel, or ``None``."""
        return self.channels.get(channel_number)

    def channel_opened(self, channel_number: int) -> ChannelRecord:
        """A channel opened (the one already recorded under that number, when replayed)."""
        record = self.channels.get(channel_number)
        if record is None:
            record = self.channels[channel_number] = ChannelRecord(channel_number)
        return record

    def channel_closed(self, channel_number: int) -> list[PendingPublish]:
        """A channel closed for good (by the application, or by the broker: a channel error
        is not a recovery case). Its consumers go, and auto-delete queues left without one.

        :returns: its publishes that will never be confirmed, for the caller to fail
        """
        record = self.channels.pop(channel_number, None)
        for key in [key for key in self.consumers if key[0] == channel_number]:
            self._forget_consumer(key)
        return [] if record is None else record.drop_publishes()

    def consumer_cancelled(self, channel_number: int, consumer_tag: str) -> None:
        """The broker cancelled a consumer (its queue was deleted, say): forget it."""
        self._forget_consumer((channel_number, consumer_tag))

    # -- observation of completed methods -------------------------------------------

    def method_completed(self, channel_number: int, method: Any, reply: Any = None) -> None:
        """A channel method completed: ``reply`` is the broker's answer, ``None`` for a
        ``nowait`` method or one the broker does not answer. Methods that change nothing the
        record keeps are ignored at the cost of one dict lookup."""
        handler = _HANDLERS.get(method.INDEX)
        if handler is not None:
            handler(self, channel_number, method, reply)

    def _exchange_declared(self, channel_number: int, method: Any, reply: Any) -> None:
        if not method.passive:
            self.exchanges[method.exchange] = RecordedExchange(method)

    def _exchange_deleted(self, channel_number: int, method: Any, reply: Any) -> None:
        self._forget_exchange(method.exchange)

    def _queue_declared(self, channel_number: int, method: Any, reply: Any) -> None:
        if method.passive:
            return
        name = getattr(reply, 'queue', None) or method.queue
        if not name:
            LOGGER.debug(
                'Server-named queue declared with nowait: its name is unknown, not recorded'
            )
            return
        known = self.queues.get(name)
        server_named = method.queue == '' or (known is not None and known.server_named)
        self.queues[name] = RecordedQueue(name, method, server_named)

    def _queue_deleted(self, channel_number: int, method: Any, reply: Any) -> None:
        self._forget_queue(method.queue)

    def _queue_bound(self, channel_number: int, method: Any, reply: Any) -> None:
        self._add_binding(
            RecordedBinding(
                'queue', method.queue, method.exchange, method.routing_key, method.arguments
            )
        )

    def _queue_unbound(self, channel_number: int, method: Any, reply: Any) -> None:
        self._remove_binding(
            RecordedBinding(
                'queue', method.queue, method.exchange, method.routing_key, method.arguments
            )
        )

    def _exchange_bound(self, channel_number: int, method: Any, reply: Any) -> None:
        self._add_binding(
            RecordedBinding(
                'exchange', method.destination, method.source, method.routing_key, method.arguments
            )
        )

    def _exchange_unbound(self, channel_number: int, method: Any, reply: Any) -> None:
        self._remove_binding(
            RecordedBinding(
                'exchange', method.destination, method.source, method.routing_key, method.arguments
            )
        )

    def _consumer_started(self, channel_number: int, method: Any, reply: Any) -> None:
        tag = getattr(reply, 'consumer_tag', None) or method.consumer_tag
        if not tag:
            LOGGER.debug('Consumer started with nowait and no tag: not recorded')
            return
        channel = self.channel_opened(channel_number)
        self.consumers[(channel_number, tag)] = RecordedConsumer(
            channel_number, tag, method, channel.prefetch
        )

    def _consumer_cancelled(self, channel_number: int, method: Any, reply: Any) -> None:
        self._forget_consumer((channel_number, method.consumer_tag))

    def _qos_set(self, channel_number: int, method: Any, reply: Any) -> None:
        channel = self.channel_opened(channel_number)
        prefetch = (int(method.prefetch_size), int(method.prefetch_count))
        if method.global_qos:
            channel.global_qos = prefetch
        else:
            channel.prefetch = prefetch

    def _confirm_selected(self, channel_number: int, method: Any, reply: Any) -> None:
        self.channel_opened(channel_number).confirm = True

    def _tx_selected(self, channel_number: int, method: Any, reply: Any) -> None:
        self.channel_opened(channel_number).tx = True

    def _tx_ended(self, channel_number: int, method: Any, reply: Any) -> None:
        channel = self.channels.get(channel_number)
        if channel is not None:
            channel.tx_dirty = False

    def _channel_open(self, channel_number: int, method: Any, reply: Any) -> None:
        self.channel_opened(channel_number)

    def _channel_close(self, channel_number: int, method: Any, reply: Any) -> None:
        self.channel_closed(channel_number)

    # -- forgetting, with what the broker deletes by itself -------------------------

    def _add_binding(self, binding: RecordedBinding) -> None:
        self.bindings.setdefault(binding.key, binding)

    def _remove_binding(self, binding: RecordedBinding) -> None:
        if self.bindings.pop(binding.key, None) is not None:
            self._forget_if_unbound_auto_delete(binding.source)

    def _forget_exchange(self, name: str) -> None:
        self.exchanges.pop(name, None)
        gone = [
            binding
            for binding in self.bindings.values()
            if binding.source == name
            or (binding.destination_kind == 'exchange' and binding.destination == name)
        ]
        for binding in gone:
            self.bindings.pop(binding.key, None)
        for binding in gone:
            if binding.source != name:
                self._forget_if_unbound_auto_delete(binding.source)

    def _forget_queue(self, name: str) -> None:
        self.queues.pop(name, None)
        gone = [
            binding
            for binding in self.bindings.values()
            if binding.destination_kind == 'queue' and binding.destination == name
        ]
        for binding in gone:
            self.bindings.pop(binding.key, None)
        for key in [key for key, consumer in self.consumers.items() if consumer.queue == name]:
            del self.consumers[key]  # the broker cancels the consumers of a deleted queue
        for binding in gone:
            self._forget_if_unbound_auto_delete(binding.source)

    def _forget_consumer(self, key: tuple[int, str]) -> None:
        consumer = self.consumers.pop(key, None)
        if consumer is None:
            return
        queue = self.queues.get(consumer.queue)
        if queue is not None and queue.auto_delete:
            if not any(other.queue == queue.name for other in self.consumers.values()):
                self._forget_queue(queue.name)  # RabbitMQ deletes it with its last consumer

    def _forget_if_unbound_auto_delete(self, exchange: str) -> None:
        recorded = self.exchanges.get(exchange)
        if recorded is None or not recorded.auto_delete:
            return
        if not any(binding.source == exchange for binding in self.bindings.values()):
            self._forget_exchange(exchange)  # RabbitMQ deletes it with its last binding

    def rename_queue(self, old: str, new: str) -> None:
        """A server-named queue came back as ``new``: its record, bindings and consumers follow."""
        queue = self.queues.get(old)
        if queue is not None:
            queue.name = new
            self.queues = _rekey(self.queues, old, new, queue)
        renamed = {}
        for binding in self.bindings.values():
            if binding.destination_kind == 'queue' and binding.destination == old:
                binding.destination = new
            renamed[binding.key] = binding
        self.bindings = renamed
        for consumer in self.consumers.values():
            if consumer.queue == old:
                consumer.queue = new

    # -- loss and replay ------------------------------------------------------------

    def connection_lost(self) -> None:
        """The connection is lost and will be recovered: move tag offsets, keep unconfirmed."""
        self.losses += 1
        for channel in self.channels.values():
            channel.connection_lost()

    def replay(self) -> Replay:
        """The steps that restore this record on a new connection (see :class:`Replay`)."""
        return Replay(self)

    def _excluded(self, entity: RecordedEntity) -> bool:
        """Whether the application's filter leaves ``entity`` out. A filter that raises is
        logged and the entity recovered: the replay must not end half way (a generator that
        raised is finished) over a bug in a filter, and recovering is what was asked for."""
        if self.exclude is None:
            return False
        try:
            return bool(self.exclude(entity))
        except Exception:
            LOGGER.exception('Recovery exclude filter failed on %r; recovering it', entity)
            return False

    def _consumers_to_recover(self) -> dict[int, list[RecordedConsumer]]:
        by_channel: dict[int, list[RecordedConsumer]] = {}
        if self.recover_consumers:
            for consumer in self.consumers.values():
                by_channel.setdefault(consumer.channel_number, []).append(consumer)
        return by_channel

    def replay_steps(self, replay: Replay) -> Iterator[ReplayStep]:
        """The steps of ``replay``, in order: channels (qos, confirm, tx), exchanges, queues,
        bindings, consumers. A generator, so each step is built after the previous one completed."""
        consumers = self._consumers_to_recover()
        channels = [self.channels[number] for number in sorted(self.channels)]
        for channel in channels:
            yield from _channel_setup(channel, has_consumers=channel.channel_number in consumers)
        if self.recover_topology:
            yield from self._topology_steps(replay)
        else:
            replay.lost_queues.update(q.name for q in self.queues.values() if q.server_named)
        for channel in channels:
            yield from self._consumer_steps(replay, channel, consumers.get(channel.channel_number))

    def channel_restore(self, channel_number: int) -> list[Any]:
        """The methods that restore one channel opened afresh on a live connection, after
        its Channel.Open: qos, confirm and tx modes, then its consumers (each after the qos
        it was started with). Empty for a channel the record does not know."""
        channel = self.channels.get(channel_number)
        if channel is None:
            return []
        consumers = self._consumers_to_recover().get(channel_number)
        replay = Replay(self)
        steps = [
            *_channel_setup(channel, has_consumers=consumers is not None),
            *self._consumer_steps(replay, channel, consumers),
        ]
        return [step.method for step in steps if not isinstance(step.method, spec.Channel.Open)]

    def _topology_steps(self, replay: Replay) -> Iterator[ReplayStep]:
        for exchange in list(self.exchanges.values()):
            if self._excluded(exchange):
                replay.skip(exchange)
            else:
                yield ReplayStep(TOPOLOGY_CHANNEL, exchange.method(), exchange)
        for queue in list(self.queues.values()):
            if self._excluded(queue):
                replay.skip(queue)
                if queue.server_named:
                    replay.lost_queues.add(queue.name)
            else:
                yield ReplayStep(TOPOLOGY_CHANNEL, queue.method(), queue)
        for binding in list(self.bindings.values()):
            lost = binding.destination_kind == 'queue' and binding.destination in replay.lost_queues
            if lost or self._excluded(binding):
                replay.skip(binding)
            else:
                yield ReplayStep(TOPOLOGY_CHANNEL, binding.method(), binding)

    def _consumer_steps(
        self, replay: Replay, channel: ChannelRecord, consumers: Optional[list[RecordedConsumer]]
    ) -> Iterator[ReplayStep]:
        """The channel's consumers, each after the per-consumer qos it was started with; then
        the qos the channel has now, for consumers the application starts later."""
        if consumers is None:
            return
        number = channel.channel_number
        sent = NO_PREFETCH
        for consumer in consumers:
            if number in replay.failed_channels or consumer.queue in replay.lost_queues:
                replay.skip(consumer)
                continue
            if self._excluded(consumer):
                replay.skip(consumer)
                continue
            if consumer.prefetch != sent:
                sent = consumer.prefetch
                yield ReplayStep(number, _qos(sent, global_qos=False))
            yield ReplayStep(number, consumer.method(), consumer)
        if channel.prefetch != sent and number not in replay.failed_channels:
            yield ReplayStep(number, _qos(channel.prefetch, global_qos=False))

    def __repr__(self) -> str:
        return (
            f'<RecoveryRecord channels={len(self.channels)} exchanges={len(self.exchanges)} '
            f'queues={len(self.queues)} bindings={len(self.bindings)} '
            f'consumers={len(self.consumers)} losses={self.losses}>'
        )


def _qos(prefetch: Prefetch, *, global_qos: bool) -> spec.Basic.Qos:
    return spec.Basic.Qos(
        prefetch_size=prefetch[0], prefetch_count=prefetch[1], global_qos=global_qos
    )


def _channel_setup(channel: ChannelRecord, *, has_consumers: bool) -> Iterator[ReplayStep]:
    """Open the channel under its number, then its qos, confirm and tx modes. The
    per-consumer qos of a channel with consumers to restart comes with them."""
    number = channel.channel_number
    yield ReplayStep(number, spec.Channel.Open())
    if channel.global_qos != NO_PREFETCH:
        yield ReplayStep(number, _qos(channel.global_qos, global_qos=True))
    if not has_consumers and channel.prefetch != NO_PREFETCH:
        yield ReplayStep(number, _qos(channel.prefetch, global_qos=False))
    if channel.confirm:
        yield ReplayStep(number, spec.Confirm.Select())
    if channel.tx:
        yield ReplayStep(number, spec.Tx.Select())


def _rekey(mapping: dict[str, Any], old: str, new: str, value: Any) -> dict[str, Any]:
    """``mapping`` with ``old`` replaced by ``new`` in place (any other ``new`` entry dropped)."""
    result: dict[str, Any] = {}
    for key, item in mapping.items():
        if key == old:
            result[new] = value
        elif key != new:
            result[key] = item
    return result


_Handler = Callable[[RecoveryRecord, int, Any, Any], None]
_HANDLERS: dict[int, _Handler] = {
    spec.Exchange.Declare.INDEX: RecoveryRecord._exchange_declared,
    spec.Exchange.Delete.INDEX: RecoveryRecord._exchange_deleted,
    spec.Exchange.Bind.INDEX: RecoveryRecord._exchange_bound,
    spec.Exchange.Unbind.INDEX: RecoveryRecord._exchange_unbound,
    spec.Queue.Declare.INDEX: RecoveryRecord._queue_declared,
    spec.Queue.Delete.INDEX: RecoveryRecord._queue_deleted,
    spec.Queue.Bind.INDEX: RecoveryRecord._queue_bound,
    spec.Queue.Unbind.INDEX: RecoveryRecord._queue_unbound,
    spec.Basic.Consume.INDEX: RecoveryRecord._consumer_started,
    spec.Basic.Cancel.INDEX: RecoveryRecord._consumer_cancelled,
    spec.Basic.Qos.INDEX: RecoveryRecord._qos_set,
    spec.Confirm.Select.INDEX: RecoveryRecord._confirm_selected,
    spec.Tx.Select.INDEX: RecoveryRecord._tx_selected,
    spec.Tx.Commit.INDEX: RecoveryRecord._tx_ended,
    spec.Tx.Rollback.INDEX: RecoveryRecord._tx_ended,
    spec.Channel.Open.INDEX: RecoveryRecord._channel_open,
    spec.Channel.Close.INDEX: RecoveryRecord._channel_close,
}
