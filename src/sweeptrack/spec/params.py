"""``parameters:`` -> the search space: every W&B parameter form mapped to :mod:`sweeptrack.core.space`.

How each W&B distribution maps (bounds are values in the space, never exponents):

- ``constant`` / ``value:`` -> Constant; ``categorical`` / ``values:`` (+ ``probabilities``, normalised
  to sum 1) -> Categorical.
- ``int_uniform`` and ``{min, max}`` with two integers -> IntRange; ``uniform`` and ``{min, max}`` with a
  float -> FloatRange. sweeptrack adds ``log: true`` to both.
- ``log_uniform`` takes natural-log bounds: FloatRange(exp(min), exp(max), log). ``log_uniform_values``
  and ``inv_log_uniform_values`` take values: FloatRange(min, max, log). ``inv_log_uniform`` (log(1/X)
  uniform in [min, max]) -> FloatRange(exp(-max), exp(-min), log).
- ``q_uniform``, ``q_log_uniform``, ``q_log_uniform_values``: W&B returns integers when ``q`` is written
  as an integer (``q: 16``), floats otherwise (the default ``q`` is 1.0). An integer ``q`` gives
  IntRange(step=q) over the multiples of q inside the bounds; a float ``q`` gives FloatRange(q=q).
- ``normal``, ``q_normal``, ``log_normal``, ``q_log_normal`` -> Normal; ``beta``, ``q_beta`` -> Beta. A
  sigma of 0 (allowed by W&B) gives a Constant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sweeptrack.core.errors import SpecError, raise_problems
from sweeptrack.core.space import (
    Beta,
    Categorical,
    Constant,
    Distribution,
    FloatRange,
    IntRange,
    Normal,
    is_discrete,
)
from sweeptrack.spec.section import Section, did_you_mean, is_number, show
from sweeptrack.spec.yamlio import plain

__all__ = ["DISTRIBUTIONS", "ParsedParameters", "parse_parameters"]

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_RANGE = ("min", "max")
_NORMAL = {"mu": 0.0, "sigma": 1.0}
_BETA = {"a": 1.0, "b": 1.0}
_Q = {"q": 1.0}

# distribution -> (required fields, optional fields with their defaults)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "constant": (("value",), {}),
    "categorical": (("values",), {"probabilities": None}),
    "categorical_w_probabilities": (("values", "probabilities"), {}),
    "int_uniform": (_RANGE, {"log": False}),
    "uniform": (_RANGE, {"log": False}),
    "q_uniform": (_RANGE, _Q),
    "log_uniform": (_RANGE, {}),
    "log_uniform_values": (_RANGE, {}),
    "q_log_uniform": (_RANGE, _Q),
    "q_log_uniform_values": (_RANGE, _Q),
    "inv_log_uniform": (_RANGE, {}),
    "inv_log_uniform_values": (_RANGE, {}),
    "normal": ((), _NORMAL),
    "q_normal": ((), {**_NORMAL, **_Q}),
    "log_normal": ((), _NORMAL),
    "q_log_normal": ((), {**_NORMAL, **_Q}),
    "beta": ((), _BETA),
    "q_beta": ((), {**_BETA, **_Q}),
}
PARAM_KEYS = frozenset({"distribution", "parameters"}).union(
    *({*req, *opt} for req, opt in DISTRIBUTIONS.values())
)
SLASH_WARNING = (
    "'/' in a parameter name: W&B accepts it, but --name=value flags and filter strings read it badly"
)
_MAX_EXP = 709.0  # math.exp overflows a float above this


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedParameters:
    """The flat space, the names that came from nested blocks, and each name's path and line."""

    space: dict[str, Distribution] = field(default_factory=dict)
    nested: set[str] = field(default_factory=set)
    where: dict[str, tuple[str, int]] = field(default_factory=dict)


def parse_parameters(block: Section, *, grid: bool) -> ParsedParameters:
    """Parse a ``parameters:`` block (nested blocks flattened to dotted names, in file order).

    With ``grid`` every parameter must be discrete (a grid cannot enumerate a continuous range).
    """
    parsed = ParsedParameters()
    _parse_block(block, "", parsed)
    problems = [
        SpecError(
            "grid needs discrete values; use values: or int_uniform",
            source=block.source,
            line=parsed.where[name][1],
            path=parsed.where[name][0],
        )
        for name, dist in parsed.space.items()
        if grid and not is_discrete(dist)
    ]
    raise_problems(problems)
    return parsed


