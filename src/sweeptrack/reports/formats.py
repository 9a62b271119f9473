"""Render reports as a rich table, CSV, JSON or Markdown.

A :class:`Report` is one or more :class:`Table` objects (column names and rows of plain cells) plus,
optionally, the structured data its JSON output should be. Cells keep their Python types until
rendering: floats print with ``nan``/``inf``/``-inf`` in every text format, and JSON writes those
three as strings so the output stays valid JSON (``json.loads`` and ``jq`` both accept it).

Every cell is a user's text, escaped for where it goes: Markdown shows it literally
(:func:`markdown_text`: HTML, Markdown syntax and ``|`` are escaped), and CSV neutralises text
that a spreadsheet would run as a formula (:func:`csv_text`: ``'`` before a leading ``=``, ``+``,
``-``, ``@``, tab or carriage return, unless ``raw``); numbers such as ``-0.5`` stay numbers.

A rich table fits the width of the terminal (see :mod:`sweeptrack.reports.terminal`). Columns a
table lists in ``hidden`` are left out of every format unless ``columns`` names them; ``columns``
(``--columns``) picks and orders the columns of every format.

Rich is imported only when a rich table is drawn, so importing this module is cheap.

Example:
    >>> table = Table(columns=("key", "value"), rows=(("lr", 0.001), ("loss", float("nan"))))
    >>> print(render(Report(tables=(table,)), Format.CSV), end="")
    key,value
    lr,0.001
    loss,nan
"""

from __future__ import annotations

import csv
import difflib
import enum
import html
import io
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO, Any

from sweeptrack.core.errors import SweepTrackError

__all__ = [
    "Format",
    "Report",
    "Table",
    "Timestamp",
    "close_names",
    "csv_text",
    "format_time",
    "jsonable",
    "markdown_text",
    "render",
    "select_columns",
    "text_cell",
    "write_report",
]

# Backslash-escaped in Markdown: code spans, emphasis, strikethrough, links and images, table
# cells. `_` only where it can start or end emphasis (an underscore inside a word cannot).
_MARKDOWN_SPECIAL = re.compile(r"[\\`*~\[\]|]|(?<![^\W_])_|_(?![^\W_])")
_NEWLINE = re.compile(r"\r\n|\r|\n")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf|nan)", re.IGNORECASE)


class Format(enum.Enum):
    """Output formats of tabular commands; the value is what ``--format`` takes."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    MD = "md"


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """Rows of cells under named columns.

    Attributes:
        columns: Column names; also the keys of each JSON record.
        rows: One tuple of cells per row, as long as ``columns``.
        title: Shown above a rich or Markdown table (not in CSV or JSON).
        name: The key of this table in the JSON object of a report with several tables.
        highlight: Per row, whether a rich table emphasises it (empty: none are).
        hidden: Columns left out unless ``--columns`` names them (e.g. params that are the same
            in every run).
        wrap: Whether a rich table folds long text onto more lines (True) or keeps each row on
            one line and crops text with an ellipsis (False); None: fold in tables of one or two
            columns (field/value sections), crop in wider ones (listings).
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    title: str | None = None
    name: str = ""
    highlight: tuple[bool, ...] = ()
    hidden: frozenset[str] = frozenset()
    wrap: bool | None = None

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def select(self, columns: Sequence[str]) -> Table:
        """This table with only ``columns`` (each one of its columns), in that order."""
        index = [self.columns.index(column) for column in columns]
        rows = tuple(tuple(row[i] for i in index) for row in self.rows)
        return replace(self, columns=tuple(columns), rows=rows, hidden=frozenset())

    def shown(self) -> Table:
        """This table without its hidden columns."""
        if not self.hidden:
            return self
        return self.select([column for column in self.columns if column not in self.hidden])


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """What a command prints.

    Attributes:
        tables: The tables, in order.
        data: What ``--format json`` prints; None prints the one table as a list of records, or
            several tables as an object of record lists keyed by table name.
        notes: Lines printed under a rich table only (``0 runs``), never in CSV, JSON or Markdown.
    """

    tables: tuple[Table, ...]
    data: Any = None
    notes: tuple[str, ...] = ()


