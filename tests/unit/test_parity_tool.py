"""The pure parts of tools/parity.py: comparing two API dumps, and the allowed list.

The dumps here are small hand-written ones in the format tools/parity_introspect.py prints;
one test runs that script on our own package (no reference venv, no network) and checks that a
package compared with itself shows no difference.
"""

from __future__ import annotations

import copy
import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pika
from tests.helpers.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> Any:
    return load_script(ROOT / 'tools' / f'{name}.py', name)


parity = _load('parity')
introspect = _load('parity_introspect')

P = 'POSITIONAL_OR_KEYWORD'
K = 'KEYWORD_ONLY'


def cls(home: str, mro: list[str], members: dict[str, Any] | None = None, **more: Any) -> Any:
    """A class entry as the introspection script writes it."""
    entry = {'kind': 'class', 'home': home, 'mro': mro, 'signature': [], 'members': members or {}}
    entry.update(more)
    return entry


def method(owner: str, *params: list[Any]) -> dict[str, Any]:
    return {'kind': 'method', 'owner': owner, 'signature': [['self', P, None], *params]}


def dump(modules: dict[str, dict[str, Any]], packages: tuple[str, ...] = ('pika',)) -> Any:
    """A whole dump: module -> names."""
    return {
        'version': 'x',
        'modules': {
            name: {'names': names, 'package': name in packages} for name, names in modules.items()
        },
    }


def names(data: Any, module: str) -> Any:
    """The names a dump records for ``module``."""
    return data['modules'][module]['names']


def base_dump() -> Any:
    """pika with a module, a function, a class hierarchy and an alias in the package."""
    error = cls(
        'pika.exceptions.AMQPError',
        ['AMQPError', 'Exception', 'BaseException'],
        instances={'()': {'repr': 'AMQPError', 'str': ''}},
    )
    closed = cls(
        'pika.exceptions.ChannelClosed',
        ['ChannelClosed', 'AMQPError', 'Exception', 'BaseException'],
        {'reply_code': {'kind': 'property', 'settable': False, 'owner': 'ChannelClosed'}},
        instances={
            '()': {'raises': 'TypeError'},
            "(404, 'x')": {'repr': "ChannelClosed: (404) 'x'", 'str': "(404, 'x')"},
        },
    )
    channel = cls(
        'pika.channel.Channel',
        ['Channel'],
        {
            'OPEN': {'kind': 'value', 'type': 'int', 'value': '3', 'owner': 'Channel'},
            'basic_get': method('Channel', ['queue', P, None], ['auto_ack', P, 'False']),
        },
    )
    return dump(
        {
            'pika': {'Channel': channel},
            'pika.channel': {'Channel': channel, 'LOGGER': {'kind': 'object', 'type': 'Logger'}},
            'pika.exceptions': {'AMQPError': error, 'ChannelClosed': closed},
            'pika.validators': {
                'require_string': {
                    'kind': 'function',
                    'home': 'pika.validators.require_string',
                    'signature': [['value', P, None], ['value_name', P, None]],
                },
                'Channel': channel,
            },
        }
    )


def lines(ref: Any, ours: Any) -> tuple[list[str], list[str]]:
    result = parity.compare(ref, ours)
    return result.differences, result.extras


# -- comparing dumps ------------------------------------------------------------------------


def test_identical_dumps_have_no_difference() -> None:
    assert lines(base_dump(), base_dump()) == ([], [])


def test_missing_module_import_error_and_extra_module() -> None:
    ours = base_dump()
    del ours['modules']['pika.validators']
    ours['modules']['pika.exceptions'] = {'error': "ImportError: cannot import name 'x'"}
    ours['modules']['pika.extra'] = {'names': {}, 'package': False}
    differences, extras = lines(base_dump(), ours)
    assert differences == [
        "import-error pika.exceptions: ours ImportError: cannot import name 'x'",
        'missing-module pika.validators',
    ]
    assert extras == ['extra-module pika.extra']


def test_a_reference_module_that_fails_to_import_is_a_difference() -> None:
    ref = base_dump()
    ref['modules']['pika.validators'] = {'error': "ModuleNotFoundError: No module named 'x'"}
    differences, _ = lines(ref, base_dump())
    assert differences == [
        "reference-import-error pika.validators: ModuleNotFoundError: No module named 'x'"
    ]


