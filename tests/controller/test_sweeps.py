"""Sweeps end to end on the local executor, against a real SQLite file."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

import sweeptrack as st
from sweeptrack.controller import run_sweep
from sweeptrack.core.events import MetricsLogged, ParamsLogged, RunEnded, RunStarted
from sweeptrack.core.model import RunStatus, SweepState
from sweeptrack.tracking.sql.store import SqlStore

from .conftest import SpecWriter, assert_resumed_exactly, kill_when_finished, sweeptrack_cli, wait_for

RANDOM = """
name: rnd
method: random
seed: 7
run_cap: 6
parallel: 2
metric: {name: loss, goal: minimize}
entrypoint: trialfns:quadratic
parameters:
  x: {min: -10.0, max: 10.0}
  epochs: {value: 3}
"""


def test_random_sweep_runs_exactly_its_budget(write_spec: SpecWriter, db: str) -> None:
    result = run_sweep(write_spec("rnd.yaml", RANDOM), db)
    assert (result.state, result.trials, result.finished) == (SweepState.FINISHED, 6, 6)
    runs = SqlStore(db).search_runs(sweep=result.sweep_id)
    assert sorted(r.trial_number for r in runs) == list(range(6))
    assert all(r.status is RunStatus.FINISHED and r.metrics["loss"].count == 3 for r in runs)
    best = min(runs, key=lambda r: r.metrics["loss"].last)
    assert result.best_run_id == best.id
    assert result.best_value == pytest.approx((best.params["x"] - 3) ** 2)


def test_seed_repeats_the_sampled_configs(write_spec: SpecWriter, db: str) -> None:
    spec = write_spec("rnd.yaml", RANDOM.replace("parallel: 2", "parallel: 1"))
    first = run_sweep(spec, db)
    second = run_sweep(spec, db)
    store = SqlStore(db)

    def xs(sweep_id: str) -> list[float]:
        return [r.params["x"] for r in store.search_runs(sweep=sweep_id, order_by="trial_number")]

    assert xs(first.sweep_id) == xs(second.sweep_id)


def test_grid_never_exceeds_its_size(write_spec: SpecWriter, db: str) -> None:
    spec = write_spec(
        "grid.yaml",
        """
        method: grid
        run_cap: 50
        parallel: 2
        metric: {name: loss}
        entrypoint: trialfns:quadratic
        parameters:
          x: {values: [1, 2, 3]}
          epochs: {values: [1, 2]}
        """,
    )
    result = run_sweep(spec, db)
    runs = SqlStore(db).search_runs(sweep=result.sweep_id)
    assert result.trials == 6 and len(runs) == 6
    assert {(r.params["x"], r.params["epochs"]) for r in runs} == {(x, e) for x in (1, 2, 3) for e in (1, 2)}


def test_nested_parameters_arrive_nested(write_spec: SpecWriter, db: str) -> None:
    spec = write_spec(
        "nested.yaml",
        """
        method: random
        run_cap: 2
        metric: {name: loss}
        entrypoint: trialfns:nested
        parameters:
          opt:
            parameters:
              lr: {values: [0.5]}
              momentum: {value: 0.5}
        """,
    )
    result = run_sweep(spec, db)
    (run, _) = SqlStore(db).search_runs(sweep=result.sweep_id)
    assert run.params == {"opt.lr": 0.5, "opt.momentum": 0.5}
    assert run.metrics["loss"].last == 0.25


@pytest.mark.parametrize("mode", ["raise", "exit", "os_exit", "kill", "memory"])
def test_a_crashing_trial_never_stops_the_sweep(write_spec: SpecWriter, db: str, mode: str) -> None:
    spec = write_spec(
        "flaky.yaml",
        f"""
        method: grid
        metric: {{name: loss}}
        entrypoint: trialfns:flaky
        parameters:
          x: {{values: [1, 7, 2]}}
          mode: {{value: {mode}}}
        """,
    )
    result = run_sweep(spec, db)
    runs = {r.params["x"]: r for r in SqlStore(db).search_runs(sweep=result.sweep_id)}
    assert (result.finished, result.failed) == (2, 1)
    assert runs[7].status is RunStatus.FAILED and runs[7].error
    assert runs[1].status is runs[2].status is RunStatus.FINISHED
    if mode == "raise":
        assert "ValueError: diverged at x=7" in runs[7].error


def test_failed_trials_are_retried_with_the_same_params(write_spec: SpecWriter, db: str) -> None:
    spec = write_spec(
        "retry.yaml",
        """
        method: grid
        retries: 2
        metric: {name: loss}
        entrypoint: trialfns:flaky
        parameters:
          x: {values: [1, 9]}
        """,
    )
    result = run_sweep(spec, db)
    runs = SqlStore(db).search_runs(sweep=result.sweep_id)
    attempts = Counter(r.trial_number for r in runs)
    failing = [r for r in runs if r.params["x"] == 9]
    assert sorted(attempts.values()) == [1, 3] and len({r.trial_number for r in failing}) == 1
    assert result.trials == 2 and result.failed == 1


def test_median_pruner_stops_bad_trials_early(write_spec: SpecWriter, db: str) -> None:
    spec = write_spec(
        "prune.yaml",
        """
        method: grid
        parallel: 1
        metric: {name: loss}
        entrypoint: trialfns:slow
        early_terminate: {type: median, n_startup_trials: 2, n_warmup_steps: 1}
        parameters:
          x: {values: [3, 3.5, 40, 50]}
          epochs: {value: 8}
          delay: {value: 0.05}
        """,
    )
    result = run_sweep(spec, db)
    runs = {r.params["x"]: r for r in SqlStore(db).search_runs(sweep=result.sweep_id)}
    assert runs[40].status is RunStatus.PRUNED and runs[50].status is RunStatus.PRUNED
    assert runs[40].metrics["loss"].count < 8
    assert runs[3].status is RunStatus.FINISHED and result.pruned == 2


def test_target_stops_new_trials(write_spec: SpecWriter, db: str) -> None:
    spec = write_spec(
        "target.yaml",
        """
        method: grid
        metric: {name: loss, goal: minimize, target: 0.5}
        entrypoint: trialfns:quadratic
        parameters:
          x: {values: [10, 3, 20, 30, 40]}
        """,
    )
    result = run_sweep(spec, db)
    assert result.trials == 2 and result.best_value == 0


def test_bad_spec_writes_nothing(write_spec: SpecWriter, workdir: Path) -> None:
    spec = write_spec(
        "bad.yaml",
        "method: random\nmetric: {name: loss}\nentrypoint: nope:fn\nparameters:\n  x: {value: 1}\n",
    )
    proc = sweeptrack_cli("sweep", "run", str(spec), cwd=workdir)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "entrypoint" in stderr and "Traceback" not in stderr
    assert not (workdir / "sweeptrack.db").exists()


SLOW = """
name: slowpoke
method: random
seed: 3
run_cap: 8
parallel: 2
metric: {name: loss}
entrypoint: trialfns:slow
parameters:
  x: {min: 0.0, max: 6.0}
  epochs: {value: 4}
  delay: {value: 0.15}
