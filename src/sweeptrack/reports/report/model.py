"""The data of a sweep report: one pydantic model, the stable shape of ``report --format json``.

:func:`~sweeptrack.reports.report.collect.collect_report` reads it from the store; the HTML,
Markdown and JSON renderers only read it. Nothing in it needs the store again, so a report can be
rendered from a saved JSON file.

The shape is versioned by ``ReportData.version``: fields are only ever added within a version.
``ReportData.model_json_schema()`` is its documentation for scripts.

Conventions:
- Floats are plain JSON numbers; NaN, inf and -inf are written as the strings ``"NaN"``,
  ``"Infinity"``, ``"-Infinity"`` (pydantic's ``ser_json_inf_nan="strings"``), so the JSON stays
  valid; ``ReportData.model_validate_json`` reads them back as floats.
- Times are ISO-8601 UTC strings; durations are seconds.
- Param values keep their logged types (str, int, float, bool, None, lists and dicts).
- Whatever a section cannot show is said in ``notes`` (``{section: [one line, ...]}``), never
  left as a silent gap: e.g. ``{"importances": ["needs at least 2 finished trials; 1 finished"]}``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Best",
    "Comparison",
    "ComparisonRow",
    "Compute",
    "Curve",
    "Curves",
    "Failure",
    "HistoryPoint",
    "Importances",
    "Objective",
    "Pareto",
    "ReportData",
    "ReportSummary",
    "Row",
    "SeedGroup",
    "Source",
    "SystemMetrics",
]

REPORT_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="strings")


class Source(_Model):
    """What the report is about: a sweep, or an experiment's runs ranked by a metric."""

    kind: Literal["sweep", "experiment"]
    sweep_id: str | None = None
    sweep_name: str | None = None
    experiment: str


class Objective(_Model):
    """One objective: a metric summary (``last``, ``min`` or ``max``) and its goal."""

    metric: str
    goal: Literal["minimize", "maximize"]
    summary: Literal["last", "min", "max"] = "last"


class Best(_Model):
    run_id: str
    name: str
    trial_number: int | None = None
    value: float | None = None


class Compute(_Model):
    """Compute used and saved by pruning, counted in objective steps ("epochs") and trial-seconds.

    A pruned trial is charged what it ran and credited what a full trial runs (the most steps, and
    the median duration per step, of the finished trials).
    """

    epochs_run: int = 0
    epochs_saved: int = 0
    trial_seconds: float = 0.0
    trial_seconds_saved: float = 0.0


class Failure(_Model):
    run_id: str
    name: str
    trial_number: int | None = None
    status: str
    error: str | None = None


class ReportSummary(_Model):
    state: str | None = None  # the sweep's state; None for an experiment
    spec_yaml: str | None = None  # the sweep's source YAML as the user wrote it
    counts: dict[str, int] = Field(default_factory=dict)  # run status value -> runs
    trials: int = 0
    best: Best | None = None
    started_at: str | None = None
    ended_at: str | None = None
    wall_seconds: float | None = None
    compute: Compute = Field(default_factory=Compute)
    failures: list[Failure] = Field(default_factory=list)


class Row(_Model):
    """One run of the leaderboard. Every run is a row: pruned and failed runs too (rank None when
    the run has no objective value)."""

    rank: int | None
    run_id: str
    name: str
    trial_number: int | None = None
    status: str
    objective: float | None = None  # the first objective's value (its summary)
    objectives: list[float | None] = Field(default_factory=list)  # every objective, in order
    metrics: dict[str, dict[str, float | None]] = Field(default_factory=dict)  # key -> last/min/max/count
    params: dict[str, Any] = Field(default_factory=dict)
    duration_s: float | None = None
    seed_group: int | None = None  # index into ReportData.seed_groups


class SeedGroup(_Model):
    """Runs with the same params but for the seed: ranked by the mean with a 95% interval."""

    rank: int
    params: dict[str, Any]  # the shared params (the seed param left out)
    run_ids: list[str]
    n: int
    mean: float
    low: float  # 95% interval (Student's t); equal to mean when n == 1
    high: float
    overlaps_leader: bool  # its interval overlaps the leading group's


class HistoryPoint(_Model):
    trial_number: int | None
    run_id: str
    status: str
    value: float | None
    best_so_far: float | None


class Curve(_Model):
    """One run's learning curve, downsampled for drawing (min/max buckets): ``points`` of
    ``points_total`` logged points are kept, never silently truncated."""

    run_id: str
    name: str
    status: str
    rank: int | None = None
    steps: list[int]
    values: list[float | None]
    points_total: int


class Curves(_Model):
    metric: str
    top_k: int
    runs: list[Curve] = Field(default_factory=list)


class Importances(_Model):
    """Param importances by Optuna's evaluators, each normalized to sum to 1.

    The two evaluators often disagree on the order; :attr:`ranking` is the one order the report
    uses everywhere (the importance chart, the params figures, the Markdown table's columns).
    """

    fanova: dict[str, float] = Field(default_factory=dict)
    ped_anova: dict[str, float] = Field(default_factory=dict)

    @property
    def scores(self) -> dict[str, float]:
        """Each param's mean importance over the evaluators that scored it (NaN and inf left out)."""
        found: dict[str, list[float]] = {}
        for evaluator in (self.fanova, self.ped_anova):
            for name, value in evaluator.items():
                usable = isinstance(value, int | float) and math.isfinite(value)
                found.setdefault(name, []).extend([float(value)] if usable else [])
        return {name: sum(values) / len(values) if values else 0.0 for name, values in found.items()}

    @property
    def ranking(self) -> list[str]:
        """Param names, most important first by :attr:`scores` (ties by name)."""
        scores = self.scores
        return sorted(scores, key=lambda name: (-scores[name], name))


class Pareto(_Model):
    """For multi-objective sweeps: the runs on the Pareto front and the hypervolume history."""

    objectives: list[Objective]
    front: list[str]  # run ids
    hypervolume: list[tuple[int, float]] = Field(default_factory=list)  # (trial number, hypervolume)
    reference_point: list[float] = Field(default_factory=list)


class ComparisonRow(_Model):
    section: Literal["run", "params", "metrics", "datasets", "git", "packages"]
    key: str
    values: list[Any]
    differs: bool


class Comparison(_Model):
    run_ids: list[str]
    names: list[str]
    rows: list[ComparisonRow] = Field(default_factory=list)


class SystemMetrics(_Model):
    """The ``system/*`` metrics of one run (the best trial), downsampled as curves are."""

    run_id: str
    series: dict[str, Curve] = Field(default_factory=dict)


class ReportData(_Model):
    version: int = REPORT_VERSION
    generated_at: str
    title: str
    source: Source
    objectives: list[Objective]  # empty when the report has no objective
    summary: ReportSummary
    param_names: list[str]  # every param of any run, sorted
    metric_names: list[str]  # every metric of any run but system/*, sorted
    leaderboard: list[Row]  # ranked rows first (by rank), then the unranked by trial number
    top: int  # how many rows the text formats show
    seed_param: str | None = None
    seed_groups: list[SeedGroup] = Field(default_factory=list)
    history: list[HistoryPoint] = Field(default_factory=list)
    curves: Curves | None = None
    importances: Importances | None = None
    pareto: Pareto | None = None
    comparison: Comparison | None = None
    system: SystemMetrics | None = None
    notes: dict[str, list[str]] = Field(default_factory=dict)
