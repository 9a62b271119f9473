"""The run API as training code uses it: statuses, flushing, signals, bad values, artifacts."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import sweeptrack as st
from sweeptrack.core.model import RunStatus
from sweeptrack.tracking.sql.store import SqlStore


def only_run(url: str) -> st.Run | object:
    runs = SqlStore(url).search_runs()
    assert len(runs) == 1
    return runs[0]


def test_block_ends_finished_with_every_point(sqlite_url: str) -> None:
    with st.start_run(experiment="digits", name="base", db=sqlite_url, capture_environment=False) as run:
        st.log_params({"lr": 1e-3, "batch_size": 32})
        for epoch in range(1000):
            st.log_metrics({"loss": 1 / (epoch + 1), "val_f1": epoch / 1000}, step=epoch)
        st.set_tag("team", "vision")
        assert st.active_run() is run
    assert st.active_run() is None
    stored = SqlStore(sqlite_url).get_run(run.id)
    assert stored.status is RunStatus.FINISHED and stored.end_time is not None
    assert stored.metrics["loss"].count == 1000 and stored.metrics["val_f1"].last == 0.999
    assert stored.params == {"lr": 1e-3, "batch_size": 32} and stored.tags == {"team": "vision"}


def test_exception_ends_failed_with_type_and_message(sqlite_url: str) -> None:
    with (
        pytest.raises(ValueError, match="boom"),
        st.start_run(experiment="e", db=sqlite_url, capture_environment=False) as run,
    ):
        st.log_metric("loss", 0.5)
        raise ValueError("boom")
    stored = SqlStore(sqlite_url).get_run(run.id)
    assert (stored.status, stored.error) == (RunStatus.FAILED, "ValueError: boom")
    assert stored.metrics["loss"].count == 1


def test_pruned_trial_ends_pruned(sqlite_url: str) -> None:
    with (
        pytest.raises(st.TrialPruned),
        st.start_run(experiment="e", db=sqlite_url, capture_environment=False) as run,
    ):
        raise st.TrialPruned()
    assert SqlStore(sqlite_url).get_run(run.id).status is RunStatus.PRUNED


def test_nan_and_infinity_are_stored_as_such(sqlite_url: str) -> None:
    with st.start_run(experiment="e", db=sqlite_url, capture_environment=False) as run:
        for step, value in enumerate([0.5, math.nan, math.inf, -math.inf]):
            st.log_metric("loss", value, step=step)
    history = SqlStore(sqlite_url).get_metric_history(run.id, "loss")
    values = [p.value for p in history]
    assert values[0] == 0.5 and math.isnan(values[1]) and values[2:] == [math.inf, -math.inf]


def test_non_numeric_metric_is_refused_at_the_call(sqlite_url: str) -> None:
    with st.start_run(experiment="e", db=sqlite_url, capture_environment=False) as run:
        with pytest.raises(st.InvalidValueError, match=r"metric 'loss': value 'abc' .* is not a number"):
            st.log_metric("loss", "abc")
        with pytest.raises(st.InvalidValueError, match="step"):
            st.log_metric("loss", 1.0, step="x")  # type: ignore[arg-type]
        st.log_metric("loss", 2)
    assert SqlStore(sqlite_url).get_run(run.id).metrics["loss"].count == 1


def test_steps_default_to_the_next_step_per_key(sqlite_url: str) -> None:
    with st.start_run(experiment="e", db=sqlite_url, capture_environment=False) as run:
        for _ in range(3):
            st.log_metric("loss", 1.0)
        st.log_metric("acc", 1.0, step=10)
        st.log_metric("acc", 1.0)
    store = SqlStore(sqlite_url)
    assert [p.step for p in store.get_metric_history(run.id, "loss")] == [0, 1, 2]
    assert [p.step for p in store.get_metric_history(run.id, "acc")] == [10, 11]


def test_points_reach_the_database_within_a_second(sqlite_url: str) -> None:
    reader = SqlStore(sqlite_url)
    with st.start_run(experiment="e", db=sqlite_url, capture_environment=False) as run:
        st.log_metric("loss", 0.25, step=0)
        logged = time.monotonic()
        deadline = logged + 5
        while time.monotonic() < deadline:
            if reader.get_run(run.id).metrics.get("loss"):
                break
            time.sleep(0.02)
        seen_after = time.monotonic() - logged
    assert seen_after < 1.2, f"point visible only after {seen_after:.2f} s"


def test_runs_open_at_once_each_reach_the_database_within_a_second(sqlite_url: str) -> None:
    """One background flusher serves every open run: the points of each of several runs open at
    once (one of them ended early) show up within a second while they stay open."""
    reader = SqlStore(sqlite_url)
    done = threading.Event()
    logged: dict[str, float] = {}  # run id -> when its point was logged

    def train(name: str, end_early: bool) -> None:
        with st.start_run(experiment="e", name=name, db=sqlite_url, capture_environment=False) as run:
            st.log_metric("loss", 0.5, step=0)
            logged[run.id] = time.monotonic()
            if not end_early:
                done.wait(10)

    threads = [threading.Thread(target=train, args=(f"r{i}", i == 0)) for i in range(3)]
    for thread in threads:
        thread.start()
    seen: dict[str, float] = {}  # run id -> seconds from its point's logging to the database
    try:
        deadline = time.monotonic() + 10
        while len(seen) < 3 and time.monotonic() < deadline:
            for run_id, at in list(logged.items()):
                if run_id not in seen and reader.get_run(run_id).metrics.get("loss"):
                    seen[run_id] = time.monotonic() - at
            time.sleep(0.02)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert len(seen) == 3 and max(seen.values()) < 1.2, f"points visible after {seen}"
    assert sorted(r.status.value for r in reader.search_runs()) == ["finished"] * 3


def test_artifacts_files_and_directories(sqlite_url: str, tmp_path: Path) -> None:
    model = tmp_path / "model.pkl"
    model.write_bytes(b"weights")
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    with st.start_run(experiment="e", db=sqlite_url, capture_environment=False) as run:
        st.log_artifact(model)
        st.log_artifact(folder)
        with pytest.raises(st.ArtifactError, match="escapes the artifact root"):
            st.log_artifact(model, name="../outside.pkl")
    stored = SqlStore(sqlite_url).list_artifacts(run.id)
    assert [a.path for a in stored] == ["model.pkl", "plots/a.txt", "plots/sub/b.txt"]
    import hashlib

    assert stored[0].sha256 == hashlib.sha256(b"weights").hexdigest() and stored[0].size == 7
    blob = tmp_path / "artifacts" / "sha256" / stored[0].sha256[:2] / stored[0].sha256
    assert blob.read_bytes() == b"weights"


def test_artifact_root_from_the_argument(sqlite_url: str, tmp_path: Path) -> None:
    model = tmp_path / "m.bin"
    model.write_bytes(b"x")
    with st.start_run(db=sqlite_url, artifacts=tmp_path / "elsewhere", capture_environment=False):
        (artifact,) = st.log_artifact(model)
    assert (tmp_path / "elsewhere" / "sha256" / artifact.sha256[:2] / artifact.sha256).exists()


def test_dataset_digest_follows_content(sqlite_url: str, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("1,2\n")
    second.write_text("1,2\n")
    with st.start_run(db=sqlite_url, capture_environment=False) as run:
        a = st.log_dataset("digits", first, context="train")
        b = st.log_dataset("digits-copy", second, context="train")
    assert a.digest == b.digest
    assert {d.name for d in SqlStore(sqlite_url).list_datasets(run.id)} == {"digits", "digits-copy"}


def test_environment_is_captured_at_start(sqlite_url: str) -> None:
    with st.start_run(db=sqlite_url) as run:
        pass
    env = SqlStore(sqlite_url).get_environment(run.id)
    assert env is not None
    assert env["python"]["version"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    assert "sqlalchemy" in env["packages"] and env["hostname"]


SCRIPT = """
import sys, time
import sweeptrack as st
st.start_run(experiment="sig", name="victim", db=sys.argv[1], capture_environment=False)
for step in range(500):
    st.log_metric("loss", 1.0 / (step + 1), step=step)
