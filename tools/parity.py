#!/usr/bin/env python3
"""Compare our public API with pika 1.4.4's and print every difference, one per line.

pika 1.4.4 (with the event loops its optional adapters import, at the versions ours has) is
installed on first use into a throw-away venv, ``.venvs/pika-ref-1.4.4`` (gitignored; never a
dependency of ours), by ``bench/_pika_ref.py``. ``tools/parity_introspect.py`` then dumps each
package's API as JSON in its own isolated interpreter (the venv's Python for pika, ours with our
repository first on the path), so the two packages never share a process. This file only
compares the two dumps.

Every line of the report starts with its kind, then the dotted path, so it can be grepped:

    missing-module M              a public module of pika we do not have
    import-error M: ours E        ours fails to import
    missing-name M.N              a public name pika binds in M (defined there, or re-exported
                                  by a package ``__init__``) that we do not
    missing-import M.N (H)        a name pika's (non-package) module M merely imports from H
    kind P: ours K pika K         e.g. a function where pika has a class
    alias P: ours is not H        pika binds P to the same object as H, we do not
    value P: ours V pika V        a constant's value (or a value's type) differs
    mro P: ours [...] pika [...]  a class's bases (public pika classes and builtins)
    missing-member P.m            a public member of a pika class we lack
    member-kind P.m: ours K pika K  e.g. a method where pika has a property
    property P.m: ours ... pika ...  settable in one, read-only in the other
    signature P: ours (...) pika (...)  parameter names, kinds or defaults (never annotations)
    repr P(args): ours '...' pika '...' / str ...  exceptions built as C(), C('x'),
                                  C(404, 'x'); default instances of every class in pika.spec
                                  (nothing is compared where pika's own repr/str raises)
    construct P(args): ours raises E pika ...  ours refuses arguments pika accepts

What we have and pika has not is listed apart, as ``extra-module``, ``extra-name``,
``extra-member``, ``extra-signature`` (ours accepts every call pika's accepts, plus more) and
``extra-instance`` (ours builds an instance from arguments pika refuses): reported, never a
failure. Members are compared on the class that defines them in pika (an inherited member is
checked once, on its public base).

Deliberate differences are patterns (``*`` matches anything) in the fenced ``parity-allowed``
block of docs/api-generations.md, each with a ``# reason``: the document and the gate cannot
drift. ``--check`` exits 1 when a difference matches no pattern; a pattern that matches nothing
is reported as stale (a warning only).

Usage::

    python tools/parity.py             # report only (exit 0 unless the tool itself fails)
    python tools/parity.py --check     # CI: exit 1 on any difference not documented
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
INTROSPECT = ROOT / 'tools' / 'parity_introspect.py'
PIKA_VERSION = '1.4.4'
VENV_DIR = ROOT / '.venvs' / f'pika-ref-{PIKA_VERSION}'
#: what pika's optional adapters import; without them those modules could not be compared
REFERENCE_EXTRAS = ('tornado', 'twisted', 'gevent')
ALLOWED_DOC = ROOT / 'docs' / 'api-generations.md'
FENCE_OPEN = re.compile(r'^```parity-allowed\s*$')
FENCE_CLOSE = re.compile(r'^```\s*$')
REASON_SEPARATOR = ' # '

Dump = dict[str, Any]
Entry = dict[str, Any]
Params = Optional[list[list[Any]]]


# -- rendering ------------------------------------------------------------------------------


def render_signature(params: Params) -> str:
    """``(a, b=1, *args, c=None, **kw)`` from the dump's ``[name, kind, default]`` triples."""
    if params is None:
        return '(?)'
    parts: list[str] = []
    star_seen = False
    for index, (name, kind, default) in enumerate(params):
        if kind == 'VAR_POSITIONAL':
            parts.append('*' + name)
            star_seen = True
            continue
        if kind == 'VAR_KEYWORD':
            parts.append('**' + name)
            continue
        if kind == 'KEYWORD_ONLY' and not star_seen:
            parts.append('*')
            star_seen = True
        parts.append(name if default is None else f'{name}={default}')
        following = params[index + 1][1] if index + 1 < len(params) else None
        if kind == 'POSITIONAL_ONLY' and following != 'POSITIONAL_ONLY':
            parts.append('/')
    return '(' + ', '.join(parts) + ')'


