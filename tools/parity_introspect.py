"""Dump the public API of whichever ``pika`` this interpreter imports, as one JSON document.

``tools/parity.py`` runs this file twice, each time in its own isolated interpreter (``-I``):
once with the reference pika 1.4.4 venv's Python, once with ours and ``--root`` pointing at our
repository. The two dumps are then compared by ``tools/parity.py``; this script never sees the
other package. Stdlib only, and it must run on every Python we support.

What it records (names, signatures, reprs and values only; never source or docstrings):

* every public module of the package tree (no ``_`` in any component; ``pika.compat`` is left
  out: Python 2/3 shims we do not need), or the error that importing it raised;
* per module, every public name bound to a pika class, a pika function or a plain value
  (foreign objects such as ``typing`` forms and stdlib classes are not pika's API);
* signatures as parameter names, kinds and default reprs (no annotations; a private pika
  marker object used as "not given" shows as ``<private sentinel>``, whichever it is);
* per class: its MRO restricted to publicly bound pika classes (plus builtin bases), its call
  signature, and its public members (methods, class/static methods, properties, nested
  classes, constants) defined by pika classes (not by ``object``, ``Exception``, ``str``...);
* for exception classes, ``repr`` and ``str`` of instances built as ``C()``, ``C('x')`` and
  ``C(404, 'x')``; for classes bound in ``pika.spec``, the ``repr`` of a default instance.

Usage: ``python -I tools/parity_introspect.py [--root DIR] < probe.json > dump.json``, where
``probe.json`` is ``{}`` or ``{"probe": {module: [names]}}``: names to look up with ``getattr``
even when ``dir()`` does not list them (a module ``__getattr__`` that imports lazily).
"""

from __future__ import annotations

import argparse
import enum
import importlib
import inspect
import json
import os
import pkgutil
import re
import sys
import types
from typing import Any, Optional

PACKAGE = 'pika'
EXCLUDED_MODULES = ('pika.compat',)
#: exceptions are built with each of these argument tuples (label -> args)
EXCEPTION_FORMS: dict[str, tuple[Any, ...]] = {'()': (), "('x')": ('x',), "(404, 'x')": (404, 'x')}
#: dunder members worth comparing (protocols a user relies on); other ``_`` names are private
DUNDERS = (
    '__bool__',
    '__call__',
    '__contains__',
    '__enter__',
    '__eq__',
    '__exit__',
    '__getitem__',
    '__iter__',
    '__len__',
    '__next__',
)
#: module-level names that are typing plumbing, not API
IGNORED_NAMES = ('TYPE_CHECKING',)
#: modules whose objects are never API when re-bound in a pika module
FOREIGN_PLUMBING = ('typing', 'typing_extensions', '__future__', 'abc', 'collections.abc')
#: how a private "argument not given" marker is shown as a default (see is_private_sentinel)
PRIVATE_SENTINEL = '<private sentinel>'
ADDRESS = re.compile(r' at 0x[0-9a-fA-F]+')
SIMPLE = (bool, int, float, complex, str, bytes, type(None))


def normalize(text: str) -> str:
    """``text`` without memory addresses, so two runs (and two packages) compare equal."""
    return ADDRESS.sub(' at 0x?', text)


def is_pika_module(name: Optional[str]) -> bool:
    """True for ``pika`` and its submodules, except the excluded ones (``pika.compat``)."""
    if not isinstance(name, str):
        return False
    if name != PACKAGE and not name.startswith(PACKAGE + '.'):
        return False
    return not any(name == ex or name.startswith(ex + '.') for ex in EXCLUDED_MODULES)


def is_public_module(name: str) -> bool:
    """A module a user may import: no ``_``-prefixed component, not excluded."""
    return is_pika_module(name) and not any(p.startswith('_') for p in name.split('.'))


def public_modules() -> list[str]:
    """Every public module of the package tree, sorted (``pika`` itself first)."""
    found = [PACKAGE]
    pending = [PACKAGE]
    while pending:
        package = importlib.import_module(pending.pop())
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + '.'):
            if not is_public_module(info.name):
                continue
            found.append(info.name)
            if info.ispkg:
                try:
                    importlib.import_module(info.name)
                except Exception:  # reported per module by dump_module
                    continue
                pending.append(info.name)
    return sorted(found)


def stable_repr(value: Any) -> Optional[str]:
    """Repr of a plain value (containers of plain values included), else None."""
    if isinstance(value, enum.Enum):
        return None
    if isinstance(value, SIMPLE):
        return repr(value)
    if isinstance(value, (tuple, list)):
        items = [stable_repr(v) for v in value]
        if any(i is None for i in items):
            return None
        inner = ', '.join(items)  # type: ignore[arg-type]
        if isinstance(value, tuple):
            return f'({inner},)' if len(items) == 1 else f'({inner})'
        return f'[{inner}]'
    if isinstance(value, (set, frozenset)):
        items = [stable_repr(v) for v in value]
        if any(i is None for i in items):
            return None
        return '{' + ', '.join(sorted(items)) + '}'  # type: ignore[arg-type]
    if isinstance(value, dict):
        pairs = [(stable_repr(k), stable_repr(v)) for k, v in value.items()]
        if any(k is None or v is None for k, v in pairs):
            return None
        return '{' + ', '.join(sorted(f'{k}: {v}' for k, v in pairs)) + '}'
    return None


