"""The public names of `pika.adapters.utils.connection_workflow` (no broker, no socket).

The expected ``repr``/``str`` strings are what pika 1.4.4 prints for the same objects.
"""

from __future__ import annotations

import inspect

import pytest

import pika
from pika import exceptions
from pika.adapters import BaseConnection, SelectConnection
from pika.adapters.utils import connection_workflow as cw

PHASE_ERRORS = [
    cw.AMQPConnectorSocketConnectError,
    cw.AMQPConnectorTransportSetupError,
    cw.AMQPConnectorAMQPHandshakeError,
]
PLAIN_ERRORS = [
    cw.AMQPConnectorStackTimeout,
    cw.AMQPConnectorAborted,
    cw.AMQPConnectorWrongState,
    cw.AMQPConnectionWorkflowAborted,
    cw.AMQPConnectionWorkflowWrongState,
]


@pytest.mark.parametrize('cls', [*PHASE_ERRORS, *PLAIN_ERRORS, cw.AMQPConnectionWorkflowFailed])
def test_every_error_is_a_connector_exception_and_an_amqp_connection_error(cls: type) -> None:
    assert issubclass(cls, cw.AMQPConnectorException)
    assert issubclass(cls, exceptions.AMQPConnectionError)
    assert issubclass(cls, exceptions.AMQPError)


@pytest.mark.parametrize('cls', PHASE_ERRORS)
def test_phase_errors_carry_the_exception_and_print_as_pika(cls: type) -> None:
    assert issubclass(cls, cw.AMQPConnectorPhaseErrorBase)
    error = cls(ConnectionRefusedError(111, 'refused'))
    assert isinstance(error.exception, ConnectionRefusedError)
    assert repr(error) == f"{cls.__name__}: ConnectionRefusedError(111, 'refused')"
    assert str(error) == ''
    with_args = cls(ValueError('v'), 'extra', 2)
    assert with_args.args == ('extra', 2)
    assert repr(with_args) == f"{cls.__name__}: ValueError('v')"
    assert str(with_args) == "('extra', 2)"


@pytest.mark.parametrize('cls', [*PLAIN_ERRORS, cw.AMQPConnectorException])
def test_plain_errors_print_as_plain_exceptions(cls: type) -> None:
    assert repr(cls('msg')) == f"{cls.__name__}('msg')"
    assert str(cls('msg')) == 'msg'
    assert repr(cls()) == f'{cls.__name__}()'
    assert repr(cls('a', 'b')) == f"{cls.__name__}('a', 'b')"


def test_workflow_failed_carries_every_attempt() -> None:
    first = ValueError('x')
    last = cw.AMQPConnectorSocketConnectError(ConnectionRefusedError(111, 'refused'))
    error = cw.AMQPConnectionWorkflowFailed([first, last])
    assert error.exceptions == (first, last)
    assert error.args == ()
    assert str(error) == ''
    assert repr(error) == (
        'AMQPConnectionWorkflowFailed: 2 exceptions in all; last exception - '
        "AMQPConnectorSocketConnectError: ConnectionRefusedError(111, 'refused'); "
        "first exception - ValueError('x')"
    )
    single = cw.AMQPConnectionWorkflowFailed([first], 'msg')
    assert repr(single) == (
        "AMQPConnectionWorkflowFailed: 1 exceptions in all; last exception - ValueError('x'); "
        'first exception - None'
    )
    assert str(single) == 'msg'
    assert 'last exception - None' in repr(cw.AMQPConnectionWorkflowFailed([]))


def test_the_documented_retry_loop_catches_a_failed_workflow() -> None:
    try:
        raise cw.AMQPConnectionWorkflowFailed([cw.AMQPConnectorAborted()])
    except exceptions.AMQPConnectionError as caught:
        assert caught.exceptions[0].args == ()  # type: ignore[attr-defined]


def test_names_and_signatures_are_pika_1x() -> None:
    assert pika.AMQPConnectionWorkflow is cw.AMQPConnectionWorkflow
    assert 'AMQPConnectionWorkflow' in pika.__all__
    assert issubclass(cw.AMQPConnectionWorkflow, cw.AbstractAMQPConnectionWorkflow)
    with pytest.raises(TypeError):
        cw.AbstractAMQPConnectionWorkflow()  # type: ignore[abstract]
    names = lambda func: list(inspect.signature(func).parameters)  # noqa: E731
    assert names(cw.AMQPConnectionWorkflow.__init__) == ['self', '_until_first_amqp_attempt']
    assert names(cw.AMQPConnectionWorkflow.start) == [
        'self',
        'connection_configs',
        'connector_factory',
        'native_loop',
        'on_done',
    ]
    assert names(cw.AMQPConnectionWorkflow.set_io_services) == ['self', 'nbio']
    assert names(cw.AMQPConnector.__init__) == ['self', 'conn_factory', 'nbio']
    assert names(cw.AMQPConnector.start) == ['self', 'addr_record', 'conn_params', 'on_done']
    assert names(cw.AMQPConnectionWorkflowFailed.__init__) == ['self', 'exceptions', 'args']
    assert names(cw.AMQPConnectorPhaseErrorBase.__init__) == ['self', 'exception', 'args']
    for cls in (BaseConnection, SelectConnection):
        assert isinstance(inspect.getattr_static(cls, 'create_connection'), classmethod)
        assert names(cls.create_connection) == [
            'connection_configs',
            'on_done',
            'custom_ioloop',
            'workflow',
        ]


def test_the_workflow_checks_its_state_and_configs() -> None:
    workflow = cw.AMQPConnectionWorkflow()
    with pytest.raises(cw.AMQPConnectorWrongState):
        workflow.abort()
    with pytest.raises(cw.AMQPConnectionWorkflowWrongState):
        workflow.start([pika.ConnectionParameters()], lambda: None, None, lambda _r: None)
    workflow.set_io_services(object())  # type: ignore[arg-type]  # configs are checked first
    for bad, error in (
        ([], ValueError),
        (pika.ConnectionParameters(), TypeError),
        ([1], TypeError),
        (5, TypeError),
    ):
        with pytest.raises(error):
            workflow.start(bad, lambda: None, None, lambda _r: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SelectConnection.create_connection([pika.ConnectionParameters()], None)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        BaseConnection.create_connection([pika.ConnectionParameters()], lambda _r: None)


def test_an_unstarted_connector_cannot_be_aborted() -> None:
    connector = cw.AMQPConnector(lambda _params: None, None)  # type: ignore[arg-type]
    with pytest.raises(cw.AMQPConnectorWrongState):
        connector.abort()
