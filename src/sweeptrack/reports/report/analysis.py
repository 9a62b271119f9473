"""The sections computed from finished trials: importances, Pareto front, comparison.

Each function returns its section (or None) and the notes that say what it cannot show. Optuna's
evaluators run in :mod:`sweeptrack.search` (the only package that imports Optuna), on plain data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sweeptrack.core.model import Goal, Run
from sweeptrack.reports.compare import compare_runs
from sweeptrack.reports.report.model import Comparison, ComparisonRow, Importances, Objective, Pareto
from sweeptrack.reports.report.ranking import Ranking, Target
from sweeptrack.tracking.store import Store

if TYPE_CHECKING:
    from sweeptrack.reports.report.worker import AnalysisWorker, Found

__all__ = ["COMPARED", "comparison", "importances", "pareto", "varying_params"]

COMPARED = 3  # runs compared side by side when none are chosen


def _goals(objectives: Sequence[Objective]) -> list[Goal]:
    return [Goal(objective.goal) for objective in objectives]


def varying_params(runs: Sequence[Run]) -> list[str]:
    """The param names with more than one value among ``runs``, sorted."""
    seen: dict[str, set[str]] = {}
    for run in runs:
        for name, value in run.params.items():
            seen.setdefault(name, set()).add(repr(value))
    return sorted(name for name, values in seen.items() if len(values) > 1)


Finish = Callable[[], tuple[Importances | None, list[str]]]


def importances(ranking: Ranking, target: Target, worker: AnalysisWorker | None = None) -> Finish:
    """Start fANOVA and PED-ANOVA over the ranked runs, in ``worker`` when given (else here, now);
    the returned call waits for them and gives the section, or None and why it cannot be shown."""
    runs = ranking.ranked
    if len(runs) < 2:
        return lambda: (None, [f"needs at least 2 finished trials with a value; {len(runs)} found"])
    if not varying_params(runs):
        return lambda: (None, ["no param varies among the finished trials"])
    trials = [(index, run.params, [ranking.value(run) or 0.0]) for index, run in enumerate(runs)]
    space = None if target.spec is None else target.spec.parameters
    goal = _goals(target.objectives)[0]

    def here() -> Found:
        from sweeptrack.search import Scored, param_importances

        scored = [Scored(number=number, params=params, values=values) for number, params, values in trials]
        return dataclasses.asdict(param_importances(scored, goal=goal, space=space))

    if worker is None:
        found = here()
        return lambda: _importances(found, len(runs))
    worker.importances(trials, goal=goal, space=space)

    def finish() -> tuple[Importances | None, list[str]]:
        try:
            result = worker.result()
        except Exception:  # the child failed or died: compute them here instead
            result = here()
        return _importances(result, len(runs))

    return finish


def _importances(found: Found, runs: int) -> tuple[Importances, list[str]]:
    """The section from :func:`sweeptrack.search.param_importances`'s answer (as a dict)."""
    errors = found["errors"]
    notes = [f"{name}: {errors[name]}" for name in sorted(errors) if errors[name]]
    sampled = found["fanova_trials"]
    if sampled < runs and not errors.get("fanova"):
        notes.append(f"fanova: computed on a seeded sample of {sampled} of {runs} trials")
    return Importances(fanova=found["fanova"], ped_anova=found["ped_anova"]), notes


def pareto(ranking: Ranking, target: Target) -> tuple[Pareto | None, list[str]]:
    """The Pareto front and hypervolume history of a multi-objective sweep (None for one objective)."""
    if len(target.objectives) < 2:
        return None, []
    complete = [run for run in ranking.ranked if all(v is not None for v in ranking.values[run.id])]
    if not complete:
        return None, ["needs finished trials with a value for every objective; none found"]
    from sweeptrack.search import Scored, pareto_front

    numbered = sorted(complete, key=lambda run: (run.trial_number or 0, run.start_time))
    scored = [
        Scored(number=index, params={}, values=[v or 0.0 for v in ranking.values[run.id]])
        for index, run in enumerate(numbered)
    ]
    found = pareto_front(scored, goals=_goals(target.objectives))
    trial = [
        run.trial_number if run.trial_number is not None else index for index, run in enumerate(numbered)
    ]
    return (
        Pareto(
            objectives=target.objectives,
            front=[numbered[index].id for index in found.front],
            hypervolume=[(trial[index], value) for index, value in found.hypervolume],
            reference_point=found.reference_point,
        ),
        [],
    )


def comparison(
    store: Store, ranking: Ranking, chosen: Sequence[str] | None
) -> tuple[Comparison | None, list[str]]:
    """The chosen runs side by side, or the top :data:`COMPARED` ranked runs."""
    refs = list(chosen) if chosen else [run.id for run in ranking.ranked[:COMPARED]]
    if not refs:
        return None, ["no finished trial with a value to compare; choose runs with --compare"]
    found = compare_runs(store, refs)
    rows = [
        ComparisonRow(section=row.section.value, key=row.key, values=list(row.values), differs=row.differs)
        for row in found.rows
    ]
    data = Comparison(
        run_ids=[run.id for run in found.runs], names=[run.name for run in found.runs], rows=rows
    )
    return data, []
