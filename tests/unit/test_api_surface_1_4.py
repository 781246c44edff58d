"""pika 1.4.4 names and signatures that no other part of the API surface tests covers.

The frame classes as `AMQPObject`s, the `select_connection` poller names, the small constants
of `pika.connection`, the credential and `BlockingChannel` signatures, and the adapter-author
modules of `pika.adapters.utils`. No broker needed.
"""

from __future__ import annotations

import inspect
import logging

import pytest

from pika import amqp_object, frame, spec


def _param_names(func: object) -> list[str]:
    return [n for n in inspect.signature(func).parameters if n != 'self']  # type: ignore[arg-type]


# -- pika.frame ----------------------------------------------------------------------------


def test_frames_are_amqp_objects_without_an_index() -> None:
    for cls in (frame.Frame, frame.Method, frame.Header, frame.Body, frame.Heartbeat):
        assert issubclass(cls, amqp_object.AMQPObject)
        assert cls.INDEX is None
    assert issubclass(frame.ProtocolHeader, amqp_object.AMQPObject)
    assert isinstance(frame.LOGGER, logging.Logger) and frame.LOGGER.name == 'pika.frame'


def test_frames_keep_their_slots() -> None:
    """The AMQPObject base adds no per-instance dict to the frames built per RPC reply."""
    for instance in (frame.Method(1, spec.Basic.Ack()), frame.Body(1, b'x'), frame.Heartbeat()):
        assert not hasattr(instance, '__dict__')


def test_frame_repr_as_pika() -> None:
    assert repr(frame.Method(1, spec.Basic.Ack())) == (
        "<METHOD(['channel_number=1', 'frame_type=1', "
        "\"method=<Basic.Ack(['delivery_tag=0', 'multiple=False'])>\"])>"
    )
    assert repr(frame.Heartbeat()) == "<Heartbeat(['channel_number=0', 'frame_type=8'])>"


def test_protocol_header_defaults_mean_0_9_1() -> None:
    assert [p.default for p in inspect.signature(frame.ProtocolHeader).parameters.values()] == [
        None,
        None,
        None,
    ]
    header = frame.ProtocolHeader()
    assert (header.major, header.minor, header.revision) == spec.PROTOCOL_VERSION
    assert header == frame.ProtocolHeader(0, 9, 1)
    assert frame.ProtocolHeader(None, 9, 2).marshal() == b'AMQP\x00\x00\x09\x02'


def test_amqp_object_still_works_alone() -> None:
    assert repr(amqp_object.AMQPObject()) == '<AMQPObject>'
    assert amqp_object.AMQPObject() == amqp_object.AMQPObject()
    assert spec.Basic.Ack(1) == spec.Basic.Ack(1) and spec.Basic.Ack(1).__dict__


# -- pika.connection and pika.credentials -------------------------------------------------


def test_connection_module_constants() -> None:
    from pika import connection
    from pika._core.negotiation import client_properties

    assert connection.PRODUCT == 'Pika Python Client Library'
    assert client_properties(connection.ConnectionParameters())['product'] == connection.PRODUCT
    assert connection.Connection.ON_CONNECTION_CLOSED == '_on_connection_closed'
    assert connection.Connection.ON_CONNECTION_ERROR == '_on_connection_error'
    assert connection.Connection.ON_CONNECTION_OPEN_OK == '_on_connection_open_ok'


def test_connection_accepts_internal_connection_workflow() -> None:
    from pika import connection

    params = inspect.signature(connection.Connection).parameters
    assert list(params)[-1] == 'internal_connection_workflow'
    assert params['internal_connection_workflow'].default is True
    conn = connection.Connection(None, None, None, None, False)
    assert conn.is_closed or not conn.is_open


def test_credentials_response_for_takes_start() -> None:
    from pika import credentials

    start = spec.Connection.Start(mechanisms=b'PLAIN EXTERNAL')
    for creds in (credentials.PlainCredentials('u', 'p'), credentials.ExternalCredentials()):
        assert _param_names(creds.response_for) == ['start']
        mechanism, _response = creds.response_for(start=start)
        assert mechanism == creds.TYPE


# -- pika.adapters.select_connection ------------------------------------------------------


def test_select_connection_poller_names() -> None:
    import select

    from pika.adapters import select_connection
    from pika.adapters._io import pollers as _pollers

    events = select_connection.PollEvents
    assert (events.READ, events.WRITE, events.ERROR, events.HANGUP) == (1, 4, 8, 16)
    assert select_connection.SELECT_TYPE is None
    assert isinstance(select_connection.SelectPoller(), _pollers.SelectPoller)
    if hasattr(select, 'poll'):
        select_connection.PollPoller().close()
    if hasattr(select, 'epoll'):
        select_connection.EPollPoller().close()
    assert isinstance(select_connection.KQueuePoller, type)


def test_select_type_forces_the_poller(monkeypatch: pytest.MonkeyPatch) -> None:
    from pika.adapters import select_connection

    monkeypatch.setattr(select_connection, 'SELECT_TYPE', 'select')
    loop = select_connection.IOLoop()
    try:
        assert loop.poller_type == 'select'
    finally:
        loop.close()
    monkeypatch.setattr(select_connection, 'POLLER_TYPE', 'poll')  # POLLER_TYPE wins
    loop = select_connection.IOLoop()
    try:
        assert loop.poller_type == 'poll'
    finally:
        loop.close()


def test_ioloop_remove_timeout_parameter_name() -> None:
    from pika.adapters import select_connection

    loop = select_connection.IOLoop()
    try:
        assert _param_names(loop.remove_timeout) == ['timeout_handle']
        loop.remove_timeout(timeout_handle=loop.call_later(5, lambda: None))
    finally:
        loop.close()


