"""Annotations that evaluate on the oldest Python we support (3.9).

Every module uses ``from __future__ import annotations``, so ``X | Y`` in an annotation costs
nothing at import time on 3.9. Tools that evaluate annotations (``typing.get_type_hints``: Sphinx,
typeguard, pydantic...) do evaluate them, and ``int | None`` is a TypeError before 3.10. This test
only bites when run on 3.9 (scripts/test.sh runs the unit tests there too); on newer Pythons it
still checks that the walk below finds the public API.

Names imported only under ``TYPE_CHECKING`` raise NameError on every Python alike; that is not a
version difference, so it is tolerated here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from typing import TYPE_CHECKING, Any

import pika

if TYPE_CHECKING:
    from collections.abc import Iterator

# Adapters whose event loop library may be missing from a bare install.
_OPTIONAL = ('gevent', 'tornado', 'twisted', 'asyncore')


def _modules() -> Iterator[Any]:
    """Every importable ``pika`` module (adapters whose loop library is missing are skipped)."""
    for info in pkgutil.walk_packages(pika.__path__, 'pika.'):
        try:
            yield importlib.import_module(info.name)
        except ImportError as error:
            if not any(name in str(error) for name in _OPTIONAL):
                raise


def _annotated(namespace: Any, module: str, prefix: str) -> Iterator[tuple[str, Any]]:
    """Functions and classes defined in ``module``, nested classes and methods included."""
    for name, obj in list(vars(namespace).items()):
        if getattr(obj, '__module__', None) != module:
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield f'{prefix}.{name}', obj
        if inspect.isclass(obj) and obj is not namespace:
            yield from _annotated(obj, module, f'{prefix}.{name}')


def _own_type_hints(obj: Any) -> dict[str, Any]:
    """Evaluate the annotations ``obj`` itself declares.

    For a class, only its own: a third-party base class (Twisted's ``ClientFactory``) may write
    ``X | None`` under postponed evaluation, which fails on 3.9 and is not ours to fix. Our own
    bases are visited on their own, so nothing of ours is skipped.
    """
    if not inspect.isclass(obj):
        return typing.get_type_hints(obj)
    own = type(
        obj.__name__,
        (),
        {
            '__annotations__': dict(vars(obj).get('__annotations__', {})),
            '__module__': obj.__module__,
        },
    )
    return typing.get_type_hints(own, localns=dict(vars(obj)))


def _type_hint_errors() -> tuple[int, dict[str, str]]:
    """How many objects were checked, and the TypeErrors ``get_type_hints`` raised, by name."""
    checked = 0
    errors = {}
    for module in _modules():
        for qualname, obj in _annotated(module, module.__name__, module.__name__):
            checked += 1
            try:
                _own_type_hints(obj)
            except NameError:
                pass  # a TYPE_CHECKING-only name: the same on every Python
            except TypeError as error:
                errors[qualname] = str(error)
    return checked, errors


def test_annotations_evaluate_on_this_python() -> None:
    checked, errors = _type_hint_errors()
    assert checked > 500  # the walk reached the generated spec classes and the front-ends
    assert not errors, f'use Optional[...] / Union[...] (Python 3.9): {sorted(errors)}'


def test_walk_includes_public_api() -> None:
    names = {name for module in _modules() for name, _ in _annotated(module, module.__name__, '')}
    assert '.Channel.basic_publish' in names
    assert '.BasicProperties.__init__' in names
    assert '.Queue.Declare.__init__' in names