def test_missing_name_versus_missing_import_and_extra_name() -> None:
    ours = base_dump()
    del names(ours, 'pika.validators')['require_string']
    del names(ours, 'pika.validators')['Channel']  # pika's module only imported it
    del names(ours, 'pika')['Channel']  # a package re-export is API
    del names(ours, 'pika.channel')['LOGGER']
    names(ours, 'pika.channel')['Helper'] = cls('pika._x.Helper', ['Helper'])
    differences, extras = lines(base_dump(), ours)
    assert differences == [
        'missing-name pika.Channel',
        'missing-name pika.channel.LOGGER',
        'missing-import pika.validators.Channel (pika.channel.Channel)',
        'missing-name pika.validators.require_string',
    ]
    assert extras == ['extra-name pika.channel.Helper']


def test_kind_value_and_alias() -> None:
    ours = base_dump()
    names(ours, 'pika.validators')['require_string'] = cls('pika.x.require_string', [])
    names(ours, 'pika.channel')['Channel']['members']['OPEN']['value'] = "'open'"
    other = cls('pika._other.Channel', ['Channel'])
    names(ours, 'pika')['Channel'] = other
    differences, _ = lines(base_dump(), ours)
    assert differences == [
        'alias pika.Channel: ours is not pika.channel.Channel',
        "value pika.channel.Channel.OPEN: ours 'open' pika 3",
        'kind pika.validators.require_string: ours class pika function',
    ]


def test_class_home_in_a_private_module_is_fine() -> None:
    ours = base_dump()
    moved = copy.deepcopy(names(ours, 'pika.channel')['Channel'])
    moved['home'] = 'pika._channel.Channel'
    for module in ('pika', 'pika.channel', 'pika.validators'):
        ours['modules'][module]['Channel'] = moved
    assert lines(base_dump(), ours) == ([], [])


def test_mro_members_properties_and_instances() -> None:
    ours = base_dump()
    closed = names(ours, 'pika.exceptions')['ChannelClosed']
    closed['mro'] = ['ChannelClosed', 'Exception', 'BaseException']
    closed['members']['reply_code']['settable'] = True
    closed['members']['extra'] = method('ChannelClosed')
    closed['instances']["(404, 'x')"] = {'repr': 'ChannelClosed: (404) "x"', 'str': "(404, 'x')"}
    channel = names(ours, 'pika.channel')['Channel']
    del channel['members']['OPEN']
    channel['members']['basic_get'] = {'kind': 'property', 'settable': False, 'owner': 'Channel'}
    differences, extras = lines(base_dump(), ours)
    assert differences == [
        'missing-member pika.channel.Channel.OPEN',
        'member-kind pika.channel.Channel.basic_get: ours property pika method',
        'mro pika.exceptions.ChannelClosed: ours [ChannelClosed, Exception, BaseException] '
        'pika [ChannelClosed, AMQPError, Exception, BaseException]',
        'property pika.exceptions.ChannelClosed.reply_code: ours settable pika read-only',
        "repr pika.exceptions.ChannelClosed(404, 'x'): ours 'ChannelClosed: (404) \"x\"' "
        'pika "ChannelClosed: (404) \'x\'"',
    ]
    assert extras == ['extra-member pika.exceptions.ChannelClosed.extra']


def test_inherited_members_are_compared_once_on_their_base() -> None:
    """A member pika's subclass inherits from a public base both sides share is not repeated."""
    ref = base_dump()
    sub_members = {'OPEN': dict(names(ref, 'pika.channel')['Channel']['members']['OPEN'])}
    names(ref, 'pika.channel')['Sub'] = cls('pika.channel.Sub', ['Sub', 'Channel'], sub_members)
    ours = copy.deepcopy(ref)
    names(ours, 'pika.channel')['Sub']['members'] = {}
    del names(ours, 'pika.channel')['Channel']['members']['OPEN']
    differences, _ = lines(ref, ours)
    assert differences == ['missing-member pika.channel.Channel.OPEN']
    # without the shared base, the subclass is checked in full
    names(ours, 'pika.channel')['Sub']['mro'] = ['Sub']
    differences, _ = lines(ref, ours)
    assert 'missing-member pika.channel.Sub.OPEN' in differences


