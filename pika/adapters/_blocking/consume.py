"""The ``consume()`` generator of :class:`BlockingChannel` (pika 1.x): :class:`ConsumeGenerator`,
an object each channel holds and hands ``consume()``, ``cancel()`` and
``get_waiting_message_count()`` to.

One generator consumer exists per channel. Its deliveries are routed by the pump into the
channel slot's ``gen_queue`` (not the callback queue), so iterating needs no callback; while the
generator waits, the thread also dispatches timers and the channel's other events like
``start_consuming()`` does.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Union

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

#: What ``consume()`` yields for a message, and (with ``inactivity_timeout``) when none came.
#: Without ``inactivity_timeout`` the overloads promise only messages, so user code can read
#: ``method.delivery_tag`` and ``body`` without a None check.
Message = tuple[spec.Basic.Deliver, spec.BasicProperties, bytes]
NoMessage = tuple[None, None, None]

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


class GeneratorState:
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


class ChannelLink(NamedTuple):
    """What the generator uses of its :class:`BlockingChannel` (the channel's own bound
    methods, handed over when the channel is made), so neither reaches into the other."""

    new_tag: Callable[[Optional[str]], str]
    """A consumer tag: the requested one once checked unique, else a generated one."""
    check_usable: Callable[[], None]
    """Raise why the channel cannot be used (pump lock held)."""
    raise_closed: Callable[[], None]
    """Raise the channel's close reason (once), else ``ChannelWrongStateError``: always raises."""
    rpc: Callable[[Any], Any]
    """Send a synchronous method and wait for its reply."""
    purge: Callable[[str], list[Any]]
    """Remove the undispatched deliveries of a consumer tag."""
    basic_cancel: Callable[[str], Any]
    """``BlockingChannel.basic_cancel``."""
    is_open: Callable[[], bool]
    """Whether the channel can be used."""
    run_once: Callable[[Optional[float], Callable[[], bool]], Any]
    """One turn of the connection's dispatch loop, until the deadline or the condition."""


class ConsumeGenerator:
    """The ``consume()`` consumer of one channel: ``current`` is its state while it runs.

    :param link: the channel's side (see :class:`ChannelLink`)
    :param slot: the channel's record in the pump (its ``gen_queue`` holds our deliveries)
    :param pump: the connection's pump
    """

    def __init__(self, link: ChannelLink, slot: ChannelSlot, pump: Pump) -> None:
        self._link = link
        self._slot = slot
        self._pump = pump
        #: the running consumer (None: no ``consume()`` consumer on the channel)
        self.current: Optional[GeneratorState] = None

    @staticmethod
    def _consume_method(queue: str, tag: str, auto_ack: bool, bound: dict[str, Any]) -> Any:
        """Basic.Consume for ``consume``."""
        return spec.Basic.Consume(
            queue=queue,
            consumer_tag=tag,
            no_ack=auto_ack,
            exclusive=bool(bound.get('exclusive', False)),
            arguments=bound.get('arguments') or {},
        )

    def consume(
        self,
        queue: args_mod.ReceivedStr,
        auto_ack: bool = False,
        exclusive: bool = False,
        arguments: Optional[dict[str, Any]] = None,
        inactivity_timeout: Optional[float] = None,
        consumer_tag: Optional[str] = None,
    ) -> Iterator[Union[Message, NoMessage]]:
        """What ``BlockingChannel.consume`` returns (its docstring has the contract): a
        generator, so nothing is checked or sent before its first ``next()``."""
        args_mod.require_str('queue', queue)
        args_mod.require_bools({'auto_ack': auto_ack, 'exclusive': exclusive}, _CONSUME_FLAGS)
        args_mod.require_table('arguments', arguments)
        _check_inactivity_timeout(inactivity_timeout)
        params = (queue, bool(auto_ack), bool(exclusive))
        gen = self.current
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
    ) -> GeneratorState:
        queue, auto_ack, exclusive = params
        tag = self._link.new_tag(consumer_tag)
        gen = GeneratorState(params, tag, auto_ack, self._slot.gen_queue)
        with self._pump.lock:
            self._link.check_usable()
            self._slot.gen_tag = tag
            self._slot.gen_cancelled = False
        self.current = gen
        method = self._consume_method(queue, tag, auto_ack, {'exclusive': exclusive,
                                                              'arguments': arguments})  # fmt: skip
        try:
            self._link.rpc(method)
        except BaseException:
            self.current = None
            self._slot.gen_tag = None
            raise
        return gen

    def _generate(
        self, gen: GeneratorState, inactivity_timeout: Optional[float]
    ) -> Iterator[Union[Message, NoMessage]]:
        slot = self._slot
        queue: deque[ev.MessageDelivered] = slot.gen_queue
        next_delivery = gen.info.pending_events.popleft  # queue.popleft, or a tracing proxy's
        run_once = self._link.run_once

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
                    if self.current is not gen or slot.gen_cancelled or slot.error is not None:
                        if slot.error is not None and self.current is gen:
                            self.current = None
                            if not isinstance(slot.error, _CLOSED_BY_US):
                                self._link.raise_closed()
                        return
                    if deadline is not None and _monotonic() >= deadline:
                        break
                    slot.owner = _get_ident()
                    try:
                        run_once(deadline, ready)
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

    def cancel(self) -> int:
        """``BlockingChannel.cancel``: cancel the consumer (Basic.Cancel while the channel is
        open, else only its undispatched deliveries are dropped); returns 0."""
        gen = self.current
        if gen is None:
            return 0
        if self._link.is_open():
            self._link.basic_cancel(gen.tag)
        else:
            self.current = None
            self._link.purge(gen.tag)
        return 0
