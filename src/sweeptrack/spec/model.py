"""SweepSpec and its parts: what a validated sweep YAML file says, as frozen, typed objects."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sweeptrack.core.errors import SpecError
from sweeptrack.core.model import Goal, Run
from sweeptrack.core.space import Distribution, unflatten

# Seconds between samples of a trial's system metrics (CPU, RAM, GPUs) unless the spec says otherwise.
DEFAULT_SYSTEM_METRICS_INTERVAL = 10.0

# Where a function trial's returned objective is kept when it is not a point of the metric's history.
OBJECTIVE_TAG = "sweeptrack.objective"
# Where a sweep's warning about its metric is kept (a tag of the first finished trial's run).
WARNING_TAG = "sweeptrack.warning"
# Where "the pruner never got a value" is kept (a tag of one trial's run), for ``sweep show``.
PRUNING_TAG = "sweeptrack.pruning"

__all__ = [
    "DEFAULT_SYSTEM_METRICS_INTERVAL",
    "OBJECTIVE_TAG",
    "PRUNING_TAG",
    "WARNING_TAG",
    "ExecutorSpec",
    "ExecutorType",
    "Method",
    "MetricSpec",
    "ObjectiveSummary",
    "PrunerSpec",
    "PrunerType",
    "RegisterSpec",
    "Resources",
    "SpecWarning",
    "SweepSpec",
    "starved_pruner_note",
]


class Method(enum.Enum):
    """How configs are sampled. W&B's grid/random/bayes plus Optuna's samplers (bayes means TPE)."""

    GRID = "grid"
    RANDOM = "random"
    BAYES = "bayes"
    TPE = "tpe"
    CMAES = "cmaes"
    GP = "gp"
    QMC = "qmc"
    NSGA2 = "nsga2"


class ObjectiveSummary(enum.Enum):
    """Which value of the metric is the trial's objective: its last, or its best by the goal."""

    LAST = "last"
    BEST = "best"


class PrunerType(enum.Enum):
    """``early_terminate.type``: W&B's hyperband (W&B semantics) or an Optuna pruner."""

    WANDB_HYPERBAND = "wandb_hyperband"  # `type: hyperband` with W&B keys (min_iter / max_iter+s)
    MEDIAN = "median"
    PERCENTILE = "percentile"
    SUCCESSIVE_HALVING = "successive_halving"  # also `asha`
    HYPERBAND = "hyperband"  # `type: hyperband` with Optuna keys (min_resource, max_resource, ...)
    THRESHOLD = "threshold"
    WILCOXON = "wilcoxon"
    PATIENT = "patient"
    NONE = "none"


class WandbModule(enum.Enum):
    """``wandb:`` in a spec: what ``import wandb`` loads in a program trial. SHIM: sweeptrack's
    :mod:`sweeptrack.compat.wandb` (the default, so W&B scripts report to the sweep); REAL: the
    installed wandb package."""

    SHIM = "shim"
    REAL = "real"


class ExecutorType(enum.Enum):
    LOCAL = "local"
    RAY = "ray"


class SummaryLike(Protocol):
    """What an objective is read from: a stored MetricSummary, or one kept while points stream."""

    @property
    def last(self) -> float: ...
    @property
    def min(self) -> float: ...
    @property
    def max(self) -> float: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSpec:
    """One objective: the metric's name, its goal, an optional target that stops new trials."""

    name: str
    goal: Goal = Goal.MINIMIZE
    target: float | None = None
    summary: ObjectiveSummary = ObjectiveSummary.LAST


