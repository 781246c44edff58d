"""Recovery wired into ConnectionCore/ChannelCore, driven with scripted broker bytes (no socket).

A core with ``recovery=`` set is opened, declares topology, consumes and publishes in confirm
mode; the stream is lost (or the broker closes the connection); the same core object is given
a "new socket" (``begin_reconnect``) and scripted replies; it replays by itself, republishes
what was unconfirmed and reports ``ConnectionRecovered``. The same channel objects are used
throughout.
"""

from __future__ import annotations

from typing import Any

import pytest

from pika import exceptions, spec
from pika._core import ConnectionCore, events
from pika._core.recoverer import NACK_REOPEN_DELAYS, NACK_REOPEN_LIMIT
from pika._core.states import ChannelState, ConnectionState
from pika.recovery import Recovery
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import names, open_channel, open_core, reconnect, sent

Queue, Basic = spec.Queue, spec.Basic


def recovering_core() -> ConnectionCore:
    return open_core(recovery=Recovery())


def call(core: ConnectionCore, number: int, method: Any, reply: Any) -> list[events.Event]:
    """An application RPC, answered by the scripted broker."""
    core.channels[number].rpc(method)
    assert [m.NAME for m in sent(core)] == [method.NAME]
    return core.receive_data(sf.method(number, reply), 0.0)


def answer(core: ConnectionCore, data: bytes) -> tuple[list[str], list[events.Event]]:
    """Feed ``data``; returns the methods the core sent in reply and its events."""
    found = core.receive_data(data, 2.0)
    return [m.NAME for m in sent(core)], found


def test_recovery_off_changes_nothing() -> None:
    core = open_core()
    assert core.recovery is None and core.recoverer is None
    channel = open_channel(core, 1)
    assert channel.record is None and channel.topology is None
    lost = core.connection_lost(exceptions.StreamLostError('reset'))
    assert names(lost) == ['ChannelClosed', 'ConnectionClosed']
    assert core.is_closed


