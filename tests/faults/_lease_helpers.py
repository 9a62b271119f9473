"""Helpers of the lease and crashed-run fault tests: real controllers and scripts, killed for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from sweeptrack.core.model import Run, RunStatus, Sweep
from sweeptrack.tracking.sql.store import SqlStore

BACKENDS = ["sqlite", pytest.param("pg", marks=pytest.mark.postgres)]

# Fast heartbeats, so a killed process looks gone in about a second instead of 20 s or 5 min; the
# same code paths and the same timing logic as the defaults, read by the CLI from the environment.
FAST = {
    "SWEEPTRACK_HEARTBEAT_S": "0.2",
    "SWEEPTRACK_LEASE_STALE_S": "1.5",
    "SWEEPTRACK_RUN_HEARTBEAT_S": "0.2",
    "SWEEPTRACK_RUN_CRASHED_S": "1.5",
}
STALE_S = 1.5

TRIALS = '''
import time
import sweeptrack as st


def slow(params):
    """(x - 3)^2 over a few epochs of `delay` seconds each."""
    x = params["x"]
    for epoch in range(params["epochs"]):
        st.log_metrics({"loss": (x - 3) ** 2 + 1.0 / (epoch + 1)}, step=epoch)
        time.sleep(params["delay"])
    return (x - 3) ** 2
'''

SCRIPT = """
import sys, time
import sweeptrack as st

run = st.start_run(experiment="scripts", name=sys.argv[1], capture_environment=False)
st.log_metrics({"loss": 1.0}, step=0)
run.flush()
print("logged", flush=True)
time.sleep(600)  # logs nothing more: only its heartbeat says it is alive
"""


def spec_text(name: str, budget: int, *, delay: float = 0.3, epochs: int = 3, parallel: int = 1) -> str:
    return textwrap.dedent(
        f"""
        name: {name}
        method: random
        seed: 7
        run_cap: {budget}
        parallel: {parallel}
        metric: {{name: loss, goal: minimize}}
        entrypoint: trialfns:slow
        parameters:
          x: {{min: 0.0, max: 6.0}}
          epochs: {{value: {epochs}}}
          delay: {{value: {delay}}}
        """
    )


def workdir_for(tmp_path: Path) -> Path:
    (tmp_path / "trialfns.py").write_text(TRIALS)
    return tmp_path


def now_ms() -> int:
    """The wall clock in milliseconds, as leases and heartbeats are stamped."""
    return int(time.time() * 1000)


def backend_url(request: pytest.FixtureRequest) -> str:
    """The database URL of the backend ``request.param`` names (a fresh SQLite file or PG schema)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def environ(tmp_path: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SWEEPTRACK_DB" and k not in FAST}
    env["SWEEPTRACK_ARTIFACTS"] = str(tmp_path / "artifacts")
    env.update(extra or {})
    return env


def start(*args: str, db: str, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """The real ``sweeptrack`` console script in a session of its own, pipes captured."""
    exe = Path(sys.executable).with_name("sweeptrack")
    return subprocess.Popen(
        [str(exe), "--db", db, *args],
        cwd=cwd,
        env=dict(env or environ(cwd)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def cli(*args: str, db: str, cwd: Path, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    proc = start(*args, db=db, cwd=cwd, env=env)
    out, err = proc.communicate(timeout=180)
    return proc.returncode, out, err


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def the_sweep(store: SqlStore, name: str) -> Sweep | None:
    found = [s for s in store.list_sweeps() if s.name == name]
    return found[0] if found else None


def finished_runs(store: SqlStore, sweep: str) -> list[Run]:
    return [r for r in store.search_runs(sweep=sweep) if r.status is RunStatus.FINISHED]


def sigkill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the process: no handler, no finally, no lease released."""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def assert_exact_budget(store: SqlStore, sweep: str, budget: int) -> None:
    """Every trial number below the budget finished exactly once, and no run has a higher one."""
    runs = store.search_runs(sweep=sweep)
    assert sorted(r.trial_number for r in runs if r.status is RunStatus.FINISHED) == list(range(budget))
    assert all(r.trial_number is not None and r.trial_number < budget for r in runs)
    assert not [r for r in runs if r.status is RunStatus.RUNNING]