def test_exception_construction_and_reprs_pika_cannot_show() -> None:
    ref = base_dump()
    error = names(ref, 'pika.exceptions')['AMQPError']
    error['instances']["('x')"] = {'repr_raises': 'IndexError', 'str': 'x'}
    ours = copy.deepcopy(ref)
    ours_error = names(ours, 'pika.exceptions')['AMQPError']
    ours_error['instances']["('x')"] = {'repr': 'AMQPError: x', 'str': 'x'}
    ours_error['instances']['()'] = {'raises': 'TypeError'}
    names(ours, 'pika.exceptions')['ChannelClosed']['instances']['()'] = {
        'repr': 'ChannelClosed',
        'str': '',
    }
    differences, extras = lines(ref, ours)
    assert differences == [
        'construct pika.exceptions.AMQPError(): ours raises TypeError pika constructs'
    ]
    assert extras == [
        'extra-instance pika.exceptions.ChannelClosed(): ours constructs, pika raises TypeError'
    ]


def test_str_difference_and_ours_raising() -> None:
    ours = base_dump()
    names(ours, 'pika.exceptions')['AMQPError']['instances']['()'] = {
        'repr': 'AMQPError',
        'str_raises': 'ValueError',
    }
    differences, _ = lines(base_dump(), ours)
    assert differences == ["str pika.exceptions.AMQPError(): ours raises ValueError pika ''"]


def test_signature_difference_and_extension() -> None:
    ours = base_dump()
    members = names(ours, 'pika.channel')['Channel']['members']
    members['basic_get']['signature'].append(['timeout', K, 'None'])
    differences, extras = lines(base_dump(), ours)
    assert differences == []
    assert extras == [
        'extra-signature pika.channel.Channel.basic_get: ours (self, queue, auto_ack=False, *, '
        'timeout=None) pika (self, queue, auto_ack=False)'
    ]
    members['basic_get']['signature'] = [['self', P, None], ['queue', P, "''"]]
    differences, extras = lines(base_dump(), ours)
    assert differences == [
        "signature pika.channel.Channel.basic_get: ours (self, queue='') "
        'pika (self, queue, auto_ack=False)'
    ]


@pytest.mark.parametrize(
    ('ours', 'expected'),
    [
        ([['a', P, None], ['b', P, '1']], True),
        ([['a', P, None], ['b', P, '1'], ['c', P, 'None']], True),  # trailing default
        ([['a', P, None], ['b', P, '1'], ['c', K, 'None']], True),  # keyword-only default
        ([['a', P, '0'], ['b', P, '1']], True),  # a default where pika requires
        ([['a', P, None], ['c', P, 'None'], ['b', P, '1']], False),  # shifts b
        ([['a', P, None], ['b', P, '2']], False),  # another default
        ([['a', P, None], ['b', K, '1']], False),  # no longer positional
        ([['a', P, None]], False),  # b missing
        ([['a', P, None], ['b', P, '1'], ['c', K, None]], False),  # new required keyword
        ([['x', P, None], ['b', P, '1']], False),  # renamed
    ],
)
def test_extends(ours: list[list[Any]], expected: bool) -> None:
    assert parity.extends(ours, [['a', P, None], ['b', P, '1']]) is expected


def test_render_signature() -> None:
    params = [
        ['a', 'POSITIONAL_ONLY', None],
        ['b', P, "'x'"],
        ['args', 'VAR_POSITIONAL', None],
        ['c', K, 'None'],
        ['kw', 'VAR_KEYWORD', None],
    ]
    assert parity.render_signature(params) == "(a, /, b='x', *args, c=None, **kw)"
    assert parity.render_signature([['a', P, None], ['t', K, '1']]) == '(a, *, t=1)'
    assert parity.render_signature(None) == '(?)'


def test_resolve_walks_modules_names_and_nested_members() -> None:
    data = base_dump()
    assert parity.resolve(data, 'pika.channel.Channel')['home'] == 'pika.channel.Channel'
    assert parity.resolve(data, 'pika.channel.Channel.OPEN')['value'] == '3'
    assert parity.resolve(data, 'pika.channel.Nothing') is None
    assert parity.resolve(data, 'other.Channel') is None


# -- the allowed list -----------------------------------------------------------------------

DOC = """# Title

```python
not.this # block
```

```parity-allowed
# a comment line
mro pika.exceptions.X: ours [X, AMQPError, *] # one tree

kind pika.a.b: * # reason with # inside
```
"""


def test_parse_allowed_reads_only_the_fenced_block() -> None:
    entries = parity.parse_allowed(DOC)
    assert [(e.pattern, e.reason) for e in entries] == [
        ('mro pika.exceptions.X: ours [X, AMQPError, *]', 'one tree'),
        ('kind pika.a.b: *', 'reason with # inside'),
    ]


