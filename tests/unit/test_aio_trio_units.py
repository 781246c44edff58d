"""The trio backend's loop services without a socket: waiters (settled before or after the
await, abandoned by a cancellation), ``call_soon`` order, ``call_later`` and its cancel, and
background tasks; run under ``trio.run`` with trio's mock clock where time matters."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from pika.aio.trio_backend import TrioBackend


def test_waiter_result_set_before_or_after_the_await() -> None:
    async def main() -> list[object]:
        backend = TrioBackend()
        early = backend.create_waiter()
        early.set_result('early')
        got: list[object] = [await early]
        late = backend.create_waiter()
        backend.call_soon(lambda: late.set_result('late'))
        got.append(await late)
        failing = backend.create_waiter()
        backend.call_soon(lambda: failing.set_exception(ValueError('boom')))
        with pytest.raises(ValueError, match='boom'):
            await failing
        assert early.done() and late.done() and failing.done()
        with pytest.raises(RuntimeError):
            late.set_result('twice')
        return got

    assert trio.run(main) == ['early', 'late']


def test_a_cancelled_wait_abandons_its_waiter() -> None:
    async def main() -> None:
        backend = TrioBackend()
        waiter = backend.create_waiter()
        with trio.move_on_after(0.5) as scope:
            await waiter
        assert scope.cancelled_caught
        assert waiter.done()  # abandoned: the connection discards what comes for it

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_call_soon_runs_in_order_after_the_caller_yields() -> None:
    async def main() -> list[int]:
        backend = TrioBackend()
        order: list[int] = []
        for n in range(3):
            backend.call_soon(lambda n=n: order.append(n))
        assert order == []  # not inside the call
        await trio.sleep(0)
        await trio.testing.wait_all_tasks_blocked()
        return order

    assert trio.run(main) == [0, 1, 2]


def test_call_later_fires_once_unless_cancelled() -> None:
    async def main() -> list[str]:
        backend = TrioBackend()
        fired: list[str] = []
        backend.call_later(2.0, lambda: fired.append('two'))
        cancelled = backend.call_later(1.0, lambda: fired.append('cancelled'))
        backend.call_later(1.5, lambda: fired.append('one and a half'))
        cancelled.cancel()
        cancelled.cancel()  # idempotent
        many = [backend.call_later(5.0, lambda: fired.append('many')) for _ in range(200)]
        for handle in many:  # most of the heap cancelled: purged, never fired
            handle.cancel()
        await trio.sleep(10)
        return fired

    clock = trio.testing.MockClock(autojump_threshold=0)
    assert trio.run(main, clock=clock) == ['one and a half', 'two']


def test_spawned_task_runs_and_cancels_and_a_failure_is_contained() -> None:
    async def main() -> list[str]:
        backend = TrioBackend()
        seen: list[str] = []

        async def forever() -> None:
            seen.append('started')
            await trio.sleep_forever()

        async def broken() -> None:
            raise RuntimeError('a bug in a background task')

        handle = backend.spawn(forever())
        backend.spawn(broken())  # logged, never crashes trio.run
        await trio.testing.wait_all_tasks_blocked()
        handle.cancel()
        handle.cancel()
        await trio.testing.wait_all_tasks_blocked()
        seen.append('after cancel')
        return seen

    assert trio.run(main) == ['started', 'after cancel']


def test_transport_close_receives_nothing_more_while_it_flushes() -> None:
    """As asyncio's transports: after ``close()`` the sink gets no data, even while queued
    output still goes out (a recovery drops a stream this way and opens the next one); the
    socket is still drained, so the peer gets every queued byte and a clean EOF, not a reset;
    then exactly one ``connection_lost``."""
    import socket

    from pika.aio.trio_backend import TrioTransport

    class Sink:
        def __init__(self) -> None:
            self.received: list[bytes] = []
            self.lost: list[object] = []

        def data_received(self, data: bytes) -> None:
            self.received.append(data)

        def connection_lost(self, exc: object) -> None:
            self.lost.append(exc)

        def pause_writing(self) -> None:
            pass

        def resume_writing(self) -> None:
            pass

    async def main() -> Sink:
        ours, peer = socket.socketpair()
        ours.setblocking(False)
        sink = Sink()
        transport = TrioTransport(ours, sink, TrioBackend())  # type: ignore[arg-type]
        peer.sendall(b'before')
        while not sink.received:
            await trio.sleep(0.01)
        transport.write(b'x' * (8 << 20))  # more than the socket takes: close must flush
        assert transport.get_write_buffer_size() > 0
        transport.close()
        peer.sendall(b'late')
        await trio.sleep(0.1)
        assert sink.received == [b'before']  # the late bytes were not handed over
        assert sink.lost == []  # still flushing
        peer.setblocking(False)
        drained = 0
        with trio.fail_after(10):
            while True:  # read all that was queued, up to the close's EOF
                try:
                    chunk = peer.recv(1 << 20)
                except BlockingIOError:
                    await trio.sleep(0.01)
                    continue
                if not chunk:
                    break
                drained += len(chunk)
        peer.close()
        await trio.sleep(0)  # connection_lost comes from a loop callback
        assert drained == 8 << 20
        return sink

    sink = trio.run(main)
    assert sink.received == [b'before']
    assert sink.lost == [None]
