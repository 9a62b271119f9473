"""``method:``, ``metric:`` / ``metrics:`` and ``scheduler:``: what is optimised, and how."""

from __future__ import annotations

from sweeptrack.core.model import Goal
from sweeptrack.spec.model import Method, MetricSpec, ObjectiveSummary
from sweeptrack.spec.section import Section, did_you_mean, show

__all__ = [
    "MULTI_OBJECTIVE_METHODS",
    "UNRANKED_METHODS",
    "parse_method",
    "parse_objectives",
    "parse_scheduler",
]

METHODS = tuple(m.value for m in Method)
MULTI_OBJECTIVE_METHODS = frozenset({Method.NSGA2, Method.RANDOM, Method.TPE, Method.QMC, Method.GRID})
UNRANKED_METHODS = frozenset({Method.GRID, Method.RANDOM})  # need no objective to sample
METRIC_KEYS = ("name", "goal", "target", "impute", "impute_while_running", "summary")
SCHEDULER_KEYS = ("engine", "source", "optimizer", "search_space")
_EXAMPLE = "e.g. metric: {name: val_loss, goal: minimize}"


def parse_method(root: Section) -> Method:
    """``method:``: W&B's grid/random/bayes (bayes searches with TPE) or an Optuna sampler."""
    name = root.require("method", f"one of {', '.join(METHODS)}")
    if name == "custom":
        raise root.error(
            "method",
            "'custom' hands the search to an external W&B scheduler, which sweeptrack does not run; "
            f"use one of {', '.join(METHODS)} (nsga2, tpe, random, qmc or grid for several metrics)",
        )
    if not isinstance(name, str) or name not in METHODS:
        hint = (
            did_you_mean(name, METHODS, listing="one of")
            if isinstance(name, str)
            else f"one of {', '.join(METHODS)}"
        )
        raise root.error("method", f"unknown method {show(name)}; {hint}")
    return Method(name)


def parse_scheduler(root: Section, method: Method) -> None:
    """``scheduler:`` is accepted for W&B compatibility; only ``engine: wandb`` (a no-op) can run."""
    if "scheduler" not in root:
        return
    sec = root.section("scheduler")
    sec.check_keys(SCHEDULER_KEYS)
    engine = sec.require("engine", "one of optuna, ax, wandb")
    sec.choice("engine", ("optuna", "ax", "wandb"))
    for key in ("source", "optimizer", "search_space"):
        sec.string(key)
    if engine != "wandb":
        raise sec.error(
            "engine",
            f"{engine!r} is not run by sweeptrack; its methods replace external schedulers: remove "
            "scheduler: and set method: to tpe, cmaes, gp, qmc or nsga2 (Optuna samplers)",
        )
    if method not in (Method.GRID, Method.RANDOM, Method.BAYES):
        raise sec.error("engine", "engine 'wandb' goes with method grid, random or bayes")


def parse_objectives(root: Section, method: Method, *, required: bool = True) -> tuple[MetricSpec, ...]:
    """``metric:`` (one objective) or ``metrics:`` (a list of two or more). Without ``required``
    (a grid or random sweep that prunes nothing) both may be left out: no objective."""
    if "metric" in root and "metrics" in root:
        raise root.error("metrics", "give either metric: (one objective) or metrics: (several), not both")
    if "metrics" in root:
        return _metrics(root, method)
    if "metric" not in root:
        if not required:
            return ()
        raise root.error("metric", f"required: every sweep needs an objective, {_EXAMPLE}")
    return (parse_metric(root.section("metric", what=f"a mapping, {_EXAMPLE}")),)


def _metrics(root: Section, method: Method) -> tuple[MetricSpec, ...]:
    items = root.seq("metrics")
    if len(items) < 2:
        raise root.error("metrics", "needs at least 2 entries; for one objective write metric: instead")
    if method not in MULTI_OBJECTIVE_METHODS:
        allowed = ", ".join(sorted(m.value for m in MULTI_OBJECTIVE_METHODS))
        raise root.error(
            "metrics", f"method {method.value} optimises one metric; several metrics need one of {allowed}"
        )
    metrics: list[MetricSpec] = []
    for index in range(len(items)):
        metric = parse_metric(root.item_section("metrics", index, what=f"a mapping, {_EXAMPLE}"))
        if any(m.name == metric.name for m in metrics):
            raise root.item_error("metrics", index, f"metric {metric.name!r} is listed twice")
        metrics.append(metric)
    return tuple(metrics)


def parse_metric(sec: Section) -> MetricSpec:
    """One metric mapping. ``impute`` and ``impute_while_running`` are checked, then ignored
    (sweeptrack tells failed trials to Optuna as failed, which is what imputing approximates)."""
    sec.check_keys(METRIC_KEYS)
    name = sec.require("name", "the metric to optimise, e.g. name: val_loss")
    if not isinstance(name, str) or not name.strip():
        raise sec.error("name", f"must be a non-empty string, got {show(name)}")
    goal = sec.choice("goal", ("minimize", "maximize"), "minimize")
    target = sec.number("target")
    sec.choice("impute", ("latest", "best", "worst"))
    if sec.get("impute_while_running") is not False:
        sec.choice("impute_while_running", ("latest", "best", "worst", "false"))
    summary = sec.choice("summary", ("last", "best"), "last")
    return MetricSpec(
        name=name,
        goal=Goal(goal),
        target=None if target is None else float(target),
        summary=ObjectiveSummary(summary),
    )