st.active_run().flush()
print("ready", flush=True)
{tail}
"""


def run_script(tmp_path: Path, url: str, tail: str) -> subprocess.Popen[str]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT.format(tail=tail)))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, str(script), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_ends_the_run_killed_and_keeps_its_points(
    tmp_path: Path, sqlite_url: str, signum: signal.Signals
) -> None:
    tail = "for step in range(500, 10**9):\n    st.log_metric('loss', 0.1, step=step)\n    time.sleep(0.001)"
    proc = run_script(tmp_path, sqlite_url, tail)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode != 0
    run = SqlStore(sqlite_url).search_runs()[0]
    assert run.status is RunStatus.KILLED, stderr
    assert run.metrics["loss"].count >= 500
    # Every point logged before the signal is there: steps are contiguous from 0.
    assert run.metrics["loss"].last_step == run.metrics["loss"].count - 1


def test_interpreter_exit_flushes_an_open_run(tmp_path: Path, sqlite_url: str) -> None:
    proc = run_script(tmp_path, sqlite_url, "st.log_metric('loss', 0.0, step=500)")
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    run = SqlStore(sqlite_url).search_runs()[0]
    assert (run.status, run.metrics["loss"].count) == (RunStatus.FINISHED, 501)


def test_uncaught_exception_without_a_block_ends_failed(tmp_path: Path, sqlite_url: str) -> None:
    proc = run_script(tmp_path, sqlite_url, "raise RuntimeError('diverged')")
    proc.communicate(timeout=30)
    assert proc.returncode == 1
    run = SqlStore(sqlite_url).search_runs()[0]
    assert (run.status, run.error) == (RunStatus.FAILED, "RuntimeError: diverged")


WRITER = """
import sys
import sweeptrack as st
name, url = f"p{sys.argv[2]}", sys.argv[1]
with st.start_run(experiment="many", name=name, db=url, capture_environment=False) as run:
    for step in range(int(sys.argv[3])):
        st.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 10}, step=step)
        if step % 500 == 0:
            run.flush()