"""


def test_sigkilled_controller_resumes_without_losing_or_repeating(
    write_spec: SpecWriter, workdir: Path, db: str
) -> None:
    spec = write_spec("slow.yaml", SLOW)
    proc = sweeptrack_cli("sweep", "run", str(spec), cwd=workdir)
    store = SqlStore(db, create=True)
    before = kill_when_finished(proc, workdir, store, 3)

    resumed = sweeptrack_cli("sweep", "resume", "slowpoke", cwd=workdir)
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert_resumed_exactly(store, before, "slowpoke", budget=8)


def test_stop_from_another_terminal(write_spec: SpecWriter, workdir: Path, db: str) -> None:
    spec = write_spec(
        "endless.yaml", SLOW.replace("run_cap: 8\n", "").replace("name: slowpoke", "name: endless")
    )
    proc = sweeptrack_cli("sweep", "run", str(spec), cwd=workdir)
    store = SqlStore(db, create=True)
    wait_for(
        lambda: (workdir / "sweeptrack.db").exists() and bool(store.list_sweeps()), what="the sweep to start"
    )
    stopper = sweeptrack_cli("sweep", "stop", "endless", cwd=workdir)
    out, _ = stopper.communicate(timeout=30)
    assert stopper.returncode == 0 and "stop requested" in out
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert store.get_sweep("endless").state is SweepState.STOPPED
    assert all(r.status is not RunStatus.RUNNING for r in store.search_runs())


def test_run_sweep_is_public(write_spec: SpecWriter, db: str) -> None:
    result = st.run_sweep(write_spec("rnd.yaml", RANDOM.replace("run_cap: 6", "run_cap: 2")), db=db)
    assert result.finished == 2


def test_trials_limit_leaves_the_sweep_resumable(write_spec: SpecWriter, db: str) -> None:
    spec = write_spec("rnd.yaml", RANDOM.replace("run_cap: 6", "run_cap: 4"))
    first = run_sweep(spec, db, trials=2)
    assert (first.state, first.trials, first.cap_reached) == (SweepState.STOPPED, 2, True)
    with pytest.raises(st.SweepTrackError, match=r"has run 2 trials and its cap is --trials 2; resume with"):
        run_sweep(spec, db, resume=True)  # the cap is kept with the sweep
    second = run_sweep(spec, db, resume=True, trials=4)
    assert (second.sweep_id, second.state, second.trials) == (first.sweep_id, SweepState.FINISHED, 4)
    runs = SqlStore(db).search_runs(sweep=first.sweep_id)
    assert sorted(r.trial_number for r in runs) == [0, 1, 2, 3]
    with pytest.raises(st.SweepTrackError, match="already finished"):
        run_sweep(spec, db, resume=True)


def test_a_number_that_never_ran_runs_on_resume(write_spec: SpecWriter, db: str) -> None:
    """A controller killed while trials were staged on Ray nodes leaves numbers without a run below
    its highest one: resume runs them (with their numbers' configs), so the budget still holds exactly."""
    spec = write_spec("rnd.yaml", RANDOM)
    first = run_sweep(spec, db, trials=4)
    store = SqlStore(db)
    now = int(time.time() * 1000)
    store.apply(
        [
            RunStarted(
                run_id="late",
                experiment="default",
                name="rnd-5",
                start_time=now,
                sweep_id=first.sweep_id,
                trial_number=5,
            ),
            ParamsLogged(run_id="late", params={"x": 1.0, "epochs": 3}),
            MetricsLogged(run_id="late", points=[("loss", 4.0, 0, now)]),
            RunEnded(run_id="late", status=RunStatus.FINISHED, end_time=now + 1),
        ]
    )
    second = run_sweep(spec, db, resume=True, trials=6)  # the cap of 4 is kept unless replaced
    assert (second.state, second.finished) == (SweepState.FINISHED, 6)
    runs = store.search_runs(sweep=first.sweep_id)
    assert sorted(r.trial_number for r in runs) == list(range(6))
    assert all(r.status is RunStatus.FINISHED for r in runs)


def test_timeout_stops_the_sweep_and_its_running_trials(write_spec: SpecWriter, db: str) -> None:
    text = SLOW.replace("run_cap: 8\n", "timeout: 1s\n").replace("name: slowpoke", "name: timed")
    spec = write_spec("timed.yaml", text.replace("epochs: {value: 4}", "epochs: {value: 200}"))
    result = run_sweep(spec, db)
    assert result.state is SweepState.STOPPED and result.elapsed < 30
    runs = SqlStore(db).search_runs(sweep=result.sweep_id)
    assert runs and all(r.status is RunStatus.KILLED for r in runs)
    assert all("timeout" in (r.error or "") for r in runs)
