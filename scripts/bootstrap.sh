#!/bin/sh
# Create the project's virtualenv (.venv) when it is missing and install the project into it
# with its extras (`pip install -e .[dev,docs]`). Idempotent: a stamp holding the hash of
# pyproject.toml and the extras skips the install when nothing changed and `import pika` works.
# Environment: PYTHON (interpreter to build the venv from, default python3), VENV (default .venv),
# EXTRAS (default dev,docs; scripts/test.sh passes dev for the other Pythons' venvs).
set -eu

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PY="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"
EXTRAS="${EXTRAS:-dev,docs}"

log() { printf 'bootstrap: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        log "need root (or sudo) to run: $*"
        return 1
    fi
}

if ! command -v "$PY" >/dev/null 2>&1; then
    log "no $PY found; install Python 3.9+ first"
    exit 1
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
    log "$PY is older than 3.9: $("$PY" -V 2>&1)"
    exit 1
fi

venv_ok() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

if ! venv_ok; then
    log "creating $VENV"
    rm -rf "$VENV"
    if ! "$PY" -m venv "$VENV"; then
        # Debian ships venv/ensurepip separately from python3.
        log "python venv support missing; installing Debian's python3-venv"
        rm -rf "$VENV"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv
        "$PY" -m venv "$VENV"
    fi
fi

STAMP="$VENV/.pika-bootstrap"
WANT="$("$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$ROOT/pyproject.toml") $EXTRAS"
# `import pika` from / so the checkout on the current directory does not count.
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] \
    && (cd / && "$VENV/bin/python" -c 'import pika, pytest, ruff, mypy' 2>/dev/null); then
    log "$VENV is up to date"
    exit 0
fi

log "installing the project and its extras ($EXTRAS) into $VENV"
# --no-compile: Python compiles a module when it is first imported; compiling every installed file
# up front cost a third of the install's CPU (42 s against 28 s for dev,docs), mostly for files
# that no test imports.
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-compile -q -e "$ROOT[$EXTRAS]"
echo "$WANT" > "$STAMP"
log "done: $("$VENV/bin/python" -V 2>&1) in $VENV"