def render_mro(names: Sequence[str]) -> str:
    """``[A, B, Exception]``."""
    return '[' + ', '.join(names) + ']'


def render_shown(shown: Optional[dict[str, str]], key: str) -> str:
    """An instance's ``repr``/``str`` (quoted), or what constructing it raised."""
    if shown is None:
        return 'nothing'
    if 'raises' in shown:
        return f'raises {shown["raises"]}'
    return repr(shown.get(key))


# -- comparison of two dumps ----------------------------------------------------------------


def resolve(dump: Dump, dotted: str) -> Optional[Entry]:
    """The entry bound at ``dotted`` (module path, then names and nested members), or None."""
    modules = dump['modules']
    for module in sorted(modules, key=len, reverse=True):
        if not dotted.startswith(module + '.'):
            continue
        parts = dotted[len(module) + 1 :].split('.')
        entry: Optional[Entry] = modules[module].get('names', {}).get(parts[0])
        for part in parts[1:]:
            if entry is None:
                break
            entry = entry.get('members', {}).get(part)
        return entry
    return None


def own_members(cls: Entry, other: Entry) -> dict[str, Entry]:
    """``cls``'s members but those inherited from a public base both classes have.

    Such a member is compared once, on that base; a base only one side has shows as ``mro``,
    and then its members are compared on the subclass too.
    """
    shared = set(cls.get('mro', [])[1:]) & set(other.get('mro', [])[1:])
    return {
        name: member
        for name, member in cls.get('members', {}).items()
        if member.get('owner') not in shared
    }


def _param_matches(ours: list[Any], ref: list[Any]) -> bool:
    """Same name and kind, and ours' default equals pika's or pika requires the parameter."""
    return ours[0] == ref[0] and ours[1] == ref[1] and (ref[2] is None or ours[2] == ref[2])


def extends(ours: list[list[Any]], ref: list[list[Any]]) -> bool:
    """True when every call pika's signature accepts binds the same way to ours.

    Ours may add keyword-only parameters with defaults, trailing positional parameters with
    defaults (after all of pika's positional ones), and defaults to parameters pika requires.
    """
    ref_names = {p[0] for p in ref}
    kept: list[list[Any]] = []
    last_kept_positional = -1
    first_dropped_positional: Optional[int] = None
    for index, param in enumerate(ours):
        name, kind, default = param
        droppable = kind in ('KEYWORD_ONLY', 'POSITIONAL_OR_KEYWORD') and default is not None
        if name not in ref_names and droppable:
            if kind == 'POSITIONAL_OR_KEYWORD' and first_dropped_positional is None:
                first_dropped_positional = index
            continue
        kept.append(param)
        if kind in ('POSITIONAL_ONLY', 'POSITIONAL_OR_KEYWORD'):
            last_kept_positional = index
    if first_dropped_positional is not None and first_dropped_positional < last_kept_positional:
        return False
    return len(kept) == len(ref) and all(_param_matches(o, r) for o, r in zip(kept, ref))