def test_loss_keeps_channels_and_replays_everything_on_the_same_objects() -> None:
    core = recovering_core()
    channel = open_channel(core, 1)
    call(core, 1, spec.Exchange.Declare(exchange='ex', type='topic'), spec.Exchange.DeclareOk())
    call(core, 1, Queue.Declare(queue='', exclusive=True), Queue.DeclareOk('amq.gen-A', 0, 0))
    call(core, 1, Queue.Bind(queue='amq.gen-A', exchange='ex', routing_key='#'), Queue.BindOk())
    call(core, 1, Basic.Qos(prefetch_count=5), Basic.QosOk())
    call(core, 1, Basic.Consume(queue='amq.gen-A', consumer_tag='ct'), Basic.ConsumeOk('ct'))
    call(core, 1, spec.Confirm.Select(), spec.Confirm.SelectOk())
    delivered = core.receive_data(sf.deliver(1, b'a', delivery_tag=1), 0.0)
    assert delivered[0].method.delivery_tag == 1
    assert [channel.publish('ex', 'k', b'%d' % n) for n in (1, 2, 3)] == [1, 2, 3]
    core.data_to_send()
    acked = core.receive_data(sf.method(1, Basic.Ack(delivery_tag=1, multiple=False)), 0.0)
    assert names(acked) == ['DeliveryConfirmed'] and acked[0].method.delivery_tag == 1

    lost = core.connection_lost(exceptions.StreamLostError('reset by peer'))
    assert names(lost) == ['ConnectionInterrupted']
    assert core.state is ConnectionState.RECOVERING and core.is_recovering
    assert core.channels[1] is channel and channel.state is ChannelState.RECOVERING
    with pytest.raises(exceptions.ConnectionRecovering):
        channel.publish('ex', 'k', b'x')
    with pytest.raises(exceptions.ConnectionRecovering):
        channel.rpc(Queue.Declare(queue='q'))
    with pytest.raises(exceptions.ConnectionRecovering):
        core.open_channel()
    channel.ack(1)  # a tag from before the loss: dropped, never sent
    assert sent(core) == []

    reconnect(core)
    assert answer(core, sf.open_ok()) == (['Channel.Open'], [])
    # The consumer's qos comes with the consumer, at the end.
    assert answer(core, sf.channel_open_ok(1)) == (['Confirm.Select'], [])
    replies = [
        (1, spec.Confirm.SelectOk(), 'Channel.Open'),  # the replay's own channel, number 2
        (2, spec.Channel.OpenOk(), 'Exchange.Declare'),
        (2, spec.Exchange.DeclareOk(), 'Queue.Declare'),
        (2, Queue.DeclareOk('amq.gen-B', 0, 0), 'Queue.Bind'),
        (2, Queue.BindOk(), 'Basic.Qos'),
    ]
    for number, reply, expected in replies:
        out, found = answer(core, sf.method(number, reply))
        assert (out, found) == ([expected], []), reply
    out, found = answer(core, sf.method(1, Basic.QosOk()))
    assert out == ['Basic.Consume'] and found == []
    out, found = answer(core, sf.method(1, Basic.ConsumeOk('ct')))
    # Done: the replay channel closes, the unconfirmed publishes 2 and 3 go out again.
    assert out == ['Channel.Close', 'Basic.Publish', 'Basic.Publish']
    assert names(found) == ['ConnectionRecovered']
    assert found[0].renamed == [('amq.gen-A', 'amq.gen-B')]
    assert not core.is_recovering and core.is_open
    assert channel.state is ChannelState.OPEN and channel.consumer_tags == {'ct'}
    assert answer(core, sf.channel_close_ok(2)) == ([], [])  # the replay channel: not reported

    # Confirms of the copies (broker tags 1, 2) settle the sequences 2 and 3.
    acked = core.receive_data(sf.method(1, Basic.Ack(delivery_tag=2, multiple=True)), 3.0)
    # Reported as one multiple confirm up to the sequence number 3.
    assert [(e.method.NAME, e.method.delivery_tag, e.method.multiple) for e in acked] == [
        ('Basic.Ack', 3, True)
    ]
    assert channel.publish('ex', 'k', b'4') == 4  # sequence numbers go on
    core.data_to_send()
    # Tags continue after the last one handed out (1): the broker's 1 is the application's 2.
    delivered = core.receive_data(sf.deliver(1, b'b', delivery_tag=1, consumer_tag='ct'), 3.0)
    assert delivered[0].method.delivery_tag == 2
    channel.ack(2)
    (ack,) = sent(core)
    assert (ack.NAME, ack.delivery_tag) == ('Basic.Ack', 1)
    channel.send(Basic.Reject(delivery_tag=1))  # from before the loss: dropped
    assert sent(core) == []
    core.receive_data(sf.deliver(1, b'c', delivery_tag=2, consumer_tag='ct'), 3.0)
    channel.ack_each([1, 3])  # a batch: the stale 1 is dropped, the application's 3 is the 2
    assert [(m.NAME, m.delivery_tag) for m in sent(core)] == [('Basic.Ack', 2)]
    channel.ack_each([1])
    assert sent(core) == []


