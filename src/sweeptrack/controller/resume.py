"""Rebuilding a sweep's state from the database after the controller stopped or was killed.

Finished, pruned and finally failed trials go back into the search so it learns from them and a
grid never repeats a config. An interrupted trial is not a result: one the database still shows
RUNNING was cut off with its controller (SIGKILL) and is marked KILLED "interrupted"; one ended
KILLED "interrupted" was stopped by Ctrl-C, SIGTERM or the sweep's timeout. Both run again under
their number with the same config, as the next attempt linked to the interrupted run, so the
budget still holds exactly. A failed trial with retries left is re-queued the same way, and a
number that never got a run (handed out, never started) asks the search for its number's config,
which is the one it would have had (the draws of trial ``n`` come from the seed and ``n``).
"""

from __future__ import annotations

import time
from collections import defaultdict

from sweeptrack.controller.trials import Ledger, Pending, interrupted, is_interrupted
from sweeptrack.core.model import Run, RunStatus
from sweeptrack.search import Outcome, PastTrial, Search
from sweeptrack.spec.model import SweepSpec
from sweeptrack.tracking.store import Store

__all__ = ["INTERRUPTED", "restore_ledger"]

INTERRUPTED = interrupted("the controller stopped before this trial ended")


def restore_ledger(store: Store, sweep_id: str, spec: SweepSpec, search: Search) -> Ledger:
    """The ledger of a sweep as the database has it, with the search restored."""
    attempts: dict[int, list[Run]] = defaultdict(list)
    # Every attempt counts, a soft-deleted one too: deleting a trial by hand changes neither the
    # budget nor the numbers the search hands out.
    for run in store.search_runs(sweep=sweep_id, order_by="start_time ASC", deleted=None):
        if run.trial_number is not None:
            attempts[run.trial_number].append(run)
    ledger = Ledger(next_number=max(attempts, default=-1) + 1)
    past: list[PastTrial] = []
    for number in sorted(attempts):
        runs = attempts[number]
        last = runs[-1]
        if last.status is RunStatus.RUNNING:
            store.end_run(last.id, RunStatus.KILLED, int(time.time() * 1000), INTERRUPTED)
        again = last.status is RunStatus.RUNNING or (
            last.status is RunStatus.KILLED and is_interrupted(last.error)
        )
        failures = sum(1 for run in runs if run.status is RunStatus.FAILED)
        if again or (last.status is RunStatus.FAILED and failures <= spec.retries):
            ledger.pending.append(
                Pending(
                    number=number,
                    attempt=len(runs) + 1,
                    params=last.params,
                    previous_run=last.id,
                    retried=failures,
                )
            )
            continue
        trial = _past_trial(store, spec, last)
        past.append(trial)
        ledger.counts.add(last.status)
        first = trial.values[0] if trial.values else None
        if trial.outcome is Outcome.COMPLETE and first is not None:
            ledger.best.offer(spec.metric.goal, first, number, last.id, last.params)
    # Numbers below the highest that have no run at all were handed out but never started
    # (staged trials of a controller stopped meanwhile): they run now, with their numbers' configs.
    missing = [n for n in range(ledger.next_number) if n not in attempts]
    ledger.pending.extend(Pending(number=n, attempt=1, params=None) for n in missing)
    search.restore(past)
    return ledger


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
