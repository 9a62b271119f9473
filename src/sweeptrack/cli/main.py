"""The ``sweeptrack`` command: the top-level group, ``--db``, and the one place errors are printed.

Every :class:`~sweeptrack.core.errors.SweepTrackError` (and a database driver error that escaped
the store) becomes one line ``error: <message>`` (a spec with several problems: one line each) on
standard error and exit status 2, the status
click gives usage errors; never a traceback. Commands import SQLAlchemy, rich and the reports only
when they run, so ``sweeptrack --help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any

import click

from sweeptrack import __version__
from sweeptrack.cli.common import CliContext
from sweeptrack.cli.db import db
from sweeptrack.cli.jobs import jobs, submit
from sweeptrack.cli.leaderboard import leaderboard
from sweeptrack.cli.models import models
from sweeptrack.cli.report import report
from sweeptrack.cli.reproduce import reproduce
from sweeptrack.cli.runs import runs
from sweeptrack.cli.sweep import sweep
from sweeptrack.cli.ui import ui
from sweeptrack.core.errors import SpecProblems, SweepTrackError

__all__ = ["cli", "main"]

DEFAULT_DB = "sqlite:///sweeptrack.db"
ERROR_EXIT_CODE = 2


class CommandError(click.ClickException):
    """A user-caused error, printed as ``error: <message>``."""

    exit_code = ERROR_EXIT_CODE

    def show(self, file: IO[Any] | None = None) -> None:
        for line in self.format_message().splitlines():  # several problems: one line each
            click.echo(f"error: {line}", file=file or sys.stderr)


class _Group(click.Group):
    """A group that turns sweeptrack and database errors into :class:`CommandError`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SpecProblems as exc:
            raise CommandError("\n".join(exc.lines())) from None
        except SweepTrackError as exc:
            raise CommandError(_one_line(str(exc))) from None
        except Exception as exc:
            reason = _database_error(exc)
            if reason is None:
                raise
            raise CommandError(reason) from None


def _one_line(message: str) -> str:
    return " ".join(message.split()) or "unknown error"


def _database_error(exc: Exception) -> str | None:
    """``database error: <first line>`` for a driver's OperationalError, None for anything else.

    Drivers are looked up in ``sys.modules``: one that was never imported raised nothing.
    """
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.OperationalError):
        cause: BaseException = exc.orig or exc
    elif any(
        module is not None and isinstance(exc, module.OperationalError)
        for module in (sys.modules.get("psycopg"), sys.modules.get("sqlite3"))
    ):
        cause = exc
    else:
        return None
    lines = str(cause).strip().splitlines()
    return f"database error: {lines[0] if lines else type(cause).__name__}"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="SWEEPTRACK_DB",
    default=DEFAULT_DB,
    show_default=True,
    show_envvar=True,
    metavar="URL",
    help="Tracking database: a SQLAlchemy URL (sqlite:///PATH, postgresql+psycopg://...) or a path.",
)
@click.version_option(__version__, prog_name="sweeptrack")
@click.pass_context
def cli(ctx: click.Context, db: str) -> None:
    """Hyperparameter sweeps with experiment tracking."""
    ctx.obj = CliContext(db)
    ctx.call_on_close(ctx.obj.close)


cli.add_command(runs)
cli.add_command(leaderboard)
cli.add_command(report)
cli.add_command(db)
cli.add_command(sweep)
cli.add_command(submit)
cli.add_command(jobs)
cli.add_command(models)
cli.add_command(reproduce)
cli.add_command(ui)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``sweeptrack`` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="sweeptrack")
