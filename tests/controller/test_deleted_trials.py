"""A trial deleted by hand (soft delete) still counts for its sweep: resume neither reruns its
number nor gives the budget one more trial; `sweep show` counts it apart."""

from __future__ import annotations

import time

from sweeptrack.controller import run_sweep
from sweeptrack.core.model import SweepState
from sweeptrack.reports.sweeps import summarize_sweep
from sweeptrack.tracking.sql.store import SqlStore

from .conftest import SpecWriter
from .test_sweeps import RANDOM


def test_a_deleted_trial_still_counts_on_resume(write_spec: SpecWriter, db: str) -> None:
    spec = write_spec("rnd.yaml", RANDOM.replace("run_cap: 6", "run_cap: 4"))
    first = run_sweep(spec, db, trials=2)
    store = SqlStore(db)
    (deleted,) = [run for run in store.search_runs(sweep=first.sweep_id) if run.trial_number == 0]
    store.delete_run(deleted.id, int(time.time() * 1000))

    second = run_sweep(spec, db, resume=True, trials=4)

    assert (second.state, second.trials) == (SweepState.FINISHED, 4)
    every = store.search_runs(sweep=first.sweep_id, deleted=None)
    assert sorted(r.trial_number for r in every) == [0, 1, 2, 3]
    shown = store.search_runs(sweep=first.sweep_id)
    assert sorted(r.trial_number for r in shown) == [1, 2, 3]
    assert store.get_run(deleted.id).deleted_at is not None
    summary = summarize_sweep(store, first.sweep_id).report().data
    assert (summary["trials finished"], summary["trials deleted (not counted above)"]) == (3, 1)
