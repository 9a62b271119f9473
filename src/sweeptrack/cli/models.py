"""``sweeptrack models register|alias|list|versions|show|history|download|compare``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from sweeptrack.cli.common import CliContext, emit, format_option, pass_cli
from sweeptrack.reports.formats import Format

if TYPE_CHECKING:
    from sweeptrack.tracking.models import Models

__all__ = ["models"]

_ARTIFACTS_HELP = "Artifact root (default: beside the DB)."


@click.group()
def models() -> None:
    """Promote runs' artifacts to versioned models; move aliases; fetch verified files.

    A model is referred to as NAME (its newest version), NAME@ALIAS or NAME/VERSION."""


def _models(cli: CliContext, artifacts: str | None = None) -> Models:
    from sweeptrack.tracking.client import Client

    return Client(cli.store, artifacts=artifacts).models


def _by_option(command: click.decorators.FC) -> click.decorators.FC:
    return click.option("--by", metavar="WHO", help="Who makes the change (default: the OS user).")(command)


@models.command()
@click.argument("run", metavar="RUN")
@click.option(
    "--artifact", required=True, metavar="PATH", help="The run's artifact path (as runs show lists it)."
)
@click.option("--name", required=True, help="The model's name (letters, digits, '.', '_', '-').")
@click.option("--alias", metavar="ALIAS", help="Point this alias (e.g. champion) at the new version.")
@click.option("--description", metavar="TEXT", help="What this version is.")
@_by_option
@pass_cli
def register(
    cli: CliContext,
    run: str,
    artifact: str,
    name: str,
    alias: str | None,
    description: str | None,
    by: str | None,
) -> None:
    """Register RUN's artifact as the next version of model NAME (its digest is recorded)."""
    version = _models(cli).register(
        run, artifact=artifact, name=name, alias=alias, description=description, by=by
    )
    aliased = f" as {', '.join(version.aliases)}" if version.aliases else ""
    click.echo(
        f"registered {version.model} version {version.version}{aliased}: {version.artifact_path} "
        f"of run {version.run_id[:8]} (sha256 {version.sha256[:12]})"
    )


@models.command()
@click.argument("ref", metavar="NAME@ALIAS")
@click.argument("version", type=click.IntRange(min=1))
@_by_option
@pass_cli
def alias(cli: CliContext, ref: str, version: int, by: str | None) -> None:
    """Point alias NAME@ALIAS at VERSION; the move is kept with who and when."""
    move = _models(cli).alias(ref, version, by=by)
    before = "" if move.previous_version is None else f" (was {move.previous_version})"
    click.echo(f"{move.model}@{move.alias} -> version {move.version}{before}, by {move.moved_by}")


@models.command("list")
@format_option
@pass_cli
def list_(cli: CliContext, fmt: Format) -> None:
    """Every registered model with its number of versions, newest version and aliases."""
    from sweeptrack.reports.models import models_report

    emit(models_report(_models(cli).list_models()), fmt)


@models.command()
@click.argument("name")
@format_option
@pass_cli
def versions(cli: CliContext, name: str, fmt: Format) -> None:
    """The versions of model NAME, oldest first."""
    from sweeptrack.reports.models import versions_report

    emit(versions_report(_models(cli).versions(name)), fmt)


@models.command()
@click.argument("ref", metavar="NAME[@ALIAS|/VERSION]")
@format_option
@pass_cli
def show(cli: CliContext, ref: str, fmt: Format) -> None:
    """A version with its lineage: run, sweep, params, metrics, datasets, git commit, digest."""
    from sweeptrack.reports.models import lineage_report

    registry = _models(cli)
    emit(lineage_report(cli.store, registry.get(ref)), fmt)


@models.command()
@click.argument("name")
@format_option
@pass_cli
def history(cli: CliContext, name: str, fmt: Format) -> None:
    """Every alias move of model NAME: from which version to which, who and when."""
    from sweeptrack.reports.models import history_report

    emit(history_report(_models(cli).history(name)), fmt)


@models.command()
@click.argument("ref", metavar="NAME[@ALIAS|/VERSION]")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write to."
)
@click.option("--artifacts", envvar="SWEEPTRACK_ARTIFACTS", help=_ARTIFACTS_HELP)
@pass_cli
def download(cli: CliContext, ref: str, out: Path, artifacts: str | None) -> None:
    """Copy a version's file into folder OUT, verifying its digest (a corrupt file is refused)."""
    registry = _models(cli, artifacts)
    version = registry.get(ref)
    target = registry.download(version.ref, out)
    click.echo(f"{target} ({version.ref}, sha256 {version.sha256[:12]} verified)")


@models.command()
@click.argument("refs", nargs=-1, required=True, metavar="NAME@ALIAS NAME@ALIAS ...")
@click.option("--all-packages", is_flag=True, help="Also list packages whose version is the same.")
@format_option
@pass_cli
def compare(cli: CliContext, refs: tuple[str, ...], all_packages: bool, fmt: Format) -> None:
    """Compare the runs behind model versions side by side (as `runs compare` does)."""
    from sweeptrack.reports.compare import compare_runs

    registry = _models(cli)
    run_ids = [registry.get(ref).run_id for ref in refs]
    if len(set(run_ids)) < len(run_ids):
        raise click.UsageError("these versions come from the same run; nothing to compare")
    emit(compare_runs(cli.store, run_ids, all_packages=all_packages).report(), fmt)
