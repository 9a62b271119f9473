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

from sweeptrack.core.model import Goal, Run
from sweeptrack.reports.formats import Report, Table
from sweeptrack.reports.runs import short_id, varying_params
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
        columns = (
            "rank",
            "id",
            "name",
            "status",
            self.metric_column,
            *(f"params.{key}" for key in self.varying_params),
        )
        rows = tuple(
            (
                row.rank,
                short_id(row.run.id),
                row.run.name,
                row.run.status.value,
                row.value,
                *(row.run.params.get(key) for key in self.varying_params),
            )
            for row in self.rows
        )
        return Report(tables=(Table(columns=columns, rows=rows, title=self.title, name="leaderboard"),))


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

    Runs whose summary is NaN are ranked last, as the store orders NaN after every number.

    Args:
        store: Where the runs are.
        metric: The metric key.
        goal: Which direction is better; None picks :func:`default_goal`.
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
    goal = goal or default_goal(metric)
    field = str(Field(Entity.METRIC, metric, summary))
    condition = f"{field} IS NOT NULL"
    if parse_filter(filter) is not None:  # parsed alone first, so an error names its own column
        condition = f"({condition}) AND ({filter})"
    direction = "DESC" if goal is Goal.MAXIMIZE else "ASC"
    runs = store.search_runs(
        experiment=experiment,
        sweep=sweep,
        filter=condition,
        order_by=[f"{field} {direction}"],
        limit=top,
    )
    rows = tuple(
        LeaderboardRow(rank=rank, run=run, value=_summary_value(run, metric, summary))
        for rank, run in enumerate(runs, start=1)
    )
    return Leaderboard(
        metric=metric,
        goal=goal,
        summary=summary,
        rows=rows,
        varying_params=varying_params([row.run for row in rows]),
    )


def _summary_value(run: Run, metric: str, summary: Summary) -> float:
    summaries = run.metrics[metric]
    return float(getattr(summaries, summary.value))
