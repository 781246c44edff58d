"""Running `pika.aio` tests on a chosen event loop (asyncio, uvloop or trio), each bounded in
time."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable

    import pika.aio

T = TypeVar('T')

#: the asyncio loops every `pika.aio` broker test can run on
LOOP_KINDS = ('asyncio', 'uvloop')
#: every backend: for tests written with no asyncio- or trio-specific call
ALL_KINDS = (*LOOP_KINDS, 'trio')


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
    if kind == 'trio':
        return run_trio(main, timeout)
    loop = new_loop(kind)

    async def bounded() -> Any:
        return await asyncio.wait_for(main(), timeout)

    try:
        return loop.run_until_complete(bounded())  # type: ignore[no-any-return]
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def run_trio(main: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """Run ``main()`` under ``trio.run``, failing it after ``timeout`` seconds."""
    import trio

    async def bounded() -> T:
        with trio.fail_after(timeout):
            return await main()

    return trio.run(bounded)


# -- backend-neutral helpers: one test body runs on asyncio, uvloop and trio ----------------


def trio_running() -> bool:
    """True inside ``trio.run``."""
    import sys

    trio = sys.modules.get('trio')
    if trio is None:
        return False
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        return False
    return True


async def sleep(seconds: float) -> None:
    """Sleep on whichever library runs the caller."""
    if trio_running():
        import trio

        await trio.sleep(seconds)
    else:
        await asyncio.sleep(seconds)


async def gather(*awaitables: Awaitable[T]) -> list[T]:
    """Await all of ``awaitables`` concurrently (asyncio.gather, or a trio nursery); results
    in order, the first exception raised."""
    if not trio_running():
        return list(await asyncio.gather(*awaitables))
    import trio

    results: list[Any] = [None] * len(awaitables)

    async def one(index: int, awaitable: Awaitable[T]) -> None:
        results[index] = await awaitable

    async with trio.open_nursery() as nursery:
        for index, awaitable in enumerate(awaitables):
            nursery.start_soon(one, index, awaitable)
    return results


async def cancel_while_awaiting(make: Callable[[], Awaitable[Any]]) -> bool:
    """Start ``make()`` and cancel it at its first suspension (after what it sends is queued):
    asyncio cancels the task one step later, trio runs it in an already-cancelled scope.
    True when it was cancelled, False when it finished first."""
    if trio_running():
        import trio

        with trio.CancelScope() as scope:
            scope.cancel()
            await make()
        return scope.cancelled_caught

    async def call() -> Any:
        return await make()

    task = asyncio.ensure_future(call())
    await asyncio.sleep(0)
    if task.done():
        return False
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return True
    return False


async def in_thread(function: Callable[[], T]) -> T:
    """Run a blocking ``function()`` (a ``rabbitmqctl`` call, say) in a worker thread."""
    if trio_running():
        import trio

        return await trio.to_thread.run_sync(function)
    return await asyncio.to_thread(function)


# -- the broker's view of a queue, for any backend -------------------------------------------


async def queue_state(ch: pika.aio.Channel, queue: str) -> tuple[int, int]:
    """(messages ready, consumers) of ``queue``, from a passive declare."""
    ok = await ch.queue_declare(queue, passive=True)
    return ok.method.message_count, ok.method.consumer_count


async def wait_queue_state(
    ch: pika.aio.Channel,
    queue: str,
    messages: Optional[int] = None,
    consumers: Optional[int] = None,
    timeout: float = 10.0,
) -> None:
    """Poll until ``queue`` has ``messages`` ready and ``consumers`` consumers (None: either
    count will do): the broker applies a requeue, a cancel or a consumer's exit shortly after
    it answered, so the counts are awaited, not read once. Fails after ``timeout`` seconds
    with the last counts seen."""
    interval = 0.05
    state = (-1, -1)
    for _ in range(max(1, int(timeout / interval))):
        state = await queue_state(ch, queue)
        if messages in (None, state[0]) and consumers in (None, state[1]):
            return
        await sleep(interval)
    raise AssertionError(
        f'{queue} holds {state[0]} messages and {state[1]} consumers, '
        f'not {messages} and {consumers}'
    )
