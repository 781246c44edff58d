"""Recovery after ``update_secret``: the reconnect logs in with the refreshed secret.

An OAuth 2 application's token expires; it refreshes it with ``update_secret`` and its
parameters still hold the first one. Here the private node (never the shared broker) stands
in for the token's expiry: a user of its own gets a new password (``rabbitmqctl
change_password``), the connection sends it with ``update_secret``, and the node then closes
the connection (``rabbitmqctl close_connection`` / ``close_all_connections``). The recovery
must log in with the new password (the old one is refused: checked) and the same channel
must work again. On BlockingConnection, SelectConnection and ``pika.aio`` (asyncio).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

import pika
import pika.aio
from pika import exceptions
from tests.helpers.aio import in_thread, run, sleep
from tests.helpers.loop_drivers import SelectDriver, open_channel, open_connection
from tests.helpers.private_broker import close_my_connection
from tests.helpers.recovery_watch import RecoveryWatch

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.helpers.private_broker import PrivateBroker

pytestmark = pytest.mark.private_broker

FIRST = 'token-issued-at-start'
REFRESHED = 'token-refreshed-later'


@pytest.fixture
def token_user(private_broker: PrivateBroker) -> Iterator[str]:
    """A user of the private node with the password ``FIRST`` and every permission on ``/``;
    deleted afterwards."""
    user = f'tok-{uuid.uuid4().hex[:8]}'
    private_broker.rabbitmqctl('add_user', user, FIRST)
    private_broker.rabbitmqctl('set_permissions', '-p', '/', user, '.*', '.*', '.*')
    yield user
    private_broker.rabbitmqctl('delete_user', user)


def params_for(broker: PrivateBroker, user: str, watch: RecoveryWatch) -> Any:
    return broker.connection_parameters(
        credentials=pika.PlainCredentials(user, FIRST),
        recovery=watch.policy(max_duration=30),
        heartbeat=10,
    )


def expire_first_token(broker: PrivateBroker, user: str) -> None:
    """The first password stops working: a login with it is refused from now on."""
    broker.rabbitmqctl('change_password', user, REFRESHED)
    stale = broker.connection_parameters(credentials=pika.PlainCredentials(user, FIRST))
    with pytest.raises(exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(stale)


def test_blocking_recovers_with_the_refreshed_secret(
    private_broker: PrivateBroker, token_user: str
) -> None:
    watch = RecoveryWatch()
    connection = pika.BlockingConnection(params_for(private_broker, token_user, watch))
    try:
        channel = connection.channel()
        expire_first_token(private_broker, token_user)
        connection.update_secret(REFRESHED, 'token refresh', timeout=15)
        close_my_connection(private_broker, connection)
        end = time.monotonic() + 30
        while not watch.recovered_event.is_set() and time.monotonic() < end:
            connection.process_data_events(0.1)
        assert watch.recovered_event.is_set(), f'not recovered: {watch.given_up}'
        assert watch.given_up == [] and watch.lost_error is not None
        channel.queue_declare('', exclusive=True)
        assert channel.is_open and connection.is_open
        # The application's credentials object keeps what it was given.
        assert connection.params.credentials.password == FIRST  # type: ignore[union-attr]
    finally:
        connection.close()


def test_select_recovers_with_the_refreshed_secret(
    private_broker: PrivateBroker, token_user: str
) -> None:
    watch = RecoveryWatch()
    driver = SelectDriver('select')
    try:
        conn, closed = open_connection(driver, params_for(private_broker, token_user, watch))
        channel = open_channel(driver, conn)
        expire_first_token(private_broker, token_user)
        replies: list[Any] = []
        conn.update_secret(REFRESHED, 'token refresh', callback=replies.append)
        driver.run_until(lambda: bool(replies), timeout=15)
        private_broker.rabbitmqctl('close_all_connections', 'refreshed secret test')
        driver.run_until(watch.recovered_event.is_set, timeout=30)
        assert watch.given_up == [] and closed == []
        declared: list[Any] = []
        channel.queue_declare('', exclusive=True, callback=declared.append)
        driver.run_until(lambda: bool(declared), timeout=15)
        conn.close()
        driver.run_until(lambda: bool(closed), timeout=15)
    finally:
        driver.stop()


def test_aio_recovers_with_the_refreshed_secret(
    private_broker: PrivateBroker, token_user: str
) -> None:
    watch = RecoveryWatch()
    params = params_for(private_broker, token_user, watch)

    async def main() -> None:
        connection = await pika.aio.connect(params)
        try:
            channel = await connection.channel()
            await in_thread(lambda: expire_first_token(private_broker, token_user))
            await connection.update_secret(REFRESHED, 'token refresh', timeout=15)
            await in_thread(
                lambda: private_broker.rabbitmqctl('close_all_connections', 'refreshed secret')
            )
            while watch.lost_error is None:
                await sleep(0.05)
            await channel.queue_declare('', exclusive=True)  # waits through the recovery
            assert watch.recovered_event.is_set() and watch.given_up == []
        finally:
            await connection.close()

    run('asyncio', main, timeout=60)