def test_broker_close_is_recovered_and_a_refused_step_is_skipped() -> None:
    core = recovering_core()
    channel = open_channel(core, 1)
    call(core, 1, Queue.Declare(queue='gone'), Queue.DeclareOk('gone', 0, 0))
    call(core, 1, Basic.Consume(queue='gone', consumer_tag='c1'), Basic.ConsumeOk('c1'))
    found = core.receive_data(sf.connection_close(320, 'CONNECTION_FORCED - closed via CLI'), 0.0)
    assert names(found) == ['ConnectionInterrupted']
    assert [m.NAME for m in sent(core)] == ['Connection.CloseOk']
    reconnect(core)
    assert answer(core, sf.open_ok())[0] == ['Channel.Open']
    assert answer(core, sf.channel_open_ok(1))[0] == ['Channel.Open']  # replay channel 2
    assert answer(core, sf.channel_open_ok(2))[0] == ['Queue.Declare']
    # The broker refuses the redeclare: its channel is reopened and the replay goes on.
    out, found = answer(core, sf.channel_close(2, 406, 'PRECONDITION_FAILED - args'))
    assert out == ['Channel.CloseOk', 'Channel.Open'] and found == []
    assert answer(core, sf.channel_open_ok(2))[0] == ['Basic.Consume']
    out, found = answer(core, sf.channel_close(1, 404, 'NOT_FOUND - no queue'))
    assert out == ['Channel.CloseOk', 'Channel.Open'] and found == []
    out, found = answer(core, sf.channel_open_ok(1))
    assert out == ['Channel.Close'] and names(found) == ['ConnectionRecovered']
    assert channel.is_open and channel.consumer_tags == set()


def test_a_failed_reconnect_is_interrupted_again_then_give_up_closes() -> None:
    core = recovering_core()
    open_channel(core, 1)
    assert names(core.connection_lost(None)) == ['ConnectionInterrupted']
    core.begin_reconnect(core.params)
    core.data_to_send()
    again = core.connection_lost(exceptions.StreamLostError('refused'))
    assert names(again) == ['ConnectionInterrupted']
    assert core.connection_lost(None) == []  # no socket: nothing to lose
    final = core.give_up(exceptions.AMQPConnectionError('gave up'))
    assert names(final) == ['ChannelClosed', 'ConnectionClosed']
    assert core.is_closed and not core.is_recovering


def test_application_close_and_protocol_errors_are_not_recovered() -> None:
    core = recovering_core()
    open_channel(core, 1)
    core.close()
    assert names(core.connection_lost(None)) == ['ChannelClosed', 'ConnectionClosed']
    first = ConnectionCore(recovering_core().params)
    first.start()
    assert names(first.connection_lost(None)) == ['ConnectionOpenFailed']  # never opened


def test_close_during_recovery_gives_up() -> None:
    core = recovering_core()
    open_channel(core, 1)
    core.connection_lost(None)
    closed = core.close()
    assert names(closed) == ['ChannelClosed', 'ConnectionClosed']
    assert isinstance(closed[-1].error, exceptions.ConnectionClosedByClient)


def test_basic_get_tags_and_stale_nack_are_mapped() -> None:
    core = recovering_core()
    channel = open_channel(core, 1)
    channel.rpc(Basic.Get(queue='q'))
    core.data_to_send()
    got = core.receive_data(sf.get_ok(1, b'x', delivery_tag=7), 0.0)
    assert got[0].method.delivery_tag == 7
    core.connection_lost(None)
    reconnect(core)
    answer(core, sf.open_ok())
    assert names(answer(core, sf.channel_open_ok(1))[1]) == ['ConnectionRecovered']
    channel.send(Basic.Nack(delivery_tag=7))
    assert sent(core) == []
    channel.rpc(Basic.Get(queue='q'))
    core.data_to_send()
    got = core.receive_data(sf.get_ok(1, b'y', delivery_tag=1), 0.0)
    assert got[0].method.delivery_tag == 8  # the broker's 1, after the 7 handed out before


