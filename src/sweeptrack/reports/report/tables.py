"""The report page's HTML tables: summary, leaderboard, seed groups, side-by-side comparison.

Every name and value from the data is escaped here (``html.escape``), so a param called
``<script>`` is text on the page. Sortable cells carry their sort key in ``data-v``: a number
(``Infinity`` for inf), empty for NaN and missing values (sorted last), absent for text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from html import escape
from typing import Any

from sweeptrack.core.model import RunStatus
from sweeptrack.reports.report.model import Comparison, Compute, ReportData, Row, SeedGroup
from sweeptrack.reports.report.values import format_duration, format_value, last_line, number
from sweeptrack.reports.runs import short_id

__all__ = ["comparison_table", "failures_list", "leaderboard_table", "seed_groups_table", "summary_list"]

_MARKED = {RunStatus.PRUNED.value, RunStatus.FAILED.value, RunStatus.KILLED.value, RunStatus.RUNNING.value}


def status_class(status: str) -> str:
    return "status-" + re.sub(r"[^a-z0-9_-]", "", status.lower())


def row_class(status: str) -> str:
    """``row-<status>``, and ``marked`` for the runs that did not finish (pruned, failed, ...)."""
    return "row-" + status_class(status)[7:] + (" marked" if status in _MARKED else "")


def badge(status: str) -> str:
    return f'<span class="badge {status_class(status)}">{escape(status)}</span>'


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


def cell(value: Any, *, text: str | None = None, title: str | None = None, cls: str | None = None) -> str:
    """One ``<td>``: ``text`` is markup already escaped; otherwise the value is formatted."""
    key = sort_key(value)
    attrs = "" if key is None else f' data-v="{escape(key)}"'
    attrs += f' title="{escape(title)}"' if title else ""
    attrs += f' class="{cls}"' if cls else ""
    return f"<td{attrs}>{escape(format_value(value)) if text is None else text}</td>"


def _header(groups: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> str:
    """Two header rows: the column groups, then the columns (``(label, css class)``) that sort."""
    top = "".join(
        f'<th colspan="{len(cols)}" class="group">{escape(name)}</th>' for name, cols in groups if cols
    )
    names = "".join(
        f'<th class="{cls}" title="{escape(text)}" tabindex="0">{escape(text)}</th>'
        for _, cols in groups
        for text, cls in cols
    )
    return f"<thead><tr>{top}</tr><tr>{names}</tr></thead>"


def _objective_value(row: Row, index: int) -> float | None:
    if index < len(row.objectives):
        return row.objectives[index]
    return row.objective if index == 0 else None


def _metric_cell(row: Row, key: str) -> str:
    summary = row.metrics.get(key) or {}
    title = ", ".join(f"{k} {format_value(v)}" for k, v in summary.items())
    return cell(summary.get("last"), title=title or None)


def _leaderboard_row(data: ReportData, row: Row, metrics: Sequence[str]) -> str:
    # The status shows once, as the status column's badge; the row's class greys or reddens it.
    name = f'{escape(row.name)} <code class="rid">{escape(short_id(row.run_id))}</code>'
    cells = [
        cell(row.rank),
        cell(row.trial_number),
        f'<td data-v="{escape(row.name)}" title="{escape(row.run_id)}">{name}</td>',
        f'<td data-v="{escape(row.status)}">{badge(row.status)}</td>',
        *(cell(_objective_value(row, i), cls="objective") for i in range(len(data.objectives))),
        *(_metric_cell(row, key) for key in metrics),
        *(cell(row.params.get(name)) for name in data.param_names),
        cell(row.duration_s, text=escape(format_duration(row.duration_s))),
    ]
    if data.seed_groups:
        group = data.seed_groups[row.seed_group] if row.seed_group is not None else None
        cells.append(cell(group.rank if group else None))
    return f'<tr class="{row_class(row.status)}" data-run-id="{escape(row.run_id)}">{"".join(cells)}</tr>'


def leaderboard_table(data: ReportData) -> str:
    """Every run, ranked rows first; columns: rank, trial, run, status, objectives, the last
    value of every other metric, every param, duration, and the seed group when there are any."""
    objective_metrics = {objective.metric for objective in data.objectives}
    metrics = [key for key in data.metric_names if key not in objective_metrics]
    arrow = {"maximize": "↑", "minimize": "↓"}
    groups: list[tuple[str, list[tuple[str, str]]]] = [
        ("run", [("rank", "num"), ("trial", "num"), ("run", "text"), ("status", "text")]),
        ("objective", [(f"{o.metric} {arrow[o.goal]} ({o.summary})", "num") for o in data.objectives]),
        ("metrics (last)", [(key, "num") for key in metrics]),
        ("params", [(name, "param") for name in data.param_names]),
        ("", [("duration", "num")] + ([("seed group", "num")] if data.seed_groups else [])),
    ]
    body = "".join(_leaderboard_row(data, row, metrics) for row in data.leaderboard)
    return f'<table id="leaderboard" class="sortable">{_header(groups)}<tbody>{body}</tbody></table>'


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{name}={format_value(value)}" for name, value in params.items())


def seed_groups_table(data: ReportData) -> str:
    """Seed groups ranked by mean, with the 95% interval, n, and whether it overlaps the leader's."""
    names = {row.run_id: row.name for row in data.leaderboard}

    def row(group: SeedGroup) -> str:
        overlap = '<span class="badge overlap">overlaps leader</span>' if group.overlaps_leader else ""
        runs = ", ".join(names.get(run_id, short_id(run_id)) for run_id in group.run_ids)
        interval = f"[{format_value(group.low)}, {format_value(group.high)}]"
        return (
            f'<tr class="{"overlaps" if group.overlaps_leader else ""}">{cell(group.rank)}{cell(group.mean)}'
            f"{cell(group.low, text=escape(interval))}{cell(group.n)}<td>{overlap}</td>"
            f"{cell(_params_text(group.params))}{cell(runs)}</tr>"
        )

    cols = [("rank", "num"), ("mean", "num"), ("95% interval", "num"), ("n", "num"), ("overlap", "text")]
    header = _header([("group", cols), ("", [("params", "text"), ("runs", "text")])])
    body = "".join(row(group) for group in data.seed_groups)
    return f'<table id="seed-groups" class="sortable">{header}<tbody>{body}</tbody></table>'


