"""Running `pika.aio` tests on a chosen event loop (asyncio or uvloop), each bounded in time."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable

T = TypeVar('T')

#: the loops every `pika.aio` broker test can run on
LOOP_KINDS = ('asyncio', 'uvloop')


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    """A fresh event loop of ``kind`` ('asyncio' or 'uvloop')."""
    if kind == 'uvloop':
        import uvloop

        return uvloop.new_event_loop()
    if kind != 'asyncio':
        raise ValueError(kind)
    return asyncio.new_event_loop()


def run(kind: str, main: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """Run ``main()`` on a new loop of ``kind``; fail it after ``timeout`` seconds (a hang is a
    failure, never a stuck test run)."""
    loop = new_loop(kind)

    async def bounded() -> Any:
        return await asyncio.wait_for(main(), timeout)

    try:
        return loop.run_until_complete(bounded())  # type: ignore[no-any-return]
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
