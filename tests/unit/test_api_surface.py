"""The public API surface that pika 1.x (and the pika 0.9 seed) programs rely on.

Names, module paths and, where users pass arguments positionally or by keyword, the parameter
names, order and defaults (checked through ``inspect.signature``). Our signatures may *extend*
1.x (a trailing defaulted parameter, a keyword-only ``timeout``), never reorder or rename it.
No broker needed.
"""

from __future__ import annotations

import enum
import inspect
from typing import Any, Callable

import pytest

import pika
from pika import exceptions, frame, spec
from pika._api import args as ca

REQ = object()
"""Marks a parameter that 1.x requires (ours may be required or lenient)."""

ANY = object()
"""Marks a parameter whose default is a private sentinel (only the name is checked)."""

Expected = list[tuple[str, Any]]


def assert_params(func: Callable[..., Any], expected: Expected) -> None:
    """``func``'s leading positional parameters (after ``self``) are exactly ``expected``."""
    params = list(inspect.signature(func).parameters.values())
    if params and params[0].name == 'self':
        params = params[1:]
    positional = [p for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    names = [p.name for p in positional[: len(expected)]]
    assert names == [name for name, _ in expected], f'{func.__qualname__}: {names}'
    for param, (name, default) in zip(positional, expected):
        if default is REQ or default is ANY:
            continue
        assert param.default is not inspect.Parameter.empty, f'{name} must have a default'
        assert param.default == default, f'{func.__qualname__}({name}={param.default!r})'
        assert type(param.default) is type(default) or isinstance(default, str)
    for extra in positional[len(expected) :]:
        assert extra.default is not inspect.Parameter.empty, f'extra required {extra.name}'
    for param in params:
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            assert param.default is not inspect.Parameter.empty, f'kw-only required {param.name}'


# -- the pika 1.x channel API ----------------------------------------------------------------

# method -> 1.x parameters of BlockingChannel (no completion callbacks).
BLOCKING_CHANNEL: dict[str, Expected] = {
    'basic_publish': [
        ('exchange', REQ),
        ('routing_key', REQ),
        ('body', REQ),
        ('properties', None),
        ('mandatory', False),
    ],
    'basic_consume': [
        ('queue', REQ),
        ('on_message_callback', REQ),
        ('auto_ack', False),
        ('exclusive', False),
        ('consumer_tag', None),
        ('arguments', None),
    ],
    'basic_cancel': [('consumer_tag', REQ)],
    'basic_get': [('queue', REQ), ('auto_ack', False)],
    'basic_ack': [('delivery_tag', 0), ('multiple', False)],
    'basic_nack': [('delivery_tag', 0), ('multiple', False), ('requeue', True)],
    'basic_reject': [('delivery_tag', 0), ('requeue', True)],
    'basic_qos': [('prefetch_size', 0), ('prefetch_count', 0), ('global_qos', False)],
    'basic_recover': [('requeue', False)],
    'queue_declare': [
        ('queue', REQ),
        ('passive', False),
        ('durable', False),
        ('exclusive', False),
        ('auto_delete', False),
        ('arguments', None),
    ],
    'queue_bind': [('queue', REQ), ('exchange', REQ), ('routing_key', None), ('arguments', None)],
    'queue_unbind': [
        ('queue', REQ),
        ('exchange', None),
        ('routing_key', None),
        ('arguments', None),
    ],
    'queue_purge': [('queue', REQ)],
    'queue_delete': [('queue', REQ), ('if_unused', False), ('if_empty', False)],
    'exchange_declare': [
        ('exchange', REQ),
        ('exchange_type', 'direct'),
        ('passive', False),
        ('durable', False),
        ('auto_delete', False),
        ('internal', False),
        ('arguments', None),
    ],
    'exchange_delete': [('exchange', None), ('if_unused', False)],
    'exchange_bind': [
        ('destination', REQ),
        ('source', REQ),
        ('routing_key', ''),
        ('arguments', None),
    ],
    'exchange_unbind': [
        ('destination', None),
        ('source', None),
        ('routing_key', ''),
        ('arguments', None),
    ],
    'consume': [
        ('queue', REQ),
        ('auto_ack', False),
        ('exclusive', False),
        ('arguments', None),
        ('inactivity_timeout', None),
    ],
    'cancel': [],
    'get_waiting_message_count': [],
    'start_consuming': [],
    'stop_consuming': [('consumer_tag', None)],
    'confirm_delivery': [],
    'flow': [('active', REQ)],
    'tx_select': [],
    'tx_commit': [],
    'tx_rollback': [],
    'close': [('reply_code', 0), ('reply_text', 'Normal shutdown')],
    'add_on_return_callback': [('callback', REQ)],
    'add_on_cancel_callback': [('callback', REQ)],
}


@pytest.mark.parametrize('name', sorted(BLOCKING_CHANNEL))
def test_blocking_channel_method_signatures(name: str) -> None:
    from pika.adapters.blocking_connection import BlockingChannel

    assert_params(getattr(BlockingChannel, name), BLOCKING_CHANNEL[name])


def _with_callback(expected: Expected) -> Expected:
    return [*expected, ('callback', None)]


# method -> 1.x parameters of the callback Channel.
CHANNEL: dict[str, Expected] = {
    'basic_publish': BLOCKING_CHANNEL['basic_publish'],
    'basic_consume': _with_callback(BLOCKING_CHANNEL['basic_consume']),
    'basic_cancel': [('consumer_tag', ''), ('callback', None)],
    'basic_get': [('queue', REQ), ('callback', REQ), ('auto_ack', False)],
    'basic_ack': BLOCKING_CHANNEL['basic_ack'],
    'basic_nack': BLOCKING_CHANNEL['basic_nack'],
    'basic_reject': BLOCKING_CHANNEL['basic_reject'],
    'basic_qos': _with_callback(BLOCKING_CHANNEL['basic_qos']),
    'basic_recover': _with_callback(BLOCKING_CHANNEL['basic_recover']),
    'queue_declare': _with_callback(BLOCKING_CHANNEL['queue_declare']),
    'queue_bind': _with_callback(BLOCKING_CHANNEL['queue_bind']),
    'queue_unbind': _with_callback(BLOCKING_CHANNEL['queue_unbind']),
    'queue_purge': _with_callback(BLOCKING_CHANNEL['queue_purge']),
    'queue_delete': _with_callback(BLOCKING_CHANNEL['queue_delete']),
    'exchange_declare': _with_callback(BLOCKING_CHANNEL['exchange_declare']),
    'exchange_delete': _with_callback(BLOCKING_CHANNEL['exchange_delete']),
    'exchange_bind': _with_callback(BLOCKING_CHANNEL['exchange_bind']),
    'exchange_unbind': _with_callback(BLOCKING_CHANNEL['exchange_unbind']),
    'confirm_delivery': [('ack_nack_callback', REQ), ('callback', None)],
    'flow': [('active', REQ), ('callback', None)],
    'tx_select': [('callback', None)],
    'tx_commit': [('callback', None)],
    'tx_rollback': [('callback', None)],
    'close': BLOCKING_CHANNEL['close'],
    'add_on_close_callback': [('callback', REQ)],
    'add_on_return_callback': [('callback', REQ)],
    'add_on_cancel_callback': [('callback', REQ)],
    'add_on_flow_callback': [('callback', REQ)],
}


@pytest.mark.parametrize('name', sorted(CHANNEL))
def test_callback_channel_method_signatures(name: str) -> None:
    from pika.channel import Channel

    assert_params(getattr(Channel, name), CHANNEL[name])


@pytest.mark.parametrize('name', ['is_open', 'is_closed', 'is_closing', 'consumer_tags'])
def test_callback_channel_state_properties(name: str) -> None:
    from pika.channel import Channel

    assert isinstance(inspect.getattr_static(Channel, name), property)


@pytest.mark.parametrize('name', ['is_open', 'is_closed', 'consumer_tags', 'connection'])
def test_blocking_channel_state_properties(name: str) -> None:
    from pika.adapters.blocking_connection import BlockingChannel

    assert isinstance(inspect.getattr_static(BlockingChannel, name), property)


def test_advertised_signature_matches_the_binding_table() -> None:
    """The advertised 1.x signature binds the way `pika._api.args.bind` does."""
    from pika.channel import Channel

    sig = inspect.signature(Channel.queue_bind)
    bound = sig.bind(None, 'q', 'x', 'rk')
    assert dict(list(bound.arguments.items())[1:]) == {
        'queue': 'q',
        'exchange': 'x',
        'routing_key': 'rk',
    }
    assert ca.bind('queue_bind', ('q', 'x', 'rk'), {})['routing_key'] == 'rk'


# -- connections -------------------------------------------------------------------------------

CONNECTION_CALLBACKS = [
    'add_on_close_callback',
    'add_on_open_callback',
    'add_on_connection_blocked_callback',
    'add_on_connection_unblocked_callback',
]


def test_blocking_connection_signatures() -> None:
    from pika.adapters.blocking_connection import BlockingConnection

    assert pika.BlockingConnection is BlockingConnection
    assert_params(BlockingConnection.__init__, [('parameters', None), ('_impl_class', None)])
    assert_params(BlockingConnection.channel, [('channel_number', None)])
    assert_params(
        BlockingConnection.close, [('reply_code', 200), ('reply_text', 'Normal shutdown')]
    )
    assert_params(BlockingConnection.process_data_events, [('time_limit', 0)])
    assert_params(BlockingConnection.sleep, [('duration', REQ)])
    assert_params(BlockingConnection.call_later, [('delay', REQ), ('callback', REQ)])
    assert_params(BlockingConnection.remove_timeout, [('timeout_id', REQ)])
    assert_params(BlockingConnection.add_callback_threadsafe, [('callback', REQ)])
    assert_params(BlockingConnection.update_secret, [('new_secret', REQ), ('reason', REQ)])
    for name in ('add_on_connection_blocked_callback', 'add_on_connection_unblocked_callback'):
        assert_params(getattr(BlockingConnection, name), [('callback', REQ)])
    for name in (
        'is_open',
        'is_closed',
        'basic_nack_supported',
        'consumer_cancel_notify_supported',
        'exchange_exchange_bindings_supported',
        'publisher_confirms_supported',
        'basic_nack',
        'consumer_cancel_notify',
        'exchange_exchange_bindings',
        'publisher_confirms',
    ):
        assert isinstance(inspect.getattr_static(BlockingConnection, name), property), name
    assert callable(BlockingConnection.__enter__) and callable(BlockingConnection.__exit__)


def test_blocking_connection_seed_extras() -> None:
    """The 0.9 docs: add_timeout, remove_timeout, process_timeouts, backpressure, callbacks."""
    from pika.adapters.blocking_connection import BlockingConnection

    assert_params(BlockingConnection.add_timeout, [('deadline', REQ), ('callback', REQ)])
    assert_params(BlockingConnection.set_backpressure_multiplier, [('value', 10)])
    for name in ('process_timeouts', 'add_backpressure_callback', *CONNECTION_CALLBACKS[:2]):
        assert callable(getattr(BlockingConnection, name)), name


def test_select_connection_signatures() -> None:
    from pika.adapters.select_connection import SelectConnection

    assert pika.SelectConnection is SelectConnection
    assert_params(
        SelectConnection.__init__,
        [
            ('parameters', None),
            ('on_open_callback', None),
            ('on_open_error_callback', None),
            ('on_close_callback', None),
            ('custom_ioloop', None),
            ('internal_connection_workflow', True),
        ],
    )
    assert_params(SelectConnection.channel, [('channel_number', None), ('on_open_callback', None)])
    assert_params(SelectConnection.close, [('reply_code', 200), ('reply_text', 'Normal shutdown')])
    assert_params(
        SelectConnection.add_on_open_error_callback, [('callback', REQ), ('remove_default', True)]
    )
    assert_params(
        SelectConnection.update_secret, [('new_secret', REQ), ('reason', REQ), ('callback', None)]
    )
    assert_params(SelectConnection.call_later, [('delay', REQ), ('callback', REQ)])
    assert_params(SelectConnection.add_timeout, [('deadline', REQ), ('callback', REQ)])
    assert_params(SelectConnection.set_backpressure_multiplier, [('value', 10)])
    for name in (*CONNECTION_CALLBACKS, 'add_backpressure_callback', 'add_callback_threadsafe'):
        assert_params(getattr(SelectConnection, name), [('callback', REQ)])
    for name in (
        'is_open',
        'is_closing',
        'is_closed',
        'basic_nack',
        'consumer_cancel_notify',
        'exchange_exchange_bindings',
        'publisher_confirms',
    ):
        assert isinstance(inspect.getattr_static(SelectConnection, name), property), name


def test_select_ioloop() -> None:
    from pika.adapters import select_connection

    ioloop_class = select_connection.IOLoop
    assert pika.adapters.IOLoop is ioloop_class
    assert_params(ioloop_class.call_later, [('delay', REQ), ('callback', REQ)])
    assert len(inspect.signature(ioloop_class.remove_timeout).parameters) == 2
    for name in ('add_callback_threadsafe', 'add_callback'):
        assert_params(getattr(ioloop_class, name), [('callback', REQ)])
    assert_params(ioloop_class.add_handler, [('fd', REQ), ('handler', REQ), ('events', REQ)])
    assert_params(ioloop_class.update_handler, [('fd', REQ), ('events', REQ)])
    assert_params(ioloop_class.remove_handler, [('fd', REQ)])
    for name in ('start', 'stop', 'close', 'process_timeouts', 'poll'):
        assert callable(getattr(ioloop_class, name)), name
    assert (ioloop_class.READ, ioloop_class.WRITE, ioloop_class.ERROR) == (1, 4, 8)
    assert select_connection.POLLER_TYPE is None or isinstance(select_connection.POLLER_TYPE, str)


def test_adapter_class_names() -> None:
    import pika.adapters

    for name in ('BaseConnection', 'BlockingConnection', 'SelectConnection', 'IOLoop'):
        assert isinstance(getattr(pika.adapters, name), type), name
    assert issubclass(pika.adapters.SelectConnection, pika.adapters.BaseConnection)
    from pika.adapters.asyncio_connection import AsyncioConnection
    from pika.adapters.asyncore_connection import AsyncoreConnection
    from pika.adapters.tornado_connection import TornadoConnection
    from pika.adapters.twisted_connection import TwistedProtocolConnection

    for cls in (AsyncioConnection, AsyncoreConnection, TornadoConnection):
        assert issubclass(cls, pika.adapters.BaseConnection), cls
    assert pika.adapters.AsyncioConnection is AsyncioConnection
    assert pika.adapters.TornadoConnection is TornadoConnection
    assert pika.adapters.TwistedProtocolConnection is TwistedProtocolConnection
    assert pika.adapters.AsyncoreConnection is AsyncoreConnection
    assert pika.AsyncoreConnection is AsyncoreConnection
    assert pika.TornadoConnection is TornadoConnection
    from pika.adapters.gevent_connection import GeventConnection
    from pika.adapters.twisted_connection import TwistedChannel

    assert issubclass(GeventConnection, pika.adapters.BaseConnection)
    assert pika.adapters.GeventConnection is GeventConnection
    assert TwistedChannel.__name__ == 'TwistedChannel'


def test_blocking_module_names() -> None:
    from pika.adapters import blocking_connection

    assert blocking_connection.BlockingChannel.__name__ == 'BlockingChannel'
    assert blocking_connection.ReturnedMessage.__slots__ == ('body', 'method', 'properties')


def test_channel_module() -> None:
    import pika.channel

    assert pika.channel.Channel.__name__ == 'Channel'
    assert pika.channel.MAX_CHANNELS == 65535


# -- top-level names, parameters, credentials ---------------------------------------------------


def test_top_level_names() -> None:
    import pika.connection

    assert pika.ConnectionParameters is pika.connection.ConnectionParameters
    assert pika.URLParameters is pika.connection.URLParameters
    assert pika.SSLOptions is pika.connection.SSLOptions
    assert pika.BasicProperties is spec.BasicProperties
    assert pika.PlainCredentials is pika.credentials.PlainCredentials
    assert pika.DeliveryMode.Persistent.value == 2
    assert pika.DeliveryMode.Transient.value == 1
    assert pika.BaseConnection is pika.adapters.BaseConnection
    assert pika.spec is spec
    assert isinstance(pika.__version__, str)
    for module in ('adapters', 'channel', 'connection', 'credentials', 'exceptions', 'frame'):
        assert hasattr(pika, module), module
    assert issubclass(pika.connection.ConnectionParameters, pika.connection.Parameters)
    assert issubclass(pika.connection.URLParameters, pika.connection.Parameters)
    assert pika.connection.Connection.__name__ == 'Connection'


def test_exchange_type() -> None:
    from pika.exchange_type import ExchangeType

    assert issubclass(ExchangeType, enum.Enum)
    assert {member.name for member in ExchangeType} >= {'direct', 'fanout', 'headers', 'topic'}
    assert ExchangeType.topic.value == 'topic'
    assert pika.ExchangeType is ExchangeType


def test_connection_parameters_signature() -> None:
    import pika.connection

    names = [
        'host',
        'port',
        'virtual_host',
        'credentials',
        'channel_max',
        'frame_max',
        'heartbeat',
        'ssl_options',
        'connection_attempts',
        'retry_delay',
        'socket_timeout',
        'stack_timeout',
        'locale',
        'blocked_connection_timeout',
        'client_properties',
        'tcp_options',
    ]
    assert_params(pika.ConnectionParameters.__init__, [(n, ANY) for n in names])
    assert_params(pika.URLParameters.__init__, [('url', REQ)])
    assert_params(pika.SSLOptions.__init__, [('context', REQ), ('server_hostname', None)])
    params = pika.ConnectionParameters()
    assert (params.host, params.port, params.virtual_host) == ('localhost', 5672, '/')
    assert params.credentials == pika.PlainCredentials('guest', 'guest')
    defaults = pika.connection.Parameters
    assert (defaults.DEFAULT_HOST, defaults.DEFAULT_PORT) == ('localhost', 5672)
    assert (defaults.DEFAULT_SSL_PORT, defaults.DEFAULT_VIRTUAL_HOST) == (5671, '/')
    assert (defaults.DEFAULT_USERNAME, defaults.DEFAULT_PASSWORD) == ('guest', 'guest')
    positional = pika.ConnectionParameters('rabbit', 5673, '/vh', pika.PlainCredentials('u', 'p'))
    assert (positional.host, positional.port, positional.virtual_host) == ('rabbit', 5673, '/vh')


def test_credentials() -> None:
    from pika import credentials

    assert_params(
        credentials.PlainCredentials.__init__,
        [('username', REQ), ('password', REQ), ('erase_on_connect', False)],
    )
    creds = credentials.PlainCredentials('user', 'secret')
    assert (creds.username, creds.password, creds.erase_on_connect) == ('user', 'secret', False)
    assert 'secret' not in repr(creds)
    assert credentials.ExternalCredentials() is not None
    assert set(credentials.VALID_TYPES) >= {
        credentials.PlainCredentials,
        credentials.ExternalCredentials,
    }


# -- spec, frame, exceptions ---------------------------------------------------------------------


PROPERTY_NAMES = [
    'content_type',
    'content_encoding',
    'headers',
    'delivery_mode',
    'priority',
    'correlation_id',
    'reply_to',
    'expiration',
    'message_id',
    'timestamp',
    'type',
    'user_id',
    'app_id',
    'cluster_id',
]


def test_basic_properties() -> None:
    assert_params(spec.BasicProperties.__init__, [(n, None) for n in PROPERTY_NAMES])
    props = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
    assert props.delivery_mode == 2
    assert spec.PERSISTENT_DELIVERY_MODE == 2 and spec.TRANSIENT_DELIVERY_MODE == 1
    text = repr(pika.BasicProperties(content_type='text/plain', headers={'k': 'v'}))
    assert text.startswith('<BasicProperties(') and 'content_type=text/plain' in text
    assert "headers={'k': 'v'}" in text


METHOD_FIELDS: dict[str, list[str]] = {
    'Basic.Deliver': ['consumer_tag', 'delivery_tag', 'redelivered', 'exchange', 'routing_key'],
    'Basic.GetOk': ['delivery_tag', 'redelivered', 'exchange', 'routing_key', 'message_count'],
    'Basic.GetEmpty': ['cluster_id'],
    'Basic.Return': ['reply_code', 'reply_text', 'exchange', 'routing_key'],
    'Basic.Ack': ['delivery_tag', 'multiple'],
    'Basic.Nack': ['delivery_tag', 'multiple', 'requeue'],
    'Basic.Cancel': ['consumer_tag', 'nowait'],
    'Basic.ConsumeOk': ['consumer_tag'],
    'Basic.Publish': ['ticket', 'exchange', 'routing_key', 'mandatory', 'immediate'],
    'Queue.Declare': [
        'ticket',
        'queue',
        'passive',
        'durable',
        'exclusive',
        'auto_delete',
        'nowait',
        'arguments',
    ],
    'Queue.DeclareOk': ['queue', 'message_count', 'consumer_count'],
    'Queue.PurgeOk': ['message_count'],
    'Queue.DeleteOk': ['message_count'],
    'Channel.Close': ['reply_code', 'reply_text', 'class_id', 'method_id'],
    'Connection.Close': ['reply_code', 'reply_text', 'class_id', 'method_id'],
    'Connection.Blocked': ['reason'],
    'Channel.FlowOk': ['active'],
}


@pytest.mark.parametrize('name', sorted(METHOD_FIELDS))
def test_spec_method_fields(name: str) -> None:
    class_name, method_name = name.split('.')
    method_class = getattr(getattr(spec, class_name), method_name)
    assert issubclass(method_class, pika.amqp_object.Method)
    assert method_class.NAME == name
    assert_params(method_class.__init__, [(field, ANY) for field in METHOD_FIELDS[name]])


def test_method_objects_ergonomics() -> None:
    deliver = spec.Basic.Deliver('ctag1', 7, True, 'ex', 'rk')
    assert (deliver.consumer_tag, deliver.delivery_tag, deliver.redelivered) == ('ctag1', 7, True)
    assert (deliver.exchange, deliver.routing_key) == ('ex', 'rk')
    assert isinstance(deliver, spec.Basic.Deliver)
    assert repr(deliver) == (
        "<Basic.Deliver(['consumer_tag=ctag1', 'delivery_tag=7', 'exchange=ex', "
        "'redelivered=True', 'routing_key=rk'])>"
    )
    assert deliver == spec.Basic.Deliver('ctag1', 7, True, 'ex', 'rk')
    assert spec.Basic.Deliver.INDEX == 0x003C003C
    assert spec.Queue.Declare.synchronous and not spec.Basic.Publish.synchronous
    assert spec.Queue.DeclareOk in spec.Queue.Declare().valid_responses or any(
        issubclass(r, spec.Queue.DeclareOk) for r in spec.Queue.Declare().valid_responses
    )
    assert spec.methods[0x003C003C] is spec.Basic.Deliver
    assert spec.has_content(spec.Basic.Deliver.INDEX)
    assert not spec.has_content(spec.Queue.Declare.INDEX)


def test_spec_constants() -> None:
    assert spec.PORT == 5672
    assert spec.PROTOCOL_VERSION == (0, 9, 1)
    assert spec.FRAME_MAX_SIZE == 131072
    assert spec.REPLY_SUCCESS == 200
    assert (spec.NOT_FOUND, spec.ACCESS_REFUSED, spec.PRECONDITION_FAILED) == (404, 403, 406)
    assert spec.FRAME_METHOD == frame.FRAME_METHOD == 1


def test_frame_classes() -> None:
    assert_params(frame.Method.__init__, [('channel_number', REQ), ('method', REQ)])
    assert_params(
        frame.Header.__init__, [('channel_number', REQ), ('body_size', REQ), ('props', REQ)]
    )
    assert_params(frame.Body.__init__, [('channel_number', REQ), ('fragment', REQ)])
    assert_params(
        frame.ProtocolHeader.__init__, [('major', ANY), ('minor', ANY), ('revision', ANY)]
    )
    assert_params(frame.decode_frame, [('data_in', REQ)])
    method_frame = frame.Method(3, spec.Queue.DeclareOk('q', 5, 1))
    assert (method_frame.channel_number, method_frame.frame_type) == (3, frame.FRAME_METHOD)
    assert method_frame.method.message_count == 5
    assert 'Queue.DeclareOk' in repr(method_frame) and 'channel_number=3' in repr(method_frame)
    consumed, decoded = frame.decode_frame(method_frame.marshal())
    assert consumed == len(method_frame.marshal())
    assert isinstance(decoded, frame.Method) and decoded.method == method_frame.method
    assert isinstance(frame.Heartbeat(), frame.Frame)
    header = frame.ProtocolHeader()
    assert (header.major, header.minor, header.revision) == (0, 9, 1)
    assert header.marshal() == b'AMQP\x00\x00\x09\x01'


EXCEPTION_TREE: dict[str, str] = {
    'AMQPConnectionError': 'AMQPError',
    'ConnectionOpenAborted': 'AMQPConnectionError',
    'StreamLostError': 'AMQPConnectionError',
    'IncompatibleProtocolError': 'AMQPConnectionError',
    'AuthenticationError': 'AMQPConnectionError',
    'ProbableAuthenticationError': 'AMQPConnectionError',
    'ProbableAccessDeniedError': 'AMQPConnectionError',
    'NoFreeChannels': 'AMQPConnectionError',
    'ConnectionWrongStateError': 'AMQPConnectionError',
    'ConnectionClosed': 'AMQPConnectionError',
    'ConnectionClosedByBroker': 'ConnectionClosed',
    'ConnectionClosedByClient': 'ConnectionClosed',
    'ConnectionBlockedTimeout': 'AMQPConnectionError',
    'AMQPHeartbeatTimeout': 'AMQPConnectionError',
    'AMQPChannelError': 'AMQPError',
    'ChannelWrongStateError': 'AMQPChannelError',
    'ChannelClosed': 'AMQPChannelError',
    'ChannelClosedByBroker': 'ChannelClosed',
    'ChannelClosedByClient': 'ChannelClosed',
    'DuplicateConsumerTag': 'AMQPChannelError',
    'ConsumerCancelled': 'AMQPChannelError',
    'UnroutableError': 'AMQPChannelError',
    'NackError': 'AMQPChannelError',
    'InvalidChannelNumber': 'AMQPError',
    'ProtocolSyntaxError': 'AMQPError',
    'UnexpectedFrameError': 'ProtocolSyntaxError',
    'ProtocolVersionMismatch': 'ProtocolSyntaxError',
    'BodyTooLongError': 'ProtocolSyntaxError',
    'InvalidFrameError': 'ProtocolSyntaxError',
    'InvalidFieldTypeException': 'ProtocolSyntaxError',
    'UnsupportedAMQPFieldException': 'ProtocolSyntaxError',
    'MethodNotImplemented': 'AMQPError',
    'ChannelError': 'AMQPError',
    'ReentrancyError': 'AMQPError',
    'ShortStringTooLong': 'AMQPError',
    'DuplicateGetOkCallback': 'ChannelError',
    'InvalidMinimumFrameSize': 'ProtocolSyntaxError',
    'InvalidMaximumFrameSize': 'ProtocolSyntaxError',
}


@pytest.mark.parametrize('name', sorted(EXCEPTION_TREE))
def test_exception_names_and_bases(name: str) -> None:
    cls = getattr(exceptions, name)
    assert issubclass(cls, getattr(exceptions, EXCEPTION_TREE[name]))
    assert issubclass(cls, exceptions.AMQPError)


def test_closed_exceptions_carry_reply_code_and_text() -> None:
    for cls in (
        exceptions.ConnectionClosed,
        exceptions.ConnectionClosedByBroker,
        exceptions.ConnectionClosedByClient,
        exceptions.ChannelClosed,
        exceptions.ChannelClosedByBroker,
        exceptions.ChannelClosedByClient,
    ):
        error = cls(404, 'NOT_FOUND - no queue')
        assert (error.reply_code, error.reply_text) == (404, 'NOT_FOUND - no queue')
        assert error.args == (404, 'NOT_FOUND - no queue')
    returned = exceptions.UnroutableError(['m'])
    assert returned.messages == ['m']
    assert exceptions.NackError(['n']).messages == ['n']


# -- both generations on one method: the callable-first rule -----------------------------------


def _cb(*_args: object) -> None:
    """A user callback."""


@pytest.mark.parametrize(
    ('method', 'args', 'kwargs', 'expected'),
    [
        ('queue_declare', ('q', True), {}, {'queue': 'q', 'passive': True, 'callback': None}),
        ('queue_declare', (_cb, 'q', True), {}, {'queue': 'q', 'passive': True, 'callback': _cb}),
        ('queue_declare', (), {'queue': 'q', 'callback': _cb}, {'queue': 'q', 'callback': _cb}),
        (
            'basic_consume',
            ('q', _cb, True),
            {},
            {'queue': 'q', 'on_message_callback': _cb, 'auto_ack': True},
        ),
        (
            'basic_consume',
            (_cb, 'q', True),
            {},
            {'queue': 'q', 'on_message_callback': _cb, 'auto_ack': True},
        ),
        (
            'basic_consume',
            (_cb,),
            {'queue': 'q', 'no_ack': True},
            {'queue': 'q', 'on_message_callback': _cb, 'auto_ack': True},
        ),
        ('basic_get', ('q', _cb, True), {}, {'queue': 'q', 'callback': _cb, 'auto_ack': True}),
        ('basic_get', (_cb, 'q', True), {}, {'queue': 'q', 'callback': _cb, 'auto_ack': True}),
        (
            'exchange_declare',
            (),
            {'exchange': 'e', 'type': 'fanout'},
            {'exchange': 'e', 'exchange_type': 'fanout'},
        ),
        (
            'exchange_declare',
            ('e', 'topic', False, True),
            {},
            {'exchange': 'e', 'exchange_type': 'topic', 'durable': True},
        ),
        (
            'exchange_declare',
            (_cb, 'e', 'topic'),
            {},
            {'exchange': 'e', 'exchange_type': 'topic', 'callback': _cb},
        ),
        (
            'basic_qos',
            (),
            {'prefetch_count': 5, 'all_channels': True},
            {'prefetch_count': 5, 'global_qos': True},
        ),
        ('basic_qos', (0, 5, True), {}, {'prefetch_count': 5, 'global_qos': True}),
        ('basic_qos', (_cb, 0, 5), {}, {'prefetch_count': 5, 'callback': _cb}),
        ('queue_bind', ('q', 'x', 'rk'), {}, {'queue': 'q', 'exchange': 'x', 'routing_key': 'rk'}),
        (
            'queue_bind',
            (_cb, 'q', 'x', 'rk'),
            {},
            {'queue': 'q', 'exchange': 'x', 'routing_key': 'rk', 'callback': _cb},
        ),
        ('flow', (True, _cb), {}, {'active': True, 'callback': _cb}),
        ('flow', (_cb, True), {}, {'active': True, 'callback': _cb}),
        ('confirm_delivery', (_cb,), {}, {'ack_nack_callback': _cb, 'nowait': False}),
        ('confirm_delivery', (_cb, True), {}, {'ack_nack_callback': _cb, 'nowait': True}),
        ('confirm_delivery', (), {'callback': _cb}, {'ack_nack_callback': _cb}),
        ('basic_cancel', ('tag',), {}, {'consumer_tag': 'tag'}),
        ('basic_cancel', (_cb, 'tag'), {}, {'consumer_tag': 'tag', 'callback': _cb}),
    ],
)
def test_both_forms_bind_alike(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], expected: dict[str, Any]
) -> None:
    bound = ca.bind(method, args, kwargs)
    assert {key: bound[key] for key in expected} == expected


