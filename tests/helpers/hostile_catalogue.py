"""The hostile-broker catalogue: what a broken or malicious broker does, and how we must end.

Each :class:`Case` is a script for :class:`tests.helpers.hostile_broker.HostileBroker`, the
client program it is played against (connect only, open a channel, consume, publish with
confirms...) and the expected outcome: the exact ``pika.exceptions`` class the application sees
(raised by ``BlockingConnection``, passed to the open-error or close callback of the callback
adapters), its reply code when it is a protocol close, and the time bound within which it must
come. Behaviours a client may tolerate (interleaved content of two channels, for instance) end
with the broker closing the connection, so every case has exactly one outcome to wait for.

:func:`run_case` plays one case against one adapter and measures it: the outcome, the time to
it, the tracemalloc peak (when the case states a memory bound) and the deliveries the
application received. ``tests/broker/test_hostile_broker.py`` checks every case on every
adapter; ``tools/hostile_catalogue.py`` prints the table for docs/limits.md.
"""

from __future__ import annotations

import asyncio
import struct
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pika
import pika.adapters.utils.connection_workflow
from pika import exceptions, spec
from pika.adapters.asyncio_connection import AsyncioConnection
from pika.adapters.blocking_connection import BlockingConnection
from pika.adapters.select_connection import SelectConnection
from tests.helpers import server_frames as sf
from tests.helpers.hostile_broker import (
    Close,
    Expect,
    Flood,
    HostileBroker,
    Reset,
    Send,
    Sleep,
    Step,
    Trickle,
    handshake,
)
from tests.helpers.select_loop import run_until_stopped

__all__ = ['ADAPTERS', 'CASES', 'Case', 'Result', 'run_case', 'truncation_cases']

ADAPTERS = ('blocking', 'select', 'asyncio')

#: The handshake bound every case's parameters set (``stack_timeout``), in seconds.
STACK_TIMEOUT = 2.0
#: A bound for outcomes that follow at once from what the broker sent (a refusal, a close).
PROMPT = 2.0
#: Memory bound (tracemalloc peak, the client and the fake broker's thread together) of every
#: case that states no other: an idle connection peaks at 1.1-1.3 MiB (1 MiB of it the client's
#: receive buffer).
PEAK = 4 * 1024 * 1024
#: Memory bound for cases that announce a large size: nothing may be allocated for it.
SMALL_PEAK = 2 * 1024 * 1024

CONSUMER_TAG = 'ctag1'


# -- raw frames the server_frames builders cannot make (they only make valid frames) ---------


def raw_frame(kind: int, channel: int, payload: bytes, end: int = 0xCE) -> bytes:
    """A frame with any type, channel, payload and end octet."""
    return struct.pack('>BHI', kind, channel, len(payload)) + payload + bytes([end])


def shortstr(data: bytes) -> bytes:
    """A shortstr of raw bytes (which need not be UTF-8)."""
    return bytes([len(data)]) + data


def deliver_payload(consumer_tag: bytes = b'ctag1', exchange: bytes = b'amq.direct') -> bytes:
    """The payload of a Basic.Deliver method frame, with any bytes in its strings."""
    return (
        struct.pack('>HH', 60, 60)
        + shortstr(consumer_tag)
        + struct.pack('>QB', 1, 0)
        + shortstr(exchange)
        + shortstr(b'rk')
    )


def nested_table(depth: int) -> bytes:
    """A field table holding a table holding ... ``depth`` levels (key 'a', type 'F')."""
    table = struct.pack('>I', 0)
    for _ in range(depth - 1):
        entry = shortstr(b'a') + b'F' + table
        table = struct.pack('>I', len(entry)) + entry
    return table


def nested_array(depth: int) -> bytes:
    """A field value: an array ('A') holding an array holding ... ``depth`` levels."""
    value = b'A' + struct.pack('>I', 0)
    for _ in range(depth - 1):
        value = b'A' + struct.pack('>I', len(value)) + value
    return value


def table_of(key: bytes, value: bytes) -> bytes:
    """A field table with one entry (``value``: a type octet and its encoding)."""
    entry = shortstr(key) + value
    return struct.pack('>I', len(entry)) + entry


def header_with_headers(channel: int, headers: bytes, body_size: int = 0) -> bytes:
    """A content header frame whose properties are only ``headers`` (raw table bytes)."""
    payload = struct.pack('>HHQH', 60, 0, body_size, 0x2000) + headers
    return raw_frame(2, channel, payload)


