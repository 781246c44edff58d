"""SIGTERM to a test session (scripts/test.sh's ``timeout``, a cancelled CI job) still runs
fixture finalizers and ``atexit`` handlers: that is how private RabbitMQ nodes and the private
cluster get removed instead of outliving the run (tests/conftest.py's ``pytest_configure``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_HANGING_TEST = """
import atexit
import time

import pytest

LOG = {log!r}


def note(text):
    with open(LOG, 'a', encoding='ascii') as handle:
        handle.write(text + '\\n')


@pytest.fixture
def resource():
    atexit.register(note, 'atexit')
    note('started')
    yield
    note('finalized')


def test_hangs(resource):
    time.sleep(120)
"""


def test_sigterm_runs_fixture_finalizers_and_atexit(tmp_path: Path) -> None:
    log = tmp_path / 'log'
    test_file = tmp_path / 'test_hangs.py'
    test_file.write_text(textwrap.dedent(_HANGING_TEST.format(log=str(log))), encoding='ascii')
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    cmd = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-p', 'tests.conftest']
    session = subprocess.Popen(
        [*cmd, str(test_file)],
        cwd=str(tmp_path),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not (log.exists() and 'started' in log.read_text(encoding='ascii')):
            assert session.poll() is None, session.communicate()[0].decode(errors='replace')
            assert time.monotonic() < deadline, 'the inner test never started'
            time.sleep(0.1)
        session.send_signal(signal.SIGTERM)
        output = session.communicate(timeout=60)[0].decode(errors='replace')
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()
    assert log.read_text(encoding='ascii').split() == ['started', 'finalized', 'atexit'], output
    assert 'stopped by signal 15' in output