def test_alias_pairs_conflict() -> None:
    with pytest.raises(TypeError):
        ca.bind('basic_consume', ('q', _cb), {'auto_ack': True, 'no_ack': True})
    with pytest.raises(TypeError):
        ca.bind('exchange_declare', ('e',), {'type': 'topic', 'exchange_type': 'topic'})
    with pytest.raises(TypeError):
        ca.bind('queue_declare', ('q',), {'bogus': 1})


def test_bare_import_reaches_the_submodules() -> None:
    """1.x programs write `import pika` and then `pika.exceptions.X`, `pika.adapters...`."""
    import subprocess
    import sys

    code = (
        'import pika; '
        'pika.exceptions.AMQPConnectionError; pika.adapters.blocking_connection.BlockingChannel; '
        'pika.adapters.select_connection.IOLoop; pika.channel.Channel; pika.connection.Connection; '
        'pika.frame.Method; pika.spec.Basic.Deliver; pika.credentials.PlainCredentials; '
        'pika.exchange_type.ExchangeType; pika.BlockingConnection; pika.SelectConnection; '
        'print("ok")'
    )
    result = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == 'ok', result.stderr


def test_get_empty_is_a_falsy_basic_get_empty() -> None:
    """0.9: "a Basic.GetEmpty frame"; 1.x: `if method_frame:`. Both hold."""
    from pika.adapters.blocking_connection import GetEmpty

    empty = ca.as_get_empty(spec.Basic.GetEmpty())
    assert isinstance(empty, spec.Basic.GetEmpty) and isinstance(empty, GetEmpty)
    assert not empty
    assert empty.NAME == 'Basic.GetEmpty'
    get_ok = spec.Basic.GetOk(1, False, '', 'q', 0)
    assert ca.as_get_empty(get_ok) is get_ok and get_ok


def test_blocking_publish_accepts_the_09_immediate_flag() -> None:
    from pika.adapters.blocking_connection import BlockingChannel

    params = inspect.signature(BlockingChannel.basic_publish).parameters
    assert params['immediate'].default is False
    assert list(params).index('immediate') == list(params).index('mandatory') + 1
