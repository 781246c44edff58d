"""Connection-level close paths, blocking, update_secret and output statistics."""

from __future__ import annotations

import pytest

from pika import exceptions, spec
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import names, open_channel, open_core, sent


def test_broker_connection_close() -> None:
    core = open_core()
    open_channel(core)
    open_channel(core)
    evs = core.receive_data(sf.connection_close(320, 'CONNECTION_FORCED - bye'), 0.0)
    assert names(evs) == ['ChannelClosed', 'ChannelClosed', 'ConnectionClosed']
    error = evs[-1].error
    assert isinstance(error, exceptions.ConnectionClosedByBroker)
    assert (error.reply_code, error.reply_text) == (320, 'CONNECTION_FORCED - bye')
    assert all(e.error is error for e in evs[:2])
    assert [m.NAME for m in sent(core)] == ['Connection.CloseOk']
    assert core.is_closed and core.channels == {}
    assert core.receive_data(sf.heartbeat(), 1.0) == []
    assert core.next_deadline() is None


def test_client_close_sequence() -> None:
    core = open_core()
    ch1 = open_channel(core)
    ch2 = open_channel(core)
    ch1.rpc(spec.Basic.Consume(queue='q', consumer_tag='t1'))
    core.receive_data(sf.method(1, spec.Basic.ConsumeOk('t1')), 0.0)
    core.data_to_send()

    assert core.close(200, 'done') == []
    assert core.is_closing
    out = sent(core)
    # consumer cancelled first on channel 1; channel 2 (no consumers) closes at once
    assert [(m.NAME) for m in out] == ['Basic.Cancel', 'Channel.Close']
    with pytest.raises(exceptions.ConnectionWrongStateError):
        core.close()
    with pytest.raises(exceptions.ConnectionWrongStateError):
        core.open_channel()

    evs = core.receive_data(sf.channel_close_ok(2), 0.0)
    assert names(evs) == ['ChannelClosed'] and evs[0].channel_number == 2
    assert sent(core) == []  # channel 1 still cancelling

    core.receive_data(sf.method(1, spec.Basic.CancelOk('t1')), 0.0)
    assert [m.NAME for m in sent(core)] == ['Channel.Close']
    evs = core.receive_data(sf.channel_close_ok(1), 0.0)
    assert names(evs) == ['ChannelClosed']
    assert isinstance(evs[0].error, exceptions.ChannelClosedByClient)
    (close,) = sent(core)
    assert isinstance(close, spec.Connection.Close)
    assert (close.reply_code, close.reply_text) == (200, 'done')

    evs = core.receive_data(sf.connection_close_ok(), 0.0)
    assert names(evs) == ['ConnectionClosed']
    assert isinstance(evs[0].error, exceptions.ConnectionClosedByClient)
    assert (evs[0].error.reply_code, evs[0].error.reply_text) == (200, 'done')
    assert ch1.is_closed and ch2.is_closed and core.is_closed


def test_client_close_without_channels_sends_close_at_once() -> None:
    core = open_core()
    core.close()
    assert [m.NAME for m in sent(core)] == ['Connection.Close']
    # frames that cross our Close are ignored
    assert core.receive_data(sf.deliver(5, b'x') + sf.blocked(), 0.0) == []
    assert names(core.receive_data(sf.connection_close_ok(), 0.0)) == ['ConnectionClosed']


def test_crossing_connection_close() -> None:
    core = open_core()
    core.close()
    sent(core)
    evs = core.receive_data(sf.connection_close(320, 'forced'), 0.0)
    assert names(evs) == ['ConnectionClosed']
    assert isinstance(evs[0].error, exceptions.ConnectionClosedByBroker)
    assert [m.NAME for m in sent(core)] == ['Connection.CloseOk']


def test_close_argument_errors() -> None:
    core = open_core()
    with pytest.raises(TypeError):
        core.close('200')  # type: ignore[arg-type]
    with pytest.raises(exceptions.AMQPError):
        core.close(200, 'x' * 300)
    assert core.is_open


def test_connection_lost_when_open() -> None:
    core = open_core()
    open_channel(core)
    evs = core.connection_lost(OSError('boom'))
    assert names(evs) == ['ChannelClosed', 'ConnectionClosed']
    assert isinstance(evs[1].error, exceptions.StreamLostError)
    assert 'boom' in str(evs[1].error)


def test_connection_lost_after_close_sent_is_client_close() -> None:
    core = open_core()
    core.close()
    evs = core.connection_lost(None)
    assert isinstance(evs[0].error, exceptions.ConnectionClosedByClient)


def test_blocked_and_unblocked_events() -> None:
    core = open_core()
    evs = core.receive_data(sf.blocked('memory'), 1.0)
    assert names(evs) == ['ConnectionBlocked'] and evs[0].method.reason == 'memory'
    assert core.next_deadline() is None  # no blocked_connection_timeout configured
    evs = core.receive_data(sf.unblocked(), 2.0)
    assert names(evs) == ['ConnectionUnblocked']


def test_blocked_connection_timeout() -> None:
    core = open_core(blocked_connection_timeout=30)
    core.receive_data(sf.blocked(), 100.0)
    assert core.next_deadline() == 130.0
    assert core.tick(129.0) == []
    evs = core.tick(130.0)
    assert names(evs) == ['ConnectionClosed']
    assert isinstance(evs[0].error, exceptions.ConnectionBlockedTimeout)


def test_unblock_disarms_blocked_timeout() -> None:
    core = open_core(blocked_connection_timeout=30)
    core.receive_data(sf.blocked(), 100.0)
    core.receive_data(sf.unblocked(), 110.0)
    assert core.next_deadline() is None
    assert core.tick(200.0) == []


def test_update_secret_rpc_on_channel_zero() -> None:
    core = open_core()
    core.update_secret('token-1', 'rotate')
    core.update_secret('token-2', 'rotate')
    (first,) = sent(core)
    assert isinstance(first, spec.Connection.UpdateSecret)
    evs = core.receive_data(sf.method(0, spec.Connection.UpdateSecretOk()), 0.0)
    assert names(evs) == ['RpcReply'] and evs[0].channel_number == 0
    (second,) = sent(core)
    assert isinstance(second, spec.Connection.UpdateSecret)
    with pytest.raises(TypeError):
        core.update_secret(b'x', 'r')  # type: ignore[arg-type]


def test_unsolicited_update_secret_ok_is_503() -> None:
    core = open_core()
    evs = core.receive_data(sf.method(0, spec.Connection.UpdateSecretOk()), 0.0)
    assert evs[-1].error.reply_code == 503


def test_output_statistics_and_swap() -> None:
    core = open_core()
    ch = open_channel(core)
    frames0, bytes0 = core.frames_sent, core.bytes_queued_total
    ch.publish('', 'q', b'x' * 100)
    assert core.frames_sent - frames0 == 3
    pending = core.pending_bytes
    assert core.bytes_queued_total - bytes0 == pending
    data = core.data_to_send()
    assert len(data) == pending and core.pending_bytes == 0
    assert core.data_to_send() == b''
