"""OpenTelemetry's pika instrumentation (``opentelemetry-instrumentation-pika``, a dev extra)
traces our BlockingConnection as it traces pika 1.x, against the real broker.

Its documented uses: ``PikaInstrumentor().instrument()`` (every new channel, plus the
``consume()`` generator) and ``PikaInstrumentor.instrument_channel(channel)`` (one channel,
callback consumers only). A publish gets a PRODUCER span and carries its trace context in the
message headers; a delivery gets a CONSUMER span in the producer's trace. The shims it needs are
in ``pika/adapters/_otel_compat.py``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry import context, trace
from opentelemetry.instrumentation.pika import PikaInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import pika
from pika.adapters import blocking_connection
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

if TYPE_CHECKING:
    from collections.abc import Iterator

    from opentelemetry.sdk.trace import ReadableSpan

pytestmark = pytest.mark.broker


@pytest.fixture(autouse=True)
def empty_context() -> Iterator[None]:
    """Each test starts from an empty OpenTelemetry context and leaves none behind: the
    generator's tracing proxy keeps the last message's span current after the loop (as on
    pika 1.x), which would make it the parent of the next test's spans."""
    token = context.attach(context.Context())
    try:
        yield
    finally:
        context.detach(token)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture
def instrumented(provider: TracerProvider) -> Iterator[PikaInstrumentor]:
    """The global instrumentation, removed again after the test (it patches classes)."""
    instrumentor = PikaInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield instrumentor
    finally:
        instrumentor.uninstrument()


def _spans(exporter: InMemorySpanExporter, kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.kind is kind]


def _check_producer(span: ReadableSpan, queue: str, broker_params: Any) -> None:
    assert span.name == f'{queue} send'
    attributes = dict(span.attributes or {})
    assert attributes['messaging.system'] == 'rabbitmq'
    assert attributes['messaging.destination'] == queue
    assert attributes['messaging.temp_destination'] is True
    assert attributes['net.peer.name'] == broker_params.host
    assert attributes['net.peer.port'] == broker_params.port


def _check_consumer(span: ReadableSpan, producer: ReadableSpan, queue: str) -> None:
    """A CONSUMER span for ``queue`` in the producer's trace, its parent the producer span."""
    assert span.name == f'{queue} receive'
    attributes = dict(span.attributes or {})
    assert attributes['messaging.system'] == 'rabbitmq'
    assert attributes['messaging.operation'] == 'receive'
    assert attributes['messaging.destination'] == queue
    assert span.context is not None and producer.context is not None
    assert span.context.trace_id == producer.context.trace_id
    assert span.parent is not None and span.parent.span_id == producer.context.span_id


def _ids_in_traceparent(header: str) -> tuple[int, int]:
    """(trace id, parent span id) of a W3C ``traceparent`` header."""
    _version, trace_id, span_id, _flags = header.split('-')
    return int(trace_id, 16), int(span_id, 16)


def test_instrument_traces_publish_and_basic_consume(
    instrumented: PikaInstrumentor,
    exporter: InMemorySpanExporter,
    conn: BlockingConnection,
    queue: str,
    broker_params: Any,
) -> None:
    channel = conn.channel()
    properties = pika.BasicProperties(message_id='m-1', correlation_id='c-1')
    channel.basic_publish('', queue, b'traced', properties)
    (producer,) = _spans(exporter, SpanKind.PRODUCER)
    _check_producer(producer, queue, broker_params)
    assert producer.attributes is not None
    assert producer.attributes['messaging.message.id'] == 'm-1'
    assert producer.attributes['messaging.conversation_id'] == 'c-1'

    seen: list[tuple[Any, bytes, int]] = []

    def on_message(ch: BlockingChannel, method: Any, props: Any, body: bytes) -> None:
        current = trace.get_current_span()  # user code runs inside the consumer span
        seen.append((props.headers, body, current.get_span_context().span_id))
        ch.basic_ack(method.delivery_tag)
        ch.stop_consuming()

    channel.basic_consume(queue, on_message)
    channel.start_consuming()
    ((headers, body, current_span_id),) = seen
    assert body == b'traced'
    assert producer.context is not None
    assert _ids_in_traceparent(headers['traceparent']) == (
        producer.context.trace_id,
        producer.context.span_id,
    )
    (consumer,) = _spans(exporter, SpanKind.CONSUMER)
    _check_consumer(consumer, producer, queue)
    assert consumer.attributes is not None
    assert consumer.attributes['messaging.message.id'] == 'm-1'
    assert consumer.attributes['net.peer.name'] == broker_params.host
    assert consumer.context is not None and current_span_id == consumer.context.span_id


