"""Sweep fixtures: a folder with trial functions and spec files, and a SQLite database in it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sweeptrack.core.model import Run, RunStatus, SweepState
from sweeptrack.tracking.sql.store import SqlStore

TRIALS = '''
import os, signal, sys, time
import sweeptrack as st


def quadratic(params):
    """Objective (x - 3)^2 logged over a few epochs; smaller is better."""
    x = params["x"]
    for epoch in range(params.get("epochs", 3)):
        st.log_metrics({"loss": (x - 3) ** 2 + 1.0 / (epoch + 1)}, step=epoch)
        if st.should_prune():
            raise st.TrialPruned()
    return (x - 3) ** 2


def slow(params):
    """Like quadratic but each epoch takes `delay` seconds, so pruning and kills can happen."""
    x = params["x"]
    for epoch in range(params.get("epochs", 10)):
        st.log_metrics({"loss": (x - 3) ** 2 + 1.0 / (epoch + 1)}, step=epoch)
        if st.should_prune():
            raise st.TrialPruned()
        time.sleep(params.get("delay", 0.2))
    return (x - 3) ** 2


def uneven(params):
    """Takes about x * 5 ms: on two slots, trials end out of the order they started in."""
    time.sleep(params["x"] * 0.005)
    st.log_metrics({"loss": (params["x"] - 3) ** 2}, step=0)
    return (params["x"] - 3) ** 2


def flaky(params):
    """Fails for x >= 5 in one of several ways; fine otherwise."""
    x = params["x"]
    st.log_metrics({"loss": float(x)}, step=0)
    if x >= 5:
        mode = params.get("mode", "raise")
        if mode == "raise":
            raise ValueError(f"diverged at x={x}")
        if mode == "exit":
            sys.exit(3)
        if mode == "os_exit":
            os._exit(1)
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "memory":
            raise MemoryError("out of memory")
    return float(x)


def nested(params):
    st.log_metrics({"loss": params["opt"]["lr"] * params["opt"]["momentum"]}, step=0)
    return params["opt"]["lr"]
'''


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "trialfns.py").write_text(TRIALS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


SpecWriter = Callable[[str, str], Path]


@pytest.fixture
def write_spec(workdir: Path) -> SpecWriter:
    def write(name: str, text: str) -> Path:
        path = workdir / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def db(workdir: Path) -> str:
    return f"sqlite:///{workdir}/sweeptrack.db"


def sweeptrack_cli(*args: str, cwd: Path, **kwargs: object) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("sweeptrack")
    env = {k: v for k, v in os.environ.items() if k != "SWEEPTRACK_DB"}
    return subprocess.Popen(
        [str(exe), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,  # type: ignore[arg-type]
    )


def wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def kill_when_finished(
    proc: subprocess.Popen[str], workdir: Path, store: SqlStore, count: int, timeout: float = 60
) -> dict[str, Run]:
    """SIGKILL the controller ``proc`` once ``count`` of its trials finished; the finished runs as
    they were at the kill."""

    def finished() -> int:
        if not (workdir / "sweeptrack.db").exists():
            return 0
        return sum(1 for r in store.search_runs(experiment="default") if r.status is RunStatus.FINISHED)

    wait_for(lambda: finished() >= count, timeout=timeout, what=f"{count} finished trials")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return {r.id: r for r in store.search_runs() if r.status is RunStatus.FINISHED}


def assert_resumed_exactly(store: SqlStore, before: dict[str, Run], sweep: str, budget: int) -> None:
    """After a SIGKILLed controller was resumed: every trial number finished once (the budget held),
    nothing reported before the kill was lost, and the interrupted runs were re-queued with their
    params under their numbers."""
    runs = store.search_runs()
    finals = [r for r in runs if r.status is RunStatus.FINISHED]
    assert sorted(r.trial_number for r in finals) == list(range(budget))  # budget exact, none twice
    assert all(before[k].metrics == {r.id: r for r in runs}[k].metrics for k in before)  # nothing lost
    interrupted = [r for r in runs if r.status is RunStatus.KILLED]
    assert interrupted and all("interrupted" in (r.error or "") for r in interrupted)
    for run in interrupted:  # re-queued with the same params under the same number
        (again,) = [r for r in finals if r.trial_number == run.trial_number]
        assert again.params == run.params
    assert store.get_sweep(sweep).state is SweepState.FINISHED
