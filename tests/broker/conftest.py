"""Fixtures shared by the broker tests of the blocking adapter.

A test file may still define its own ``conn`` or ``queue`` (pytest prefers the nearer one), as
the Twisted tests do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pika.adapters.blocking_connection import BlockingConnection

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def conn(broker_params: Any) -> Iterator[BlockingConnection]:
    """A ``BlockingConnection`` to the shared broker, closed after the test if still open."""
    connection = BlockingConnection(broker_params)
    yield connection
    if connection.is_open:
        connection.close()


@pytest.fixture
def queue(conn: BlockingConnection, unique_name: str) -> Iterator[str]:
    """A queue named ``unique_name``, declared on ``conn`` and deleted after the test (unless
    the test closed the connection)."""
    channel = conn.channel()
    channel.queue_declare(unique_name)
    yield unique_name
    if conn.is_open:
        cleanup = conn.channel()
        cleanup.queue_delete(unique_name)
        cleanup.close()
