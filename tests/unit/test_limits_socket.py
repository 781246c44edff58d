"""docs/limits.md end to end, without a broker: a fake broker on a real socket announces a
message body of 2^63 bytes to a ``BlockingConnection`` consumer, which must close the
connection with 506 at once, with a clear error, and release its socket."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Optional

import pytest

import pika
from pika import exceptions, frame, spec
from tests.helpers import server_frames as sf


class FakeBroker:
    """Accepts one client, completes the handshake, opens its channel, answers its
    Basic.Consume with a delivery whose header announces ``body_size`` bytes, then records
    what the client sends until it closes the socket."""

    def __init__(self, body_size: int) -> None:
        self.body_size = body_size
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port: int = self.listener.getsockname()[1]
        self.received: list[Any] = []  # the methods the client sent
        self.closed_by_client = threading.Event()
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with self.listener, self.listener.accept()[0] as conn:
                conn.settimeout(10)
                self._serve(conn)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _serve(self, conn: socket.socket) -> None:
        buf = bytearray()
        assert self._read_exactly(conn, buf, 8) == sf.PROTOCOL_HEADER
        conn.sendall(sf.start())
        self._expect(conn, buf, spec.Connection.StartOk)
        conn.sendall(sf.tune(channel_max=0, frame_max=131072, heartbeat=0))
        self._expect(conn, buf, spec.Connection.TuneOk)
        self._expect(conn, buf, spec.Connection.Open)
        conn.sendall(sf.open_ok())
        self._expect(conn, buf, spec.Channel.Open)
        conn.sendall(sf.channel_open_ok(1))
        consume = self._expect(conn, buf, spec.Basic.Consume)
        tag = consume.consumer_tag
        deliver = sf.method(1, spec.Basic.Deliver(tag, 1, False, '', 'q'))
        header = frame.Header(1, self.body_size, spec.BasicProperties()).marshal()
        # The body frames would follow, forever; the client must not wait for them. (One
        # write, small enough to be read at once: a client closing with unread bytes makes
        # the kernel reset the connection, which could discard its Connection.Close.)
        body = frame.Body(1, b'x' * 1000).marshal()
        conn.sendall(sf.method(1, spec.Basic.ConsumeOk(tag)) + deliver + header + body)
        while self._next_method(conn, buf) is not None:
            pass
        self.closed_by_client.set()

    @staticmethod
    def _read_exactly(conn: socket.socket, buf: bytearray, count: int) -> bytes:
        while len(buf) < count:
            chunk = conn.recv(65536)
            if not chunk:
                raise EOFError
            buf += chunk
        data = bytes(buf[:count])
        del buf[:count]
        return data

    def _next_method(self, conn: socket.socket, buf: bytearray) -> Any:
        """The next method the client sends, or None at EOF."""
        while True:
            consumed, decoded = frame.decode_frame(bytes(buf), 0)
            if decoded is not None:
                del buf[:consumed]
                method = getattr(decoded, 'method', None)
                if method is not None:
                    self.received.append(method)
                    return method
                continue
            try:
                chunk = conn.recv(65536)
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            buf += chunk

    def _expect(self, conn: socket.socket, buf: bytearray, cls: type) -> Any:
        method = self._next_method(conn, buf)
        assert isinstance(method, cls), method
        return method


@pytest.mark.parametrize('body_size', [2**63, 64 * 1024 * 1024])
def test_a_blocking_consumer_refuses_a_body_above_max_message_size(body_size: int) -> None:
    broker = FakeBroker(body_size)
    params = pika.ConnectionParameters(
        '127.0.0.1', broker.port, heartbeat=0, max_message_size=1024 * 1024
    )
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    delivered: list[Any] = []
    channel.basic_consume('q', lambda *args: delivered.append(args))
    started = time.monotonic()
    with pytest.raises(exceptions.AMQPConnectionError) as caught:
        channel.start_consuming()
    assert time.monotonic() - started < 5
    assert delivered == []
    error = caught.value
    assert isinstance(error, exceptions.ConnectionClosed), repr(error)
    assert error.reply_code == spec.RESOURCE_ERROR
    assert f'message body of {body_size} bytes on channel 1' in error.reply_text
    assert 'exceeds max_message_size 1048576' in error.reply_text
    assert connection.is_closed
    assert broker.closed_by_client.wait(5), broker.error  # the client closed its socket
    broker.thread.join(5)
    assert broker.error is None
    closes = [m for m in broker.received if isinstance(m, spec.Connection.Close)]
    assert [c.reply_code for c in closes] == [spec.RESOURCE_ERROR]
