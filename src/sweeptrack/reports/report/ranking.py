"""The leaderboard of a report: every run, the finished ones ranked as the store ranks them.

Ranked runs are the finished runs whose first objective has a value (not NaN). They come from one
``search_runs`` call ordered by the objective's summary column, as
:func:`sweeptrack.reports.leaderboard.leaderboard` orders them (ties: newest first); the other runs
(pruned, failed, running, NaN) come from a second call, so each run is read once. A sweep trial
whose function returned its objective (the ``sweeptrack.objective`` tag) is ranked by that value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from sweeptrack.core.model import Goal, Run
from sweeptrack.core.objective import rank_key
from sweeptrack.reports.report.curves import SYSTEM_PREFIX
from sweeptrack.reports.report.model import HistoryPoint, Objective, Row
from sweeptrack.reports.runs import duration_s
from sweeptrack.spec.model import SweepSpec
from sweeptrack.tracking.query import Entity, Field, Summary
from sweeptrack.tracking.store import Store

__all__ = ["Ranking", "Target", "best_first", "history", "rank_runs", "rows"]


def best_first(value: float | None, *, maximize: bool) -> tuple[int, float]:
    """A sort key: the best finite value first; infinities, NaN and no value last."""
    return rank_key(value, Goal.MAXIMIZE if maximize else Goal.MINIMIZE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What ranks runs: the objectives, and the sweep spec when they are the spec's own."""

    objectives: list[Objective]
    spec: SweepSpec | None = None

    @property
    def maximize(self) -> bool:
        return self.objectives[0].goal == Goal.MAXIMIZE.value

    def values(self, run: Run) -> list[float | None]:
        """One value per objective (None where missing or NaN)."""
        found: list[float] | None
        if self.spec is not None:
            found = self.spec.objective_values(run)
            found = found if found is not None else [math.nan] * len(self.objectives)
        else:
            found = []
            for objective in self.objectives:
                summary = run.metrics.get(objective.metric)
                found.append(math.nan if summary is None else float(getattr(summary, objective.summary)))
        return [None if value is None or math.isnan(value) else value for value in found]


@dataclass(frozen=True, slots=True, kw_only=True)
class Ranking:
    """Runs best first (``ranked``), the rest by trial number then start (``others``), and every
    run's objective values by run id."""

    ranked: list[Run]
    others: list[Run]
    values: dict[str, list[float | None]] = field(default_factory=dict)

    @property
    def runs(self) -> list[Run]:
        return [*self.ranked, *self.others]

    def value(self, run: Run) -> float | None:
        found = self.values.get(run.id)
        return found[0] if found else None


def rank_runs(store: Store, target: Target | None, *, experiment: str | None, sweep: str | None) -> Ranking:
    """Read every run of the sweep (or experiment) and rank the finished ones."""
    by_start = ["trial_number", "start_time", "run_id"]
    if target is None:
        return Ranking(
            ranked=[], others=store.search_runs(experiment=experiment, sweep=sweep, order_by=by_start)
        )
    first = target.objectives[0]
    column = str(Field(Entity.METRIC, first.metric, Summary(first.summary)))
    rankable = f"status = 'finished' AND {column} IS NOT NULL"
    direction = "DESC" if target.maximize else "ASC"
    ranked = store.search_runs(
        experiment=experiment, sweep=sweep, filter=rankable, order_by=[f"{column} {direction}"]
    )
    others = store.search_runs(
        experiment=experiment, sweep=sweep, filter=f"NOT ({rankable})", order_by=by_start
    )
    values = {run.id: target.values(run) for run in [*ranked, *others]}
    # By the trial's objective value (a returned one wins), infinities last; stable, so ties keep
    # the store's order.
    ranked.sort(key=lambda run: best_first(values[run.id][0], maximize=target.maximize))
    unranked = [run for run in ranked if values[run.id][0] is None]  # returned NaN: not ranked
    ranked = [run for run in ranked if values[run.id][0] is not None]
    return Ranking(ranked=ranked, others=_by_trial([*unranked, *others]), values=values)


def _by_trial(runs: Sequence[Run]) -> list[Run]:
    return sorted(runs, key=lambda run: (run.trial_number is None, run.trial_number or 0, run.start_time))


def rows(ranking: Ranking, seed_group: dict[str, int] | None = None) -> list[Row]:
    """One leaderboard row per run: the ranked first, then the others."""
    groups = seed_group or {}
    out = []
    for index, run in enumerate(ranking.runs):
        values = ranking.values.get(run.id, [])
        out.append(
            Row(
                rank=index + 1 if index < len(ranking.ranked) else None,
                run_id=run.id,
                name=run.name,
                trial_number=run.trial_number,
                status=run.status.value,
                objective=values[0] if values else None,
                objectives=list(values),
                metrics={
                    key: {"last": s.last, "min": s.min, "max": s.max, "count": float(s.count)}
                    for key, s in sorted(run.metrics.items())
                    if not key.startswith(SYSTEM_PREFIX)
                },
                params=dict(run.params),
                duration_s=duration_s(run),
                seed_group=groups.get(run.id),
            )
        )
    return out


def history(ranking: Ranking, maximize: bool) -> list[HistoryPoint]:
    """Each run's objective in trial (or start) order, with the best finished value so far."""
    best: float | None = None
    points = []
    ranked = {run.id for run in ranking.ranked}
    for run in _by_trial(ranking.runs):
        value = ranking.value(run)
        if value is not None and run.id in ranked:
            best = value if best is None else (max(best, value) if maximize else min(best, value))
        points.append(
            HistoryPoint(
                trial_number=run.trial_number,
                run_id=run.id,
                status=run.status.value,
                value=value,
                best_so_far=best,
            )
        )
    return points
