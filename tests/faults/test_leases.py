"""A controller's lease on its sweep, with real controllers killed, frozen and raced through the CLI.

Issue 12, point 3: a resume of a sweep whose controller is alive started a second controller (40
trials became 66 runs). Each test asserts what the database holds afterwards, exactly.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sweeptrack.core.liveness import Liveness
from sweeptrack.core.model import RunStatus, SweepState
from sweeptrack.reports.formats import format_time
from sweeptrack.tracking.sql.store import SqlStore

from ._lease_helpers import (
    BACKENDS,
    FAST,
    assert_exact_budget,
    backend_url,
    cli,
    environ,
    finished_runs,
    sigkill,
    spec_text,
    start,
    the_sweep,
    wait_for,
    workdir_for,
)

pytestmark = pytest.mark.slow

FAST_LIVENESS = Liveness.from_environ(FAST)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest) -> str:
    return backend_url(request)


@pytest.fixture
def store(db: str) -> Iterator[SqlStore]:
    opened = SqlStore(db)
    yield opened
    opened.close()


def _now() -> int:
    return int(time.time() * 1000)


def _holding(store: SqlStore, name: str, pid: int) -> bool:
    sweep = the_sweep(store, name)
    return sweep is not None and sweep.lease is not None and sweep.lease.pid == pid


def _orphaned(store: SqlStore, name: str) -> bool:
    sweep = the_sweep(store, name)
    return sweep is not None and FAST_LIVENESS.sweep_orphaned(sweep, _now())


def test_resume_refuses_a_sweep_whose_controller_is_alive(db: str, store: SqlStore, tmp_path: Path) -> None:
    work = workdir_for(tmp_path)
    (work / "s.yaml").write_text(spec_text("busy", 10))
    env = environ(work, FAST)
    proc = start("sweep", "run", "s.yaml", db=db, cwd=work, env=env)
    try:
        wait_for(lambda: _holding(store, "busy", proc.pid), 120, "the controller's lease")
        first = the_sweep(store, "busy")
        assert first is not None and first.lease is not None
        # Alive longer than the stale time: its heartbeat thread keeps the lease fresh.
        since = first.lease.since
        wait_for(
            lambda: (
                (s := the_sweep(store, "busy")) is not None
                and s.lease is not None
                and s.lease.heartbeat_at > since + 2 * FAST_LIVENESS.lease_stale_s * 1000
            ),
            60,
            "heartbeats past the stale time",
        )
        assert not _orphaned(store, "busy")
        # The controller writes its trials, so its heartbeat keeps theirs fresh too.
        wait_for(
            lambda: any(
                r.status is RunStatus.RUNNING and r.heartbeat_at is not None and r.heartbeat_at > r.start_time
                for r in store.search_runs(sweep=first.id)
            ),
            60,
            "a running trial's heartbeat",
        )
        code, out, _ = cli("sweep", "list", "--format", "json", db=db, cwd=work, env=env)
        (row,) = json.loads(out)
        assert code == 0 and row["state"] == "running" and row["heartbeat"] is not None

        code, _, err = cli("sweep", "resume", "busy", db=db, cwd=work, env=env)

        held = the_sweep(store, "busy")
        assert held is not None and held.lease is not None
        iso = format_time(held.lease.since)
        assert code == 2 and err.startswith(
            f"error: sweep busy is running under pid {proc.pid} on host {socket.gethostname()} since {iso} "
            "(last heartbeat "
        ), err
        assert err.rstrip().endswith("s ago); stop it first with `sweeptrack sweep stop busy`")
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        # The refused resume wrote nothing: same lease, same state, the trials still the first's.
        assert (held.lease.pid, held.lease.since, held.state) == (proc.pid, since, SweepState.RUNNING)

        # Do as the message says: stop it (a live controller acts on it), then resume.
        code, out, _ = cli("sweep", "stop", "busy", db=db, cwd=work, env=env)
        assert code == 0 and "stop requested" in out
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            sigkill(proc)
    stopped = store.get_sweep(first.id)
    assert stopped.state is SweepState.STOPPED and stopped.lease is None  # released at its end
    code, _, err = cli("sweep", "resume", "busy", db=db, cwd=work, env=env)
    assert code == 0, err
    done = store.get_sweep(first.id)
    assert done.state is SweepState.FINISHED and done.lease is None
    assert_exact_budget(store, first.id, 10)
    assert len(store.search_runs(sweep=first.id)) == 10  # one controller at a time: no run twice


def test_a_killed_controller_leaves_an_orphaned_sweep_that_resumes_at_once(
    db: str, store: SqlStore, tmp_path: Path
) -> None:
    work = workdir_for(tmp_path)
    (work / "s.yaml").write_text(spec_text("killed", 5, delay=0.4))
    env = environ(work, FAST)
    proc = start("sweep", "run", "s.yaml", db=db, cwd=work, env=env)
    wait_for(
        lambda: (s := the_sweep(store, "killed")) is not None and len(finished_runs(store, s.id)) >= 2,
        120,
        "two finished trials",
    )
    sigkill(proc)
    sweep = the_sweep(store, "killed")
    assert sweep is not None and sweep.lease is not None and sweep.lease.pid == proc.pid
    last_beat = sweep.lease.heartbeat_at  # nobody beats any more
    wait_for(lambda: _orphaned(store, "killed"), 30, "the lease to go stale")

    code, out, _ = cli("sweep", "list", "--format", "json", db=db, cwd=work, env=env)
    (row,) = json.loads(out)
    assert code == 0 and (row["state"], row["heartbeat"]) == ("orphaned", format_time(last_beat))
    code, out, _ = cli("sweep", "show", "killed", "--format", "json", db=db, cwd=work, env=env)
    shown = json.loads(out)
    assert (shown["state"], shown["last heartbeat"], shown["controller"]) == (
        "orphaned",
        format_time(last_beat),
        f"pid {proc.pid} on host {socket.gethostname()}",
    )
    assert store.get_sweep(sweep.id).state is SweepState.RUNNING  # orphaned is shown, not stored
    # The trial that was running died with its controller: the heartbeat it got from it stopped.
    cut_off = [r for r in store.search_runs(sweep=sweep.id) if r.status is RunStatus.RUNNING]
    code, out, _ = cli("runs", "list", "--sweep", "killed", "--format", "json", db=db, cwd=work, env=env)
    shown_status = {row["id"]: row["status"] for row in json.loads(out)}
    assert cut_off and {shown_status[r.id[:8]] for r in cut_off} == {"crashed"}

    code, out, err = cli("sweep", "resume", "killed", db=db, cwd=work, env=env)  # no wait
    assert code == 0, err
    done = store.get_sweep(sweep.id)
    assert done.state is SweepState.FINISHED and done.lease is None
    assert_exact_budget(store, sweep.id, 5)
    interrupted = {r.id for r in store.search_runs(sweep=sweep.id) if r.status is RunStatus.KILLED}
    assert interrupted == {r.id for r in cut_off}


def test_stop_marks_an_orphaned_sweep_stopped(db: str, store: SqlStore, tmp_path: Path) -> None:
    work = workdir_for(tmp_path)
    (work / "s.yaml").write_text(spec_text("gone", 4))
    env = environ(work, FAST)
    proc = start("sweep", "run", "s.yaml", db=db, cwd=work, env=env)
    wait_for(
        lambda: (s := the_sweep(store, "gone")) is not None and len(finished_runs(store, s.id)) >= 1,
        120,
        "a finished trial",
    )
    sigkill(proc)
    wait_for(lambda: _orphaned(store, "gone"), 30, "the lease to go stale")
    sweep = the_sweep(store, "gone")
    assert sweep is not None and sweep.lease is not None

    code, out, err = cli("sweep", "stop", "gone", db=db, cwd=work, env=env)

    assert code == 0, err
    assert out == (
        f"sweep gone ({sweep.id[:8]}) was orphaned (its controller's last heartbeat: "
        f"{format_time(sweep.lease.heartbeat_at)}): marked stopped; `sweeptrack sweep resume gone` "
        "continues it\n"
    )
    assert store.get_sweep(sweep.id).state is SweepState.STOPPED  # not STOPPING, that nobody acts on
    code, out, _ = cli("sweep", "list", "--format", "json", db=db, cwd=work, env=env)
    assert [row["state"] for row in json.loads(out)] == ["stopped"]
    code, out, _ = cli("sweep", "stop", "gone", db=db, cwd=work, env=env)
    assert out == f"sweep gone ({sweep.id[:8]}) is already stopped\n"

    code, _, err = cli("sweep", "resume", "gone", db=db, cwd=work, env=env)
    assert code == 0, err
    assert store.get_sweep(sweep.id).state is SweepState.FINISHED
    assert_exact_budget(store, sweep.id, 4)


def test_two_resumes_at_once_run_one_controller(db: str, store: SqlStore, tmp_path: Path) -> None:
    work = workdir_for(tmp_path)
    (work / "s.yaml").write_text(spec_text("raced", 6, delay=0.5))
    env = environ(work, FAST)
    code, _, err = cli("sweep", "run", "s.yaml", "--trials", "1", db=db, cwd=work, env=env)
    assert code == 0, err
    sweep = the_sweep(store, "raced")
    assert sweep is not None and sweep.state is SweepState.STOPPED and sweep.lease is None

    procs = [start("sweep", "resume", "raced", db=db, cwd=work, env=env) for _ in range(2)]
    results = [(proc, *proc.communicate(timeout=240)) for proc in procs]

    (winner,) = [(p, out, err) for p, out, err in results if p.returncode == 0]
    (loser,) = [(p, out, err) for p, out, err in results if p.returncode != 0]
    assert loser[0].returncode == 2 and loser[2].startswith(
        f"error: sweep raced is running under pid {winner[0].pid} on host {socket.gethostname()} since "
    ), loser[2]
    done = store.get_sweep(sweep.id)
    assert done.state is SweepState.FINISHED and done.lease is None
    assert_exact_budget(store, sweep.id, 6)
    assert len(store.search_runs(sweep=sweep.id)) == 6  # no trial ran twice


def test_a_frozen_controller_that_lost_its_lease_stops_and_leaves_the_sweep_alone(
    db: str, store: SqlStore, tmp_path: Path
) -> None:
    work = workdir_for(tmp_path)
    (work / "s.yaml").write_text(spec_text("frozen", 5, delay=0.4))
    env = environ(work, FAST)
    first = start("sweep", "run", "s.yaml", db=db, cwd=work, env=env)
    second = None
    try:
        wait_for(
            lambda: (s := the_sweep(store, "frozen")) is not None and len(finished_runs(store, s.id)) >= 1,
            120,
            "a finished trial",
        )
        first.send_signal(signal.SIGSTOP)  # frozen (a stalled VM, a debugger): it stops beating
        wait_for(lambda: _orphaned(store, "frozen"), 30, "the lease to go stale")
        second = start("sweep", "resume", "frozen", db=db, cwd=work, env=env)
        wait_for(lambda: _holding(store, "frozen", second.pid), 120, "the second controller's lease")
        first.send_signal(signal.SIGCONT)

        _, first_err = first.communicate(timeout=180)
        _, second_err = second.communicate(timeout=180)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                sigkill(proc)
    assert second.returncode == 0, second_err
    assert (
        f"sweeptrack: sweep frozen was taken over: sweep frozen is running under pid {second.pid} "
        in first_err
        or "sweeptrack: sweep frozen lost its lease" in first_err  # the second had already finished
    ), first_err
    sweep = the_sweep(store, "frozen")
    assert sweep is not None and sweep.state is SweepState.FINISHED and sweep.lease is None
    assert_exact_budget(store, sweep.id, 5)  # the first wrote no trial the second had re-queued
