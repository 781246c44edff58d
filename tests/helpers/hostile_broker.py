"""A scriptable fake broker on a real listening socket, for the hostile-broker catalogue.

A :class:`HostileBroker` listens on 127.0.0.1 (a free port), accepts one client connection and
plays a *script* on it from a thread: a list of steps, each one of

- :class:`Send` bytes (frames built with :mod:`tests.helpers.server_frames`, or raw bytes);
- :class:`Expect` a client method (``pika.spec`` class) and keep it (``broker.seen``);
- :class:`Sleep`;
- :class:`Trickle` bytes at N bytes per second (a slowloris peer);
- :class:`Flood` the same bytes over and over until the client goes away;
- :class:`Reset` the TCP connection (``SO_LINGER`` 0, so the client gets an RST);
- :class:`Close` the connection cleanly (FIN).

After the last step the broker reads and drops whatever the client sends until the client
closes its end (or :meth:`HostileBroker.close` is called), so a script need not guess how the
client finishes. ``Send`` also takes a callable of the broker, for bytes that depend on what
the client sent. Nothing here uses pika's core: client frames are parsed with
``pika.frame.decode_frame``, server frames built with ``pika.frame``'s ``marshal()``.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from pika import frame, spec
from tests.helpers import server_frames as sf

__all__ = [
    'Close',
    'Expect',
    'Flood',
    'HostileBroker',
    'Reset',
    'Send',
    'Sleep',
    'Step',
    'Trickle',
    'handshake',
]

#: How long a step waits for the client before the script gives up (and closes).
STEP_TIMEOUT = 10.0
#: How many client methods no Expect has matched yet are remembered (the oldest go first), so
#: a client acking a flood does not make the broker's own memory grow with it.
BACKLOG = 1000


@dataclass(frozen=True)
class Send:
    """Send bytes (or ``data(broker)``'s bytes) at once."""

    data: Union[bytes, Callable[[HostileBroker], bytes]]


@dataclass(frozen=True)
class Expect:
    """Read client frames until a method of ``method`` (for which ``check``, when given, returns
    True) arrives; fail the script if it does not within ``timeout``."""

    method: type
    check: Optional[Callable[[Any], bool]] = None
    timeout: float = STEP_TIMEOUT


@dataclass(frozen=True)
class Sleep:
    """Do nothing for ``seconds`` (the client's bytes are read later)."""

    seconds: float


@dataclass(frozen=True)
class Trickle:
    """Send ``data`` ``rate`` bytes per second (1: a slowloris peer), until done or closed."""

    data: bytes
    rate: float = 1.0


@dataclass(frozen=True)
class Flood:
    """Send ``data`` ``count`` times (``None``: until the client stops reading or goes away)."""

    data: bytes
    count: Optional[int] = None


@dataclass(frozen=True)
class Reset:
    """Abort the TCP connection: ``SO_LINGER`` 0 then close, so the client reads an RST."""


@dataclass(frozen=True)
class Close:
    """Close the connection cleanly (the client reads EOF)."""


Step = Union[Send, Expect, Sleep, Trickle, Flood, Reset, Close]


def handshake(
    tune: Optional[bytes] = None,
    channels: tuple[int, ...] = (),
    consume: Optional[int] = None,
    confirm: Optional[int] = None,
    qos: bool = False,
) -> list[Step]:
    """The steps of a well-behaved broker up to Connection.OpenOk, then Channel.OpenOk for each
    of ``channels``, Basic.ConsumeOk (echoing the client's tag) on channel ``consume`` and
    Confirm.SelectOk on channel ``confirm`` (Basic.QosOk first when ``qos``)."""
    steps: list[Step] = [
        Expect(frame.ProtocolHeader),
        Send(sf.start()),
        Expect(spec.Connection.StartOk),
        Send(tune if tune is not None else sf.tune(heartbeat=0)),
        Expect(spec.Connection.Open),
        Send(sf.open_ok()),
    ]
    for number in channels:
        steps += [Expect(spec.Channel.Open), Send(sf.channel_open_ok(number))]
    if confirm is not None:
        steps += [
            Expect(spec.Confirm.Select),
            Send(sf.method(confirm, spec.Confirm.SelectOk())),
        ]
    if consume is not None:
        number = consume
        if qos:
            steps += [Expect(spec.Basic.Qos), Send(sf.method(number, spec.Basic.QosOk()))]
        steps += [
            Expect(spec.Basic.Consume),
            Send(
                lambda b: sf.method(
                    number, spec.Basic.ConsumeOk(b.seen[spec.Basic.Consume].consumer_tag)
                )
            ),
        ]
    return steps


@dataclass
class HostileBroker:
    """One fake broker: listens at construction, plays ``script`` on the first connection.

    Use as a context manager; :meth:`close` stops the script, closes every socket and joins the
    thread. ``failures`` lists what went wrong on the broker's side (an Expect that never came),
    so a test can tell a broken script from a broken client.
    """

    script: list[Step]
    seen: dict[type, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    bytes_sent: int = 0

    def __post_init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(1)
        self.host, self.port = self._listener.getsockname()
        self._conn: Optional[socket.socket] = None
        self._inbox = bytearray()
        self._backlog: deque[Any] = deque(maxlen=BACKLOG)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='hostile-broker', daemon=True)
        self._thread.start()

    def __enter__(self) -> HostileBroker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the script, close the sockets, join the thread (idempotent)."""
        self._stop.set()
        conn = self._conn
        if conn is not None:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(10)
        self._listener.close()

    @property
    def finished(self) -> bool:
        """Whether the script thread has ended."""
        return not self._thread.is_alive()

    # -- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        self._listener.settimeout(STEP_TIMEOUT)
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        self._conn = conn
        try:
            for step in self.script:
                if self._stop.is_set() or not self._play(conn, step):
                    return
            self._drain(conn)
        except OSError:
            pass  # the client went away: that ends any script
        finally:
            self._conn = None
            conn.close()

    def _play(self, conn: socket.socket, step: Step) -> bool:
        """Play one step; False when the script must end here (the socket is then done)."""
        conn.settimeout(None)  # sends block while the client does not read; close() unblocks
        if isinstance(step, Send):
            data = step.data(self) if callable(step.data) else step.data
            conn.sendall(data)
            self.bytes_sent += len(data)
        elif isinstance(step, Expect):
            return self._expect(conn, step)
        elif isinstance(step, Sleep):
            self._stop.wait(step.seconds)
        elif isinstance(step, Trickle):
            self._trickle(conn, step)
        elif isinstance(step, Flood):
            self._flood(conn, step)
        elif isinstance(step, Reset):
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            return False
        elif isinstance(step, Close):
            conn.shutdown(socket.SHUT_RDWR)
            return False
        return True

    def _expect(self, conn: socket.socket, step: Expect) -> bool:
        deadline = time.monotonic() + step.timeout
        while not self._stop.is_set():
            got = self._take(step.method, step.check)
            if got is not None:
                self.seen[step.method] = got
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                break
            conn.settimeout(min(left, 0.2))
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            if not data:
                self.failures.append(f'client closed while {step.method.__name__} was expected')
                return False
            self._inbox += data
        self.failures.append(f'no {step.method.__name__} from the client')
        return False

    def _take(self, wanted: type, check: Optional[Callable[[Any], bool]]) -> Any:
        """The first client method (or frame) of type ``wanted`` (passing ``check``) received
        so far, removed from the backlog; the others stay, so the client may send in any order
        (channels opened at once by a callback adapter, for instance)."""
        while True:
            consumed, decoded = frame.decode_frame(self._inbox, 0)
            if decoded is None:
                break
            del self._inbox[:consumed]
            self._backlog.append(getattr(decoded, 'method', decoded))
        for index, got in enumerate(self._backlog):
            if isinstance(got, wanted) and (check is None or check(got)):
                del self._backlog[index]
                return got
        return None

    def _trickle(self, conn: socket.socket, step: Trickle) -> None:
        pause = 1.0 / step.rate
        for index in range(len(step.data)):
            conn.sendall(step.data[index : index + 1])
            self.bytes_sent += 1
            if self._stop.wait(pause):
                return

    def _flood(self, conn: socket.socket, step: Flood) -> None:
        sent = 0
        while not self._stop.is_set() and (step.count is None or sent < step.count):
            conn.sendall(step.data)
            sent += 1
            self.bytes_sent += len(step.data)

    def _drain(self, conn: socket.socket) -> None:
        """Read and drop what the client sends until it closes (or the broker is closed)."""
        conn.settimeout(0.2)
        while not self._stop.is_set():
            try:
                if not conn.recv(65536):
                    return
            except socket.timeout:
                continue