@pytest.mark.parametrize(
    'text',
    [
        '```parity-allowed\nmissing-name pika.x\n```\n',  # no reason
        '```parity-allowed\nmissing-name pika.x #\n```\n',  # empty reason
        '```parity-allowed\nmissing-name pika.x # why\n',  # never closed
    ],
)
def test_parse_allowed_refuses_bad_entries(text: str) -> None:
    with pytest.raises(ValueError):
        parity.parse_allowed(text)


def test_patterns_have_one_wildcard_and_brackets_are_literal() -> None:
    allowed = parity.Allowed('mro pika.X: ours [X, *] pika [X]', 'r')
    assert allowed.matches('mro pika.X: ours [X, AMQPError, Exception] pika [X]')
    assert not allowed.matches('mro pika.X: ours [X, AMQPError] pika [X, Y]')
    assert not parity.Allowed('kind pika.[ab]', 'r').matches('kind pika.a')
    assert parity.Allowed('kind pika.[ab]', 'r').matches('kind pika.[ab]')
    assert not parity.Allowed('missing-name pika.x', 'r').matches('missing-name pika.xy')


def test_classify_splits_failures_allowed_and_stale() -> None:
    entries = [
        parity.Allowed('missing-name pika.*.LOGGER', 'loggers'),
        parity.Allowed('kind pika.gone', 'fixed since'),
    ]
    verdict = parity.classify(
        ['missing-name pika.a.LOGGER', 'missing-name pika.b.LOGGER', 'kind pika.x: ours a pika b'],
        entries,
    )
    assert verdict.failures == ['kind pika.x: ours a pika b']
    assert [line for line, _ in verdict.allowed] == [
        'missing-name pika.a.LOGGER',
        'missing-name pika.b.LOGGER',
    ]
    assert verdict.stale == [entries[1]]


def test_report_sections_and_summary() -> None:
    comparison = parity.Comparison({}, {}, ['kind pika.x', 'kind pika.y'], ['extra-name pika.z'])
    entry = parity.Allowed('kind pika.y', 'why')
    verdict = parity.classify(comparison.differences, [entry, parity.Allowed('a', 'b')])
    text = parity.report(comparison, verdict, 'header')
    assert text[0] == '# parity: header'
    assert 'kind pika.x' in text
    assert 'allowed kind pika.y' in text
    assert 'extra-name pika.z' in text
    assert 'stale-allowed a' in text
    assert text[-1] == '# summary: 1 differences, 1 deliberate, 1 extras, 1 stale allowed patterns'


def test_the_documented_allowed_list_parses() -> None:
    """docs/api-generations.md holds the gate's list; every entry has a reason."""
    entries = parity.parse_allowed(parity.ALLOWED_DOC.read_text(encoding='utf-8'))
    assert entries, 'the parity-allowed block is missing from docs/api-generations.md'
    assert all(entry.reason for entry in entries)


# -- the introspection script, on our own package -------------------------------------------


def test_stable_repr_and_normalize() -> None:
    assert introspect.stable_repr({'b': 1, 'a': (2,)}) == "{'a': (2,), 'b': 1}"
    assert introspect.stable_repr(frozenset({'y', 'x'})) == "{'x', 'y'}"
    assert introspect.stable_repr(object()) is None
    assert introspect.normalize('<x object at 0x7f00ab>') == '<x object at 0x?>'


def test_our_package_compared_with_itself_shows_nothing() -> None:
    """The script runs isolated on our tree; its dump has our modules and no difference."""
    proc = subprocess.run(
        [sys.executable, '-I', str(parity.INTROSPECT), '--root', str(ROOT)],
        input='{}',
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    data = json.loads(proc.stdout)
    assert data['file'] == str(ROOT / 'pika')
    assert 'pika.spec' in data['modules'] and 'pika.exceptions' in data['modules']
    closed = names(data, 'pika.exceptions')['ChannelClosed']
    assert closed['mro'][:2] == ['ChannelClosed', 'AMQPChannelError']
    assert "(404, 'x')" in closed['instances']
    assert '()' in names(data, 'pika.spec')['BasicProperties']['instances']
    assert lines(data, copy.deepcopy(data)) == ([], [])


def test_private_sentinel_defaults_compare_equal() -> None:
    """A private "not given" marker is shown as such, whichever object it is."""
    default = inspect.signature(pika.ConnectionParameters).parameters['host'].default
    assert introspect.is_private_sentinel(default)
    assert introspect.signature(pika.ConnectionParameters)[0] == ['host', P, '<private sentinel>']
    assert not introspect.is_private_sentinel(None)
    assert not introspect.is_private_sentinel(pika.spec.BasicProperties)
    assert not introspect.is_private_sentinel(object())
