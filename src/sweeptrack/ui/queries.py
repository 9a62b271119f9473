"""What each page shows, read from the store: plain data the templates and the API turn into
HTML and JSON. Every read is bounded (a page of runs, a sweep's leaderboard, downsampled curves).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sweeptrack.core.errors import FilterError, SweepTrackError
from sweeptrack.core.liveness import Liveness
from sweeptrack.core.model import Goal, Run, RunStatus, Sweep
from sweeptrack.reports.runs import duration_s
from sweeptrack.tracking.store import MetricSeries, RunsPage, Store

__all__ = [
    "STATUSES",
    "Group",
    "RunsQuery",
    "SharedAnswer",
    "SweepObjective",
    "curves",
    "home_groups",
    "leaderboard",
    "now_ms",
    "objective_of",
    "run_json",
    "run_page",
    "series_json",
    "sweep_live",
]

T = TypeVar("T")
STATUSES = tuple(status.value for status in RunStatus)
MAX_SWEEPS_HOME = 50
MAX_CURVE_KEYS = 40


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepObjective:
    """The metric a sweep ranks by, its goal, and the summary that is its objective."""

    metric: str
    goal: Goal
    summary: str  # last, min or max

    @property
    def order_by(self) -> str:
        key = "`" + self.metric.replace("`", "``") + "`"
        return f"metrics.{key}.{self.summary} {'DESC' if self.goal is Goal.MAXIMIZE else 'ASC'}"


@functools.lru_cache(maxsize=512)
def _objective(spec_text: str) -> SweepObjective | None:
    from sweeptrack.spec.load import load_spec_text
    from sweeptrack.spec.model import ObjectiveSummary

    try:
        spec = load_spec_text(spec_text)
    except SweepTrackError:
        return None
    if not spec.metrics:
        return None
    metric = spec.metric
    best = "max" if metric.goal is Goal.MAXIMIZE else "min"
    summary = best if metric.summary is ObjectiveSummary.BEST else "last"
    return SweepObjective(metric=metric.name, goal=metric.goal, summary=summary)


def objective_of(sweep: Sweep) -> SweepObjective | None:
    """The sweep's objective from its stored spec (None: no metric, or a spec this version cannot read)."""
    return _objective(sweep.spec)


@functools.lru_cache(maxsize=512)
def _run_cap(spec_text: str) -> int | None:
    from sweeptrack.spec.load import load_spec_text

    try:
        return load_spec_text(spec_text).run_cap
    except SweepTrackError:
        return None


@dataclass(slots=True, kw_only=True)
class Group:
    """One row of the home page: an experiment or a sweep, its runs by outcome, its best value."""

    name: str
    experiment: str
    sweep: Sweep | None = None
    state: str = "idle"
    counts: dict[str, int] = field(default_factory=dict)
    last_activity: int | None = None
    best: float | None = None
    best_run: Run | None = None
    objective: SweepObjective | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "experiment": self.experiment,
            "sweep_id": None if self.sweep is None else self.sweep.id,
            "state": self.state,
            "counts": self.counts,
            "total": self.total,
            "last_activity": self.last_activity,
            "best": self.best,
            "best_run": None if self.best_run is None else self.best_run.id,
            "metric": None if self.objective is None else self.objective.metric,
        }


def _add(group: Group, counts: Mapping[str, int], last: int | None) -> None:
    for status, count in counts.items():
        group.counts[status] = group.counts.get(status, 0) + count
    if last is not None:
        group.last_activity = max(last, group.last_activity or last)


class SharedAnswer(Generic[T]):
    """An answer every viewer shares (the home page: counts that scan every run, each sweep's
    best value): as it is while at most ``fresh_s`` old; up to ``stale_s`` old it is served while
    a thread computes it again, so no page but the first waits for the scan, and many viewers
    cost the database one scan every ``fresh_s`` at most."""

    def __init__(self, compute: Callable[[], T], *, fresh_s: float = 2.0, stale_s: float = 60.0) -> None:
        self.compute, self.fresh_s, self.stale_s = compute, fresh_s, stale_s
        self._lock = threading.Lock()
        self._answer: tuple[float, T] | None = None
        self._refreshing = False

    def get(self) -> T:
        with self._lock:
            found = self._answer
            if found is not None:
                age = time.monotonic() - found[0]
                if age <= self.fresh_s:
                    return found[1]
                if age < self.stale_s:
                    if not self._refreshing:
                        self._refreshing = True
                        threading.Thread(target=self._refresh, daemon=True).start()
                    return found[1]
        return self._store()

    def _store(self) -> T:
        answer = self.compute()
        with self._lock:
            self._answer = (time.monotonic(), answer)
        return answer

    def _refresh(self) -> None:
        try:
            self._store()
        finally:
            with self._lock:
                self._refreshing = False


def home_groups(store: Store, liveness: Liveness) -> tuple[list[Group], list[Group]]:
    """Experiments and (the newest) sweeps, running ones first, then by last activity."""
    now = now_ms()
    experiments = {e.name: Group(name=e.name, experiment=e.name) for e in store.list_experiments()}
    by_sweep: dict[str, tuple[Mapping[str, int], int | None]] = {}
    for found in store.run_counts():
        group = experiments.setdefault(
            found.experiment, Group(name=found.experiment, experiment=found.experiment)
        )
        _add(group, found.counts, found.last_activity)
        if found.sweep_id is not None:
            by_sweep[found.sweep_id] = (found.counts, found.last_activity)
    for group in experiments.values():
        group.state = "running" if group.counts.get("running") else "idle"
    sweeps = []
    for sweep in store.list_sweeps()[:MAX_SWEEPS_HOME]:
        group = Group(name=sweep.name, experiment=sweep.experiment, sweep=sweep)
        group.state = liveness.sweep_state_shown(sweep, now)
        counts, last = by_sweep.get(sweep.id, ({}, None))
        _add(group, counts, max(last or 0, sweep.updated_at))
        group.objective = objective_of(sweep)
        if group.objective is not None and counts.get("finished"):
            group.best_run, group.best = _best(store, sweep.id, group.objective)
        sweeps.append(group)
    return _ordered(list(experiments.values())), _ordered(sweeps)


