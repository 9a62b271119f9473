"""Rich tables that fit the terminal.

The width is rich's: ``COLUMNS`` when set, else the size of the terminal on standard input, output
or error, else 80 columns (so piped output is as wide as the terminal it is typed in, and 80 in CI).

How a table fits (each row stays one line unless the table wraps, see ``Table.wrap``):
- ids, statuses, numbers, booleans and timestamps are never cropped; timestamps show as local
  time to the second (``2026-12-05 10:42:07``);
- other text is cropped with an ellipsis when space is short, the longest cells first;
- when even that does not fit, ``params.*`` and ``metrics.*`` columns are left out from the right
  and one line under the table says how many: ``3 more columns: use --columns or --format csv``;
- a table that ids, numbers and times alone make too wide (``sweep list`` at 80 columns) loses
  columns from the right in the same way, the first one always kept.

Columns the user chose with ``--columns`` are all shown; rich crops them if they cannot fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from sweeptrack.reports.formats import Report, Table, Timestamp, text_cell

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table as RichTable

__all__ = ["DROPPABLE_PREFIXES", "write_tables"]

DROPPABLE_PREFIXES = ("params.", "metrics.")
_HIGHLIGHT_STYLE = "bold yellow"
_FLOOR = 20  # text is cropped to this many characters before columns are left out
_LAST_RESORT = 4  # and further, down to this, when only columns that stay are left
_SHORT = 8  # text this short (a status, an experiment name) is never cropped
_RIGID_HEADERS = frozenset({"id", "rank", "status", "state"})


def write_tables(report: Report, file: IO[str] | None = None, *, fit: bool = True) -> None:
    """Print the report's tables and notes with rich; ``fit``: leave out ``params.*`` and
    ``metrics.*`` columns that do not fit (False: show every column)."""
    from rich.console import Console

    console = Console(file=file, markup=False, emoji=False, highlight=False)
    for index, table in enumerate(report.tables):
        if index:
            console.print()
        _print_table(console, table, fit=fit)
    for note in report.notes:
        console.print(note, style="dim", soft_wrap=True)


def _print_table(console: Console, table: Table, *, fit: bool) -> None:
    from rich.cells import cell_len

    cells = [[_cell_text(cell) for cell in row] for row in table.rows]
    widths = [_natural_width(column, [row[i] for row in cells]) for i, column in enumerate(table.columns)]
    # Text is cropped down to its header (a header is not cropped); short words (statuses) never.
    least = [
        w if w <= _SHORT or _is_rigid(table, i) else max(min(w, cell_len(c)), _LAST_RESORT)
        for i, (c, w) in enumerate(zip(table.columns, widths, strict=True))
    ]
    wrap = len(table.columns) <= 2 if table.wrap is None else table.wrap
    keep = list(range(len(table.columns)))
    if fit and not wrap:
        keep = _columns_that_fit(table.columns, widths, least, console.width)
    cap = None if wrap else _text_cap([widths[i] for i in keep], [least[i] for i in keep], console.width)
    console.print(_rich_table(table, cells, keep, least, widths, wrap=wrap, cap=cap))
    left_out = len(table.columns) - len(keep)
    if left_out:
        noun = "column" if left_out == 1 else "columns"
        console.print(f"{left_out} more {noun}: use --columns or --format csv", style="dim", soft_wrap=True)


def _cell_text(cell: Any) -> str:
    return cell.compact if isinstance(cell, Timestamp) else text_cell(cell)


def _natural_width(column: str, texts: Sequence[str]) -> int:
    from rich.cells import cell_len

    return max(
        [cell_len(column), *(max((cell_len(line) for line in t.splitlines()), default=0) for t in texts)]
    )


def _is_rigid(table: Table, index: int) -> bool:
    """Ids, numbers, booleans and timestamps: cropping them would change what they say."""
    if table.columns[index] in _RIGID_HEADERS:
        return True
    values = [row[index] for row in table.rows if row[index] is not None]
    return bool(values) and all(isinstance(v, int | float | Timestamp) for v in values)


def _table_width(widths: Sequence[int]) -> int:
    """A rich table's width: each column padded by one space a side, with a border between and
    around (rich's default box)."""
    return sum(widths) + 3 * len(widths) + 1


def _cropped(widths: Sequence[int], least: Sequence[int], cap: int) -> list[int]:
    """Column widths with text cropped to ``cap`` characters (never below ``least``)."""
    return [min(w, max(cap, m)) for w, m in zip(widths, least, strict=True)]


def _columns_that_fit(
    columns: Sequence[str], widths: Sequence[int], least: Sequence[int], width: int
) -> list[int]:
    """The indexes of the columns shown: ``params.*``/``metrics.*`` ones are left out from the right
    while the table, with its text cropped to ``_FLOOR`` characters, is wider than ``width``; then,
    if ids, numbers and times alone are too wide, any column from the right but the first."""
    keep = list(range(len(columns)))

    def too_wide(floor: int) -> bool:
        return _table_width(_cropped([widths[i] for i in keep], [least[i] for i in keep], floor)) > width

    droppable = [i for i in keep if columns[i].startswith(DROPPABLE_PREFIXES)]
    while droppable and too_wide(_FLOOR):
        keep.remove(droppable.pop())
    while len(keep) > 1 and too_wide(_LAST_RESORT):
        keep.pop()
    return keep


def _text_cap(widths: Sequence[int], least: Sequence[int], width: int) -> int | None:
    """The widest a text cell may be so that the table fits (None: no cropping needed): the
    longest texts are cropped first, none below ``_LAST_RESORT`` characters."""
    cap = max(widths, default=0)
    if _table_width(widths) <= width:
        return None
    while cap > _LAST_RESORT and _table_width(_cropped(widths, least, cap)) > width:
        cap -= 1
    return cap


def _rich_table(
    table: Table,
    cells: Sequence[Sequence[str]],
    keep: Sequence[int],
    least: Sequence[int],
    widths: Sequence[int],
    *,
    wrap: bool,
    cap: int | None,
) -> RichTable:
    from rich.table import Table as RichTable
    from rich.text import Text

    rich_table = RichTable(title=table.title, title_justify="left")
    for i in keep:
        rigid = least[i] == widths[i]  # nothing to crop: ids, numbers, timestamps, short text
        if wrap and not rigid:
            rich_table.add_column(Text(table.columns[i]), overflow="fold")
        else:
            limit = None if cap is None or rigid else max(cap, least[i])
            rich_table.add_column(Text(table.columns[i]), no_wrap=True, overflow="ellipsis", max_width=limit)
    for index, row in enumerate(cells):
        emphasise = index < len(table.highlight) and table.highlight[index]
        rich_table.add_row(*(Text(row[i]) for i in keep), style=_HIGHLIGHT_STYLE if emphasise else None)
    return rich_table