@dataclass
class Comparison:
    """Every difference between pika's dump (``ref``) and ours, as report lines.

    ``differences`` can fail the gate; ``extras`` (what only we have) never do.
    """

    ref: Dump
    ours: Dump
    differences: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)

    def run(self) -> Comparison:
        """Compare every module of pika's dump, then list our extra modules."""
        ref_modules = self.ref['modules']
        our_modules = self.ours['modules']
        for name in sorted(ref_modules):
            self.module(name, ref_modules[name], our_modules.get(name))
        for name in sorted(set(our_modules) - set(ref_modules)):
            self.extras.append(f'extra-module {name}')
        return self

    def module(self, name: str, ref: Entry, ours: Optional[Entry]) -> None:
        """One module: its import, then each name pika binds in it."""
        if 'error' in ref:
            self.differences.append(f'reference-import-error {name}: {ref["error"]}')
            return
        if ours is None:
            self.differences.append(f'missing-module {name}')
            return
        if 'error' in ours:
            self.differences.append(f'import-error {name}: ours {ours["error"]}')
            return
        ref_names, our_names = ref['names'], ours['names']
        for attr in sorted(ref_names):
            path = f'{name}.{attr}'
            if attr in our_names:
                self.binding(path, ref_names[attr], our_names[attr])
            else:
                self.missing_name(path, name, ref.get('package', False), ref_names[attr])
        for attr in sorted(set(our_names) - set(ref_names)):
            self.extras.append(f'extra-name {name}.{attr}')

    def missing_name(self, path: str, module: str, package: bool, entry: Entry) -> None:
        """A name we lack: ``missing-import`` when pika's plain module only imported it."""
        entry_home = entry.get('home')
        if entry_home and not package and not entry_home.startswith(module + '.'):
            self.differences.append(f'missing-import {path} ({entry_home})')
        else:
            self.differences.append(f'missing-name {path}')

    def binding(self, path: str, ref: Entry, ours: Entry) -> None:
        """A module-level name both packages bind."""
        if ref['kind'] != ours['kind']:
            self.differences.append(f'kind {path}: ours {ours["kind"]} pika {ref["kind"]}')
            return
        if ref['kind'] in ('class', 'function') and not self.canonical(path, ref):
            self.alias(path, ref, ours)
        elif ref['kind'] == 'class':
            self.cls(path, ref, ours)
        elif ref['kind'] == 'function':
            self.signature(path, ref.get('signature'), ours.get('signature'))
        else:
            self.value(path, ref, ours)

    def canonical(self, path: str, ref: Entry) -> bool:
        """True where pika's object is compared in full: its home, or no public home."""
        return ref['home'] == path or resolve(self.ref, ref['home']) is None

    def alias(self, path: str, ref: Entry, ours: Entry) -> None:
        """pika binds ``path`` to the object defined at its home: so must we."""
        ours_at_home = resolve(self.ours, ref['home'])
        if ours_at_home is not None and ours_at_home.get('home') != ours.get('home'):
            self.differences.append(f'alias {path}: ours is not {ref["home"]}')

    def cls(self, path: str, ref: Entry, ours: Entry) -> None:
        """A class: bases, call signature, members, and instance reprs."""
        if ref.get('mro') != ours.get('mro'):
            self.differences.append(
                f'mro {path}: ours {render_mro(ours.get("mro", []))} '
                f'pika {render_mro(ref.get("mro", []))}'
            )
        self.signature(path, ref.get('signature'), ours.get('signature'))
        ref_members = own_members(ref, ours)
        our_members = ours.get('members', {})
        for name in sorted(ref_members):
            member_path = f'{path}.{name}'
            if name in our_members:
                self.member(member_path, ref_members[name], our_members[name])
            else:
                self.differences.append(f'missing-member {member_path}')
        for name in sorted(set(own_members(ours, ref)) - set(ref.get('members', {}))):
            self.extras.append(f'extra-member {path}.{name}')
        self.instances(path, ref.get('instances', {}), ours.get('instances', {}))

    def member(self, path: str, ref: Entry, ours: Entry) -> None:
        """One class member both classes have."""
        if ref['kind'] != ours['kind']:
            self.differences.append(f'member-kind {path}: ours {ours["kind"]} pika {ref["kind"]}')
        elif ref['kind'] == 'class':
            if ref['home'] == path:
                self.cls(path, ref, ours)
        elif ref['kind'] in ('method', 'classmethod', 'staticmethod'):
            self.signature(path, ref.get('signature'), ours.get('signature'))
        elif ref['kind'] == 'property':
            if ref['settable'] != ours['settable']:
                mode = {True: 'settable', False: 'read-only'}
                self.differences.append(
                    f'property {path}: ours {mode[ours["settable"]]} pika {mode[ref["settable"]]}'
                )
        else:
            self.value(path, ref, ours)

    def value(self, path: str, ref: Entry, ours: Entry) -> None:
        """A constant (its repr and type) or another object (its type)."""
        ref_value, our_value = ref.get('value'), ours.get('value')
        if ref_value != our_value:
            self.differences.append(f'value {path}: ours {our_value} pika {ref_value}')
        elif ref.get('type') != ours.get('type'):
            self.differences.append(
                f'value {path}: ours type {ours.get("type")} pika type {ref.get("type")}'
            )

    def signature(self, path: str, ref: Params, ours: Params) -> None:
        """Parameter names, kinds and defaults; an extension of pika's is only an extra."""
        if ref == ours:
            return
        line = f'{path}: ours {render_signature(ours)} pika {render_signature(ref)}'
        if ref is not None and ours is not None and extends(ours, ref):
            self.extras.append(f'extra-signature {line}')
        else:
            self.differences.append(f'signature {line}')

    def instances(
        self, path: str, ref: dict[str, dict[str, str]], ours: dict[str, dict[str, str]]
    ) -> None:
        """``repr``/``str`` of each instance form pika's dump has (exceptions, spec objects).

        Where pika's own ``repr``/``str`` raises there is nothing to match, so nothing is
        compared; where pika refuses the arguments and ours accepts them, it is an extra.
        """
        for label in sorted(ref):
            ref_shown, our_shown = ref[label], ours.get(label)
            if our_shown is None:
                continue  # not an exception or spec class on our side: reported as mro/kind
            where = f'{path}{label}'
            if 'raises' in ref_shown or 'raises' in our_shown:
                self.construction(where, ref_shown.get('raises'), our_shown.get('raises'))
                continue
            for key in ('repr', 'str'):
                if key not in ref_shown or our_shown.get(key) == ref_shown[key]:
                    continue
                ours_text = (
                    repr(our_shown[key])
                    if key in our_shown
                    else f'raises {our_shown[key + "_raises"]}'
                )
                self.differences.append(f'{key} {where}: ours {ours_text} pika {ref_shown[key]!r}')

    def construction(self, where: str, ref: Optional[str], ours: Optional[str]) -> None:
        """Building an instance raised (the exception's name) in pika, in ours, or in both."""
        if ref == ours:
            return
        if ours is None:
            self.extras.append(f'extra-instance {where}: ours constructs, pika raises {ref}')
            return
        pika_text = 'constructs' if ref is None else f'raises {ref}'
        self.differences.append(f'construct {where}: ours raises {ours} pika {pika_text}')


