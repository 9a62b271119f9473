"""The report page's tables as plain data: leaderboard, seed groups, side-by-side comparison,
and the summary's facts.

Nothing here writes markup: each builder returns a :class:`~sweeptrack.reports.templates.Table`
(texts, sort keys, CSS classes) that ``partials/table.html`` draws with autoescaping, so a param
called ``<script>`` is text on the page. Sortable cells carry their sort key in ``data-v``: a
number (``Infinity`` for inf), empty for NaN and missing values (sorted last), absent for text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sweeptrack.core.model import RunStatus
from sweeptrack.reports.report.model import Comparison, Compute, ReportData, Row, SeedGroup
from sweeptrack.reports.report.values import format_duration, format_value, last_line, number
from sweeptrack.reports.runs import short_id
from sweeptrack.reports.templates import Cell, Column, Group, Table, TableRow, status_class

__all__ = [
    "comparison_table",
    "failures",
    "leaderboard_table",
    "seed_groups_table",
    "summary_facts",
]

_MARKED = {RunStatus.PRUNED.value, RunStatus.FAILED.value, RunStatus.KILLED.value, RunStatus.RUNNING.value}


def row_class(status: str) -> str:
    """``row-<status>``, and ``marked`` for the runs that did not finish (pruned, failed, ...)."""
    return "row-" + status_class(status)[7:] + (" marked" if status in _MARKED else "")


def sort_key(value: Any) -> str | None:
    """``data-v`` for a value: numbers as JS reads them, "" for NaN and missing, None for text."""
    if value is None:
        return ""
    value = number(value)
    if value is None:
        return None
    if math.isnan(value):
        return ""
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def cell(value: Any, *, text: str | None = None, title: str | None = None, cls: str | None = None) -> Cell:
    """A cell sorted by ``value``, showing ``text`` or else the formatted value."""
    shown = format_value(value) if text is None else text
    return Cell(text=shown, sort=sort_key(value), title=title, cls=cls)


def _sortable(groups: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> tuple[list[Group], list[Column]]:
    """Column groups over the columns (``(label, css class)``), every column sortable."""
    top = [Group(label=name, span=len(cols)) for name, cols in groups if cols]
    columns = [
        Column(label=text, cls=cls, title=text, sortable=True) for _, cols in groups for text, cls in cols
    ]
    return top, columns


def _objective_value(row: Row, index: int) -> float | None:
    if index < len(row.objectives):
        return row.objectives[index]
    return row.objective if index == 0 else None


def _metric_cell(row: Row, key: str) -> Cell:
    summary = row.metrics.get(key) or {}
    title = ", ".join(f"{k} {format_value(v)}" for k, v in summary.items())
    return cell(summary.get("last"), title=title or None)


def _leaderboard_row(data: ReportData, row: Row, metrics: Sequence[str]) -> TableRow:
    # The status shows once, as the status column's badge; the row's class greys or reddens it.
    cells = [
        cell(row.rank),
        cell(row.trial_number),
        Cell(text=row.name, sort=row.name, title=row.run_id, code=short_id(row.run_id)),
        Cell(text=row.status, sort=row.status, badge=f"badge {status_class(row.status)}"),
        *(cell(_objective_value(row, i), cls="objective") for i in range(len(data.objectives))),
        *(_metric_cell(row, key) for key in metrics),
        *(cell(row.params.get(name)) for name in data.param_names),
        cell(row.duration_s, text=format_duration(row.duration_s)),
    ]
    if data.seed_groups:
        group = data.seed_groups[row.seed_group] if row.seed_group is not None else None
        cells.append(cell(group.rank if group else None))
    return TableRow(cells=cells, cls=row_class(row.status), data=[("run-id", row.run_id)])


def leaderboard_table(data: ReportData) -> Table:
    """Every run, ranked rows first; columns: rank, trial, run, status, objectives, the last
    value of every other metric, every param, duration, and the seed group when there are any."""
    objective_metrics = {objective.metric for objective in data.objectives}
    metrics = [key for key in data.metric_names if key not in objective_metrics]
    arrow = {"maximize": "↑", "minimize": "↓"}
    groups, columns = _sortable(
        [
            ("run", [("rank", "num"), ("trial", "num"), ("run", "text"), ("status", "text")]),
            ("objective", [(f"{o.metric} {arrow[o.goal]} ({o.summary})", "num") for o in data.objectives]),
            ("metrics (last)", [(key, "num") for key in metrics]),
            ("params", [(name, "param") for name in data.param_names]),
            ("", [("duration", "num")] + ([("seed group", "num")] if data.seed_groups else [])),
        ]
    )
    rows = [_leaderboard_row(data, row, metrics) for row in data.leaderboard]
    return Table(id="leaderboard", cls="sortable", groups=groups, columns=columns, rows=rows)


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{name}={format_value(value)}" for name, value in params.items())


def seed_groups_table(data: ReportData) -> Table:
    """Seed groups ranked by mean, with the 95% interval, n, and whether it overlaps the leader's."""
    names = {row.run_id: row.name for row in data.leaderboard}

    def row(group: SeedGroup) -> TableRow:
        overlap = Cell(text="overlaps leader", badge="badge overlap") if group.overlaps_leader else Cell()
        runs = ", ".join(names.get(run_id, short_id(run_id)) for run_id in group.run_ids)
        interval = f"[{format_value(group.low)}, {format_value(group.high)}]"
        cells = [
            cell(group.rank),
            cell(group.mean),
            cell(group.low, text=interval),
            cell(group.n),
            overlap,
            cell(_params_text(group.params)),
            cell(runs),
        ]
        return TableRow(cells=cells, cls="overlaps" if group.overlaps_leader else None)

    cols = [("rank", "num"), ("mean", "num"), ("95% interval", "num"), ("n", "num"), ("overlap", "text")]
    groups, columns = _sortable([("group", cols), ("", [("params", "text"), ("runs", "text")])])
    rows = [row(group) for group in data.seed_groups]
    return Table(id="seed-groups", cls="sortable", groups=groups, columns=columns, rows=rows)


