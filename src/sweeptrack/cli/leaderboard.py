"""``sweeptrack leaderboard``."""

from __future__ import annotations

import click

from sweeptrack.cli.common import CliContext, emit, format_option, pass_cli, ranking_options
from sweeptrack.reports.formats import Format

__all__ = ["leaderboard"]


@click.command()
@click.option("--metric", "-m", required=True, help="The metric to rank runs by.")
@ranking_options
@click.option("--top", "-n", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--experiment", "-e", help="Only runs of this experiment.")
@click.option("--sweep", help="Only runs of this sweep (id, id prefix or name).")
@click.option("--filter", "-f", "filter_", metavar="FILTER", help="Filter string, combined with AND.")
@format_option
@pass_cli
def leaderboard(
    cli: CliContext,
    metric: str,
    summary: str,
    goal: str | None,
    top: int,
    experiment: str | None,
    sweep: str | None,
    filter_: str | None,
    fmt: Format,
) -> None:
    """Rank runs by a metric, best first, with the params that vary among them."""
    from sweeptrack.core.model import Goal
    from sweeptrack.reports.leaderboard import leaderboard as build_leaderboard
    from sweeptrack.tracking.query import Summary

    board = build_leaderboard(
        cli.store,
        metric,
        goal=Goal(goal.lower()) if goal else None,
        summary=Summary(summary.lower()),
        top=top,
        experiment=experiment,
        sweep=None if sweep is None else cli.store.get_sweep(sweep).id,
        filter=filter_,
    )
    emit(board.report(), fmt)