class Timestamp(str):
    """ISO 8601 local time with its UTC offset, to the second (``2026-12-05T10:42:07+01:00``): the
    text of CSV, JSON and Markdown. A rich table shows it as :attr:`compact`."""

    __slots__ = ()

    @property
    def compact(self) -> str:
        """Local time without the offset: ``2026-12-05 10:42:07``."""
        return self[:19].replace("T", " ")


def format_time(ms: int | None) -> Timestamp | None:
    """Milliseconds since the epoch as ISO 8601 local time with its UTC offset, to the second."""
    if ms is None:
        return None
    return Timestamp(datetime.fromtimestamp(ms / 1000).astimezone().isoformat(timespec="seconds"))


def text_cell(value: Any, *, exact: bool = False) -> str:
    """One cell as text, the same in every text format.

    Non-finite floats are ``nan``, ``inf`` and ``-inf``; booleans ``true``/``false``; None is
    empty; lists and dicts are JSON. Other floats get 6 significant digits, or with ``exact`` the
    shortest text that reads back as the same float.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value) if exact else f"{value:.6g}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(jsonable(value), sort_keys=True)
    return str(value)


def markdown_text(value: Any) -> str:
    """A cell (see :func:`text_cell`) as Markdown that shows its text literally.

    HTML is escaped (``<script>`` shows as text), Markdown syntax is backslash-escaped (a
    ``[x](http://evil)`` is no link, ``*a*`` no emphasis, ``|`` does not end a table cell), and
    line breaks become ``<br>``.

    >>> markdown_text("<b>[x](http://evil)</b> a|b batch_size _x_")
    '&lt;b&gt;\\\\[x\\\\](http://evil)&lt;/b&gt; a\\\\|b batch_size \\\\_x\\\\_'
    """
    text = html.escape(text_cell(value), quote=False)
    return _NEWLINE.sub("<br>", _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m[0], text))


def csv_text(value: Any, *, raw: bool = False) -> str:
    """A cell as CSV text, exact (see :func:`text_cell`); text a spreadsheet would read as a
    formula gets a leading ``'`` unless ``raw``. Numbers, and text that is a number, stay as
    they are: ``-0.5`` is a number to a spreadsheet, not a formula.

    >>> csv_text('=HYPERLINK("http://evil")'), csv_text(-0.5), csv_text("-1e-3"), csv_text("-1+2")
    ('\\'=HYPERLINK("http://evil")', '-0.5', '-1e-3', "'-1+2")
    """
    text = text_cell(value, exact=True)
    if raw or not text.startswith(_FORMULA_START) or isinstance(value, (int, float)):
        return text
    return text if _NUMBER.fullmatch(text) else "'" + text


def jsonable(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``"nan"``, ``"inf"`` or ``"-inf"``."""
    if isinstance(value, float) and not math.isfinite(value):
        return text_cell(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def render(report: Report, fmt: Format, *, raw: bool = False, columns: Sequence[str] | None = None) -> str:
    """The report as CSV, JSON or Markdown text (ending with a newline).

    Several tables in CSV are separated by a blank line, each block headed by a ``# title`` line.
    ``raw`` writes CSV cells as they are, formulas included (see :func:`csv_text`); ``columns``
    as for :func:`select_columns`. For :attr:`Format.TABLE` this gives the plain (uncoloured)
    rich rendering.
    """
    if fmt is Format.TABLE:
        buffer = io.StringIO()
        write_report(report, fmt, buffer, columns=columns)
        return buffer.getvalue()
    report = select_columns(report, columns)
    match fmt:
        case Format.JSON:
            return _render_json(report)
        case Format.CSV:
            return _render_csv(report.tables, raw=raw)
        case Format.MD:
            return "\n".join(_markdown(table) for table in report.tables)


def write_report(
    report: Report,
    fmt: Format,
    file: IO[str] | None = None,
    *,
    raw: bool = False,
    columns: Sequence[str] | None = None,
) -> None:
    """Write the report to ``file`` (default: standard output); ``raw`` and ``columns`` as for
    :func:`render`.

    A rich table is coloured only on a terminal and fits the terminal's width (``COLUMNS``, else
    the terminal's size, else 80 columns): see :func:`sweeptrack.reports.terminal.write_tables`.
    """
    if fmt is not Format.TABLE:
        (file or sys.stdout).write(render(report, fmt, raw=raw, columns=columns))
        return
    from sweeptrack.reports.terminal import write_tables

    write_tables(select_columns(report, columns), file, fit=not columns)


def select_columns(report: Report, columns: Sequence[str] | None) -> Report:
    """The report with only ``columns``, in that order, in each table that has any of them
    (tables with none are left out); None or empty: every column that is not hidden.

    A report with several tables or its own JSON ``data`` then prints its tables' records as JSON.

    Raises:
        SweepTrackError: a name is no column of any table; the message names the nearest ones.
    """
    if not columns:
        return replace(report, tables=tuple(table.shown() for table in report.tables))
    known = list(dict.fromkeys(column for table in report.tables for column in table.columns))
    for column in columns:
        if column not in known:
            raise SweepTrackError(_unknown_column(column, known))
    tables = tuple(
        table.select([column for column in columns if column in table.columns])
        for table in report.tables
        if any(column in table.columns for column in columns)
    )
    return replace(report, tables=tables, data=None)


def close_names(name: str, known: Sequence[str], *, cutoff: float = 0.6) -> list[str]:
    """The names in ``known`` nearest ``name`` (difflib's ratio at least ``cutoff``): the best
    one and any almost as close, at most three.

    >>> close_names("optimizer.lrr", ["optimizer.lr", "optimizer.name", "seed"])
    ['optimizer.lr']
    """
    scored = []
    for candidate in known:
        matcher = difflib.SequenceMatcher(None, name, candidate)
        if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
            ratio = matcher.ratio()
            if ratio >= cutoff:
                scored.append((ratio, candidate))
    scored.sort(key=lambda item: -item[0])
    best = scored[0][0] if scored else 0.0
    return [candidate for ratio, candidate in scored[:3] if ratio >= best - 0.1]


def _unknown_column(column: str, known: Sequence[str]) -> str:
    close = close_names(column, known, cutoff=0.8)  # columns share prefixes such as "params."
    if close:
        return f"no column {column!r} in --columns; did you mean {', '.join(close)}?"
    return f"no column {column!r} in --columns; the columns are {', '.join(known)}"


def _render_json(report: Report) -> str:
    data = report.data
    if data is None:
        tables = report.tables
        if len(tables) == 1:
            data = tables[0].records()
        else:
            data = {table.name or table.title or str(i): table.records() for i, table in enumerate(tables)}
    return json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n"


def _render_csv(tables: Sequence[Table], *, raw: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for index, table in enumerate(tables):
        if len(tables) > 1:
            if index:
                buffer.write("\n")
            buffer.write(f"# {table.title or table.name}\n")
        writer.writerow([csv_text(column, raw=raw) for column in table.columns])
        writer.writerows([csv_text(cell, raw=raw) for cell in row] for row in table.rows)
    return buffer.getvalue()


def _markdown(table: Table) -> str:
    cell = markdown_text
    lines = [f"### {cell(table.title)}", ""] if table.title else []
    lines.append("| " + " | ".join(cell(c) for c in table.columns) + " |")
    lines.append("|" + "|".join(" --- " for _ in table.columns) + "|")
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows)
    return "\n".join(lines) + "\n"
