"""Build the sdist and the wheel, check them, and use the wheel alone from a clean venv.

A packaging mistake (a module left out of the wheel, a missing ``py.typed``, metadata PyPI would
reject) passes every other gate, because those run from the checkout. This one does not:

1. ``python -m build`` makes the sdist, then the wheel from that sdist (so both must be
   complete), and ``twine check --strict`` validates their metadata;
2. the wheel's file list is printed and compared with the checkout: every file git tracks under
   ``pika/`` must be in it, and the license notices must be in its ``.dist-info/licenses/``;
3. the wheel alone (no dependencies, no PYTHONPATH, isolated mode, run from a temporary
   directory) is installed into a fresh venv, which imports every public module of the checkout
   and runs ``examples/demo.py`` against the local broker.

A module that needs an optional package (Tornado, Twisted, gevent) is reported as such: its
import must fail on that package, never on a ``pika`` module. Exit status 0 when all passed.
The build runs without isolation (the dev extra brings setuptools >= 77), so no network is used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LICENSE_FILES = ('LICENSE', 'LICENSES/amqp-rabbitmq-0.9.1.txt')
STEP_TIMEOUT = 120.0

# Imported in the clean venv: each public module, one line of output per module.
IMPORT_PROBE = r"""
import importlib, sys
names = sys.argv[1:]
failed = 0
for name in names:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ''
        if missing == 'pika' or missing.startswith('pika.'):
            print(f'FAIL {name}: {exc}')
            failed += 1
        else:
            print(f'opt  {name}: needs the optional package {missing!r}')
        continue
    except Exception as exc:
        print(f'FAIL {name}: {type(exc).__name__}: {exc}')
        failed += 1
        continue
    print(f'ok   {name}  ({module.__file__})')
import pika
print('pika', pika.__version__, 'from', pika.__file__)
sys.exit(1 if failed else 0)
"""


def run(
    cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, quiet: bool = False
) -> None:
    """Run ``cmd`` with a time bound, echo it; raise CalledProcessError on a non-zero exit."""
    print('$', ' '.join(arg if '\n' not in arg else '<import probe>' for arg in cmd), flush=True)
    stdout = subprocess.DEVNULL if quiet else None
    subprocess.run(cmd, cwd=cwd, env=env, stdout=stdout, check=True, timeout=STEP_TIMEOUT)


def tracked_package_files() -> list[str]:
    """The files git tracks under pika/ (the wheel must carry every one)."""
    out = subprocess.run(
        ['git', 'ls-files', 'pika'], cwd=ROOT, check=True, text=True, capture_output=True
    ).stdout
    return sorted(line for line in out.splitlines() if line)


def public_modules(files: list[str]) -> list[str]:
    """Dotted names of the public modules among ``files``: no path part starts with ``_``."""
    names = []
    for path in files:
        if not path.endswith('.py'):
            continue
        parts = path[: -len('.py')].split('/')
        if parts[-1] == '__init__':
            parts.pop()
        elif parts[-1] == '__main__':
            continue
        if not any(part.startswith('_') for part in parts):
            names.append('.'.join(parts))
    return sorted(names)


def check_wheel_files(wheel: Path, tracked: list[str]) -> list[str]:
    """Print the wheel's file list; return the problems found in it."""
    with zipfile.ZipFile(wheel) as archive:
        names = sorted(archive.namelist())
    print(f'\nwheel {wheel.name}: {len(names)} files')
    for name in names:
        print('   ', name)
    problems = [f'missing from the wheel: {path}' for path in tracked if path not in names]
    dist_info = next((n.split('/')[0] for n in names if '.dist-info/' in n), '?')
    for license_file in LICENSE_FILES:
        if f'{dist_info}/licenses/{license_file}' not in names:
            problems.append(f'license file not in the wheel: {license_file}')
    stray = [n for n in names if not n.startswith(('pika/', dist_info + '/'))]
    problems.extend(f'unexpected file in the wheel: {name}' for name in stray)
    return problems


def build(out_dir: Path) -> tuple[Path, Path]:
    """Build the sdist and the wheel (from the sdist) into ``out_dir``; twine-check both."""
    run(
        [sys.executable, '-m', 'build', '--no-isolation', '--outdir', str(out_dir), str(ROOT)],
        quiet=True,
    )
    sdist = next(out_dir.glob('*.tar.gz'))
    wheel = next(out_dir.glob('*.whl'))
    run([sys.executable, '-m', 'twine', 'check', '--strict', str(sdist), str(wheel)])
    return sdist, wheel


def clean_venv(work: Path, wheel: Path) -> Path:
    """A fresh venv holding only the wheel; return its interpreter."""
    venv = work / 'venv'
    run([sys.executable, '-m', 'venv', '--without-pip', str(venv)])
    python = venv / 'bin' / 'python'
    run(
        [
            sys.executable,
            '-m',
            'pip',
            '--python',
            str(python),
            'install',
            '--quiet',
            '--disable-pip-version-check',
            '--no-deps',
            '--no-index',
            str(wheel),
        ]
    )
    return python


def use_installed(python: Path, work: Path, modules: list[str], demo_count: int) -> None:
    """Import every public module and run the demo with the venv's interpreter, isolated."""
    env = {key: value for key, value in os.environ.items() if not key.startswith('PYTHON')}
    isolated = [str(python), '-I']
    run([*isolated, '-c', IMPORT_PROBE, *modules], cwd=work, env=env)
    run(
        [*isolated, str(ROOT / 'examples' / 'demo.py'), '--count', str(demo_count)],
        cwd=work,
        env=env,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the packaging checks; 0 when every one passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--demo-count', type=int, default=500, help='messages the demo sends')
    parser.add_argument('--keep', action='store_true', help='keep the temporary directory')
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix='pika-package-'))
    started = time.monotonic()
    try:
        tracked = tracked_package_files()
        sdist, wheel = build(work / 'dist')
        print(f'sdist {sdist.name}: {sdist.stat().st_size} bytes')
        problems = check_wheel_files(wheel, tracked)
        for problem in problems:
            print('FAIL', problem)
        modules = public_modules(tracked)
        print(f'\nimporting {len(modules)} public modules from the installed wheel')
        use_installed(clean_venv(work, wheel), work, modules, args.demo_count)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, StopIteration) as exc:
        print(f'FAIL {exc}')
        return 1
    finally:
        if args.keep:
            print('kept', work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f'packaging checks took {time.monotonic() - started:.1f} s')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