"""


def test_eight_processes_share_one_sqlite_file(tmp_path: Path, sqlite_url: str) -> None:
    SqlStore(sqlite_url).list_experiments()  # create the schema first, as `db upgrade` would
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    points = 5000
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), sqlite_url, str(i), str(points)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "locked" not in stderr, stderr
    runs = SqlStore(sqlite_url).search_runs(experiment="many")
    assert len(runs) == 8
    for run in runs:
        assert run.status is RunStatus.FINISHED
        assert (run.metrics["loss"].count, run.metrics["acc"].count) == (points, points)


def test_uncommitted_changes_are_kept_as_an_artifact(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    (repo / "train.py").write_text("lr = 0.1\n")
    for args in (["init", "-q"], ["add", "train.py"], ["commit", "-qm", "first"]):
        subprocess.run([*git, *args], cwd=repo, check=True)
    (repo / "train.py").write_text("lr = 0.2\n")
    monkeypatch.chdir(repo)
    with st.start_run(db=sqlite_url) as run:
        pass
    store = SqlStore(sqlite_url)
    env = store.get_environment(run.id)
    assert env is not None and env["git"]["dirty"] is True and len(env["git"]["commit"]) == 40
    (diff,) = [a for a in store.list_artifacts(run.id) if a.path == "environment/git.diff"]
    blob = tmp_path / "artifacts" / "sha256" / diff.sha256[:2] / diff.sha256
    assert "+lr = 0.2" in blob.read_text()