def test_deliveries_read_with_the_broker_close_keep_the_lost_connections_tags() -> None:
    """One read holds deliveries and then Connection.Close: those deliveries belong to the lost
    connection (offset 0 here), and the new connection's tags continue above them."""
    core = recovering_core()
    open_channel(core, 1)
    call(core, 1, Basic.Consume(queue='q', consumer_tag='ct'), Basic.ConsumeOk('ct'))
    first = core.receive_data(sf.deliver(1, b'a', delivery_tag=1, consumer_tag='ct'), 0.0)
    assert [e.method.delivery_tag for e in first] == [1]
    data = b''.join(sf.deliver(1, b'x', delivery_tag=n, consumer_tag='ct') for n in (2, 3))
    found = core.receive_data(data + sf.connection_close(320, 'CONNECTION_FORCED'), 0.0)
    assert names(found) == ['MessageDelivered', 'MessageDelivered', 'ConnectionInterrupted']
    assert [e.method.delivery_tag for e in found[:2]] == [2, 3]
    core.data_to_send()
    reconnect(core)
    answer(core, sf.open_ok())
    answer(core, sf.channel_open_ok(1))
    _, found = answer(core, sf.method(1, Basic.ConsumeOk('ct')))
    assert names(found) == ['ConnectionRecovered']
    again = core.receive_data(sf.deliver(1, b'b', delivery_tag=1, consumer_tag='ct'), 3.0)
    assert [e.method.delivery_tag for e in again] == [4]  # above every tag handed out


def test_rpcs_in_flight_are_sent_again_after_the_replay_when_the_front_end_asks() -> None:
    """A Basic.Consume and a Queue.Declare whose replies never came (one outstanding, one
    queued behind it) go out again once the replay is over; their replies are the
    application's (``RpcReply``) and the consumer is then in the record."""
    core = recovering_core()
    channel = open_channel(core, 1)
    channel.resend_on_recovery = True
    channel.rpc(Basic.Consume(queue='q', consumer_tag='ct'))
    channel.rpc(Queue.Declare(queue='later'))
    assert [m.NAME for m in sent(core)] == ['Basic.Consume']  # the declare waits its turn
    assert core.connection_lost(exceptions.StreamLostError('reset'))[-1].error is not None
    assert channel.interrupted == [Basic.Consume(queue='q', consumer_tag='ct'),
                                   Queue.Declare(queue='later')]  # fmt: skip
    reconnect(core)
    assert answer(core, sf.open_ok()) == (['Channel.Open'], [])
    out, found = answer(core, sf.channel_open_ok(1))
    assert out == ['Basic.Consume'] and names(found) == ['ConnectionRecovered']
    assert channel.interrupted == [] and channel.consumer_tags == set()
    out, found = answer(core, sf.method(1, Basic.ConsumeOk('ct')))
    assert out == ['Queue.Declare'] and names(found) == ['RpcReply']
    assert channel.consumer_tags == {'ct'}
    out, found = answer(core, sf.method(1, Queue.DeclareOk('later', 0, 0)))
    assert out == [] and names(found) == ['RpcReply']
    record = core.recoverer.record  # type: ignore[union-attr]
    assert (1, 'ct') in record.consumers and 'later' in record.queues


def test_rpcs_in_flight_are_dropped_unless_the_front_end_asks() -> None:
    """BlockingConnection fails its waiting calls itself: nothing is sent again."""
    core = recovering_core()
    channel = open_channel(core, 1)
    channel.rpc(Basic.Consume(queue='q', consumer_tag='ct'))
    sent(core)
    core.connection_lost(exceptions.StreamLostError('reset'))
    assert channel.interrupted == []
    reconnect(core)
    answer(core, sf.open_ok())
    out, found = answer(core, sf.channel_open_ok(1))
    assert out == [] and names(found) == ['ConnectionRecovered']
    assert core.recoverer.record.consumers == {}  # type: ignore[union-attr]


@pytest.mark.parametrize('resend', [True, False])  # callback adapters, BlockingConnection
def test_a_commit_in_flight_closes_its_channel_instead_of_recovering_it(resend: bool) -> None:
    core = recovering_core()
    channel = open_channel(core, 1)
    other = open_channel(core, 2)
    channel.resend_on_recovery = resend
    call(core, 1, spec.Tx.Select(), spec.Tx.SelectOk())
    channel.publish('', 'q', b'x')
    channel.rpc(spec.Tx.Commit())
    sent(core)
    lost = core.connection_lost(exceptions.StreamLostError('reset'))
    assert names(lost) == ['ChannelClosed', 'ConnectionInterrupted']
    assert lost[0].channel_number == 1 and 'outcome is unknown' in str(lost[0].error)
    assert 1 not in core.channels and channel.is_closed
    assert other.state is ChannelState.RECOVERING
    reconnect(core)
    assert answer(core, sf.open_ok()) == (['Channel.Open'], [])
    _out, found = answer(core, sf.channel_open_ok(2))
    assert names(found) == ['ConnectionRecovered']


