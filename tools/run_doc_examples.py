"""Run every Python example of the README and of docs/*.md against the local broker.

A ```` ```python ```` block is a program: it runs alone, in a fresh interpreter that imports
this checkout, from a temporary directory, with a time bound, and must exit with status 0.
A block that is not a whole program (a signature, a piece of a larger one, something that
needs a remote host or certificate files) says so where readers see it: its first line is a
comment starting with ``# fragment``, followed by why. Those are listed and counted as skipped,
never silently; everything else must pass. The literal blocks (``::``) of the docstrings of
the public modules, which the API reference shows, follow the same rule.

Usage: ``python tools/run_doc_examples.py [FILE.md ...]`` (default: README.md, docs/*.md and
the docstrings of the public modules under pika/).
Exit status 0 when every example that runs passed.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAGMENT_MARK = '# fragment'
TIMEOUT = 60.0


@dataclass
class Example:
    """One ```python block: where it is and its source."""

    path: Path
    line: int
    source: str

    @property
    def where(self) -> str:
        return f'{self.path.relative_to(ROOT)}:{self.line}'

    @property
    def fragment_reason(self) -> str | None:
        """Why the block does not run alone, or None when it is a program."""
        first = next((ln.strip() for ln in self.source.splitlines() if ln.strip()), '')
        if not first.startswith(FRAGMENT_MARK):
            return None
        return first[len(FRAGMENT_MARK) :].lstrip(' :-') or 'fragment'


def examples_in(path: Path) -> list[Example]:
    """The ```python blocks of a Markdown file (indented ones in lists included)."""
    lines = path.read_text(encoding='utf-8').splitlines()
    found = []
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        if stripped == '```python':
            indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
            end = index + 1
            while end < len(lines) and lines[end].strip() != '```':
                end += 1
            body = '\n'.join(line.removeprefix(indent) for line in lines[index + 1 : end])
            found.append(Example(path, index + 1, textwrap.dedent(body) + '\n'))
            index = end
        index += 1
    return found


def literal_blocks(docstring: str) -> list[tuple[int, str]]:
    """The reST literal blocks (after a line ending in ``::``) of a docstring, with the line
    of the docstring each starts on."""
    lines = docstring.splitlines()
    blocks = []
    for index, line in enumerate(lines):
        if not line.rstrip().endswith('::'):
            continue
        base = len(line) - len(line.lstrip())
        body: list[str] = []
        for following in lines[index + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= base:
                break
            body.append(following)
        blank = next((n for n, text in enumerate(body) if text.strip()), 0)
        text = textwrap.dedent('\n'.join(body)).strip('\n')
        if text:
            blocks.append((index + 2 + blank, text + '\n'))
    return blocks


def docstring_examples(path: Path) -> list[Example]:
    """The literal blocks of every docstring (module, classes, functions) of a module."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        docstring = ast.get_docstring(node, clean=False)
        if not docstring:
            continue
        start = node.body[0].lineno if node.body else 1
        for offset, text in literal_blocks(docstring):
            found.append(Example(path, start + offset - 1, text))
    return found


def public_module_files() -> list[Path]:
    """The modules of pika/ that the API reference documents (no path part starts with _)."""
    files = []
    for path in sorted((ROOT / 'pika').rglob('*.py')):
        parts = path.relative_to(ROOT).with_suffix('').parts
        if not any(part.startswith('_') and part != '__init__' for part in parts):
            files.append(path)
    return files


def run_example(example: Example, work: Path) -> tuple[bool, str, float]:
    """Run one example; return (passed, its output, seconds)."""
    script = work / f'example_{example.path.stem}_{example.line}.py'
    script.write_text(example.source, encoding='utf-8')
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        output = f'timed out after {TIMEOUT:.0f} s\n{exc.stdout or ""}{exc.stderr or ""}'
        return False, output, time.monotonic() - started
    return result.returncode == 0, result.stdout + result.stderr, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    """Run the examples of the given (or the default) files; 0 when all that run passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('files', nargs='*', type=Path, help='Markdown files')
    args = parser.parse_args(argv)
    files = [p.resolve() for p in args.files] or [
        ROOT / 'README.md',
        *sorted((ROOT / 'docs').glob('*.md')),
        *public_module_files(),
    ]
    examples = [
        example
        for path in files
        for example in (docstring_examples(path) if path.suffix == '.py' else examples_in(path))
    ]
    ran = skipped = failed = 0
    with tempfile.TemporaryDirectory(prefix='pika-doc-examples-') as tmp:
        for example in examples:
            reason = example.fragment_reason
            if reason is not None:
                skipped += 1
                print(f'skip {example.where}: fragment: {reason}')
                continue
            ran += 1
            passed, output, seconds = run_example(example, Path(tmp))
            print(f'{"ok  " if passed else "FAIL"} {example.where} ({seconds:.1f} s)')
            shown = output.rstrip().splitlines()
            if passed:  # what it printed, so a reader of the log sees it did its job
                shown = shown[:5]
            else:
                failed += 1
            print(textwrap.indent('\n'.join(shown) or '(no output)', '    | '))
    print(f'doc examples: {ran} run, {skipped} skipped (marked "{FRAGMENT_MARK}"), {failed} failed')
    if ran == 0:
        print('FAIL: no example ran')
        return 1
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