def _ordered(groups: list[Group]) -> list[Group]:
    return sorted(groups, key=lambda g: (g.state not in ("running", "stopping"), -(g.last_activity or 0)))


def _best(store: Store, sweep_id: str, objective: SweepObjective) -> tuple[Run | None, float | None]:
    found = leaderboard(store, sweep_id, objective, limit=1)
    if not found:
        return None, None
    return found[0], getattr(found[0].metrics[objective.metric], objective.summary)


def leaderboard(store: Store, sweep_id: str, objective: SweepObjective, *, limit: int) -> list[Run]:
    """The sweep's best finished runs by its objective."""
    metric = "`" + objective.metric.replace("`", "``") + "`"
    runs = store.search_runs(
        sweep=sweep_id,
        filter=f"status = 'finished' and metrics.{metric}.{objective.summary} is not null",
        order_by=objective.order_by,
        limit=limit,
    )
    return [run for run in runs if objective.metric in run.metrics]


def sweep_live(store: Store, sweep: Sweep, liveness: Liveness, *, top: int = 20) -> dict[str, Any]:
    """What the sweep page refreshes while the sweep runs: state, counts, progress, leaderboard."""
    counts = dict.fromkeys(STATUSES, 0)
    for found in store.run_counts(sweep.id):
        if found.sweep_id == sweep.id:
            for status, count in found.counts.items():
                counts[status] = counts.get(status, 0) + count
    objective = objective_of(sweep)
    cap = sweep.trial_cap or _run_cap(sweep.spec)
    done = sum(count for status, count in counts.items() if status != "running")
    board = [] if objective is None else leaderboard(store, sweep.id, objective, limit=top)
    return {
        "id": sweep.id,
        "name": sweep.name,
        "experiment": sweep.experiment,
        "state": liveness.sweep_state_shown(sweep, now_ms()),
        "counts": counts,
        "total": sum(counts.values()),
        "done": done,
        "cap": cap,
        "progress": None if not cap else min(1.0, done / cap),
        "metric": None if objective is None else objective.metric,
        "goal": None if objective is None else objective.goal.value,
        "summary": None if objective is None else objective.summary,
        "leaderboard": [
            {
                "rank": rank,
                "id": run.id,
                "name": run.name,
                "trial": run.trial_number,
                "value": getattr(run.metrics[objective.metric], objective.summary),
                "params": dict(run.params),
            }
            for rank, run in enumerate(board, start=1)
            if objective is not None
        ],
    }


def run_json(run: Run, liveness: Liveness | None = None) -> dict[str, Any]:
    """A run as the API returns it."""
    return {
        "id": run.id,
        "name": run.name,
        "experiment": run.experiment,
        "status": (liveness or Liveness()).run_status_shown(run, now_ms()),
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration_s": duration_s(run),
        "sweep_id": run.sweep_id,
        "trial_number": run.trial_number,
        "error": run.error,
        "params": dict(run.params),
        "tags": dict(run.tags),
        "metrics": {
            key: {"last": m.last, "min": m.min, "max": m.max, "count": m.count, "last_step": m.last_step}
            for key, m in sorted(run.metrics.items())
        },
        "note": run.note,
        "deleted_at": run.deleted_at,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class RunsQuery:
    """A runs search: scope, filter, order, which rows."""

    experiment: str | None = None
    sweep: str | None = None
    filter: str = ""
    order: str = ""
    limit: int = 50
    offset: int = 0
    deleted: bool = False
    exact_total: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RunsResult:
    page: RunsPage | None
    error: FilterError | None = None
    error_field: str = "filter"  # which box the error is about: filter or order


def run_page(store: Store, query: RunsQuery) -> RunsResult:
    """One page of runs, or the filter (or order) error to show at its column."""
    try:
        page = store.runs_page(
            experiment=query.experiment,
            sweep=query.sweep,
            filter=query.filter or None,
            order_by=query.order or None,
            limit=query.limit,
            offset=query.offset,
            deleted=query.deleted,
            count_up_to=None if query.exact_total else 1000,
        )
    except FilterError as exc:
        where = "order" if query.order and exc.text == query.order else "filter"
        return RunsResult(page=None, error=exc, error_field=where)
    return RunsResult(page=page)


def series_json(series: MetricSeries) -> dict[str, Any]:
    return {
        "key": series.key,
        "steps": list(series.steps),
        "values": [None if v is None else v for v in series.values],
        "total": series.total,
        "downsampled": series.downsampled,
    }


def curves(
    store: Store, run: Run, keys: Sequence[str] | None = None, *, max_points: int = 1000
) -> dict[str, Any]:
    """Every metric of a run (or ``keys``), each downsampled to about ``max_points`` points."""
    wanted = sorted(run.metrics) if keys is None else [k for k in keys if k in run.metrics]
    return {
        key: series_json(store.metric_series(run.id, key, max_points=max_points))
        for key in wanted[:MAX_CURVE_KEYS]
    }
