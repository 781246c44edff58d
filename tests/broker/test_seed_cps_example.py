"""The seed's Continuation-Passing Style example, run as documented, on every poller.

The example functions below are the seed's text with `print` as a function, `parameters`
defined, and the ctrl-C simulated: a timer raises KeyboardInterrupt once our messages were
printed, then the seed's `except KeyboardInterrupt` branch closes the connection and the second
`ioloop.start()` returns on its own when the close has finished.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

# The seed's import is `from pika.adapters import SelectConnection`.
from pika.adapters import SelectConnection, select_connection

if TYPE_CHECKING:
    import pika

pytestmark = pytest.mark.broker

POLLERS = select_connection.available_poller_types()

parameters: Any = None  # set by the test from the broker fixture

# -- the seed example (Steps #1-#5), print as a function -----------------------------------------

# Create a global channel variable to hold our channel object in
channel = None


# Step #2
def on_connected(connection):  # type: ignore[no-untyped-def]
    """Called when we are fully connected to RabbitMQ"""
    # Open a channel
    connection.channel(on_channel_open)


# Step #3
def on_channel_open(new_channel):  # type: ignore[no-untyped-def]
    """Called when our channel has opened"""
    global channel
    channel = new_channel
    channel.queue_declare(
        queue='test', durable=True, exclusive=False, auto_delete=False, callback=on_queue_declared
    )


# Step #4
def on_queue_declared(frame):  # type: ignore[no-untyped-def]
    """Called when RabbitMQ has told us our Queue has been declared, frame is the response from
    RabbitMQ"""
    channel.basic_consume(handle_delivery, queue='test')


# Step #5
def handle_delivery(channel, method, header, body):  # type: ignore[no-untyped-def]
    """Called when we receive a message from RabbitMQ"""
    print(body)


# -- helpers ---------------------------------------------------------------------------------


def _publish_to_test(params: pika.ConnectionParameters, bodies: list[bytes]) -> None:
    """Declare the seed's durable queue "test" and publish `bodies` to it (confirmed)."""
    confirmed: list[int] = []

    def on_channel(ch: Any) -> None:
        def on_confirm(f: Any) -> None:
            confirmed.append(f.method.delivery_tag)
            if f.method.delivery_tag == len(bodies) or f.method.multiple:
                if max(confirmed) == len(bodies):
                    ch.connection.close()

        def declared(_f: Any) -> None:
            ch.confirm_delivery(on_confirm)
            for body in bodies:
                ch.basic_publish('', 'test', body)

        ch.queue_declare('test', durable=True, callback=declared)

    conn = SelectConnection(params, on_open_callback=lambda c: c.channel(on_channel))
    guard = conn.ioloop.call_later(15, conn.ioloop.stop)
    conn.ioloop.start()
    conn.ioloop.remove_timeout(guard)
    conn.ioloop.close()
    assert conn.is_closed and max(confirmed) == len(bodies)


def _take_back(params: pika.ConnectionParameters, bodies: list[bytes]) -> None:
    """Consume and acknowledge our messages so the shared queue "test" is left as found."""
    wanted = set(bodies)

    def on_message(ch: Any, method: Any, props: Any, body: bytes) -> None:
        if body in wanted:
            wanted.discard(body)
            ch.basic_ack(method.delivery_tag)
            if not wanted:
                ch.connection.close()

    conn = SelectConnection(
        params,
        on_open_callback=lambda c: c.channel(lambda ch: ch.basic_consume('test', on_message)),
    )
    guard = conn.ioloop.call_later(15, conn.ioloop.stop)
    conn.ioloop.start()
    conn.ioloop.remove_timeout(guard)
    if not conn.is_closed:
        conn.close()
        conn.ioloop.start()
    conn.ioloop.close()


@pytest.mark.parametrize('poller', POLLERS)
def test_seed_cps_example(
    poller: str,
    broker_params: pika.ConnectionParameters,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    global parameters
    monkeypatch.setattr(select_connection, 'POLLER_TYPE', poller)
    parameters = broker_params
    marker = uuid.uuid4().hex
    bodies = [f'{marker} message {n}'.encode() for n in range(3)]
    _publish_to_test(broker_params, bodies)

    # Step #1: Connect to RabbitMQ
    connection = SelectConnection(parameters, on_connected)

    def press_ctrl_c_when_printed() -> None:
        printed = capsys.readouterr().out
        check.seen += printed
        if all(repr(body) in check.seen for body in bodies) or check.turns > 200:
            raise KeyboardInterrupt
        check.turns += 1
        connection.ioloop.call_later(0.05, press_ctrl_c_when_printed)

    class check:  # a tiny mutable namespace
        seen = ''
        turns = 0

    connection.ioloop.call_later(0.05, press_ctrl_c_when_printed)
    interrupted = False
    try:
        # Loop so we can communicate with RabbitMQ
        connection.ioloop.start()
    except KeyboardInterrupt:
        interrupted = True
        # Gracefully close the connection
        connection.close()
        # Loop until we're fully closed, will stop on its own
        connection.ioloop.start()
    connection.ioloop.close()

    assert interrupted
    assert connection.is_closed
    for body in bodies:
        assert repr(body) in check.seen
    _take_back(broker_params, bodies)
