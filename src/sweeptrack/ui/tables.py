"""The run page's and the comparison's tables as :class:`sweeptrack.reports.templates.Table`,
drawn by the report's ``partials/table.html`` (the one table markup of both kinds of page)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from sweeptrack.core.model import Artifact, Dataset, Run
from sweeptrack.reports.compare import Comparison, ComparisonRow
from sweeptrack.reports.formats import text_cell
from sweeptrack.reports.templates import Cell, Column, Table, TableRow

__all__ = ["artifacts_table", "comparison_table", "datasets_table", "metrics_table", "pairs_table"]


def _text(value: Any) -> Cell:
    if isinstance(value, float):
        return Cell(text=text_cell(value), cls="num", title=text_cell(value, exact=True))
    return Cell(
        text=text_cell(value), cls="num" if isinstance(value, int) and not isinstance(value, bool) else None
    )


def _columns(*labels: str) -> list[Column]:
    return [Column(label=label) for label in labels]


def pairs_table(table_id: str, labels: tuple[str, str], pairs: Sequence[tuple[str, Any]]) -> Table:
    """Two columns: a name and its value (params, environment, packages)."""
    rows = [TableRow(cells=[Cell(text=str(key)), _text(value)]) for key, value in pairs]
    return Table(id=table_id, cls="grid", columns=_columns(*labels), rows=rows)


def metrics_table(run: Run) -> Table:
    rows = [
        TableRow(
            cells=[
                Cell(text=key),
                *(_text(getattr(m, s)) for s in ("last", "min", "max", "count", "last_step")),
            ]
        )
        for key, m in sorted(run.metrics.items())
    ]
    return Table(
        id="metrics",
        cls="grid",
        columns=_columns("metric", "last", "min", "max", "count", "last step"),
        rows=rows,
    )


def datasets_table(datasets: Sequence[Dataset]) -> Table:
    rows = [
        TableRow(
            cells=[
                Cell(text=d.name),
                Cell(text=d.context or ""),
                Cell(text=d.digest, cls="digest"),
                _text(d.size),
                Cell(text=d.source),
            ]
        )
        for d in datasets
    ]
    return Table(
        id="datasets",
        cls="grid",
        columns=_columns("dataset", "context", "digest", "size", "source"),
        rows=rows,
    )


def artifacts_table(run: Run, artifacts: Sequence[Artifact]) -> Table:
    rows = [
        TableRow(
            cells=[
                Cell(text=a.path, href=f"/runs/{run.id}/artifacts/{quote(a.path)}"),
                _text(a.size),
                Cell(text=a.sha256[:16], title=a.sha256, cls="digest"),
            ]
        )
        for a in artifacts
    ]
    return Table(id="artifacts", cls="grid", columns=_columns("artifact", "size", "sha256"), rows=rows)


def comparison_table(
    comparison: Comparison, rows: Sequence[ComparisonRow], names: Mapping[str, str]
) -> Table:
    """Section and key, then one column per run; differing rows are marked ``differs``."""
    columns = [
        Column(label="section"),
        Column(label="key"),
        *(
            Column(label=f"{names[run.id]} ({short})")
            for run, short in zip(comparison.runs, comparison.run_columns, strict=True)
        ),
    ]
    body = [
        TableRow(
            cells=[Cell(text=row.section.value), Cell(text=row.key), *(_text(v) for v in row.values)],
            cls="differs" if row.differs else "same",
            data=[("section", row.section.value)],
        )
        for row in rows
    ]
    return Table(id="comparison", cls="grid compare", columns=columns, rows=body)
