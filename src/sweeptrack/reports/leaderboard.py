"""Leaderboards: the best runs by one metric summary, with the params that set them apart.

The ranking is done by the store (one ``search_runs`` call ordered by the summary column and
limited to ``top``), so it reads the indexed summaries and never scans metric history.

Example:
    >>> board = leaderboard(store, "val_f1", top=5)          # doctest: +SKIP
    >>> board.goal, [row.run.name for row in board.rows]      # doctest: +SKIP
    (<Goal.MAXIMIZE: 'maximize'>, ['lr-0.01', 'lr-0.001', ...])
"""

from __future__ import annotations

from dataclasses import dataclass

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.model import Goal, Run
from sweeptrack.core.objective import FINITE_MAX, rank_key
from sweeptrack.reports.formats import Report, Table
from sweeptrack.reports.runs import short_id, varying_params
from sweeptrack.spec.model import ObjectiveSummary, SweepSpec
from sweeptrack.tracking.query import Entity, Field, Summary, parse_filter
from sweeptrack.tracking.store import Store

__all__ = ["Goal", "Leaderboard", "LeaderboardRow", "default_goal", "leaderboard"]

_MINIMIZED_WORDS = ("loss", "error")


def default_goal(metric: str) -> Goal:
    """MINIMIZE for a metric whose name contains "loss" or "error" (any case), else MAXIMIZE."""
    name = metric.lower()
    return Goal.MINIMIZE if any(word in name for word in _MINIMIZED_WORDS) else Goal.MAXIMIZE


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderboardRow:
    rank: int
    run: Run
    value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Leaderboard:
    """Ranked runs; ``varying_params`` are the param keys whose values differ among them."""

    metric: str
    goal: Goal
    summary: Summary
    rows: tuple[LeaderboardRow, ...]
    varying_params: tuple[str, ...]

    @property
    def title(self) -> str:
        return f"Leaderboard: {self.metric_column} ({self.goal.value})"

    @property
    def metric_column(self) -> str:
        """The metric's column name: the key, with ``.min``/``.max``/``.count`` unless last."""
        suffix = "" if self.summary is Summary.LAST else f".{self.summary.value}"
        return self.metric + suffix

    def report(self) -> Report:
        """Rank, id, name, status, the metric, then the params that vary; the other params and
        every metric of the runs are hidden columns (``--columns`` can name them)."""
        runs = [row.run for row in self.rows]
        params = sorted({key for run in runs for key in run.params} - set(self.varying_params))
        metrics = sorted({key for run in runs for key in run.metrics})
        columns = (
            "rank",
            "id",
            "name",
            "status",
            self.metric_column,
            *(f"params.{key}" for key in (*self.varying_params, *params)),
            *(f"metrics.{key}" for key in metrics),
        )
        rows = tuple(
            (
                row.rank,
                short_id(row.run.id),
                row.run.name,
                row.run.status.value,
                row.value,
                *(row.run.params.get(key) for key in (*self.varying_params, *params)),
                *(row.run.metrics[key].last if key in row.run.metrics else None for key in metrics),
            )
            for row in self.rows
        )
        hidden = frozenset((*(f"params.{key}" for key in params), *(f"metrics.{key}" for key in metrics)))
        table = Table(columns=columns, rows=rows, title=self.title, name="leaderboard", hidden=hidden)
        return Report(tables=(table,), notes=() if rows else ("0 runs",))


