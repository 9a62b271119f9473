"""ReportData built by hand for the HTML tests: a realistic sweep and the edge cases.

A sample is made from a list of trials (:class:`Trial`); the leaderboard, history, curves,
importances, comparison and system metrics are derived from them the way the collector ranks
runs (ranked rows by rank, then the unranked by trial number).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sweeptrack.reports.report.model import (
    Best,
    Comparison,
    ComparisonRow,
    Compute,
    Curve,
    Curves,
    Failure,
    HistoryPoint,
    Importances,
    Objective,
    ReportData,
    ReportSummary,
    Row,
    Source,
    SystemMetrics,
)

XSS = "<script>window.pwned = true; alert(1)</script>"
XSS_IMG = '<img src=x onerror="window.pwned = true">'


@dataclass
class Trial:
    number: int
    status: str
    params: dict[str, Any]
    values: list[float] = field(default_factory=list)  # the objective metric per epoch
    objectives: list[float | None] = field(default_factory=list)
    error: str | None = None

    @property
    def run_id(self) -> str:
        return f"{self.number:04d}" + "ab" * 14

    @property
    def name(self) -> str:
        return f"trial-{self.number}"


def _rows(trials: Sequence[Trial], goal: str) -> list[Row]:
    scored = [
        t for t in trials if t.objectives and t.objectives[0] is not None and not math.isnan(t.objectives[0])
    ]
    scored.sort(key=lambda t: t.objectives[0] if goal == "minimize" else -t.objectives[0])  # type: ignore[operator]
    ranked = {t.number: rank for rank, t in enumerate(scored, start=1)}
    ordered = scored + sorted((t for t in trials if t.number not in ranked), key=lambda t: t.number)
    return [
        Row(
            rank=ranked.get(t.number),
            run_id=t.run_id,
            name=t.name,
            trial_number=t.number,
            status=t.status,
            objective=t.objectives[0] if t.objectives else None,
            objectives=t.objectives,
            metrics={
                "loss": {
                    "last": t.values[-1],
                    "min": min(t.values),
                    "max": max(t.values),
                    "count": len(t.values),
                }
            }
            if t.values
            else {},
            params=t.params,
            duration_s=1.5 * len(t.values) if t.values else None,
        )
        for t in ordered
    ]


def _history(trials: Sequence[Trial], goal: str) -> list[HistoryPoint]:
    points, best = [], None
    for t in sorted(trials, key=lambda t: t.number):
        value = t.objectives[0] if t.objectives else None
        if value is not None and math.isfinite(value):
            best = value if best is None else (min(best, value) if goal == "minimize" else max(best, value))
        points.append(
            HistoryPoint(
                trial_number=t.number, run_id=t.run_id, status=t.status, value=value, best_so_far=best
            )
        )
    return points


def _curve(t: Trial, rank: int | None, points: int | None = None) -> Curve:
    steps = list(range(len(t.values)))
    if points is not None and points < len(steps):  # keep every k-th point, as a downsampler would
        k = math.ceil(len(steps) / points)
        steps = steps[::k]
    return Curve(
        run_id=t.run_id,
        name=t.name,
        status=t.status,
        rank=rank,
        steps=steps,
        values=[t.values[s] for s in steps],
        points_total=len(t.values),
    )


def make_report(
    trials: Sequence[Trial],
    *,
    title: str = "quadratic sweep",
    goal: str = "minimize",
    objectives: Sequence[Objective] | None = None,
    top_k: int = 5,
    curve_points: int | None = None,
    extras: Callable[[dict[str, Any]], None] | None = None,
) -> ReportData:
    """A sweep report over ``trials``; ``extras`` may change the keyword arguments before building."""
    objectives = list(objectives or [Objective(metric="loss", goal=goal, summary="last")])  # type: ignore[arg-type]
    rows = _rows(trials, objectives[0].goal)
    by_number = {t.number: t for t in trials}
    top = [r for r in rows if r.trial_number is not None and by_number[r.trial_number].values][:top_k]
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.status] = counts.get(t.status, 0) + 1
    best = rows[0] if rows and rows[0].rank is not None else None
    param_names = sorted({name for t in trials for name in t.params})
    kwargs: dict[str, Any] = dict(
        generated_at="2025-01-02T03:04:05Z",
        title=title,
        source=Source(kind="sweep", sweep_id="5f3a9c1e", sweep_name=title, experiment="tests"),
        objectives=objectives,
        summary=ReportSummary(
            state="finished",
            spec_yaml=f"name: {title}\nmethod: tpe\nmetric: {{name: loss, goal: {goal}}}\n",
            counts=counts,
            trials=len(trials),
            best=Best(
                run_id=best.run_id, name=best.name, trial_number=best.trial_number, value=best.objective
            )
            if best
            else None,
            started_at="2025-01-02T03:00:00Z",
            ended_at="2025-01-02T03:04:00Z",
            wall_seconds=240.0,
            compute=Compute(
                epochs_run=sum(len(t.values) for t in trials),
                epochs_saved=42,
                trial_seconds=300.0,
                trial_seconds_saved=63.0,
            ),
            failures=[
                Failure(run_id=t.run_id, name=t.name, trial_number=t.number, status=t.status, error=t.error)
                for t in trials
                if t.status in ("failed", "killed")
            ],
        ),
        param_names=param_names,
        metric_names=["loss"] if any(t.values for t in trials) else [],
        leaderboard=rows,
        top=10,
        history=_history(trials, objectives[0].goal),
        curves=Curves(
            metric="loss",
            top_k=top_k,
            runs=[_curve(by_number[r.trial_number], r.rank, curve_points) for r in top],
        )  # type: ignore[index]
        if top
        else None,
        importances=Importances(
            fanova=_normalized({name: float(len(param_names) - i) for i, name in enumerate(param_names)}),
            ped_anova=_normalized({name: float(i + 1) for i, name in enumerate(param_names)}),
        )
        if len(param_names) > 1 and best is not None
        else None,
        comparison=_comparison(rows[:3]) if len(rows) >= 2 else None,
        system=_system(rows[0].run_id) if best else None,
        notes={},
    )
    if extras is not None:
        extras(kwargs)
    return ReportData(**kwargs)


def _normalized(values: dict[str, float]) -> dict[str, float]:
    total = sum(values.values())
    return {k: v / total for k, v in values.items()}


def _comparison(rows: Sequence[Row]) -> Comparison:
    def row(section: str, key: str, values: list[Any]) -> ComparisonRow:
        return ComparisonRow(
            section=section,
            key=key,
            values=values,  # type: ignore[arg-type]
            differs=len({repr(v) for v in values}) > 1,
        )

    names = sorted({n for r in rows for n in r.params})
    return Comparison(
        run_ids=[r.run_id for r in rows],
        names=[r.name for r in rows],
        rows=[
            row("run", "status", [r.status for r in rows]),
            *(row("params", n, [r.params.get(n) for r in rows]) for n in names),
            row("metrics", "loss.last", [r.objective for r in rows]),
            row("git", "commit", ["3f2a9c1" for _ in rows]),
            row("packages", "numpy", ["2.1.0" for _ in rows]),
        ],
    )


def _system(run_id: str) -> SystemMetrics:
    def series(name: str, fn: Callable[[int], float]) -> Curve:
        steps = list(range(0, 60, 2))
        return Curve(
            run_id=run_id,
            name=name,
            status="finished",
            steps=steps,
            values=[fn(s) for s in steps],
            points_total=len(steps),
        )

    return SystemMetrics(
        run_id=run_id,
        series={
            "system/cpu_percent": series("system/cpu_percent", lambda s: 50 + 40 * math.sin(s / 7)),
            "system/memory_mb": series("system/memory_mb", lambda s: 800 + 3 * s),
        },
    )


def quadratic_trials(n: int = 30, *, seed: int = 1, params: int = 3, epochs: int = 8) -> list[Trial]:
    """Finished, pruned (every 4th) and failed (every 7th) trials of ``(x - 3)^2`` with extra params."""
    rng = random.Random(seed)
    trials = []
    for number in range(n):
        p: dict[str, Any] = {"x": round(rng.uniform(-5, 10), 3)}
        if params >= 2:
            p["lr"] = 10 ** rng.uniform(-5, -1)
        if params >= 3:
            p["optimizer"] = rng.choice(["adam", "sgd", "rmsprop"])
        if params >= 4:
            p["nesterov"] = rng.random() < 0.5
        for k in range(4, params):
            p[f"p{k:03d}"] = rng.uniform(0, 1)
        status = "failed" if number % 7 == 6 else "pruned" if number % 4 == 3 else "finished"
        final = (p["x"] - 3) ** 2
        run_epochs = epochs // 2 if status == "pruned" else (1 if status == "failed" else epochs)
        values = [final + 5.0 / (e + 1) for e in range(run_epochs)]
        objective = None if status == "failed" else values[-1]
        error = (
            "Traceback (most recent call last):\n  ...\nValueError: diverged" if status == "failed" else None
        )
        trials.append(Trial(number, status, p, values, [objective], error))
    return trials


def sweep_report(**kwargs: Any) -> ReportData:
    """The realistic sample: 30 trials, 4 params, finished, pruned and failed runs."""
    return make_report(quadratic_trials(30, params=4), **kwargs)


# As the quickstart demo computed them: fANOVA ranks hidden first, PED-ANOVA alpha; their mean
# ranks lr, alpha, hidden, model.
QUICKSTART_IMPORTANCES = Importances(
    fanova={"hidden": 0.519, "lr": 0.475, "alpha": 0.004, "model": 0.002},
    ped_anova={"alpha": 0.673, "lr": 0.290, "hidden": 0.037, "model": 0.0004},
)
FAR_PRUNED = 5  # the trial stopped at val_f1 0.144, far below the finished trials' 0.92-0.97
NEAR_PRUNED = 9  # stopped at 0.915, just below them: drawn where it is


def quickstart_like() -> ReportData:
    """A report like the quickstart demo's: val_f1 maximized over model, lr, alpha and hidden;
    12 finished trials between 0.92 and 0.97, 4 pruned (one far below, at 0.144); fANOVA and
    PED-ANOVA disagree on the order of the params."""
    rng = random.Random(7)
    trials = []
    for number in range(16):
        params = {
            "model": rng.choice(["sgd", "mlp"]),
            "lr": 10 ** rng.uniform(-4, -0.6),
            "alpha": 10 ** rng.uniform(-6, -2),
            "hidden": rng.choice([16, 32, 64]),
            "epochs": 20,
        }
        pruned = number in (FAR_PRUNED, NEAR_PRUNED, 10, 14)
        final = {FAR_PRUNED: 0.144, NEAR_PRUNED: 0.915}.get(number, round(rng.uniform(0.92, 0.97), 4))
        epochs = 3 if pruned else 20
        values = [final - 0.04 * (epochs - 1 - e) / epochs for e in range(epochs)]
        trials.append(Trial(number, "pruned" if pruned else "finished", params, values, [final]))
    objective = Objective(metric="val_f1", goal="maximize")
    return make_report(
        trials,
        title="Sweep quickstart",
        objectives=[objective],
        top_k=10,
        extras=lambda kw: kw.update(importances=QUICKSTART_IMPORTANCES),
    )
