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

:class:`PrivateCluster` composes three such nodes, sharing one cookie, into a private cluster on
loopback for failover tests.

Processes are only ever signalled by pid: the beam pid from this node's pid file, and the
process group of the launcher we spawned (``start_new_session=True``). Never by name.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from tests.helpers import amqp_answers
from tests.helpers.owned import Owned

if TYPE_CHECKING:
    from collections.abc import Callable

    import pika
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


def pid_alive(pid: int) -> bool:
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
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _environ_has(pid: int, entry: bytes) -> bool:
    """True when process ``pid`` runs with the environment entry ``entry`` (``NAME=value``)."""
    try:
        with open(f'/proc/{pid}/environ', 'rb') as handle:
            return entry in handle.read().split(b'\0')
    except OSError:
        return False


def processes_of_node(node_name: str) -> list[int]:
    """Pids of live processes started for ``node_name``, found by their environment.

    The node name is unique to one private node, so this never matches the machine's broker.
    It also finds short-lived children that left our process group (``epmd -daemon``).
    """
    entry = f'RABBITMQ_NODENAME={node_name}'.encode()
    pids = []
    for proc in Path('/proc').iterdir():
        if (
            proc.name.isdigit()
            and _environ_has(int(proc.name), entry)
            and pid_alive(int(proc.name))
        ):
            pids.append(int(proc.name))
    return pids


def _wait_node_processes_gone(node_name: str, timeout: float = 15.0) -> None:
    """Wait (bounded) until no process of ``node_name`` is left, then SIGKILL any straggler.

    SIGKILL to the group is asynchronous, and a VM killed before it wrote its pid file is not
    waited for otherwise.
    """
    deadline = time.monotonic() + timeout
    while processes_of_node(node_name) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in processes_of_node(node_name):
        LOGGER.warning('SIGKILL straggler %d of private node %s', pid, node_name)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)


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
        if pid_alive(owner):
            continue
        with contextlib.suppress(OSError, ValueError):
            pid = int((base / 'node.pid').read_text(encoding='ascii').strip())
            if pid_alive(pid) and _environ_has(pid, f'RABBITMQ_NODENAME={node}'.encode()):
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


class PrivateBroker(Owned):
    """Start, hurt and remove a private RabbitMQ node.

    Use as a context manager (``with PrivateBroker() as broker:``) or call :meth:`start` and
    :meth:`close` yourself. :meth:`close` always removes the node and its data directory.

    :param start_timeout: seconds :meth:`start` waits for the node to answer AMQP
    :param base_dir: where to keep the node's files (default: a fresh temporary directory)
    :param tls: certificate files for an extra TLS listener on :attr:`tls_port`
    :param cookie: the Erlang cookie, written to the private ``HOME`` before the first start
        (nodes of one :class:`PrivateCluster` share it); default: Erlang makes one at first start
    :param erl_args: extra emulator flags for the node's VM, e.g. ``'+S 1:1'``
    """

    def __init__(
        self,
        start_timeout: float = 90.0,
        base_dir: str | None = None,
        tls: TlsFiles | None = None,
        cookie: str | None = None,
        erl_args: str = '',
    ) -> None:
        self.start_timeout = start_timeout
        self.cookie = cookie
        self.erl_args = erl_args
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
        self._write_files()
        super().__init__()

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

    def connection_parameters(self, **kwargs: Any) -> pika.ConnectionParameters:
        """``pika.ConnectionParameters`` for this node (guest/guest); ``kwargs`` are passed on.

        pika is imported here, not at module level: the helpers import before pika does.
        """
        import pika

        return pika.ConnectionParameters(host=self.host, port=self.port, **kwargs)

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
        if self.cookie is not None:
            # Erlang refuses a cookie file others can read; write it before any node starts.
            cookie_file = self.base_dir / 'home' / '.erlang.cookie'
            cookie_file.write_text(self.cookie, encoding='ascii')
            cookie_file.chmod(0o400)
        # For reap_stale_nodes(): who owns the node, and its name.
        (self.base_dir / 'owner').write_text(str(os.getpid()), encoding='ascii')
        (self.base_dir / 'node').write_text(self.node_name, encoding='utf-8')

    def environment(self) -> dict[str, str]:
        """The environment for this node's server and CLI processes."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(('RABBITMQ_', 'ERL_'))}
        base = self.base_dir
        erl_args = f'{_ERL_LOOPBACK_DIST} {self.erl_args}'.strip()
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
                'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS': erl_args,
            }
        )
        return env

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> PrivateBroker:
        """Start the node (if it is not running) and wait until it answers AMQP.

        Reuses the same ports and data directory, so it also restarts a killed node.
        Raises :class:`PrivateBrokerError` with the log tail when the node does not come up.
        """
        self.launch()
        self.wait_until_up()
        return self

    def launch(self) -> None:
        """Spawn the node's launcher without waiting (no-op when it runs): :class:`PrivateCluster`
        boots its nodes side by side, then calls :meth:`wait_until_up` on each."""
        if self.closed:
            raise PrivateBrokerError('this PrivateBroker was closed')
        if self.is_running():
            return
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

    def wait_until_up(self) -> None:
        """Poll until the node answers AMQP, failing (and killing the node) after
        ``start_timeout`` seconds or as soon as the launcher exits."""
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
        return pid if pid_alive(pid) else None

    def rss_bytes(self) -> int:
        """Resident memory of this node's Erlang VM in bytes (0 when it is not running)."""
        pid = self.beam_pid()
        if pid is None:
            return 0
        with contextlib.suppress(OSError, ValueError, StopIteration, IndexError):
            with open(f'/proc/{pid}/status', encoding='ascii', errors='replace') as handle:
                line = next(line for line in handle if line.startswith('VmRSS:'))
            return int(line.split()[1]) * 1024
        return 0

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

    def _release(self) -> None:
        """Make sure the node is gone and delete its files (:meth:`close` calls it once)."""
        self.kill()
        _wait_node_processes_gone(self.node_name)
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

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


