"""The limits that protect the client from a broken or hostile peer, in one place.

Each number the receive path enforces before it allocates or waits for anything is named here
once and imported where it is checked; docs/limits.md lists them with the error each one
raises. The AMQP constants (``FRAME_MIN_SIZE``, reply codes) stay in the generated
:mod:`pika.spec`, the home of the wire format.
"""

from __future__ import annotations

__all__ = [
    'DEFAULT_DELIVERY_BACKLOG_HIGH',
    'DEFAULT_DELIVERY_BACKLOG_LOW',
    'DEFAULT_MAX_MESSAGE_SIZE',
    'HANDSHAKE_FRAME_MAX',
    'LIVENESS_BYTES',
    'MAX_CHANNEL_NUMBER',
    'MAX_TABLE_DEPTH',
]

#: Largest frame accepted before Connection.Tune has set frame_max (8 bytes of framing
#: included). AMQP only guarantees frame-min-size (4096) until then; RabbitMQ's handshake
#: frames are well under 1 KiB, so this is generous, yet it bounds what a peer can make us
#: buffer before we know its limits.
HANDSHAKE_FRAME_MAX = 131072

#: The highest channel number AMQP can carry (a 16-bit field): the channel_max used when
#: neither side sets a lower one.
MAX_CHANNEL_NUMBER = 65535

#: Default of ``ConnectionParameters.max_message_size``: the body size above which a content
#: header is refused. RabbitMQ's own default ``max_message_size`` (128 MiB), so a broker with
#: default settings never sends a message we refuse.
DEFAULT_MAX_MESSAGE_SIZE = 128 * 1024 * 1024

#: How many field tables and arrays may enclose one another (the outermost table counts 1).
#: Real headers nest a handful of levels (``x-death``: 3); the decoders and encoders of
#: :mod:`pika.data` refuse more, so hostile input cannot exhaust the stack and a cyclic dict
#: is refused when sent instead of raising RecursionError.
MAX_TABLE_DEPTH = 64

#: Defaults of ``ConnectionParameters.delivery_backlog_high``/``_low``: above the high mark of
#: bytes received for consumers and not yet handed to the application, a ``BlockingConnection``
#: stops reading its socket (TCP flow control then holds the broker back) until the backlog
#: is down to the low mark. 64 MiB keeps thousands of typical messages ready for a fast
#: consumer while a slow one without ``basic_qos`` cannot fill the process with a whole queue.
DEFAULT_DELIVERY_BACKLOG_HIGH = 64 * 1024 * 1024
DEFAULT_DELIVERY_BACKLOG_LOW = 32 * 1024 * 1024

#: Heartbeat liveness without a whole frame: received bytes that complete no frame prove the
#: peer alive only once this many have arrived since the last proof (any whole frame proves it
#: at once). A peer trickling an endless frame a byte at a time (slowloris) is then declared
#: dead after 2 heartbeat intervals, while a slow link carrying a large frame (4 KiB per 2
#: intervals, 34 bytes/s at the default 60 s) keeps the connection.
LIVENESS_BYTES = 4096
