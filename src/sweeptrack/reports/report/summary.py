"""The summary section: state, counts by status, best run, wall time, compute, failures.

Compute saved by pruning counts objective steps as ``sweeptrack sweep show`` does
(:func:`sweeptrack.reports.sweeps.pruning_steps`); trial-seconds saved credit each pruned trial
its missing steps at the median seconds per step of the finished trials.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

from sweeptrack.core.model import Run, RunStatus, Sweep
from sweeptrack.reports.report.model import Best, Compute, Failure, ReportSummary
from sweeptrack.reports.report.ranking import Ranking
from sweeptrack.reports.runs import duration_s
from sweeptrack.reports.sweeps import pruning_steps

__all__ = ["MAX_ERROR_CHARS", "compute", "summarize"]

MAX_ERROR_CHARS = 2000  # the end of a traceback: where its reason is


def _seconds(run: Run) -> float | None:
    seconds = duration_s(run)
    return None if seconds is None else max(seconds, 0.0)


def compute(runs: Sequence[Run], metric: str | None) -> Compute:
    """Steps and trial-seconds run, and those saved by pruning."""
    steps_run, steps_saved = pruning_steps(runs, metric)
    seconds = sum(s for s in map(_seconds, runs) if s is not None)
    saved = 0.0
    if metric is not None:
        counts = {run.id: run.metrics[metric].count for run in runs if metric in run.metrics}
        finished = [r for r in runs if r.status is RunStatus.FINISHED and counts.get(r.id) and _seconds(r)]
        if finished:
            full = max(counts.get(r.id, 0) for r in runs if r.status is RunStatus.FINISHED)
            per_step = statistics.median((_seconds(r) or 0.0) / counts[r.id] for r in finished)
            pruned = [r for r in runs if r.status is RunStatus.PRUNED]
            saved = sum(max(full - counts.get(r.id, 0), 0) * per_step for r in pruned)
    return Compute(
        epochs_run=steps_run, epochs_saved=steps_saved, trial_seconds=seconds, trial_seconds_saved=saved
    )


def _failures(runs: Sequence[Run]) -> list[Failure]:
    failed = (RunStatus.FAILED, RunStatus.KILLED)
    return [
        Failure(
            run_id=run.id,
            name=run.name,
            trial_number=run.trial_number,
            status=run.status.value,
            error=None if run.error is None else run.error[-MAX_ERROR_CHARS:],
        )
        for run in runs
        if run.status in failed
    ]


def _iso(ms: int | None) -> str | None:
    return None if ms is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def summarize(ranking: Ranking, sweep: Sweep | None, metric: str | None, *, now_ms: int) -> ReportSummary:
    """The summary of a sweep (``sweep`` given) or of an experiment's runs."""
    runs = ranking.runs
    if sweep is not None:
        started: int | None = sweep.created_at
        ended: int | None = sweep.updated_at if sweep.state.is_terminal else None
    else:
        started = min((run.start_time for run in runs), default=None)
        running = any(run.end_time is None for run in runs)
        ended = None if running else max((run.end_time or 0 for run in runs), default=None)
    wall = None if started is None else ((ended or now_ms) - started) / 1000
    best = None
    if ranking.ranked:
        top = ranking.ranked[0]
        best = Best(run_id=top.id, name=top.name, trial_number=top.trial_number, value=ranking.value(top))
    return ReportSummary(
        state=None if sweep is None else sweep.state.value,
        spec_yaml=None if sweep is None else sweep.spec,
        counts={status.value: sum(run.status is status for run in runs) for status in RunStatus},
        trials=len(runs),
        best=best,
        started_at=_iso(started),
        ended_at=_iso(ended),
        wall_seconds=wall,
        compute=compute(runs, metric),
        failures=_failures(runs),
    )
