"""Run the ``pika`` command line as a user does: ``python -m pika ...`` in a subprocess of
this checkout, with a time bound."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]


def run_pika(
    *args: str, stdin: Optional[str] = None, timeout: float = 60, url: Optional[str] = None
) -> subprocess.CompletedProcess[str]:
    """``python -m pika ARGS``; ``url`` goes in ``$PIKA_URL`` (the environment, as a script
    that keeps its password out of the process list would pass it)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop('PIKA_URL', None)
    if url is not None:
        env['PIKA_URL'] = url
    return subprocess.run(
        [sys.executable, '-W', 'always::ResourceWarning', '-m', 'pika', *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
