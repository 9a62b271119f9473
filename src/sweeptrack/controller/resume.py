"""Rebuilding a sweep's state from the database after the controller stopped or was killed.

Finished, pruned and finally failed trials go back into the search so it learns from them and a
grid never repeats a config. A trial the database still shows RUNNING was cut off with its
controller: its run is marked KILLED and its config re-queued under the same trial number, so the
budget still holds exactly. A failed trial with retries left is re-queued the same way, and a
number that never got a run (handed out, never started) runs with a fresh config.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence

from sweeptrack.controller.trials import Ledger, Pending
from sweeptrack.core.model import Run, RunStatus
from sweeptrack.search import Outcome, PastTrial, Search
from sweeptrack.spec.model import SweepSpec
from sweeptrack.tracking.store import Store

__all__ = ["INTERRUPTED", "restore_ledger"]

INTERRUPTED = "interrupted: the controller stopped before this trial ended; re-queued"


def restore_ledger(store: Store, sweep_id: str, spec: SweepSpec, search: Search) -> Ledger:
    """The ledger of a sweep as the database has it, with the search restored."""
    attempts: dict[int, list[Run]] = defaultdict(list)
    for run in store.search_runs(sweep=sweep_id, order_by="start_time ASC"):
        if run.trial_number is not None:
            attempts[run.trial_number].append(run)
    ledger = Ledger(next_number=max(attempts, default=-1) + 1)
    past: list[PastTrial] = []
    for number in sorted(attempts):
        runs = attempts[number]
        last = runs[-1]
        if last.status is RunStatus.RUNNING:
            store.end_run(last.id, RunStatus.KILLED, int(time.time() * 1000), INTERRUPTED)
            ledger.pending.append(Pending(number=number, attempt=_tried(runs) + 1, params=last.params))
            continue
        if last.status is RunStatus.FAILED and _tried(runs) <= spec.retries:
            ledger.pending.append(Pending(number=number, attempt=_tried(runs) + 1, params=last.params))
            continue
        trial = _past_trial(store, spec, last)
        past.append(trial)
        ledger.counts.add(last.status)
        first = trial.values[0] if trial.values else None
        if trial.outcome is Outcome.COMPLETE and first is not None:
            ledger.best.offer(spec.metric.goal, first, number, last.id, last.params)
    # Numbers below the highest that have no run at all were handed out but never started
    # (staged trials of a controller killed meanwhile): they run now, with fresh configs.
    missing = [n for n in range(ledger.next_number) if n not in attempts]
    ledger.pending.extend(Pending(number=n, attempt=1, params=None) for n in missing)
    search.restore(past)
    return ledger


def _tried(runs: Sequence[Run]) -> int:
    """Attempts that ran to an outcome (interrupted ones do not use up a retry)."""
    return sum(1 for run in runs if run.error != INTERRUPTED) or 1


def _past_trial(store: Store, spec: SweepSpec, run: Run) -> PastTrial:
    history = store.get_metric_history(run.id, spec.metrics[0].name) if len(spec.metrics) == 1 else []
    intermediate = {point.step: point.value for point in history}
    if run.status is RunStatus.FINISHED:
        values = spec.objective_values(run)
        if values is not None:
            return PastTrial(
                params=run.params, outcome=Outcome.COMPLETE, values=values, intermediate=intermediate
            )
    outcome = Outcome.PRUNED if run.status is RunStatus.PRUNED else Outcome.FAILED
    return PastTrial(params=run.params, outcome=outcome, values=None, intermediate=intermediate)
