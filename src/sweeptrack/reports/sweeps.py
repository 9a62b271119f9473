"""Sweep summaries: ``sweeptrack sweep list`` and ``sweep show``.

Compute saved by pruning compares the objective's logged steps: each pruned trial is charged what
it ran, and credited what a full trial ran (the most steps any finished trial logged).

A RUNNING or STOPPING sweep whose controller stopped beating shows as ``orphaned``, with the time of
its last heartbeat (see :mod:`sweeptrack.core.liveness`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.liveness import Liveness
from sweeptrack.core.model import Goal, Run, RunStatus, Sweep
from sweeptrack.core.objective import rank_key, rankable
from sweeptrack.reports.formats import Report, Table, format_time
from sweeptrack.reports.runs import short_id
from sweeptrack.spec.model import PRUNING_TAG, WARNING_TAG, SweepSpec
from sweeptrack.tracking.store import Store

__all__ = [
    "FailedTrial",
    "SweepSummary",
    "one_line_reason",
    "pruning_steps",
    "repeated_name_note",
    "summarize_sweep",
    "sweeps_report",
]

_FAILED_SHOWN = 20  # failed trials listed by ``sweep show``; the rest are counted
_REASON_WIDTH = 160


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedTrial:
    """A trial that failed, why in one line, and the command that prints its output (None when
    none was captured)."""

    number: int | None
    run: str
    run_id: str
    reason: str
    logs: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSummary:
    sweep: Sweep
    state: str | None = None  # what to show: ``orphaned`` for a sweep nobody runs; None: its state
    metric: str | None
    goal: Goal | None
    counts: dict[str, int]
    best: Run | None
    best_value: float | None
    steps_run: int
    steps_saved: int
    warnings: tuple[str, ...] = ()  # e.g. the first finished trial never logged the metric
    pruning_note: str | None = None  # set when the pruner never got a value
    failed: tuple[FailedTrial, ...] = ()  # the first few failed trials, by number
    failed_more: int = 0  # failed trials beyond those
    deleted: int = 0  # trials deleted by hand: left out of the counts, still in the sweep's budget

    @property
    def saved_fraction(self) -> float:
        total = self.steps_run + self.steps_saved
        return self.steps_saved / total if total else 0.0

    def report(self) -> Report:
        s = self.sweep
        overview = {
            "id": s.id,
            "name": s.name,
            "experiment": s.experiment,
            "state": self.state or s.state.value,
            "controller": None if s.lease is None else f"pid {s.lease.pid} on host {s.lease.host}",
            "controller since": None if s.lease is None else format_time(s.lease.since),
            "last heartbeat": None if s.lease is None else format_time(s.lease.heartbeat_at),
            "created": format_time(s.created_at),
            "updated": format_time(s.updated_at),
            "metric": None
            if self.metric is None
            else f"{self.metric} ({self.goal.value if self.goal else '?'})",
            **{f"trials {k}": v for k, v in self.counts.items()},
            **({"trials deleted (not counted above)": self.deleted} if self.deleted else {}),
            "best trial": None if self.best is None else f"{self.best.name} ({short_id(self.best.id)})",
            "best value": self.best_value,
            "best params": None if self.best is None else dict(self.best.params),
            "steps run": self.steps_run,
            "steps saved by pruning": f"{self.steps_saved} ({self.saved_fraction:.0%})",
            **({"pruning": self.pruning_note} if self.pruning_note else {}),
            **({"warning": "; ".join(self.warnings)} if self.warnings else {}),
        }
        # A sweep no controller holds shows no empty controller rows (JSON keeps every key).
        rows = tuple((k, v) for k, v in overview.items() if v is not None or k not in _LEASE_ROWS)
        spec = Table(columns=("spec",), rows=tuple((line,) for line in s.spec.splitlines()), name="spec")
        failed = [
            {"trial": f.number, "run": f.run, "run_id": f.run_id, "reason": f.reason, "logs": f.logs}
            for f in self.failed
        ]
        data = {**overview, "failed trials": failed, "spec": s.spec}
        tables = [Table(columns=("field", "value"), rows=rows, name="sweep")]
        if self.failed:
            query = f"sweeptrack runs list --sweep {s.id[:8]} -f \"status = 'failed'\""
            more = f" (and {self.failed_more} more: {query})"
            tables.append(
                Table(
                    columns=("trial", "run", "reason", "output"),
                    rows=tuple((f.number, f.run, f.reason, f.logs) for f in self.failed),
                    title="Failed trials" + (more if self.failed_more else ""),
                    name="failed",
                    wrap=True,  # a reason and a command to copy are folded, never cropped
                )
            )
        return Report(tables=(*tables, spec), data=data)


_LEASE_ROWS = frozenset({"controller", "controller since", "last heartbeat"})


def summarize_sweep(
    store: Store, ref: str, liveness: Liveness | None = None, *, logs_command: str = "sweeptrack runs logs"
) -> SweepSummary:
    """Counts, best trial, compute saved by pruning and failed trials of one sweep; ``liveness``
    tells whether it is orphaned (default: the standard heartbeat timing); each failed trial
    whose output was captured gets ``logs_command`` with its run's short id."""
    from sweeptrack.spec.load import load_spec_text

    sweep = store.get_sweep(ref)
    runs = store.search_runs(sweep=sweep.id)
    try:
        spec: SweepSpec | None = load_spec_text(sweep.spec, source=sweep.name)
    except SweepTrackError:  # a spec this version cannot read still gets its counts shown
        spec = None
    ranked = spec is not None and bool(spec.metrics)
    name = spec.metric.name if spec is not None and ranked else None
    goal = spec.metric.goal if spec is not None and ranked else None
    counts = {status.value: sum(1 for r in runs if r.status is status) for status in RunStatus}
    best, value = _best(runs, spec)
    failed = sorted(
        (r for r in runs if r.status is RunStatus.FAILED),
        key=lambda r: (r.trial_number if r.trial_number is not None else -1, r.start_time),
    )
    run_steps, saved = pruning_steps(runs, name)
    return SweepSummary(
        sweep=sweep,
        state=(liveness or Liveness()).sweep_state_shown(sweep, _now_ms()),
        metric=name,
        goal=goal,
        counts=counts,
        best=best,
        best_value=value,
        steps_run=run_steps,
        steps_saved=saved,
        warnings=tuple(dict.fromkeys(r.tags[WARNING_TAG] for r in runs if WARNING_TAG in r.tags)),
        pruning_note=next((r.tags[PRUNING_TAG] for r in runs if PRUNING_TAG in r.tags), None),
        failed=_failed_trials(store, failed[:_FAILED_SHOWN], logs_command),
        failed_more=max(len(failed) - _FAILED_SHOWN, 0),
        deleted=len(store.search_runs(sweep=sweep.id, deleted=True)),
    )


