"""One spec parameter as Optuna sees it: its Optuna name and distribution, and the transforms between
Optuna's internal value and the value sweeptrack logs.

Optuna names: a parameter whose internal value is the logged value keeps its spec name (integer
ranges, float ranges, categoricals whose values Optuna accepts). The others get a suffix so nobody
mistakes the internal value for the logged one:

- ``NAME:u``: normal and beta parameters. Optuna samples a quantile ``u`` in (1e-9, 1 - 1e-9) and
  the logged value is the inverse CDF at ``u`` (``exp`` of it for log-normal), then q-rounded.
- ``NAME:index``: categoricals with values Optuna cannot hold (lists, dicts) or cannot tell apart
  (``1`` and ``True``); Optuna samples the index into ``values``.

Float ranges with ``q`` keep their name: Optuna samples the continuous value and the logged value is
``round(x / q) * q`` (W&B semantics, so it may fall just outside ``[low, high]``); restoring clamps
the logged value back into the range.
"""

from __future__ import annotations

import abc
import copy
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from statistics import NormalDist
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from scipy.special import betainc, betaincinv

from sweeptrack.core.errors import SpecError
from sweeptrack.core.space import Beta, Categorical, FloatRange, IntRange, Normal

__all__ = ["Param", "make_param", "quantize"]

EPS = 1e-9  # quantiles stay inside (0, 1): the inverse CDF of 0 or 1 is infinite
_OPTUNA_CHOICE_TYPES = (type(None), bool, int, float, str)


def quantize(x: float, q: float, *, as_int: bool) -> float | int:
    """``round(x / q) * q``, without float noise (``0.30000000000000004`` becomes ``0.3``)."""
    k = round(x / q)
    if as_int:
        return int(k * q)
    exponent = Decimal(repr(float(q))).as_tuple().exponent
    digits = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return round(k * q, digits)


def _clamp(x: float, low: float, high: float) -> float:
    return min(max(x, low), high)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _canonical(value: Any) -> Any:
    """Lists and tuples compare equal (a JSON round trip turns tuples into lists)."""
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


class Param(abc.ABC):
    """One spec parameter: ``name`` (as logged), ``key`` and ``distribution`` (as Optuna has it)."""

    name: str
    key: str
    distribution: BaseDistribution
    weights: tuple[float, ...] | None = None

    @abc.abstractmethod
    def decode(self, internal: Any) -> Any:
        """Optuna's value -> the logged value."""

    @abc.abstractmethod
    def encode(self, value: Any) -> Any:
        """A logged value -> an Optuna value inside the distribution (clamped where needed)."""

    def grid(self) -> Sequence[Any] | None:
        """The internal values a grid enumerates, or None for a continuous parameter."""
        return None


class CategoricalParam(Param):
    def __init__(self, name: str, spec: Categorical) -> None:
        self.name = name
        self.values = tuple(spec.values)
        # ``index`` finds the first equal value: 1 and True, or 1 and 1.0, make it index-mapped.
        self.native = all(isinstance(v, _OPTUNA_CHOICE_TYPES) for v in self.values) and all(
            self.values.index(v) == i for i, v in enumerate(self.values)
        )
        self.key = name if self.native else f"{name}:index"
        choices: tuple[Any, ...] = self.values if self.native else tuple(range(len(self.values)))
        self.distribution = CategoricalDistribution(choices)
        self.choices = choices
        if spec.probabilities is not None and len(spec.probabilities) == len(self.values):
            self.weights = tuple(float(p) for p in spec.probabilities)
        self._canonical = [_canonical(v) for v in self.values]

    def decode(self, internal: Any) -> Any:
        # A copy: training code that changes a list or dict value must not change the spec.
        return internal if self.native else copy.deepcopy(self.values[internal])

    def encode(self, value: Any) -> Any:
        wanted = _canonical(value)
        exact = [i for i, c in enumerate(self._canonical) if type(c) is type(wanted) and c == wanted]
        loose = [i for i, c in enumerate(self._canonical) if c == wanted]  # 1.0 read back for 1
        matches = exact or loose
        if matches:
            return self.choices[matches[0]]
        raise ValueError(f"{self.name}: {value!r} is not one of {list(self.values)!r}")

    def grid(self) -> Sequence[Any]:
        return self.choices


