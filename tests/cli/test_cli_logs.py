"""`sweeptrack runs logs`: a trial's captured output, a running trial's followed as it grows;
`sweep show` lists failed trials with the command that prints their output; `runs show` leaves
out empty sections. Through the real console script, against a real sweep."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import sweeptrack as st
from sweeptrack.core.model import RunStatus
from sweeptrack.tracking.sql.store import SqlStore

TRIALS = """
import pathlib, time
import sweeptrack as st


def chatty(params):
    for epoch in range(3):
        print(f"epoch {epoch} x={params['x']}", flush=True)
        st.log_metrics({"loss": params["x"] + epoch}, step=epoch)
    if params["x"] == 2:
        raise ValueError("diverged: loss is nan at epoch 3")
    return float(params["x"])


def gated(params):
    # Prints a line, then waits for the test's go-N file: the test sees each line before the next exists.
    deadline = time.monotonic() + 60
    for epoch in range(3):
        print(f"epoch {epoch}")  # no flush: each line reaches the log as it is printed
        gate = pathlib.Path(params["gates"]) / f"go-{epoch}"
        while not gate.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {gate}")
            time.sleep(0.02)
    st.log_metrics({"loss": 1.0}, step=0)
    return 1.0
"""

CHATTY = """
name: chatty
method: grid
metric: {name: loss, goal: minimize}
entrypoint: trials:chatty
parameters:
  x: {values: [1, 2]}
"""

GATED = """
name: gated
method: grid
metric: {name: loss, goal: minimize}
entrypoint: trials:gated
parameters:
  gates: {value: GATES}
"""

EXE = str(Path(sys.executable).with_name("sweeptrack"))


def _env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("SWEEPTRACK_DB", "SWEEPTRACK_ARTIFACTS", "PYTHONUNBUFFERED")
    }


def sweeptrack(
    folder: Path, *args: str, expect: int = 0, columns: int | None = None
) -> subprocess.CompletedProcess[str]:
    env = _env() if columns is None else {**_env(), "COLUMNS": str(columns)}
    done = subprocess.run([EXE, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == expect, done.stdout + done.stderr
    return done


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def chatty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the chatty sweep ran: trial 0 finished, trial 1 failed; and a plain run."""
    folder = tmp_path_factory.mktemp("logs")
    (folder / "trials.py").write_text(TRIALS)
    (folder / "chatty.yaml").write_text(CHATTY)
    sweeptrack(folder, "sweep", "run", "chatty.yaml")
    db = f"sqlite:///{folder}/sweeptrack.db"
    with st.start_run(experiment="plain", name="plain-script", db=db, capture_environment=False):
        st.log_metric("loss", 0.5, step=0)
    return folder


def test_logs_print_a_finished_trials_output(chatty: Path) -> None:
    done = sweeptrack(chatty, "runs", "logs", "chatty-0")
    assert done.stdout == "epoch 0 x=1\nepoch 1 x=1\nepoch 2 x=1\n"
    assert sweeptrack(chatty, "runs", "logs", "chatty-0", "--tail", "1").stdout == "epoch 2 x=1\n"


def test_logs_of_a_failed_trial_end_with_its_traceback(chatty: Path) -> None:
    out = sweeptrack(chatty, "runs", "logs", "chatty-1", "-n", "1").stdout
    assert out == "ValueError: diverged: loss is nan at epoch 3\n"
    assert "Traceback (most recent call last)" in sweeptrack(chatty, "runs", "logs", "chatty-1").stdout


def test_a_plain_script_has_no_captured_output(chatty: Path) -> None:
    done = sweeptrack(chatty, "runs", "logs", "plain-script", expect=2)
    assert done.stdout == ""
    assert done.stderr.startswith("error: run plain-script (")
    assert done.stderr.endswith(") has no captured output; only sweep trials' output is captured\n")


def test_sweep_show_lists_failed_trials_with_reason_and_logs_command(chatty: Path) -> None:
    shown = json.loads(sweeptrack(chatty, "sweep", "show", "chatty", "--format", "json").stdout)
    (failed,) = shown["failed trials"]
    assert failed["trial"] == 1 and failed["run"] == "chatty-1"
    assert failed["reason"] == "ValueError: diverged: loss is nan at epoch 3"
    assert failed["logs"] == f"sweeptrack runs logs {failed['run_id'][:8]}"
    command = failed["logs"].split()[1:]  # what the user copies works: it prints the traceback
    assert "ValueError: diverged" in sweeptrack(chatty, *command).stdout

    table = sweeptrack(chatty, "sweep", "show", "chatty", columns=120).stdout
    assert "Failed trials" in table and "ValueError: diverged: loss is nan at epoch 3" in table
    assert failed["logs"] in table
    narrow = sweeptrack(chatty, "sweep", "show", "chatty", columns=80).stdout  # folded, not cropped
    assert "…" not in narrow.split("Failed trials")[1] and failed["run_id"][:8] in narrow


