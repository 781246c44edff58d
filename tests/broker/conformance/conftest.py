"""Fixtures of the conformance suite: one `driver` per adapter, a shared private broker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.helpers.loop_drivers import Driver, driver_factories

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.helpers.private_broker import PrivateBroker

_FACTORIES = driver_factories()


@pytest.fixture(params=sorted(_FACTORIES))
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """A fresh driver for each adapter id (select-<poller>, tornado, asyncore, asyncio, ...)."""
    instance = _FACTORIES[request.param]()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(params=sorted(name for name in _FACTORIES if name != 'twisted'))
def fd_driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """A fresh driver for each adapter built on `IOServices` (every one but Twisted)."""
    instance = _FACTORIES[request.param]()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope='module')
def shared_private_broker(_private_broker_session: PrivateBroker) -> PrivateBroker:
    """The session's private node (slow to start), shared by every adapter in a module."""
    _private_broker_session.ensure_running()
    return _private_broker_session