# -- BlockingChannel and friends ------------------------------------------------------------


def test_exchange_type_importable_where_pika_has_it() -> None:
    from pika import channel, exchange_type
    from pika.adapters import blocking_connection

    assert channel.ExchangeType is exchange_type.ExchangeType
    assert blocking_connection.ExchangeType is exchange_type.ExchangeType


def test_returned_message_is_not_a_tuple() -> None:
    from pika.adapters.blocking_connection import ReturnedMessage

    method = spec.Basic.Return(312, 'NO_ROUTE', '', 'rk')
    message = ReturnedMessage(method, spec.BasicProperties(), b'x')
    assert not isinstance(message, tuple)
    assert (message.method, message.body) == (method, b'x')
    assert message == ReturnedMessage(method, spec.BasicProperties(), b'x')
    assert 'NO_ROUTE' in repr(message) and "body=b'x'" in repr(message)
    assert not hasattr(message, '__dict__')
    assert _param_names(ReturnedMessage) == ['method', 'properties', 'body']


def test_blocking_signatures_as_pika() -> None:
    from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

    assert isinstance(BlockingChannel.__dict__['channel_number'], property)
    for cls in (BlockingChannel, BlockingConnection):
        assert _param_names(cls.__exit__) == ['exc_type', 'value', 'traceback']
    consume = inspect.signature(BlockingChannel.consume).parameters
    assert list(consume)[-1] == 'consumer_tag' and consume['consumer_tag'].default is None


# -- pika.adapters.utils: the adapter-author modules -------------------------------------

# pika 1.4.4: class -> its abstract methods (all of them public), from introspection.
NBIO_ABSTRACT: dict[str, set[str]] = {
    'AbstractIOServices': {
        'add_callback_threadsafe',
        'call_later',
        'close',
        'connect_socket',
        'create_streaming_connection',
        'get_native_ioloop',
        'getaddrinfo',
        'run',
        'stop',
    },
    'AbstractFileDescriptorServices': {
        'remove_reader',
        'remove_writer',
        'set_reader',
        'set_writer',
    },
    'AbstractTimerReference': {'cancel'},
    'AbstractIOReference': {'cancel'},
    'AbstractStreamProtocol': {
        'connection_lost',
        'connection_made',
        'data_received',
        'eof_received',
    },
    'AbstractStreamTransport': {'abort', 'get_protocol', 'get_write_buffer_size', 'write'},
}

NBIO_PARAMS: dict[str, list[str]] = {
    'AbstractIOServices.call_later': ['delay', 'callback'],
    'AbstractIOServices.getaddrinfo': [
        'host',
        'port',
        'on_done',
        'family',
        'socktype',
        'proto',
        'flags',
    ],
    'AbstractIOServices.connect_socket': ['sock', 'resolved_addr', 'on_done'],
    'AbstractIOServices.create_streaming_connection': [
        'protocol_factory',
        'sock',
        'on_done',
        'ssl_context',
        'server_hostname',
    ],
    'AbstractFileDescriptorServices.set_reader': ['fd', 'on_readable'],
    'AbstractFileDescriptorServices.set_writer': ['fd', 'on_writable'],
    'AbstractStreamProtocol.connection_made': ['transport'],
    'AbstractStreamProtocol.connection_lost': ['error'],
    'AbstractStreamProtocol.data_received': ['data'],
    'AbstractStreamTransport.write': ['data'],
}


def test_nbio_interface_classes() -> None:
    from pika.adapters.utils import nbio_interface

    for name, abstract in NBIO_ABSTRACT.items():
        cls = getattr(nbio_interface, name)
        assert cls.__abstractmethods__ == abstract, name
        with pytest.raises(TypeError):
            cls()
    for qualname, expected in NBIO_PARAMS.items():
        cls_name, method = qualname.split('.')
        assert _param_names(getattr(getattr(nbio_interface, cls_name), method)) == expected


def test_io_services_utils_checks() -> None:
    from pika.adapters.utils import io_services_utils

    io_services_utils.check_callback_arg(print, 'cb')
    with pytest.raises(TypeError, match='cb'):
        io_services_utils.check_callback_arg(None, 'cb')
    io_services_utils.check_fd_arg(3)
    io_services_utils.check_fd_arg(-1)  # pika accepts any int
    for bad in (None, 'x', 1.0):
        with pytest.raises(TypeError):
            io_services_utils.check_fd_arg(bad)
    assert _param_names(io_services_utils.SocketConnectionMixin.connect_socket) == [
        'sock',
        'resolved_addr',
        'on_done',
    ]


def test_selector_ioloop_interface() -> None:
    from pika.adapters import select_connection
    from pika.adapters.utils import selector_ioloop_adapter as adapter

    assert issubclass(select_connection.IOLoop, adapter.AbstractSelectorIOLoop)
    assert select_connection.AbstractSelectorIOLoop is adapter.AbstractSelectorIOLoop
    assert select_connection.SelectorIOServicesAdapter is adapter.SelectorIOServicesAdapter
    assert _param_names(adapter.AbstractSelectorIOLoop.remove_timeout) == ['timeout_handle']
    assert _param_names(adapter.AbstractSelectorIOLoop.add_handler) == ['fd', 'handler', 'events']
    assert _param_names(adapter.SelectorIOServicesAdapter) == ['native_loop']

    class Partial(adapter.AbstractSelectorIOLoop):
        pass

    loop = Partial()  # nothing enforced at construction, as in pika 1.x
    with pytest.raises(NotImplementedError):
        loop.start()
    with pytest.raises(NotImplementedError):
        _ = loop.READ
