"""The recovery record driven beside real ConnectionCores, as an adapter will drive it (no socket).

A first core declares topology, consumes and publishes in confirm mode while the record observes
(its channel holds the record, as with recovery on, and keeps its publishes there); the stream is
lost; a second core gets the replay, the republished messages and new deliveries.
What goes on the wire is decoded and checked, so the replay steps are methods the core accepts
and the broker would understand.
"""

from __future__ import annotations

from typing import Any, Optional

from pika import exceptions, spec
from pika._core import ConnectionCore, events
from pika._core.recovery import ChannelRecord, RecoveryRecord
from pika.recovery import Recovery
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import names, open_channel, open_core, sent

Queue, Basic = spec.Queue, spec.Basic


def reply_to(method: Any, new_queue_name: str) -> Any:
    """What a broker answers to ``method`` (a server-named queue is called ``new_queue_name``)."""
    replies = {
        'Exchange.Declare': spec.Exchange.DeclareOk,
        'Queue.Declare': lambda: Queue.DeclareOk(
            queue=method.queue or new_queue_name, message_count=0, consumer_count=0
        ),
        'Queue.Bind': Queue.BindOk,
        'Basic.Qos': Basic.QosOk,
        'Basic.Consume': lambda: Basic.ConsumeOk(consumer_tag=method.consumer_tag),
        'Confirm.Select': spec.Confirm.SelectOk,
    }
    return replies[method.NAME]()


def rpc(core: ConnectionCore, number: int, method: Any, reply: Any) -> Any:
    """Send ``method`` on channel ``number``, check the wire, answer it; returns the reply seen."""
    core.channels[number].rpc(method)
    (on_wire,) = sent(core)  # the same bytes as the method (arguments None decode as {})
    assert (on_wire.NAME, b''.join(on_wire.encode())) == (method.NAME, b''.join(method.encode()))
    replies = core.receive_data(sf.method(number, reply), 0.0)
    assert names(replies) == ['RpcReply']
    return replies[0].method


def app_call(record: RecoveryRecord, core: ConnectionCore, number: int, method: Any) -> None:
    """An application's channel call: sent, answered, then reported to the record."""
    reply = rpc(core, number, method, reply_to(method, 'amq.gen-first'))
    record.method_completed(number, method, reply)


def deliver(core: ConnectionCore, channel: ChannelRecord, broker_tag: int) -> int:
    """A delivery arrives; returns the tag the application sees."""
    delivered = core.receive_data(sf.deliver(1, b'm', delivery_tag=broker_tag), 0.0)
    assert names(delivered) == ['MessageDelivered']
    return channel.deliver(delivered[0].method.delivery_tag)


def confirm(core: ConnectionCore, channel: ChannelRecord, tag: int) -> list[int]:
    """The broker confirms up to ``tag``; returns the application's sequence numbers settled."""
    confirmed = core.receive_data(sf.method(1, Basic.Ack(delivery_tag=tag, multiple=True)), 0.0)
    assert isinstance(confirmed[0], events.DeliveryConfirmed)
    settled = channel.confirmed(confirmed[0].method.delivery_tag, confirmed[0].method.multiple)
    return [entry.sequence for entry in settled]


def replay_on(core: ConnectionCore, record: RecoveryRecord) -> list[tuple[str, str]]:
    """Replay ``record`` on ``core`` as an adapter does; returns the renames."""
    replay = record.replay()
    topology: Optional[int] = None
    while (step := replay.next_step()) is not None:
        if isinstance(step.method, spec.Channel.Open):
            assert step.channel_number is not None
            open_channel(core, step.channel_number)
            replay.completed()
            continue
        number = step.channel_number
        if number is None:  # exchanges, queues, bindings: on a channel of our own
            if topology is None:
                topology = open_channel(core).channel_number
            number = topology
        replay.completed(rpc(core, number, step.method, reply_to(step.method, 'amq.gen-second')))
    if topology is not None:
        core.channels[topology].close()
        assert [m.NAME for m in sent(core)] == ['Channel.Close']
        assert names(core.receive_data(sf.channel_close_ok(topology), 0.0)) == ['ChannelClosed']
    return replay.renamed


def test_replay_on_a_new_core_restores_everything_and_carries_the_numbers() -> None:
    record = Recovery().new_record()
    first = open_core()
    open_channel(first, 1)
    channel = record.channel_opened(1)
    app_call(record, first, 1, spec.Exchange.Declare(exchange='ex', type='topic'))
    app_call(record, first, 1, Queue.Declare(queue='', exclusive=True))
    app_call(record, first, 1, Queue.Bind(queue='amq.gen-first', exchange='ex', routing_key='#'))
    app_call(record, first, 1, Basic.Qos(prefetch_count=5))
    app_call(record, first, 1, Basic.Consume(queue='amq.gen-first', consumer_tag='ctag1'))
    app_call(record, first, 1, spec.Confirm.Select())
    assert [deliver(first, channel, tag) for tag in (1, 2, 3)] == [1, 2, 3]
    # Given the record, as the recoverer does with recovery on, the core's channel keeps its
    # confirm-mode publishes there and settles them at each confirm.
    first.channels[1].record = channel
    sequences = [first.channels[1].publish('ex', 'k', b'%d' % n) for n in range(1, 5)]
    assert sequences == [1, 2, 3, 4]
    first.data_to_send()
    (acked,) = first.receive_data(sf.method(1, Basic.Ack(delivery_tag=2, multiple=True)), 0.0)
    assert isinstance(acked, events.DeliveryConfirmed)
    assert (acked.method.delivery_tag, acked.method.multiple) == (2, True)
    assert [channel.app_sequence(tag) for tag in (1, 2, 3, 4)] == [None, None, 3, 4]

    lost = first.connection_lost(exceptions.StreamLostError('reset by peer'))
    assert names(lost)[-1] == 'ConnectionClosed'
    record.connection_lost()

    second = open_core()
    assert replay_on(second, record) == [('amq.gen-first', 'amq.gen-second')]
    assert second.channels[1].confirm_mode
    assert second.channels[1].consumer_tags == {'ctag1'}

    # The unconfirmed messages go out again, then the broker confirms them under new tags.
    unconfirmed = channel.unconfirmed()
    assert [(entry.sequence, entry.body) for entry in unconfirmed] == [(3, b'3'), (4, b'4')]
    for entry in unconfirmed:
        tag = second.channels[1].publish(entry.exchange, entry.routing_key, entry.body)
        assert tag is not None
        channel.republished(entry, tag)
    assert [m.NAME for m in sent(second)] == ['Basic.Publish', 'Basic.Publish']
    assert confirm(second, channel, 2) == [3, 4]

    # Deliveries on the new connection continue the tag sequence; an old tag's ack is dropped.
    assert deliver(second, channel, 1) == 4
    assert channel.broker_tag_for(4) == 1
    assert channel.broker_tag_for(3) is None


def test_replay_of_an_empty_record_touches_nothing() -> None:
    record = RecoveryRecord()
    record.connection_lost()
    core = open_core()
    assert replay_on(core, record) == []
    assert core.channels == {} and sent(core) == []
