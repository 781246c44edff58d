"""The ``pika`` command line without a broker: every sub-command's ``--help`` shows examples
and the exit codes, and bad command lines exit 2 before connecting to anything."""

from __future__ import annotations

import pytest

from pika import exceptions
from pika.cli import common, main
from pika.cli.messages import PROPERTY_NAMES

COMMANDS = [
    ['check'],
    ['publish'],
    ['consume'],
    ['declare', 'queue'],
    ['declare', 'exchange'],
    ['declare', 'binding'],
    ['delete', 'queue'],
    ['delete', 'exchange'],
    ['delete', 'binding'],
    ['purge'],
    ['perf'],
]


@pytest.mark.parametrize('command', COMMANDS, ids=' '.join)
def test_help_has_examples(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, '--help'])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert f'\nexamples:\n  pika {command[0]}' in out
    if command[0] != 'check':
        assert 'exit codes:' in out
        assert '--url URL' in out


def test_unknown_property_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(['publish', '-q', 'x', '--body', 'y', '--property', 'colour=red'])
    assert code == common.EXIT_USAGE
    assert '--property takes NAME=VALUE' in capsys.readouterr().err


def test_missing_kind_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exited:
        main(['declare'])
    assert exited.value.code == common.EXIT_USAGE


def test_property_names_come_from_basic_properties() -> None:
    assert PROPERTY_NAMES[0] == 'content_type'
    assert 'cluster_id' in PROPERTY_NAMES
    assert len(PROPERTY_NAMES) == 14


@pytest.mark.parametrize(
    ('text', 'value'), [('12', 12), ('true', True), ('False', False), ('x-1', 'x-1')]
)
def test_table_values_are_typed(text: str, value: object) -> None:
    assert common.parse_value(text) == value


def test_cli_error_is_in_the_one_exception_tree() -> None:
    error = common.CliError('cannot parse the URL', common.EXIT_USAGE)
    assert isinstance(error, exceptions.AMQPError)
    assert (str(error), repr(error), error.code) == (
        'cannot parse the URL',
        'CliError: cannot parse the URL',
        common.EXIT_USAGE,
    )


def test_pairs_need_an_equals_sign() -> None:
    assert common.parse_pairs(['a=1', 'b=c=d'], '--header') == {'a': 1, 'b': 'c=d'}
    with pytest.raises(common.CliError, match='--header must be KEY=VALUE'):
        common.parse_pairs(['oops'], '--header')
