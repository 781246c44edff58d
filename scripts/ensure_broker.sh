#!/bin/sh
# Make sure a RabbitMQ broker answers AMQP 0-9-1 on 127.0.0.1:5672.
#
# Order: use a broker that already answers; else start the installed rabbitmq-server; else
# install Debian's rabbitmq-server and start it. Idempotent. It never stops or restarts a broker.
# Environment: AMQP_HOST (default 127.0.0.1), AMQP_PORT (default 5672), BROKER_WAIT (seconds, 90).
set -eu

HOST="${AMQP_HOST:-127.0.0.1}"
PORT="${AMQP_PORT:-5672}"
WAIT="${BROKER_WAIT:-90}"
PY="${PYTHON:-python3}"

log() { printf 'ensure_broker: %s\n' "$*" >&2; }

# Succeeds when the peer answers the AMQP protocol header with a Connection.Start frame
# (frame type 1, channel 0, class 10, method 10).
probe() {
    "$PY" - "$HOST" "$PORT" <<'PYEOF'
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as s:
        s.sendall(b'AMQP\x00\x00\x09\x01')
        data = b''
        while len(data) < 11:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
except OSError:
    sys.exit(1)
sys.exit(0 if data[:3] == b'\x01\x00\x00' and data[7:11] == b'\x00\x0a\x00\x0a' else 1)
PYEOF
}

# Run a command as root: directly when we are root, else through sudo when it exists.
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

wait_for_broker() {
    deadline=$(( $(date +%s) + WAIT ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if probe; then
            return 0
        fi
        sleep 1
    done
    return 1
}

if probe; then
    log "broker answers AMQP on $HOST:$PORT"
    exit 0
fi

if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -x /usr/sbin/rabbitmq-server ]; then
    log "rabbitmq-server not installed; installing Debian's package"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server
    # The package's postinst may already have started it.
    if probe; then
        log "broker answers AMQP on $HOST:$PORT"
        exit 0
    fi
fi

SERVER="$(command -v rabbitmq-server || echo /usr/sbin/rabbitmq-server)"
log "starting $SERVER -detached"
# -detached returns at once; the wrapper drops to the rabbitmq user when run as root.
as_root "$SERVER" -detached || log "rabbitmq-server -detached returned $? (waiting anyway)"

if wait_for_broker; then
    log "broker answers AMQP on $HOST:$PORT"
    exit 0
fi

log "FAILED: no AMQP broker on $HOST:$PORT after ${WAIT}s."
log "Look at /var/log/rabbitmq/ (startup_log, startup_err, rabbit@*.log) for the reason."
exit 1
