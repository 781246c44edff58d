#!/bin/sh
# Run opentelemetry-instrumentation-pika's own unit tests against this checkout.
#
# The OpenTelemetry instrumentation reaches into pika 1.x's private names (see
# pika/adapters/_otel_compat.py); its test suite checks exactly those. The tests ship in its
# sdist on PyPI, which this downloads into a temporary directory (nothing is kept). The
# instrumentation itself comes from the dev extra (pyproject.toml).
# Usage: sh tools/otel_pika_tests.sh [VERSION]   (PYTHON: interpreter, default .venv/bin/python)
set -eu

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VERSION="${1:-0.66b1}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
case "$PY" in
    /*) ;;
    */*) PY="$ROOT/$PY" ;;  # a relative path: the tests run from another directory
esac
WORK="$(mktemp -d -t otel-pika-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

"$PY" -m pip download -q --disable-pip-version-check --no-binary :all: --no-deps -d "$WORK" \
    "opentelemetry-instrumentation-pika==$VERSION"
tar -xzf "$WORK"/opentelemetry_instrumentation_pika-*.tar.gz -C "$WORK"
cd "$WORK"/opentelemetry_instrumentation_pika-*/
PYTHONPATH="$ROOT" "$PY" -m pytest -q -p no:cacheprovider tests
