"""A real local Ray cluster for the tests: a head (with its dashboard) and extra nodes, each a
`ray start --block` process in a process group of its own, stopped by killing that group only
(never `ray stop`, which would kill every Ray process on the machine)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["RAY_ENV", "RayCluster", "RayNode", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ray() -> str:
    return str(Path(sys.executable).with_name("ray"))


@dataclass
class RayNode:
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Kill the node's whole process group (raylet, workers), as a machine going away would."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@dataclass
class RayCluster:
    """``address`` is the GCS address (host:port) for ``ray.init``; ``dashboard`` the job API URL."""

    address: str
    dashboard: str
    temp_dir: Path
    head: RayNode
    nodes: list[RayNode] = field(default_factory=list)
    servers: list[RayNode] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # the head's own variables

    @classmethod
    def start(
        cls, *, num_cpus: int = 2, timeout: float = 90, env: dict[str, str] | None = None
    ) -> RayCluster:
        """``env``: more variables for the head (e.g. token authentication)."""
        temp_dir = Path(tempfile.mkdtemp(prefix="st-ray-"))
        # The head's own Ray Client server on a free port too (its default, 10001, may be taken).
        port, dash, client = free_port(), free_port(), free_port()
        log = temp_dir / "head.log"
        args = [
            _ray(), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
            f"--num-cpus={num_cpus}", "--num-gpus=0", "--include-dashboard=true",
            "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}", "--disable-usage-stats",
            f"--ray-client-server-port={client}", f"--temp-dir={temp_dir}",
        ]  # fmt: skip
        head = RayNode(_spawn(args, log, env), log)
        cluster = cls(
            address=f"127.0.0.1:{port}",
            dashboard=f"http://127.0.0.1:{dash}",
            temp_dir=temp_dir,
            head=head,
            env=dict(env or {}),
        )
        cluster.wait_for_nodes(1, timeout)
        return cluster

    def add_node(
        self, *, num_cpus: int = 1, num_gpus: int = 0, resources: dict[str, float] | None = None
    ) -> RayNode:
        log = self.temp_dir / f"node{len(self.nodes)}.log"
        args = [
            _ray(), "start", "--block", f"--address={self.address}", "--node-ip-address=127.0.0.1",
            f"--num-cpus={num_cpus}", f"--num-gpus={num_gpus}", "--disable-usage-stats",
        ]  # fmt: skip
        if resources:
            args.append(f"--resources={json.dumps(resources)}")
        node = RayNode(_spawn([*args, *_agent_ports()], log), log)
        self.nodes.append(node)
        self.wait_for_nodes(1 + sum(1 for n in self.nodes if n.proc.poll() is None), 90)
        return node

    def start_client_server(self, timeout: float = 60) -> str:
        """A Ray Client server of the tests' own; its ``ray://`` address.

        It runs in Ray's legacy mode, serving its clients itself: the server ``ray start`` runs
        (proxy mode) forks a server per client, which dies now and then on a gRPC race
        (ray-project/ray#63202), and a test must not fail with it.
        """
        port = free_port()
        log = self.temp_dir / f"client{len(self.servers)}.log"
        args = [
            sys.executable, "-m", "ray.util.client.server", "--mode=legacy", "--host=127.0.0.1",
            f"--port={port}", f"--address={self.address}",
        ]  # fmt: skip
        server = RayNode(_spawn(args, log), log)
        self.servers.append(server)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(f"ray client server exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return f"ray://127.0.0.1:{port}"
            time.sleep(0.2)
        raise RuntimeError(f"ray client server did not listen on {port} in {timeout} s")

    def alive_nodes(self) -> int:
        done = subprocess.run(
            [_ray(), "list", "nodes", "--address", self.dashboard, "--format", "json",
             "--filter", "state=ALIVE"],
            capture_output=True, text=True, timeout=30, check=False,
            env={**os.environ, **RAY_ENV, **self.env},
        )  # fmt: skip
        try:
            return len(json.loads(done.stdout))
        except ValueError:
            return 0

    def wait_for_nodes(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.head.proc.poll() is not None:
                raise RuntimeError(f"ray head exited: {self.head.log.read_text()[-2000:]}")
            if self.alive_nodes() >= count:
                return
            time.sleep(0.5)
        raise RuntimeError(f"ray cluster did not reach {count} nodes in {timeout} s")

    def stop(self) -> None:
        for node in [*self.servers, *self.nodes, self.head]:
            node.stop()


def _agent_ports() -> list[str]:
    """Ports of a node's agents, free ones: Ray's defaults collide with any other Ray on the machine."""
    return [
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
    ]


# No token auth (a token file left in ~/.ray by any earlier local Ray would switch it on), and the
# venv's scripts (sweeptrack) on the PATH of every process the nodes start, jobs included.
RAY_ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
}


def _spawn(args: list[str], log: Path, more: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, **RAY_ENV, "PATH": path, **(more or {})}
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
