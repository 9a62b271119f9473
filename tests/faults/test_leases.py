"""A controller's lease on its sweep, with real controllers killed, frozen and raced through the CLI.

Issue 12, point 3: a resume of a sweep whose controller is alive started a second controller (40
trials became 66 runs). Each test asserts what the database holds afterwards, exactly.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from pathlib import Path

import pytest

from sweeptrack.core.liveness import Liveness
from sweeptrack.core.model import Lease, RunStatus, SweepState
from sweeptrack.reports.formats import format_time
from sweeptrack.tracking.sql.store import SqlStore

from ._lease_helpers import (
    FAST,
    assert_exact_budget,
    cli,
    environ,
    finished_runs,
    now_ms,
    sigkill,
    spec_text,
    start,
    the_sweep,
    wait_for,
    workdir_for,
)

pytestmark = pytest.mark.slow

FAST_LIVENESS = Liveness.from_environ(FAST)


def _holding(store: SqlStore, name: str, pid: int) -> bool:
    sweep = the_sweep(store, name)
    return sweep is not None and sweep.lease is not None and sweep.lease.pid == pid


def _orphaned(store: SqlStore, name: str) -> bool:
    sweep = the_sweep(store, name)
    return sweep is not None and FAST_LIVENESS.sweep_orphaned(sweep, now_ms())


def test_resume_refuses_a_sweep_whose_controller_is_alive(db: str, store: SqlStore, tmp_path: Path) -> None:
    work = workdir_for(tmp_path)
    (work / "s.yaml").write_text(spec_text("busy", 6, delay=1.0))
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
    assert_exact_budget(store, first.id, 6)
    assert len(store.search_runs(sweep=first.id)) == 6  # one controller at a time: no run twice


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
    wait_for(lambda: _orphaned(store, "killed"), 30, "the sweep to look orphaned")

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
    wait_for(
        lambda: all(FAST_LIVENESS.run_crashed(store.get_run(r.id), now_ms()) for r in cut_off),
        30,
        "the cut-off trials' heartbeat to go stale",
    )
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
    """With the default timing: a controller killed on this host is gone at once (its pid is)."""
    work = workdir_for(tmp_path)
    (work / "s.yaml").write_text(spec_text("gone", 4))
    env = environ(work)
    proc = start("sweep", "run", "s.yaml", db=db, cwd=work, env=env)
    wait_for(
        lambda: (s := the_sweep(store, "gone")) is not None and len(finished_runs(store, s.id)) >= 1,
        120,
        "a finished trial",
    )
    sigkill(proc)
    sweep = the_sweep(store, "gone")
    assert sweep is not None and sweep.lease is not None
    assert now_ms() - sweep.lease.heartbeat_at < Liveness().lease_stale_s * 1000  # not stale yet
    assert Liveness().sweep_orphaned(sweep, now_ms())

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

    procs = [start("sweep", "resume", "raced", "--trials", "6", db=db, cwd=work, env=env) for _ in range(2)]
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


def test_a_controller_whose_lease_was_taken_stops_and_leaves_the_sweep_alone(
    db: str, store: SqlStore, tmp_path: Path
) -> None:
    """Another machine's controller took the sweep (this one looked dead to it): this one starts
    no new trial, writes nothing more, and leaves the sweep's state to the new holder."""
    work = workdir_for(tmp_path)
    (work / "s.yaml").write_text(spec_text("taken", 5, delay=0.4))
    env = environ(work, FAST)
    first = start("sweep", "run", "s.yaml", db=db, cwd=work, env=env)
    try:
        wait_for(
            lambda: (s := the_sweep(store, "taken")) is not None and len(finished_runs(store, s.id)) >= 1,
            120,
            "a finished trial",
        )
        sweep = the_sweep(store, "taken")
        assert sweep is not None
        now = now_ms()
        other = Lease(host="other-machine", pid=4242, since=now, heartbeat_at=now)
        assert store.acquire_sweep_lease(sweep.id, other, stale_before=now + 1) is None  # taken
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            sigkill(first)
    assert first.returncode == 0, err
    assert (
        "sweeptrack: sweep taken was taken over: sweep taken is running under pid 4242 on host "
        "other-machine since "
    ) in err
    assert "; starting no new trial" in err
    held = store.get_sweep(sweep.id)
    assert held.state is SweepState.RUNNING and held.lease == other  # not written over, not released

    wait_for(lambda: _orphaned(store, "taken"), 30, "the other machine's lease to go stale")
    code, _, err = cli("sweep", "resume", "taken", db=db, cwd=work, env=env)
    assert code == 0, err
    done = store.get_sweep(sweep.id)
    assert done.state is SweepState.FINISHED and done.lease is None
    assert_exact_budget(store, sweep.id, 5)  # the first wrote no trial after it lost the sweep


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"SWEEPTRACK_LEASE_STALE_S": "soon"}, "SWEEPTRACK_LEASE_STALE_S='soon': not a number of seconds"),
        (
            {"SWEEPTRACK_HEARTBEAT_S": "5", "SWEEPTRACK_LEASE_STALE_S": "6"},
            "lease heartbeat every 5 s, gone after 6 s: the silence must be at least two heartbeats, "
            "or live processes would look gone",
        ),
        ({"SWEEPTRACK_RUN_HEARTBEAT_S": "-1"}, "run heartbeat of -1 s: must be a positive number"),
    ],
)
def test_bad_timing_variables_are_one_line_errors(
    variables: dict[str, str], message: str, sqlite_url: str, tmp_path: Path
) -> None:
    created = SqlStore(sqlite_url)
    assert created.list_sweeps() == []  # the file exists: only the variables can be wrong
    created.close()
    code, out, err = cli("sweep", "list", db=sqlite_url, cwd=tmp_path, env=environ(tmp_path, variables))
    assert (code, out, err) == (2, "", f"error: {message}\n")


def test_controllers_on_eight_machines_racing_for_one_sweep_one_wins(store: SqlStore, db: str) -> None:
    """Each racer has a connection of its own, as controllers on different machines would."""
    sweep_id = uuid.uuid4().hex
    store.create_sweep(sweep_id=sweep_id, experiment="e", name="contested", spec="method: random\n")
    racers = [SqlStore(db) for _ in range(8)]
    for racer in racers:
        racer.list_sweeps()  # connected and schema-checked before the race
    barrier = threading.Barrier(len(racers))
    now = now_ms()
    results: dict[int, Lease | None] = {}

    def race(i: int) -> None:
        mine = Lease(host=f"machine-{i}", pid=1000 + i, since=now, heartbeat_at=now)
        barrier.wait()
        results[i] = racers[i].acquire_sweep_lease(sweep_id, mine, stale_before=now - 20_000)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for racer in racers:
        racer.close()

    (winner,) = [i for i, holder in results.items() if holder is None]
    held = store.get_sweep(sweep_id).lease
    assert held == Lease(host=f"machine-{winner}", pid=1000 + winner, since=now, heartbeat_at=now)
    assert len(results) == 8 and all(holder == held for i, holder in results.items() if i != winner)
    assert not store.heartbeat_sweep(sweep_id, "machine-x", 1, now + 1)  # a loser cannot beat
    assert store.heartbeat_sweep(sweep_id, held.host, held.pid, now + 1)
    store.release_sweep_lease(sweep_id, "machine-x", 1)  # not the holder: nothing happens
    beaten = Lease(host=held.host, pid=held.pid, since=now, heartbeat_at=now + 1)
    assert store.get_sweep(sweep_id).lease == beaten
    store.release_sweep_lease(sweep_id, held.host, held.pid)
    assert store.get_sweep(sweep_id).lease is None