def _failed_trials(store: Store, runs: Sequence[Run], logs_command: str) -> tuple[FailedTrial, ...]:
    from sweeptrack.tracking.output import OUTPUT_ARTIFACT

    shown = []
    for run in runs:
        captured = any(a.path == OUTPUT_ARTIFACT for a in store.list_artifacts(run.id))
        shown.append(
            FailedTrial(
                number=run.trial_number,
                run=run.name,
                run_id=run.id,
                reason=one_line_reason(run.error),
                logs=f"{logs_command} {short_id(run.id)}" if captured else None,
            )
        )
    return tuple(shown)


def one_line_reason(error: str | None) -> str:
    """Why a run failed, in one line: a traceback's last line (the exception), else the first
    line of the error.

    Example:
        >>> one_line_reason("Traceback (most recent call last):\n  File ...\nValueError: diverged")
        'ValueError: diverged'
    """
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    if not lines:
        return "no error was recorded"
    traceback = any(line.startswith("Traceback (most recent call last)") for line in lines)
    reason = lines[-1] if traceback else lines[0]
    return reason if len(reason) <= _REASON_WIDTH else reason[: _REASON_WIDTH - 3] + "..."


def _best(runs: Sequence[Run], spec: SweepSpec | None) -> tuple[Run | None, float | None]:
    scored = []
    for run in runs:
        values = None if spec is None or run.status is not RunStatus.FINISHED else spec.objective_values(run)
        if values and rankable(values[0]):  # NaN and infinities are never the best
            scored.append((values[0], run))
    if spec is None or not scored or not spec.metrics:
        return None, None
    goal = spec.metric.goal
    value, run = min(scored, key=lambda item: rank_key(item[0], goal))
    return run, value


def pruning_steps(runs: Sequence[Run], metric: str | None) -> tuple[int, int]:
    """(steps run, steps saved by pruning) of ``metric`` over ``runs``; (0, 0) without a metric."""
    if metric is None:
        return 0, 0
    counts = {r.id: r.metrics[metric].count for r in runs if metric in r.metrics}
    full = max((counts.get(r.id, 0) for r in runs if r.status is RunStatus.FINISHED), default=0)
    ran = sum(counts.values())
    saved = sum(max(full - counts.get(r.id, 0), 0) for r in runs if r.status is RunStatus.PRUNED)
    return ran, saved


def sweeps_report(store: Store, sweeps: Sequence[Sweep], liveness: Liveness | None = None) -> Report:
    """One row per sweep with its trial counts, its state (``orphaned`` when no controller beats
    for a sweep that is not over) and its controller's last heartbeat."""
    liveness = liveness or Liveness()
    now = _now_ms()
    rows: list[tuple[Any, ...]] = []
    for sweep in sweeps:
        runs = store.search_runs(sweep=sweep.id)
        by = {status: sum(1 for r in runs if r.status is status) for status in RunStatus}
        rows.append(
            (
                short_id(sweep.id),
                sweep.name,
                sweep.experiment,
                liveness.sweep_state_shown(sweep, now),
                None if sweep.lease is None else format_time(sweep.lease.heartbeat_at),
                len({r.trial_number for r in runs}),
                by[RunStatus.FINISHED],
                by[RunStatus.PRUNED],
                by[RunStatus.FAILED],
                by[RunStatus.RUNNING],
                format_time(sweep.created_at),
            )
        )
    columns = (
        "id",
        "name",
        "experiment",
        "state",
        "heartbeat",
        "trials",
        "finished",
        "pruned",
        "failed",
        "running",
        "created",
    )
    return Report(tables=(Table(columns=columns, rows=tuple(rows), name="sweeps"),))


def repeated_name_note(named: Sequence[Sweep], now_ms: int | None = None) -> str | None:
    """The line that says which of several sweeps with one name a command takes: the first of
    ``named`` (newest first, as ``Store.sweeps_named`` gives them); None for fewer than two.

    Its start is local time, with the date when it is not today (at ``now_ms``).

    Example:
        ``2 sweeps named quickstart; using the newest, 4c5bde2e, started 10:42``
    """
    if len(named) < 2:
        return None
    newest = named[0]
    started = datetime.fromtimestamp(newest.created_at / 1000).astimezone()
    today = datetime.fromtimestamp((_now_ms() if now_ms is None else now_ms) / 1000).astimezone().date()
    when = started.strftime("%H:%M" if started.date() == today else "%Y-%m-%d %H:%M")
    return f"{len(named)} sweeps named {newest.name}; using the newest, {short_id(newest.id)}, started {when}"


def _now_ms() -> int:
    return int(time.time() * 1000)