def _parse_block(block: Section, prefix: str, parsed: ParsedParameters) -> None:
    """Each parameter is checked on its own, so every bad one is reported (raised at the end)."""
    if not block.data:
        raise block.error(None, "needs at least one parameter, e.g. lr: {min: 0.0001, max: 0.1}")
    before = len(block.problems.errors)
    for name in block:
        block.problems.attempt(_parse_one, block, name, prefix, parsed)
    found = block.problems.errors[before:]
    del block.problems.errors[before:]  # raised here instead, and collected once by the caller
    raise_problems(found)


def _parse_one(block: Section, name: str, prefix: str, parsed: ParsedParameters) -> None:
    if "/" in name and NAME.match(name.replace("/", "_")):
        block.warn(name, f"{SLASH_WARNING}; prefer . or _")
    elif not NAME.match(name):
        raise block.error(
            name, f"bad parameter name {name!r}: start with a letter or _, then letters, digits, _ . -"
        )
    full = prefix + name
    if full in parsed.space:
        raise block.error(name, f"parameter {full!r} is defined twice (once as a dotted name)")
    param = block.section(name, what="a mapping such as {values: [...]}, {min: .., max: ..} or {value: ..}")
    if "parameters" in param:
        for key in param:
            if key != "parameters":
                raise param.error(key, "a nested block holds only parameters:")
        _parse_block(param.section("parameters"), full + ".", parsed)
        return
    parsed.space[full] = parse_distribution(param)
    parsed.where[full] = (param.path, param.line)
    if prefix:
        parsed.nested.add(full)


def parse_distribution(param: Section) -> Distribution:
    """One parameter mapping -> its distribution."""
    param.check_keys(PARAM_KEYS)
    kind = _kind(param)
    required, optional = DISTRIBUTIONS[kind]
    for key in param:
        if key != "distribution" and key not in required and key not in optional:
            takes = ", ".join([*required, *optional])
            if key == "probabilities":
                raise param.error(key, f"probabilities weight values: (a categorical); {kind} takes {takes}")
            raise param.error(key, f"{kind} does not take {key}; it takes {takes}")
    for key in required:
        if key not in param:
            raise param.error(key, f"required by {kind}; it takes {', '.join([*required, *optional])}")
    return _BUILDERS[kind](param, kind)


def _kind(param: Section) -> str:
    if "distribution" in param:
        kind = param.get("distribution")
        if not isinstance(kind, str) or kind not in DISTRIBUTIONS:
            shown = show(kind)
            hint = did_you_mean(kind, DISTRIBUTIONS) if isinstance(kind, str) else ""
            raise param.error("distribution", f"unknown distribution {shown}; {hint}".rstrip("; "))
        return kind
    if "value" in param:
        return "constant"
    if "values" in param:
        return "categorical_w_probabilities" if "probabilities" in param else "categorical"
    if "min" in param or "max" in param:
        bounds = [param.get(key) for key in _RANGE if key in param]
        ints = all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
        return "int_uniform" if ints else "uniform"
    raise param.error(
        None, "cannot tell the distribution: give value:, values:, min: and max:, or distribution:"
    )


def _constant(param: Section, kind: str) -> Distribution:
    return Constant(value=plain(param.get("value")))


def _categorical(param: Section, kind: str) -> Distribution:
    values = param.seq("values")
    probabilities = _probabilities(param, len(values)) if "probabilities" in param else None
    return Categorical(values=tuple(plain(v) for v in values), probabilities=probabilities)


def _probabilities(param: Section, count: int) -> tuple[float, ...]:
    weights = param.seq("probabilities")
    if len(weights) != count:
        raise param.error(
            "probabilities", f"has {len(weights)} entries but values has {count}; give one per value"
        )
    for index, weight in enumerate(weights):
        if not is_number(weight) or not math.isfinite(weight) or weight < 0:
            raise param.item_error("probabilities", index, f"must be a number >= 0, got {show(weight)}")
    total = float(sum(weights))
    if total <= 0:
        raise param.error("probabilities", "must not all be 0")
    return tuple(float(w) / total for w in weights)