def start_with_properties(table: bytes) -> bytes:
    """Connection.Start whose server_properties are raw table bytes."""
    payload = (
        struct.pack('>HHBB', 10, 10, 0, 9)
        + table
        + struct.pack('>I', 5)
        + b'PLAIN'
        + struct.pack('>I', 5)
        + b'en_US'
    )
    return raw_frame(1, 0, payload)


def deliver_set(channel: int = 1, body: bytes = b'hello', tag: int = 1) -> bytes:
    """A whole Basic.Deliver set for the catalogue's consumer."""
    return sf.deliver(channel, body, delivery_tag=tag, consumer_tag=CONSUMER_TAG)


def header_only(channel: int, body_size: int) -> bytes:
    """A content header announcing ``body_size`` bytes (no body frames)."""
    return sf.content(channel, b'', body_size=body_size)


def body_frame(channel: int, data: bytes) -> bytes:
    """One content body frame."""
    return raw_frame(3, channel, data)


def deliver_method(channel: int, tag: int = 1, consumer_tag: str = CONSUMER_TAG) -> bytes:
    """Basic.Deliver alone (its content must follow)."""
    return sf.method(channel, spec.Basic.Deliver(consumer_tag, tag, False, 'amq.direct', 'rk'))


FORCED = sf.connection_close(320, 'CONNECTION_FORCED - the script is over')


# -- the catalogue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One hostile behaviour and the outcome it must have on every adapter."""

    id: str
    behaviour: str
    script: Callable[[], list[Step]]
    outcome: type[BaseException]
    bound: float = PROMPT
    program: str = 'connect'  # connect, channel, consume (auto_ack), consume-ack, two, confirm
    reply_code: Optional[int] = None
    params: dict[str, Any] = field(default_factory=dict)
    memory: int = PEAK  # tracemalloc peak bound, bytes
    deliveries: Optional[int] = None
    xfail: Optional[str] = None
    blocking: Optional[type[BaseException]] = None  # BlockingConnection's class, if not outcome

    def expected(self, adapter: str) -> type[BaseException]:
        """The exception class ``adapter`` must report."""
        if adapter == 'blocking' and self.blocking is not None:
            return self.blocking
        return self.outcome


def _consuming(*steps: Step, tune: Optional[bytes] = None) -> Callable[[], list[Step]]:
    return lambda: [*handshake(tune=tune, channels=(1,), consume=1, qos=True), *steps]


def _on_channel(*steps: Step, tune: Optional[bytes] = None) -> Callable[[], list[Step]]:
    return lambda: [*handshake(tune=tune, channels=(1,)), *steps]


def _before_start(*steps: Step) -> Callable[[], list[Step]]:
    return lambda: [Expect(pika.frame.ProtocolHeader), *steps]


def _after_start_ok(*steps: Step) -> Callable[[], list[Step]]:
    return lambda: [
        Expect(pika.frame.ProtocolHeader),
        Send(sf.start()),
        Expect(spec.Connection.StartOk),
        *steps,
    ]


def _tuned(tune: bytes, check: Callable[[Any], bool], *steps: Step) -> Callable[[], list[Step]]:
    return lambda: [
        Expect(pika.frame.ProtocolHeader),
        Send(sf.start()),
        Expect(spec.Connection.StartOk),
        Send(tune),
        Expect(spec.Connection.TuneOk, check),
        Expect(spec.Connection.Open),
        Send(sf.open_ok()),
        *steps,
    ]


_C = exceptions.ConnectionClosed
_BY_BROKER = exceptions.ConnectionClosedByBroker
_HUGE = 1 << 62
_STACK_TIMEOUT = pika.adapters.utils.connection_workflow.AMQPConnectorStackTimeout

