"""What OpenTelemetry's pika instrumentation reaches for inside the blocking adapter.

``opentelemetry-instrumentation-pika`` (checked with 0.66b1; the usual way teams trace pika)
was written against pika 1.x's private names. It imports three of them from
``pika.adapters.blocking_connection`` and reads private attributes of ``BlockingChannel``:

* ``_QueueConsumerGeneratorInfo``: it wraps its ``__init__`` to replace ``pending_events`` with
  a proxy whose ``popleft()`` starts a consumer span for each delivery the ``consume()``
  generator takes. So the generator pops its deliveries through ``info.pending_events``.
* ``_ConsumerDeliveryEvt``: the proxy spans only the events that are instances of it; the
  deliveries the pump routes (:class:`pika._core.events.MessageDelivered`) are registered as
  virtual subclasses, so the check holds without copying them.
* ``_ConsumerCancellationEvt``: imported by the instrumentation's own tests only.
* ``BlockingChannel._consumer_infos``: consumer tag -> record whose ``on_message_callback`` it
  replaces by a tracing wrapper; the channel's dispatch calls that attribute.

Nothing here runs per message unless the instrumentation is installed: the generator pops from
the same deque the pump fills (a proxy only when instrumented), and ``_consumer_infos`` is read
by the instrumentation only when a channel opens or a consumer starts.
"""

from __future__ import annotations

import abc
from collections import deque
from typing import TYPE_CHECKING, Any, Optional

from pika._core import events as ev

if TYPE_CHECKING:
    from pika import frame, spec

__all__ = [
    'ConsumerGeneratorInfo',
    'ConsumerInfosCompat',
    '_ConsumerCancellationEvt',
    '_ConsumerDeliveryEvt',
    '_QueueConsumerGeneratorInfo',
]


class _QueueConsumerGeneratorInfo:
    """The ``consume()`` consumer as the instrumentation sees it: created once per consumer
    start, with ``pending_events`` the deque of deliveries the generator pops from."""

    __slots__ = ('consumer_tag', 'params', 'pending_events')

    def __init__(
        self,
        params: tuple[Any, ...],
        consumer_tag: str,
        pending_events: Optional[deque[Any]] = None,
    ) -> None:
        self.params = params
        self.consumer_tag = consumer_tag
        self.pending_events: deque[Any] = deque() if pending_events is None else pending_events

    def __repr__(self) -> str:
        return f'<_QueueConsumerGeneratorInfo params={self.params!r} tag={self.consumer_tag!r}>'


class _ConsumerDeliveryEvt(abc.ABC):  # noqa: B024 - an ABC only for ``register`` below
    """A delivery to the ``consume()`` generator, in pika 1.x's shape."""

    __slots__ = ('body', 'method', 'properties')

    def __init__(
        self, method: spec.Basic.Deliver, properties: spec.BasicProperties, body: bytes
    ) -> None:
        self.method = method
        self.properties = properties
        self.body = body


_ConsumerDeliveryEvt.register(ev.MessageDelivered)

#: The name our own code uses for ``_QueueConsumerGeneratorInfo`` (the same class, so the
#: instrumentation's patch of its ``__init__`` still applies): the underscore names here are
#: for the instrumentation only.
ConsumerGeneratorInfo = _QueueConsumerGeneratorInfo


class _ConsumerCancellationEvt:
    """The broker cancelled the ``consume()`` consumer, in pika 1.x's shape."""

    __slots__ = ('method_frame',)

    def __init__(self, method_frame: frame.Method[Any]) -> None:
        self.method_frame = method_frame

    @property
    def method(self) -> Any:
        """The ``Basic.Cancel`` method."""
        return self.method_frame.method


class ConsumerInfosCompat:
    """Mixed into ``BlockingChannel``: ``_consumer_infos``, the instrumentation's view of the
    ``basic_consume`` consumers (each value has the ``on_message_callback`` it may replace)."""

    _consumers: dict[Any, Any]

    @property
    def _consumer_infos(self) -> dict[Any, Any]:
        return self._consumers
