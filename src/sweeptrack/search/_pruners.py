"""The Optuna pruner for a spec's ``early_terminate`` (``PrunerSpec``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.pruners import BasePruner

from sweeptrack.core.errors import SpecError
from sweeptrack.search._wandb_hyperband import WandbHyperbandPruner
from sweeptrack.spec.model import PrunerSpec, PrunerType

__all__ = ["counts_reports", "make_pruner"]

_PRUNERS: dict[PrunerType, Callable[..., BasePruner]] = {
    PrunerType.MEDIAN: optuna.pruners.MedianPruner,
    PrunerType.PERCENTILE: optuna.pruners.PercentilePruner,
    PrunerType.SUCCESSIVE_HALVING: optuna.pruners.SuccessiveHalvingPruner,
    PrunerType.HYPERBAND: optuna.pruners.HyperbandPruner,
    PrunerType.THRESHOLD: optuna.pruners.ThresholdPruner,
    PrunerType.WILCOXON: optuna.pruners.WilcoxonPruner,
    PrunerType.NONE: optuna.pruners.NopPruner,
    PrunerType.WANDB_HYPERBAND: WandbHyperbandPruner,
}


def _as_spec(wrapped: Any) -> PrunerSpec | None:
    """``wrapped`` of a patient pruner: a PrunerSpec, a mapping with ``type``, or None."""
    if wrapped is None or isinstance(wrapped, PrunerSpec):
        return wrapped
    if isinstance(wrapped, Mapping) and "type" in wrapped:
        options = {k: v for k, v in wrapped.items() if k != "type"}
        return PrunerSpec(type=PrunerType(wrapped["type"]), options=options)
    raise ValueError(f"wrapped must be a pruner or null, got {wrapped!r}")


def _build(spec: PrunerSpec) -> BasePruner:
    options = dict(spec.options)
    # Patient and Wilcoxon are experimental in Optuna; tests run with warnings as errors and
    # users should not see the warning for a documented sweeptrack option.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        if spec.type is PrunerType.PATIENT:
            wrapped = _as_spec(options.pop("wrapped", options.pop("wrapped_pruner", None)))
            inner = None if wrapped is None else _build(wrapped)
            return optuna.pruners.PatientPruner(inner, **options)
        return _PRUNERS[spec.type](**options)


def make_pruner(spec: PrunerSpec | None, *, source: str = "<string>") -> BasePruner:
    """The pruner for ``spec`` (no pruning when None); options are the constructor's keywords.

    Raises:
        SpecError: options the pruner does not take, or values it refuses.
    """
    if spec is None:
        return optuna.pruners.NopPruner()
    try:
        return _build(spec)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{spec.type.value}: {exc}", source=source, path="early_terminate") from exc


def counts_reports(spec: PrunerSpec | None) -> bool:
    """Whether the pruner counts logged values (W&B hyperband, also inside a patient pruner)
    instead of reading step values."""
    if spec is None:
        return False
    if spec.type is PrunerType.WANDB_HYPERBAND:
        return True
    if spec.type is PrunerType.PATIENT:
        wrapped = spec.options.get("wrapped", spec.options.get("wrapped_pruner"))
        try:
            return counts_reports(_as_spec(wrapped))
        except ValueError:
            return False
    return False