CASES: list[Case] = [
    # -- the handshake ----------------------------------------------------------------------
    Case(
        'protocol-header-instead-of-start',
        'server protocol header (AMQP 0-9-1) instead of Connection.Start',
        _before_start(Send(sf.PROTOCOL_HEADER)),
        exceptions.IncompatibleProtocolError,
    ),
    Case(
        'amqp-1-0-header',
        'AMQP 1.0 protocol header instead of Connection.Start',
        _before_start(Send(b'AMQP\x00\x01\x00\x00')),
        exceptions.IncompatibleProtocolError,
    ),
    Case(
        'start-version-0-8',
        'Connection.Start for AMQP 0-8',
        _before_start(Send(sf.start(version=(0, 8)))),
        exceptions.IncompatibleProtocolError,
    ),
    Case(
        'start-no-supported-mechanism',
        'Connection.Start offering no SASL mechanism we support',
        _before_start(Send(sf.start(mechanisms='GSSAPI KERBEROS_V4'))),
        exceptions.AuthenticationError,
    ),
    Case(
        'start-empty-mechanisms',
        'Connection.Start offering no mechanism at all',
        _before_start(Send(sf.start(mechanisms=''))),
        exceptions.AuthenticationError,
    ),
    Case(
        'close-instead-of-start',
        'Connection.Close instead of Connection.Start',
        _before_start(Send(sf.connection_close(541, 'INTERNAL_ERROR'))),
        _BY_BROKER,
        reply_code=541,
    ),
    Case(
        'close-after-start-ok',
        'Connection.Close 403 after StartOk (login refused)',
        _after_start_ok(Send(sf.connection_close(403, 'ACCESS_REFUSED'))),
        exceptions.ProbableAuthenticationError,
    ),
    Case(
        'close-after-open',
        'Connection.Close 530 after Connection.Open (vhost refused)',
        _after_start_ok(
            Send(sf.tune(heartbeat=0)),
            Expect(spec.Connection.Open),
            Send(sf.connection_close(530, 'NOT_ALLOWED - vhost')),
        ),
        exceptions.ProbableAccessDeniedError,
    ),
    Case(
        'silent-after-header',
        'accepts TCP, never sends Connection.Start',
        _before_start(Sleep(30)),
        _STACK_TIMEOUT,
        bound=STACK_TIMEOUT + PROMPT,
        blocking=exceptions.AMQPConnectionError,
    ),
    Case(
        'slowloris-start',
        'slowloris: Connection.Start at one byte per second',
        _before_start(Trickle(sf.start(), rate=1.0)),
        _STACK_TIMEOUT,
        bound=STACK_TIMEOUT + PROMPT,
        blocking=exceptions.AMQPConnectionError,
    ),
    Case(
        'eof-before-start',
        'closes the TCP connection before Connection.Start',
        _before_start(Close()),
        exceptions.IncompatibleProtocolError,
    ),
    Case(
        'reset-mid-start',
        'resets the TCP connection in the middle of Connection.Start',
        _before_start(Send(sf.start()[:20]), Sleep(0.1), Reset()),
        exceptions.IncompatibleProtocolError,
    ),
    Case(
        'garbage-instead-of-start',
        'random bytes instead of Connection.Start',
        _before_start(Send(b'HTTP/1.1 400 Bad Request\r\n\r\n')),
        _C,
        reply_code=501,
    ),
    Case(
        'start-nested-properties',
        'server_properties nested 2,000 tables deep',
        _before_start(Send(start_with_properties(nested_table(2000)))),
        _C,
        reply_code=501,
    ),
    Case(
        'start-invalid-utf8-key',
        'invalid UTF-8 in a server_properties key (a short string)',
        _before_start(
            Send(
                start_with_properties(
                    struct.pack('>I', 5) + shortstr(b'\xc3\x28') + b'S' + struct.pack('>I', 0)
                )
            )
        ),
        _C,
        reply_code=501,
    ),
    Case(
        'tune-frame-max-below-minimum',
        'Connection.Tune with frame_max 1024 (below 4096)',
        _after_start_ok(Send(sf.tune(frame_max=1024, heartbeat=0))),
        _C,
        reply_code=530,
    ),
    Case(
        'tune-frame-max-zero',
        'Connection.Tune with frame_max 0: ours applies (131072), checked on a larger frame',
        _tuned(
            sf.tune(frame_max=0, heartbeat=0),
            lambda m: m.frame_max == sf.FRAME_MAX,
            Send(raw_frame(8, 0, b'x' * sf.FRAME_MAX)),
        ),
        _C,
        reply_code=501,
    ),
    Case(
        'tune-frame-max-2-32',
        'Connection.Tune with frame_max 2^32-1: ours applies, checked on a larger frame',
        _tuned(
            sf.tune(frame_max=2**32 - 1, heartbeat=0),
            lambda m: m.frame_max == sf.FRAME_MAX,
            Send(struct.pack('>BHI', 1, 0, 2**32 - 9)),
        ),
        _C,
        reply_code=501,
        memory=SMALL_PEAK,
    ),
    Case(
        'tune-channel-max-zero',
        'Connection.Tune with channel_max 0: ours applies; a channel opens',
        _tuned(
            sf.tune(channel_max=0, heartbeat=0),
            lambda m: m.channel_max == 65535,
            Expect(spec.Channel.Open),
            Send(sf.channel_open_ok(1)),
            Send(FORCED),
        ),
        _BY_BROKER,
        program='channel',
        reply_code=320,
    ),
    Case(
        'tune-twice',
        'a second Connection.Tune after the connection is open',
        _on_channel(Send(sf.tune(heartbeat=0))),
        _C,
        program='channel',
        reply_code=503,
    ),
    # -- channels ---------------------------------------------------------------------------
    Case(
        'frame-on-unopened-channel',
        'a method frame on a channel the client never opened',
        _on_channel(Send(sf.channel_close(5))),
        _C,
        program='channel',
        reply_code=504,
    ),
    Case(
        'frame-beyond-channel-max',
        'a frame on channel 11 after Tune said channel_max 10',
        _on_channel(Send(sf.channel_open_ok(11)), tune=sf.tune(channel_max=10, heartbeat=0)),
        _C,
        program='channel',
        reply_code=504,
    ),
    Case(
        'frame-head-unopened-channel',
        'the 7-byte head of a 100,000-byte frame on an unopened channel, then silence',
        _on_channel(Send(struct.pack('>BHI', 3, 9, 100000)), Sleep(30)),
        _C,
        program='channel',
        reply_code=504,
    ),
    Case(
        'huge-frame-head-unopened-channel',
        'the 7-byte head of a 2^32-9 byte frame on an unopened channel, then silence',
        _on_channel(Send(struct.pack('>BHI', 3, 9, 2**32 - 9)), Sleep(30)),
        _C,
        program='channel',
        reply_code=501,
        memory=SMALL_PEAK,
    ),
    Case(
        'oversized-frame-head',
        'a frame head announcing 2^32-9 bytes on an open channel, then silence',
        _on_channel(Send(struct.pack('>BHI', 1, 1, 2**32 - 9)), Sleep(30)),
        _C,
        program='channel',
        reply_code=501,
        memory=SMALL_PEAK,
    ),
    Case(
        'heartbeat-on-channel-1',
        'a heartbeat frame on channel 1',
        _on_channel(Send(raw_frame(8, 1, b''))),
        _C,
        program='channel',
        reply_code=501,
    ),
    Case(
        'unknown-frame-type',
        'a frame of type 9',
        _on_channel(Send(raw_frame(9, 1, b'\x00\x00'))),
        _C,
        program='channel',
        reply_code=501,
    ),
    Case(
        'bad-frame-end',
        'a method frame whose end octet is not 0xCE',
        _on_channel(Send(raw_frame(1, 1, struct.pack('>HH', 20, 41), end=0x00))),
        _C,
        program='channel',
        reply_code=501,
    ),
    Case(
        'unknown-method',
        'a method frame for class 99 method 99',
        _on_channel(Send(raw_frame(1, 1, struct.pack('>HH', 99, 99)))),
        _C,
        program='channel',
        reply_code=501,
    ),
    Case(
        'truncated-method-arguments',
        'Channel.Close whose reply_text length runs past the frame',
        _on_channel(Send(raw_frame(1, 1, struct.pack('>HHHB', 20, 40, 404, 200) + b'x' * 10))),
        _C,
        program='channel',
        reply_code=501,
    ),
    Case(
        'endless-garbage',
        'an endless stream of 0xCE bytes once open (never stops sending)',
        _on_channel(Flood(b'\xce' * 65536)),
        _C,
        program='channel',
        reply_code=501,
    ),
    Case(
        'unsolicited-close-ok',
        'Connection.CloseOk the client never asked for',
        _on_channel(Send(sf.connection_close_ok())),
        _C,
        program='channel',
        reply_code=503,
    ),
    # -- content ----------------------------------------------------------------------------
    Case(
        'header-without-method',
        'a content header frame without Basic.Deliver before it',
        _consuming(Send(header_only(1, 5))),
        _C,
        program='consume',
        reply_code=505,
    ),
    Case(
        'body-without-method',
        'a content body frame without method or header',
        _consuming(Send(body_frame(1, b'hello'))),
        _C,
        program='consume',
        reply_code=505,
    ),
    Case(
        'interleaved-content-one-channel',
        'a second Basic.Deliver on channel 1 before the first body is complete',
        _consuming(Send(deliver_method(1) + header_only(1, 10) + deliver_set(1, tag=2))),
        _C,
        program='consume',
        reply_code=505,
    ),
    Case(
        'interleaved-content-two-channels',
        'content of channels 1 and 2 interleaved frame by frame (legal: both delivered)',
        lambda: [
            *handshake(channels=(1,), consume=1),
            *handshake(channels=(2,), consume=2)[6:],
            Send(
                deliver_method(1, 1)
                + deliver_method(2, 1)
                + header_only(1, 6)
                + header_only(2, 6)
                + body_frame(1, b'one-1!')
                + body_frame(2, b'two-2!')
            ),
            Sleep(0.5),  # BlockingConnection, as pika 1.x, drops what a Close overtakes
            Send(FORCED),
        ],
        _BY_BROKER,
        program='two',
        reply_code=320,
        deliveries=2,
    ),
    Case(
        'body-size-2-62',
        'a content header announcing 2^62 bytes',
        _consuming(Send(deliver_method(1) + header_only(1, _HUGE))),
        _C,
        program='consume',
        reply_code=506,
        memory=SMALL_PEAK,
    ),
    Case(
        'body-size-2-64',
        'a content header announcing 2^64-1 bytes',
        _consuming(Send(deliver_method(1) + header_only(1, 2**64 - 1))),
        _C,
        program='consume',
        reply_code=506,
        memory=SMALL_PEAK,
    ),
    Case(
        'body-over-max-message-size',
        'a whole 64 KiB message to a client with max_message_size 4096',
        _consuming(Send(deliver_set(1, b'x' * 65536))),
        _C,
        program='consume',
        reply_code=506,
        params={'max_message_size': 4096},
    ),
    Case(
        'body-never-completes',
        'a 1 MiB body of which 64 KiB arrive, then silence (heartbeat 1 s)',
        _consuming(
            Send(deliver_method(1) + header_only(1, 1 << 20) + body_frame(1, b'x' * 65536)),
            Sleep(30),
            tune=sf.tune(heartbeat=1),
        ),
        exceptions.AMQPHeartbeatTimeout,
        bound=2 + 1 + PROMPT,
        program='consume',
        params={'heartbeat': 1},
    ),
    Case(
        'slowloris-body',
        'slowloris: a delivery body at one byte per second, heartbeat 1 s',
        _consuming(
            Send(deliver_method(1) + header_only(1, 100)),
            Trickle(body_frame(1, b'x' * 100), rate=1.0),
            tune=sf.tune(heartbeat=1),
        ),
        exceptions.AMQPHeartbeatTimeout,
        bound=2 + 1 + PROMPT,
        program='consume',
        params={'heartbeat': 1},
    ),
    Case(
        'deeply-nested-headers',
        'a delivery whose headers nest 1,000 tables deep',
        _consuming(Send(deliver_method(1) + header_with_headers(1, nested_table(1000)))),
        _C,
        program='consume',
        reply_code=501,
    ),
    Case(
        'invalid-utf8-exchange',
        'invalid UTF-8 in the exchange name (a short string) of Basic.Deliver',
        _consuming(
            Send(raw_frame(1, 1, deliver_payload(exchange=b'\xff\xfe')) + header_only(1, 0))
        ),
        _C,
        program='consume',
        reply_code=501,
    ),
    Case(
        'deliver-unknown-consumer-tag',
        'Basic.Deliver for a consumer tag never registered',
        _consuming(
            Send(sf.deliver(1, b'stray', consumer_tag='nobody')),
            Send(FORCED),
        ),
        _BY_BROKER,
        program='consume',
        reply_code=320,
        deliveries=0,
    ),
    Case(
        'delivery-flood-ignoring-prefetch',
        '20,000 deliveries of 1 KiB in one burst to a consumer with prefetch_count 1 (all acked)',
        _consuming(
            Send(b''.join(deliver_set(1, b'x' * 1024, tag) for tag in range(1, 20001))),
            Expect(spec.Basic.Ack, lambda m: m.delivery_tag == 20000),
            Send(FORCED),
        ),
        _BY_BROKER,
        bound=10.0,
        program='consume-ack',
        reply_code=320,
        deliveries=20000,
        memory=16 * 1024 * 1024,
    ),
    Case(
        'body-longer-than-announced',
        'body frames carrying more bytes than the content header announced',
        _consuming(Send(deliver_method(1) + header_only(1, 4) + body_frame(1, b'too long'))),
        _C,
        program='consume',
        reply_code=505,
    ),
    Case(
        'body-after-empty-content',
        'a body frame after a content header announcing 0 bytes',
        _consuming(Send(deliver_method(1) + header_only(1, 0) + body_frame(1, b'extra'))),
        _C,
        program='consume',
        reply_code=505,
    ),
    Case(
        'header-on-channel-0',
        'a content header frame on channel 0',
        _on_channel(Send(header_only(0, 5))),
        _C,
        program='channel',
        reply_code=505,
    ),
    Case(
        'long-string-past-frame',
        'a header property (long string in headers) claiming 2^32-1 bytes',
        _consuming(
            Send(
                deliver_method(1)
                + header_with_headers(
                    1, struct.pack('>I', 7) + shortstr(b'k') + b'S' + struct.pack('>I', 2**32 - 1)
                )
            )
        ),
        _C,
        program='consume',
        reply_code=501,
        memory=SMALL_PEAK,
    ),
    Case(
        'nested-arrays',
        'a delivery whose headers hold arrays nested 1,000 deep',
        _consuming(
            Send(deliver_method(1) + header_with_headers(1, table_of(b'k', nested_array(1000))))
        ),
        _C,
        program='consume',
        reply_code=501,
    ),
    Case(
        'get-ok-unasked',
        'Basic.GetOk (with content) when no Basic.Get was sent',
        _consuming(Send(sf.get_ok(1, b'unasked'))),
        _C,
        program='consume',
        reply_code=503,
    ),
    Case(
        'update-secret-ok-unasked',
        'Connection.UpdateSecretOk when no secret update was asked',
        _on_channel(Send(sf.method(0, spec.Connection.UpdateSecretOk()))),
        _C,
        program='channel',
        reply_code=503,
    ),
    Case(
        'cancel-unknown-consumer',
        'Basic.Cancel from the broker for a consumer tag never registered',
        _consuming(Send(sf.method(1, spec.Basic.Cancel('nobody'))), Sleep(0.3), Send(FORCED)),
        _BY_BROKER,
        program='consume',
        reply_code=320,
    ),
    Case(
        'flow-stop',
        'Channel.Flow(active=False) from the broker, then nothing',
        _on_channel(
            Send(sf.method(1, spec.Channel.Flow(False))),
            Expect(spec.Channel.FlowOk),
            Send(FORCED),
        ),
        _BY_BROKER,
        program='channel',
        reply_code=320,
    ),
    Case(
        'blocked-for-ever',
        'Connection.Blocked, then nothing (blocked_connection_timeout 1 s)',
        _on_channel(Send(sf.blocked()), Sleep(30)),
        exceptions.ConnectionBlockedTimeout,
        bound=1 + PROMPT,
        program='channel',
        params={'blocked_connection_timeout': 1.0},
    ),
    Case(
        'close-invalid-utf8-text',
        'Connection.Close whose reply_text is not UTF-8',
        _on_channel(
            Send(
                raw_frame(
                    1,
                    0,
                    struct.pack('>HHH', 10, 50, 320)
                    + shortstr(b'\xff\xfe')
                    + struct.pack('>HH', 0, 0),
                )
            )
        ),
        _C,
        program='channel',
        reply_code=501,
    ),
    Case(
        'heartbeat-with-payload',
        'a heartbeat frame carrying 4 payload bytes',
        _on_channel(Send(raw_frame(8, 0, b'beat'))),
        _C,
        program='channel',
        reply_code=501,
    ),
    Case(
        'close-instead-of-channel-open-ok',
        'Connection.Close 320 in answer to Channel.Open',
        lambda: [*handshake(), Expect(spec.Channel.Open), Send(FORCED)],
        _BY_BROKER,
        program='channel',
        reply_code=320,
    ),
    Case(
        'consume-ok-other-tag',
        'Basic.ConsumeOk naming another consumer tag, then a delivery for ours',
        lambda: [
            *handshake(channels=(1,)),
            Expect(spec.Basic.Qos),
            Send(sf.method(1, spec.Basic.QosOk())),
            Expect(spec.Basic.Consume),
            Send(sf.method(1, spec.Basic.ConsumeOk('someone-else'))),
            Send(deliver_set(1)),
            Sleep(0.3),
            Send(FORCED),
        ],
        _BY_BROKER,
        program='consume',
        reply_code=320,
    ),
    # -- publisher confirms -----------------------------------------------------------------
    Case(
        'ack-never-published-tag',
        'Basic.Ack for delivery tag 999 when one message was published',
        lambda: [
            *handshake(channels=(1,), confirm=1),
            Expect(spec.Basic.Publish),
            Send(sf.method(1, spec.Basic.Ack(999, False))),
            Send(FORCED),
        ],
        _C,
        program='confirm',
        reply_code=406,
    ),
    Case(
        'nack-never-published-tag',
        'Basic.Nack (multiple) for delivery tag 999 when one message was published',
        lambda: [
            *handshake(channels=(1,), confirm=1),
            Expect(spec.Basic.Publish),
            Send(sf.method(1, spec.Basic.Nack(999, True, False))),
            Send(FORCED),
        ],
        _C,
        program='confirm',
        reply_code=406,
    ),
    Case(
        'ack-without-confirm-mode',
        'Basic.Ack on a channel that never asked for confirms',
        _on_channel(Send(sf.method(1, spec.Basic.Ack(1, False)))),
        _C,
        program='channel',
        reply_code=503,
    ),
    # -- the stream -------------------------------------------------------------------------
    Case(
        'reset-mid-frame',
        'resets the TCP connection (RST) in the middle of a delivery',
        _consuming(Send(deliver_set(1, b'x' * 300)[:40]), Sleep(0.1), Reset()),
        exceptions.StreamLostError,
        program='consume',
    ),
    Case(
        'eof-mid-frame',
        'closes the TCP connection (FIN) in the middle of a delivery',
        _consuming(Send(deliver_set(1, b'x' * 300)[:40]), Close()),
        exceptions.StreamLostError,
        program='consume',
    ),
    Case(
        'silent-after-open',
        'goes silent once open (heartbeat 1 s)',
        _on_channel(Sleep(30), tune=sf.tune(heartbeat=1)),
        exceptions.AMQPHeartbeatTimeout,
        bound=2 + 1 + PROMPT,
        program='channel',
        params={'heartbeat': 1},
    ),
]


