"""ChannelCore: RPC queue, consumers, content, publish, confirms, channel numbers, closes."""

from __future__ import annotations

from typing import Any

import pytest

from pika import exceptions, frame, spec
from pika._core import ChannelNumberError, ChannelState
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import names, open_channel, open_core, sent


def test_channel_open_sequence() -> None:
    core = open_core()
    ch = core.open_channel()
    assert ch.channel_number == 1 and ch.state is ChannelState.OPENING
    assert isinstance(sent(core)[0], spec.Channel.Open)
    evs = core.receive_data(sf.channel_open_ok(1), 0.0)
    assert names(evs) == ['ChannelOpened'] and evs[0].channel_number == 1
    assert ch.is_open and core.channels == {1: ch}


def test_rpc_before_open_ok_raises() -> None:
    core = open_core()
    ch = core.open_channel()
    with pytest.raises(exceptions.ChannelWrongStateError):
        ch.rpc(spec.Queue.Declare(queue='q'))


def test_three_rpcs_queued_and_replied_in_order() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Queue.Declare(queue='q'))
    ch.rpc(spec.Queue.Bind(queue='q', exchange='x', routing_key='k'))
    ch.rpc(spec.Basic.Qos(prefetch_count=10))
    assert [m.NAME for m in sent(core)] == ['Queue.Declare']
    assert ch.outstanding_rpc.NAME == 'Queue.Declare'

    evs = core.receive_data(sf.method(1, spec.Queue.DeclareOk('q', 0, 0)), 0.0)
    assert names(evs) == ['RpcReply'] and isinstance(evs[0].method, spec.Queue.DeclareOk)
    assert [m.NAME for m in sent(core)] == ['Queue.Bind']

    evs = core.receive_data(sf.method(1, spec.Queue.BindOk()), 0.0)
    assert isinstance(evs[0].method, spec.Queue.BindOk)
    assert [m.NAME for m in sent(core)] == ['Basic.Qos']

    evs = core.receive_data(sf.method(1, spec.Basic.QosOk()), 0.0)
    assert isinstance(evs[0].method, spec.Basic.QosOk) and evs[0].channel_number == 1
    assert sent(core) == [] and ch.outstanding_rpc is None


def test_nowait_rpc_sent_at_once_and_keeps_order() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Exchange.Declare(exchange='e', nowait=True))
    assert [m.NAME for m in sent(core)] == ['Exchange.Declare']
    assert ch.outstanding_rpc is None
    ch.rpc(spec.Queue.Declare(queue='q'))
    ch.rpc(spec.Queue.Bind(queue='q', exchange='e', nowait=True))
    assert [m.NAME for m in sent(core)] == ['Queue.Declare']  # bind waits its turn
    core.receive_data(sf.method(1, spec.Queue.DeclareOk('q', 0, 0)), 0.0)
    assert [m.NAME for m in sent(core)] == ['Queue.Bind']


def test_rpc_argument_errors_raise_at_call() -> None:
    core = open_core()
    ch = open_channel(core)
    with pytest.raises(TypeError):
        ch.rpc('Queue.Declare')  # type: ignore[arg-type]
    with pytest.raises(exceptions.AMQPError):
        ch.rpc(spec.Queue.Declare(queue='q' * 300))
    assert sent(core) == []


def test_mismatched_reply_closes_connection_503() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Queue.Declare(queue='q'))
    core.data_to_send()
    evs = core.receive_data(sf.method(1, spec.Queue.BindOk()), 0.0)
    assert names(evs) == ['ChannelClosed', 'ConnectionClosed']
    assert evs[1].error.reply_code == 503
    (close,) = sent(core)
    assert isinstance(close, spec.Connection.Close) and close.reply_code == 503


def test_consume_ok_and_cancel_ok_track_tags() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Basic.Consume(queue='q', consumer_tag='c1'))
    core.receive_data(sf.method(1, spec.Basic.ConsumeOk('c1')), 0.0)
    assert ch.consumer_tags == {'c1'}
    ch.rpc(spec.Basic.Cancel(consumer_tag='c1'))
    evs = core.receive_data(sf.method(1, spec.Basic.CancelOk('c1')), 0.0)
    assert names(evs) == ['RpcReply'] and ch.consumer_tags == set()


def test_broker_cancel_replies_and_emits() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Basic.Consume(queue='q', consumer_tag='c1'))
    core.receive_data(sf.method(1, spec.Basic.ConsumeOk('c1')), 0.0)
    core.data_to_send()
    evs = core.receive_data(sf.method(1, spec.Basic.Cancel(consumer_tag='c1')), 0.0)
    assert names(evs) == ['ConsumerCancelled'] and evs[0].method.consumer_tag == 'c1'
    (reply,) = sent(core)
    assert isinstance(reply, spec.Basic.CancelOk) and reply.consumer_tag == 'c1'
    assert ch.consumer_tags == set()


