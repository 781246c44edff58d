"""`pika.aio.Message`: a received message (delivery or ``basic_get``) and its settlement.

One small object per message, built from the core's event fields as they are (no copy): the
method (Basic.Deliver or Basic.GetOk), the properties and the body. ``ack``/``nack``/``reject``
queue one frame on the channel and return without waiting (they await only when the output is
above its high-water mark); each message can be settled once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

from pika import exceptions, spec

if TYPE_CHECKING:
    from types import TracebackType

    from pika.aio.channel import Channel

__all__ = ['Message', 'Processing']


class Message:
    """A message from the broker.

    ``body`` (bytes), ``properties`` (``pika.BasicProperties``), ``method`` (``Basic.Deliver``
    or ``Basic.GetOk``) and, read from the method: ``delivery_tag``, ``redelivered``,
    ``exchange``, ``routing_key``, ``consumer_tag`` (None for ``basic_get``) and
    ``message_count`` (``basic_get`` only, else None).
    """

    __slots__ = ('_channel', '_settled', 'body', 'method', 'properties')

    def __init__(
        self,
        channel: Channel,
        method: Union[spec.Basic.Deliver, spec.Basic.GetOk],
        properties: spec.BasicProperties,
        body: bytes,
        settled: bool,
    ) -> None:
        self._channel = channel
        self.method: Union[spec.Basic.Deliver, spec.Basic.GetOk] = method
        self.properties: spec.BasicProperties = properties
        self.body: bytes = body
        self._settled = settled  # auto_ack: settled by the broker already

    def __repr__(self) -> str:
        return (
            f'<pika.aio.Message tag={self.method.delivery_tag} '
            f'routing_key={self.method.routing_key!r} body={len(self.body)} bytes>'
        )

    @property
    def channel(self) -> Channel:
        """The channel the message came on (and is settled on)."""
        return self._channel

    @property
    def delivery_tag(self) -> int:
        """The channel's number for this delivery (what ``ack`` sends)."""
        return self.method.delivery_tag

    @property
    def redelivered(self) -> bool:
        """True if the broker delivered it before (to this or another consumer)."""
        return bool(self.method.redelivered)

    @property
    def exchange(self) -> str:
        """The exchange it was published to."""
        return self.method.exchange

    @property
    def routing_key(self) -> str:
        """The routing key it was published with."""
        return self.method.routing_key

    @property
    def consumer_tag(self) -> Optional[str]:
        """The consumer it was delivered to; None for a ``basic_get`` message."""
        return getattr(self.method, 'consumer_tag', None)

    @property
    def message_count(self) -> Optional[int]:
        """Messages left in the queue (``basic_get`` only, else None)."""
        return getattr(self.method, 'message_count', None)

    @property
    def settled(self) -> bool:
        """True once acked, nacked or rejected (or delivered with ``auto_ack``)."""
        return self._settled

    def _settle(self) -> None:
        if self._settled:
            raise exceptions.AMQPChannelError(
                f'message {self.method.delivery_tag} was already settled (acked, nacked, '
                'rejected, or delivered with auto_ack)'
            )
        self._settled = True

    async def ack(self, multiple: bool = False) -> None:
        """Acknowledge it (``multiple``: and every earlier unsettled delivery of the channel).

        :raises AMQPChannelError: already settled
        :raises ChannelWrongStateError: its channel is closed
        """
        if self._settled or multiple is not False:
            self._settle()
            await self._channel.basic_ack(self.method.delivery_tag, multiple)
            return
        self._settled = True
        self._channel.ack_delivery(self.method.delivery_tag, False)

    async def nack(self, multiple: bool = False, requeue: bool = True) -> None:
        """Refuse it; ``requeue=True`` gives it back to the queue, else it is dropped or
        dead-lettered."""
        self._settle()
        await self._channel.basic_nack(self.method.delivery_tag, multiple, requeue)

    async def reject(self, requeue: bool = True) -> None:
        """Refuse it alone (Basic.Reject)."""
        self._settle()
        await self._channel.basic_reject(self.method.delivery_tag, requeue)

    def process(self, requeue_on_error: bool = True) -> Processing:
        """``async with msg.process():`` acks on success and nacks on an exception (which
        then propagates). A message the block settled itself is left alone on exit.

        :param requeue_on_error: on an exception, nack with ``requeue=True`` (else the message
            is dropped or dead-lettered)
        """
        return Processing(self, requeue_on_error)


class Processing:
    """The async context manager of :meth:`Message.process`."""

    __slots__ = ('_message', '_requeue')

    def __init__(self, message: Message, requeue_on_error: bool) -> None:
        self._message = message
        self._requeue = requeue_on_error

    async def __aenter__(self) -> Message:
        return self._message

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> Any:
        message = self._message
        if message.settled:
            return None
        if exc_type is None:
            await message.ack()
        elif message.channel.is_open:
            await message.nack(requeue=self._requeue)
        return None  # the exception propagates
