"""Generated spec tests: golden method/property bytes, metadata against the JSON, round trips."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pika import amqp_object, exceptions, spec
from pika.delivery_mode import DeliveryMode
from pika.exchange_type import ExchangeType
from tests.helpers.scripts import load_script

if TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[3]
JSON = json.loads((ROOT / 'codegen' / 'amqp-rabbitmq-0.9.1.json').read_text(encoding='utf-8'))


def load_codegen() -> ModuleType:
    return load_script(ROOT / 'tools' / 'codegen.py', '_codegen')


CODEGEN = load_codegen()
DOMAINS = {name: kind for name, kind in JSON['domains']}
JSON_METHODS = [(c, m) for c in JSON['classes'] for m in c['methods']]


def payload(method: amqp_object.Method) -> bytes:
    return b''.join(method.encode())


def blank(cls: type[amqp_object.Method]) -> amqp_object.Method:
    """An instance to decode into, built as the decoders do: without ``__init__`` (whose
    arguments pika 1.x makes required for Connection.UpdateSecret)."""
    return cls.__new__(cls)


def frame_payload(method: amqp_object.Method) -> bytes:
    """Method frame payload: 16-bit class id, 16-bit method id, then the arguments."""
    assert method.INDEX is not None
    return struct.pack('>I', method.INDEX) + payload(method)


# --------------------------------------------------------------------------- golden bytes

# Connection.StartOk: class 10 (0x000A), method 11 (0x000B), then
#   client-properties table {'product': 'pika'}:
#     key: 07 'product'; value: 'S' + 32-bit length 4 + 'pika'  -> 1+7+1+4+4 = 17 = 0x11 bytes
#   mechanism shortstr: 05 'PLAIN'
#   response longstr: 32-bit length 12 (0x0C), '\0guest\0guest'
#   locale shortstr: 05 'en_US'
START_OK = (
    b'\x00\x0a\x00\x0b'
    + b'\x00\x00\x00\x11'
    + b'\x07product'
    + b'S\x00\x00\x00\x04pika'
    + b'\x05PLAIN'
    + b'\x00\x00\x00\x0c\x00guest\x00guest'
    + b'\x05en_US'
)

# Basic.Publish arguments: ticket short 0 (00 00), exchange shortstr 0A 'amq.direct',
# routing-key shortstr 02 'rk', then one octet of bits: mandatory = bit 0 (1), immediate = bit 1.
PUBLISH = b'\x00\x00' + b'\x0aamq.direct' + b'\x02rk' + b'\x01'

# Basic.Deliver arguments: consumer-tag shortstr 05 'ctag1', delivery-tag longlong 42 (0x2A),
# redelivered bit octet 01, exchange shortstr 00 (''), routing-key shortstr 01 'q'.
DELIVER = b'\x05ctag1' + b'\x00' * 7 + b'\x2a' + b'\x01' + b'\x00' + b'\x01q'

# BasicProperties: the flag word has bit 15 for the first property down to bit 2 for the 14th.
#   content-type  (#1,  bit 15) 0x8000
#   headers       (#3,  bit 13) 0x2000
#   delivery-mode (#4,  bit 12) 0x1000
#   priority      (#5,  bit 11) 0x0800
#   correlation-id(#6,  bit 10) 0x0400
#   timestamp     (#10, bit 6)  0x0040     -> flags = 0xBC40
# then the values of the set properties, in property order:
#   10 'application/json' | table 00000007 01 'x' 'I' 00000001 | 02 | 05 | 03 'abc' |
#   timestamp 64-bit 1609459200 = 0x5FEE6600
PROPERTIES = (
    b'\xbc\x40'
    + b'\x10application/json'
    + b'\x00\x00\x00\x07\x01xI\x00\x00\x00\x01'
    + b'\x02'
    + b'\x05'
    + b'\x03abc'
    + b'\x00\x00\x00\x00\x5f\xee\x66\x00'
)


def golden_properties() -> spec.BasicProperties:
    return spec.BasicProperties(
        content_type='application/json',
        headers={'x': 1},
        delivery_mode=2,
        priority=5,
        correlation_id='abc',
        timestamp=1609459200,
    )


def test_connection_start_ok_golden_frame_payload() -> None:
    method = spec.Connection.StartOk(
        client_properties={'product': 'pika'},
        mechanism='PLAIN',
        response='\x00guest\x00guest',
        locale='en_US',
    )
    assert frame_payload(method) == START_OK
    decoded = spec.Connection.StartOk().decode(START_OK, 4)
    assert decoded == method


def test_basic_publish_golden_payload() -> None:
    method = spec.Basic.Publish(exchange='amq.direct', routing_key='rk', mandatory=True)
    assert payload(method) == PUBLISH
    assert frame_payload(method)[:4] == b'\x00\x3c\x00\x28'  # class 60, method 40
    assert spec.Basic.Publish().decode(PUBLISH) == method


def test_basic_deliver_golden_payload() -> None:
    method = spec.Basic.Deliver().decode(DELIVER)
    assert (method.consumer_tag, method.delivery_tag, method.redelivered) == ('ctag1', 42, True)
    assert (method.exchange, method.routing_key) == ('', 'q')
    assert payload(method) == DELIVER


def test_basic_properties_golden_bytes() -> None:
    assert b''.join(golden_properties().encode()) == PROPERTIES
    decoded = spec.BasicProperties()
    assert decoded.decode(PROPERTIES) == len(PROPERTIES)
    assert decoded == golden_properties()


def test_properties_decode_at_offset_with_trailing_bytes_returns_offset() -> None:
    decoded = spec.BasicProperties()
    assert decoded.decode(memoryview(b'..' + PROPERTIES + b'body'), 2) == 2 + len(PROPERTIES)
    assert decoded == golden_properties()


def test_empty_properties_are_a_zero_flag_word() -> None:
    assert b''.join(spec.BasicProperties().encode()) == b'\x00\x00'


def test_properties_continuation_flag_words_are_skipped() -> None:
    # Bit 0 set means another flag word follows; 0-9-1 defines no properties in it.
    raw = b'\x80\x01' + b'\x00\x00' + b'\x04text'
    decoded = spec.BasicProperties()
    assert decoded.decode(raw) == len(raw)
    assert decoded.content_type == 'text'


@pytest.mark.parametrize(
    ('cls', 'raw'),
    [
        (spec.Connection.StartOk, START_OK[4:]),
        (spec.Basic.Publish, PUBLISH),
        (spec.Basic.Deliver, DELIVER),
    ],
)
def test_method_decode_truncated_everywhere_raises(
    cls: type[amqp_object.Method], raw: bytes
) -> None:
    for cut in range(len(raw)):
        with pytest.raises(exceptions.InvalidFrameError):
            blank(cls).decode(raw[:cut])
    assert blank(cls).decode(raw + b'trailing') == blank(cls).decode(raw)


def test_properties_decode_truncated_everywhere_raises() -> None:
    for cut in range(len(PROPERTIES)):
        with pytest.raises(exceptions.AMQPError):
            spec.BasicProperties().decode(PROPERTIES[:cut])


def test_bad_utf8_in_short_string_raises_protocol_error() -> None:
    with pytest.raises(exceptions.InvalidFrameError):
        spec.Basic.ConsumeOk().decode(b'\x02\xff\xfe')
    with pytest.raises(exceptions.InvalidFrameError):
        spec.BasicProperties().decode(b'\x80\x00\x01\xff')


def test_long_string_method_field_falls_back_to_bytes() -> None:
    method = spec.Connection.SecureOk(response=b'\xff\x00')
    assert spec.Connection.SecureOk().decode(payload(method)).response == b'\xff\x00'


# --------------------------------------------------------------------------- metadata


def test_class_and_method_counts_match_the_json() -> None:
    assert len(JSON['classes']) == 8
    assert len(JSON_METHODS) == 66
    assert len(spec.methods) == len(JSON_METHODS)
    classes = {
        c for c in vars(spec).values() if isinstance(c, type) and c.__base__ is amqp_object.Class
    }
    assert {c.NAME for c in classes if issubclass(c, amqp_object.Class)} == {
        'Connection',
        'Channel',
        'Access',
        'Exchange',
        'Queue',
        'Basic',
        'Confirm',
        'Tx',
    }


@pytest.mark.parametrize(('cls', 'method'), JSON_METHODS, ids=lambda x: x['name'])
def test_every_json_method_is_generated(cls: dict[str, Any], method: dict[str, Any]) -> None:
    index = cls['id'] << 16 | method['id']
    generated = spec.methods[index]
    owner = getattr(spec, CODEGEN.camel(cls['name']))
    assert getattr(owner, CODEGEN.camel(method['name'])) is generated
    assert owner.INDEX == cls['id']
    assert generated.INDEX == index
    assert generated.NAME == f'{CODEGEN.camel(cls["name"])}.{CODEGEN.camel(method["name"])}'
    assert issubclass(generated, amqp_object.Method)
    assert generated.synchronous is bool(method.get('synchronous'))
    assert spec.has_content(index) is bool(method.get('content'))
    if method.get('synchronous'):
        assert generated.valid_responses
        assert all(reply.INDEX >> 16 == cls['id'] for reply in generated.valid_responses)
    else:
        assert generated.valid_responses == ()


def test_valid_responses() -> None:
    assert spec.Basic.Get.valid_responses == (spec.Basic.GetOk, spec.Basic.GetEmpty)
    assert spec.Queue.Declare.valid_responses == (spec.Queue.DeclareOk,)
    assert spec.Exchange.Unbind.valid_responses == (spec.Exchange.UnbindOk,)
    assert spec.Basic.Publish.valid_responses == ()


def test_constants() -> None:
    assert spec.PROTOCOL_VERSION == (0, 9, 1)
    assert spec.PORT == 5672
    assert (spec.FRAME_METHOD, spec.FRAME_HEADER, spec.FRAME_BODY, spec.FRAME_HEARTBEAT) == (
        1,
        2,
        3,
        8,
    )
    assert (spec.FRAME_MIN_SIZE, spec.FRAME_END, spec.REPLY_SUCCESS) == (4096, 206, 200)
    assert (spec.NOT_FOUND, spec.FRAME_ERROR, spec.COMMAND_INVALID) == (404, 501, 503)
    assert (spec.CHANNEL_ERROR, spec.UNEXPECTED_FRAME, spec.ACCESS_REFUSED) == (504, 505, 403)
    assert (spec.FRAME_MAX_SIZE, spec.FRAME_HEADER_SIZE, spec.FRAME_END_SIZE) == (131072, 7, 1)
    assert (spec.PERSISTENT_DELIVERY_MODE, spec.TRANSIENT_DELIVERY_MODE) == (2, 1)
    for constant in JSON['constants']:
        assert getattr(spec, constant['name'].replace('-', '_')) == constant['value']
    assert spec.props == {0x3C: spec.BasicProperties}
    assert spec.BasicProperties.INDEX == 0x3C


def test_pika_1x_argument_names_and_defaults() -> None:
    declare = spec.Exchange.Declare()
    assert vars(declare) == {
        'ticket': 0,
        'exchange': None,
        'type': ExchangeType.direct,
        'passive': False,
        'durable': False,
        'auto_delete': False,
        'internal': False,
        'nowait': False,
        'arguments': None,
    }
    consume = spec.Basic.Consume()
    assert vars(consume) == {
        'ticket': 0,
        'queue': '',
        'consumer_tag': '',
        'no_local': False,
        'no_ack': False,
        'exclusive': False,
        'nowait': False,
        'arguments': None,
    }
    assert type(declare.type) is ExchangeType
    assert spec.Basic.Qos(global_qos=True).global_qos is True
    assert spec.Basic.Reject().requeue is True
    assert spec.Connection.Open().virtual_host == '/'


def test_exchange_type_enum_encodes_as_its_name() -> None:
    method = spec.Exchange.Declare(exchange='e', type=ExchangeType.topic)
    decoded = spec.Exchange.Declare().decode(payload(method))
    assert decoded.type == 'topic'
    assert payload(spec.Exchange.Declare(exchange='e')) == payload(
        spec.Exchange.Declare(exchange='e', type='direct')
    )


def test_delivery_mode_enum_is_accepted() -> None:
    props = spec.BasicProperties(delivery_mode=DeliveryMode.Persistent)
    assert props.delivery_mode == 2
    props.delivery_mode = DeliveryMode.Transient  # type: ignore[assignment]
    assert b''.join(props.encode()) == b'\x10\x00\x01'


def test_repr_is_readable_and_masks_credentials() -> None:
    assert (
        repr(spec.Basic.Ack(delivery_tag=3)) == "<Basic.Ack(['delivery_tag=3', 'multiple=False'])>"
    )
    assert repr(spec.Tx.Select()) == '<Tx.Select>'
    for method in (
        spec.Connection.StartOk(response='\x00guest\x00s3cret'),
        spec.Connection.SecureOk(response='s3cret'),
        spec.Connection.UpdateSecret(new_secret='s3cret', reason='rotate'),
    ):
        assert 's3cret' not in repr(method)
        assert 's3cret' not in str(method)
    assert 'rotate' in repr(spec.Connection.UpdateSecret(new_secret='x', reason='rotate'))


def test_equality_and_content_attachment() -> None:
    assert spec.Basic.Ack(delivery_tag=1) == spec.Basic.Ack(delivery_tag=1)
    assert spec.Basic.Ack(delivery_tag=1) != spec.Basic.Ack(delivery_tag=2)
    assert spec.Basic.Ack(delivery_tag=1) != spec.Basic.Nack(delivery_tag=1)
    method = spec.Basic.GetOk(delivery_tag=1)
    assert method.get_properties() is None and method.get_body() is None
    props = spec.BasicProperties(content_type='text/plain')
    method._set_content(props, b'body')
    assert method.get_properties() is props
    assert method.get_body() == b'body'
    # as in pika 1.x, attached content counts in equality and shows in repr
    assert method != spec.Basic.GetOk(delivery_tag=1)
    assert "_body=b'body'" in repr(method)
    assert spec.Tx.Select() != spec.Tx.Commit()  # pika 1.x: equal (it compares vars only)
    assert spec.Basic.Ack() != None  # noqa: E711
    assert spec.Basic.Ack() != 'x'  # pika 1.x: AttributeError


# --------------------------------------------------------------------------- encode errors


def test_short_string_too_long_in_a_method() -> None:
    with pytest.raises(exceptions.ShortStringTooLong):
        spec.Basic.Publish(routing_key='r' * 256).encode()


def test_missing_required_argument_raises_type_error() -> None:
    with pytest.raises(TypeError, match=r'Exchange\.Declare\.exchange'):
        spec.Exchange.Declare().encode()
    with pytest.raises(TypeError, match=r'Basic\.Reject\.delivery_tag'):
        spec.Basic.Reject().encode()


def test_out_of_range_integer_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r'Basic\.Qos'):
        spec.Basic.Qos(prefetch_count=70000).encode()
    with pytest.raises(TypeError):
        spec.Basic.Qos(prefetch_count='10').encode()  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        spec.BasicProperties(priority=256).encode()


# --------------------------------------------------------------------------- round trips

FIELD_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    'octet': st.integers(0, 2**8 - 1),
    'short': st.integers(0, 2**16 - 1),
    'long': st.integers(0, 2**32 - 1),
    'longlong': st.integers(0, 2**64 - 1),
    'timestamp': st.integers(0, 2**64 - 1),
    'bit': st.booleans(),
    'shortstr': st.text(max_size=40).filter(lambda s: len(s.encode('utf-8')) <= 255),
    'longstr': st.one_of(st.text(max_size=40), st.binary(max_size=40)),
    'table': st.dictionaries(
        st.text(max_size=10), st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(), st.none())
    ),
}


def expected_after_round_trip(kind: str, value: Any) -> Any:
    """Long strings come back as str when they are valid UTF-8."""
    if kind == 'longstr' and isinstance(value, bytes):
        try:
            return value.decode('utf-8')
        except UnicodeDecodeError:
            return value
    return value


def fields_of(cls: dict[str, Any], method: dict[str, Any]) -> list[Any]:
    return [CODEGEN.Field(arg, DOMAINS, cls['name'], method['name']) for arg in method['arguments']]


@pytest.mark.parametrize(('cls', 'method'), JSON_METHODS, ids=lambda x: x['name'])
@settings(max_examples=25)
@given(draw=st.data())
def test_every_method_round_trips(cls: dict[str, Any], method: dict[str, Any], draw: Any) -> None:
    fields = fields_of(cls, method)
    kwargs = {f.name: draw.draw(FIELD_STRATEGIES[f.kind], label=f.name) for f in fields}
    generated = spec.methods[cls['id'] << 16 | method['id']]
    raw = payload(generated(**kwargs))
    decoded = blank(generated).decode(b'\x00\x00\x00\x00' + raw + b'\xce', 4)
    for field in fields:
        expected = expected_after_round_trip(field.kind, kwargs[field.name])
        assert getattr(decoded, field.name) == expected


PROPERTY_FIELDS = [
    CODEGEN.Field(p, DOMAINS, 'basic', 'properties')
    for c in JSON['classes']
    if c['name'] == 'basic'
    for p in c['properties']
]


@settings(max_examples=200)
@given(draw=st.data())
def test_basic_properties_round_trip(draw: Any) -> None:
    assert len(PROPERTY_FIELDS) == 14
    kwargs = {
        f.name: draw.draw(st.one_of(st.none(), FIELD_STRATEGIES[f.kind]), label=f.name)
        for f in PROPERTY_FIELDS
    }
    props = spec.BasicProperties(**kwargs)
    raw = b''.join(props.encode())
    decoded = spec.BasicProperties()
    assert decoded.decode(raw + b'body') == len(raw)
    assert vars(decoded) == kwargs


@settings(max_examples=200)
@given(st.sampled_from(sorted(spec.methods)), st.binary(max_size=48))
def test_random_payloads_only_raise_amqp_errors(index: int, raw: bytes) -> None:
    try:
        blank(spec.methods[index]).decode(raw)
    except exceptions.AMQPError:
        pass
    try:
        spec.BasicProperties().decode(raw)
    except exceptions.AMQPError:
        pass


class _Text(str):
    """A str subclass: must take the general path and encode the same."""


def _via_data(value: object) -> object:
    from pika import data

    pieces: list[bytes] = []
    try:
        data.encode_short_string(pieces, value)  # type: ignore[arg-type]
    except (TypeError, exceptions.ShortStringTooLong) as exc:
        return type(exc)
    return b''.join(pieces)


def _via_spec(value: object) -> object:
    try:
        return spec._short_string(value)
    except (TypeError, exceptions.ShortStringTooLong) as exc:
        return type(exc)


@given(
    st.text(max_size=300)
    | st.binary(max_size=300)
    | st.binary(max_size=10).map(bytearray)
    | st.text(max_size=5).map(_Text)
    | st.integers()
    | st.none()
)
def test_one_piece_short_string_matches_pika_data(value: object) -> None:
    """The generated one-piece shortstr encoder writes what pika.data writes, errors included."""
    assert _via_spec(value) == _via_data(value)


def test_short_string_boundaries() -> None:
    assert spec._short_string('é' * 127) == b'\xfe' + 'é'.encode() * 127
    assert _via_spec('é' * 128) is exceptions.ShortStringTooLong
    assert _via_spec('x' * 255) == b'\xff' + b'x' * 255
    publish = spec.Basic.Publish(exchange='ex', routing_key='ключ')
    assert publish.encode() == [b'\x00\x00', b'\x02ex', b'\x08' + 'ключ'.encode(), b'\x00']


def test_an_empty_or_omitted_arguments_table_encodes_as_the_empty_table() -> None:
    omitted = b''.join(spec.Queue.Declare(queue='q').encode())
    assert b''.join(spec.Queue.Declare(queue='q', arguments={}).encode()) == omitted
    assert omitted.endswith(b'\x00\x00\x00\x00')
    with_one = b''.join(spec.Queue.Declare(queue='q', arguments={'x-a': 1}).encode())
    assert with_one != omitted and b'x-a' in with_one


@pytest.mark.parametrize('bad', [0, '', [], 'x'])
def test_a_non_mapping_arguments_value_is_still_refused(bad: object) -> None:
    with pytest.raises(exceptions.UnsupportedAMQPFieldException):
        spec.Queue.Declare(queue='q', arguments=bad).encode()  # type: ignore[arg-type]
