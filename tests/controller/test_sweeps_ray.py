"""The sweep controller against a running Ray cluster: reached through Ray Client (``ray://``) it
runs the sweep with every metric in the store; killed with SIGKILL and resumed, it goes on exactly
as it does with the local executor (no finished trial lost or repeated, the budget held)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeptrack.core.model import Run, RunStatus
from sweeptrack.tracking.sql.store import SqlStore

from .conftest import SpecWriter, assert_resumed_exactly, kill_when_finished, sweeptrack_cli

pytestmark = pytest.mark.ray

SLOW_ON_RAY = """
name: raypoke
method: random
seed: 5
run_cap: 8
parallel: 2
metric: {{name: loss}}
entrypoint: trialfns:slow
executor: {{type: ray, address: "{address}"}}
parameters:
  x: {{min: 0.0, max: 6.0}}
  epochs: {{value: 4}}
  delay: {{value: 0.15}}
"""


def test_sigkilled_controller_resumes_against_the_running_cluster(
    ray_cluster: object, write_spec: SpecWriter, workdir: Path, db: str
) -> None:
    address = str(ray_cluster.address)  # type: ignore[attr-defined]
    spec = write_spec("slow.yaml", SLOW_ON_RAY.format(address=address))
    proc = sweeptrack_cli("sweep", "run", str(spec), cwd=workdir)
    store = SqlStore(db, create=True)
    before = kill_when_finished(proc, workdir, store, 3, timeout=120)
    assert any(r.status is RunStatus.RUNNING for r in store.search_runs())  # killed mid-trial

    resumed = sweeptrack_cli("sweep", "resume", "raypoke", cwd=workdir)
    _, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    assert_resumed_exactly(store, before, "raypoke", budget=8)


def test_a_sweep_through_ray_client_stores_every_epoch(
    ray_cluster: object, write_spec: SpecWriter, workdir: Path, db: str
) -> None:
    client = ray_cluster.start_client_server()  # type: ignore[attr-defined]
    spec = write_spec("client.yaml", SLOW_ON_RAY.format(address=client))
    proc = sweeptrack_cli("sweep", "run", str(spec), cwd=workdir)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    store = SqlStore(db)
    runs = store.search_runs(experiment="default")
    assert sorted(r.trial_number for r in runs) == list(range(8))
    assert {r.status for r in runs} == {RunStatus.FINISHED}
    for run in runs:
        steps = [point.step for point in store.get_metric_history(run.id, "loss")]
        assert steps == [0, 1, 2, 3], run.name
        assert run.metrics["loss"].last == pytest.approx((run.params["x"] - 3) ** 2 + 1 / 4)


SHORT_ON_RAY = """
name: {name}
method: random
seed: 3
run_cap: {cap}
parallel: 2
metric: {{name: loss}}
entrypoint: trialfns:slow
executor: {{type: ray, address: "{address}"}}
parameters:
  x: {{min: 0.0, max: 6.0}}
  epochs: {{value: {epochs}}}
  delay: {{value: {delay}}}
"""


def most_at_once(runs: list[Run]) -> int:
    """The most runs whose [start, end) spans overlap at one instant."""
    edges = sorted([(r.start_time, 1) for r in runs] + [(r.end_time or r.start_time, -1) for r in runs])
    most = now = 0
    for _, step in edges:  # at equal times ends (-1) come before starts
        now += step
        most = max(most, now)
    return most


def test_short_trials_are_staged_and_each_run_shows_when_it_really_ran(
    ray_cluster: object, write_spec: SpecWriter, workdir: Path, db: str
) -> None:
    text = SHORT_ON_RAY.format(name="quick", cap=60, epochs=3, delay=0, address=ray_cluster.address)  # type: ignore[attr-defined]
    proc = sweeptrack_cli("sweep", "run", str(write_spec("quick.yaml", text)), cwd=workdir)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    runs = SqlStore(db).search_runs()
    assert sorted(r.trial_number for r in runs) == list(range(60))
    assert all(r.status is RunStatus.FINISHED and r.metrics["loss"].count == 3 for r in runs)
    # Trials wait in their slots' queues on the nodes (staged), but a run starts when its trial
    # does: never more than `parallel` runs at once.
    assert most_at_once(runs) <= 2


def test_a_sigkilled_controller_of_staged_trials_resumes_every_number_once(
    ray_cluster: object, write_spec: SpecWriter, workdir: Path, db: str
) -> None:
    # Trials of 0-30 ms: staged, ending out of order on the two slots (so numbers handed out
    # before the highest one started may have no run yet), and still running when it is killed.
    text = SHORT_ON_RAY.format(name="many", cap=800, epochs=1, delay=0, address=ray_cluster.address)  # type: ignore[attr-defined]
    text = text.replace("trialfns:slow", "trialfns:uneven")
    spec = write_spec("many.yaml", text)
    proc = sweeptrack_cli("sweep", "run", str(spec), cwd=workdir)
    store = SqlStore(db, create=True)
    before = kill_when_finished(proc, workdir, store, 100, timeout=120)
    assert len(before) < 800  # killed mid-sweep

    resumed = sweeptrack_cli("sweep", "resume", "many", cwd=workdir)
    _, err = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, err
    runs = store.search_runs()
    finals = [r for r in runs if r.status is RunStatus.FINISHED]
    assert sorted(r.trial_number for r in finals) == list(range(800))  # numbers staged and lost ran again
    assert all(before[r.id].metrics == r.metrics for r in finals if r.id in before)
    assert all(r.status is RunStatus.KILLED for r in runs if r.status is not RunStatus.FINISHED)


def test_sigterm_stops_a_ray_sweep_and_resume_reruns_its_trials(
    ray_cluster: object, write_spec: SpecWriter, workdir: Path, db: str
) -> None:
    """ray.init installs a SIGTERM handler that exits; the controller takes SIGTERM over while it
    runs, so the sweep still stops cleanly (exit 143, trials interrupted, state recorded)."""
    import signal

    from sweeptrack.core.model import SweepState

    from .conftest import wait_for

    address = str(ray_cluster.address)  # type: ignore[attr-defined]
    text = SLOW_ON_RAY.format(address=address).replace("raypoke", "rayterm").replace("value: 4", "value: 8")
    spec = write_spec("term.yaml", text)
    proc = sweeptrack_cli("sweep", "run", str(spec), cwd=workdir)
    store = SqlStore(db, create=True)

    def one_finished_and_running() -> bool:
        if not (workdir / "sweeptrack.db").exists():
            return False
        runs = store.search_runs(experiment="default")
        done = any(r.status is RunStatus.FINISHED for r in runs)
        return done and any(r.status is RunStatus.RUNNING for r in runs)

    wait_for(one_finished_and_running, timeout=120, what="a finished trial and a running one")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert out.splitlines()[-1] == "sweeptrack sweep resume rayterm"
    assert store.get_sweep("rayterm").state is SweepState.STOPPED
    runs = store.search_runs()
    assert not [r for r in runs if r.status is RunStatus.RUNNING]
    killed = [r for r in runs if r.status is RunStatus.KILLED]
    assert killed and all((r.error or "").startswith("interrupted: SIGTERM") for r in killed)

    resumed = sweeptrack_cli("sweep", "resume", "rayterm", cwd=workdir)
    _, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    finals = [r for r in store.search_runs() if r.status is RunStatus.FINISHED]
    assert sorted(r.trial_number for r in finals) == list(range(8))
    for run in killed:
        (again,) = [r for r in finals if r.trial_number == run.trial_number]
        assert again.params == run.params and again.tags["sweeptrack.previous_run"] == run.id
