"""The pollers behind `IOLoop` and the blocking pump: epoll, poll and select called directly.

`make_poller(name)` returns an object that registers, modifies and unregisters fds for
READ|WRITE and waits for them. epoll, poll and select are driven through the `select` module
directly: the stdlib `selectors` layer builds a key object lookup and a result list on every
wait, which was a large part of a loop turn (one turn per RPC round trip). kqueue, which cannot
be exercised on Linux, keeps going through `selectors.KqueueSelector`. Which pollers exist and
which one to use is decided by `available_poller_types` and `choose_poller_type`
(`select_connection.POLLER_TYPE` feeds the latter).
"""

from __future__ import annotations

import select
import selectors
import sys
from typing import Optional, Protocol

__all__ = [
    'ERROR',
    'HANGUP',
    'READ',
    'WRITE',
    'EPollPoller',
    'KQueuePoller',
    'PollEvents',
    'PollPoller',
    'Poller',
    'SelectPoller',
    'available_poller_types',
    'choose_poller_type',
    'make_poller',
]

# Event bits of the pika 1.x `add_handler` API. READ and WRITE are also the bits every poller
# below registers and reports: they equal POLLIN/EPOLLIN and POLLOUT/EPOLLOUT (checked below), so
# epoll and poll results need no translation. A reported mask with any bit other than WRITE
# (POLLIN, POLLERR, POLLHUP, ...) makes the fd readable, any bit other than READ writable,
# as in `selectors`: an error or hang-up reaches the reader, whose recv then reports it.
READ = 0x0001
WRITE = 0x0004
ERROR = 0x0008
HANGUP = 0x0010  # pika 1.x's value; our pollers report a hang-up as READ (the recv sees EOF)


class PollEvents:
    """The event bits of `IOLoop.add_handler`, grouped as in pika 1.x's `select_connection`."""

    READ = READ
    WRITE = WRITE
    ERROR = ERROR
    HANGUP = HANGUP


_PREFERENCE = ('epoll', 'kqueue', 'poll', 'select')


def _native_bits(prefix: str) -> bool:
    """True if `select.<prefix>IN` and `select.<prefix>OUT` are READ and WRITE."""
    bits = (getattr(select, prefix + 'IN', None), getattr(select, prefix + 'OUT', None))
    return bits == (READ, WRITE)


_AVAILABLE = {
    'epoll': hasattr(select, 'epoll') and _native_bits('EPOLL'),
    'kqueue': hasattr(selectors, 'KqueueSelector'),
    'poll': hasattr(select, 'poll') and _native_bits('POLL'),
    'select': True,
}


def available_poller_types() -> list[str]:
    """Names of the pollers this platform supports, best first."""
    return [name for name in _PREFERENCE if _AVAILABLE[name]]


def choose_poller_type(requested: Optional[str]) -> str:
    """Resolve a `POLLER_TYPE` value to an available poller name.

    :raises ValueError: for an unknown name or a poller this platform lacks.
    """
    available = available_poller_types()
    if requested is None:
        return available[0]
    if not isinstance(requested, str) or requested.lower() not in _AVAILABLE:
        raise ValueError(
            f'POLLER_TYPE must be one of {sorted(_AVAILABLE)} or None, not {requested!r}'
        )
    name = requested.lower()
    if name not in available:
        raise ValueError(f'poller {name!r} is not available here; available: {available}')
    return name


# -- pollers: register/modify/unregister an fd for READ|WRITE, and wait ------------------------
#
# `poll(timeout)` waits up to `timeout` seconds (None: no limit) and returns `(fd, mask)` pairs.
# The loop only registers, modifies or unregisters what its watches say, so no poller needs to
# check for double registration.