def compare(ref: Dump, ours: Dump) -> Comparison:
    """Compare two introspection dumps (see ``Comparison``)."""
    return Comparison(ref, ours).run()


# -- the documented list of deliberate differences ------------------------------------------


@dataclass(frozen=True)
class Allowed:
    """One deliberate difference: a pattern (``*`` matches anything) and why."""

    pattern: str
    reason: str

    def matches(self, line: str) -> bool:
        """True when the whole ``line`` matches the pattern."""
        return pattern_regex(self.pattern).fullmatch(line) is not None


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """``*`` matches any text (brackets and the like are literal, unlike ``fnmatch``)."""
    return re.compile('.*'.join(re.escape(part) for part in pattern.split('*')), re.DOTALL)


def parse_allowed(text: str) -> list[Allowed]:
    """The entries of the fenced ``parity-allowed`` block(s) of a Markdown document.

    One ``pattern # reason`` per line; blank lines and lines starting with ``#`` are ignored.

    :raises ValueError: for an entry without a reason or a block that is never closed
    """
    entries: list[Allowed] = []
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        if not inside:
            inside = FENCE_OPEN.match(line) is not None
            continue
        if FENCE_CLOSE.match(line):
            inside = False
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        pattern, separator, reason = stripped.partition(REASON_SEPARATOR)
        if not separator or not reason.strip() or not pattern.strip():
            raise ValueError(f'line {number}: expected "pattern # reason", got {stripped!r}')
        entries.append(Allowed(pattern.strip(), reason.strip()))
    if inside:
        raise ValueError('the parity-allowed block is not closed')
    return entries


@dataclass
class Verdict:
    """Differences split by the allowed list, and the allowed entries nothing matched."""

    failures: list[str]
    allowed: list[tuple[str, Allowed]]
    stale: list[Allowed]


def classify(differences: Iterable[str], allowed: Sequence[Allowed]) -> Verdict:
    """Split ``differences`` into failures and allowed ones; find stale allowed entries."""
    verdict = Verdict([], [], [])
    used: set[int] = set()
    for line in differences:
        hit = next((i for i, entry in enumerate(allowed) if entry.matches(line)), None)
        if hit is None:
            verdict.failures.append(line)
        else:
            verdict.allowed.append((line, allowed[hit]))
            used.add(hit)
    verdict.stale = [entry for i, entry in enumerate(allowed) if i not in used]
    return verdict