def type_label(kind: type) -> str:
    """A type's name as shown in the dump: bare for pika and builtin types, else dotted."""
    if is_pika_module(kind.__module__) or kind.__module__ == 'builtins':
        return kind.__qualname__
    return f'{kind.__module__}.{kind.__qualname__}'


def describe_value(value: Any) -> Optional[dict[str, Any]]:
    """A constant: its repr when plain or an instance of a pika class, else only its type.

    None for typing plumbing (``TypeVar``, ``Optional``...): never part of the API.
    """
    kind = type(value)
    if kind.__module__ in FOREIGN_PLUMBING:
        return None
    plain = stable_repr(value)
    if plain is not None:
        return {'kind': 'value', 'type': type_label(kind), 'value': plain}
    if is_pika_module(kind.__module__):
        return {'kind': 'value', 'type': type_label(kind), 'value': normalize(safe_repr(value))}
    return {'kind': 'object', 'type': type_label(kind)}


def safe_repr(value: Any) -> str:
    """``repr(value)``, or the name of the exception that ``repr`` raised."""
    try:
        return repr(value)
    except Exception as exc:
        return f'<repr raised {type(exc).__name__}>'


def is_private_sentinel(value: Any) -> bool:
    """A default that is a private pika class or an instance of one: "not given" markers.

    Its identity is no API (a caller cannot pass it), only that the parameter has a default.
    """
    kind = value if isinstance(value, type) else type(value)
    if not is_pika_module(kind.__module__):
        return False
    return any(part.startswith('_') for part in kind.__qualname__.split('.'))


def signature(obj: Any) -> Optional[list[list[Any]]]:
    """Parameters of ``obj`` as ``[name, kind, default repr or None]``, or None if unknown.

    Annotations are left out on purpose: ours are typed, pika's mostly are not.
    """
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = []
    for param in sig.parameters.values():
        default = None
        if is_private_sentinel(param.default):
            default = PRIVATE_SENTINEL
        elif param.default is not inspect.Parameter.empty:
            default = normalize(safe_repr(param.default))
        params.append([param.name, param.kind.name, default])
    return params


def home(obj: Any) -> str:
    """Where a class or function says it is defined (module + qualname)."""
    return f'{obj.__module__}.{getattr(obj, "__qualname__", getattr(obj, "__name__", "?"))}'