def test_runs_show_leaves_out_empty_sections(chatty: Path) -> None:
    plain = sweeptrack(chatty, "runs", "show", "plain-script", "--format", "md").stdout
    assert "Metrics" in plain
    for empty in ("Params", "Tags", "Datasets", "Environment", "Artifacts"):
        assert empty not in plain
    trial = sweeptrack(chatty, "runs", "show", "chatty-0", "--format", "md").stdout
    assert "Params" in trial and "Environment" in trial and "logs/output.log" in trial
    shown = json.loads(sweeptrack(chatty, "runs", "show", "plain-script", "--format", "json").stdout)
    assert shown["datasets"] == [] and shown["artifacts"] == []  # JSON keeps every section


class Lines:
    """A process's stdout read line by line on a thread, so the test can wait with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        self.stdout = proc.stdout
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.stdout:
            self.lines.put(line)

    def close(self) -> None:
        """After the process ended: the rest of its output is read, the pipe closed."""
        self.reader.join(timeout=30)
        self.stdout.close()

    def next(self, timeout: float = 30) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout} s") from None


@pytest.mark.slow
def test_follow_streams_a_running_trials_output_until_it_ends(tmp_path: Path) -> None:
    (tmp_path / "trials.py").write_text(TRIALS)
    (tmp_path / "gated.yaml").write_text(GATED.replace("GATES", str(tmp_path)))
    sweep = subprocess.Popen(
        [EXE, "sweep", "run", "gated.yaml"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    follower: subprocess.Popen[str] | None = None
    try:
        db = tmp_path / "sweeptrack.db"

        def running() -> bool:
            if not db.exists():
                return False
            with SqlStore(f"sqlite:///{db}") as store:
                return any(r.status is RunStatus.RUNNING for r in store.search_runs())

        wait_for(running, "the trial to run")
        follower = subprocess.Popen(
            [EXE, "runs", "logs", "gated-0", "--follow"],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines = Lines(follower)
        assert lines.next() == "epoch 0\n"
        (tmp_path / "go-0").touch()  # only now does the trial print its next line
        assert lines.next() == "epoch 1\n"
        (tmp_path / "go-1").touch()
        assert lines.next() == "epoch 2\n"
        assert follower.poll() is None  # still following: the trial has not ended
        (tmp_path / "go-2").touch()
        assert follower.wait(timeout=60) == 0
        lines.close()
        assert follower.stderr is not None
        err = follower.stderr.read()
        assert err.endswith(") ended finished\n"), err
        _, sweep_err = sweep.communicate(timeout=60)
        assert sweep.returncode == 0, sweep_err
        # Ended, the same command prints the stored output; the note of the live log is gone.
        assert sweeptrack(tmp_path, "runs", "logs", "gated-0").stdout == "epoch 0\nepoch 1\nepoch 2\n"
        assert not (tmp_path / "artifacts" / "live").exists()
    finally:
        for proc in (follower, sweep):
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                for pipe in (proc.stdout, proc.stderr):
                    if pipe is not None and not pipe.closed:
                        pipe.close()
                proc.wait(timeout=30)


@pytest.mark.ray
@pytest.mark.slow
def test_a_running_ray_trial_says_where_its_output_is(ray_cluster: object, tmp_path: Path) -> None:
    address = str(ray_cluster.address)  # type: ignore[attr-defined]
    (tmp_path / "trials.py").write_text(TRIALS)
    spec = GATED.replace("GATES", str(tmp_path)) + f'executor: {{type: ray, address: "{address}"}}\n'
    (tmp_path / "gated.yaml").write_text(spec)
    sweep = subprocess.Popen(
        [EXE, "sweep", "run", "gated.yaml"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        db = tmp_path / "sweeptrack.db"

        def running() -> list[str]:
            if not db.exists():
                return []
            with SqlStore(f"sqlite:///{db}") as store:
                return [r.id for r in store.search_runs() if r.status is RunStatus.RUNNING]

        wait_for(lambda: bool(running()), "the trial to run", timeout=120)
        (run_id,) = running()
        done = sweeptrack(tmp_path, "runs", "logs", "gated-0", "--follow", expect=2)
        assert done.stderr == (
            f"error: run gated-0 ({run_id[:8]}) is running and its output is not readable here: "
            "it runs on a Ray worker node, and its output is stored when it ends\n"
        )
        for epoch in range(3):
            (tmp_path / f"go-{epoch}").touch()
        _, err = sweep.communicate(timeout=120)
        assert sweep.returncode == 0, err
        assert sweeptrack(tmp_path, "runs", "logs", "gated-0").stdout == "epoch 0\nepoch 1\nepoch 2\n"
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.communicate()