def report(comparison: Comparison, verdict: Verdict, header: str) -> list[str]:
    """The printed report: failures, allowed, extras, stale entries and a summary line."""
    lines = [f'# parity: {header}']
    lines.append(f'# differences ({len(verdict.failures)}; these fail --check)')
    lines.extend(verdict.failures)
    lines.append(f'# deliberate ({len(verdict.allowed)}; documented in docs/api-generations.md)')
    lines.extend(f'allowed {line}' for line, _ in verdict.allowed)
    lines.append(f'# extras ({len(comparison.extras)}; only ours, never a failure)')
    lines.extend(comparison.extras)
    lines.append(f'# stale allowed patterns ({len(verdict.stale)}; warning: they match nothing)')
    lines.extend(f'stale-allowed {entry.pattern}' for entry in verdict.stale)
    lines.append(
        f'# summary: {len(verdict.failures)} differences, {len(verdict.allowed)} deliberate, '
        f'{len(comparison.extras)} extras, {len(verdict.stale)} stale allowed patterns'
    )
    return lines


# -- running the two introspections ---------------------------------------------------------


def reference_extras() -> list[str]:
    """``REFERENCE_EXTRAS`` pinned to the versions our own interpreter has, where it has them.

    Both packages then see the same Tornado/Twisted/gevent, so a default such as Twisted's
    ``connectionDone`` reads the same on both sides; when ours upgrades, the venv follows.
    """
    pinned = []
    for name in REFERENCE_EXTRAS:
        try:
            pinned.append(f'{name}=={importlib.metadata.version(name)}')
        except importlib.metadata.PackageNotFoundError:
            pinned.append(name)
    return pinned


def reference_python(venv_dir: Path) -> Path:
    """The reference interpreter, created on first use by ``bench/_pika_ref.py``."""
    spec = importlib.util.spec_from_file_location('_pika_ref', ROOT / 'bench' / '_pika_ref.py')
    if spec is None or spec.loader is None:
        raise RuntimeError('cannot load bench/_pika_ref.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    python: Path = module.ensure_reference_python(venv_dir, PIKA_VERSION, reference_extras())
    return python


def introspect(python: Path | str, args: Sequence[str], probe: dict[str, Any]) -> Dump:
    """Run ``tools/parity_introspect.py`` under ``python`` in isolated mode; its JSON dump."""
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME')}
    proc = subprocess.run(
        [str(python), '-I', str(INTROSPECT), *args],
        input=json.dumps(probe),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(INTROSPECT.parent),
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f'introspection with {python} failed:\n{proc.stderr}')
    dump: Dump = json.loads(proc.stdout)
    return dump


def probe_names(ref: Dump) -> dict[str, Any]:
    """pika's names per module, for ours to look up even where ``dir()`` omits them."""
    names = {m: sorted(e.get('names', {})) for m, e in ref['modules'].items()}
    return {'probe': names}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Introspect both packages, compare, print the report; the exit status for ``--check``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='exit 1 on undocumented differences')
    parser.add_argument('--venv', type=Path, default=VENV_DIR, help='reference venv directory')
    parser.add_argument('--allowed', type=Path, default=ALLOWED_DOC, help='document to read')
    parser.add_argument('--keep-dumps', type=Path, help='write both JSON dumps to this directory')
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        allowed = parse_allowed(args.allowed.read_text(encoding='utf-8'))
        ref = introspect(reference_python(args.venv), [], {})
        ours = introspect(sys.executable, ['--root', str(ROOT)], probe_names(ref))
    except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as exc:
        print(f'parity: cannot run: {exc}', file=sys.stderr)
        return 2
    if args.keep_dumps:
        args.keep_dumps.mkdir(parents=True, exist_ok=True)
        for name, dump in (('pika', ref), ('ours', ours)):
            (args.keep_dumps / f'{name}.json').write_text(json.dumps(dump, indent=1))
    comparison = compare(ref, ours)
    verdict = classify(comparison.differences, allowed)
    header = (
        f'ours {ours["version"]} ({ours["file"]}) vs pika {ref["version"]} '
        f'(Python {ref["python"]}), {time.monotonic() - started:.1f} s'
    )
    print('\n'.join(report(comparison, verdict, header)))
    return 1 if args.check and verdict.failures else 0


if __name__ == '__main__':
    sys.exit(main())
