"""A tiny threaded fake broker on a real socket, for tests of bad input and of secrets.

:class:`FakePeer` speaks a scripted AMQP handshake, answers Channel.Open, Queue.Declare, Close
and a few others like RabbitMQ, and, when the client sends a chosen method, answers with the
bytes the test gives instead (garbage, an oversize frame, a wrong frame-end octet, ...).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Any, Callable, Optional

import pika
from pika import frame, spec
from pika._wire.constants import FRAME_HEADER_SIZE
from tests.helpers import server_frames as sf


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError('client closed')
        data += chunk
    return data


def read_client_frame(sock: socket.socket) -> Any:
    """Read one frame the client sent and decode it (a ``pika.frame`` object)."""
    head = _recv_exact(sock, FRAME_HEADER_SIZE)
    size = struct.unpack('>I', head[3:7])[0]
    raw = head + _recv_exact(sock, size + 1)
    return frame.decode_frame(raw)[1]


class FakePeer:
    """A one-connection fake broker on ``127.0.0.1:<port>``.

    :param bad: bytes to send instead of answering the first ``trigger`` method
    :param trigger: the client method class that triggers ``bad`` (None: never)
    :param bad_handshake: bytes to send instead of Connection.Start
    """

    def __init__(
        self,
        bad: bytes = b'',
        trigger: Optional[type] = spec.Queue.Declare,
        bad_handshake: Optional[bytes] = None,
    ) -> None:
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.port: int = self._listener.getsockname()[1]
        self.bad = bad
        self.trigger = trigger
        self.bad_handshake = bad_handshake
        self.received: list[Any] = []
        self.bad_sent = threading.Event()
        self.client_closed = threading.Event()
        self._conn: Optional[socket.socket] = None
        self._thread = threading.Thread(target=self._serve, daemon=True, name='fake-peer')
        self._thread.start()

    def params(self, **overrides: Any) -> pika.ConnectionParameters:
        """Parameters that reach this peer (heartbeats off unless overridden)."""
        overrides.setdefault('heartbeat', 0)
        return pika.ConnectionParameters('127.0.0.1', self.port, **overrides)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        self._conn = conn
        conn.settimeout(30)
        try:
            self._handshake(conn)
            while True:
                received = read_client_frame(conn)
                self.received.append(received)
                self._answer(conn, received)
        except (OSError, ConnectionError, ValueError, AttributeError):
            pass
        finally:
            self.client_closed.set()
            with contextlib.suppress(OSError):
                conn.close()

    def _handshake(self, conn: socket.socket) -> None:
        assert _recv_exact(conn, 8) == sf.PROTOCOL_HEADER
        if self.bad_handshake is not None:
            conn.sendall(self.bad_handshake)
            self.bad_sent.set()
            return
        conn.sendall(sf.start())
        self.received.append(read_client_frame(conn))  # StartOk
        conn.sendall(sf.tune(heartbeat=0))
        self.received.append(read_client_frame(conn))  # TuneOk
        self.received.append(read_client_frame(conn))  # Connection.Open
        conn.sendall(sf.open_ok())

    def _answer(self, conn: socket.socket, received: Any) -> None:
        method = getattr(received, 'method', None)
        channel = getattr(received, 'channel_number', 0)
        if method is None:
            return
        if (
            self.trigger is not None
            and isinstance(method, self.trigger)
            and not self.bad_sent.is_set()
        ):
            conn.sendall(self.bad)
            self.bad_sent.set()
            return
        reply = _REPLIES.get(type(method))
        if reply is not None:
            conn.sendall(sf.method(channel, reply(method)))
        if isinstance(method, spec.Connection.CloseOk):
            raise ConnectionError('client finished the close')


_REPLIES: dict[type, Callable[[Any], Any]] = {
    spec.Channel.Open: lambda m: spec.Channel.OpenOk(),
    spec.Channel.Close: lambda m: spec.Channel.CloseOk(),
    spec.Connection.Close: lambda m: spec.Connection.CloseOk(),
    spec.Queue.Declare: lambda m: spec.Queue.DeclareOk(m.queue or 'amq.gen-x', 0, 0),
    spec.Basic.Qos: lambda m: spec.Basic.QosOk(),
    spec.Confirm.Select: lambda m: spec.Confirm.SelectOk(),
    spec.Exchange.Declare: lambda m: spec.Exchange.DeclareOk(),
    spec.Connection.UpdateSecret: lambda m: spec.Connection.UpdateSecretOk(),
}
