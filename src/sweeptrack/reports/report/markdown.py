"""The Markdown report: summary, the top-N table, seed groups, comparison, failures and notes.

Compact enough for a pull request comment or a CI log. Every value from the database is shown as
text, escaped by :func:`~sweeptrack.reports.formats.markdown_text` as in every Markdown table:
HTML in a param name or value (``<script>``) and Markdown syntax (a link, ``|``) show literally.

Example:
    >>> print(render_markdown(collect_report(store, sweep="quickstart")))   # doctest: +SKIP
    ## Sweep quickstart
    ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sweeptrack.reports.formats import Format, Report, Table, markdown_text, render, text_cell
from sweeptrack.reports.report.model import ReportData, Row
from sweeptrack.reports.report.values import last_line
from sweeptrack.reports.runs import short_id

__all__ = ["MAX_PARAM_COLUMNS", "render_markdown"]

MAX_PARAM_COLUMNS = 8  # the top-N table shows the most important varying params, the HTML all


def _table(columns: Sequence[Any], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """A Markdown table; the renderer escapes every cell and the title."""
    table = Table(
        columns=tuple(text_cell(c) for c in columns), rows=tuple(tuple(r) for r in rows), title=title
    )
    return render(Report(tables=(table,)), Format.MD)


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def _summary(data: ReportData) -> list[str]:
    s = data.summary
    counts = ", ".join(f"{n} {status}" for status, n in s.counts.items() if n)
    objectives = ", ".join(f"{o.metric} ({o.goal}, {o.summary})" for o in data.objectives) or "none"
    c = s.compute
    lines = [
        f"- **experiment**: {markdown_text(data.source.experiment)}"
        + (f" · **state**: {s.state}" if s.state else ""),
        f"- **objective**: {markdown_text(objectives)}",
        f"- **trials**: {s.trials}" + (f" ({counts})" if counts else ""),
    ]
    if s.best is not None:
        best = f"{markdown_text(s.best.name)} (`{short_id(s.best.run_id)}`) = {markdown_text(s.best.value)}"
        lines.append(f"- **best**: {best}")
    lines.append(f"- **wall time**: {_seconds(s.wall_seconds)}")
    lines.append(
        f"- **compute**: {c.epochs_run} epochs, {_seconds(c.trial_seconds)} of trials; saved by pruning: "
        f"{c.epochs_saved} epochs, {_seconds(c.trial_seconds_saved)}"
    )
    return lines


def _param_columns(data: ReportData, rows: Sequence[Row]) -> tuple[list[str], int]:
    """The varying params of the shown rows, most important first; and how many were left out."""
    varying = [n for n in data.param_names if len({repr(r.params.get(n)) for r in rows}) > 1]
    ranking = data.importances.ranking if data.importances else []
    position = {name: index for index, name in enumerate(ranking)}
    varying.sort(key=lambda name: position.get(name, len(position)))  # the importance chart's order
    return varying[:MAX_PARAM_COLUMNS], max(len(varying) - MAX_PARAM_COLUMNS, 0)


def _top(data: ReportData) -> str:
    shown = data.leaderboard[: data.top]
    params, hidden = _param_columns(data, shown)
    objective = data.objectives[0].metric if data.objectives else "objective"
    columns = ["rank", "trial", "name", "status", objective, *params, "seconds"]
    rows = [
        [
            row.rank,
            row.trial_number,
            row.name,
            row.status,
            row.objective,
            *(row.params.get(p) for p in params),
            row.duration_s,
        ]
        for row in shown
    ]
    title = f"Top {len(shown)} of {len(data.leaderboard)}"
    text = _table(columns, rows, title)
    if hidden:
        text += f"\n{hidden} more varying params are in the JSON and HTML reports.\n"
    return text


def _seed_groups(data: ReportData) -> str:
    if not data.seed_groups:
        return ""
    rows = [
        [
            g.rank,
            g.n,
            g.mean,
            f"[{text_cell(g.low)}, {text_cell(g.high)}]",
            "yes" if g.overlaps_leader else "",
            g.params,
        ]
        for g in data.seed_groups[: data.top]
    ]
    title = f"Seed groups (by mean, 95% interval; seed param: {data.seed_param or 'none'})"
    return _table(["rank", "runs", "mean", "95% interval", "overlaps leader", "params"], rows, title)


def _comparison(data: ReportData) -> str:
    """Only the rows where the compared runs differ; what they share is one line under the table
    (their experiment and status by value, the other identical rows counted)."""
    found = data.comparison
    if found is None:
        return ""
    named = [row for row in found.rows if (row.section, row.key) != ("run", "name")]  # the columns say it
    differ = [[row.section, row.key, *row.values] for row in named if row.differs]
    same = [row for row in named if not row.differs]
    runs = f"{len(found.run_ids)} runs"
    shared = [f"{row.key} {text_cell(row.values[0])}" for row in same if row.section == "run" and row.values]
    others = len(same) - len(shared)
    if others:
        rows = "1 more identical row" if others == 1 else f"{others} more identical rows"
        shared.append(f"{rows} (in the HTML and JSON reports)")
    every = "both runs" if len(found.run_ids) == 2 else f"all {runs}"
    line = f"Same in {every}: {markdown_text(', '.join(shared))}.\n" if shared else ""
    if not differ:
        return f"### Comparison of {runs}\n\nThe runs differ in nothing compared.\n{line}"
    columns = [
        "section",
        "key",
        *(f"{name} ({short_id(run_id)})" for name, run_id in zip(found.names, found.run_ids, strict=True)),
    ]
    return _table(columns, differ, f"Comparison of {runs} (rows that differ)") + ("\n" + line if line else "")


def _failures(data: ReportData) -> str:
    failures = data.summary.failures
    if not failures:
        return ""
    rows = [[f.trial_number, f.name, f.status, last_line(f.error)] for f in failures[: data.top]]
    return _table(["trial", "name", "status", "reason"], rows, f"Failures ({len(failures)})")


def _notes(data: ReportData) -> str:
    if not data.notes:
        return ""
    lines = ["### Notes", ""]
    lines += [
        f"- **{section}**: {markdown_text(line)}"
        for section, notes in sorted(data.notes.items())
        for line in notes
    ]
    return "\n".join(lines) + "\n"


def render_markdown(data: ReportData) -> str:
    """The report as Markdown text (ending with a newline)."""
    parts = [f"## {markdown_text(data.title)}\n", "\n".join(_summary(data)) + "\n", _top(data)]
    parts += [_seed_groups(data), _comparison(data), _failures(data), _notes(data)]
    footer = f"_sweeptrack report v{data.version}, generated {data.generated_at}_\n"
    return "\n".join(part for part in [*parts, footer] if part)