def truncation_cases() -> list[tuple[str, int]]:
    """(frame, offset) for every offset of a Deliver set and of Connection.Tune: the peer sends
    that many bytes of it, then closes the connection."""
    return [('deliver', k) for k in range(1, len(deliver_set()))] + [
        ('tune', k) for k in range(1, len(sf.tune()))
    ]


def truncation_case(what: str, offset: int) -> Case:
    """The catalogue entry for a frame cut at ``offset`` and then a clean close (FIN)."""
    if what == 'deliver':
        return Case(
            f'truncated-deliver-{offset}',
            'a Deliver set cut at every offset, then EOF',
            _consuming(Send(deliver_set()[:offset]), Close()),
            exceptions.StreamLostError,
            program='consume',
        )
    return Case(
        f'truncated-tune-{offset}',
        'Connection.Tune cut at every offset, then EOF',
        _after_start_ok(Send(sf.tune()[:offset]), Close()),
        exceptions.ProbableAuthenticationError,
    )


# -- running a case ---------------------------------------------------------------------------


@dataclass
class Result:
    """What one case did on one adapter."""

    outcome: Optional[BaseException]
    elapsed: float
    peak: Optional[int]
    deliveries: list[tuple[int, bytes]]
    broker_failures: list[str]


def _params(broker: HostileBroker, case: Case) -> pika.ConnectionParameters:
    settings: dict[str, Any] = {
        'heartbeat': 0,
        'stack_timeout': STACK_TIMEOUT,
        'socket_timeout': STACK_TIMEOUT,
        'connection_attempts': 1,
        'blocked_connection_timeout': None,
    }
    settings.update(case.params)
    return pika.ConnectionParameters(host=broker.host, port=broker.port, **settings)


