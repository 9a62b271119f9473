"""``sweeptrack runs list|show|compare``."""

from __future__ import annotations

import click

from sweeptrack.cli.common import CliContext, emit, format_option, pass_cli
from sweeptrack.reports.formats import Format

__all__ = ["runs"]


@click.group()
def runs() -> None:
    """List, show and compare runs."""


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
@format_option
@pass_cli
def list_runs(
    cli: CliContext,
    experiment: str | None,
    sweep: str | None,
    filter_: str | None,
    order_by: tuple[str, ...],
    limit: int,
    fmt: Format,
) -> None:
    """List runs, newest first."""
    from sweeptrack.reports.runs import runs_report

    found = cli.store.search_runs(
        experiment=experiment,
        sweep=None if sweep is None else cli.store.get_sweep(sweep).id,
        filter=filter_,
        order_by=list(order_by),
        limit=limit,
    )
    emit(runs_report(found), fmt)


@runs.command("show")
@click.argument("run")
@format_option
@pass_cli
def show_run(cli: CliContext, run: str, fmt: Format) -> None:
    """Show one run: params, metrics, tags, datasets, environment, artifacts.

    RUN is a run id, a unique id prefix or a run name.
    """
    from sweeptrack.reports.runs import run_details

    emit(run_details(cli.store, run).report(), fmt)


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