def _recover_tx_channel(work: bool) -> tuple[ConnectionCore, Any]:
    core = recovering_core()
    channel = open_channel(core, 1)
    call(core, 1, spec.Tx.Select(), spec.Tx.SelectOk())
    call(core, 1, spec.Tx.Commit(), spec.Tx.CommitOk())
    if work:
        channel.publish('', 'q', b'in the transaction')
    sent(core)
    core.connection_lost(exceptions.StreamLostError('reset'))
    reconnect(core)
    assert answer(core, sf.open_ok()) == (['Channel.Open'], [])
    assert answer(core, sf.channel_open_ok(1)) == (['Tx.Select'], [])
    _out, found = answer(core, sf.method(1, spec.Tx.SelectOk()))
    assert names(found) == ['ConnectionRecovered']
    return core, channel


def test_a_commit_after_a_loss_that_rolled_back_the_transaction_raises_once() -> None:
    """The broker rolled the publish back with the lost connection: a Tx.Commit now would
    report success for an empty transaction. It raises, once; the next one goes out."""
    core, channel = _recover_tx_channel(work=True)
    with pytest.raises(exceptions.TransactionInterrupted):
        channel.rpc(spec.Tx.Commit())
    assert sent(core) == []  # nothing went out
    channel.rpc(spec.Tx.Rollback())
    core.receive_data(sf.method(1, spec.Tx.RollbackOk()), 3.0)
    channel.rpc(spec.Tx.Commit())
    assert [m.NAME for m in sent(core)] == ['Tx.Rollback', 'Tx.Commit']


def test_a_commit_after_a_loss_without_work_in_the_transaction_goes_out() -> None:
    core, channel = _recover_tx_channel(work=False)
    channel.rpc(spec.Tx.Commit())
    assert [m.NAME for m in sent(core)] == ['Tx.Commit']


def _recovered_confirm_channel() -> tuple[ConnectionCore, Any]:
    """A confirm-mode channel with a consumer, two publishes unconfirmed at a loss, recovered:
    the copies are out again under broker tags 1 and 2."""
    core = recovering_core()
    channel = open_channel(core, 1)
    call(core, 1, Basic.Consume(queue='q', consumer_tag='ct'), Basic.ConsumeOk('ct'))
    call(core, 1, spec.Confirm.Select(), spec.Confirm.SelectOk())
    assert [channel.publish('', 'qq', b'%d' % n) for n in (1, 2)] == [1, 2]
    sent(core)
    core.connection_lost(exceptions.StreamLostError('reset'))
    reconnect(core)
    assert answer(core, sf.open_ok()) == (['Channel.Open'], [])
    assert answer(core, sf.channel_open_ok(1)) == (['Confirm.Select'], [])
    assert answer(core, sf.method(1, spec.Confirm.SelectOk())) == (['Basic.Consume'], [])
    out, found = answer(core, sf.method(1, Basic.ConsumeOk('ct')))
    assert out == ['Basic.Publish', 'Basic.Publish'] and names(found) == ['ConnectionRecovered']
    assert channel.on_probation
    return core, channel


def _confirms(found: list[events.Event]) -> list[tuple[str, int, bool]]:
    return [(e.method.NAME, e.method.delivery_tag, e.method.multiple) for e in found]


