"""``pika.spec`` has pika 1.4.4's shape: names, constructor arguments, defaults, ``repr``.

The expected values are pika 1.4.4's own, recorded once in ``spec_parity_pika_1_4_4.json`` by
a throw-away script run with the reference install (/tmp/pika-ref/bin/python): for every class
of ``pika.spec`` (AMQP classes, their method classes, ``BasicProperties``) the
``inspect.signature`` parameter names and ``repr`` of defaults, the public members of the
class, its upper-case class constants, the ``repr`` of an instance built with no arguments and
of one built positionally with ``'p0'``, ``'p1'``... (which shows how positions bind), and the
instance attribute order; for the module its public names, constants, ``methods``/``props``
tables and ``has_content``. No reference pika is needed to run these tests.

Deliberate differences (docs/api-generations.md) are spelled out where they apply: ``repr``
masks secrets, and method classes have the extra ``valid_responses`` our channel logic reads.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pika import amqp_object, spec

EXPECTED = json.loads(
    (Path(__file__).with_name('spec_parity_pika_1_4_4.json')).read_text(encoding='utf-8')
)
CLASSES: dict[str, dict[str, Any]] = EXPECTED['classes']
MODULE: dict[str, Any] = EXPECTED['module']

#: Members we have and pika 1.4.4 has not (see docs/api-generations.md).
EXTRA_MEMBERS = {'valid_responses'}
#: Module names of pika 1.4.4 we do not copy: ``str`` (rebound to ``bytes`` there, a Python 2
#: leftover that would shadow the builtin in our generated code).
NOT_COPIED = {'str'}


def resolve(path: str) -> Any:
    obj: Any = spec
    for part in path.split('.'):
        obj = getattr(obj, part)
    return obj


def parameters(cls: type) -> list[list[str]]:
    return [
        [p.name, '<required>' if p.default is p.empty else repr(p.default)]
        for p in inspect.signature(cls).parameters.values()
    ]


def masked(cls: type, text: str) -> str:
    """pika's repr text with the values of our secret fields masked, as our repr does."""
    for name in getattr(cls, '_SECRET_FIELDS', ()):
        text = re.sub(rf"'{name}=[^']*'", f"'{name}=<redacted>'", text)
    return text


def spec_classes() -> set[str]:
    """Dotted names of the classes ``pika.spec`` defines, nested method classes included."""
    found = set()
    for name, value in vars(spec).items():
        if inspect.isclass(value) and value.__module__ == spec.__name__:
            found.add(name)
            found.update(
                f'{name}.{inner}'
                for inner, member in vars(value).items()
                if inspect.isclass(member) and member.__qualname__ == f'{name}.{inner}'
            )
    return found


def test_every_class_of_pika_is_here_and_no_other() -> None:
    assert spec_classes() == set(CLASSES)


@pytest.mark.parametrize('path', sorted(CLASSES))
def test_constructor_parameters_and_defaults(path: str) -> None:
    assert parameters(resolve(path)) == CLASSES[path]['params']


@pytest.mark.parametrize('path', sorted(CLASSES))
def test_public_members_and_class_constants(path: str) -> None:
    cls = resolve(path)
    expected = CLASSES[path]
    ours = {name for name in dir(cls) if not name.startswith('_')}
    assert ours - EXTRA_MEMBERS == set(expected['members'])
    for name, value in expected['values'].items():
        got = getattr(cls, name)
        assert (got.NAME if inspect.isclass(got) else got) == value, name
    if 'synchronous' in expected:
        assert cls.synchronous is expected['synchronous']


@pytest.mark.parametrize('path', sorted(CLASSES))
def test_repr_and_str_of_a_default_instance(path: str) -> None:
    cls = resolve(path)
    expected = CLASSES[path]['repr_default']
    if expected == 'TypeError':  # pika requires arguments (Connection.UpdateSecret)
        with pytest.raises(TypeError):
            cls()
        return
    assert repr(cls()) == masked(cls, expected)
    assert str(cls()) == repr(cls())


@pytest.mark.parametrize('path', sorted(CLASSES))
def test_positional_arguments_bind_as_in_pika(path: str) -> None:
    cls = resolve(path)
    count = len(CLASSES[path]['params'])
    instance = cls(*(f'p{i}' for i in range(count)))
    assert repr(instance) == masked(cls, CLASSES[path]['repr_positional'])
    assert list(vars(instance)) == CLASSES[path]['vars_positional']


def test_module_names_and_constants() -> None:
    ours = {name for name in dir(spec) if not name.startswith('_')}
    assert set(MODULE['names']) - NOT_COPIED <= ours
    for name, value in MODULE['constants'].items():
        got = getattr(spec, name)
        assert (list(got) if isinstance(got, tuple) else got) == value, name


def test_method_and_property_tables() -> None:
    assert {str(k): v.NAME for k, v in spec.methods.items()} == MODULE['methods']
    assert {str(k): v.NAME for k, v in spec.props.items()} == MODULE['props']
    assert [p for p in inspect.signature(spec.has_content).parameters] == MODULE[
        'has_content_params'
    ]
    assert sorted(k for k in spec.methods if spec.has_content(k)) == MODULE['content_methods']
    assert spec.has_content(methodNumber=spec.Basic.Deliver.INDEX)


def test_exchange_declare_type_field() -> None:
    """The 1.x name of the argument and attribute (it was ``exchange_type`` here)."""
    method = spec.Exchange.Declare(exchange='e', type='topic')
    assert method.type == 'topic'
    assert spec.Exchange.Declare().type is spec.ExchangeType.direct
    assert not hasattr(method, 'exchange_type')
    with pytest.raises(TypeError):
        spec.Exchange.Declare(exchange_type='topic')  # type: ignore[call-arg]


def test_spec_helpers_pika_exports() -> None:
    assert spec.as_bytes('é') == b'\xc3\xa9'
    assert spec.as_bytes(b'x') == b'x'
    assert spec.str_or_bytes == (str, bytes)
    assert issubclass(spec.Basic.Ack, amqp_object.Method)
