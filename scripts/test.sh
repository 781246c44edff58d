#!/usr/bin/env bash
# Every gate, in order: venv + broker set-up, formatting, lint, types, codegen drift, unit tests,
# broker tests (fail, never skip, without a broker), then the demo and the codec benchmark as
# smoke tests.
# All gates run even after a failure (FAIL_FAST=1 stops at the first); the exit status is
# non-zero when any gate failed. A summary of every gate is printed at the end.
# SKIP_BOOTSTRAP=1 uses the existing .venv without checking or installing anything.
set -uo pipefail

cd "$(dirname "$0")/.."
PY=.venv/bin/python
LOG_DIR="${TEST_LOG_DIR:-$(mktemp -d -t pika-gates-XXXXXX)}"
mkdir -p "$LOG_DIR"
declare -a SUMMARY=()
FAILED=0

log() { printf '\n=== %s\n' "$*"; }

# gate NAME TIMEOUT_SECONDS CMD...: run CMD with a time bound, tee its output, record the result.
gate() {
    local name="$1" limit="$2"
    shift 2
    local out="$LOG_DIR/$(printf %s "$name" | tr -c 'a-zA-Z0-9' '_').log"
    log "$name: $*"
    local start=$SECONDS
    timeout --kill-after=30 "$limit" "$@" 2>&1 | tee "$out"
    local rc=${PIPESTATUS[0]}
    local took=$((SECONDS - start))
    # For pytest, keep its final "N passed ..." line in the summary.
    local detail
    detail="$(grep -E '^(=+ )?[0-9]+ (passed|failed|error)|no tests ran' "$out" | tail -n 1 | tr -d '=' | sed 's/^ *//;s/ *$//')"
    if [ "$rc" = 0 ]; then
        SUMMARY+=("PASS  $name (${took}s) $detail")
    else
        [ "$rc" = 124 ] && detail="timed out after ${limit}s; $detail"
        SUMMARY+=("FAIL  $name (${took}s, exit $rc) $detail")
        FAILED=1
        if [ "${FAIL_FAST:-0}" = 1 ]; then
            finish
        fi
    fi
}

finish() {
    printf '\n=== summary (logs in %s)\n' "$LOG_DIR"
    printf '%s\n' "${SUMMARY[@]}"
    if [ "$FAILED" = 0 ]; then
        echo 'ALL GATES PASSED'
    else
        echo 'SOME GATES FAILED'
    fi
    exit "$FAILED"
}

log 'set-up: virtualenv'
if [ "${SKIP_BOOTSTRAP:-0}" = 1 ]; then
    echo 'SKIP_BOOTSTRAP=1: using the existing .venv as it is'
elif ! sh scripts/bootstrap.sh; then
    SUMMARY+=('FAIL  set-up: virtualenv (scripts/bootstrap.sh)')
    FAILED=1
    finish
fi
log 'set-up: broker'
if ! sh scripts/ensure_broker.sh; then
    # Keep going: lint and unit tests still tell something; broker tests will fail loudly.
    SUMMARY+=('FAIL  set-up: broker (scripts/ensure_broker.sh)')
    FAILED=1
fi

gate 'ruff format --check' 300 "$PY" -m ruff format --check .
gate 'ruff check' 300 "$PY" -m ruff check .
gate 'mypy' 600 "$PY" -m mypy
gate 'codegen --check' 120 "$PY" tools/codegen.py --check
gate 'unit tests' 600 "$PY" -m pytest -q -ra -p no:cacheprovider tests/unit
gate 'broker tests' 900 "$PY" -m pytest -q -ra -p no:cacheprovider tests/broker
gate 'examples/demo.py (smoke)' 300 env PYTHONPATH=. "$PY" examples/demo.py --count 2000
if [ -d tests/acceptance ]; then
    gate 'acceptance tests' 900 "$PY" -m pytest -q -ra -p no:cacheprovider tests/acceptance
fi
if [ -f bench/codec.py ]; then
    gate 'bench/codec.py --quick (smoke)' 300 "$PY" bench/codec.py --quick
fi
if [ -f bench/run.py ]; then
    gate 'bench/run.py --quick (smoke)' 300 "$PY" bench/run.py --quick --no-chart
fi
finish