def test_publish_numbers_go_on_across_two_losses_with_copies_unconfirmed() -> None:
    """ChannelCore numbers confirm-mode publishes itself with recovery on: a copy published
    again takes no number, a new publish takes the next one, whatever the broker's tags."""
    core, channel = _recovered_confirm_channel()  # 1 and 2 out again as broker tags 1, 2
    assert channel.publish('', 'qq', b'3') == 3  # broker tag 3
    sent(core)
    found = core.receive_data(sf.method(1, Basic.Ack(delivery_tag=1, multiple=False)), 3.0)
    assert _confirms(found) == [('Basic.Ack', 1, False)]
    core.connection_lost(exceptions.StreamLostError('reset'))  # lost again: 2 and 3 open
    reconnect(core)
    assert answer(core, sf.open_ok()) == (['Channel.Open'], [])
    assert answer(core, sf.channel_open_ok(1)) == (['Confirm.Select'], [])
    assert answer(core, sf.method(1, spec.Confirm.SelectOk())) == (['Basic.Consume'], [])
    out, found = answer(core, sf.method(1, Basic.ConsumeOk('ct')))
    assert out == ['Basic.Publish'] * 2 and names(found) == ['ConnectionRecovered']
    assert channel.publish('', 'qq', b'4') == 4  # broker tag 3
    sent(core)
    found = core.receive_data(sf.method(1, Basic.Ack(delivery_tag=2, multiple=True)), 3.0)
    assert _confirms(found) == [('Basic.Ack', 3, True)]  # the copies of 2 and 3
    found = core.receive_data(sf.method(1, Basic.Ack(delivery_tag=3, multiple=False)), 3.0)
    assert _confirms(found) == [('Basic.Ack', 4, False)]
    assert channel.publish('', 'qq', b'5') == 5  # broker tag 4
    sent(core)
    # A confirm of a broker tag not used yet on this connection is a protocol error, even
    # one at or below the application's last number.
    found = core.receive_data(sf.method(1, Basic.Ack(delivery_tag=5, multiple=False)), 3.0)
    assert names(found) == ['ChannelClosed', 'ConnectionClosed']
    assert 'never published (last: 4)' in str(found[-1].error)


def test_a_recovered_channel_that_nacks_first_is_opened_afresh_and_republishes() -> None:
    """RabbitMQ 3.10.8 (issue 15): a recovered channel can nack every publish to a quorum
    queue. Its first confirm being a Nack, the channel is closed and opened again under the
    same number and object, restored (confirm, consumer) and the messages go out again; the
    application sees only the final Ack, under its own sequence numbers."""
    core, channel = _recovered_confirm_channel()
    out, found = answer(core, sf.method(1, Basic.Nack(delivery_tag=1)))
    assert out == ['Channel.Close'] and found == []
    with pytest.raises(exceptions.ConnectionRecovering):
        channel.publish('', 'qq', b'meanwhile')
    # Until the CloseOk, what the old channel sends is dropped: a Nack, a delivery.
    late = sf.method(1, Basic.Nack(delivery_tag=2)) + sf.deliver(1, b'x', consumer_tag='ct')
    assert answer(core, late) == ([], [])
    # Closed; opened again only after the first pause (a quorum queue may still be
    # electing its leader), through the core's timer.
    assert answer(core, sf.channel_close_ok(1)) == ([], [])
    assert core.next_deadline() == 2.0 + NACK_REOPEN_DELAYS[0]
    assert core.tick(2.0 + NACK_REOPEN_DELAYS[0] / 2) == [] and sent(core) == []
    assert core.tick(2.0 + NACK_REOPEN_DELAYS[0]) == []
    assert [m.NAME for m in sent(core)] == ['Channel.Open']
    assert core.next_deadline() is None
    assert answer(core, sf.channel_open_ok(1)) == (['Confirm.Select'], [])
    assert answer(core, sf.method(1, spec.Confirm.SelectOk())) == (['Basic.Consume'], [])
    out, found = answer(core, sf.method(1, Basic.ConsumeOk('ct')))
    assert out == ['Basic.Publish', 'Basic.Publish'] and found == []
    assert channel.state is ChannelState.OPEN and channel.nack_reopens == 1
    acked = core.receive_data(sf.method(1, Basic.Ack(delivery_tag=2, multiple=True)), 3.0)
    assert [(e.method.NAME, e.method.delivery_tag, e.method.multiple) for e in acked] == [
        ('Basic.Ack', 2, True)
    ]
    assert not channel.on_probation and channel.nack_reopens == 0
    assert channel.publish('', 'qq', b'3') == 3


