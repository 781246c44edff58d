"""Fixtures shared by the unit tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pika.adapters import select_connection
from pika.adapters.select_connection import IOLoop

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(params=select_connection.available_poller_types())
def ioloop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[IOLoop]:
    """An IOLoop for every poller this platform has."""
    monkeypatch.setattr(select_connection, 'POLLER_TYPE', request.param)
    loop = IOLoop()
    assert loop.poller_type == request.param
    yield loop
    loop.close()