def test_instrument_traces_the_consume_generator(
    instrumented: PikaInstrumentor,
    exporter: InMemorySpanExporter,
    conn: BlockingConnection,
    queue: str,
    broker_params: Any,
) -> None:
    channel = conn.channel()
    for number in range(3):
        channel.basic_publish('', queue, str(number).encode())
    producers = _spans(exporter, SpanKind.PRODUCER)
    assert len(producers) == 3
    for producer in producers:
        _check_producer(producer, queue, broker_params)

    current_trace_ids = []
    for method, _properties, body in channel.consume(queue, inactivity_timeout=5):
        assert method is not None, 'timed out waiting for a message'
        # The message's span is the current one while the loop body handles it.
        current_trace_ids.append(trace.get_current_span().get_span_context().trace_id)
        channel.basic_ack(method.delivery_tag)
        if body == b'2':
            break
    channel.cancel()
    consumers = _spans(exporter, SpanKind.CONSUMER)
    assert len(consumers) == 3
    for producer, consumer in zip(producers, consumers):
        _check_consumer(consumer, producer, queue)
    assert current_trace_ids == [p.context.trace_id for p in producers if p.context is not None]


def test_instrument_channel_traces_that_channel_only(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    conn: BlockingConnection,
    queue: str,
    broker_params: Any,
) -> None:
    channel = conn.channel()
    received: list[bytes] = []

    def on_message(ch: BlockingChannel, method: Any, props: Any, body: bytes) -> None:
        received.append(body)
        ch.basic_ack(method.delivery_tag)
        if len(received) == 2:
            ch.stop_consuming()

    # A consumer started before instrument_channel() is instrumented by it (via
    # _consumer_infos); one started after, through the wrapped basic_consume.
    channel.basic_consume(queue, on_message)
    PikaInstrumentor.instrument_channel(channel, tracer_provider=provider)
    other = conn.channel()
    other.basic_publish('', queue, b'untraced')  # another channel: no span, no headers
    assert exporter.get_finished_spans() == ()
    channel.basic_publish('', queue, b'traced')
    channel.start_consuming()
    assert sorted(received) == [b'traced', b'untraced']

    (producer,) = _spans(exporter, SpanKind.PRODUCER)
    _check_producer(producer, queue, broker_params)
    consumers = _spans(exporter, SpanKind.CONSUMER)
    assert len(consumers) == 2  # both deliveries went through the instrumented callback
    assert producer.context is not None
    traced = [s for s in consumers if s.context and s.context.trace_id == producer.context.trace_id]
    assert len(traced) == 1  # only the traced message carried the producer's context
    _check_consumer(traced[0], producer, queue)
    (untraced,) = [span for span in consumers if span is not traced[0]]
    assert untraced.parent is None  # no context in its headers: a trace of its own

    channel.basic_consume(queue, on_message)  # the wrapped basic_consume decorates it too
    received.clear()
    channel.basic_publish('', queue, b'a')
    channel.basic_publish('', queue, b'b')
    channel.start_consuming()
    assert len(_spans(exporter, SpanKind.CONSUMER)) == 4


def test_uninstrument_leaves_plain_channels_and_generators(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    conn: BlockingConnection,
    queue: str,
) -> None:
    instrumentor = PikaInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    instrumentor.uninstrument()
    # Nothing of the instrumentation is left on the classes...
    assert BlockingConnection.channel.__qualname__ == 'BlockingConnection.channel'
    init = blocking_connection._QueueConsumerGeneratorInfo.__init__
    assert init.__qualname__ == '_QueueConsumerGeneratorInfo.__init__'
    channel = conn.channel()
    assert 'basic_publish' not in vars(channel) and 'basic_consume' not in vars(channel)
    channel.basic_publish('', queue, b'plain')
    method, properties, _body = next(channel.consume(queue, inactivity_timeout=5))
    assert method is not None and not (properties.headers or {})
    # ...and the generator pops straight from the deque the pump fills (no proxy, no cost).
    assert type(channel._consume_gen.current.info.pending_events) is deque  # type: ignore[union-attr]
    channel.cancel()
    assert exporter.get_finished_spans() == ()