def test_nacks_are_believed_after_the_reopen_limit() -> None:
    core, channel = _recovered_confirm_channel()
    for number in range(NACK_REOPEN_LIMIT):
        out, _found = answer(core, sf.method(1, Basic.Nack(delivery_tag=1, multiple=True)))
        assert out == ['Channel.Close']
        answer(core, sf.channel_close_ok(1))
        assert core.next_deadline() == 2.0 + NACK_REOPEN_DELAYS[number]  # longer each time
        core.tick(2.0 + NACK_REOPEN_DELAYS[number])
        assert [m.NAME for m in sent(core)] == ['Channel.Open']
        answer(core, sf.channel_open_ok(1))
        answer(core, sf.method(1, spec.Confirm.SelectOk()))
        out, _found = answer(core, sf.method(1, Basic.ConsumeOk('ct')))
        assert out == ['Basic.Publish', 'Basic.Publish']
    out, found = answer(core, sf.method(1, Basic.Nack(delivery_tag=2, multiple=True)))
    assert out == [] and [(e.method.NAME, e.method.delivery_tag) for e in found] == [
        ('Basic.Nack', 2)
    ]
    assert not channel.on_probation


def test_a_first_ack_ends_the_probation() -> None:
    core, channel = _recovered_confirm_channel()
    found = core.receive_data(sf.method(1, Basic.Ack(delivery_tag=1)), 3.0)
    assert names(found) == ['DeliveryConfirmed'] and not channel.on_probation
    out, found = answer(core, sf.method(1, Basic.Nack(delivery_tag=2)))
    assert out == [] and found[0].method.NAME == 'Basic.Nack'  # a real nack, reported


def test_a_connection_loss_during_a_reopen_recovers_the_channel_as_usual() -> None:
    core, channel = _recovered_confirm_channel()
    answer(core, sf.method(1, Basic.Nack(delivery_tag=1)))
    answer(core, sf.channel_close_ok(1))  # waiting for its pause
    assert core.next_deadline() is not None
    lost = core.connection_lost(exceptions.StreamLostError('reset'))
    assert names(lost) == ['ConnectionInterrupted'] and core.next_deadline() is None
    reconnect(core)
    assert answer(core, sf.open_ok()) == (['Channel.Open'], [])
    assert answer(core, sf.channel_open_ok(1)) == (['Confirm.Select'], [])
    assert answer(core, sf.method(1, spec.Confirm.SelectOk())) == (['Basic.Consume'], [])
    out, found = answer(core, sf.method(1, Basic.ConsumeOk('ct')))
    assert out == ['Basic.Publish', 'Basic.Publish'] and names(found) == ['ConnectionRecovered']
    assert channel.state is ChannelState.OPEN and channel.on_probation


def test_acks_are_mapped_only_once_tags_can_differ() -> None:
    """Before a loss and outside a transaction an ack goes out as it is (no record lookup:
    ``tag_map`` None); once Tx.Select went out, or after a loss, the record maps it."""
    core = recovering_core()
    channel = open_channel(core, 1)
    other = open_channel(core, 2)
    assert channel.tag_map is None and other.tag_map is None
    other.rpc(spec.Tx.Select())
    assert other.tag_map is other.record
    sent(core)
    channel.ack(7)
    assert [(m.NAME, m.delivery_tag) for m in sent(core)] == [('Basic.Ack', 7)]
    core.connection_lost(exceptions.StreamLostError('reset'))
    assert channel.tag_map is channel.record is not None