def test_broker_cancel_nowait_gets_no_reply() -> None:
    core = open_core()
    open_channel(core)
    evs = core.receive_data(sf.method(1, spec.Basic.Cancel(consumer_tag='c', nowait=True)), 0.0)
    assert names(evs) == ['ConsumerCancelled'] and sent(core) == []


def test_channel_flow_from_broker() -> None:
    core = open_core()
    open_channel(core)
    evs = core.receive_data(sf.method(1, spec.Channel.Flow(active=False)), 0.0)
    assert names(evs) == ['FlowChanged'] and evs[0].active is False
    (reply,) = sent(core)
    assert isinstance(reply, spec.Channel.FlowOk) and reply.active is False


@pytest.mark.parametrize('size', [0, 1, 131072 - 8, 131072 - 7, 3 * 131072 + 5])
def test_delivery_assembled(size: int) -> None:
    core = open_core()
    open_channel(core)
    body = bytes(range(256)) * (size // 256) + b'z' * (size % 256)
    props = spec.BasicProperties(content_type='text/plain', headers={'a': 1})
    data = sf.deliver(1, body, delivery_tag=7, properties=props)
    for chunked in ([data], [data[i : i + 1000] for i in range(0, len(data), 1000)]):
        evs = []
        for chunk in chunked:
            evs.extend(core.receive_data(chunk, 0.0))
        assert names(evs) == ['MessageDelivered']
        (ev,) = evs
        assert ev.body == body and ev.channel_number == 1
        assert ev.method.delivery_tag == 7
        assert ev.properties.content_type == 'text/plain' and ev.properties.headers == {'a': 1}


def test_many_deliveries_in_one_chunk_with_trailing_partial() -> None:
    core = open_core()
    open_channel(core)
    data = b''.join(sf.deliver(1, b'm%d' % i, delivery_tag=i + 1) for i in range(50))
    extra = sf.deliver(1, b'last', delivery_tag=51)
    evs = core.receive_data(data + extra[:10], 0.0)
    assert [e.body for e in evs] == [b'm%d' % i for i in range(50)]
    evs = core.receive_data(extra[10:], 0.0)
    assert [e.body for e in evs] == [b'last']


def test_basic_return_assembled() -> None:
    core = open_core()
    open_channel(core)
    evs = core.receive_data(sf.returned(1, b'bounced'), 0.0)
    assert names(evs) == ['MessageReturned']
    assert evs[0].body == b'bounced' and evs[0].method.reply_code == 312


def test_get_ok_and_get_empty_are_rpc_replies() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Basic.Get(queue='q'))
    ch.rpc(spec.Basic.Get(queue='q'))
    evs = core.receive_data(sf.get_ok(1, b'payload', delivery_tag=3), 0.0)
    assert names(evs) == ['RpcReply']
    assert isinstance(evs[0].method, spec.Basic.GetOk) and evs[0].body == b'payload'
    assert evs[0].properties is not None
    evs = core.receive_data(sf.method(1, spec.Basic.GetEmpty()), 0.0)
    assert isinstance(evs[0].method, spec.Basic.GetEmpty) and evs[0].body is None


def test_publish_frames_split_by_frame_max() -> None:
    core = open_core(frame_max=4096)
    ch = open_channel(core)
    body = b'x' * 10000
    assert ch.publish('amq.direct', 'rk', body, spec.BasicProperties(delivery_mode=2), True) is None
    frames = sf.parse_frames(bytes(core.data_to_send()))
    assert [type(f).__name__ for f in frames] == ['Method', 'Header', 'Body', 'Body', 'Body']
    publish = frames[0].method
    assert (publish.exchange, publish.routing_key, publish.mandatory) == ('amq.direct', 'rk', True)
    assert frames[1].body_size == 10000 and frames[1].properties.delivery_mode == 2
    assert b''.join(f.fragment for f in frames[2:]) == body
    assert all(len(f.fragment) <= 4096 - 8 for f in frames[2:])
    assert core.frames_sent >= 5


def test_publish_empty_body_sends_no_body_frame() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.publish('', 'q', b'')
    frames = sf.parse_frames(bytes(core.data_to_send()))
    assert [type(f).__name__ for f in frames] == ['Method', 'Header']
    assert frames[1].body_size == 0


def test_publish_matches_pika_frame_encoder() -> None:
    core = open_core()
    ch = open_channel(core)
    props = spec.BasicProperties(content_type='application/json', priority=3)
    ch.publish('ex', 'key', b'{}', props)
    expected = (
        frame.Method(1, spec.Basic.Publish(exchange='ex', routing_key='key')).marshal()
        + frame.Header(1, 2, props).marshal()
        + frame.Body(1, b'{}').marshal()
    )
    assert bytes(core.data_to_send()) == expected


