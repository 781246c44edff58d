"""IOLoop without a broker: timers, thread-safe callbacks, fd handlers, poller selection."""

from __future__ import annotations

import socket
import threading

import pytest

from pika.adapters import select_connection
from pika.adapters.select_connection import IOLoop

POLLERS = select_connection.available_poller_types()  # the `ioloop` fixture: conftest.py


def test_available_pollers_include_select_and_default_is_the_best() -> None:
    assert 'select' in POLLERS
    assert select_connection.choose_poller_type(None) == POLLERS[0]


def test_unknown_poller_type_raises() -> None:
    with pytest.raises(ValueError, match='POLLER_TYPE'):
        select_connection.choose_poller_type('bogus')


def test_unavailable_poller_type_raises() -> None:
    missing = [name for name in ('epoll', 'kqueue', 'poll') if name not in POLLERS]
    if not missing:
        pytest.skip('every poller type exists here')
    with pytest.raises(ValueError, match='not available'):
        select_connection.choose_poller_type(missing[0])


def test_poller_type_override_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(select_connection, 'POLLER_TYPE', 'SELECT')
    loop = IOLoop()
    try:
        assert loop.poller_type == 'select'
    finally:
        loop.close()


def test_timers_fire_in_deadline_order_and_stop(ioloop: IOLoop) -> None:
    fired: list[str] = []
    ioloop.call_later(0.03, lambda: fired.append('late'))
    ioloop.call_later(0.0, lambda: fired.append('now'))
    ioloop.add_timeout(0.01, lambda: fired.append('soon'))
    ioloop.call_later(0.05, ioloop.stop)
    ioloop.start()
    assert fired == ['now', 'soon', 'late']


def test_removed_timeout_never_fires(ioloop: IOLoop) -> None:
    fired: list[int] = []
    handle = ioloop.call_later(0.01, lambda: fired.append(1))
    ioloop.remove_timeout(handle)
    ioloop.remove_timeout(handle)  # twice is harmless
    ioloop.call_later(0.03, ioloop.stop)
    ioloop.start()
    assert fired == []


def test_call_later_argument_errors(ioloop: IOLoop) -> None:
    with pytest.raises(TypeError):
        ioloop.call_later(0, 'not callable')  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ioloop.call_later(-1, lambda: None)
    with pytest.raises(TypeError):
        ioloop.add_callback_threadsafe(None)  # type: ignore[arg-type]


def test_stop_before_start_returns_after_one_iteration(ioloop: IOLoop) -> None:
    ioloop.stop()
    ioloop.start()  # must not hang
    assert not ioloop.is_running


def test_exception_from_timer_propagates_and_loop_restarts(ioloop: IOLoop) -> None:
    fired: list[str] = []

    def boom() -> None:
        raise KeyboardInterrupt

    ioloop.call_later(0, boom)
    ioloop.call_later(0, lambda: fired.append('after'))
    with pytest.raises(KeyboardInterrupt):
        ioloop.start()
    assert not ioloop.is_running
    ioloop.call_later(0.02, ioloop.stop)
    ioloop.start()
    assert fired == ['after']


def test_start_is_not_reentrant(ioloop: IOLoop) -> None:
    errors: list[BaseException] = []

    def nested() -> None:
        try:
            ioloop.start()
        except RuntimeError as exc:
            errors.append(exc)
        ioloop.stop()

    ioloop.call_later(0, nested)
    ioloop.start()
    assert len(errors) == 1


def test_add_callback_threadsafe_wakes_a_sleeping_loop(ioloop: IOLoop) -> None:
    called = threading.Event()
    thread_ids: list[int] = []

    def on_loop() -> None:
        thread_ids.append(threading.get_ident())
        called.set()
        ioloop.stop()

    # The only timer is far away: only the wake-up can end the poll early.
    safety = ioloop.call_later(30, ioloop.stop)
    timer = threading.Timer(0.05, ioloop.add_callback_threadsafe, args=(on_loop,))
    timer.start()
    ioloop.start()
    timer.join()
    ioloop.remove_timeout(safety)
    assert called.is_set()
    assert thread_ids == [threading.get_ident()]


def test_threadsafe_callbacks_keep_order_after_an_exception(ioloop: IOLoop) -> None:
    seen: list[int] = []

    def fail() -> None:
        raise RuntimeError('boom')

    ioloop.add_callback_threadsafe(lambda: seen.append(1))
    ioloop.add_callback_threadsafe(fail)
    ioloop.add_callback_threadsafe(lambda: seen.append(3))
    with pytest.raises(RuntimeError):
        ioloop.start()
    ioloop.add_callback_threadsafe(ioloop.stop)
    ioloop.start()
    assert seen == [1, 3]


def test_reader_and_writer_callbacks(ioloop: IOLoop) -> None:
    left, right = socket.socketpair()
    left.setblocking(False)
    right.setblocking(False)
    received: list[bytes] = []
    try:

        def on_writable() -> None:
            left.send(b'ping')
            ioloop.remove_writer(left.fileno())

        def on_readable() -> None:
            received.append(right.recv(100))
            ioloop.remove_reader(right.fileno())
            ioloop.stop()

        ioloop.set_writer(left.fileno(), on_writable)
        ioloop.set_reader(right.fileno(), on_readable)
        safety = ioloop.call_later(5, ioloop.stop)
        ioloop.start()
        ioloop.remove_timeout(safety)
    finally:
        left.close()
        right.close()
    assert received == [b'ping']


def test_pika1_add_handler_api(ioloop: IOLoop) -> None:
    left, right = socket.socketpair()
    fd = right.fileno()
    calls: list[tuple[int, int]] = []
    try:

        def handler(fd: int, events: int) -> None:
            calls.append((fd, events))
            if events & IOLoop.READ:
                right.recv(100)
                ioloop.remove_handler(fd)
                ioloop.stop()

        ioloop.add_handler(right.fileno(), handler, IOLoop.WRITE)
        with pytest.raises(ValueError):
            ioloop.add_handler(right.fileno(), handler, IOLoop.READ)
        ioloop.call_later(0.05, lambda: ioloop.update_handler(right.fileno(), IOLoop.READ))
        ioloop.call_later(0.06, lambda: left.send(b'x'))
        safety = ioloop.call_later(5, ioloop.stop)
        ioloop.start()
        ioloop.remove_timeout(safety)
    finally:
        left.close()
        right.close()
    assert calls[0] == (fd, IOLoop.WRITE)
    assert calls[-1] == (fd, IOLoop.READ)
    with pytest.raises(ValueError):
        ioloop.update_handler(12345, IOLoop.READ)


def test_closed_loop_refuses_to_start() -> None:
    loop = IOLoop()
    loop.close()
    loop.close()
    with pytest.raises(RuntimeError):
        loop.start()
