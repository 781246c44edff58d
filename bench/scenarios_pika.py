"""Entry point that runs the shared scenarios against pika 1.4.4 inside the reference virtualenv.

Why a separate file: the reference library must never be importable from the process that
measures ours, and ours must never shadow it here. Run as ``bench/.venv-pika/bin/python
bench/scenarios_pika.py '<json job>'``: the script directory (``bench/``) is first on
``sys.path``, the repository root is not, so ``import pika`` finds the installed 1.4.4. The
scenario code itself is :func:`scenarios_ours.run_job`, identical for both libraries.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from raw_ceiling import run_job_main
from scenarios_ours import run_job

REFERENCE_VERSION = '1.4.4'


def _without_repo_root() -> None:
    """Drop the repository root (and the cwd) from ``sys.path`` so our package can't shadow."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [p for p in sys.path if p not in ('', '.') and os.path.abspath(p) != root]


def run_reference(job: dict[str, Any]) -> dict[str, Any]:
    """Run the job with the installed pika, refusing anything but version 1.4.4."""
    _without_repo_root()
    result = run_job(job)
    version = result.get('pika_version')
    if result.get('ok') and version != REFERENCE_VERSION:
        return {'ok': False, 'error': f'reference pika is {version}, not {REFERENCE_VERSION}'}
    return result


if __name__ == '__main__':
    run_job_main(run_reference)