def test_confirm_delivery_tags_count_from_one() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Confirm.Select())
    assert ch.publish('', 'q', b'a') == 1  # Select still outstanding: counts already
    core.receive_data(sf.method(1, spec.Confirm.SelectOk()), 0.0)
    assert ch.publish('', 'q', b'b') == 2
    assert ch.publish('', 'q', b'c') == 3
    evs = core.receive_data(
        sf.method(1, spec.Basic.Ack(delivery_tag=2, multiple=True))
        + sf.method(1, spec.Basic.Nack(delivery_tag=3)),
        0.0,
    )
    assert names(evs) == ['DeliveryConfirmed', 'DeliveryConfirmed']
    assert isinstance(evs[0].method, spec.Basic.Ack) and evs[0].method.multiple
    assert isinstance(evs[1].method, spec.Basic.Nack)


@pytest.mark.parametrize(
    'confirm',
    [spec.Basic.Ack(delivery_tag=3), spec.Basic.Nack(delivery_tag=3, multiple=True)],
    ids=['ack', 'nack-multiple'],
)
def test_confirm_of_a_tag_never_published_closes_406(confirm: Any) -> None:
    """Two messages published: a confirm for tag 3 is from a broken peer (it would make a
    multiple Nack cover messages we never sent), so the connection closes at once."""
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Confirm.Select())
    core.receive_data(sf.method(1, spec.Confirm.SelectOk()), 0.0)
    ch.publish('', 'q', b'a')
    ch.publish('', 'q', b'b')
    core.data_to_send()
    evs = core.receive_data(
        sf.method(1, spec.Basic.Ack(2, multiple=True)) + sf.method(1, confirm), 0.0
    )
    assert names(evs) == ['DeliveryConfirmed', 'ChannelClosed', 'ConnectionClosed']
    assert evs[-1].error.reply_code == spec.PRECONDITION_FAILED
    assert 'delivery tag 3' in evs[-1].error.reply_text
    sent_close = sf.methods(bytes(core.data_to_send()))[-1]
    assert isinstance(sent_close, spec.Connection.Close) and sent_close.reply_code == 406


def test_confirm_on_a_channel_not_in_confirm_mode_closes_503() -> None:
    core = open_core()
    open_channel(core)
    evs = core.receive_data(sf.method(1, spec.Basic.Ack(delivery_tag=1)), 0.0)
    assert names(evs) == ['ChannelClosed', 'ConnectionClosed']
    assert evs[-1].error.reply_code == 503
    assert 'not in confirm mode' in evs[-1].error.reply_text


def test_send_async_method() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.send(spec.Basic.Ack(delivery_tag=5))
    (ack,) = sent(core)
    assert isinstance(ack, spec.Basic.Ack) and ack.delivery_tag == 5


def test_channel_numbers() -> None:
    core = open_core(channel_max=3)
    assert [core.open_channel().channel_number for _ in range(3)] == [1, 2, 3]
    with pytest.raises(exceptions.NoFreeChannels):
        core.open_channel()
    with pytest.raises(ChannelNumberError):
        core.open_channel(2)
    with pytest.raises(ValueError):
        core.open_channel(4)
    with pytest.raises(exceptions.InvalidChannelNumber):
        core.open_channel(0)
    with pytest.raises(TypeError):
        core.open_channel('1')  # type: ignore[arg-type]


def test_lowest_free_number_reused_after_close() -> None:
    core = open_core()
    open_channel(core)
    ch2 = open_channel(core)
    open_channel(core)
    core.receive_data(sf.channel_close(2), 0.0)
    assert ch2.is_closed and 2 not in core.channels
    assert core.open_channel().channel_number == 2


def test_broker_channel_close() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Queue.Declare(queue='q', passive=True))
    core.data_to_send()
    evs = core.receive_data(sf.channel_close(1, 404, "NOT_FOUND - no queue 'q'"), 0.0)
    assert names(evs) == ['ChannelClosed']
    err = evs[0].error
    assert isinstance(err, exceptions.ChannelClosedByBroker)
    assert (err.reply_code, err.reply_text) == (404, "NOT_FOUND - no queue 'q'")
    assert isinstance(sent(core)[0], spec.Channel.CloseOk)
    assert ch.is_closed and ch.outstanding_rpc is None
    with pytest.raises(exceptions.ChannelWrongStateError):
        ch.rpc(spec.Queue.Declare(queue='q'))
    with pytest.raises(exceptions.ChannelWrongStateError):
        ch.publish('', 'q', b'')
    with pytest.raises(exceptions.ChannelWrongStateError):
        ch.close()