def _channels(program: str) -> tuple[int, ...]:
    if program == 'connect':
        return ()
    return (1, 2) if program == 'two' else (1,)


def _on_message(got: list[tuple[int, bytes]], ack: bool) -> Callable[..., None]:
    """A consumer callback that records each delivery, and acks it when ``ack``."""

    def on_message(channel: Any, method: Any, properties: Any, body: bytes) -> None:
        got.append((channel.channel_number, body[:64]))  # a prefix: a flood must not pile up
        if ack:
            channel.basic_ack(method.delivery_tag)

    return on_message


def _run_blocking(
    params: pika.ConnectionParameters, case: Case, got: list[tuple[int, bytes]], limit: float
) -> Optional[BaseException]:
    conn: Optional[BlockingConnection] = None
    try:
        conn = BlockingConnection(params, rpc_timeout=STACK_TIMEOUT)
        for number in _channels(case.program):
            channel = conn.channel(number)
            if case.program in ('consume', 'consume-ack', 'two'):
                if case.program != 'two':
                    channel.basic_qos(prefetch_count=1)
                channel.basic_consume(
                    'q',
                    _on_message(got, case.program == 'consume-ack'),
                    auto_ack=case.program != 'consume-ack',
                    consumer_tag=CONSUMER_TAG,
                )
            elif case.program == 'confirm':
                channel.confirm_delivery()
                channel.basic_publish('', 'q', b'confirm me')
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.1)
        return None
    except Exception as exc:  # the outcome; the test checks its class
        return exc
    finally:
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except exceptions.AMQPError:
                pass


