"""The sans-I/O recovery record: what is kept, what is forgotten, the replay, tags, publishes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pika import exceptions, spec
from pika._core.recovery import (
    TOPOLOGY_CHANNEL,
    ChannelRecord,
    RecordedBinding,
    RecordedConsumer,
    RecordedEntity,
    RecordedExchange,
    RecordedQueue,
    RecoveryRecord,
    Replay,
    ReplayStep,
)
from pika.recovery import Recovery
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import names, open_channel, open_core, reconnect, sent

if TYPE_CHECKING:
    from pika._core import ChannelCore, ConnectionCore

Exchange, Queue, Basic = spec.Exchange, spec.Queue, spec.Basic


# -- helpers ------------------------------------------------------------------------------


def declare_exchange(record: RecoveryRecord, name: str, channel: int = 1, **kwargs: Any) -> None:
    record.method_completed(
        channel, Exchange.Declare(exchange=name, **kwargs), Exchange.DeclareOk()
    )


def declare_queue(
    record: RecoveryRecord, name: str, channel: int = 1, reply_name: Optional[str] = None, **kw: Any
) -> None:
    reply = Queue.DeclareOk(queue=reply_name or name, message_count=0, consumer_count=0)
    record.method_completed(channel, Queue.Declare(queue=name, **kw), reply)


def bind_queue(record: RecoveryRecord, queue: str, exchange: str, key: str = '', **kw: Any) -> None:
    record.method_completed(
        1, Queue.Bind(queue=queue, exchange=exchange, routing_key=key, **kw), Queue.BindOk()
    )


def consume(record: RecoveryRecord, channel: int, queue: str, tag: str, **kw: Any) -> None:
    method = Basic.Consume(queue=queue, consumer_tag=tag, **kw)
    record.method_completed(channel, method, Basic.ConsumeOk(consumer_tag=tag or 'amq.ctag-x'))


def run(replay: Replay, replies: Optional[dict[str, Any]] = None) -> list[ReplayStep]:
    """Drive ``replay`` to the end, answering each step with a matching reply."""
    replies = replies or {}
    steps = []
    while (step := replay.next_step()) is not None:
        steps.append(step)
        replay.completed(replies.get(step.method.NAME))
    return steps


FIELDS: dict[str, Any] = {
    'Basic.Qos': lambda m: (m.prefetch_size, m.prefetch_count, m.global_qos),
    'Exchange.Declare': lambda m: (m.exchange, m.type),
    'Queue.Declare': lambda m: (m.queue,),
    'Queue.Bind': lambda m: (m.queue, m.exchange, m.routing_key),
    'Exchange.Bind': lambda m: (m.destination, m.source, m.routing_key),
    'Basic.Consume': lambda m: (m.queue, m.consumer_tag),
}


def described(steps: list[ReplayStep]) -> list[tuple[Any, ...]]:
    """(channel, method name, the method's identifying fields) per step."""
    out = []
    for step in steps:
        m = step.method
        fields = FIELDS.get(m.NAME, lambda m: ())(m)
        out.append((step.channel_number, m.NAME, *fields))
    return out


def full_record() -> RecoveryRecord:
    record = RecoveryRecord()
    record.channel_opened(1)
    record.channel_opened(2)
    record.method_completed(1, Basic.Qos(prefetch_count=10), Basic.QosOk())
    record.method_completed(2, spec.Confirm.Select(), spec.Confirm.SelectOk())
    record.method_completed(2, spec.Tx.Select(), spec.Tx.SelectOk())
    declare_exchange(record, 'ex', type='topic')
    declare_exchange(record, 'ex2', type='fanout')
    declare_queue(record, 'q', durable=True)
    bind_queue(record, 'q', 'ex', 'a.*')
    record.method_completed(
        1, Exchange.Bind(destination='ex2', source='ex', routing_key='b'), Exchange.BindOk()
    )
    consume(record, 1, 'q', 'ctag1')
    return record


# -- what is recorded ---------------------------------------------------------------------


def test_full_replay_order() -> None:
    record = full_record()
    record.connection_lost()
    steps = run(record.replay())
    assert described(steps) == [
        (1, 'Channel.Open'),
        (2, 'Channel.Open'),
        (2, 'Confirm.Select'),
        (2, 'Tx.Select'),
        (TOPOLOGY_CHANNEL, 'Exchange.Declare', 'ex', 'topic'),
        (TOPOLOGY_CHANNEL, 'Exchange.Declare', 'ex2', 'fanout'),
        (TOPOLOGY_CHANNEL, 'Queue.Declare', 'q'),
        (TOPOLOGY_CHANNEL, 'Queue.Bind', 'q', 'ex', 'a.*'),
        (TOPOLOGY_CHANNEL, 'Exchange.Bind', 'ex2', 'ex', 'b'),
        (1, 'Basic.Qos', 0, 10, False),
        (1, 'Basic.Consume', 'q', 'ctag1'),
    ]
    assert TOPOLOGY_CHANNEL is None


def test_replayed_methods_carry_every_recorded_field() -> None:
    record = RecoveryRecord()
    args = {'x-max-length': 10, 'nested': {'a': [1, 2]}}
    declare_exchange(
        record, 'ex', type='headers', durable=True, auto_delete=False, internal=True, arguments=args
    )
    declare_queue(record, 'q', durable=True, exclusive=True, auto_delete=False, arguments=args)
    bind_queue(record, 'q', 'ex', 'k', arguments={'x-match': 'all'})
    consume(record, 3, 'q', 't', no_ack=True, exclusive=True, arguments={'x-priority': 5})
    methods = [step.method for step in run(record.replay())]
    assert methods == [
        spec.Channel.Open(),
        Exchange.Declare(
            exchange='ex', type='headers', durable=True, internal=True, arguments=args
        ),
        Queue.Declare(queue='q', durable=True, exclusive=True, arguments=args),
        Queue.Bind(queue='q', exchange='ex', routing_key='k', arguments={'x-match': 'all'}),
        Basic.Consume(
            queue='q', consumer_tag='t', no_ack=True, exclusive=True, arguments={'x-priority': 5}
        ),
    ]
    assert all(not getattr(m, 'nowait', False) for m in methods)  # every step gets a reply


def test_passive_declares_are_not_recorded() -> None:
    record = RecoveryRecord()
    declare_exchange(record, 'ex', passive=True)
    declare_queue(record, 'q', passive=True)
    assert record.exchanges == {} and record.queues == {}


def test_redeclare_replaces_in_place() -> None:
    record = RecoveryRecord()
    declare_exchange(record, 'a')
    declare_exchange(record, 'b')
    declare_exchange(record, 'a', type='fanout')
    assert [(e.name, e.exchange_type) for e in record.exchanges.values()] == [
        ('a', 'fanout'),
        ('b', 'direct'),
    ]


def test_duplicate_binding_recorded_once_and_args_distinguish() -> None:
    record = RecoveryRecord()
    bind_queue(record, 'q', 'ex', 'k', arguments={'a': {'b': [1]}})
    bind_queue(record, 'q', 'ex', 'k', arguments={'a': {'b': [1]}})
    bind_queue(record, 'q', 'ex', 'k', arguments={'a': {'b': [2]}})
    bind_queue(record, 'q', 'ex', 'k')
    bind_queue(record, 'q', 'ex', 'k', arguments={})  # no arguments == empty table
    assert len(record.bindings) == 3


def test_nowait_methods_are_recorded_from_the_request() -> None:
    record = RecoveryRecord()
    record.method_completed(1, Exchange.Declare(exchange='ex', nowait=True))
    record.method_completed(1, Queue.Declare(queue='q', nowait=True))
    record.method_completed(1, Queue.Bind(queue='q', exchange='ex', nowait=True))
    record.method_completed(1, Basic.Consume(queue='q', consumer_tag='t', nowait=True))
    assert list(record.exchanges) == ['ex']
    assert list(record.queues) == ['q']
    assert len(record.bindings) == 1
    assert list(record.consumers) == [(1, 't')]


def test_nowait_without_a_name_cannot_be_recorded() -> None:
    record = RecoveryRecord()
    record.method_completed(1, Queue.Declare(queue='', nowait=True))
    record.method_completed(1, Basic.Consume(queue='q', consumer_tag='', nowait=True))
    assert record.queues == {} and record.consumers == {}


def test_server_generated_consumer_tag_comes_from_consume_ok() -> None:
    record = RecoveryRecord()
    record.method_completed(
        1, Basic.Consume(queue='q'), Basic.ConsumeOk(consumer_tag='amq.ctag-abc')
    )
    steps = run(record.replay())
    assert steps[-1].method.consumer_tag == 'amq.ctag-abc'  # same tag on the new connection


def test_unrelated_methods_are_ignored() -> None:
    record = RecoveryRecord()
    record.method_completed(1, Queue.Purge(queue='q'), Queue.PurgeOk(message_count=0))
    record.method_completed(1, Basic.Ack(delivery_tag=1))
    record.method_completed(1, Basic.Recover(requeue=True), Basic.RecoverOk())
    assert repr(record) == (
        '<RecoveryRecord channels=0 exchanges=0 queues=0 bindings=0 consumers=0 losses=0>'
    )


# -- what is forgotten --------------------------------------------------------------------


def test_exchange_delete_forgets_it_and_its_bindings() -> None:
    record = full_record()
    record.method_completed(1, Exchange.Delete(exchange='ex'), Exchange.DeleteOk())
    assert list(record.exchanges) == ['ex2']
    assert record.bindings == {}  # q <- ex and ex2 <- ex


def test_exchange_delete_as_destination_forgets_e2e_binding() -> None:
    record = full_record()
    record.method_completed(1, Exchange.Delete(exchange='ex2'), Exchange.DeleteOk())
    assert [b.destination for b in record.bindings.values()] == ['q']


def test_queue_delete_forgets_it_its_bindings_and_consumers() -> None:
    record = full_record()
    record.method_completed(1, Queue.Delete(queue='q'), Queue.DeleteOk(message_count=0))
    assert record.queues == {}
    assert [b.destination_kind for b in record.bindings.values()] == ['exchange']
    assert record.consumers == {}


def test_unbind_forgets_the_binding() -> None:
    record = full_record()
    record.method_completed(
        1, Queue.Unbind(queue='q', exchange='ex', routing_key='a.*'), Queue.UnbindOk()
    )
    record.method_completed(
        1, Exchange.Unbind(destination='ex2', source='ex', routing_key='b'), Exchange.UnbindOk()
    )
    assert record.bindings == {}
    assert list(record.exchanges) == ['ex', 'ex2']  # not auto-delete: still there


def test_unbind_of_an_unknown_binding_changes_nothing() -> None:
    record = full_record()
    record.method_completed(1, Queue.Unbind(queue='q', exchange='ex', routing_key='zz'))
    assert len(record.bindings) == 2


def test_cancel_forgets_the_consumer() -> None:
    record = full_record()
    record.method_completed(1, Basic.Cancel(consumer_tag='ctag1'), Basic.CancelOk('ctag1'))
    assert record.consumers == {}
    assert 'q' in record.queues


def test_broker_cancel_forgets_the_consumer() -> None:
    record = full_record()
    record.consumer_cancelled(1, 'ctag1')
    assert record.consumers == {}
    record.consumer_cancelled(1, 'unknown')  # harmless


def test_same_tag_on_two_channels_are_two_consumers() -> None:
    record = RecoveryRecord()
    consume(record, 1, 'q', 'tag')
    consume(record, 2, 'q', 'tag')
    record.method_completed(2, Basic.Cancel(consumer_tag='tag'), Basic.CancelOk('tag'))
    assert list(record.consumers) == [(1, 'tag')]


def test_auto_delete_queue_forgotten_with_its_last_consumer() -> None:
    record = RecoveryRecord()
    declare_queue(record, 'ad', auto_delete=True)
    bind_queue(record, 'ad', 'ex')
    consume(record, 1, 'ad', 'a')
    consume(record, 2, 'ad', 'b')
    record.method_completed(1, Basic.Cancel(consumer_tag='a'), Basic.CancelOk('a'))
    assert 'ad' in record.queues  # one consumer left
    record.consumer_cancelled(2, 'b')
    assert record.queues == {} and record.bindings == {}


def test_auto_delete_queue_forgotten_when_the_channel_of_its_consumer_closes() -> None:
    record = RecoveryRecord()
    record.channel_opened(4)
    declare_queue(record, 'ad', auto_delete=True)
    declare_queue(record, 'kept')
    consume(record, 4, 'ad', 'a')
    consume(record, 4, 'kept', 'b')
    assert record.channel_closed(4) == []
    assert list(record.queues) == ['kept']
    assert record.consumers == {} and record.channel(4) is None


def test_auto_delete_exchange_forgotten_with_its_last_binding() -> None:
    record = RecoveryRecord()
    declare_exchange(record, 'ad', auto_delete=True)
    declare_exchange(record, 'plain')
    bind_queue(record, 'q1', 'ad')
    bind_queue(record, 'q2', 'ad')
    record.method_completed(1, Queue.Unbind(queue='q1', exchange='ad'), Queue.UnbindOk())
    assert 'ad' in record.exchanges
    record.method_completed(1, Queue.Delete(queue='q2'), Queue.DeleteOk(message_count=0))
    assert list(record.exchanges) == ['plain']


def test_auto_delete_exchange_cascade_through_e2e_bindings() -> None:
    record = RecoveryRecord()
    declare_exchange(record, 'top', auto_delete=True)
    declare_exchange(record, 'mid')
    record.method_completed(1, Exchange.Bind(destination='mid', source='top'), Exchange.BindOk())
    record.method_completed(1, Exchange.Delete(exchange='mid'), Exchange.DeleteOk())
    assert record.exchanges == {} and record.bindings == {}


def test_auto_delete_exchange_never_bound_is_kept() -> None:
    record = RecoveryRecord()
    declare_exchange(record, 'ad', auto_delete=True)
    assert 'ad' in record.exchanges


def test_channel_close_through_method_completed() -> None:
    record = RecoveryRecord()
    record.method_completed(5, spec.Channel.Open(), spec.Channel.OpenOk())
    consume(record, 5, 'q', 't')
    record.method_completed(5, spec.Channel.Close(reply_code=200), spec.Channel.CloseOk())
    assert record.channels == {} and record.consumers == {}


def test_channel_opened_again_during_replay_keeps_its_record() -> None:
    record = RecoveryRecord()
    first = record.channel_opened(1)
    first.deliver(7)
    assert record.channel_opened(1) is first
    assert record.channel(1) is first and record.channel(2) is None


def test_reporting_replayed_methods_back_is_harmless() -> None:
    record = full_record()
    declare_queue(record, '', channel=1, reply_name='amq.gen-old', exclusive=True)
    record.connection_lost()
    replay = record.replay()
    while (step := replay.next_step()) is not None:
        channel = 9 if step.channel_number is None else step.channel_number
        reply: Any = None
        if step.method.NAME == 'Queue.Declare':
            name = step.method.queue or 'amq.gen-new'
            reply = Queue.DeclareOk(queue=name, message_count=0, consumer_count=0)
        elif step.method.NAME == 'Basic.Consume':
            reply = Basic.ConsumeOk(consumer_tag=step.method.consumer_tag)
        if step.method.NAME != 'Channel.Open':
            record.method_completed(channel, step.method, reply)  # as a core hook would
        replay.completed(reply)
    assert list(record.queues) == ['q', 'amq.gen-new']
    assert len(record.bindings) == 2 and list(record.consumers) == [(1, 'ctag1')]
    assert record.channels[1].prefetch == (0, 10)


# -- qos, confirm, tx --------------------------------------------------------------------


def test_qos_per_consumer_is_restored_before_each_consumer() -> None:
    record = RecoveryRecord()
    record.channel_opened(1)
    consume(record, 1, 'q', 'unlimited')
    record.method_completed(1, Basic.Qos(prefetch_count=5), Basic.QosOk())
    consume(record, 1, 'q', 'five')
    consume(record, 1, 'q', 'five-too')
    record.method_completed(1, Basic.Qos(prefetch_count=20), Basic.QosOk())
    record.method_completed(1, Basic.Qos(prefetch_count=3, global_qos=True), Basic.QosOk())
    steps = described(run(record.replay()))
    assert steps == [
        (1, 'Channel.Open'),
        (1, 'Basic.Qos', 0, 3, True),
        (1, 'Basic.Consume', 'q', 'unlimited'),
        (1, 'Basic.Qos', 0, 5, False),
        (1, 'Basic.Consume', 'q', 'five'),
        (1, 'Basic.Consume', 'q', 'five-too'),
        (1, 'Basic.Qos', 0, 20, False),  # for consumers the application starts later
    ]


def test_qos_of_a_channel_without_consumers_comes_with_its_setup() -> None:
    record = RecoveryRecord()
    record.channel_opened(1)
    record.method_completed(1, Basic.Qos(prefetch_size=0, prefetch_count=7), Basic.QosOk())
    record.method_completed(1, spec.Confirm.Select(), spec.Confirm.SelectOk())
    assert described(run(record.replay())) == [
        (1, 'Channel.Open'),
        (1, 'Basic.Qos', 0, 7, False),
        (1, 'Confirm.Select'),
    ]


def test_channels_replayed_by_number() -> None:
    record = RecoveryRecord()
    for number in (7, 2, 30):
        record.channel_opened(number)
    assert [s.channel_number for s in run(record.replay())] == [2, 7, 30]


# -- recover flags and the filter --------------------------------------------------------


def test_recover_topology_off_keeps_channels_and_consumers_of_named_queues() -> None:
    record = full_record()
    declare_queue(record, '', reply_name='amq.gen-1', exclusive=True)
    consume(record, 1, 'amq.gen-1', 'lost-with-its-queue')
    record.recover_topology = False
    replay = record.replay()
    steps = described(run(replay))
    assert [s[1] for s in steps] == [
        'Channel.Open',
        'Channel.Open',
        'Confirm.Select',
        'Tx.Select',
        'Basic.Qos',
        'Basic.Consume',
    ]
    assert [e.consumer_tag for e in replay.skipped if isinstance(e, RecordedConsumer)] == [
        'lost-with-its-queue'
    ]


def test_recover_consumers_off() -> None:
    record = full_record()
    record.recover_consumers = False
    steps = described(run(record.replay()))
    assert not any(s[1] == 'Basic.Consume' for s in steps)
    assert (1, 'Basic.Qos', 0, 10, False) in steps  # the channel's qos still comes back


def test_exclude_filter_sees_each_entity_and_skips_what_it_returns_true_for() -> None:
    seen: list[str] = []

    def exclude(entity: RecordedEntity) -> bool:
        seen.append(entity.kind)
        if isinstance(entity, RecordedExchange):
            return entity.name == 'ex2'
        if isinstance(entity, RecordedBinding):
            return entity.destination_kind == 'exchange'
        return False

    record = full_record()
    record.exclude = exclude
    replay = record.replay()
    steps = described(run(replay))
    assert ('Exchange.Declare', 'ex2') not in [s[1:3] for s in steps]
    assert not any(s[1] == 'Exchange.Bind' for s in steps)
    assert sorted(seen) == ['binding', 'binding', 'consumer', 'exchange', 'exchange', 'queue']
    assert [e.kind for e in replay.skipped] == ['exchange', 'binding']


def test_excluded_server_named_queue_takes_its_bindings_and_consumers() -> None:
    record = RecoveryRecord()
    declare_queue(record, '', reply_name='amq.gen-1')
    bind_queue(record, 'amq.gen-1', 'ex')
    consume(record, 1, 'amq.gen-1', 't')
    record.exclude = lambda entity: isinstance(entity, RecordedQueue)
    replay = record.replay()
    assert described(run(replay)) == [(1, 'Channel.Open')]
    assert [e.kind for e in replay.skipped] == ['queue', 'binding', 'consumer']


# -- server-named queues ------------------------------------------------------------------


def test_server_named_queue_new_name_reaches_bindings_and_consumers() -> None:
    record = RecoveryRecord()
    record.channel_opened(1)
    declare_queue(record, '', reply_name='amq.gen-old', exclusive=True)
    bind_queue(record, 'amq.gen-old', 'ex', 'k')
    consume(record, 1, 'amq.gen-old', 'ctag')
    assert record.queues['amq.gen-old'].server_named
    record.connection_lost()
    replay = record.replay()
    steps = []
    renames = []
    while (step := replay.next_step()) is not None:
        steps.append(step)
        reply = None
        if step.method.NAME == 'Queue.Declare':
            assert step.method.queue == ''  # declared again without a name
            reply = Queue.DeclareOk(queue='amq.gen-new', message_count=0, consumer_count=0)
        renames.append(replay.completed(reply))
    assert described(steps)[2:] == [
        (TOPOLOGY_CHANNEL, 'Queue.Bind', 'amq.gen-new', 'ex', 'k'),
        (1, 'Basic.Consume', 'amq.gen-new', 'ctag'),
    ]
    assert [r for r in renames if r] == [('amq.gen-old', 'amq.gen-new')]
    assert replay.renamed == [('amq.gen-old', 'amq.gen-new')]
    # The record keeps the new name for the next recovery.
    assert list(record.queues) == ['amq.gen-new']
    assert record.queues['amq.gen-new'].server_named
    assert [b.destination for b in record.bindings.values()] == ['amq.gen-new']
    assert record.consumers[(1, 'ctag')].queue == 'amq.gen-new'


def test_server_named_flag_survives_a_redeclare_by_name() -> None:
    record = RecoveryRecord()
    declare_queue(record, '', reply_name='amq.gen-1')
    declare_queue(record, 'amq.gen-1')
    assert record.queues['amq.gen-1'].server_named


def test_named_queue_same_name_is_no_rename() -> None:
    record = RecoveryRecord()
    declare_queue(record, 'q')
    replay = record.replay()
    replay.next_step()
    assert replay.completed(Queue.DeclareOk(queue='q', message_count=0, consumer_count=0)) is None
    assert replay.renamed == []


def test_rename_drops_a_duplicate_already_recorded_under_the_new_name() -> None:
    record = RecoveryRecord()
    declare_queue(record, 'a')
    declare_queue(record, '', reply_name='old')
    declare_queue(record, '', reply_name='new')
    record.rename_queue('old', 'new')
    assert list(record.queues) == ['a', 'new']


# -- failures during a replay -----------------------------------------------------------


def test_failed_channel_open_skips_that_channels_steps() -> None:
    record = full_record()
    replay = record.replay()
    names = []
    while (step := replay.next_step()) is not None:
        names.append((step.channel_number, step.method.NAME))
        if step.method.NAME == 'Channel.Open' and step.channel_number == 1:
            replay.failed(ValueError('channel_max too small'))
        else:
            replay.completed()
    assert (1, 'Basic.Consume') not in names and (1, 'Basic.Qos') not in names
    assert replay.failed_channels == {1}
    assert [c.consumer_tag for c in replay.skipped if isinstance(c, RecordedConsumer)] == ['ctag1']
    assert len(replay.failures) == 1


def test_failed_server_named_queue_skips_its_dependents() -> None:
    record = RecoveryRecord()
    declare_queue(record, '', reply_name='amq.gen-1')
    declare_queue(record, 'named')
    bind_queue(record, 'amq.gen-1', 'ex')
    bind_queue(record, 'named', 'ex')
    consume(record, 1, 'amq.gen-1', 'lost')
    consume(record, 1, 'named', 'kept')
    replay = record.replay()
    sent = []
    while (step := replay.next_step()) is not None:
        sent.append(described([step])[0])
        if step.method.NAME == 'Queue.Declare' and step.method.queue == '':
            replay.failed(RuntimeError('refused'))
        else:
            replay.completed()
    assert sent[-2:] == [
        (TOPOLOGY_CHANNEL, 'Queue.Bind', 'named', 'ex', ''),
        (1, 'Basic.Consume', 'named', 'kept'),
    ]
    assert replay.lost_queues == {'amq.gen-1'}
    assert [e.kind for e in replay.skipped] == ['binding', 'consumer']


def test_failed_named_queue_keeps_its_consumers() -> None:
    record = RecoveryRecord()
    declare_queue(record, 'q')
    consume(record, 1, 'q', 't')
    replay = record.replay()
    replay.next_step()
    replay.completed()  # Channel.Open
    assert replay.next_step() is not None
    replay.failed(RuntimeError('406'))
    step = replay.next_step()
    assert step is not None and step.method.NAME == 'Basic.Consume'


def test_steps_must_be_answered_in_turn() -> None:
    replay = full_record().replay()
    with pytest.raises(RuntimeError, match='no replay step'):
        replay.completed()
    replay.next_step()
    with pytest.raises(RuntimeError, match='has not been completed'):
        replay.next_step()
    replay.completed()
    run(replay)
    assert replay.next_step() is None


def test_empty_record_replays_nothing() -> None:
    assert run(RecoveryRecord().replay()) == []


def test_step_repr_and_equality() -> None:
    step = ReplayStep(1, spec.Channel.Open())
    assert repr(step) == '<ReplayStep channel=1 Channel.Open>'
    assert step == ReplayStep(1, spec.Channel.Open())
    assert step != ReplayStep(2, spec.Channel.Open())
    assert step.__eq__(object()) is NotImplemented


# -- delivery tags ------------------------------------------------------------------------


def test_tags_keep_increasing_across_recoveries() -> None:
    record = RecoveryRecord()
    channel = record.channel_opened(1)
    assert [channel.deliver(tag) for tag in (1, 2, 3)] == [1, 2, 3]
    assert channel.broker_tag_for(2) == 2
    record.connection_lost()
    assert channel.deliver(1) == 4  # the new connection's first delivery
    assert channel.deliver(2) == 5
    assert channel.broker_tag_for(5) == 2 and channel.broker_tag_for(4) == 1
    assert channel.broker_tag_for(3) is None  # from before the loss: dropped, never sent
    record.connection_lost()
    assert channel.deliver(1) == 6
    assert [channel.broker_tag_for(tag) for tag in (1, 5, 6)] == [None, None, 1]


def test_loss_without_deliveries_keeps_the_offset() -> None:
    record = RecoveryRecord()
    channel = record.channel_opened(1)
    channel.deliver(10)
    record.connection_lost()
    record.connection_lost()  # lost again before anything arrived
    assert channel.tag_offset == 10
    assert channel.deliver(1) == 11


def test_ack_everything_tag_zero_passes_through() -> None:
    record = RecoveryRecord()
    channel = record.channel_opened(1)
    channel.deliver(3)
    record.connection_lost()
    assert channel.broker_tag_for(0) == 0


# -- publishes in confirm mode -----------------------------------------------------------
#
# A record gets a publish only from ``ChannelCore.publish`` (recovery on, confirm mode), which
# appends it to ``ChannelRecord.sent`` itself. So these tests publish through a core's channel
# and lose and recover that core; what the record then answers (confirms, copies published
# again, sequence numbers) is checked on the record.

Mode = tuple[type[Any], type[Any]]
CONFIRM: Mode = (spec.Confirm.Select, spec.Confirm.SelectOk)
TX: Mode = (spec.Tx.Select, spec.Tx.SelectOk)
PROPS = spec.BasicProperties(content_type='text/plain', delivery_mode=2)


def recovering_channel(
    mode: Optional[Mode] = CONFIRM,
) -> tuple[ConnectionCore, ChannelCore, ChannelRecord]:
    """A core with recovery on, its channel 1 put in ``mode`` (confirm, tx or none), and that
    channel's record."""
    core = open_core(recovery=Recovery())
    publisher = open_channel(core, 1)
    if mode is not None:
        request, reply = mode
        publisher.rpc(request())
        assert [m.NAME for m in sent(core)] == [request.NAME]
        assert names(core.receive_data(sf.method(1, reply()), 0.0)) == ['RpcReply']
    channel = publisher.record
    assert channel is not None
    assert (channel.confirm, channel.tx) == (mode is CONFIRM, mode is TX)
    return core, publisher, channel


def lose(core: ConnectionCore) -> None:
    """The stream is lost: the core keeps its channels and tells the record."""
    assert names(core.connection_lost(exceptions.StreamLostError('reset'))) == [
        'ConnectionInterrupted'
    ]


def recover(core: ConnectionCore, mode: Mode = CONFIRM) -> list[Any]:
    """Reconnect and replay channel 1 (opened, ``mode`` selected); returns the methods the
    recoverer sent after the replay: the unconfirmed messages published again."""
    request, reply = mode
    reconnect(core)
    assert core.receive_data(sf.open_ok(), 1.0) == []
    assert [m.NAME for m in sent(core)] == ['Channel.Open']
    assert core.receive_data(sf.channel_open_ok(1), 1.0) == []
    assert [m.NAME for m in sent(core)] == [request.NAME]
    assert names(core.receive_data(sf.method(1, reply()), 1.0)) == ['ConnectionRecovered']
    return sent(core)


def test_publish_outside_confirm_mode_is_not_kept() -> None:
    _core, publisher, channel = recovering_channel(mode=None)
    assert publisher.publish('ex', 'k', b'x') is None
    assert channel.sent == []
    assert channel.unconfirmed() == [] and channel.drop_publishes() == []


def test_confirms_settle_single_and_multiple() -> None:
    _core, publisher, channel = recovering_channel()
    sequences = [publisher.publish('ex', 'k', b'%d' % n) for n in range(1, 6)]
    assert sequences == [1, 2, 3, 4, 5]
    assert channel.confirmed_sequence(2, multiple=False) == 2
    assert channel.confirmed_sequence(2, multiple=False) is None  # already settled
    assert channel.confirmed_sequence(3, multiple=True) == 3  # settles 1 and 3
    assert channel.app_sequence(1) is None and channel.app_sequence(3) is None
    assert channel.confirmed_sequence(3, multiple=True) is None
    assert channel.confirmed_sequence(99, multiple=False) is None
    assert channel.confirmed_sequence(0, multiple=True) is None
    assert channel.app_sequence(5) == 5 and channel.app_sequence(99) is None
    assert channel.confirmed_sequence(5, multiple=True) == 5
    assert channel.drop_publishes() == []


def test_confirmed_hands_out_each_settled_publish() -> None:
    core, publisher, channel = recovering_channel()
    for n in range(1, 5):
        publisher.publish('ex', f'k{n}', b'm%d' % n, PROPS, mandatory=True)
    assert channel.confirmed_sequence(2, multiple=False) == 2
    settled = channel.confirmed(3, multiple=True)
    assert [(p.sequence, p.broker_tag, p.routing_key, p.body) for p in settled] == [
        (1, 1, 'k1', b'm1'),
        (3, 3, 'k3', b'm3'),
    ]
    assert (settled[0].exchange, settled[0].properties, settled[0].mandatory) == (
        'ex',
        PROPS,
        True,
    )
    assert channel.confirmed(3, multiple=True) == []
    lose(core)
    (entry,) = channel.unconfirmed()
    (copy,) = recover(core)  # 4 published again, as broker tag 1
    assert (copy.NAME, copy.routing_key, copy.mandatory) == ('Basic.Publish', 'k4', True)
    assert (entry.sequence, entry.broker_tag) == (4, 1)
    assert [(p.sequence, p.broker_tag) for p in channel.confirmed(1, multiple=False)] == [(4, 1)]


def test_multiple_confirm_whose_own_tag_was_settled_reports_the_last_live_one() -> None:
    _core, publisher, channel = recovering_channel()
    for _ in range(3):
        publisher.publish('ex', 'k', b'')
    assert channel.confirmed_sequence(3, multiple=False) == 3
    assert channel.confirmed_sequence(3, multiple=True) == 2  # settles 1 and 2


def test_single_confirms_out_of_order_settle_the_head_once_complete() -> None:
    _core, publisher, channel = recovering_channel()
    for _ in range(4):
        publisher.publish('ex', 'k', b'')
    assert [channel.confirmed_sequence(tag, multiple=False) for tag in (2, 3)] == [2, 3]
    assert repr(channel) == '<ChannelRecord 1 confirm tag_offset=0 pending=2 unsent=0>'
    assert channel.confirmed_sequence(1, multiple=False) == 1
    assert channel.app_sequence(4) == 4
    assert publisher.publish('ex', 'k', b'') == 5
    assert channel.confirmed_sequence(5, multiple=True) == 5
    assert repr(channel) == '<ChannelRecord 1 confirm tag_offset=0 pending=0 unsent=0>'


def test_unconfirmed_publishes_survive_a_loss_with_their_sequence_numbers() -> None:
    core, publisher, channel = recovering_channel()
    for n in range(1, 6):
        publisher.publish('ex', 'k', b'm%d' % n, PROPS, mandatory=True)
    channel.confirmed_sequence(2, multiple=True)
    channel.confirmed_sequence(4, multiple=False)
    lose(core)
    unconfirmed = channel.unconfirmed()
    assert [(p.sequence, p.broker_tag, p.body) for p in unconfirmed] == [
        (3, None, b'm3'),
        (5, None, b'm5'),
    ]
    assert (unconfirmed[0].exchange, unconfirmed[0].routing_key) == ('ex', 'k')
    assert (unconfirmed[0].properties, unconfirmed[0].mandatory) == (PROPS, True)
    assert (
        channel.confirmed_sequence(1, multiple=True) is None
    )  # an old connection's tag settles nothing
    # Published again on the new connection as broker tags 1 and 2, then a new publish.
    assert [m.NAME for m in recover(core)] == ['Basic.Publish', 'Basic.Publish']
    assert [(p.sequence, p.broker_tag) for p in unconfirmed] == [(3, 1), (5, 2)]
    assert channel.unconfirmed() == []
    assert publisher.publish('ex', 'k', b'm6') == 6  # sequence numbers go on (broker tag 3)
    assert channel.app_sequence(1) == 3 and channel.app_sequence(2) == 5
    assert channel.confirmed_sequence(2, multiple=True) == 5  # settles 3 and 5
    assert channel.confirmed_sequence(3, multiple=False) == 6


def test_loss_during_republishing_keeps_what_was_not_sent_yet() -> None:
    core, publisher, channel = recovering_channel()
    assert [publisher.publish('ex', 'k', b'') for _ in range(3)] == [1, 2, 3]
    lose(core)
    reconnect(core)
    assert core.receive_data(sf.open_ok(), 1.0) == []  # the replay starts
    lose(core)  # lost again before anything was published again
    assert [p.sequence for p in channel.unconfirmed()] == [1, 2, 3]
    # Lost with one copy out (as the recoverer reports it) and two not sent yet.
    reconnect(core)
    assert core.receive_data(sf.open_ok(), 1.0) == []
    first, _second, _third = channel.unconfirmed()
    channel.republished(first, channel.next_broker_tag)
    lose(core)
    assert [p.sequence for p in channel.unconfirmed()] == [1, 2, 3]
    assert len(recover(core)) == 3
    assert publisher.publish('ex', 'k', b'') == 4
    assert [channel.app_sequence(tag) for tag in (1, 2, 3, 4)] == [1, 2, 3, 4]


def test_abandon_stops_tracking_a_publish() -> None:
    core, publisher, channel = recovering_channel()
    for _ in range(3):
        publisher.publish('ex', 'k', b'')
    abandoned = channel.abandon(2)
    assert abandoned is not None
    assert (abandoned.sequence, abandoned.broker_tag, abandoned.exchange) == (2, 2, 'ex')
    lose(core)
    abandoned = channel.abandon(3)
    assert abandoned is not None and abandoned.sequence == 3
    assert channel.abandon(42) is None
    assert [p.sequence for p in channel.unconfirmed()] == [1]
    assert len(recover(core)) == 1  # only 1 is published again


@pytest.mark.parametrize('lost_again', [False, True])
def test_channel_closed_returns_the_publishes_it_drops(lost_again: bool) -> None:
    """Copies published again and a new publish, on the connection or lost with it."""
    core, publisher, channel = recovering_channel()
    publisher.publish('ex', 'k', b'')
    publisher.publish('ex', 'k', b'')
    lose(core)
    assert len(recover(core)) == 2
    assert publisher.publish('ex', 'k', b'') == 3
    if lost_again:
        lose(core)
    assert repr(channel).endswith('pending=0 unsent=3>' if lost_again else 'pending=3 unsent=0>')
    assert core.recoverer is not None
    record = core.recoverer.record
    assert [p.sequence for p in record.channel_closed(1)] == [1, 2, 3]
    assert record.channel_closed(1) == []  # already gone


def test_pending_publish_repr_hides_the_message() -> None:
    _core, publisher, channel = recovering_channel()
    secret = spec.BasicProperties(headers={'token': 'secret-props'})
    publisher.publish('ex', 'k', b'secret-body', secret)
    (entry,) = channel.drop_publishes()
    assert repr(entry) == '<PendingPublish sequence=1 broker_tag=1>'
    assert (entry.body, entry.properties) == (b'secret-body', secret)


# -- transactions ------------------------------------------------------------------------


def test_transaction_with_work_lost_with_the_connection_is_reported() -> None:
    core, publisher, channel = recovering_channel(TX)
    assert publisher.publish('ex', 'k', b'') is None
    lose(core)
    assert channel.take_transaction_lost() is True
    assert channel.take_transaction_lost() is False


def test_committed_transaction_is_not_reported_lost() -> None:
    core, publisher, channel = recovering_channel(TX)
    publisher.ack(1)  # an ack inside the transaction
    assert channel.tx_dirty
    publisher.rpc(spec.Tx.Commit())
    core.receive_data(sf.method(1, spec.Tx.CommitOk()), 0.0)
    lose(core)
    assert channel.take_transaction_lost() is False
    recover(core, TX)
    publisher.publish('ex', 'k', b'')
    assert channel.tx_dirty
    publisher.rpc(spec.Tx.Rollback())
    core.receive_data(sf.method(1, spec.Tx.RollbackOk()), 2.0)
    lose(core)
    assert channel.take_transaction_lost() is False


def test_channel_record_repr() -> None:
    core, publisher, channel = recovering_channel()
    publisher.publish('ex', 'k', b'')
    assert repr(channel) == '<ChannelRecord 1 confirm tag_offset=0 pending=1 unsent=0>'
    lose(core)
    assert core.recoverer is not None and core.recoverer.record.losses == 1
    assert repr(channel) == '<ChannelRecord 1 confirm tag_offset=0 pending=0 unsent=1>'


def test_entity_reprs_name_them() -> None:
    record = full_record()
    declare_queue(record, '', reply_name='amq.gen-1')
    assert [repr(e) for e in record.exchanges.values()] == [
        "<RecordedExchange 'ex' type=topic>",
        "<RecordedExchange 'ex2' type=fanout>",
    ]
    assert repr(record.queues['amq.gen-1']) == "<RecordedQueue 'amq.gen-1' server-named>"
    assert [repr(b) for b in record.bindings.values()] == [
        "<RecordedBinding queue 'q' <- 'ex' key='a.*'>",
        "<RecordedBinding exchange 'ex2' <- 'ex' key='b'>",
    ]
    assert repr(record.consumers[(1, 'ctag1')]) == "<RecordedConsumer 'ctag1' channel=1 queue='q'>"


# -- properties ---------------------------------------------------------------------------


def test_every_replay_step_encodes() -> None:
    record = full_record()
    declare_queue(record, '', reply_name='amq.gen-1', arguments={'x-b': bytearray(b'ab')})
    bind_queue(record, 'amq.gen-1', 'ex', arguments={'x-list': [1, {'k': 'v'}]})
    for step in run(record.replay()):
        assert isinstance(b''.join(step.method.encode()), bytes)


def test_bytes_like_binding_arguments_compare_by_value() -> None:
    record = RecoveryRecord()
    bind_queue(record, 'q', 'ex', arguments={'x': bytearray(b'a')})
    record.method_completed(
        1, Queue.Unbind(queue='q', exchange='ex', arguments={'x': b'a'}), Queue.UnbindOk()
    )
    assert record.bindings == {}


def test_excluded_consumer_is_skipped_but_its_qos_still_follows() -> None:
    record = RecoveryRecord()
    record.method_completed(1, Basic.Qos(prefetch_count=4), Basic.QosOk())
    consume(record, 1, 'q', 'skip-me')
    record.exclude = lambda entity: isinstance(entity, RecordedConsumer)
    replay = record.replay()
    assert described(run(replay)) == [(1, 'Channel.Open'), (1, 'Basic.Qos', 0, 4, False)]
    assert [e.kind for e in replay.skipped] == ['consumer']


@given(st.lists(st.one_of(st.just('lost'), st.integers(min_value=1, max_value=5)), max_size=60))
def test_app_tags_strictly_increase_and_map_back_only_within_a_connection(
    events: list[Any],
) -> None:
    record = RecoveryRecord()
    channel = record.channel_opened(1)
    broker = 0
    seen: list[tuple[int, int, int]] = []  # (app tag, broker tag, connection number)
    connection = 0
    for event in events:
        if event == 'lost':
            record.connection_lost()
            broker = 0
            connection += 1
            continue
        for _ in range(event):
            broker += 1
            seen.append((channel.deliver(broker), broker, connection))
    app_tags = [tag for tag, _, _ in seen]
    assert app_tags == sorted(set(app_tags))
    for app_tag, broker_tag, conn in seen:
        expected = broker_tag if conn == connection else None
        assert channel.broker_tag_for(app_tag) == expected


def test_a_failing_exclude_filter_is_logged_and_the_entity_recovered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def exclude(entity: RecordedEntity) -> bool:
        if isinstance(entity, RecordedQueue):
            raise KeyError('bug in the filter')
        return False

    record = full_record()
    record.exclude = exclude
    with caplog.at_level('ERROR', logger='pika._core.recovery'):
        steps = described(run(record.replay()))
    assert (TOPOLOGY_CHANNEL, 'Queue.Declare', 'q') in steps
    assert steps[-1] == (1, 'Basic.Consume', 'q', 'ctag1')  # the replay went on to the end
    assert "exclude filter failed on <RecordedQueue 'q'>" in caplog.text
