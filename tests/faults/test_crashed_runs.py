"""Dead runs look dead: a SIGKILLed script's run shows ``crashed``, and ``runs end`` ends it by hand.

Issue 12, point 4, through the run API in real scripts and the CLI, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sweeptrack.core.liveness import RUN_CRASHED_S, Liveness
from sweeptrack.core.model import RunStatus
from sweeptrack.reports.formats import format_time
from sweeptrack.tracking.sql.store import SqlStore

from ._lease_helpers import FAST, SCRIPT, cli, environ, now_ms, wait_for

FAST_LIVENESS = Liveness.from_environ(FAST)


def _script(db: str, tmp_path: Path, name: str) -> subprocess.Popen[str]:
    """A training script that logs once, then only lives (its heartbeat every 0.2 s)."""
    (tmp_path / "train.py").write_text(SCRIPT)
    env = environ(tmp_path, FAST)
    env["SWEEPTRACK_DB"] = db
    proc = subprocess.Popen(
        [sys.executable, "train.py", name],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "logged\n"
    return proc


def _statuses(db: str, tmp_path: Path) -> dict[str, str]:
    code, out, err = cli("runs", "list", "--format", "json", db=db, cwd=tmp_path, env=environ(tmp_path, FAST))
    assert code == 0, err
    return {row["name"]: row["status"] for row in json.loads(out)}


@pytest.mark.slow
def test_a_killed_script_run_shows_crashed_and_ends_by_hand(db: str, store: SqlStore, tmp_path: Path) -> None:
    proc = _script(db, tmp_path, "doomed")
    try:
        run_id = store.resolve_run("doomed")
        started = store.get_run(run_id).start_time
        # Alive past the crash time while logging nothing: its heartbeat says so.
        crash_ms = FAST_LIVENESS.run_crashed_s * 1000
        wait_for(
            lambda: (store.get_run(run_id).heartbeat_at or 0) > started + 2 * crash_ms,
            60,
            "heartbeats past the crash time",
        )
        assert _statuses(db, tmp_path) == {"doomed": "running"}
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    last_beat = store.get_run(run_id).heartbeat_at
    wait_for(
        lambda: FAST_LIVENESS.run_crashed(store.get_run(run_id), now_ms()), 30, "the heartbeat to go stale"
    )

    assert _statuses(db, tmp_path) == {"doomed": "crashed"}
    code, out, _ = cli(
        "runs", "show", "doomed", "--format", "json", db=db, cwd=tmp_path, env=environ(tmp_path, FAST)
    )
    shown = json.loads(out)
    assert code == 0 and (shown["status"], shown["heartbeat"], shown["ended"]) == (
        "crashed",
        format_time(last_beat),
        None,
    )
    assert store.get_run(run_id).status is RunStatus.RUNNING  # crashed is shown, not stored

    before = now_ms()
    code, out, err = cli("runs", "end", "doomed", db=db, cwd=tmp_path, env=environ(tmp_path, FAST))
    after = now_ms()

    assert (code, out, err) == (0, f"run doomed ({run_id[:8]}) ended killed by hand\n", "")
    ended = store.get_run(run_id)
    assert (ended.status, ended.error) == (RunStatus.KILLED, "ended by hand")
    assert ended.end_time is not None and before <= ended.end_time <= after
    assert ended.metrics["loss"].count == 1  # what it logged is kept
    assert _statuses(db, tmp_path) == {"doomed": "killed"}

    code, out, err = cli("runs", "end", run_id[:10], db=db, cwd=tmp_path, env=environ(tmp_path, FAST))
    assert (code, out) == (2, "")
    assert err == (
        f"error: run doomed ({run_id[:8]}) already ended killed at {format_time(ended.end_time)}; "
        "nothing to end\n"
    )
    assert store.get_run(run_id) == ended  # the refused end changed nothing


@pytest.mark.slow
def test_runs_end_failed_on_a_live_looking_run(db: str, store: SqlStore, tmp_path: Path) -> None:
    """`--status failed`, on a run whose process is gone but that does not look crashed yet."""
    proc = _script(db, tmp_path, "stuck")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    run_id = store.resolve_run("stuck")

    code, out, err = cli("runs", "end", run_id, "--status", "failed", db=db, cwd=tmp_path)

    assert (code, out, err) == (0, f"run stuck ({run_id[:8]}) ended failed by hand\n", "")
    ended = store.get_run(run_id)
    assert (ended.status, ended.error) == (RunStatus.FAILED, "ended by hand")


def test_default_timing_a_running_run_silent_for_five_minutes_is_crashed(
    db: str, store: SqlStore, tmp_path: Path
) -> None:
    """Without overrides: 5 minutes of silence, counted from the last heartbeat, else from the
    start (a run from before heartbeats, or one killed before its first beat)."""
    now = now_ms()
    old, recent, beating, done = (uuid.uuid4().hex for _ in range(4))
    minutes = int(RUN_CRASHED_S * 1000) + 60_000
    store.create_run(run_id=old, experiment="e", name="old", start_time=now - minutes)
    store.create_run(run_id=recent, experiment="e", name="recent", start_time=now - 60_000)
    store.create_run(run_id=beating, experiment="e", name="beating", start_time=now - 2 * minutes)
    store.heartbeat_runs([beating], now - 60_000)
    store.create_run(run_id=done, experiment="e", name="done", start_time=now - minutes)
    store.end_run(done, RunStatus.FINISHED, now - minutes + 1000, None)

    code, out, err = cli("runs", "list", "--format", "json", db=db, cwd=tmp_path)

    assert code == 0, err
    shown = {row["name"]: row["status"] for row in json.loads(out)}
    assert shown == {"old": "crashed", "recent": "running", "beating": "running", "done": "finished"}
    assert store.get_run(beating).heartbeat_at == now - 60_000


def test_runs_end_refuses_an_unknown_run(db: str, store: SqlStore, tmp_path: Path) -> None:
    store.create_run(run_id=uuid.uuid4().hex, experiment="e", name="there", start_time=now_ms())
    code, out, err = cli("runs", "end", "nowhere", db=db, cwd=tmp_path)
    assert (code, out, err) == (2, "", "error: no run with id, id prefix or name 'nowhere'\n")
    assert [r.status for r in store.search_runs()] == [RunStatus.RUNNING]
