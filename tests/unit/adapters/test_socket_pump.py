"""The socket pumps without a broker: the one socket reader and BaseConnection's send paths.

`SocketReader.read` (both pumps' read) calls `sock.recv_into` itself (the error mapping stays in
`transport`), and `BaseConnection._flush` sends a lone output buffer with one `send_some` instead
of going through the output queue and `sendmsg`. These tests pin that the fast paths give what
the general ones give.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING, Any, Optional

import pytest

import pika
from pika import exceptions
from pika.adapters._io import transport as _transport
from pika.adapters._io.reader import SocketReader
from pika.adapters.base_connection import BaseConnection
from pika.adapters.select_connection import IOLoop

if TYPE_CHECKING:
    from collections.abc import Iterator


class _FakeCore:
    """Hands out the queued output parts, like `ConnectionCore.data_to_send_parts`."""

    def __init__(self) -> None:
        self.queued: list[Any] = []
        self.target: Optional[memoryview] = None  # what receive_buffer() hands out
        self.receiver = self  # SocketReader reads receiver.large_message

    @property
    def large_message(self) -> object:  # what the pump tests before asking receive_buffer()
        return self.target

    def receive_buffer(self) -> Optional[memoryview]:
        return self.target

    def data_to_send_parts(self) -> list[Any]:
        parts, self.queued = self.queued, []
        return parts


class _TrickleSocket:
    """Takes at most `limit` bytes per send/sendmsg; records the calls."""

    def __init__(self, limit: int, fail: Optional[OSError] = None) -> None:
        self.limit = limit
        self.fail = fail
        self.received = bytearray()
        self.calls: list[str] = []

    def fileno(self) -> int:
        return 1000

    def send(self, data: Any) -> int:
        self.calls.append('send')
        return self._take([data])

    def sendmsg(self, buffers: list[Any]) -> int:
        self.calls.append('sendmsg')
        return self._take(buffers)

    def _take(self, buffers: list[Any]) -> int:
        if self.fail is not None:
            raise self.fail
        taken = b''.join(bytes(b) for b in buffers)[: self.limit]
        self.received += taken
        return len(taken)


class _Pump(BaseConnection):
    """A BaseConnection with a fake core and socket; records what reaches the connection."""

    def __init__(self, loop: IOLoop, sock: Any) -> None:
        super().__init__(
            pika.ConnectionParameters(), None, None, None, loop, internal_connection_workflow=False
        )
        self._sock = sock
        self._fd = sock.fileno()
        self._core = _FakeCore()  # type: ignore[assignment]
        self.data: list[Any] = []
        self.lost: list[Optional[BaseException]] = []

    def _dispatch_pending(self) -> None:  # the events of a read, recorded instead
        self.data.extend(self._pending_events)
        self._pending_events.clear()

    def _on_stream_lost(self, error: Optional[BaseException]) -> None:
        self.lost.append(error)

    def _set_writer(self, active: bool) -> None:  # no real fd: only record the state
        self._writer_active = active


@pytest.fixture
def loop() -> Iterator[IOLoop]:
    ioloop = IOLoop()
    yield ioloop
    ioloop.close()


def _drain(pump: _Pump) -> None:
    for _ in range(1000):
        if not pump._unsent:
            return
        pump._on_writable()
    raise AssertionError('output never drained')


@pytest.mark.parametrize('limit', [1, 3, 7, 100])
@pytest.mark.parametrize('parts', [[b'abcdefgh'], [b'abc', bytearray(b'defgh')]])
def test_one_buffer_fast_path_and_queue_path_send_the_same_bytes(
    loop: IOLoop, limit: int, parts: list[Any]
) -> None:
    sock = _TrickleSocket(limit)
    pump = _Pump(loop, sock)
    core: _FakeCore = pump._core  # type: ignore[assignment]
    core.queued = list(parts)
    pump._flush()
    assert pump._writer_active == (limit < 8)
    _drain(pump)
    core.queued = [b'XYZ']  # after the backlog: the fast path again
    pump._flush()
    _drain(pump)
    assert bytes(sock.received) == b'abcdefghXYZ'
    assert pump._unsent.size == 0 and pump._unsent.offset == 0 and not pump._writer_active
    if len(parts) == 1 and limit == 100:
        assert sock.calls == ['send', 'send']  # no queue, no sendmsg


def test_fast_path_is_skipped_while_older_output_waits(loop: IOLoop) -> None:
    sock = _TrickleSocket(2)
    pump = _Pump(loop, sock)
    core: _FakeCore = pump._core  # type: ignore[assignment]
    core.queued = [b'1234']
    pump._flush()
    assert list(pump._unsent.parts) == [b'1234'] and pump._unsent.offset == 2
    sock.limit = 100
    core.queued = [b'56']
    pump._flush()  # joins the queue behind the rest of b'1234'
    assert bytes(sock.received) == b'123456'
    assert not pump._unsent and not pump._writer_active


def test_send_failure_on_the_fast_path_reports_stream_lost(loop: IOLoop) -> None:
    sock = _TrickleSocket(100, fail=ConnectionResetError(errno.ECONNRESET, 'reset'))
    pump = _Pump(loop, sock)
    pump._core.queued = [b'abc']  # type: ignore[union-attr]
    pump._flush()
    assert len(pump.lost) == 1 and isinstance(pump.lost[0], exceptions.StreamLostError)
    assert not pump._unsent and pump._unsent.size == 0


def test_send_would_block_on_the_fast_path_waits_for_writability(loop: IOLoop) -> None:
    sock = _TrickleSocket(100, fail=BlockingIOError(errno.EAGAIN, 'again'))
    pump = _Pump(loop, sock)
    pump._core.queued = [b'abc']  # type: ignore[union-attr]
    pump._flush()
    assert pump._writer_active and list(pump._unsent.parts) == [b'abc'] and pump._unsent.offset == 0
    sock.fail = None
    pump._on_writable()
    assert bytes(sock.received) == b'abc' and not pump._writer_active


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    left.setblocking(False)
    yield left, right
    left.close()
    right.close()


class _ReadCore:
    """What `SocketReader` uses of a core: records each feed, returns it as the 'event'."""

    def __init__(self) -> None:
        self.target: Optional[memoryview] = None  # what receive_buffer() hands out
        self.receiver = self  # SocketReader reads receiver.large_message

    @property
    def large_message(self) -> object:
        return self.target

    def receive_buffer(self) -> Optional[memoryview]:
        return self.target

    def receive_data(self, data: Any, now: float) -> list[Any]:
        return [('data', bytes(data))]

    def received_into(self, nbytes: int, now: float) -> list[Any]:
        return [('in_place', nbytes)]


def _reader(sock: Any, core: Optional[_ReadCore] = None, size: int = 1 << 20) -> SocketReader:
    return SocketReader(sock, core or _ReadCore(), size)  # type: ignore[arg-type]


def test_read_feeds_the_bytes_once(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    reader = _reader(left)
    right.sendall(b'hello' * 1000)
    assert reader.read(0.0) == [('data', b'hello' * 1000)]
    assert reader.read(0.0) == []  # nothing to read: nothing happens


def test_read_goes_into_the_core_buffer_when_it_offers_one(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, right = pair
    core = _ReadCore()
    reader = _reader(left, core)
    target = bytearray(8)
    core.target = memoryview(target)[2:]
    right.sendall(b'abcdefghij')
    assert reader.read(0.0) == [('in_place', 6)]  # at most the offered 6 bytes, as a count
    assert target == b'\0\0abcdef'
    core.target = None
    assert reader.read(0.0) == [('data', b'ghij')]  # the rest, through the reader's buffer


def test_read_with_a_limit_takes_at_most_that(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    core = _ReadCore()
    reader = _reader(left, core)
    right.sendall(b'abcdefghij')
    assert reader.read(0.0, 3) == [('data', b'abc')]
    target = bytearray(8)
    core.target = memoryview(target)
    assert reader.read(0.0, 2) == [('in_place', 2)] and target[:2] == b'de'


def test_read_of_eof_reports_stream_lost(
    loop: IOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    reader = _reader(left)
    right.sendall(b'last')
    right.shutdown(socket.SHUT_WR)
    assert reader.read(0.0) == [('data', b'last')]
    with pytest.raises(exceptions.StreamLostError, match='EOF'):
        reader.read(0.0)
    pump = _Pump(loop, left)  # BaseConnection hands the loss to the connection
    pump._reader = reader
    pump._on_readable()
    assert len(pump.lost) == 1 and 'EOF' in str(pump.lost[0])
    pump._sock = None  # the pump owns no socket any more: the fixture closes it


def test_on_readable_dispatches_what_one_read_produced(
    loop: IOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    pump = _Pump(loop, left)
    pump._reader = _reader(left)
    right.sendall(b'abc')
    pump._on_readable()
    pump._on_readable()  # nothing to read: nothing dispatched
    assert pump.data == [('data', b'abc')] and pump.lost == []
    pump._sock = None


def test_read_of_more_than_the_buffer_takes_one_buffer_per_read(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, right = pair
    reader = _reader(left, size=16)
    right.sendall(b'x' * 40)
    assert [len(reader.read(0.0)[0][1]) for _ in range(3)] == [16, 16, 8]


def test_receive_error_mapping() -> None:
    assert _transport.receive_error(BlockingIOError(errno.EAGAIN, 'again')) is None
    assert _transport.receive_error(InterruptedError(errno.EINTR, 'intr')) is None
    reset = ConnectionResetError(errno.ECONNRESET, 'reset')
    error = _transport.receive_error(reset)
    assert isinstance(error, exceptions.StreamLostError) and error.__cause__ is reset
    assert 'EOF' in str(_transport.eof_error())


class _FailingRecvSocket:
    def __init__(self, exc: OSError) -> None:
        self.exc = exc

    def fileno(self) -> int:
        return 1001

    def recv_into(self, _view: Any) -> int:
        raise self.exc


def test_read_failure_is_stream_lost_and_would_block_is_nothing() -> None:
    reset = ConnectionResetError(errno.ECONNRESET, 'reset')
    with pytest.raises(exceptions.StreamLostError, match='while receiving') as info:
        _reader(_FailingRecvSocket(reset)).read(0.0)
    assert info.value.__cause__ is reset
    blocked = _FailingRecvSocket(BlockingIOError(errno.EAGAIN, 'again'))
    assert _reader(blocked).read(0.0) == []
