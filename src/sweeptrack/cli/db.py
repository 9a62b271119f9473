"""``sweeptrack db upgrade|current``: the schema revision of the tracking database."""

from __future__ import annotations

import click

from sweeptrack.cli.common import CliContext, pass_cli

__all__ = ["db"]


@click.group()
def db() -> None:
    """Inspect and upgrade the database schema."""


@db.command()
@pass_cli
def upgrade(cli: CliContext) -> None:
    """Upgrade the database to the schema this sweeptrack needs (creating it if empty)."""
    store = cli.sql_store()
    before, after = store.upgrade_schema()
    note = "  (already up to date)" if before == after else ""
    click.echo(f"{store.display_url}: {before or 'none'} -> {after}{note}")


@db.command()
@pass_cli
def current(cli: CliContext) -> None:
    """Print the database's schema revision and whether it is up to date."""
    from sweeptrack.tracking.sql.migrate import HEAD_REVISION, known_revisions

    store = cli.sql_store()
    revision = store.schema_revision()
    if revision == HEAD_REVISION:
        state = "up to date"
    elif revision is None:
        state = f"no sweeptrack schema; run `sweeptrack db upgrade` to create revision {HEAD_REVISION}"
    elif revision in known_revisions():
        state = f"out of date, this sweeptrack needs {HEAD_REVISION}; run `sweeptrack db upgrade`"
    else:
        state = f"newer than this sweeptrack knows ({HEAD_REVISION}); upgrade sweeptrack"
    click.echo(f"{store.display_url}: {revision or 'none'} ({state})")
