"""IOLoop's own pollers (select/poll/epoll without `selectors`) and its reader fast path.

The loop keeps, next to its fd -> watch dict, a dict of the fds watched for reading only, whose
readiness events call the reader without any mask check (`_plain_readers`). These tests pin that
the fast path and the general path (`_dispatch_fd`) agree, that registration follows the
watches, and that errors and hang-ups still reach the reader.
"""

from __future__ import annotations

import selectors
import socket
from typing import TYPE_CHECKING

import pytest

from pika.adapters import select_connection
from pika.adapters._io import pollers as _pollers
from pika.adapters._io import timers as _timers
from pika.adapters.select_connection import READ, WRITE, IOLoop, SelectConnection

if TYPE_CHECKING:
    from collections.abc import Iterator

POLLERS = select_connection.available_poller_types()  # the `ioloop` fixture: conftest.py


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    left.setblocking(False)
    right.setblocking(False)
    yield left, right
    left.close()
    right.close()


def test_plain_readers_follow_the_watches(
    ioloop: IOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    fd = pair[0].fileno()

    def reader() -> None:
        pass

    def writer() -> None:
        pass

    ioloop.set_reader(fd, reader)
    assert ioloop._plain_readers[fd] is reader
    assert ioloop._watches[fd].registered == READ
    ioloop.set_writer(fd, writer)  # reading and writing: the general path
    assert fd not in ioloop._plain_readers
    assert ioloop._watches[fd].registered == READ | WRITE
    ioloop.remove_writer(fd)
    assert ioloop._plain_readers[fd] is reader
    ioloop.add_handler(fd, lambda _fd, _events: None, READ)  # a handler: the general path
    assert fd not in ioloop._plain_readers
    ioloop.remove_handler(fd)
    assert ioloop._plain_readers[fd] is reader
    ioloop.remove_reader(fd)
    assert fd not in ioloop._plain_readers
    assert fd not in ioloop._watches


def test_writer_only_fd_is_not_a_plain_reader(
    ioloop: IOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    fd = pair[0].fileno()
    calls: list[str] = []
    ioloop.set_writer(fd, lambda: calls.append('w'))
    assert fd not in ioloop._plain_readers
    ioloop.poll()
    assert calls == ['w']  # a connected socket pair is writable at once


def test_fast_and_general_paths_call_the_reader_alike(
    ioloop: IOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    fd = left.fileno()
    calls: list[str] = []
    ioloop.set_reader(fd, lambda: calls.append(left.recv(10).decode()))
    right.send(b'a')
    ioloop.poll()  # fast path
    ioloop.set_writer(fd, lambda: (calls.append('w'), ioloop.remove_writer(fd)))
    right.send(b'b')
    ioloop.poll()  # general path: writer first, then the reader
    assert calls == ['a', 'w', 'b']


@pytest.mark.parametrize('how', ['hangup', 'data_then_hangup'])
def test_hangup_and_error_reach_a_plain_reader(
    ioloop: IOLoop, pair: tuple[socket.socket, socket.socket], how: str
) -> None:
    left, right = pair
    seen: list[object] = []

    def reader() -> None:
        try:
            seen.append(left.recv(10))
        except OSError as exc:
            seen.append(type(exc))

    ioloop.set_reader(left.fileno(), reader)
    if how == 'data_then_hangup':
        right.send(b'x')
    right.close()
    ioloop.poll()
    assert seen == [b'x' if how == 'data_then_hangup' else b'']


def test_error_only_handler_is_reported_readable(
    ioloop: IOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    calls: list[int] = []
    ioloop.add_handler(left.fileno(), lambda _fd, events: calls.append(events), IOLoop.ERROR)
    right.close()  # hang-up
    ioloop.poll()
    assert calls == [READ]


def test_a_reader_that_drops_another_fd_stops_its_dispatch(ioloop: IOLoop) -> None:
    pairs = [socket.socketpair() for _ in range(2)]
    calls: list[int] = []
    fds = [ours.fileno() for ours, _ in pairs]
    try:

        def make_reader(index: int) -> object:
            def reader() -> None:
                calls.append(index)
                pairs[index][0].recv(10)
                for fd in fds:  # whichever runs first removes both readers
                    ioloop.remove_reader(fd)

            return reader

        for index, fd in enumerate(fds):
            ioloop.set_reader(fd, make_reader(index))  # type: ignore[arg-type]
        for _, peer in pairs:
            peer.send(b'x')
        ioloop.poll()
        assert len(calls) == 1
    finally:
        for ours, peer in pairs:
            ours.close()
            peer.close()


def test_poll_without_timers_waits_for_io_and_with_a_timer_wakes_for_it(
    ioloop: IOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    fired: list[str] = []
    ioloop.call_later(0.01, lambda: fired.append('timer'))
    ioloop.call_later(0.05, ioloop.stop)
    ioloop.start()
    assert fired == ['timer']
    assert not ioloop._timer_heap
    timeouts: list[object] = []
    real_poll = ioloop._poll_fds

    def recording_poll(timeout: object) -> object:
        timeouts.append(timeout)
        return real_poll(timeout)  # type: ignore[arg-type]

    ioloop._poll_fds = recording_poll  # type: ignore[assignment]
    left, right = pair
    ioloop.set_reader(left.fileno(), lambda: (left.recv(10), ioloop.stop()))
    right.send(b'x')
    ioloop.start()
    assert timeouts == [None]  # no timer: no clock read and no timeout


def test_epoll_modify_of_a_reused_fd_registers_it_again() -> None:
    if 'epoll' not in POLLERS:
        pytest.skip('no epoll here')
    poller = _pollers.EPollPoller()
    left, right = socket.socketpair()
    try:
        fd = left.fileno()
        poller.register(fd, READ)
        left.close()  # the kernel drops it from the epoll set
        poller.unregister(fd)  # ignored
        left, right2 = socket.socketpair()
        right.close()
        right = right2
        assert left.fileno() == fd  # the lowest free number is reused
        poller.modify(fd, READ)  # would be ENOENT: registered instead
        right.send(b'x')
        assert poller.poll(1.0) == [(fd, READ)]
    finally:
        poller.close()
        left.close()
        right.close()


@pytest.mark.parametrize('make', [_pollers.SelectPoller, 'selectors'])
def test_select_and_selectors_pollers_report_read_and_write_bits(make: object) -> None:
    poller = (
        _pollers._SelectorsPoller(selectors.DefaultSelector())
        if make == 'selectors'
        else _pollers.SelectPoller()
    )
    left, right = socket.socketpair()
    try:
        fd = left.fileno()
        poller.register(fd, READ)
        assert poller.poll(0) == []
        right.send(b'x')
        assert poller.poll(1.0) == [(fd, READ)]
        poller.modify(fd, READ | WRITE)
        assert poller.poll(1.0) == [(fd, READ | WRITE)]
        poller.modify(fd, WRITE)
        assert poller.poll(1.0) == [(fd, WRITE)]
        poller.unregister(fd)
        assert poller.poll(0) == []
    finally:
        poller.close()
        left.close()
        right.close()


def test_poll_poller_timeout_is_in_seconds() -> None:
    if 'poll' not in POLLERS:
        pytest.skip('no poll here')
    poller = _pollers.PollPoller()
    left, right = socket.socketpair()
    try:
        poller.register(left.fileno(), READ)
        assert poller.poll(0.001) == []
        right.send(b'x')
        assert poller.poll(None) == [(left.fileno(), READ)]
    finally:
        poller.close()
        left.close()
        right.close()


def test_clock_is_monotonic_unless_time_is_redefined() -> None:
    import time

    loop = IOLoop()
    try:
        assert loop._clock is time.monotonic
        conn = SelectConnection(custom_ioloop=loop, internal_connection_workflow=False)
        assert conn._now is time.monotonic
    finally:
        loop.close()

    class FakeTimeLoop(IOLoop):
        def time(self) -> float:
            return 1000.0

    fake = FakeTimeLoop()
    try:
        assert fake._clock() == 1000.0
        handle = fake.call_later(5, lambda: None)
        assert handle.deadline == 1005.0
        conn = SelectConnection(custom_ioloop=fake, internal_connection_workflow=False)
        assert conn._now() == 1000.0
    finally:
        fake.close()


def test_timer_entries_stay_the_same_list_through_compaction() -> None:
    queue = _timers.TimerQueue(lambda: 0.0)
    entries = queue.entries
    handles = [queue.call_later(1, lambda: None) for _ in range(_timers._COMPACT_MIN_CANCELLED * 3)]
    for handle in handles[:-1]:
        queue.cancel(handle)
    assert queue.entries is entries
    assert len(entries) < len(handles)
    assert queue.next_timeout(0.0) == 1.0


def test_negative_fd_is_refused_at_registration(ioloop: IOLoop) -> None:
    with pytest.raises(ValueError, match='Invalid file descriptor'):
        ioloop.set_reader(-1, lambda: None)
    assert -1 not in ioloop._watches


def test_call_later_checks_delays_of_every_type_alike() -> None:
    import enum
    import fractions

    class Delay(enum.IntEnum):
        ONE = 1

    queue = _timers.TimerQueue(lambda: 10.0)
    for delay, deadline in (
        (0, 10.0),
        (2.5, 12.5),
        (fractions.Fraction(1, 2), 10.5),
        (Delay.ONE, 11.0),
    ):
        handle = queue.call_later(delay, lambda: None)
        assert handle.deadline == deadline and type(handle.deadline) is float
    for bad, error in ((True, TypeError), ('1', TypeError), (None, TypeError)):
        with pytest.raises(error, match='delay must be a number'):
            queue.call_later(bad, lambda: None)  # type: ignore[arg-type]
    for bad_value in (float('nan'), -1, -0.5, fractions.Fraction(-1, 2)):
        with pytest.raises(ValueError, match='delay must be >= 0'):
            queue.call_later(bad_value, lambda: None)
    with pytest.raises(TypeError, match='callable'):
        queue.call_later(1, None)  # type: ignore[arg-type]


def test_select_connection_on_a_duck_typed_loop_reads_its_time() -> None:
    class DuckLoop:
        def time(self) -> float:
            return 7.0

        def call_later(self, delay: float, callback: object) -> object:
            return object()

        def remove_timeout(self, handle: object) -> None:
            pass

    conn = SelectConnection(custom_ioloop=DuckLoop(), internal_connection_workflow=False)  # type: ignore[arg-type]
    assert conn._now() == 7.0
