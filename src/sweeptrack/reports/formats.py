"""Render reports as a rich table, CSV, JSON or Markdown.

A :class:`Report` is one or more :class:`Table` objects (column names and rows of plain cells) plus,
optionally, the structured data its JSON output should be. Cells keep their Python types until
rendering: floats print with ``nan``/``inf``/``-inf`` in every text format, and JSON writes those
three as strings so the output stays valid JSON (``json.loads`` and ``jq`` both accept it).

Every cell is a user's text, escaped for where it goes: Markdown shows it literally
(:func:`markdown_text`: HTML, Markdown syntax and ``|`` are escaped), and CSV neutralises text
that a spreadsheet would run as a formula (:func:`csv_text`: ``'`` before a leading ``=``, ``+``,
``-``, ``@``, tab or carriage return, unless ``raw``); numbers such as ``-0.5`` stay numbers.

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
import enum
import html
import io
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table as RichTable

__all__ = [
    "Format",
    "Report",
    "Table",
    "csv_text",
    "format_time",
    "jsonable",
    "markdown_text",
    "render",
    "text_cell",
    "write_report",
]

_HIGHLIGHT_STYLE = "bold yellow"
_MAX_PLAIN_WIDTH = 400
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
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    title: str | None = None
    name: str = ""
    highlight: tuple[bool, ...] = ()

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """What a command prints.

    Attributes:
        tables: The tables, in order.
        data: What ``--format json`` prints; None prints the one table as a list of records, or
            several tables as an object of record lists keyed by table name.
    """

    tables: tuple[Table, ...]
    data: Any = None


def format_time(ms: int | None) -> str | None:
    """Milliseconds since the epoch as ISO 8601 local time with its UTC offset, to the second."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000).astimezone().isoformat(timespec="seconds")


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


def render(report: Report, fmt: Format, *, raw: bool = False) -> str:
    """The report as CSV, JSON or Markdown text (ending with a newline).

    Several tables in CSV are separated by a blank line, each block headed by a ``# title`` line.
    ``raw`` writes CSV cells as they are, formulas included (see :func:`csv_text`).
    For :attr:`Format.TABLE` this gives the plain (uncoloured) rich rendering.
    """
    match fmt:
        case Format.JSON:
            return _render_json(report)
        case Format.CSV:
            return _render_csv(report.tables, raw=raw)
        case Format.MD:
            return "\n".join(_markdown(table) for table in report.tables)
        case Format.TABLE:
            buffer = io.StringIO()
            write_report(report, fmt, buffer)
            return buffer.getvalue()


def write_report(report: Report, fmt: Format, file: IO[str] | None = None, *, raw: bool = False) -> None:
    """Write the report to ``file`` (default: standard output); ``raw`` as for :func:`render`.

    A rich table is coloured only on a terminal; elsewhere (a pipe, a file) it is plain text as
    wide as it needs, so nothing is folded to 80 columns.
    """
    if fmt is not Format.TABLE:
        (file or sys.stdout).write(render(report, fmt, raw=raw))
        return
    from rich.console import Console

    console = Console(file=file, markup=False, emoji=False, highlight=False)
    tables = [_rich_table(table) for table in report.tables]
    if not console.is_terminal:
        options = console.options.update_width(_MAX_PLAIN_WIDTH)
        widest = max((console.measure(t, options=options).maximum for t in tables), default=80)
        console.width = max(widest, 80)
    for index, table in enumerate(tables):
        if index:
            console.print()
        console.print(table)


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


def _rich_table(table: Table) -> RichTable:
    from rich.table import Table as RichTable
    from rich.text import Text

    rich_table = RichTable(title=table.title, title_justify="left")
    for column in table.columns:
        rich_table.add_column(Text(column), overflow="fold")
    for index, row in enumerate(table.rows):
        emphasise = index < len(table.highlight) and table.highlight[index]
        rich_table.add_row(
            *(Text(text_cell(cell)) for cell in row), style=_HIGHLIGHT_STYLE if emphasise else None
        )
    return rich_table
