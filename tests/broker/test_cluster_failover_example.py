"""examples/cluster_failover.py against the private 3-node cluster, losing a node's connections.

The example runs as a user would run it (a subprocess given the three nodes' ports). Once both
of its connections are on node 1 and messages flow, every client connection of node 1 is
closed (``rabbitmqctl close_all_connections``: a node lost to the clients, without the 15-30 s
of restarting a killed node). Once both report recovered on another node and a second more of
messages flowed, SIGINT stops the publishing (the CLI's time varies with the machine's load,
so the run is not sized in messages). None of the confirmed messages may be lost.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers.failover import report

if TYPE_CHECKING:
    from tests.helpers.private_broker import PrivateCluster

pytestmark = pytest.mark.private_cluster

EXAMPLE = Path(__file__).resolve().parents[2] / 'examples' / 'cluster_failover.py'
LIMIT = 120.0


class Lines:
    """The example's stdout lines, read on a thread as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        self._stream = process.stdout
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            self.lines.append(line.rstrip('\n'))

    def wait_for(self, prefix: str, timeout: float = LIMIT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if line.startswith(prefix):
                    return line
            time.sleep(0.05)
        raise AssertionError(f'no line starting with {prefix!r} in {timeout} s: {self.lines}')


def test_the_example_loses_no_message_when_a_node_goes(
    private_cluster: PrivateCluster, unique_name: str
) -> None:
    ports = [str(node.port) for node in private_cluster.nodes]
    command = [sys.executable, str(EXAMPLE), *ports, '--queue', unique_name]
    command += ['--count', '1000000', '--rate', '300', '--timeout', str(LIMIT)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = Lines(process)
        lines.wait_for('running:')
        time.sleep(1.0)  # messages flow (a few hundred by now)
        private_cluster.close_connections(0)
        lines.wait_for('publisher: recovered on')
        lines.wait_for('consumer: recovered on')
        time.sleep(1.0)  # messages flow through the new node
        process.send_signal(signal.SIGINT)
        status = process.wait(LIMIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    output = '\n'.join(lines.lines)
    summary = json.loads(lines.wait_for('summary: ', 5).partition(': ')[2])
    report('examples/cluster_failover.py, node 1 drops its connections', summary)
    assert status == 0, output
    assert summary['lost'] == 0 and summary['confirmed'] > 0, output
    assert summary['recoveries'] == {'publisher': 1, 'consumer': 1}, output
    node_1 = f':{private_cluster.nodes[0].port}'
    recovered = [line for line in lines.lines if 'recovered on' in line]
    assert len(recovered) == 2 and not any(line.endswith(node_1) for line in recovered), output