class _CallbackProgram:
    """The client program for the callback adapters: open, channels, consume or publish."""

    def __init__(self, case: Case, got: list[tuple[int, bytes]], stop: Callable[[], None]):
        self.case = case
        self.got = got
        self.stop = stop
        self.outcome: Optional[BaseException] = None

    def on_open(self, conn: Any) -> None:
        for number in _channels(self.case.program):
            conn.channel(number, on_open_callback=self.on_channel)

    def on_channel(self, channel: Any) -> None:
        program = self.case.program
        if program in ('consume', 'consume-ack'):
            channel.basic_qos(prefetch_count=1, callback=lambda frame: self._consume(channel))
        elif program == 'two':
            self._consume(channel)
        elif program == 'confirm':
            channel.confirm_delivery(
                lambda frame: None, callback=lambda frame: self._publish(channel)
            )

    def _consume(self, channel: Any) -> None:
        acking = self.case.program == 'consume-ack'
        channel.basic_consume(
            'q', _on_message(self.got, acking), auto_ack=not acking, consumer_tag=CONSUMER_TAG
        )

    def _publish(self, channel: Any) -> None:
        channel.basic_publish('', 'q', b'confirm me')

    def on_error(self, conn: Any, error: BaseException) -> None:
        if self.outcome is None:
            self.outcome = error
        self.stop()


