"""``sweeptrack reproduce RUN``: show what differs from a run's record, then re-run it and compare.

Exit status: 0 reproduced within tolerance (``--dry-run``: nothing differs), 1 re-run but not
within tolerance (or it ended with another status), 2 bad input (nothing re-run), 3
``--dry-run`` found differences.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sweeptrack.cli.common import CliContext, emit, pass_cli
from sweeptrack.reports.formats import Format

if TYPE_CHECKING:
    from sweeptrack.reproduce import Difference, Plan

__all__ = ["DRIFT_EXIT_CODE", "NOT_REPRODUCED_EXIT_CODE", "absolute_db", "reproduce"]

NOT_REPRODUCED_EXIT_CODE = 1
DRIFT_EXIT_CODE = 3


@click.command()
@click.argument("ref", metavar="RUN")
@click.option("--dry-run", is_flag=True, help="Only show what differs (exit 0: nothing, 3: something).")
@click.option("--worktree", "mode", flag_value="worktree", help="Re-run in a temporary git worktree at "
              "the recorded commit with the recorded diff (default when the tree differs).")  # fmt: skip
@click.option("--here", "mode", flag_value="here", help="Re-run in the current tree.")
@click.option("--allow-drift", is_flag=True, help="Re-run even when a dataset changed or is gone.")
@click.option("--rtol", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="Relative tolerance for the metrics to count as reproduced.")  # fmt: skip
@click.option("--artifacts", envvar="SWEEPTRACK_ARTIFACTS", help="Artifact root (default: beside the DB).")
@pass_cli
def reproduce(
    cli: CliContext,
    ref: str,
    dry_run: bool,
    mode: str | None,
    allow_drift: bool,
    rtol: float,
    artifacts: str | None,
) -> None:
    """Re-run RUN (a script's run or a sweep trial) as it was recorded and compare the results.

    First it shows what differs between now and the run's record, most important first: datasets,
    the git commit and uncommitted diff, packages, Python, platform, GPUs."""
    from sweeptrack.reproduce import Mode, compare_runs_metrics, plan_reproduction, rerun
    from sweeptrack.tracking.artifacts import ArtifactRoot, default_artifact_root

    root = ArtifactRoot(default_artifact_root(cli.db, artifacts))
    plan = plan_reproduction(cli.store, root, ref, Path.cwd())
    _show_plan(plan)
    if dry_run:
        if plan.differences:
            raise click.exceptions.Exit(DRIFT_EXIT_CODE)
        return
    chosen = plan.default_mode if mode is None else Mode(mode)
    where = (
        f"a temporary worktree at commit {(plan.recipe.commit or '')[:12]}"
        + (" with the recorded diff" if plan.recipe.diff else "")
        if chosen is Mode.WORKTREE
        else "the current tree"
    )
    click.echo(f"re-running in {where}")
    if plan.recipe.sweep is not None:
        os.environ.update(plan.recipe.variables)  # the trial's worker inherits this process's
    new = rerun(
        cli.store,
        plan,
        mode=chosen,
        allow_drift=allow_drift,
        db=absolute_db(cli.db),
        artifacts=root,
        on_drift=_warn_drift,
    )
    agreement = compare_runs_metrics(plan.recipe.run, new, rtol)
    emit(agreement.report(), Format.TABLE)
    click.echo(f"run {new.id[:8]} reproduces {plan.recipe.run.id[:8]}: {agreement.verdict}")
    if not agreement.within:
        raise click.exceptions.Exit(NOT_REPRODUCED_EXIT_CODE)


def _show_plan(plan: Plan) -> None:
    run = plan.recipe.run
    click.echo(f"run {run.name} ({run.id[:8]}): {plan.recipe.what}")
    if not plan.differences:
        click.echo("nothing differs from the record")
        return
    click.echo("differs from the record (most important first):")
    for difference in plan.differences:
        click.echo(f"  {difference}")


def _warn_drift(found: list[Difference]) -> None:
    for difference in found:
        click.echo(f"warning: running on changed data (--allow-drift): {difference}", err=True)


def absolute_db(db: str) -> str:
    """``db`` with a relative SQLite path made absolute (the re-run works in another folder)."""
    scheme, sep, rest = db.partition("://")
    if not sep:
        return "sqlite:///" + str(Path(db).expanduser().resolve())
    if scheme.split("+")[0].lower() != "sqlite" or not rest.startswith("/"):
        return db
    path, mark, query = rest[1:].partition("?")
    if not path or path.startswith(":memory:") or path.startswith("file:"):
        return db
    return f"{scheme}:///{Path(path).expanduser().resolve()}{mark}{query}"
