"""Helpers shared by the test suites: broker probes, a private RabbitMQ node, a TCP proxy.

Only the standard library is used here so the helpers work before ``pika`` itself imports.
"""

from __future__ import annotations

import socket

__all__ = ['AMQP_HEADER', 'amqp_answers', 'read_connection_start']

#: The AMQP 0-9-1 protocol header a client sends first.
AMQP_HEADER = b'AMQP\x00\x00\x09\x01'

_FRAME_PREFIX = 7  # type (1) + channel (2) + size (4)
_START_ID = b'\x00\x0a\x00\x0a'  # Connection (10) . Start (10)


def read_connection_start(sock: socket.socket) -> bytes:
    """Send the protocol header on ``sock`` and return the payload of the Connection.Start frame.

    Raises ``ConnectionError`` when the peer closes early or answers something else, and
    ``TimeoutError``/``socket.timeout`` when the socket's timeout expires first.
    """
    sock.sendall(AMQP_HEADER)
    data = b''
    while True:
        if len(data) >= _FRAME_PREFIX:
            size = int.from_bytes(data[3:7], 'big')
            if len(data) >= _FRAME_PREFIX + size + 1:
                break
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f'peer closed after {len(data)} bytes: {data[:16]!r}')
        data += chunk
    payload = data[_FRAME_PREFIX : _FRAME_PREFIX + size]
    if data[0] != 1 or data[1:3] != b'\x00\x00' or payload[:4] != _START_ID:
        raise ConnectionError(f'not a Connection.Start frame: {data[:16]!r}')
    return payload


def amqp_answers(host: str, port: int, timeout: float = 3.0) -> bool:
    """Return True when an AMQP 0-9-1 broker at ``host:port`` answers with Connection.Start.

    A socket that accepts but stays silent (a frozen broker) counts as not answering.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            read_connection_start(sock)
    except OSError:
        return False
    return True