class Introspector:
    """Walks the package once and describes every public binding.

    :param public_classes: ids of the classes bound to a public module-level name; an MRO lists
        only these (and builtin bases), so private helper bases of either package do not count
    """

    def __init__(self, public_classes: set[int]) -> None:
        self.public_classes = public_classes
        self._classes: dict[tuple[int, bool], dict[str, Any]] = {}

    def binding(self, obj: Any, in_spec: bool) -> Optional[dict[str, Any]]:
        """Describe a module-level binding, or None when it is not pika's API."""
        if isinstance(obj, types.ModuleType):
            return None
        if isinstance(obj, type):
            if not is_pika_module(obj.__module__):
                return None
            return self.describe_class(obj, in_spec)
        if inspect.isroutine(obj):
            if not is_pika_module(getattr(obj, '__module__', None)):
                return None
            return {'kind': 'function', 'home': home(obj), 'signature': signature(obj)}
        return describe_value(obj)

    def describe_class(self, cls: type, in_spec: bool) -> dict[str, Any]:
        """MRO, call signature, members and instance reprs of a pika class (memoized)."""
        key = (id(cls), in_spec)
        if key not in self._classes:
            self._classes[key] = {'kind': 'class', 'home': home(cls)}  # guards recursion
            detail: dict[str, Any] = {
                'kind': 'class',
                'home': home(cls),
                'mro': self.mro(cls),
                'signature': signature(cls),
                'members': self.members(cls, in_spec),
            }
            instances = self.instances(cls, in_spec)
            if instances:
                detail['instances'] = instances
            self._classes[key] = detail
        return self._classes[key]

    def mro(self, cls: type) -> list[str]:
        """The class and its bases that are public pika classes or builtins (not ``object``)."""
        names = [cls.__qualname__]
        for base in cls.__mro__[1:]:
            if base is object:
                continue
            if base.__module__ == 'builtins' or id(base) in self.public_classes:
                names.append(base.__qualname__)
        return names

    def members(self, cls: type, in_spec: bool) -> dict[str, dict[str, Any]]:
        """Public members defined by pika classes of the MRO (inherited ones included)."""
        found: dict[str, dict[str, Any]] = {}
        for name in sorted(dir(cls)):
            if name.startswith('_') and name not in DUNDERS:
                continue
            owner = next((k for k in cls.__mro__ if name in vars(k)), None)
            if owner is None or not is_pika_module(owner.__module__):
                continue
            described = self.member(cls, name, vars(owner)[name], in_spec)
            if described is not None:
                found[name] = dict(described, owner=owner.__qualname__)
        return found

    def member(self, cls: type, name: str, raw: Any, in_spec: bool) -> Optional[dict[str, Any]]:
        """Describe one class member from its raw ``__dict__`` entry."""
        if isinstance(raw, staticmethod):
            return {'kind': 'staticmethod', 'signature': signature(raw.__func__)}
        if isinstance(raw, classmethod):
            return {'kind': 'classmethod', 'signature': signature(getattr(cls, name))}
        if isinstance(raw, property):
            return {'kind': 'property', 'settable': raw.fset is not None}
        if type(raw).__name__ == 'cached_property':
            return {'kind': 'property', 'settable': True}
        if isinstance(raw, type):
            if is_pika_module(raw.__module__):
                return self.describe_class(raw, in_spec)
            return {'kind': 'object', 'type': 'type'}
        if inspect.isroutine(raw):
            return {'kind': 'method', 'signature': signature(raw)}
        if type(raw).__name__ in ('member_descriptor', 'getset_descriptor'):
            return None  # a __slots__ attribute: per instance, not a class member
        return describe_value(raw)

    def instances(self, cls: type, in_spec: bool) -> dict[str, dict[str, str]]:
        """``repr``/``str`` of exceptions in each documented form; ``repr`` of spec objects."""
        if issubclass(cls, BaseException):
            forms = EXCEPTION_FORMS
        elif in_spec and not issubclass(cls, enum.Enum):
            forms = {'()': ()}
        else:
            return {}
        shown: dict[str, dict[str, str]] = {}
        for label, args in forms.items():
            try:
                instance = cls(*args)
            except Exception as exc:
                shown[label] = {'raises': type(exc).__name__}
                continue
            shown[label] = {}
            texts = [('repr', repr)]
            if issubclass(cls, BaseException):
                texts.append(('str', str))
            for key, show in texts:
                try:
                    shown[label][key] = normalize(show(instance))
                except Exception as exc:
                    shown[label][key + '_raises'] = type(exc).__name__
        return shown


def module_names(module: types.ModuleType, probe: list[str]) -> dict[str, Any]:
    """Public attribute name -> object, from ``dir()`` plus the probed names that exist."""
    objects = {}
    for name in sorted(set(dir(module)) | set(probe)):
        if name.startswith('_') or name in IGNORED_NAMES:
            continue
        try:
            objects[name] = getattr(module, name)
        except Exception:  # a probed name we do not have, or a lazy import that failed
            continue
    return objects


def dump(probe: dict[str, list[str]]) -> dict[str, Any]:
    """The whole JSON document: version, file of the package, and every public module."""
    root = importlib.import_module(PACKAGE)
    modules: dict[str, Any] = {}
    bound: dict[str, dict[str, Any]] = {}
    for name in public_modules():
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            modules[name] = {'error': f'{type(exc).__name__}: {normalize(str(exc))}'}
            continue
        bound[name] = module_names(module, probe.get(name, []))
    public_classes = {
        id(obj)
        for objects in bound.values()
        for obj in objects.values()
        if isinstance(obj, type) and is_pika_module(obj.__module__)
    }
    introspector = Introspector(public_classes)
    for name, objects in bound.items():
        package = hasattr(sys.modules[name], '__path__')
        described = {}
        for attr, obj in objects.items():
            entry = introspector.binding(obj, in_spec=name == PACKAGE + '.spec')
            if entry is not None:
                described[attr] = entry
        modules[name] = {'names': described, 'package': package}
    return {
        'version': getattr(root, '__version__', None),
        'file': os.path.dirname(os.path.abspath(root.__file__ or '')),
        'python': sys.version.split()[0],
        'modules': modules,
    }


def main() -> None:
    """Parse ``--root``, read the probe from stdin, print the dump."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', help='directory to import pika from (prepended to sys.path)')
    args = parser.parse_args()
    if args.root:
        sys.path.insert(0, os.path.abspath(args.root))
    text = sys.stdin.read().strip()
    probe = json.loads(text).get('probe', {}) if text else {}
    result = dump(probe)
    if args.root:
        expected = os.path.join(os.path.abspath(args.root), PACKAGE)
        if result['file'] != expected:
            sys.exit(f'imported pika from {result["file"]}, not {expected}')
    json.dump(result, sys.stdout, sort_keys=True)


if __name__ == '__main__':
    main()
