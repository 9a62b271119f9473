"""A sweep name that several sweeps share: commands take the newest, and say so in one line."""

from __future__ import annotations

import click

from sweeptrack.cli.common import CliContext

__all__ = ["note_repeated_name"]


def note_repeated_name(cli: CliContext, ref: str | None) -> None:
    """When ``ref`` is the name of more than one sweep, print to standard error which one the
    command takes (the newest, as ``Store.get_sweep`` does), e.g.
    ``2 sweeps named quickstart; using the newest, 4c5bde2e, started 10:42``."""
    if ref is None:
        return
    from sweeptrack.reports.sweeps import repeated_name_note

    note = repeated_name_note(cli.store.sweeps_named(ref.strip()))
    if note is not None:
        click.echo(note, err=True)
