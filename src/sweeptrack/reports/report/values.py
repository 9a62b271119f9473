"""Report values made ready for drawing and for text: finite numbers, labels, params as plot axes.

Plotly draws numbers and category labels; report values are whatever a run logged (NaN and inf
included, strings, bools, lists). Everything that crosses into a figure passes through here first,
so a figure never sees a NaN, an inf, or markup it would interpret.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Axis",
    "Range",
    "column",
    "describe_skipped",
    "finite",
    "format_duration",
    "format_value",
    "label",
    "last_line",
    "number",
    "param_axis",
    "rank_params",
    "robust_range",
]

MAX_CATEGORIES = 50  # a param with more distinct non-numeric values is not drawn on an axis
_LOG_SPAN = 100.0  # positive numbers spanning this factor or more get a log axis


# How JSON writes them: pydantic's ser_json_inf_nan="strings" gives "NaN", "Infinity", "-Infinity".
_NON_FINITE = frozenset({"nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"})


def number(value: Any) -> float | None:
    """The value as a float when it is a number, NaN and inf included, also as the strings
    ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (or ``"nan"``, ``"inf"``) of a report read back
    from JSON; None otherwise (bools are not numbers here)."""
    if isinstance(value, str):
        return float(value) if value.lower() in _NON_FINITE else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def finite(value: Any) -> float | None:
    """The value as a float when it is a finite number (see :func:`number`), else None."""
    as_float = number(value)
    return as_float if as_float is not None and math.isfinite(as_float) else None


def column(values: Sequence[Any]) -> np.ndarray | list[Any]:
    """Values for a plotly array: finite numbers as a float array, texts as an object array, so
    plotly validates them at once instead of element by element; anything else (a None for a gap)
    stays a list."""
    items = list(values)
    if all(not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v) for v in items):
        return np.asarray(items, dtype=float)
    if all(isinstance(v, str) for v in items):
        return np.asarray(items, dtype=object)
    return items


def format_value(value: Any) -> str:
    """Short text for a logged value: floats to 6 significant digits, lists and dicts as JSON."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(value) if not math.isfinite(value) else f"{value:.6g}"
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, default=str, allow_nan=True)
    return str(value)


def format_duration(seconds: float | None) -> str:
    """``"12.3 s"``, ``"4 min 05 s"`` or ``"2 h 03 min"``; empty when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def last_line(text: str | None) -> str:
    """The last non-blank line of ``text``, stripped (where a traceback says what went wrong)."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def label(value: Any) -> str:
    """Text for plotly (names, titles, ticks, hover): plotly reads a few HTML tags in text, so
    markup is escaped and shows literally."""
    return html.escape(value if isinstance(value, str) else format_value(value), quote=False)


@dataclass(frozen=True, slots=True)
class Axis:
    """One param as a plot axis over a list of runs.

    ``values`` holds one number per run (None where the run has no usable value). Categories
    (strings, bools, lists, mixed types) are numbered in sorted order with ``tickvals`` and
    ``ticktext``; positive numbers spanning two decades or more are drawn as log10 (``log``).
    """

    name: str
    values: list[float | None]
    categories: list[str] | None = None
    log: bool = False

    @property
    def title(self) -> str:
        return f"log10({self.name})" if self.log else self.name

    @property
    def complete(self) -> bool:
        return all(value is not None for value in self.values)

    def ticks(self) -> tuple[list[float], list[str]] | None:
        """Tick positions and their text: the categories, or the decades of a log axis."""
        if self.categories is not None:
            return list(range(len(self.categories))), [label(text) for text in self.categories]
        if self.log:
            numbers = [value for value in self.values if value is not None]
            decades = range(math.floor(min(numbers)), math.ceil(max(numbers)) + 1)
            return [float(d) for d in decades], [f"1e{d}" for d in decades]
        return None

    def raw(self) -> list[Any]:
        """Values in the units of the param (categories as their text, log axes undone)."""
        if self.categories is not None:
            names = self.categories
            return [None if v is None else names[int(v)] for v in self.values]
        if self.log:
            return [None if v is None else 10.0**v for v in self.values]
        return list(self.values)


def param_axis(name: str, values: Sequence[Any]) -> Axis | str:
    """The param's values (one per run, None where missing) as an :class:`Axis`, or why they
    cannot be one (a short reason such as ``"the same in every run"``)."""
    present = [value for value in values if value is not None]
    if not present:
        return "no values"
    if all(number(value) is not None for value in present):
        numbers = [finite(value) for value in values]
        usable = [number for number in numbers if number is not None]
        if not usable:
            return "no finite values"
        if len(set(usable)) < 2:
            return "the same in every run"
        if min(usable) > 0 and max(usable) / min(usable) >= _LOG_SPAN:
            return Axis(name, [None if n is None else math.log10(n) for n in numbers], log=True)
        return Axis(name, numbers)
    texts = [None if value is None else format_value(value) for value in values]
    categories = sorted({text for text in texts if text is not None})
    if len(categories) < 2:
        return "the same in every run"
    if len(categories) > MAX_CATEGORIES:
        return f"{len(categories)} distinct values"
    index = {text: float(i) for i, text in enumerate(categories)}
    return Axis(name, [None if text is None else index[text] for text in texts], categories=categories)


def rank_params(axes: Sequence[Axis], ranking: Sequence[str]) -> list[Axis]:
    """Axes in the order of the importance ``ranking`` (see ``Importances.ranking``); params it
    does not name after them, most varied first."""
    position = {name: index for index, name in enumerate(ranking)}

    def key(axis: Axis) -> tuple[int, int]:
        distinct = len({value for value in axis.values if value is not None})
        return (position.get(axis.name, len(position)), -distinct)

    return sorted(axes, key=key)


@dataclass(frozen=True, slots=True)
class Range:
    """A robust range for an axis or a colour scale: what the finished trials span, widened to
    take in the other values near it; values beyond it are drawn at its edge (clipped) and marked.
    """

    low: float
    high: float

    def clip(self, value: float) -> float:
        return min(max(value, self.low), self.high)

    def outside(self, value: float) -> bool:
        return not self.low <= value <= self.high

    def padded(self, share: float = 0.06) -> list[float]:
        """The range widened by ``share`` of its span each side, so markers at an edge show whole."""
        pad = (self.high - self.low) * share or abs(self.high) * share or share
        return [self.low - pad, self.high + pad]


_REACH = 0.25  # values within this share of the finished trials' span beyond it are not outliers


def robust_range(values: Sequence[float], finished: Sequence[float]) -> Range | None:
    """The range to draw ``values`` in when one of them lies far outside what the ``finished``
    trials span (a pruned trial stopped at its first bad epoch, a diverged run); None when every
    value is near that span, or when fewer than 2 finished values give one.

    Example:
        >>> robust_range([0.144, 0.93, 0.95, 0.97], finished=[0.93, 0.97])
        Range(low=0.93, high=0.97)
    """
    if len(finished) < 2:
        return None
    low, high = min(finished), max(finished)
    reach = ((high - low) or abs(high) or 1.0) * _REACH
    kept = [value for value in values if low - reach <= value <= high + reach]
    if len(kept) == len(values):
        return None
    return Range(min([low, *kept]), max([high, *kept]))


def describe_skipped(skipped: Mapping[str, str], limit: int = 10) -> str:
    """``"a (the same in every run), b (no values)"``, the first ``limit`` names, then a count."""
    parts = [f"{name} ({why})" for name, why in list(skipped.items())[:limit]]
    if len(skipped) > limit:
        parts.append(f"and {len(skipped) - limit} more")
    return ", ".join(parts)
