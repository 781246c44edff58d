"""Reference pika (1.4.4) for benchmarks, kept in its own virtualenv.

Benchmarks compare our code with the released pika *in the same run*, but pika must never be
imported into our process nor become one of our dependencies. So this helper creates
``bench/.venv-pika`` (gitignored) with ``python -m venv`` + ``pip install pika==1.4.4`` on first
use, and runs reference measurements as a subprocess of that venv's interpreter.

Usage from another benchmark::

    from _pika_ref import run_reference
    results = run_reference(SCRIPT_SOURCE, {'runs': 7})   # SCRIPT prints one JSON object
    proc = start_reference(SCRIPT_SOURCE)                  # or: a line-oriented co-process
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

PIKA_VERSION = '1.4.4'
BENCH_DIR = Path(__file__).resolve().parent
VENV_DIR = BENCH_DIR / '.venv-pika'
#: file in the venv naming every requirement installed there (see ensure_reference_python)
REQUIREMENTS_STAMP = 'installed-requirements.txt'


def _venv_python(venv_dir: Path) -> Path:
    """Path of the interpreter inside ``venv_dir`` (POSIX or Windows layout)."""
    if os.name == 'nt':
        return venv_dir / 'Scripts' / 'python.exe'
    return venv_dir / 'bin' / 'python'


def _installed_version(python: Path) -> str | None:
    """Version of pika importable by ``python``, or None when it is missing.

    ``-I`` keeps the current directory off ``sys.path``, so our own ``pika`` package in the
    repository root can never answer in place of the installed reference.
    """
    probe = 'import pika, sys; sys.stdout.write(pika.__version__)'
    try:
        out = subprocess.run(
            [str(python), '-I', '-c', probe],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            cwd=str(BENCH_DIR),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _requirements_match(venv_dir: Path, requirements: list[str]) -> bool:
    """True when ``venv_dir`` records that exactly ``requirements`` were installed in it."""
    try:
        recorded = (venv_dir / REQUIREMENTS_STAMP).read_text().split()
    except OSError:
        return False
    return recorded == requirements


def ensure_reference_python(
    venv_dir: Path = VENV_DIR, version: str = PIKA_VERSION, extras: Sequence[str] = ()
) -> Path:
    """Create the reference venv if needed and return its interpreter path.

    Idempotent: an existing venv that already has the right pika version (and, when ``extras``
    are asked for, a record of exactly these requirements) is reused as is.

    :param venv_dir: where the reference virtualenv lives
    :param version: exact pika version to install there
    :param extras: more requirements to install beside pika (e.g. the event loops its optional
        adapters import), recorded in ``venv_dir``/``installed-requirements.txt``
    :raises RuntimeError: when the venv cannot be created or pika cannot be installed
    """
    python = _venv_python(venv_dir)
    requirements = [f'pika=={version}', *extras]
    if python.exists() and _installed_version(python) == version:
        if not extras or _requirements_match(venv_dir, requirements):
            return python
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(str(venv_dir))
    cmd = [str(python), '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check']
    cmd.extend(requirements)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'could not install {requirements} in {venv_dir}:\n{proc.stderr}')
    if _installed_version(python) != version:
        raise RuntimeError(f'pika=={version} is not importable from {python}')
    (venv_dir / REQUIREMENTS_STAMP).write_text('\n'.join(requirements) + '\n')
    return python


def _reference_env() -> dict[str, str]:
    """Environment for the reference interpreter: no PYTHONPATH/PYTHONHOME leaking our code."""
    return {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME')}


def start_reference(script: str) -> subprocess.Popen[str]:
    """Start ``script`` under the reference pika interpreter as a line-oriented co-process.

    Use this to interleave measurements of ours and pika's run by run (so both see the same
    machine load): write a command line to ``proc.stdin``, read the answer from ``proc.stdout``.
    The caller must close stdin and ``wait()`` for the process.

    :param script: Python source to execute in the reference venv (isolated mode, bench cwd)
    """
    python = ensure_reference_python()
    return subprocess.Popen(
        [str(python), '-I', '-u', '-c', script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
        cwd=str(BENCH_DIR),
        env=_reference_env(),
    )


def run_reference(script: str, params: dict[str, Any], timeout: float = 600.0) -> Any:
    """Run ``script`` with the reference pika interpreter and return the JSON it prints.

    The script receives ``params`` as JSON on stdin and must print exactly one JSON document on
    stdout. It runs with the bench directory as working directory and WITHOUT our repository on
    ``sys.path``, so ``import pika`` there is the released reference version.

    :param script: Python source to execute in the reference venv
    :param params: JSON-serialisable parameters passed on stdin
    :param timeout: seconds before the subprocess is abandoned
    :raises RuntimeError: when the subprocess fails or prints something that is not JSON
    """
    python = ensure_reference_python()
    proc = subprocess.run(
        [str(python), '-I', '-c', script],
        input=json.dumps(params),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(BENCH_DIR),
        env=_reference_env(),
    )
    if proc.returncode != 0:
        raise RuntimeError(f'reference benchmark failed:\n{proc.stderr}')
    try:
        return json.loads(proc.stdout)
    except ValueError as exc:
        raise RuntimeError(f'reference benchmark printed no JSON: {proc.stdout!r}') from exc


if __name__ == '__main__':
    sys.stdout.write(f'{ensure_reference_python()}\n')
