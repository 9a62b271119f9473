"""``sweeptrack runs list|show|compare|end|logs``, and the edits of :mod:`sweeptrack.cli.run_edits`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from sweeptrack.cli.common import CliContext, emit, format_option, pass_cli
from sweeptrack.cli.run_edits import EDIT_COMMANDS
from sweeptrack.reports.formats import Format

if TYPE_CHECKING:
    from sweeptrack.core.model import Run

__all__ = ["runs"]


@click.group()
def runs() -> None:
    """List, show, compare, end and edit runs (tag, note, rename, delete, restore)."""


@runs.command("list")
@click.option("--experiment", "-e", help="Only runs of this experiment.")
@click.option("--sweep", help="Only runs of this sweep (id, id prefix or name).")
@click.option(
    "--filter",
    "-f",
    "filter_",
    metavar="FILTER",
    help="Filter string, e.g. \"params.lr < 1e-3 and (metrics.val_f1 > 0.9 or tags.keep = 'yes')\".",
)
@click.option(
    "--order-by",
    "-o",
    multiple=True,
    metavar="KEY",
    help='Sort key such as "metrics.val_f1 DESC"; repeat it or give a comma list. Default: newest first.',
)
@click.option("--limit", "-n", type=click.IntRange(min=1), default=100, show_default=True)
@click.option(
    "--deleted", is_flag=True, help="Also list deleted runs, with the time each was deleted (column deleted)."
)
@format_option
@pass_cli
def list_runs(
    cli: CliContext,
    experiment: str | None,
    sweep: str | None,
    filter_: str | None,
    order_by: tuple[str, ...],
    limit: int,
    deleted: bool,
    fmt: Format,
) -> None:
    """List runs, newest first. A running run whose heartbeat stopped shows as crashed. Deleted
    runs are left out unless --deleted is given.

    When nothing matches because no run in scope has a metric, param, tag or experiment that the
    options name, that is an error naming the nearest names; otherwise an empty table, "0 runs".
    """
    from dataclasses import replace

    from sweeptrack.cli.names import note_repeated_name
    from sweeptrack.reports.runs import runs_report
    from sweeptrack.reports.scope import explain_empty

    note_repeated_name(cli, sweep)
    in_sweep = None if sweep is None else cli.store.get_sweep(sweep)
    sweep_id = None if in_sweep is None else in_sweep.id

    def search(shown: bool | None) -> list[Run]:
        return cli.store.search_runs(
            experiment=experiment,
            sweep=sweep_id,
            filter=filter_,
            order_by=list(order_by),
            limit=limit,
            deleted=shown,
        )

    found = search(None if deleted else False)
    report = runs_report(found, cli.liveness, deleted_column=deleted)
    if not found:
        explain_empty(
            cli.store,
            experiment=experiment,
            sweep=sweep_id,
            sweep_name=None if in_sweep is None else in_sweep.name,
            filter=filter_,
            order_by=list(order_by),
        )
        hidden = [] if deleted else search(True)
        if hidden:
            more = "" if len(hidden) < limit else " or more"
            runs_match = "runs match" if len(hidden) > 1 else "run matches"
            note = f"{len(hidden)}{more} deleted {runs_match}; --deleted lists them"
            report = replace(report, notes=(*report.notes, note))
    emit(report, fmt)


@runs.command("show")
@click.argument("run")
@format_option
@pass_cli
def show_run(cli: CliContext, run: str, fmt: Format) -> None:
    """Show one run: its note, params, metrics, tags, datasets, environment, artifacts.

    RUN is a run id, a unique id prefix or a run name.
    """
    from sweeptrack.reports.runs import run_details

    emit(run_details(cli.store, run, cli.liveness).report(), fmt)


@runs.command("compare")
@click.argument("run_refs", metavar="RUN RUN...", nargs=-1, required=True)
@click.option(
    "--all", "all_packages", is_flag=True, help="Also list packages with the same version in every run."
)
@format_option
@pass_cli
def compare(cli: CliContext, run_refs: tuple[str, ...], all_packages: bool, fmt: Format) -> None:
    """Compare runs side by side; rows that differ are highlighted.

    Each RUN is a run id, a unique id prefix or a run name.
    """
    if len(run_refs) < 2:
        raise click.UsageError("give at least two runs to compare")
    from sweeptrack.reports.compare import compare_runs

    emit(compare_runs(cli.store, run_refs, all_packages=all_packages).report(), fmt)


ENDED_BY_HAND = "ended by hand"


@runs.command("end")
@click.argument("run")
@click.option(
    "--status",
    type=click.Choice(["killed", "failed"], case_sensitive=False),
    default="killed",
    show_default=True,
    help="The status the run ends with.",
)
@pass_cli
def end(cli: CliContext, run: str, status: str) -> None:
    """End a running (or crashed) run by hand: its process is gone and will never end it.

    RUN is a run id, a unique id prefix or a run name.
    """
    import time

    from sweeptrack.core.errors import SweepTrackError
    from sweeptrack.core.model import RunStatus
    from sweeptrack.reports.formats import format_time
    from sweeptrack.reports.runs import short_id

    found = cli.store.get_run(cli.store.resolve_run(run))
    label = f"run {found.name} ({short_id(found.id)})"
    if found.status.is_terminal:
        raise SweepTrackError(
            f"{label} already ended {found.status.value} at {format_time(found.end_time)}; nothing to end"
        )
    ended = RunStatus(status.lower())
    cli.store.end_run(found.id, ended, int(time.time() * 1000), ENDED_BY_HAND)
    click.echo(f"{label} ended {ended.value} by hand")


@runs.command("logs")
@click.argument("run")
@click.option("--follow", "-f", is_flag=True, help="Stream a running trial's output until it ends.")
@click.option("--tail", "-n", type=click.IntRange(min=0), metavar="N", help="Only the last N lines.")
@click.option("--artifacts", envvar="SWEEPTRACK_ARTIFACTS", help="Artifact root (default: beside the DB).")
@pass_cli
def logs(cli: CliContext, run: str, follow: bool, tail: int | None, artifacts: str | None) -> None:
    """Print a sweep trial's captured stdout and stderr; --follow streams a running one's.

    RUN is a run id, a unique id prefix or a run name. A running trial's output so far is printed
    from its live log, on the machine where its sweep runs (the local executor).
    """
    import sys

    from sweeptrack.core.errors import SweepTrackError
    from sweeptrack.core.model import RunStatus
    from sweeptrack.reports.logs import Follow, last_lines, run_output
    from sweeptrack.tracking.artifacts import ArtifactRoot, default_artifact_root

    root = ArtifactRoot(default_artifact_root(cli.db, artifacts))
    output = run_output(cli.store, root, run)
    out = sys.stdout.buffer
    if output.run.status is not RunStatus.RUNNING or output.live is None or not follow:
        # An ended run's stored output, or a running trial's output so far.
        text = output.live_text() if output.run.status is RunStatus.RUNNING else output.ended_text()
        if not text:
            click.echo(f"{output.label} printed nothing", err=True)
        out.write(last_lines(text, tail))
        out.flush()
        return
    follower = Follow(
        store=cli.store, output=output, artifacts=root, out=out, liveness=cli.liveness, tail=tail
    )
    ended = follower.follow()
    if ended is None:
        raise SweepTrackError(
            f"{output.label} stopped beating (its sweep's controller is gone); stopped following"
        )
    click.echo(f"{output.label} ended {ended.status.value}", err=True)


for _command in EDIT_COMMANDS:
    runs.add_command(_command)
