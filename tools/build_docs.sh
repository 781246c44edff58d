#!/usr/bin/env bash
# Build the documentation site (docs/: the guides and the API reference) as CI does: a fresh
# build (-E) with every warning an error (-W; --keep-going lists them all first). Prints the
# number of warnings; exit status is Sphinx's. OUT chooses the output directory (default
# docs/_build/html, ignored by git). PYTHON defaults to .venv/bin/python (the docs extra).
set -uo pipefail

cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT="${OUT:-docs/_build/html}"
LOG="$(mktemp -t pika-docs-XXXXXX.log)"
trap 'rm -f "$LOG"' EXIT

"$PY" -m sphinx -E -W --keep-going -q -b html docs "$OUT" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
echo "docs build: $(grep -c 'WARNING\|ERROR' "$LOG") warnings, html in $OUT (sphinx exit $rc)"
exit "$rc"