def leaderboard(
    store: Store,
    metric: str,
    *,
    goal: Goal | None = None,
    summary: Summary = Summary.LAST,
    top: int = 10,
    experiment: str | None = None,
    sweep: str | None = None,
    filter: str | None = None,
) -> Leaderboard:
    """The ``top`` runs that logged ``metric``, best first by its ``summary``.

    Runs whose value is NaN are not listed; infinities rank after every finite value. For a
    sweep's own objective (its single metric, with the summary the spec ranks by) the value is
    the trial's objective value as the sweep defines it (a value the function returned wins),
    the same value ``sweep show`` takes the best from.

    Args:
        store: Where the runs are.
        metric: The metric key.
        goal: Which direction is better; None: the sweep's goal for its objective, else
            :func:`default_goal`.
        summary: Which per-run summary of the metric ranks runs.
        top: How many runs to show (at least 1).
        experiment: Only runs of this experiment.
        sweep: Only runs of this sweep id.
        filter: A filter string, combined with AND.

    Raises:
        QueryError: ``filter`` is malformed (the column it names is that of ``filter`` itself).
        ValueError: ``top`` is below 1.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    field = str(Field(Entity.METRIC, metric, summary))
    if parse_filter(filter) is not None:  # parsed alone first, so an error names its own column
        filter = f"({filter})"
    spec = _objective_spec(store, sweep, metric, summary)
    goal = goal or (default_goal(metric) if spec is None else spec.metric.goal)
    if spec is not None:
        scored = _by_objective(store, spec, goal, field, sweep, filter)
    else:
        scored = _by_summary(store, metric, summary, goal, field, experiment, sweep, filter, top)
    rows = tuple(
        LeaderboardRow(rank=rank, run=run, value=value)
        for rank, (run, value) in enumerate(scored[:top], start=1)
    )
    return Leaderboard(
        metric=metric,
        goal=goal,
        summary=summary,
        rows=rows,
        varying_params=varying_params([row.run for row in rows]),
    )


def _where(*conditions: str | None) -> str:
    return " AND ".join(f"({c})" for c in conditions if c)


def _by_summary(
    store: Store,
    metric: str,
    summary: Summary,
    goal: Goal,
    field: str,
    experiment: str | None,
    sweep: str | None,
    filter: str | None,
    top: int,
) -> list[tuple[Run, float]]:
    """Ranked by the store on the indexed summary: finite values first, then infinities (NaN is
    stored as NULL and never listed)."""
    finite = f"{field} >= -{FINITE_MAX!r} AND {field} <= {FINITE_MAX!r}"
    infinite = f"{field} IS NOT NULL AND NOT ({finite})"
    direction = "DESC" if goal is Goal.MAXIMIZE else "ASC"
    runs: list[Run] = []
    for condition in (finite, infinite):
        if len(runs) < top:
            runs += store.search_runs(
                experiment=experiment,
                sweep=sweep,
                filter=_where(condition, filter),
                order_by=[f"{field} {direction}"],
                limit=top - len(runs),
            )
    return [(run, _summary_value(run, metric, summary)) for run in runs]


def _objective_spec(store: Store, sweep: str | None, metric: str, summary: Summary) -> SweepSpec | None:
    """The sweep's spec when ``metric`` with ``summary`` is its single objective: then runs rank by
    the trial's objective value as the sweep defines it (a returned value wins)."""
    if sweep is None:
        return None
    from sweeptrack.spec.load import load_spec_text

    found = store.get_sweep(sweep)
    try:
        spec = load_spec_text(found.spec, source=found.name)
    except SweepTrackError:
        return None
    if len(spec.metrics) != 1 or spec.metrics[0].name != metric:  # (a sweep may have no metric)
        return None
    objective = spec.metrics[0]
    if objective.summary is ObjectiveSummary.BEST:
        wanted = Summary.MAX if objective.goal is Goal.MAXIMIZE else Summary.MIN
    else:
        wanted = Summary.LAST
    return spec if summary is wanted else None


def _by_objective(
    store: Store, spec: SweepSpec, goal: Goal, field: str, sweep: str | None, filter: str | None
) -> list[tuple[Run, float]]:
    """Every run of the sweep that logged the metric, by its objective value, non-finite last."""
    runs = store.search_runs(sweep=sweep, filter=_where(f"{field} IS NOT NULL", filter))
    scored = []
    for run in runs:
        values = spec.objective_values(run)
        if values is not None and values[0] == values[0]:  # NaN: not ranked, as in the store
            scored.append((run, values[0]))
    scored.sort(key=lambda item: (rank_key(item[1], goal), -item[0].start_time))
    return scored


def _summary_value(run: Run, metric: str, summary: Summary) -> float:
    summaries = run.metrics[metric]
    return float(getattr(summaries, summary.value))
