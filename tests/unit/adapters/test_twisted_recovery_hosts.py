"""Twisted: a `TwistedProtocolConnection` given a list of parameters reconnects over the list
(no broker, no reactor: a fake one records ``connectTCP`` and runs timers on demand).

Twisted connects the protocol's first stream itself, so the parameters only name the nodes a
recovery may go to; with one ``Parameters`` that is the lost node alone, with a cluster's list
the reconnect goes to another node first (the lost one is tried last).
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure

import pika
from pika.adapters.twisted_connection import TwistedProtocolConnection
from tests.helpers import server_frames as sf


class _Call:
    """What ``reactor.callLater`` returns."""

    def __init__(self, callback: Any) -> None:
        self.callback = callback
        self.cancelled = False

    def active(self) -> bool:
        return not self.cancelled

    def cancel(self) -> None:
        self.cancelled = True


class _Reactor:
    """Records timers and TCP connects; the test runs the timers."""

    def __init__(self) -> None:
        self.timers: list[_Call] = []
        self.connects: list[tuple[str, int]] = []

    def callLater(self, delay: float, callback: Any) -> _Call:
        call = _Call(callback)
        self.timers.append(call)
        return call

    def connectTCP(self, host: str, port: int, factory: Any, timeout: float) -> None:
        self.connects.append((host, port))

    def run_timers(self) -> None:
        timers, self.timers = self.timers, []
        for call in timers:
            if call.active():
                call.callback()


class _Transport:
    """The first stream, connected by the application (Twisted's ``connectTCP``)."""

    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        self.written += data

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        pass

    def unregisterProducer(self) -> None:
        pass

    def loseConnection(self) -> None:
        pass

    def abortConnection(self) -> None:
        pass


def _params(port: int) -> pika.ConnectionParameters:
    recovery = pika.Recovery(initial_delay=0.0, jitter=0.0, max_attempts=3)
    return pika.ConnectionParameters(port=port, heartbeat=0, recovery=recovery)


def _lost_after_open(parameters: Any) -> tuple[TwistedProtocolConnection, _Reactor]:
    reactor = _Reactor()
    proto = TwistedProtocolConnection(parameters, custom_reactor=reactor)
    proto.makeConnection(_Transport())
    proto.dataReceived(sf.start() + sf.tune(heartbeat=0) + sf.open_ok())
    assert proto.is_open
    proto.connectionLost(Failure(ConnectionLost('node killed')))
    assert not proto.is_closed  # recovering, not closed
    reactor.run_timers()
    return proto, reactor


def test_a_list_of_parameters_reconnects_to_another_node_first() -> None:
    nodes = [_params(5001), _params(5002), _params(5003)]
    _proto, reactor = _lost_after_open(nodes)
    assert reactor.connects == [('localhost', 5002)]


def test_one_parameters_reconnects_to_the_same_node() -> None:
    _proto, reactor = _lost_after_open(_params(5001))
    assert reactor.connects == [('localhost', 5001)]


@pytest.mark.parametrize('bad', [[], (), 'amqp://', 5672])
def test_anything_else_is_refused(bad: Any) -> None:
    with pytest.raises(TypeError, match='parameters must be Parameters or a list of them'):
        TwistedProtocolConnection(bad, custom_reactor=_Reactor())