def close_my_connection(broker: PrivateBroker, connection: pika.BlockingConnection) -> None:
    """``rabbitmqctl close_connection`` of this test's connection (found by its local port)."""
    port = connection._pump.sock.getsockname()[1]  # type: ignore[union-attr]
    listing = broker.rabbitmqctl('list_connections', 'pid', 'peer_port', '--quiet')
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == str(port):
            broker.rabbitmqctl('close_connection', fields[0], 'recovery test')
            return
    raise AssertionError(f'connection on port {port} not found in {listing!r}')


#: Emulator flags of every cluster node: one scheduler thread each. Three VMs with a scheduler per
#: core would fight over the two cores of a small CI machine; with one each the cluster forms as
#: fast and idles cheaper.
CLUSTER_ERL_ARGS = '+S 1:1'

#: A node of a :class:`PrivateCluster`: one of its ``nodes``, or its index.
NodeRef = Union[PrivateBroker, int]


class PrivateCluster(Owned):
    """A private RabbitMQ cluster on loopback, for failover tests. Never the shared broker.

    Each node is a :class:`PrivateBroker` (own node name, AMQP port, distribution port, data, log
    and ``HOME`` directory) in :attr:`nodes`. All share one Erlang cookie, written into every
    private ``HOME`` before any node starts: nodes booting at once would otherwise each create a
    different one. :meth:`start` boots the nodes side by side, standalone, then has nodes 2..n
    join node 1 (``rabbitmqctl stop_app``, ``join_cluster``, ``start_app``) and waits until
    ``cluster_status`` shows every node running. Methods that take a node accept one of
    :attr:`nodes` or its index. Every ``rabbitmqctl`` call is bounded by ``ctl_timeout``.

    :meth:`remove` (also run at exit) kills every node and deletes its files; stale clusters of
    a dead test process are reaped by :func:`reap_stale_nodes` like single nodes.
    """

    def __init__(
        self,
        size: int = 3,
        start_timeout: float = 120.0,
        ctl_timeout: float = 60.0,
        erl_args: str = CLUSTER_ERL_ARGS,
    ) -> None:
        if size < 2:
            raise ValueError(f'a cluster needs at least 2 nodes, not {size}')
        self.start_timeout = start_timeout
        self.ctl_timeout = ctl_timeout
        cookie = secrets.token_hex(16).upper()
        self.nodes = [
            PrivateBroker(start_timeout=start_timeout, cookie=cookie, erl_args=erl_args)
            for _ in range(size)
        ]
        #: Seconds :meth:`start` took from the first launch to all nodes running in the cluster.
        self.formation_seconds: float | None = None
        super().__init__()

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> PrivateCluster:
        """Boot every node, join them into one cluster and wait until all run in it.

        The slow steps run side by side (each ``rabbitmqctl`` call boots a CLI VM for seconds):
        the nodes boot together, nodes 2..n stop their application as soon as they are up, join
        node 1 one after the other (concurrent joins of one mnesia cluster can conflict), then
        start their application together. On any failure the whole cluster is removed and
        :class:`PrivateBrokerError` says which step failed, with the node's log tail.
        """
        if self.closed:
            raise PrivateBrokerError('this PrivateCluster was removed')
        began = time.monotonic()
        seed, joiners = self.nodes[0], self.nodes[1:]
        try:
            for node in self.nodes:
                node.launch()
            self._each(self._boot_standalone, self.nodes)
            for node in joiners:
                self._step(node, 'join_cluster', seed.node_name)
            self._each(lambda node: self._step(node, 'start_app'), joiners)
            self.wait_ready()
        except BaseException:
            self.remove()
            raise
        self.formation_seconds = time.monotonic() - began
        LOGGER.info('private cluster formed in %.1fs: %s', self.formation_seconds, self.names())
        return self

    def _boot_standalone(self, node: PrivateBroker) -> None:
        """Wait until ``node`` is up; a node that will join node 1 then stops its application."""
        node.wait_until_up()
        if node is not self.nodes[0]:
            self._step(node, 'stop_app')

    def _step(self, node: PrivateBroker, *args: str) -> None:
        """One ``rabbitmqctl`` step of forming the cluster; its error names node and step."""
        try:
            self._ctl(node, *args)
        except PrivateBrokerError as exc:
            raise PrivateBrokerError(
                f'forming the private cluster: {args[0]} on {node.node_name} failed: {exc}\n'
                f'{node.log_tail()}'
            ) from exc

    @staticmethod
    def _each(job: Callable[[PrivateBroker], None], nodes: list[PrivateBroker]) -> None:
        """Run ``job`` for every node in parallel threads; re-raise the first failure."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            for future in [pool.submit(job, node) for node in nodes]:
                future.result()

    def wait_ready(self, nodes: list[NodeRef] | None = None, timeout: float | None = None) -> None:
        """Wait until ``nodes`` (default: all) answer AMQP and run in the cluster, as
        ``cluster_status`` on a live node reports it. Raises :class:`PrivateBrokerError` saying
        which nodes are missing after ``timeout`` (default ``start_timeout``) seconds."""
        wanted = self.nodes if nodes is None else [self._node(node) for node in nodes]
        limit = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            try:
                missing = [n.node_name for n in wanted if not amqp_answers(n.host, n.port, 1.0)]
                if missing:
                    problem = f'not answering AMQP: {", ".join(missing)}'
                else:
                    running = self.running_nodes()
                    missing = [n.node_name for n in wanted if n.node_name not in running]
                    if not missing:
                        return
                    problem = f'not running in the cluster: {", ".join(missing)}'
            except PrivateBrokerError as exc:
                problem = str(exc)
            if time.monotonic() >= deadline:
                raise PrivateBrokerError(f'private cluster not ready after {limit:.0f}s; {problem}')
            time.sleep(0.5)

    def ensure_running(self) -> None:
        """Bring every node back to running, thawed and in the cluster (cheap when they are).

        A node whose VM runs but does not answer AMQP (application stopped, wedged) is killed
        and started again.
        """
        repaired = []
        for node in self.nodes:
            node.thaw()
            if node.is_running() and amqp_answers(node.host, node.port, timeout=2.0):
                continue
            node.kill()
            node.launch()
            repaired.append(node)
        for node in repaired:
            node.wait_until_up()
        if repaired:
            self.wait_ready()

    def remove(self) -> None:
        """Kill every node and delete its files. Safe to call more than once."""
        self.close()

    def _release(self) -> None:
        """Close every node (:meth:`close` calls it once)."""
        for node in self.nodes:
            node.close()

    # -- hurting one node ---------------------------------------------------------------------

    def kill(self, node: NodeRef) -> None:
        """``kill -9`` the node's VM (a crash); return once the process is gone."""
        self._node(node).kill()

    def stop(self, node: NodeRef) -> None:
        """Stop the node cleanly (``rabbitmqctl stop``); the others keep the cluster going."""
        self._node(node).stop(timeout=self.ctl_timeout)

    def start_node(self, node: NodeRef) -> None:
        """Start a killed or stopped node (same name, ports and data) and wait until it runs
        in the cluster again."""
        broker = self._node(node)
        broker.start()
        self.wait_ready([broker])

    def sigstop(self, node: NodeRef) -> None:
        """SIGSTOP the node's VM: its sockets stay open, nothing is read or written."""
        self._node(node).freeze()

    def sigcont(self, node: NodeRef) -> None:
        """SIGCONT the node's VM after :meth:`sigstop`."""
        self._node(node).thaw()

    def close_connections(self, node: NodeRef, reason: str = 'closed by a pika test') -> None:
        """Close every client connection on this node only (all vhosts), as an operator would
        with ``rabbitmqctl close_all_connections --global``."""
        self._ctl(self._node(node), 'close_all_connections', '--global', reason)

    # -- queries --------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """The Erlang node names, in :attr:`nodes` order."""
        return [node.node_name for node in self.nodes]

    def running_nodes(self, via: NodeRef | None = None) -> set[str]:
        """Node names ``cluster_status`` reports running, asked of ``via`` (default: the first
        live node)."""
        status = self._ctl_json(self._node(via) if via is not None else None, 'cluster_status')
        return set(status['running_nodes'])

    def queue_leader(self, queue: str, vhost: str = '/') -> PrivateBroker | None:
        """The node holding the leader of quorum queue ``queue`` as the cluster reports it now
        (it may name a node that just died until a new leader is elected); None when the
        leader is not one of :attr:`nodes`. Raises :class:`PrivateBrokerError` when there is no
        such queue."""
        return self.queue_leaders([queue], vhost)[queue]

    def queue_leaders(self, queues: list[str], vhost: str = '/') -> dict[str, PrivateBroker | None]:
        """:meth:`queue_leader` of several queues from one ``rabbitmqctl`` call (each call
        boots a CLI VM for seconds)."""
        rows = self._ctl_json(None, 'list_queues', '-p', vhost, 'name', 'leader')
        leaders = {str(row.get('name')): self._by_name(str(row.get('leader', ''))) for row in rows}
        missing = [queue for queue in queues if queue not in leaders]
        if missing:
            raise PrivateBrokerError(f'no queue {missing[0]!r} in vhost {vhost!r}')
        return {queue: leaders[queue] for queue in queues}

    def wait_queue_leader(
        self, queue: str, timeout: float = 60.0, avoid: NodeRef | None = None
    ) -> PrivateBroker:
        """Wait until ``queue``'s leader is on a running, unfrozen node other than ``avoid``
        (after a kill: a new leader was elected) and return that node."""
        unwanted = self._node(avoid) if avoid is not None else None
        deadline = time.monotonic() + timeout
        leader: PrivateBroker | None = None
        while True:
            with contextlib.suppress(PrivateBrokerError):
                leader = self.queue_leader(queue)
                if leader is not None and leader is not unwanted and _serving(leader):
                    return leader
            if time.monotonic() >= deadline:
                where = leader.node_name if leader is not None else 'unknown'
                raise PrivateBrokerError(
                    f'queue {queue!r}: no leader on a live node after {timeout:.0f}s '
                    f'(last reported: {where})'
                )
            time.sleep(0.5)

    def connection_parameters(self, **kwargs: Any) -> list[pika.ConnectionParameters]:
        """One ``pika.ConnectionParameters`` per node, in order: the list a client gives
        ``BlockingConnection`` to reach any node."""
        return [node.connection_parameters(**kwargs) for node in self.nodes]

    def describe(self) -> str:
        """Formation time and resident memory per node, for reports."""
        formed = (
            'not formed'
            if self.formation_seconds is None
            else (f'formed in {self.formation_seconds:.1f} s')
        )
        rss = ', '.join(f'{n.node_name} {n.rss_bytes() / 2**20:.0f} MiB' for n in self.nodes)
        return f'{len(self.nodes)}-node private cluster {formed}; RSS {rss}'

    # -- queues (through AMQP) ------------------------------------------------------------------

    def declare_quorum_queue(
        self, queue: str, node: NodeRef = 0, arguments: dict[str, Any] | None = None
    ) -> None:
        """Declare a durable quorum queue with a member on every node, through a connection to
        ``node``: RabbitMQ 3.10 places the leader on the declaring client's node."""
        import pika

        args = {'x-queue-type': 'quorum', 'x-quorum-initial-group-size': len(self.nodes)}
        args.update(arguments or {})
        params = self._node(node).connection_parameters(blocked_connection_timeout=None)
        connection = pika.BlockingConnection(params)
        try:
            connection.channel().queue_declare(queue, durable=True, arguments=args)
        finally:
            connection.close()

    # -- plumbing -------------------------------------------------------------------------------

    def _node(self, node: NodeRef) -> PrivateBroker:
        if isinstance(node, int):
            return self.nodes[node]
        if node not in self.nodes:
            raise ValueError(f'{node.node_name} is not a node of this cluster')
        return node

    def _by_name(self, name: str) -> PrivateBroker | None:
        return next((node for node in self.nodes if node.node_name == name), None)

    def _live_node(self) -> PrivateBroker:
        """A node that can answer ``rabbitmqctl`` now: running and not frozen."""
        for node in self.nodes:
            if _serving(node):
                return node
        raise PrivateBrokerError('no node of the private cluster is running')

    def _ctl(self, node: PrivateBroker, *args: str) -> str:
        return node.rabbitmqctl(*args, timeout=self.ctl_timeout)

    def _ctl_json(self, node: PrivateBroker | None, *args: str) -> Any:
        """Run a listing command with ``--formatter json`` on ``node`` (default: a live one)."""
        target = node if node is not None else self._live_node()
        out = self._ctl(target, '--quiet', *args, '--formatter', 'json')
        try:
            return json.loads(out)
        except ValueError as exc:
            raise PrivateBrokerError(f'rabbitmqctl {args[0]}: not JSON: {out[:500]!r}') from exc


def _serving(node: PrivateBroker) -> bool:
    """True when the node's VM runs and is not frozen (it may still be booting)."""
    return node.is_running() and not node.frozen
