"""Read a report's data from the store: :func:`collect_report`.

Reads are bounded: the runs (params, tags, metric summaries) are read in two ``search_runs`` calls,
and metric history only for the runs drawn (the ``curves_top_k`` best, as many pruned runs, and
the best run's ``system/*`` metrics), never for every run of a large sweep.

Example:
    >>> data = collect_report(store, sweep="quickstart", top=5)          # doctest: +SKIP
    >>> data.summary.best.name, [row.name for row in data.leaderboard[:2]]  # doctest: +SKIP
    ('trial-5', ['trial-5', 'trial-11'])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.model import Goal, Run, RunStatus, Sweep
from sweeptrack.reports.leaderboard import default_goal
from sweeptrack.reports.report import analysis
from sweeptrack.reports.report.curves import MIN_POINTS, SYSTEM_PREFIX, load_curve, system_metrics
from sweeptrack.reports.report.model import Curves, Objective, ReportData, SeedGroup, Source, SystemMetrics
from sweeptrack.reports.report.ranking import Ranking, Target, best_first, history, rank_runs, rows
from sweeptrack.reports.report.seeds import find_seed_param, seed_groups
from sweeptrack.reports.report.summary import MAX_ERROR_CHARS, summarize
from sweeptrack.reports.report.worker import AnalysisWorker
from sweeptrack.spec.model import ObjectiveSummary
from sweeptrack.tracking.store import Store

__all__ = ["collect_report"]

SummaryName = Literal["last", "min", "max"]
Notes = dict[str, list[str]]


def collect_report(
    store: Store,
    *,
    sweep: str | None = None,
    experiment: str | None = None,
    metric: str | None = None,
    goal: Goal | None = None,
    summary: str = "last",
    top: int = 10,
    group_seeds: bool = False,
    compare: Sequence[str] | None = None,
    curves_top_k: int = 10,
    max_points: int = 500,
    worker: AnalysisWorker | None = None,
    while_waiting: Callable[[ReportData], object] | None = None,
) -> ReportData:
    """The report of a sweep, or of an experiment's runs ranked by a metric.

    Args:
        store: Where the runs are.
        sweep: The sweep's id, id prefix or name; its objectives come from its stored spec unless
            ``metric`` is given.
        experiment: Instead of a sweep: every run of this experiment, ranked by ``metric``.
        metric: The metric that ranks runs (required with ``experiment``).
        goal: Its direction; None takes :func:`~sweeptrack.reports.leaderboard.default_goal`.
        summary: Which summary of ``metric`` ranks runs: ``last``, ``min`` or ``max``.
        top: How many rows the text formats show.
        group_seeds: Also group runs that differ only in seed (see :mod:`.seeds`).
        compare: Runs (ids, id prefixes or names) to compare; default the 3 best.
        curves_top_k: Learning curves of this many best runs (and as many pruned runs).
        max_points: At most this many points per drawn curve (min/max buckets).
        worker: Computes the importances in a child process meanwhile (what the CLI does); None
            computes them in this process.
        while_waiting: Called, while ``worker`` computes, with the report as it will be but for
            its importances (None) and their notes: a renderer can draw everything else meanwhile.

    Raises:
        SweepNotFoundError: no such sweep.
        RunNotFoundError: a ``compare`` reference matches no run (or several).
        SweepTrackError: neither or both of ``sweep`` and ``experiment``, an unknown experiment,
            no ``metric`` for an experiment, or a bad ``summary``, ``top`` or ``max_points``.
    """
    _check(top=top, summary=summary, max_points=max_points, curves_top_k=curves_top_k)
    notes: Notes = {}
    found, source, target = _resolve(
        store, sweep, experiment, metric, goal, cast(SummaryName, summary), notes
    )
    sweep_id = None if found is None else found.id
    ranking = rank_runs(store, target, experiment=None if found else experiment, sweep=sweep_id)
    first_metric = None if target is None else target.objectives[0].metric
    data: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "title": f"Sweep {found.name}" if found else f"Experiment {experiment}",
        "source": source,
        "objectives": [] if target is None else target.objectives,
        "summary": summarize(ranking, found, first_metric, now_ms=int(time.time() * 1000)),
        "param_names": sorted({name for run in ranking.runs for name in run.params}),
        "metric_names": sorted(
            {key for run in ranking.runs for key in run.metrics if not key.startswith(SYSTEM_PREFIX)}
        ),
        "top": top,
        "history": [] if target is None else history(ranking, target.maximize),
    }
    seed_param, groups, by_run = _seeds(ranking, target) if group_seeds else (None, [], {})
    sections, pending = _sections(store, ranking, target, compare, curves_top_k, max_points, notes, worker)
    _describe(ranking, target, notes)
    data.update(leaderboard=rows(ranking, by_run), seed_param=seed_param, seed_groups=groups)

    def report() -> ReportData:
        return ReportData(**data, **sections, notes={key: value for key, value in notes.items() if value})

    if pending is not None:
        if worker is not None and while_waiting is not None:
            while_waiting(report())
        sections["importances"], notes["importances"] = pending()  # computed meanwhile in a worker
    return report()


def _seeds(ranking: Ranking, target: Target | None) -> tuple[str | None, list[SeedGroup], dict[str, int]]:
    """The seed param, the seed groups of the ranked runs, and each run's group."""
    if target is None:
        return None, [], {}
    seed_param = find_seed_param(run.params for run in ranking.ranked)
    scored = [(run.id, run.params, ranking.value(run) or 0.0) for run in ranking.ranked]
    return (seed_param, *seed_groups(scored, maximize=target.maximize, seed_param=seed_param))