def _bounds(param: Section, kind: str, *, positive: bool = False) -> tuple[float, float]:
    low = param.number("min")
    high = param.number("max")
    assert low is not None and high is not None  # required fields were checked
    if positive and low <= 0:
        raise param.error("min", f"must be > 0 for {kind}, got {low}")
    if low > high:
        raise param.error("min", f"must be <= max, got min {low} > max {high}")
    return low, high


def _log_flag(param: Section, low: float, kind: str) -> bool:
    log = param.boolean("log", False)
    if log and low <= 0:
        raise param.error("min", f"must be > 0 for a log range, got {low}")
    return log


def _int_uniform(param: Section, kind: str) -> Distribution:
    for key in _RANGE:
        value = param.get(key)
        if not is_number(value) or not float(value).is_integer():
            raise param.error(key, f"must be an integer for int_uniform, got {show(value)}")
    low, high = _bounds(param, kind)
    return IntRange(low=int(low), high=int(high), log=_log_flag(param, low, kind))


def _uniform(param: Section, kind: str) -> Distribution:
    low, high = _bounds(param, kind)
    return FloatRange(low=float(low), high=float(high), log=_log_flag(param, low, kind))


def _exp(param: Section, key: str, exponent: float) -> float:
    if abs(exponent) > _MAX_EXP:
        raise param.error(key, f"must be within ±{_MAX_EXP:g}: the bounds of this distribution are exponents")
    return math.exp(exponent)


def _log_ranges(param: Section, kind: str) -> Distribution:
    values = kind.endswith("_values")
    low, high = _bounds(param, kind, positive=values)
    if kind == "inv_log_uniform":  # X = exp(-U), U uniform in [min, max]
        low, high = _exp(param, "max", -high), _exp(param, "min", -low)
    elif not values:
        low, high = _exp(param, "min", low), _exp(param, "max", high)
    if kind.startswith("q_"):
        return _quantized(param, low, high, log=True)
    return FloatRange(low=float(low), high=float(high), log=True)


def _q_uniform(param: Section, kind: str) -> Distribution:
    low, high = _bounds(param, kind)
    return _quantized(param, low, high, log=False)


def _quantized(param: Section, low: float, high: float, *, log: bool) -> Distribution:
    q = param.number("q", 1.0, above=0)
    assert q is not None
    if not isinstance(q, int):
        return FloatRange(low=float(low), high=float(high), log=log, q=float(q))
    first, last = math.ceil(low / q) * q, math.floor(high / q) * q
    if first > last:
        raise param.error("q", f"no multiple of q={q} lies in [{low:g}, {high:g}]")
    return IntRange(low=first, high=last, log=log, step=q)


def _normal(param: Section, kind: str) -> Distribution:
    mu = param.number("mu", 0.0)
    sigma = param.number("sigma", 1.0, minimum=0)
    q = param.number("q", 1.0, above=0) if kind.startswith("q_") else None
    assert mu is not None and sigma is not None
    log = kind.endswith("log_normal")
    if sigma == 0:
        value = _exp(param, "mu", mu) if log else float(mu)
        return Constant(value=value if q is None else round(value / q) * q)
    return Normal(mu=float(mu), sigma=float(sigma), log=log, q=None if q is None else float(q))


def _beta(param: Section, kind: str) -> Distribution:
    a = param.number("a", 1.0, above=0)
    b = param.number("b", 1.0, above=0)
    q = param.number("q", 1.0, above=0) if kind == "q_beta" else None
    assert a is not None and b is not None
    return Beta(a=float(a), b=float(b), q=None if q is None else float(q))


_BUILDERS: dict[str, Callable[[Section, str], Distribution]] = {
    "constant": _constant,
    "categorical": _categorical,
    "categorical_w_probabilities": _categorical,
    "int_uniform": _int_uniform,
    "uniform": _uniform,
    "q_uniform": _q_uniform,
    "log_uniform": _log_ranges,
    "log_uniform_values": _log_ranges,
    "q_log_uniform": _log_ranges,
    "q_log_uniform_values": _log_ranges,
    "inv_log_uniform": _log_ranges,
    "inv_log_uniform_values": _log_ranges,
    "normal": _normal,
    "q_normal": _normal,
    "log_normal": _normal,
    "q_log_normal": _normal,
    "beta": _beta,
    "q_beta": _beta,
}
