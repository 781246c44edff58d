"""A threaded local TCP proxy that can freeze or drop the connections it carries.

Tests put it between a client and a broker to simulate network faults without touching the
broker: :meth:`TcpProxy.pause` stops forwarding in both directions while keeping every socket
open (a silent network, e.g. for missed-heartbeat tests), :meth:`TcpProxy.resume` lets the held
bytes through again, and :meth:`TcpProxy.close_all` drops every connection (the client sees EOF,
or a reset when asked for).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import struct
import threading
import time

from tests.helpers.owned import Owned

LOGGER = logging.getLogger(__name__)

_CHUNK = 65536
_POLL = 0.05  # seconds between checks of the pause/close flags


def _close_socket(sock: socket.socket, reset: bool) -> None:
    """Close ``sock``; with ``reset`` send a TCP RST (SO_LINGER 0) instead of a FIN."""
    with contextlib.suppress(OSError):
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class _Pipe:
    """One proxied connection: a client socket, an upstream socket and their forwarding thread."""

    def __init__(self, client: socket.socket, upstream: socket.socket, proxy: TcpProxy) -> None:
        self.client = client
        self.upstream = upstream
        self._proxy = proxy
        self._closing = threading.Event()
        self._reset = False
        self.thread = threading.Thread(target=self._run, name='tcp-proxy-pipe', daemon=True)

    def close(self, reset: bool = False) -> None:
        """Ask the forwarding thread to close both sockets, then wait for it."""
        self._reset = reset
        self._closing.set()
        if threading.current_thread() is self.thread or not self.thread.is_alive():
            return
        self.thread.join(timeout=1)
        if self.thread.is_alive():  # stuck in sendall to a peer that does not read: unblock it
            for sock in (self.client, self.upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.thread.join(timeout=5)

    def _run(self) -> None:
        peers = {self.client: self.upstream, self.upstream: self.client}
        selector = selectors.DefaultSelector()
        for sock in peers:
            selector.register(sock, selectors.EVENT_READ)
        try:
            while not self._closing.is_set():
                if not self._proxy.forwarding.wait(_POLL):
                    continue  # paused: read nothing, so nothing moves either way
                for key, _ in selector.select(_POLL):
                    if not self._forward(key.fileobj, peers):  # type: ignore[arg-type]
                        return
        finally:
            selector.close()
            _close_socket(self.client, self._reset)
            _close_socket(self.upstream, self._reset)
            self._proxy._forget(self)

    def _forward(self, source: socket.socket, peers: dict[socket.socket, socket.socket]) -> bool:
        """Move one chunk from ``source`` to its peer; False when either side is finished."""
        try:
            data = source.recv(_CHUNK)
            if data:
                peers[source].sendall(data)
        except OSError:
            return False
        return bool(data)


class TcpProxy(Owned):
    """Forward connections from ``127.0.0.1:<port>`` to ``target_host:target_port``.

    :param target_host: where to connect for every accepted client
    :param target_port: the target's port
    :param listen_host: address to listen on (the port is picked by the OS, see :attr:`port`)
    """

    def __init__(self, target_host: str, target_port: int, listen_host: str = '127.0.0.1') -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((listen_host, 0))
        self.host = listen_host
        self.port: int = self._listener.getsockname()[1]
        #: set while bytes may flow; cleared by :meth:`pause`
        self.forwarding = threading.Event()
        self.forwarding.set()
        self._pipes: set[_Pipe] = set()
        self._lock = threading.Lock()
        super().__init__(at_exit=False)
        self._acceptor = threading.Thread(target=self._accept_loop, name='tcp-proxy', daemon=True)
        self._acceptor.start()

    @property
    def connection_count(self) -> int:
        """Number of client connections currently proxied."""
        with self._lock:
            return len(self._pipes)

    def pause(self) -> None:
        """Stop forwarding in both directions; sockets stay open and data waits in the kernel."""
        self.forwarding.clear()

    def resume(self) -> None:
        """Forward again after :meth:`pause`."""
        self.forwarding.set()

    def close_all(self, reset: bool = False) -> None:
        """Drop every proxied connection (both sides). New connections are still accepted.

        :param reset: send TCP RST instead of a clean FIN
        """
        with self._lock:
            pipes = list(self._pipes)
        for pipe in pipes:
            pipe.close(reset)

    def drop_held_calls(self, after: float = 0.3) -> threading.Thread:
        """Pause now; from a thread, after ``after`` seconds, drop every connection and resume.

        For a blocking call made right after this returns: its request waits in the paused
        proxy, so the broker never answers it, and the loss arrives while the call waits.
        Returns the started thread (join it to know the drop happened).
        """

        def drop() -> None:
            time.sleep(after)
            self.close_all()
            self.resume()

        self.pause()
        dropper = threading.Thread(target=drop, name='tcp-proxy-drop', daemon=True)
        dropper.start()
        return dropper

    def _release(self) -> None:
        """Stop listening and drop every connection."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._listener.close()
        self._acceptor.join(timeout=5)
        self.close_all()

    def _forget(self, pipe: _Pipe) -> None:
        with self._lock:
            self._pipes.discard(pipe)

    def _accept_loop(self) -> None:
        while not self.closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError as exc:
                LOGGER.warning('tcp proxy could not reach %s:%d: %s', *self.target, exc)
                _close_socket(client, reset=False)
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pipe = _Pipe(client, upstream, self)
            with self._lock:
                if self.closed:
                    _close_socket(client, False)
                    _close_socket(upstream, False)
                    return
                self._pipes.add(pipe)
            pipe.thread.start()
