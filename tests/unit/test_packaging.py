"""Packaging facts that the build does not check by itself (tools/check_package.py builds).

The version has one home (``pika.__version__``, read by setuptools), the license is an SPDX
expression whose files exist, and the notice of the vendored AMQP specification that
pika/spec.py is generated from is that file's own text, so the wheel carries it unchanged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pika

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = (ROOT / 'pyproject.toml').read_text(encoding='utf-8')
SPEC_JSON = ROOT / 'codegen' / 'amqp-rabbitmq-0.9.1.json'
SPEC_NOTICE = ROOT / 'LICENSES' / 'amqp-rabbitmq-0.9.1.txt'


def test_the_version_is_read_from_the_package() -> None:
    assert 'dynamic = ["version"]' in PYPROJECT
    assert 'version = { attr = "pika.__version__" }' in PYPROJECT
    assert not re.search(r'^version\s*=\s*"', PYPROJECT, re.MULTILINE), 'a second version'
    assert re.fullmatch(r'\d+\.\d+\.\d+(\.dev\d+|(a|b|rc)\d+)?', pika.__version__)


def test_the_license_is_an_spdx_expression_with_its_files() -> None:
    assert re.search(r'^license = "BSD-3-Clause AND MIT"$', PYPROJECT, re.MULTILINE)
    assert 'License ::' not in PYPROJECT, 'license classifiers conflict with an SPDX expression'
    assert (ROOT / 'LICENSE').read_text(encoding='utf-8').startswith('BSD 3-Clause License')
    assert 'license-files = ["LICENSE", "LICENSES/*.txt"]' in PYPROJECT


def test_the_spec_notice_is_the_vendored_files_own_text() -> None:
    notice = ''.join(json.loads(SPEC_JSON.read_text(encoding='utf-8'))['copyright'])
    shipped = SPEC_NOTICE.read_text(encoding='utf-8')
    assert notice.strip() in shipped
    assert 'Permission is hereby granted' in shipped


def test_py_typed_is_package_data() -> None:
    assert (ROOT / 'pika' / 'py.typed').is_file()
    assert 'pika = ["py.typed"]' in PYPROJECT
