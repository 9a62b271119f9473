"""A local Ray head of the benchmark's own, on 127.0.0.1, in a child process it can stop.

The head is started by ``ray.init(num_cpus=N)`` in a child Python (this file run as a script), which
prints the GCS address and then holds the cluster until its stdin closes. ``ray.init`` does not write
``/tmp/ray/ray_current_cluster`` (``ray start`` does), so ``address: auto`` elsewhere on the machine
never finds this cluster, and closing it stops only what this benchmark started.

Run as a script: ``python ray_cluster.py NUM_CPUS`` prints one JSON line and waits for EOF on stdin.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# No usage reports, no dashboard: the benchmark stays on the loopback interface. Ray 2.60 turns on
# token authentication for a cluster that ray.init starts, and a second driver given only the address
# is refused unless it runs with RAY_AUTH_MODE=token; the benchmark's head is loopback-only and
# short-lived, so it runs without tokens (and writes no ~/.ray/auth_token).
RAY_QUIET_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DISABLE_IMPORT_WARNING": "1",
    "RAY_AUTH_MODE": "disabled",
}
READY_TIMEOUT_S = 120.0


@dataclass(slots=True, kw_only=True)
class LocalRay:
    """A running head: its address (``HOST:PORT`` of the GCS) and how long it took to start."""

    address: str
    startup_s: float  # spawn of the child until the cluster accepted drivers
    import_s: float  # of which: ``import ray`` in the child
    init_s: float  # of which: ``ray.init`` in the child
    process: subprocess.Popen[str]

    def close(self, timeout: float = 30.0) -> None:
        """Stop the head: EOF on its stdin (``ray.shutdown``), then SIGTERM and SIGKILL to its group."""
        if self.process.poll() is None and self.process.stdin is not None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGTERM)
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    _signal_group(self.process, signal.SIGKILL)
                    self.process.wait(10)

    def __enter__(self) -> LocalRay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _signal_group(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    # The child leads its own session (start_new_session), so its group holds only what it started.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def ray_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(RAY_QUIET_ENV)
    env.pop("RAY_ADDRESS", None)
    env.update(extra or {})
    return env


def start_local_ray(num_cpus: int, *, python: str | None = None, cwd: Path | None = None) -> LocalRay:
    """Start a head with ``num_cpus`` CPUs and wait until it is ready (at most READY_TIMEOUT_S)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [python or sys.executable, str(Path(__file__).resolve()), str(num_cpus)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=ray_env(),
        cwd=cwd,
        start_new_session=True,
    )
    assert process.stdout is not None
    line = _read_line(process.stdout, process, READY_TIMEOUT_S)
    startup = time.perf_counter() - started
    info = json.loads(line)
    return LocalRay(
        address=info["address"],
        startup_s=startup,
        import_s=info["import_s"],
        init_s=info["init_s"],
        process=process,
    )


def _read_line(stream: IO[str], process: subprocess.Popen[str], timeout: float) -> str:
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            _signal_group(process, signal.SIGKILL)
            raise RuntimeError(f"the local Ray head did not start within {timeout:.0f} s")
    line = stream.readline()
    if not line:
        process.wait(10)
        raise RuntimeError(f"the local Ray head exited with status {process.returncode} before it was ready")
    return line


def _hold(num_cpus: int) -> None:
    started = time.perf_counter()
    import ray

    imported = time.perf_counter()
    context: Any = ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        logging_level="WARNING",
    )
    ready = time.perf_counter()
    # Ray reports the GCS at the host's own IP even when asked for 127.0.0.1; the GCS listens on
    # every interface, so the benchmark reaches it on the loopback address.
    port = context.address_info["gcs_address"].rsplit(":", 1)[1]
    address = f"127.0.0.1:{port}"
    print(
        json.dumps({"address": address, "import_s": imported - started, "init_s": ready - imported}),
        flush=True,
    )
    sys.stdin.read()  # until the benchmark closes our stdin
    ray.shutdown()


if __name__ == "__main__":
    _hold(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