def comparison_table(comparison: Comparison) -> str:
    """One column per run, one row per fact grouped by section; rows where the runs differ
    are marked (class ``differs``)."""
    head = "".join(
        f'<th title="{escape(rid)}">{escape(name)}</th>'
        for rid, name in zip(comparison.run_ids, comparison.names, strict=False)
    )
    rows: list[str] = []
    section = None
    width = len(comparison.names)
    for item in comparison.rows:
        if item.section != section:
            section = item.section
            rows.append(f'<tr class="section"><th colspan="{width + 1}">{escape(section)}</th></tr>')
        values = list(item.values) + [None] * (width - len(item.values))
        tds = "".join(f"<td>{escape(format_value(value))}</td>" for value in values)
        rows.append(
            f'<tr class="{"differs" if item.differs else "same"}"><th>{escape(item.key)}</th>{tds}</tr>'
        )
    return (
        f'<table id="comparison" class="comparison"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def summary_list(data: ReportData) -> str:
    """The summary as a definition list: state, outcomes, best trial, times, compute."""
    s = data.summary
    counts = " ".join(f"{badge(status)} {n}" for status, n in sorted(s.counts.items()))
    items: list[tuple[str, str]] = [
        ("state", escape(s.state or "")),
        ("trials", f"{s.trials} &nbsp; {counts}"),
    ]
    if data.objectives:
        text = ", ".join(f"{o.metric} ({o.summary}, {o.goal})" for o in data.objectives)
        items.append(("objective", escape(text)))
    if s.best is not None:
        trial = f" (trial {s.best.trial_number})" if s.best.trial_number is not None else ""
        items.append(("best", f"{escape(s.best.name + trial)}: <b>{escape(format_value(s.best.value))}</b>"))
    else:
        items.append(("best", "none yet: no run has an objective value"))
    items += [
        ("started", escape(s.started_at or "")),
        ("ended", escape(s.ended_at or "")),
        ("wall time", escape(format_duration(s.wall_seconds))),
        (
            "compute used",
            escape(f"{s.compute.epochs_run:,} epochs, {s.compute.trial_seconds:,.1f} trial-seconds"),
        ),
        ("saved by pruning", escape(_saved(s.compute))),
    ]
    rows = "".join(f"<dt>{escape(key)}</dt><dd>{value}</dd>" for key, value in items if value)
    return f'<dl class="summary">{rows}</dl>'


def _saved(compute: Compute) -> str:
    """``"120 epochs (25%), 300.0 trial-seconds (20%)"``: shares of what unpruned trials would run."""

    def share(used: float, saved: float) -> str:
        return f" ({saved / (used + saved):.0%})" if used + saved > 0 else ""

    epochs = f"{compute.epochs_saved:,} epochs{share(compute.epochs_run, compute.epochs_saved)}"
    seconds = compute.trial_seconds_saved
    return f"{epochs}, {seconds:,.1f} trial-seconds{share(compute.trial_seconds, seconds)}"


def failures_list(data: ReportData) -> str:
    """Each failed or killed run with its error: the last line shown, the whole text on a click."""
    items = []
    for failure in data.summary.failures:
        error = failure.error or "no error was recorded"
        last = last_line(error) or error
        trial = f"trial {failure.trial_number} " if failure.trial_number is not None else ""
        items.append(
            f"<li>{badge(failure.status)} {escape(trial + failure.name)}: "
            f"<details><summary>{escape(last)}</summary><pre>{escape(error)}</pre></details></li>"
        )
    return f'<ul class="failures">{"".join(items)}</ul>'
