"""A private, throw-away RabbitMQ node for destructive tests (kill, freeze, memory alarm, restart).

The shared broker on 127.0.0.1:5672 must never be stopped or reconfigured, so tests that need to
hurt a broker start their own node with :class:`PrivateBroker`. Everything about that node is
private: node name (``pikatest-<pid>-<n>@localhost``), AMQP port, Erlang distribution port, data,
log and pid files, config file, enabled-plugins file (no management plugin; only
``rabbitmq_auth_mechanism_ssl`` on a node with a TLS listener) and ``HOME``.

Environment variables honoured by Debian's rabbitmq-server 3.10.8 (``rabbitmq-env`` and the
Erlang side ``rabbit_env``) that we set: ``RABBITMQ_NODENAME``, ``RABBITMQ_NODE_IP_ADDRESS``,
``RABBITMQ_NODE_PORT``, ``RABBITMQ_DIST_PORT``, ``RABBITMQ_CONFIG_FILE``,
``RABBITMQ_ADVANCED_CONFIG_FILE``, ``RABBITMQ_CONF_ENV_FILE`` (a private one, because the system
``/etc/rabbitmq/rabbitmq-env.conf`` sets ``NODENAME=rabbit@localhost``), ``RABBITMQ_MNESIA_BASE``,
``RABBITMQ_LOG_BASE``, ``RABBITMQ_PID_FILE``, ``RABBITMQ_ENABLED_PLUGINS_FILE`` and
``RABBITMQ_PLUGINS_EXPAND_DIR``.

The Erlang cookie lives in ``$HOME/.erlang.cookie``. The shared broker uses the rabbitmq user's
home (``/var/lib/rabbitmq``); we point ``HOME`` at a private directory so the node gets its own
cookie, and :meth:`PrivateBroker.rabbitmqctl` runs the CLI with that same ``HOME``. The node still
registers with the machine's single ``epmd`` (port 4369), like every Erlang node.

Processes are only ever signalled by pid: the beam pid from this node's pid file, and the
process group of the launcher we spawned (``start_new_session=True``). Never by name.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tests.helpers import amqp_answers

if TYPE_CHECKING:
    from types import TracebackType

    from tests.helpers.tls_certs import TlsFiles

LOGGER = logging.getLogger(__name__)

RABBITMQ_BIN = Path(os.environ.get('RABBITMQ_BIN_DIR', '/usr/lib/rabbitmq/bin'))
HOST = '127.0.0.1'

_COUNTER = itertools.count(1)

# Erlang distribution listens on loopback only, like the shared node's ERL_FLAGS.
_ERL_LOOPBACK_DIST = '-kernel inet_dist_use_interface {127,0,0,1}'

_MEMORY_ALARM = '{resource_limit, memory, node()}'


class PrivateBrokerError(RuntimeError):
    """The private node could not be started, controlled or stopped."""


def free_port(host: str = HOST) -> int:
    """Return a TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def rabbitmq_available() -> bool:
    """True when the RabbitMQ server scripts this helper needs are installed."""
    return (RABBITMQ_BIN / 'rabbitmq-server').exists() and (RABBITMQ_BIN / 'rabbitmqctl').exists()


def _pid_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        with open(f'/proc/{pid}/stat', encoding='ascii', errors='replace') as handle:
            state = handle.read().rsplit(')', 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ('Z', 'X')


def _wait_gone(pid: int, timeout: float = 15.0) -> None:
    """Wait (bounded) until ``pid`` has exited: SIGKILL is delivered asynchronously."""
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _environ_has(pid: int, entry: bytes) -> bool:
    """True when process ``pid`` runs with the environment entry ``entry`` (``NAME=value``)."""
    try:
        with open(f'/proc/{pid}/environ', 'rb') as handle:
            return entry in handle.read().split(b'\0')
    except OSError:
        return False


def reap_stale_nodes(tmp_dir: str | None = None) -> list[str]:
    """Kill and delete private nodes whose owning test process died without cleaning up.

    A node is stale when the pid in its ``owner`` file is gone. Its VM is killed by the pid in
    its pid file, and only after checking that this pid really runs with our node name (pids get
    reused). Returns the base directories removed.
    """
    removed = []
    for base in Path(tmp_dir or tempfile.gettempdir()).glob('pikatest-broker-*'):
        try:
            owner = int((base / 'owner').read_text(encoding='ascii'))
            node = (base / 'node').read_text(encoding='utf-8').strip()
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        with contextlib.suppress(OSError, ValueError):
            pid = int((base / 'node.pid').read_text(encoding='ascii').strip())
            if _pid_alive(pid) and _environ_has(pid, f'RABBITMQ_NODENAME={node}'.encode()):
                LOGGER.warning('killing stale private node %s (pid %d)', node, pid)
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)
        removed.append(str(base))
    return removed