def comparison_table(comparison: Comparison) -> Table:
    """One column per run, one row per fact grouped by section; rows where the runs differ
    are marked (class ``differs``)."""
    columns = [
        Column(label=name, title=rid) for rid, name in zip(comparison.run_ids, comparison.names, strict=False)
    ]
    rows: list[TableRow] = []
    section = None
    width = len(comparison.names)
    for item in comparison.rows:
        if item.section != section:
            section = item.section
            rows.append(TableRow(section=section))
        values = list(item.values) + [None] * (width - len(item.values))
        rows.append(
            TableRow(
                head=Cell(text=item.key),
                cells=[Cell(text=format_value(value)) for value in values],
                cls="differs" if item.differs else "same",
            )
        )
    return Table(id="comparison", cls="comparison", corner=True, columns=columns, rows=rows)


def summary_facts(data: ReportData) -> list[tuple[str, str]]:
    """The summary's facts after the best run: times and compute (empty ones are left out)."""
    s = data.summary
    compute = f"{s.compute.epochs_run:,} epochs, {s.compute.trial_seconds:,.1f} trial-seconds"
    facts = [
        ("started", s.started_at or ""),
        ("ended", s.ended_at or ""),
        ("wall time", format_duration(s.wall_seconds)),
        ("compute used", compute),
        ("saved by pruning", _saved(s.compute)),
    ]
    return [(key, text) for key, text in facts if text]


def _saved(compute: Compute) -> str:
    """``"120 epochs (25%), 300.0 trial-seconds (20%)"``: shares of what unpruned trials would run."""

    def share(used: float, saved: float) -> str:
        return f" ({saved / (used + saved):.0%})" if used + saved > 0 else ""

    epochs = f"{compute.epochs_saved:,} epochs{share(compute.epochs_run, compute.epochs_saved)}"
    seconds = compute.trial_seconds_saved
    return f"{epochs}, {seconds:,.1f} trial-seconds{share(compute.trial_seconds, seconds)}"


def failures(data: ReportData) -> list[tuple[str, str, str, str]]:
    """Each failed or killed run: (status, "trial N name", the error's last line, the whole error)."""
    found = []
    for failure in data.summary.failures:
        error = failure.error or "no error was recorded"
        trial = f"trial {failure.trial_number} " if failure.trial_number is not None else ""
        found.append((failure.status, trial + failure.name, last_line(error) or error, error))
    return found