class EPollPoller:
    """Linux epoll; `poll` is `select.epoll.poll` itself (seconds, None waits for ever)."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self.poll = self._epoll.poll

    def register(self, fd: int, events: int) -> None:
        self._epoll.register(fd, events)

    def modify(self, fd: int, events: int) -> None:
        try:
            self._epoll.modify(fd, events)
        except FileNotFoundError:  # the fd was closed (leaving the set) and its number reused
            self._epoll.register(fd, events)

    def unregister(self, fd: int) -> None:
        try:
            self._epoll.unregister(fd)
        except OSError:  # already closed: the kernel dropped it from the set
            pass

    def close(self) -> None:
        self._epoll.close()


class PollPoller:
    """poll(2); the timeout goes in as float milliseconds, which CPython rounds up."""

    def __init__(self) -> None:
        self._poll = select.poll()
        self.register = self._poll.register
        self.modify = self._poll.modify

    def unregister(self, fd: int) -> None:
        self._poll.unregister(fd)

    def poll(self, timeout: Optional[float]) -> list[tuple[int, int]]:
        return self._poll.poll(None if timeout is None else timeout * 1000.0)

    def close(self) -> None:
        pass


class SelectPoller:
    """select(2) over two fd sets (on Windows, a failed connect is reported as exceptional)."""

    def __init__(self) -> None:
        self._readers: set[int] = set()
        self._writers: set[int] = set()

    def modify(self, fd: int, events: int) -> None:
        for fds, bit in ((self._readers, READ), (self._writers, WRITE)):
            if events & bit:
                fds.add(fd)
            else:
                fds.discard(fd)

    register = modify

    def unregister(self, fd: int) -> None:
        self._readers.discard(fd)
        self._writers.discard(fd)

    def poll(self, timeout: Optional[float]) -> list[tuple[int, int]]:
        writers = self._writers
        exceptional = writers if sys.platform == 'win32' else ()
        readable, writable, failed = select.select(self._readers, writers, exceptional, timeout)
        if not writable and not failed:
            return [(fd, READ) for fd in readable]
        masks = dict.fromkeys(readable, READ)
        for fd in writable + failed:
            masks[fd] = masks.get(fd, 0) | WRITE
        return list(masks.items())

    def close(self) -> None:
        self._readers.clear()
        self._writers.clear()


class _SelectorsPoller:
    """Any `selectors` selector (used for kqueue), its EVENT_* bits mapped to READ/WRITE."""

    def __init__(self, selector: selectors.BaseSelector) -> None:
        self._selector = selector

    _EVENTS = {READ: selectors.EVENT_READ, WRITE: selectors.EVENT_WRITE}
    _EVENTS[READ | WRITE] = selectors.EVENT_READ | selectors.EVENT_WRITE

    def register(self, fd: int, events: int) -> None:
        self._selector.register(fd, self._EVENTS[events])

    def modify(self, fd: int, events: int) -> None:
        self._selector.modify(fd, self._EVENTS[events])

    def unregister(self, fd: int) -> None:
        self._selector.unregister(fd)

    def poll(self, timeout: Optional[float]) -> list[tuple[int, int]]:
        ready = self._selector.select(timeout)
        read_bit, write_bit = selectors.EVENT_READ, selectors.EVENT_WRITE
        return [
            (key.fd, (READ if mask & read_bit else 0) | (WRITE if mask & write_bit else 0))
            for key, mask in ready
        ]

    def close(self) -> None:
        self._selector.close()


class KQueuePoller(_SelectorsPoller):
    """BSD/macOS kqueue through `selectors.KqueueSelector` (constructing it elsewhere fails)."""

    def __init__(self) -> None:
        super().__init__(selectors.KqueueSelector())  # type: ignore[attr-defined,unused-ignore]


class Poller(Protocol):
    """What `IOLoop` and the blocking pump need from a poller (the classes above)."""

    def register(self, fd: int, events: int) -> None: ...
    def modify(self, fd: int, events: int) -> None: ...
    def unregister(self, fd: int) -> None: ...
    def poll(self, timeout: Optional[float]) -> list[tuple[int, int]]: ...
    def close(self) -> None: ...


def make_poller(poller_type: str) -> Poller:
    """A poller of `poller_type` (see `choose_poller_type`); also used by the blocking pump."""
    if poller_type == 'epoll':
        return EPollPoller()
    if poller_type == 'poll':
        return PollPoller()
    if poller_type == 'select':
        return SelectPoller()
    return KQueuePoller()