def _config_text(port: int, tls: TlsFiles | None = None, tls_port: int = 0) -> str:
    """The private node's rabbitmq.conf (new-style sysctl format); with ``tls``, also a TLS
    listener on ``tls_port`` that presents the server certificate and verifies a client
    certificate when one is offered, and SASL EXTERNAL beside PLAIN (the user is the client
    certificate's common name)."""
    lines = [
        f'listeners.tcp.1 = {HOST}:{port}',
        'loopback_users = none',
        # Small disks on CI machines must not raise a disk alarm behind our back.
        'disk_free_limit.absolute = 1MB',
        'vm_memory_high_watermark.relative = 0.4',
        'log.console = false',
        'log.file.level = info',
    ]
    if tls is not None:
        lines += [
            f'listeners.ssl.1 = {HOST}:{tls_port}',
            f'ssl_options.cacertfile = {tls.ca_cert}',
            f'ssl_options.certfile = {tls.server_cert}',
            f'ssl_options.keyfile = {tls.server_key}',
            'ssl_options.verify = verify_peer',
            'ssl_options.fail_if_no_peer_cert = false',
            'auth_mechanisms.1 = PLAIN',
            'auth_mechanisms.2 = AMQPLAIN',
            'auth_mechanisms.3 = EXTERNAL',
            'ssl_cert_login_from = common_name',
        ]
    return '\n'.join([*lines, ''])