def _check(*, top: int, summary: str, max_points: int, curves_top_k: int) -> None:
    if top < 1 or curves_top_k < 0:
        raise SweepTrackError(
            f"top must be at least 1 and curves_top_k at least 0, got {top}, {curves_top_k}"
        )
    if summary not in ("last", "min", "max"):
        raise SweepTrackError(f"unknown summary {summary!r}; use last, min or max")
    if max_points < MIN_POINTS:
        raise SweepTrackError(f"max_points must be at least {MIN_POINTS}, got {max_points}")


def _resolve(
    store: Store,
    sweep: str | None,
    experiment: str | None,
    metric: str | None,
    goal: Goal | None,
    summary: SummaryName,
    notes: Notes,
) -> tuple[Sweep | None, Source, Target | None]:
    """The sweep (if any), the source, and what ranks runs (None: nothing can)."""
    if (sweep is None) == (experiment is None):
        raise SweepTrackError("give a sweep, or --experiment with --metric (not both)")
    given = None
    if metric is not None:
        direction = goal or default_goal(metric)
        given = Target(objectives=[Objective(metric=metric, goal=direction.value, summary=summary)])
    if experiment is not None:
        known = [e.name for e in store.list_experiments()]
        if experiment not in known:
            raise SweepTrackError(
                f"no experiment named {experiment!r}; experiments: {', '.join(known) or 'none'}"
            )
        if given is None:
            raise SweepTrackError(f"a report of experiment {experiment!r} needs --metric to rank its runs")
        return None, Source(kind="experiment", experiment=experiment), given
    assert sweep is not None
    found = store.get_sweep(sweep)
    source = Source(kind="sweep", sweep_id=found.id, sweep_name=found.name, experiment=found.experiment)
    return found, source, given or _spec_target(found, notes)


def _spec_target(sweep: Sweep, notes: Notes) -> Target | None:
    from sweeptrack.spec.load import load_spec_text

    try:
        spec = load_spec_text(sweep.spec, source=sweep.name)
    except SweepTrackError as exc:  # written by another version: the report still shows its runs
        notes.setdefault("summary", []).append(
            f"the sweep's spec cannot be read ({' '.join(str(exc).split())}); pass --metric to rank its runs"
        )
        return None
    if not spec.metrics:
        raise SweepTrackError(f"sweep {sweep.name!r} has no metric; pass --metric NAME to rank its runs")
    objectives = []
    for m in spec.metrics:
        best: SummaryName = "max" if m.goal is Goal.MAXIMIZE else "min"
        which: SummaryName = best if m.summary is ObjectiveSummary.BEST else "last"
        objectives.append(Objective(metric=m.name, goal=m.goal.value, summary=which))
    return Target(objectives=objectives, spec=spec)