class IntParam(Param):
    """An integer range. With ``log`` and a step > 1 (W&B's q_log_uniform_values with an integer
    q), Optuna samples the multiplier k log-uniformly and the value is k * step, which is W&B's
    round(X / q) * q for a log-uniform X."""

    def __init__(self, name: str, spec: IntRange, *, source: str) -> None:
        self.name = self.key = name
        step = int(spec.step)
        if step < 1 or spec.high < spec.low or (spec.log and spec.low < 1) or (spec.log and spec.high < step):
            raise SpecError(
                "an integer range needs low <= high and step >= 1, and low >= 1 and high >= step when log",
                source=source,
                path=f"parameters.{name}",
            )
        self.scaled = spec.log and step > 1
        self.step = step
        if self.scaled:
            self.low = -(-int(spec.low) // step) * step
            self.high = int(spec.high) // step * step
            self.distribution = IntDistribution(self.low // step, self.high // step, log=True)
        else:
            self.low = int(spec.low)
            self.high = self.low + (int(spec.high) - self.low) // step * step  # Optuna warns otherwise
            self.distribution = IntDistribution(self.low, self.high, log=spec.log, step=step)

    def decode(self, internal: Any) -> int:
        return int(internal) * self.step if self.scaled else int(internal)

    def encode(self, value: Any) -> int:
        if self.scaled:
            return int(_clamp(round(float(value) / self.step), self.low // self.step, self.high // self.step))
        k = round((float(value) - self.low) / self.step)
        return int(_clamp(self.low + k * self.step, self.low, self.high))

    def grid(self) -> Sequence[Any]:
        return range(self.low, self.high + 1, self.step)


class FloatParam(Param):
    def __init__(self, name: str, spec: FloatRange, *, source: str) -> None:
        self.name = self.key = name
        if spec.high < spec.low or (spec.log and spec.low <= 0) or (spec.q is not None and spec.q <= 0):
            raise SpecError(
                "a float range needs low <= high, low > 0 when log, and q > 0",
                source=source,
                path=f"parameters.{name}",
            )
        self.low, self.high, self.q = float(spec.low), float(spec.high), spec.q
        self.as_int = _is_int(spec.q) and _is_int(spec.low) and _is_int(spec.high)
        self.distribution = FloatDistribution(self.low, self.high, log=spec.log)

    def decode(self, internal: Any) -> float | int:
        if self.q is None:
            return float(internal)
        return quantize(float(internal), self.q, as_int=self.as_int)

    def encode(self, value: Any) -> float:
        return _clamp(float(value), self.low, self.high)


class QuantileParam(Param):
    """A distribution sampled through its quantile: normal, log-normal and beta parameters."""

    def __init__(
        self,
        name: str,
        *,
        inverse_cdf: Callable[[float], float],
        cdf: Callable[[float], float],
        log: bool = False,
        q: float | None = None,
    ) -> None:
        self.name = name
        self.key = f"{name}:u"
        self.distribution = FloatDistribution(EPS, 1.0 - EPS)
        self._inverse_cdf, self._cdf, self._log, self._q = inverse_cdf, cdf, log, q

    def decode(self, internal: Any) -> float | int:
        x = self._inverse_cdf(float(internal))
        if self._log:
            x = math.exp(x)
        if self._q is not None:
            return quantize(x, self._q, as_int=_is_int(self._q))
        return x

    def encode(self, value: Any) -> float:
        x = float(value)
        if self._log:
            if x <= 0:
                return EPS
            x = math.log(x)
        return _clamp(self._cdf(x), EPS, 1.0 - EPS)


def _normal(name: str, spec: Normal, *, source: str) -> Param:
    if spec.sigma <= 0:
        raise SpecError("sigma must be > 0", source=source, path=f"parameters.{name}.sigma")
    dist = NormalDist(spec.mu, spec.sigma)
    return QuantileParam(name, inverse_cdf=dist.inv_cdf, cdf=dist.cdf, log=spec.log, q=spec.q)


def _beta(name: str, spec: Beta, *, source: str) -> Param:
    if spec.a <= 0 or spec.b <= 0:
        raise SpecError("a and b must be > 0", source=source, path=f"parameters.{name}")
    a, b = float(spec.a), float(spec.b)
    return QuantileParam(
        name,
        inverse_cdf=lambda u: float(betaincinv(a, b, u)),
        cdf=lambda x: float(betainc(a, b, _clamp(x, 0.0, 1.0))),
        q=spec.q,
    )


def make_param(name: str, spec: Categorical | IntRange | FloatRange | Normal | Beta, *, source: str) -> Param:
    """The :class:`Param` for one non-constant spec distribution."""
    if isinstance(spec, Categorical):
        return CategoricalParam(name, spec)
    if isinstance(spec, IntRange):
        return IntParam(name, spec, source=source)
    if isinstance(spec, FloatRange):
        return FloatParam(name, spec, source=source)
    if isinstance(spec, Normal):
        return _normal(name, spec, source=source)
    return _beta(name, spec, source=source)
