"""The ``consume()`` generator of :class:`BlockingChannel` (pika 1.x), as a mixin.

One generator consumer exists per channel. Its deliveries are routed by the pump into the
channel slot's ``gen_queue`` (not the callback queue), so iterating needs no callback; while the
generator waits, the thread also dispatches timers and the channel's other events like
``start_consuming()`` does.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Optional, Union, overload

from pika import exceptions, spec
from pika._api import args as args_mod
from pika.adapters._io.backlog import delivery_cost
from pika.adapters._otel_compat import ConsumerGeneratorInfo

if TYPE_CHECKING:
    from collections import deque
    from collections.abc import Iterator

    from pika._core import events as ev
    from pika.adapters._blocking.pump import Pump
    from pika.adapters._blocking.slots import ChannelSlot
    from pika.adapters.blocking_connection import BlockingConnection

#: What ``consume()`` yields for a message, and (with ``inactivity_timeout``) when none came.
#: Without ``inactivity_timeout`` the overloads promise only messages, so user code can read
#: ``method.delivery_tag`` and ``body`` without a None check.
_Message = tuple[spec.Basic.Deliver, spec.BasicProperties, bytes]
_NoMessage = tuple[None, None, None]

_monotonic = time.monotonic
_get_ident = threading.get_ident
_CLOSED_BY_US = (exceptions.ChannelClosedByClient, exceptions.ConnectionClosedByClient)


def _check_inactivity_timeout(value: object) -> None:
    """Refuse an ``inactivity_timeout`` that is not ``None`` or a number ``>= 0`` with a clear
    error at the first ``next()``, before it reaches a deadline computation."""
    if value is None:
        return
    if not isinstance(value, (int, float)):  # bool is an int, as pika takes it
        raise TypeError(f'inactivity_timeout must be a number or None, not {type(value).__name__}')
    if not value >= 0:  # also refuses NaN
        raise ValueError(f'inactivity_timeout must be >= 0, got {value!r}')


_CONSUME_FLAGS = ('auto_ack', 'exclusive')


class _Generator:
    """State of the ``consume()`` generator's consumer.

    ``info`` is the same consumer in pika 1.x's shape; the generator pops deliveries through
    ``info.pending_events``, which is ``deliveries`` itself unless OpenTelemetry's
    instrumentation put its tracing proxy around it (see :mod:`pika.adapters._otel_compat`).
    """

    __slots__ = ('auto_ack', 'info', 'params', 'tag')

    def __init__(
        self, params: tuple[Any, ...], tag: str, auto_ack: bool, deliveries: deque[Any]
    ) -> None:
        self.params = params
        self.tag = tag
        self.auto_ack = auto_ack
        self.info = ConsumerGeneratorInfo(params, tag, deliveries)


class ConsumeGeneratorMixin:
    """``consume()``, ``cancel()`` and ``get_waiting_message_count()``."""

    _generator: Optional[_Generator]
    _slot: ChannelSlot
    _pump: Pump
    _connection: BlockingConnection

    def _new_tag(self, requested: Optional[str]) -> str:
        raise NotImplementedError

    def _check_usable(self) -> None:
        raise NotImplementedError

    def _raise_closed(self) -> None:
        raise NotImplementedError

    def _rpc(self, method: Any, timeout: Optional[float] = None) -> Any:
        raise NotImplementedError

    def _purge(self, tag: str) -> list[Any]:
        raise NotImplementedError

    def basic_cancel(self, consumer_tag: str = '', *, timeout: Optional[float] = None) -> Any:
        raise NotImplementedError

    @property
    def is_open(self) -> bool:
        raise NotImplementedError

    @staticmethod
    def _consume_method(queue: str, tag: str, auto_ack: bool, bound: dict[str, Any]) -> Any:
        """Basic.Consume for ``basic_consume`` and ``consume``."""
        return spec.Basic.Consume(
            queue=queue,
            consumer_tag=tag,
            no_ack=auto_ack,
            exclusive=bool(bound.get('exclusive', False)),
            arguments=bound.get('arguments') or {},
        )

    # -- the consume() generator --------------------------------------------------------

    @overload
    def consume(
        self,
        queue: args_mod.ReceivedStr,
        auto_ack: bool = ...,
        exclusive: bool = ...,
        arguments: Optional[dict[str, Any]] = ...,
        inactivity_timeout: None = ...,
        consumer_tag: Optional[str] = ...,
    ) -> Iterator[_Message]: ...

    @overload
    def consume(
        self,
        queue: args_mod.ReceivedStr,
        auto_ack: bool = ...,
        exclusive: bool = ...,
        arguments: Optional[dict[str, Any]] = ...,
        *,
        inactivity_timeout: float,
        consumer_tag: Optional[str] = ...,
    ) -> Iterator[Union[_Message, _NoMessage]]: ...

    @overload
    def consume(
        self,
        queue: args_mod.ReceivedStr,
        auto_ack: bool,
        exclusive: bool,
        arguments: Optional[dict[str, Any]],
        inactivity_timeout: float,
        consumer_tag: Optional[str] = ...,
    ) -> Iterator[Union[_Message, _NoMessage]]: ...

    def consume(
        self,
        queue: args_mod.ReceivedStr,
        auto_ack: bool = False,
        exclusive: bool = False,
        arguments: Optional[dict[str, Any]] = None,
        inactivity_timeout: Optional[float] = None,
        consumer_tag: Optional[str] = None,
    ) -> Iterator[Union[_Message, _NoMessage]]:
        """Yield ``(method, properties, body)`` for each message of ``queue``.

        Lazy, as in pika 1.x: nothing is checked or sent until the generator is first
        advanced; then ``Basic.Consume`` goes out, so its failure (e.g. the broker's 404 for
        a missing queue, :class:`~pika.exceptions.ChannelClosedByBroker`) is raised by that
        ``next()``. One such consumer exists per channel (its tag is ``consumer_tag``, or a
        generated one); a generator advanced while it runs with the same ``queue``,
        ``auto_ack`` and ``exclusive`` resumes it (as in pika, ``arguments`` and
        ``consumer_tag`` then do not matter), others raise ``ValueError``. With
        ``inactivity_timeout`` (seconds) the generator yields ``(None, None, None)`` whenever
        nothing arrived for that long. It ends when the consumer is cancelled (``cancel()``
        or by the broker) or the channel closes.
        """
        args_mod.require_str('queue', queue)
        args_mod.require_bools({'auto_ack': auto_ack, 'exclusive': exclusive}, _CONSUME_FLAGS)
        args_mod.require_table('arguments', arguments)
        _check_inactivity_timeout(inactivity_timeout)
        params = (queue, bool(auto_ack), bool(exclusive))
        gen = self._generator
        if gen is None:
            gen = self._start_generator(params, arguments, consumer_tag)
        elif gen.params != params:
            raise ValueError(
                f'consume() already running with (queue, auto_ack, exclusive) {gen.params!r};'
                f' got {params!r}'
            )
        yield from self._generate(gen, inactivity_timeout)

    def _start_generator(
        self,
        params: tuple[Any, ...],
        arguments: Optional[dict[str, Any]],
        consumer_tag: Optional[str],
    ) -> _Generator:
        queue, auto_ack, exclusive = params
        tag = self._new_tag(consumer_tag)
        gen = _Generator(params, tag, auto_ack, self._slot.gen_queue)
        with self._pump.lock:
            self._check_usable()
            self._slot.gen_tag = tag
            self._slot.gen_cancelled = False
        self._generator = gen
        method = self._consume_method(queue, tag, auto_ack, {'exclusive': exclusive,
                                                              'arguments': arguments})  # fmt: skip
        try:
            self._rpc(method)
        except BaseException:
            self._generator = None
            self._slot.gen_tag = None
            raise
        return gen

    def _generate(
        self, gen: _Generator, inactivity_timeout: Optional[float]
    ) -> Iterator[Union[_Message, _NoMessage]]:
        slot = self._slot
        queue: deque[ev.MessageDelivered] = slot.gen_queue
        next_delivery = gen.info.pending_events.popleft  # queue.popleft, or a tracing proxy's
        connection = self._connection

        def ready() -> bool:
            return bool(queue) or slot.gen_cancelled or slot.error is not None

        pump = self._pump
        chunk = pump.backlog.chunk
        taken = 0  # backlog cost of the deliveries yielded and not reported to the pump yet
        try:
            while True:
                deadline = None if inactivity_timeout is None else _monotonic() + inactivity_timeout
                if taken and not queue:  # about to wait: report first, reading may resume
                    pump.router.release(slot, taken)
                    taken = 0
                while not queue:
                    if self._generator is not gen or slot.gen_cancelled or slot.error is not None:
                        if slot.error is not None and self._generator is gen:
                            self._generator = None
                            if not isinstance(slot.error, _CLOSED_BY_US):
                                self._raise_closed()
                        return
                    if deadline is not None and _monotonic() >= deadline:
                        break
                    slot.owner = _get_ident()
                    try:
                        connection._run_once(deadline, ready)
                    finally:
                        slot.owner = None
                if queue:
                    event = next_delivery()
                    taken += delivery_cost(event.body)
                    if taken >= chunk:
                        pump.router.release(slot, taken)
                        taken = 0
                    yield event.method, event.properties, event.body
                else:
                    yield None, None, None
        except GeneratorExit:  # closed, maybe by the garbage collector in any thread
            if taken:
                pump.router.release(slot, taken, wait=False)
                taken = 0
            raise
        finally:
            if taken:
                pump.router.release(slot, taken)

    def get_waiting_message_count(self) -> int:
        """Messages received for the ``consume()`` generator and not yielded yet."""
        return len(self._slot.gen_queue)

    def cancel(self) -> int:
        """Cancel the ``consume()`` consumer and drop the messages it has not yielded yet.

        With ``auto_ack=False`` those messages are Nacked with requeue (the broker redelivers
        them); with ``auto_ack=True`` they are discarded. Returns 0, as pika has since 0.10
        (the generator's first release): code written for pika may test the result, and
        ``get_waiting_message_count()`` tells how many are pending before the call.
        """
        gen = self._generator
        if gen is None:
            return 0
        if self.is_open:
            self.basic_cancel(gen.tag)
        else:
            self._generator = None
            self._purge(gen.tag)
        return 0
