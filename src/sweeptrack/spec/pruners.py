"""``early_terminate:`` -> PrunerSpec: W&B's hyperband (W&B semantics) or an Optuna pruner.

``type: hyperband`` with W&B keys (``min_iter``, or ``max_iter`` and ``s``; ``eta``; ``strict``) becomes
``PrunerType.WANDB_HYPERBAND`` with options normalised to ``{"brackets": [...], "eta": .., "strict": ..}``,
where brackets are counts of logged values, ascending, computed as W&B does (truncated to integers).
``type: hyperband`` with Optuna keys becomes ``PrunerType.HYPERBAND``. The other types take the options
of their Optuna constructor, checked here by name and range (this layer does not import optuna).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from sweeptrack.spec.model import PrunerSpec, PrunerType
from sweeptrack.spec.section import Section, did_you_mean, show

__all__ = ["PRUNER_TYPES", "parse_early_terminate"]

Check = Callable[[Section, str], Any]

PRUNER_TYPES: dict[str, PrunerType] = {
    "hyperband": PrunerType.HYPERBAND,
    "median": PrunerType.MEDIAN,
    "percentile": PrunerType.PERCENTILE,
    "successive_halving": PrunerType.SUCCESSIVE_HALVING,
    "asha": PrunerType.SUCCESSIVE_HALVING,
    "threshold": PrunerType.THRESHOLD,
    "wilcoxon": PrunerType.WILCOXON,
    "patient": PrunerType.PATIENT,
    "none": PrunerType.NONE,
}
WANDB_HYPERBAND_KEYS = ("min_iter", "max_iter", "s", "eta", "strict")
_MAX_BRACKETS = 100  # as W&B; a bracket past a trial's last logged value is harmless
_MAX_BRACKET = 10**6  # counts of logged values; no trial logs a metric a million times
DEFAULT_ETA = 3
# W&B's schema says strict defaults to true, its docs say false; we take the docs' (milder) reading.
DEFAULT_STRICT = False


def _int(minimum: int) -> Check:
    return lambda sec, key: sec.integer(key, minimum=minimum)


def _number(*, minimum: float | None = None, maximum: float | None = None) -> Check:
    def check(sec: Section, key: str) -> Any:
        value = sec.number(key, minimum=minimum)
        if maximum is not None and value is not None and value > maximum:
            raise sec.error(key, f"must be a number in [{minimum:g}, {maximum:g}], got {value}")
        return value

    return check


def _int_or_auto(minimum: int) -> Check:
    def check(sec: Section, key: str) -> Any:
        value = sec.get(key)
        if value == "auto":
            return value
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise sec.error(key, f"must be an integer >= {minimum} or 'auto', got {show(value)}")
        return value

    return check


def _wrapped(sec: Section, key: str) -> PrunerSpec | None:
    if sec.get(key) is None:
        return None
    return parse_early_terminate(sec.section(key, what="a pruner mapping such as {type: median} or null"))


_STEPS: dict[str, Check] = {"n_warmup_steps": _int(0), "interval_steps": _int(1)}
_MEDIAN: dict[str, Check] = {"n_startup_trials": _int(0), **_STEPS, "n_min_trials": _int(1)}
OPTIONS: dict[PrunerType, dict[str, Check]] = {
    PrunerType.MEDIAN: _MEDIAN,
    PrunerType.PERCENTILE: {"percentile": _number(minimum=0, maximum=100), **_MEDIAN},
    PrunerType.SUCCESSIVE_HALVING: {
        "min_resource": _int_or_auto(1),
        "reduction_factor": _int(2),
        "min_early_stopping_rate": _int(0),
        "bootstrap_count": _int(0),
    },
    PrunerType.HYPERBAND: {
        "min_resource": _int(1),
        "max_resource": _int_or_auto(1),
        "reduction_factor": _int(2),
        "bootstrap_count": _int(0),
    },
    PrunerType.THRESHOLD: {"lower": _number(), "upper": _number(), **_STEPS},
    PrunerType.WILCOXON: {"p_threshold": _number(minimum=0, maximum=1), "n_startup_steps": _int(0)},
    PrunerType.PATIENT: {"patience": _int(0), "min_delta": _number(minimum=0), "wrapped": _wrapped},
    PrunerType.NONE: {},
}
REQUIRED: dict[PrunerType, tuple[str, ...]] = {
    PrunerType.PERCENTILE: ("percentile",),
    PrunerType.PATIENT: ("patience",),
}
_ALIASES = {"wrapped_pruner": "wrapped"}  # Optuna's PatientPruner argument name


def parse_early_terminate(sec: Section) -> PrunerSpec:
    """Parse an ``early_terminate`` mapping (or a ``wrapped`` pruner inside ``patient``)."""
    name = sec.require("type", f"one of {', '.join(PRUNER_TYPES)}")
    if not isinstance(name, str) or name not in PRUNER_TYPES:
        hint = did_you_mean(name, PRUNER_TYPES, listing="one of") if isinstance(name, str) else ""
        raise sec.error(
            "type", f"unknown pruner type {show(name)}; {hint or 'one of ' + ', '.join(PRUNER_TYPES)}"
        )
    if name == "hyperband" and any(key in sec for key in WANDB_HYPERBAND_KEYS):
        return _wandb_hyperband(sec)
    ptype = PRUNER_TYPES[name]
    options = _options(sec, name, ptype)
    _check_combination(sec, name, options)
    return PrunerSpec(type=ptype, options=options)


def _options(sec: Section, name: str, ptype: PrunerType) -> dict[str, Any]:
    allowed = OPTIONS[ptype]
    suggest = [*allowed, *WANDB_HYPERBAND_KEYS] if ptype is PrunerType.HYPERBAND else list(allowed)
    options: dict[str, Any] = {}
    for key in sec:
        option = _ALIASES.get(key, key) if ptype is PrunerType.PATIENT else key
        if key == "type":
            continue
        if option not in allowed:
            close = difflib.get_close_matches(key, suggest, n=1, cutoff=0.6)
            takes = f"it takes {', '.join(allowed)}" if allowed else "it takes no options"
            hint = f"did you mean {close[0]!r}?" if close else takes
            raise sec.error(key, f"unknown option for the {name} pruner; {hint}")
        options[option] = allowed[option](sec, key)
    for key in REQUIRED.get(ptype, ()):
        if key not in options:
            raise sec.error(key, f"required by the {name} pruner")
    return options


def _check_combination(sec: Section, name: str, options: Mapping[str, Any]) -> None:
    if name == "hyperband" and not options:
        raise sec.error(
            None,
            "hyperband needs min_iter, or max_iter and s (W&B), or min_resource / max_resource (Optuna)",
        )
    if name == "threshold":
        lower, upper = options.get("lower"), options.get("upper")
        if lower is None and upper is None:
            raise sec.error(None, "the threshold pruner needs lower, upper or both")
        if lower is not None and upper is not None and lower > upper:
            raise sec.error("lower", f"must be <= upper, got lower {lower} > upper {upper}")
    if name == "hyperband":
        low, high = options.get("min_resource", 1), options.get("max_resource", "auto")
        if high == "auto" and options.get("bootstrap_count", 0) > 0:
            raise sec.error(
                "bootstrap_count", "needs an integer max_resource (Optuna refuses 'auto' with it)"
            )
        if high != "auto" and high < low:
            raise sec.error("max_resource", f"must be >= min_resource ({low}), got {high}")


def _wandb_hyperband(sec: Section) -> PrunerSpec:
    optuna_keys = [key for key in sec if key in OPTIONS[PrunerType.HYPERBAND]]
    if optuna_keys:
        raise sec.error(
            optuna_keys[0], "W&B hyperband keys (min_iter, max_iter, s, eta) cannot be mixed with Optuna's"
        )
    sec.check_keys(("type", *WANDB_HYPERBAND_KEYS))
    min_iter = sec.integer("min_iter", minimum=1)
    max_iter = sec.integer("max_iter", minimum=1)
    s = sec.integer("s", minimum=1)
    eta = sec.number("eta", DEFAULT_ETA, above=1)
    assert eta is not None
    strict = sec.boolean("strict", DEFAULT_STRICT)
    if max_iter is not None and s is not None:
        brackets = _brackets_down(max_iter, s, eta)
        if not brackets:
            raise sec.error("s", f"max_iter {max_iter} / eta^k gives no bracket >= 1; lower s or eta")
    elif min_iter is not None:
        brackets = _brackets_up(min_iter, eta, max_iter)
    else:
        key = "s" if max_iter is not None else "min_iter"
        raise sec.error(key, "required; W&B hyperband needs min_iter, or max_iter and s")
    return PrunerSpec(
        type=PrunerType.WANDB_HYPERBAND, options={"brackets": brackets, "eta": eta, "strict": strict}
    )


def _brackets_down(max_iter: int, s: int, eta: float) -> list[int]:
    """max_iter/eta, max_iter/eta^2, ... (s of them, those >= 1), ascending."""
    bands: set[int] = set()
    band = float(max_iter)
    for _ in range(s):
        band /= eta
        if band < 1:
            break
        bands.add(int(band))
    return sorted(bands)


def _brackets_up(min_iter: int, eta: float, max_iter: int | None) -> list[int]:
    """min_iter, min_iter*eta, min_iter*eta^2, ... up to max_iter when given."""
    cap = _MAX_BRACKET if max_iter is None else max_iter
    bands: list[int] = []
    band = float(min_iter)
    while band <= cap and len(bands) < _MAX_BRACKETS:
        if not bands or int(band) > bands[-1]:
            bands.append(int(band))
        band *= eta
    return bands
