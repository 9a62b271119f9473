"""``sweeptrack leaderboard``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from sweeptrack.cli.common import CliContext, emit, format_option, pass_cli, ranking_options
from sweeptrack.reports.formats import Format

if TYPE_CHECKING:
    from sweeptrack.core.model import Goal, Sweep

__all__ = ["leaderboard"]


@click.command()
@click.option("--metric", "-m", help="The metric to rank runs by (default: the --sweep's metric).")
@ranking_options
@click.option("--top", "-n", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--experiment", "-e", help="Only runs of this experiment.")
@click.option("--sweep", help="Only runs of this sweep (id, id prefix or name).")
@click.option("--filter", "-f", "filter_", metavar="FILTER", help="Filter string, combined with AND.")
@format_option
@pass_cli
def leaderboard(
    cli: CliContext,
    metric: str | None,
    summary: str,
    goal: str | None,
    top: int,
    experiment: str | None,
    sweep: str | None,
    filter_: str | None,
    fmt: Format,
) -> None:
    """Rank runs by a metric, best first, with the params that vary among them.

    A metric, param, tag or experiment that no run in scope has is an error naming the nearest
    names; a filter that simply matches nothing gives an empty table, "0 runs".
    """
    from sweeptrack.cli.names import note_repeated_name
    from sweeptrack.core.model import Goal
    from sweeptrack.reports.leaderboard import leaderboard as build_leaderboard
    from sweeptrack.tracking.query import Summary

    note_repeated_name(cli, sweep)
    found = None if sweep is None else cli.store.get_sweep(sweep)
    chosen = Goal(goal.lower()) if goal else None
    typed = () if metric is None else (metric,)  # the sweep's own metric may simply not be logged yet
    if metric is None:
        metric, spec_goal = _sweep_metric(found)
        chosen = chosen or spec_goal
    board = build_leaderboard(
        cli.store,
        metric,
        goal=chosen,
        summary=Summary(summary.lower()),
        top=top,
        experiment=experiment,
        sweep=None if found is None else found.id,
        filter=filter_,
    )
    if not board.rows:
        from sweeptrack.reports.scope import explain_empty

        explain_empty(
            cli.store,
            experiment=experiment,
            sweep=None if found is None else found.id,
            sweep_name=None if found is None else found.name,
            filter=filter_,
            metrics=typed,
        )
    emit(board.report(), fmt)


def _sweep_metric(found: Sweep | None) -> tuple[str, Goal]:
    """The metric a sweep ranks by (its spec's), or a one-line error that asks for --metric."""
    from sweeptrack.core.errors import SweepTrackError
    from sweeptrack.spec.load import load_spec_text

    if found is None:
        raise click.UsageError("Missing option '--metric' (or give --sweep to rank by the sweep's metric)")
    try:
        spec = load_spec_text(found.spec, source=found.name)
    except SweepTrackError:
        spec = None
    if spec is None or not spec.metrics:
        raise SweepTrackError(f"sweep {found.name!r} has no metric; pass --metric NAME to rank its runs")
    return spec.metric.name, spec.metric.goal