def _sections(
    store: Store,
    ranking: Ranking,
    target: Target | None,
    compare: Sequence[str] | None,
    top_k: int,
    max_points: int,
    notes: Notes,
    worker: AnalysisWorker | None,
) -> tuple[dict[str, Any], analysis.Finish | None]:
    """Curves, Pareto front, comparison and system metrics, with their notes; and the call that
    gives the importances (started first, computed meanwhile in ``worker``)."""
    out: dict[str, Any] = {}
    importances = None if target is None else analysis.importances(ranking, target, worker)
    if importances is not None:
        notes["importances"] = []  # filled when they are in (the notes keep the sections' order)
    out["comparison"], notes["comparison"] = analysis.comparison(store, ranking, compare)
    if target is None:
        return out, None
    out["curves"] = _curves(store, ranking, target, top_k, max_points, notes)
    out["pareto"], notes["pareto"] = analysis.pareto(ranking, target)
    out["system"] = _system(store, ranking, max_points, notes)
    return out, importances


def _curves(store: Store, ranking: Ranking, target: Target, k: int, max_points: int, notes: Notes) -> Curves:
    metric = target.objectives[0].metric
    pruned = [r for r in ranking.others if r.status is RunStatus.PRUNED and metric in r.metrics]
    pruned.sort(key=lambda run: best_first(ranking.value(run), maximize=target.maximize))
    drawn: list[tuple[Run, int | None]] = [
        (run, rank) for rank, run in enumerate(ranking.ranked[:k], start=1)
    ]
    drawn += [(run, None) for run in pruned[:k]]
    curves = [load_curve(store, run, metric, rank=rank, max_points=max_points) for run, rank in drawn]
    if not curves:
        notes.setdefault("curves", []).append(f"no finished or pruned trial logged {metric}")
    if any(curve.points_total > len(curve.steps) for curve in curves):
        notes.setdefault("curves", []).append(
            f"curves are downsampled to at most {max_points} points (min/max buckets); "
            "points_total is the logged count"
        )
    return Curves(metric=metric, top_k=k, runs=curves)


def _system(store: Store, ranking: Ranking, max_points: int, notes: Notes) -> SystemMetrics | None:
    if not ranking.ranked:
        notes.setdefault("system", []).append("no best trial yet")
        return None
    found = system_metrics(store, ranking.ranked[0], max_points=max_points)
    if not found.series:
        notes.setdefault("system", []).append(f"the best trial logged no {SYSTEM_PREFIX}* metrics")
    return found


def _describe(ranking: Ranking, target: Target | None, notes: Notes) -> None:
    """Notes for what the leaderboard, history and plots cannot show."""
    runs = ranking.runs
    board = notes.setdefault("leaderboard", [])
    if not runs:
        board.append("no runs yet")
    if target is None:
        board.append("no objective: runs are listed by trial number, unranked")
        return
    metric = target.objectives[0].metric
    finished = [r for r in ranking.others if r.status is RunStatus.FINISHED]
    if finished:
        board.append(
            f"{len(finished)} finished runs have no value of {metric} (missing or NaN); listed unranked"
        )
    if runs and not ranking.ranked:
        board.append(f"no finished trial has a value of {metric} yet: nothing is ranked")
        notes.setdefault("history", []).append("no finished trial: no best value so far")
    if runs and all(run.status is RunStatus.FAILED for run in runs):
        notes.setdefault("summary", []).append("every trial failed: see the failures for their reasons")
    if any(run.error and len(run.error) > MAX_ERROR_CHARS for run in runs):
        notes.setdefault("summary", []).append(f"failure reasons keep the last {MAX_ERROR_CHARS} characters")
    varying = analysis.varying_params(ranking.ranked)
    if len(varying) < 2:
        notes.setdefault("contour", []).append(
            f"needs 2 params that vary among finished trials; {len(varying)} do"
        )
    if not ranking.ranked:
        notes.setdefault("parallel", []).append("needs finished trials with a value")
