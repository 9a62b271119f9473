"""What every command shares: the store behind ``--db``, the ``--format``, ``--columns`` and
``--raw`` options, printing.

Nothing heavy is imported here (no SQLAlchemy, no rich), so ``sweeptrack --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sweeptrack.reports.formats import Format

if TYPE_CHECKING:
    from sweeptrack.core.liveness import Liveness
    from sweeptrack.reports.formats import Report
    from sweeptrack.tracking.sql.store import SqlStore
    from sweeptrack.tracking.store import Store

__all__ = ["CliContext", "emit", "format_option", "pass_cli", "wanted_columns"]

F = TypeVar("F", bound=Callable[..., Any])

_RAW = "sweeptrack.raw"  # click context meta key: --raw was given
_COLUMNS = "sweeptrack.columns"  # click context meta key: the --columns names


class CliContext:
    """The ``--db`` URL and the store opened for it on first use (closed with the command)."""

    def __init__(self, db: str) -> None:
        self.db = db
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from sweeptrack.tracking.client import open_store

            self._store = open_store(self.db, create=False)
        return self._store

    @property
    def liveness(self) -> Liveness:
        """Heartbeat timing, with the ``SWEEPTRACK_*_S`` overrides of the environment applied."""
        import os

        from sweeptrack.core.liveness import Liveness

        return Liveness.from_environ(os.environ)

    def sql_store(self) -> SqlStore:
        """A SQL store for schema commands; it is not schema-checked on creation."""
        from sweeptrack.tracking.sql.store import SqlStore

        return SqlStore(self.db)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


pass_cli = click.make_pass_decorator(CliContext)


def format_option(command: F) -> F:
    """``--format table|csv|json|md``, passed to the command as a :class:`Format`; ``--columns``
    and ``--raw``, which :func:`emit` reads from the click context (so commands need no parameter
    for them)."""
    raw = click.option(
        "--raw",
        is_flag=True,
        expose_value=False,
        callback=lambda ctx, _param, value: ctx.meta.__setitem__(_RAW, value),
        help="CSV: write text starting with = + - @ as it is (by default a ' is put before it, "
        "so that a spreadsheet does not run it as a formula).",
    )
    columns = click.option(
        "--columns",
        "-c",
        metavar="NAMES",
        expose_value=False,
        callback=lambda ctx, _param, value: ctx.meta.__setitem__(_COLUMNS, _column_names(value)),
        help="Only these columns, in this order, in every format: a comma list of names as in the "
        "table header, e.g. name,status,params.lr,metrics.val_f1.",
    )
    fmt = click.option(
        "--format",
        "fmt",
        type=click.Choice([f.value for f in Format], case_sensitive=False),
        default=Format.TABLE.value,
        show_default=True,
        callback=lambda _ctx, _param, value: Format(value.lower()),
        help="Output format.",
    )
    return fmt(columns(raw(command)))


def _column_names(value: str | None) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in (value or "").split(",") if name.strip()))
    if value is not None and not names:
        raise click.BadParameter(
            "give column names, e.g. name,status,metrics.val_f1", param_hint="'--columns'"
        )
    return names


def wanted_columns() -> tuple[str, ...]:
    """The ``--columns`` names of the running command (empty: not given)."""
    ctx = click.get_current_context(silent=True)
    return () if ctx is None else tuple(ctx.meta.get(_COLUMNS, ()))


def ranking_options(command: F) -> F:
    """``--summary last|min|max`` and ``--goal maximize|minimize``: how a metric ranks runs."""
    summary = click.option(
        "--summary",
        type=click.Choice(["last", "min", "max"], case_sensitive=False),
        default="last",
        show_default=True,
        help="Which per-run summary of the metric ranks runs.",
    )
    goal = click.option(
        "--goal",
        type=click.Choice(["maximize", "minimize"], case_sensitive=False),
        help="Default: minimize when the metric name contains 'loss' or 'error', else maximize.",
    )
    return summary(goal(command))


def emit(report: Report, fmt: Format) -> None:
    """Print a report to standard output in the chosen format, with the ``--columns`` of the
    command (``--raw`` applies to CSV)."""
    from sweeptrack.reports.formats import write_report

    ctx = click.get_current_context(silent=True)
    raw = bool(ctx is not None and ctx.meta.get(_RAW, False))
    write_report(report, fmt, raw=raw, columns=wanted_columns())
