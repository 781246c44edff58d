#!/bin/sh
# One command demo: venv + project install, a local RabbitMQ, then examples/demo.py
# (publish and consume a few thousand messages with BlockingConnection, print the rate).
# Extra arguments go to examples/demo.py (see `./scripts/demo.sh --help`).
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh
sh scripts/ensure_broker.sh
exec .venv/bin/python examples/demo.py "$@"
