"""The runs table's columns: what each column name shows for a run, and which order key sorts it.

A column is ``name``, ``experiment``, ``status``, ``started``, ``duration``, ``trial``,
``params.KEY``, ``tags.KEY`` or ``metrics.KEY`` (its last value) / ``metrics.KEY.min|max|last|count``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sweeptrack.core.liveness import Liveness
from sweeptrack.core.model import Run
from sweeptrack.reports.formats import format_time
from sweeptrack.reports.runs import duration_s

__all__ = ["BASE", "cell", "default_columns", "known_columns", "order_key", "parse_columns"]

BASE = ("name", "experiment", "status", "started", "duration", "trial")
_ORDER = {
    "name": "run_name",
    "experiment": "experiment",
    "status": "status",
    "started": "start_time",
    "trial": "trial_number",
}
_SUMMARIES = ("last", "min", "max", "count")
MAX_DEFAULT = 8


def _quoted(key: str) -> str:
    return (
        key
        if key.replace("_", "a").isalnum() and not key[:1].isdigit()
        else "`" + key.replace("`", "``") + "`"
    )


def _split(column: str) -> tuple[str, str, str | None]:
    """(entity, key, summary) of a column name; entity "" for the base columns."""
    entity, _, rest = column.partition(".")
    if entity == "metrics":
        key, _, summary = rest.rpartition(".")
        if summary in _SUMMARIES and key:
            return entity, key, summary
        return entity, rest, None
    if entity in ("params", "tags") and rest:
        return entity, rest, None
    return "", column, None


def parse_columns(text: str) -> tuple[str, ...]:
    """Column names from a comma list; unknown base names are dropped."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    return tuple(dict.fromkeys(n for n in names if _split(n)[0] or n in BASE))


def cell(run: Run, column: str, liveness: Liveness, now: int) -> Any:
    entity, key, summary = _split(column)
    if entity == "params":
        return run.params.get(key)
    if entity == "tags":
        return run.tags.get(key)
    if entity == "metrics":
        found = run.metrics.get(key)
        return None if found is None else getattr(found, summary or "last")
    return {
        "name": lambda: run.name,
        "experiment": lambda: run.experiment,
        "status": lambda: liveness.run_status_shown(run, now),
        "started": lambda: format_time(run.start_time),
        "duration": lambda: duration_s(run),
        "trial": lambda: run.trial_number,
    }[key]()


def order_key(column: str) -> str | None:
    """The order-by field that sorts a column; None for one the filter language cannot order by
    (the duration)."""
    entity, key, summary = _split(column)
    if not entity:
        return _ORDER.get(key)
    text = f"{entity}.{_quoted(key)}"
    return text + (f".{summary}" if summary and summary != "last" else "")


def known_columns(runs: Sequence[Run], chosen: Sequence[str]) -> list[str]:
    """Columns to offer in the chooser: the base ones, and every key the shown runs have."""
    params = sorted({k for run in runs for k in run.params})
    metrics = sorted({k for run in runs for k in run.metrics})
    tags = sorted({k for run in runs for k in run.tags})
    found = [*BASE, *(f"params.{k}" for k in params), *(f"metrics.{k}" for k in metrics)]
    found += [f"tags.{k}" for k in tags]
    return list(dict.fromkeys([*found, *chosen]))


def default_columns(runs: Sequence[Run], *, in_sweep: bool) -> tuple[str, ...]:
    """Name, status, start, duration (the trial in a sweep), then params and metrics' last values."""
    params = sorted({k for run in runs for k in run.params})[:MAX_DEFAULT]
    metrics = sorted({k for run in runs for k in run.metrics if not k.startswith("system/")})[:MAX_DEFAULT]
    base = (
        ("trial", "name", "status", "started", "duration")
        if in_sweep
        else ("name", "experiment", "status", "started", "duration")
    )
    return (*base, *(f"params.{k}" for k in params), *(f"metrics.{k}" for k in metrics))
