#!/usr/bin/env bash
# How completely pika's public API is typed, as pyright sees the installed package, and whether
# the downstream user programs of tests/typing (checked with `mypy --strict` by the unit tests)
# also pass pyright. Prints pyright's whole `--verifytypes` report; fails when the score is
# below MIN_SCORE (default 95) or when the report measured anything but our installed package.
#
# Why the detour through a venv: `pyright --verifytypes` ignores `--pythonpath`, `venvPath` and
# every config file (it builds its own configuration) and asks the first `python` on PATH for
# its search paths. When that python has no pika with a py.typed, pyright falls back to the
# pika stubs bundled in its own typeshed (typeshed-fallback/stubs/pika) and scores those: 0%.
# So the sdist and the wheel are built as tools/check_package.py builds them, the wheel goes
# alone into a fresh venv, and that venv's bin/ is put first on PATH. `--ignoreexternal`: the
# venv has none of the optional packages (Tornado, Twisted, gevent), whose types are theirs
# to declare, not ours.
#
# Environment: PYTHON (default .venv/bin/python; needs build and pyright, the dev extra),
# MIN_SCORE (percent, default 95).
set -euo pipefail

cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
# Absolute (pyright runs from the temporary directory), without resolving the venv's symlink.
PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"
MIN_SCORE="${MIN_SCORE:-95}"
WORK="$(mktemp -d -t pika-verifytypes-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

"$PY" -m build --no-isolation --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log"; exit 1; }
"$PY" -m venv --without-pip "$WORK/venv"
"$PY" -m pip --python "$WORK/venv/bin/python" install --quiet --disable-pip-version-check \
    --no-deps --no-index "$WORK"/dist/*.whl

echo "=== pyright --verifytypes pika --ignoreexternal (python on PATH: $WORK/venv/bin/python)"
# Exit status 1 just means "not 100%": the score is judged below.
(cd "$WORK" && PATH="$WORK/venv/bin:$PATH" "$PY" -m pyright --verifytypes pika --ignoreexternal) \
    >"$WORK/report.txt" 2>&1 || true
cat "$WORK/report.txt"

site="$WORK/venv/lib/"
if ! grep -q "^Package directory: \"$site[^\"]*/site-packages/pika\"" "$WORK/report.txt"; then
    echo "FAIL: pyright did not measure the installed wheel; its Package directory line is:"
    grep '^Package directory' "$WORK/report.txt" || echo '(none)'
    exit 1
fi
score="$(sed -n 's/^Type completeness score: \([0-9.]*\)%$/\1/p' "$WORK/report.txt")"
if [ -z "$score" ]; then
    echo 'FAIL: no "Type completeness score" line in the report'
    exit 1
fi
echo "=== verifytypes: $(grep '^Package directory' "$WORK/report.txt")"
echo "=== verifytypes: type completeness score ${score}% (minimum ${MIN_SCORE}%)"
if ! awk -v s="$score" -v m="$MIN_SCORE" 'BEGIN { exit !(s + 0 >= m + 0) }'; then
    echo "FAIL: score ${score}% is below ${MIN_SCORE}%"
    exit 1
fi

# The user programs, with the settings of [tool.pyright] in pyproject.toml (standard mode, as
# users run it). From the repository root `import pika` resolves to this checkout; the .venv's
# interpreter provides Twisted, Tornado and gevent.
echo '=== pyright tests/typing (the mypy --strict user programs)'
# `-p pyproject.toml`: pyright would otherwise prefer a pyrightconfig.json in any parent directory.
"$PY" -m pyright -p pyproject.toml --pythonpath "$PY"
