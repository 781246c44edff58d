"""`pika.aio.Consumer`: ``async with ch.consume(queue) as messages: async for msg in messages``.

The channel appends each delivery for the consumer's tag to the consumer's buffer
(:meth:`Consumer.push`); ``__anext__`` takes from it and suspends only when it is empty, on one
waiter for however many messages the next read brings. The buffer holds at most ``prefetch``
unacknowledged messages (``basic_qos`` on entry). Without a prefetch (or with ``auto_ack``,
which qos does not bound) the connection's backlog bounds it: above ``delivery_backlog_high``
bytes buffered by its consumers the connection stops reading (docs/aio.md).

On exit (or :meth:`Consumer.cancel`) the consumer stops being wanted at once: Basic.Cancel is
sent, every buffered message not yet handed out is nacked with ``requeue=True`` (each alone:
handed-out ones stay the application's), and deliveries still arriving until the broker's
CancelOk are nacked back the same way by the channel. ``auto_ack`` messages were settled by
the broker on delivery, so buffered ones are dropped (documented in docs/aio.md).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Optional

from pika import exceptions, spec
from pika._api.methods import METHODS
from pika.adapters._io.backlog import DELIVERY_OVERHEAD

if TYPE_CHECKING:
    from types import TracebackType

    from pika.aio.backend import Waiter
    from pika.aio.channel import Channel
    from pika.aio.message import Message

__all__ = ['Consumer']

_CLOSED_BY_US = (exceptions.ChannelClosedByClient, exceptions.ConnectionClosedByClient)


def _no_callback(*_: Any) -> None:
    """Stands for the message callback the shared method table requires: `pika.aio` routes
    deliveries to the consumer's buffer instead."""


class Consumer:
    """One consumer of a queue; iterate it with ``async for`` inside ``async with``."""

    def __init__(
        self,
        channel: Channel,
        queue: str,
        prefetch: Optional[int],
        auto_ack: bool,
        exclusive: bool,
        consumer_tag: Optional[str],
        arguments: Optional[dict[str, Any]],
        timeout: Optional[float],
    ) -> None:
        self.channel = channel
        self.queue = queue
        self.prefetch = prefetch
        self.auto_ack = auto_ack
        self.consumer_tag: str = consumer_tag or channel.new_consumer_tag()
        self._method = METHODS['basic_consume'].prepare(
            (),
            {
                'queue': queue,
                'on_message_callback': _no_callback,
                'auto_ack': auto_ack,
                'exclusive': exclusive,
                'consumer_tag': self.consumer_tag,
                'arguments': arguments,
            },
        )[0]
        self._timeout = timeout
        self._buffer: deque[Message] = deque()
        self._backlog = channel.connection.backlog
        self._waiter: Optional[Waiter] = None
        #: True from the start until cancelled: deliveries are for this application
        self.wanted: bool = False
        self._end: Optional[BaseException] = None

    def __repr__(self) -> str:
        return f'<pika.aio.Consumer {self.consumer_tag!r} of {self.queue!r}>'

    async def __aenter__(self) -> Consumer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        await self.cancel()

    def __aiter__(self) -> Consumer:
        return self

    async def __anext__(self) -> Message:
        buffer = self._buffer
        while not buffer:
            end = self._end
            if end is not None:
                if isinstance(end, (StopAsyncIteration, *_CLOSED_BY_US)):
                    raise StopAsyncIteration
                raise end
            self._waiter = waiter = self.channel.connection.backend.create_waiter()
            await waiter
        message = buffer.popleft()
        if self._backlog.remove(len(message.body) + DELIVERY_OVERHEAD):
            self.channel.connection.resume_reading()
        return message

    @property
    def buffered(self) -> int:
        """Messages received and not yet handed out by ``async for``."""
        return len(self._buffer)

    async def start(self) -> None:
        """Set the prefetch (``basic_qos``) if given, then Basic.Consume; wait for ConsumeOk.

        A start that is cancelled or times out leaves no consumer behind: a late ConsumeOk is
        answered with Basic.Cancel and its deliveries are requeued.
        """
        channel = self.channel
        if self.prefetch is not None:
            await channel.basic_qos(prefetch_count=self.prefetch, timeout=self._timeout)
        channel.add_consumer(self)  # raises for a tag in use: then nothing was started
        self.wanted = True
        try:
            await channel.send_rpc(self._method, self._timeout)
        except BaseException:
            self.wanted = False
            raise

    async def cancel(self) -> None:
        """Stop consuming: Basic.Cancel, and buffered messages go back to the queue."""
        if not self.wanted:
            return
        self.wanted = False
        channel = self.channel
        self._end = StopAsyncIteration()
        self._wake()
        if not channel.is_open:
            return
        cancel = spec.Basic.Cancel(self.consumer_tag)
        reply = channel.begin_rpc(cancel, self._timeout)  # Basic.Cancel queued first
        self.requeue_buffered()
        if reply is not None:
            await reply

    def requeue_buffered(self) -> None:
        """Nack (requeue) every buffered message (no-op with ``auto_ack``: already settled)."""
        dropped = self._take_buffer()
        if self.auto_ack or not self.channel.is_open:
            return
        for message in dropped:
            self.channel.requeue(message.delivery_tag)

    def _take_buffer(self) -> list[Message]:
        """Empty the buffer (its bytes leave the connection's backlog) and return it."""
        taken = list(self._buffer)
        self._buffer.clear()
        size = sum(len(message.body) for message in taken) + DELIVERY_OVERHEAD * len(taken)
        if self._backlog.remove(size):
            self.channel.connection.resume_reading()
        return taken

    # -- what the channel calls ----------------------------------------------------------

    def push(self, message: Message) -> None:
        """A delivery for this consumer arrived."""
        self._buffer.append(message)
        self._backlog.add(len(message.body) + DELIVERY_OVERHEAD)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def finished(self, error: BaseException) -> None:
        """The broker cancelled the consumer (``ConsumerCancelled``: buffered messages are
        still handed out first) or the channel closed (buffered ones are void: dropped)."""
        self.wanted = False
        if not isinstance(error, exceptions.ConsumerCancelled):
            self._take_buffer()
        if self._end is None:
            self._end = error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