@dataclass(frozen=True, slots=True, kw_only=True)
class PrunerSpec:
    """The pruner and its options, exactly as given beside ``type`` (validated by the loader)."""

    type: PrunerType
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutorSpec:
    type: ExecutorType = ExecutorType.LOCAL
    address: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Resources:
    """Per-trial resources: CPUs (bounds local concurrency), GPUs (may be fractional), GPU memory."""

    cpu: float = 1.0
    gpu: float = 0.0
    gpu_memory: int | None = None  # bytes
    custom: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterSpec:
    """``register:``: at the end of the sweep, the best trial's artifact ``artifact`` becomes the
    next version of model ``name`` (with ``alias`` pointed at it). ``when`` is ``best`` (the
    only choice today: the best finished trial by the first metric)."""

    name: str
    artifact: str
    alias: str | None = None
    when: str = "best"


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecWarning:
    """Something W&B tolerates that is probably a mistake: it loads, and ``--strict`` refuses it.

    ``str()`` reads like a :class:`SpecError`: ``FILE:LINE KEY.PATH: message``.
    """

    message: str
    source: str = "<string>"
    line: int | None = None
    path: str = ""

    def as_error(self) -> SpecError:
        """The same problem as an error (what ``--strict`` raises)."""
        return SpecError(self.message, source=self.source, line=self.line, path=self.path)

    def __str__(self) -> str:
        return str(self.as_error())


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSpec:
    """A validated sweep.

    ``parameters`` is flat and ordered as written (nested blocks become dotted names); ``nested``
    lists the dotted names that came from nested ``parameters:`` blocks, which :meth:`nest` hands
    back as nested dicts. At most one of ``entrypoint`` (``module:function``) and ``program`` or
    ``command`` says what a trial runs; with neither, trials run a Python function handed to
    ``st.run_sweep(file, function=train)``. ``metrics`` is empty for a grid or random sweep
    without an objective (its trials are tracked, not ranked). ``warnings`` are what the loader
    tolerated (see :class:`SpecWarning`). ``base_dir`` is the spec file's folder (entrypoints and
    programs resolve against the working directory, then it).
    """

    text: str
    source: str  # the file path as given, or "<string>"
    base_dir: Path
    method: Method
    metrics: tuple[MetricSpec, ...]
    parameters: Mapping[str, Distribution]
    nested: frozenset[str] = frozenset()
    name: str | None = None
    description: str | None = None
    experiment: str = "default"
    entrypoint: str | None = None
    program: str | None = None
    command: tuple[str, ...] | None = None
    run_cap: int | None = None
    pruner: PrunerSpec | None = None
    seed: int | None = None
    parallel: int = 1
    executor: ExecutorSpec = field(default_factory=ExecutorSpec)
    resources: Resources = field(default_factory=Resources)
    retries: int = 0
    trial_timeout: float | None = None  # seconds
    timeout: float | None = None  # seconds, the whole sweep
    system_metrics_interval: float = DEFAULT_SYSTEM_METRICS_INTERVAL  # seconds; 0: not sampled
    register: RegisterSpec | None = None  # the best trial's artifact is registered at the end
    wandb: WandbModule = WandbModule.SHIM  # what `import wandb` loads in a program trial
    warnings: tuple[SpecWarning, ...] = field(default=(), compare=False)

    @property
    def metric(self) -> MetricSpec:
        """The (first) objective.

        Raises:
            SpecError: the sweep has no metric (check :attr:`metrics` first).
        """
        if not self.metrics:
            raise SpecError(
                "this sweep has no metric; pass --metric NAME to rank its runs", source=self.source
            )
        return self.metrics[0]

    @property
    def pruned_metric(self) -> str | None:
        """The metric whose intermediate values feed the pruner; None when nothing is pruned."""
        if self.pruner is None or self.pruner.type is PrunerType.NONE or len(self.metrics) != 1:
            return None
        return self.metrics[0].name

    def objective_values(self, run: Run) -> list[float] | None:
        """A trial run's objective values (see :meth:`objective_from`); a function's returned
        objective is read from the run's OBJECTIVE_TAG tag."""
        returned = run.tags.get(OBJECTIVE_TAG)
        return self.objective_from(run.metrics, None if returned is None else float(returned))

    def objective_from(
        self, summaries: Mapping[str, SummaryLike], returned: float | None = None
    ) -> list[float] | None:
        """One value per metric: its last value, or its best by the goal (``summary: best``); a
        single objective the entrypoint returned wins. None when a metric is missing."""
        if returned is not None and len(self.metrics) == 1:
            return [returned]
        values = []
        for metric in self.metrics:
            summary = summaries.get(metric.name)
            if summary is None:
                return None
            if metric.summary is ObjectiveSummary.BEST:
                values.append(summary.max if metric.goal is Goal.MAXIMIZE else summary.min)
            else:
                values.append(summary.last)
        return values

    def nest(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Params as the training function receives them: nested blocks as nested dicts."""
        flat = {k: v for k, v in params.items() if k not in self.nested}
        inner = unflatten({k: v for k, v in params.items() if k in self.nested})
        return {**flat, **inner}


def starved_pruner_note(metric: str) -> str:
    """What a sweep's summary says when its pruner never got a single value of ``metric``."""
    return f"pruning never got a value of {metric!r}, so nothing could be pruned"