class PrivateBroker:
    """Start, hurt and remove a private RabbitMQ node.

    Use as a context manager (``with PrivateBroker() as broker:``) or call :meth:`start` and
    :meth:`close` yourself. :meth:`close` always removes the node and its data directory.

    :param start_timeout: seconds :meth:`start` waits for the node to answer AMQP
    :param base_dir: where to keep the node's files (default: a fresh temporary directory)
    :param tls: certificate files for an extra TLS listener on :attr:`tls_port`
    """

    def __init__(
        self, start_timeout: float = 90.0, base_dir: str | None = None, tls: TlsFiles | None = None
    ) -> None:
        self.start_timeout = start_timeout
        self.host = HOST
        self.node_name = f'pikatest-{os.getpid()}-{next(_COUNTER)}@localhost'
        self.port = free_port()
        self.dist_port = free_port()
        self.tls = tls
        self.tls_port = free_port() if tls is not None else 0
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix='pikatest-broker-'))
        self._process: subprocess.Popen[bytes] | None = None
        self._frozen = False
        self._closed = False
        self._write_files()
        atexit.register(self.close)

    # -- set-up -----------------------------------------------------------------------------

    @property
    def pid_file(self) -> Path:
        """The pid file the node writes (holds the beam process id)."""
        return self.base_dir / 'node.pid'

    @property
    def log_dir(self) -> Path:
        """Directory of the node's own log files."""
        return self.base_dir / 'log'

    @property
    def url(self) -> str:
        """AMQP URL of this node (guest/guest, default vhost)."""
        return f'amqp://guest:guest@{self.host}:{self.port}/%2F'

    def _write_files(self) -> None:
        """Create the private directories, config, env and plugins files."""
        for sub in ('home', 'mnesia', 'log', 'plugins-expand'):
            (self.base_dir / sub).mkdir(parents=True, exist_ok=True)
        config = _config_text(self.port, self.tls, self.tls_port)
        (self.base_dir / 'rabbitmq.conf').write_text(config, encoding='utf-8')
        # EXTERNAL comes from a plugin; without TLS there is nothing to enable.
        plugins = '[rabbitmq_auth_mechanism_ssl].\n' if self.tls is not None else '[].\n'
        (self.base_dir / 'enabled_plugins').write_text(plugins, encoding='utf-8')
        (self.base_dir / 'rabbitmq-env.conf').write_text('# private node: empty\n', 'utf-8')
        # For reap_stale_nodes(): who owns the node, and its name.
        (self.base_dir / 'owner').write_text(str(os.getpid()), encoding='ascii')
        (self.base_dir / 'node').write_text(self.node_name, encoding='utf-8')

    def environment(self) -> dict[str, str]:
        """The environment for this node's server and CLI processes."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(('RABBITMQ_', 'ERL_'))}
        base = self.base_dir
        env.update(
            {
                'HOME': str(base / 'home'),
                'ERL_EPMD_ADDRESS': HOST,
                'RABBITMQ_NODENAME': self.node_name,
                'RABBITMQ_NODE_IP_ADDRESS': HOST,
                'RABBITMQ_NODE_PORT': str(self.port),
                'RABBITMQ_DIST_PORT': str(self.dist_port),
                'RABBITMQ_CONFIG_FILE': str(base / 'rabbitmq.conf'),
                'RABBITMQ_ADVANCED_CONFIG_FILE': str(base / 'advanced.config'),
                'RABBITMQ_CONF_ENV_FILE': str(base / 'rabbitmq-env.conf'),
                'RABBITMQ_MNESIA_BASE': str(base / 'mnesia'),
                'RABBITMQ_LOG_BASE': str(self.log_dir),
                'RABBITMQ_PID_FILE': str(self.pid_file),
                'RABBITMQ_ENABLED_PLUGINS_FILE': str(base / 'enabled_plugins'),
                'RABBITMQ_PLUGINS_EXPAND_DIR': str(base / 'plugins-expand'),
                'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS': _ERL_LOOPBACK_DIST,
            }
        )
        return env

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> PrivateBroker:
        """Start the node (if it is not running) and wait until it answers AMQP.

        Reuses the same ports and data directory, so it also restarts a killed node.
        Raises :class:`PrivateBrokerError` with the log tail when the node does not come up.
        """
        if self._closed:
            raise PrivateBrokerError('this PrivateBroker was closed')
        if self.is_running():
            return self
        if not rabbitmq_available():
            raise PrivateBrokerError(f'rabbitmq-server is not installed in {RABBITMQ_BIN}')
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        LOGGER.info('starting private RabbitMQ node %s on port %d', self.node_name, self.port)
        out = open(self.base_dir / 'server.out', 'ab')  # closed right after Popen
        try:
            self._process = subprocess.Popen(
                [str(RABBITMQ_BIN / 'rabbitmq-server')],
                env=self.environment(),
                cwd=str(self.base_dir),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()
        self._frozen = False
        self._wait_until_up()
        return self

    def _wait_until_up(self) -> None:
        """Poll until the node answers AMQP, failing after ``start_timeout`` seconds."""
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            process = self._process
            if process is not None and process.poll() is not None:
                self._kill_group()
                raise PrivateBrokerError(
                    f'node {self.node_name} exited with {process.returncode}\n{self.log_tail()}'
                )
            if amqp_answers(self.host, self.port, timeout=1.0):
                return
            time.sleep(0.25)
        self._kill_group()
        raise PrivateBrokerError(
            f'node {self.node_name} did not answer AMQP on port {self.port} within '
            f'{self.start_timeout:.0f}s\n{self.log_tail()}'
        )

    def beam_pid(self) -> int | None:
        """The pid of this node's Erlang VM, from its pid file (None when not known/alive)."""
        try:
            pid = int(self.pid_file.read_text(encoding='ascii').strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def is_running(self) -> bool:
        """True when the node process is alive (it may be frozen)."""
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL this node's VM (a crash: no clean shutdown); return once it is gone."""
        pid = self.beam_pid()
        if pid is not None:
            LOGGER.info('SIGKILL private node %s (pid %d)', self.node_name, pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._kill_group()
        self._frozen = False
        if pid is not None:
            _wait_gone(pid)

    def _kill_group(self) -> None:
        """SIGKILL the process group of the launcher we spawned, then reap the launcher."""
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        self._process = None

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the node cleanly (``rabbitmqctl stop``); SIGKILL it when that fails."""
        if not self.is_running():
            self._process = None
            return
        self.thaw()
        try:
            self.rabbitmqctl('stop', timeout=timeout)
            assert self._process is not None
            self._process.wait(timeout=timeout)
        except (PrivateBrokerError, subprocess.TimeoutExpired):
            LOGGER.warning('clean stop of %s failed; killing it', self.node_name)
        self._kill_group()

    def restart(self) -> None:
        """Stop the node cleanly and start it again (same port, same data)."""
        self.stop()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP the node's VM: its sockets stay open but nothing is read or written."""
        pid = self._require_pid()
        os.kill(pid, signal.SIGSTOP)
        self._frozen = True

    def thaw(self) -> None:
        """SIGCONT the node's VM after :meth:`freeze` (no-op when not frozen)."""
        if not self._frozen:
            return
        pid = self.beam_pid()
        if pid is not None:
            os.kill(pid, signal.SIGCONT)
        self._frozen = False

    @property
    def frozen(self) -> bool:
        """True between :meth:`freeze` and :meth:`thaw`."""
        return self._frozen

    def _require_pid(self) -> int:
        pid = self.beam_pid()
        if pid is None:
            raise PrivateBrokerError(f'node {self.node_name} is not running')
        return pid

    def close(self) -> None:
        """Make sure the node is gone and delete its files. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self.kill()
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)

    def __enter__(self) -> PrivateBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- control ------------------------------------------------------------------------------

    def rabbitmqctl(self, *args: str, timeout: float = 60.0) -> str:
        """Run ``rabbitmqctl -n <this node> *args`` and return its stdout.

        Raises :class:`PrivateBrokerError` (with the output) on a non-zero exit or timeout.
        """
        cmd = [str(RABBITMQ_BIN / 'rabbitmqctl'), '-n', self.node_name, *args]
        try:
            done = subprocess.run(
                cmd,
                env=self.environment(),
                cwd=str(self.base_dir),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PrivateBrokerError(f'{" ".join(cmd)} timed out after {timeout}s') from exc
        out = done.stdout.decode('utf-8', 'replace')
        if done.returncode != 0:
            err = done.stderr.decode('utf-8', 'replace')
            raise PrivateBrokerError(f'{" ".join(cmd)} exited {done.returncode}: {out}{err}')
        return out

    def eval(self, expression: str) -> str:
        """Evaluate an Erlang expression on the node (``rabbitmqctl eval``); return its output."""
        return self.rabbitmqctl('eval', expression).strip()

    def set_memory_alarm(self) -> None:
        """Raise the memory resource alarm: publishing connections get Connection.Blocked."""
        self.eval(f'rabbit_alarm:set_alarm({{{_MEMORY_ALARM}, []}}).')

    def clear_memory_alarm(self) -> None:
        """Clear the alarm raised by :meth:`set_memory_alarm` (Connection.Unblocked follows)."""
        self.eval(f'rabbit_alarm:clear_alarm({_MEMORY_ALARM}).')

    def alarms(self) -> str:
        """The node's current alarm list, as Erlang prints it."""
        return self.eval('rabbit_alarm:get_alarms().')

    def ensure_running(self) -> None:
        """Bring the node back to a clean running state: thawed, no alarm, answering AMQP."""
        self.thaw()
        if not self.is_running():
            self.start()
            return
        if 'memory' in self.alarms():
            self.clear_memory_alarm()
        if not amqp_answers(self.host, self.port):
            self.kill()
            self.start()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the launcher output and node log, for error messages."""
        parts = []
        files = [self.base_dir / 'server.out', *sorted(self.log_dir.glob('*.log'))]
        for path in files:
            with contextlib.suppress(OSError):
                text = path.read_text(encoding='utf-8', errors='replace').splitlines()
                parts.append(f'--- {path.name} ---\n' + '\n'.join(text[-lines:]))
        return '\n'.join(parts)
