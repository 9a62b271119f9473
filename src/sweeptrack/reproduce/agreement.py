"""Whether a re-run agrees with its original: metric summaries side by side, within a tolerance.

Two values agree when ``|a - b| <= rtol * max(|a|, |b|)`` (two NaNs agree, as do two equal
infinities). System metrics (``system/...``: CPU, RAM, GPU use) are shown but never compared:
they measure the machine, not the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sweeptrack.core.model import Run
from sweeptrack.reports.formats import Report, Table

__all__ = ["DEFAULT_RTOL", "Agreement", "MetricRow", "compare_runs_metrics", "values_agree"]

DEFAULT_RTOL = 1e-6
_SUMMARIES = ("last", "min", "max")
_SYSTEM = "system/"


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricRow:
    """One summary of one metric in both runs; None where a run has no such metric."""

    key: str
    summary: str
    original: float | None
    reproduced: float | None
    within: bool

    @property
    def difference(self) -> float | None:
        if self.original is None or self.reproduced is None:
            return None
        return self.reproduced - self.original


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    """The comparison of a reproduced run with its original."""

    original: Run
    reproduced: Run
    rows: tuple[MetricRow, ...]
    rtol: float

    @property
    def within(self) -> bool:
        """Same final status and every compared summary within the tolerance."""
        return self.original.status is self.reproduced.status and all(row.within for row in self.rows)

    @property
    def verdict(self) -> str:
        """The last line the command prints."""
        if self.within:
            return f"reproduced within tolerance (rtol {self.rtol:g})"
        if self.reproduced.status is not self.original.status:
            return (
                f"not reproduced: the run ended {self.reproduced.status.value}, the original "
                f"{self.original.status.value}"
            )
        off = sorted({row.key for row in self.rows if not row.within})
        return f"not reproduced within tolerance (rtol {self.rtol:g}): {', '.join(off)} differ"

    def report(self) -> Report:
        columns = ("metric", "summary", self.original.id[:8], self.reproduced.id[:8], "difference", "within")
        rows = tuple(
            (row.key, row.summary, row.original, row.reproduced, row.difference, row.within)
            for row in self.rows
        )
        table = Table(
            columns=columns,
            rows=rows,
            title=f"Run {self.original.id[:8]} (original) and {self.reproduced.id[:8]} (reproduced)",
            name="metrics",
            highlight=tuple(not row.within for row in self.rows),
        )
        return Report(tables=(table,))


def values_agree(a: float | None, b: float | None, rtol: float) -> bool:
    """Whether two values agree within ``rtol`` (None agrees with None only)."""
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rtol * max(abs(a), abs(b))


def compare_runs_metrics(original: Run, reproduced: Run, rtol: float = DEFAULT_RTOL) -> Agreement:
    """Each metric's last, min and max in both runs, and whether they agree within ``rtol``."""
    rows = []
    for key in sorted(original.metrics.keys() | reproduced.metrics.keys()):
        before, after = original.metrics.get(key), reproduced.metrics.get(key)
        for name in _SUMMARIES:
            a = None if before is None else float(getattr(before, name))
            b = None if after is None else float(getattr(after, name))
            within = key.startswith(_SYSTEM) or values_agree(a, b, rtol)
            rows.append(MetricRow(key=key, summary=name, original=a, reproduced=b, within=within))
    return Agreement(original=original, reproduced=reproduced, rows=tuple(rows), rtol=rtol)