def test_client_channel_close_cancels_consumers_first() -> None:
    core = open_core()
    ch = open_channel(core)
    for tag in ('a', 'b'):
        ch.rpc(spec.Basic.Consume(queue='q', consumer_tag=tag))
        core.receive_data(sf.method(1, spec.Basic.ConsumeOk(tag)), 0.0)
    core.data_to_send()
    ch.close(200, 'bye')
    assert ch.is_closing
    with pytest.raises(exceptions.ChannelWrongStateError):
        ch.rpc(spec.Queue.Declare(queue='q'))
    (cancel,) = sent(core)
    assert isinstance(cancel, spec.Basic.Cancel) and cancel.consumer_tag == 'a'
    # a delivery still arrives before CancelOk: delivered, and ackable
    evs = core.receive_data(sf.deliver(1, b'late', consumer_tag='a'), 0.0)
    assert names(evs) == ['MessageDelivered']
    ch.send(spec.Basic.Ack(delivery_tag=1))
    sent(core)
    evs = core.receive_data(sf.method(1, spec.Basic.CancelOk('a')), 0.0)
    assert evs == []  # internal cancels produce no RpcReply
    (cancel,) = sent(core)
    assert cancel.consumer_tag == 'b'
    core.receive_data(sf.method(1, spec.Basic.CancelOk('b')), 0.0)
    (close,) = sent(core)
    assert isinstance(close, spec.Channel.Close) and (close.reply_code, close.reply_text) == (
        200,
        'bye',
    )
    assert ch.state is ChannelState.CLOSING
    # frames after Close are dropped until CloseOk
    assert core.receive_data(sf.deliver(1, b'dropped'), 0.0) == []
    evs = core.receive_data(sf.channel_close_ok(1), 0.0)
    assert names(evs) == ['ChannelClosed']
    assert isinstance(evs[0].error, exceptions.ChannelClosedByClient)
    assert evs[0].error.reply_code == 200 and ch.is_closed and 1 not in core.channels


def test_client_close_waits_for_outstanding_rpc_and_drops_queued() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Queue.Declare(queue='q'))
    ch.rpc(spec.Queue.Bind(queue='q', exchange='x'))
    core.data_to_send()
    ch.close()
    assert sent(core) == []
    evs = core.receive_data(sf.method(1, spec.Queue.DeclareOk('q', 0, 0)), 0.0)
    assert names(evs) == ['RpcReply']
    assert [m.NAME for m in sent(core)] == ['Channel.Close']  # the Bind was dropped


def test_close_while_opening_sends_close_at_once() -> None:
    core = open_core()
    ch = core.open_channel()
    core.data_to_send()
    ch.close()
    assert [m.NAME for m in sent(core)] == ['Channel.Close']
    assert core.receive_data(sf.channel_open_ok(1), 0.0) == []
    assert names(core.receive_data(sf.channel_close_ok(1), 0.0)) == ['ChannelClosed']


def test_crossing_channel_closes() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.close()
    sent(core)
    evs = core.receive_data(sf.channel_close(1, 406, 'PRECONDITION_FAILED - x'), 0.0)
    assert evs == []
    assert [m.NAME for m in sent(core)] == ['Channel.CloseOk']
    evs = core.receive_data(sf.channel_close_ok(1), 0.0)
    assert names(evs) == ['ChannelClosed']
    assert isinstance(evs[0].error, exceptions.ChannelClosedByBroker)
    assert evs[0].error.reply_code == 406


def test_operations_on_closed_connection_raise_connection_error() -> None:
    core = open_core()
    ch = open_channel(core)
    core.connection_lost(None)
    with pytest.raises(exceptions.ConnectionWrongStateError):
        ch.publish('', 'q', b'x')
    with pytest.raises(exceptions.ConnectionWrongStateError):
        ch.rpc(spec.Queue.Declare(queue='q'))
    with pytest.raises(exceptions.ConnectionWrongStateError):
        core.open_channel()


def test_rpc_refuses_lifecycle_methods() -> None:
    core = open_core()
    ch = open_channel(core)
    for method in (
        spec.Channel.Close(200, 'x', 0, 0),
        spec.Channel.Open(),
        spec.Connection.CloseOk(),
    ):
        with pytest.raises(ValueError):
            ch.rpc(method)
    assert sent(core) == []


def test_bad_properties_raise_before_anything_is_queued() -> None:
    core = open_core()
    ch = open_channel(core)
    with pytest.raises(TypeError):
        ch.publish('', 'q', b'x', {'content_type': 'x'})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ch.publish('', 'q', 12)  # type: ignore[arg-type]
    with pytest.raises(exceptions.AMQPError):
        ch.publish('x' * 256, 'q', b'')
    assert core.pending_bytes == 0
    ch.publish('', 'q', 'text body')  # type: ignore[arg-type]
    frames = sf.parse_frames(bytes(core.data_to_send()))
    assert frames[-1].fragment == b'text body'
