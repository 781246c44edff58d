"""Downstream typing: realistic user programs type-check with ``mypy --strict`` against pika.

``tests/typing/*.py`` are never executed; they are written the way users write pika 1.x and
pika 0.9 code, annotated for ``--strict``. ``tests/typing/must_fail.py`` holds mistakes our hints
must reject, each silenced by a ``type: ignore[code]``: with ``warn_unused_ignores`` an ignore
that stops being needed (a hint got too loose) is itself an error, so both directions are
pinned by the single exit status.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip('mypy')

ROOT = Path(__file__).resolve().parents[2]
TYPING_DIR = ROOT / 'tests' / 'typing'
CONFIG = TYPING_DIR / 'mypy.ini'


def run_mypy(cache_dir: Path, *targets: Path) -> subprocess.CompletedProcess[str]:
    """Run mypy with the fixtures' config from the repo root (so `import pika` is this tree)."""
    command = [
        sys.executable, '-m', 'mypy',
        '--config-file', str(CONFIG),
        '--cache-dir', str(cache_dir),
        '--strict', '--warn-unused-ignores',
        *(str(target) for target in targets),
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_fixture_programs_exist() -> None:
    programs = sorted(p.name for p in TYPING_DIR.glob('*.py'))
    assert 'must_fail.py' in programs
    assert len(programs) >= 5, programs


def test_user_programs_type_check_strictly(tmp_path: Path) -> None:
    result = run_mypy(tmp_path / 'cache', TYPING_DIR)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f'mypy failed on tests/typing:\n{output}'
    assert 'Success: no issues found' in result.stdout, output


def test_a_needless_ignore_is_reported(tmp_path: Path) -> None:
    """The safety net itself: an ignore on a line our hints accept must fail the run."""
    program = tmp_path / 'loose_hint.py'
    program.write_text(
        "import pika\npika.ConnectionParameters(host='localhost')  # type: ignore[arg-type]\n"
    )
    result = run_mypy(tmp_path / 'cache', program)
    assert result.returncode != 0
    assert 'unused-ignore' in result.stdout, result.stdout
