"""The fuzz campaign in CI: the seed corpus holds, and a short campaign of each target finds
nothing (a few seconds each, under atheris when it is installed, else the plain driver).

The long campaign is ``tools/fuzz.py`` (see its docstring); its targets, mutators and
invariants are in ``tests/fuzz/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pika import exceptions, frame
from tests.fuzz import targets
from tests.fuzz.seeds import seed_inputs
from tests.helpers.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / 'tests' / 'fuzz' / 'corpus'
NAMES = ('frame', 'table', 'core')
SHORT_CAMPAIGN_SECONDS = 2


def _tool() -> Any:
    return load_script(ROOT / 'tools' / 'fuzz.py', 'fuzz_tool')


@pytest.mark.parametrize('name', NAMES)
def test_seed_corpus_is_committed_and_passes(name: str) -> None:
    files = sorted((CORPUS / name).iterdir())
    made = seed_inputs(name)
    assert len(files) == len(made) >= 20
    assert sorted(p.read_bytes() for p in files) == sorted(data for _, data in made)
    for path in files:
        targets.TARGETS[name].run(path.read_bytes())


@pytest.mark.parametrize('name', NAMES)
def test_short_campaign_finds_nothing(name: str, tmp_path: Path) -> None:
    """A few seconds of each target, as a subprocess (atheris exits the process when done)."""
    report_path = tmp_path / 'report.json'
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / 'tools' / 'fuzz.py'),
            '--target',
            name,
            '--seconds',
            str(SHORT_CAMPAIGN_SECONDS),
            '--no-coverage',
            '--work',
            str(tmp_path),
            '--json',
            str(report_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert report_path.exists(), run.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report[name]['crashes'] == [], report[name].get('log_tail') or run.stderr[-3000:]
    assert run.returncode == 0, run.stderr[-3000:]
    assert report[name]['runs'] >= 100, report


def test_plain_driver_reports_an_escape(monkeypatch: pytest.MonkeyPatch) -> None:
    """The invariant has teeth: a decoder that lets a KeyError escape is a finding."""
    real = frame.decode_frame

    def leaky(data: Any, offset: int = 0, frame_max: Any = None) -> Any:
        consumed, value = real(data, offset, frame_max)
        if isinstance(value, frame.Heartbeat):
            raise KeyError('leaked')
        return consumed, value

    monkeypatch.setattr(frame, 'decode_frame', leaky)
    seeds = [data for _, data in seed_inputs('frame')]
    result = _tool().plain_run('frame', seeds, runs=3000, seconds=0, seed=7)
    assert result['runs'] == 3000
    assert any('KeyError' in key for key in result['findings']), result['findings']


def test_core_target_flags_a_non_amqp_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception that is not an AMQPError escaping the core fails the core target."""
    from pika._core.channel_zero import ChannelZero

    def broken(self: Any, frame_value: Any) -> None:
        raise IndexError('broken handler')

    monkeypatch.setattr(ChannelZero, 'on_frame', broken)
    data = seed_inputs('core')[0][1]
    with pytest.raises(IndexError):
        targets.core_target(data)
    assert not issubclass(IndexError, exceptions.AMQPError)