def _run_select(
    params: pika.ConnectionParameters, case: Case, got: list[tuple[int, bytes]], limit: float
) -> Optional[BaseException]:
    holder: list[SelectConnection] = []
    program = _CallbackProgram(case, got, lambda: holder[0].ioloop.stop())
    conn = SelectConnection(params, program.on_open, program.on_error, program.on_error)
    holder.append(conn)
    run_until_stopped(conn, limit)
    return program.outcome


def _run_asyncio(
    params: pika.ConnectionParameters, case: Case, got: list[tuple[int, bytes]], limit: float
) -> Optional[BaseException]:
    loop = asyncio.new_event_loop()
    program = _CallbackProgram(case, got, loop.stop)
    try:
        conn = AsyncioConnection(
            params, program.on_open, program.on_error, program.on_error, custom_ioloop=loop
        )
        guard = loop.call_later(limit, loop.stop)
        loop.run_forever()
        guard.cancel()
        if not conn.is_closed:
            if not conn.is_closing:
                conn.close()
            backstop = loop.call_later(5, loop.stop)
            loop.run_forever()
            backstop.cancel()
    finally:
        loop.close()
    return program.outcome


_RUNNERS = {'blocking': _run_blocking, 'select': _run_select, 'asyncio': _run_asyncio}


def run_case(case: Case, adapter: str, slack: float = 3.0, trace: bool = True) -> Result:
    """Play ``case`` against ``adapter``; give up waiting for an outcome at bound + ``slack``.

    Memory is traced (tracemalloc peak) unless ``trace`` is False; the script (which may hold
    megabytes to send) is built before tracing starts.
    """
    got: list[tuple[int, bytes]] = []
    traced = trace
    script = case.script()
    if traced:
        tracemalloc.start()
    try:
        with HostileBroker(script) as broker:
            params = _params(broker, case)
            started = time.monotonic()
            outcome = _RUNNERS[adapter](params, case, got, case.bound + slack)
            elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1] if traced else None
    finally:
        if traced:
            tracemalloc.stop()
    return Result(outcome, elapsed, peak, got, broker.failures)
