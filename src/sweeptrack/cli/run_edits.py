"""``sweeptrack runs tag|untag|note|rename|delete|restore``: small edits of recorded runs.

Each command checks everything it was given (the runs, the keys, the state they must be in)
before it writes anything, then makes its edits through :class:`~sweeptrack.tracking.client.Client`
and prints one line per run. Deleting is soft: the run stays in the database, hidden from
listings, leaderboards and reports until ``runs restore``; ``runs list --deleted`` shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sweeptrack.cli.common import CliContext, pass_cli

if TYPE_CHECKING:
    from sweeptrack.core.model import Run
    from sweeptrack.tracking.client import Client

__all__ = ["EDIT_COMMANDS"]


def _client(cli: CliContext) -> Client:
    from sweeptrack.tracking.client import Client

    return Client(cli.store)


def _label(run: Run) -> str:
    return f"run {run.name} ({run.id[:8]})"


def _runs(client: Client, refs: Sequence[str]) -> list[Run]:
    """The runs ``refs`` name, each once, all resolved before anything is written."""
    found: dict[str, Run] = {}
    for ref in refs:
        run = client.get_run(ref)
        found.setdefault(run.id, run)
    return list(found.values())


def _pairs(assignments: Sequence[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"tag {item!r} has no '='; write KEY=VALUE, e.g. keep=yes")
        pairs[key] = value
    return pairs


@click.command("tag")
@click.argument("run")
@click.argument("assignments", metavar="KEY=VALUE...", nargs=-1, required=True)
@pass_cli
def tag(cli: CliContext, run: str, assignments: tuple[str, ...]) -> None:
    """Set tags of a run (a key set again gets the new value).

    RUN is a run id, a unique id prefix or a run name. Tags under sweeptrack. are sweeptrack's own
    and cannot be edited.
    """
    from sweeptrack.core.limits import check_editable_tag, check_tag

    pairs = _pairs(assignments)
    for key, value in pairs.items():
        check_editable_tag(key)
        check_tag(key, value)
    client = _client(cli)
    found = client.get_run(run)
    client.store.set_tags(found.id, pairs)  # all of them in one write
    shown = ", ".join(f"{key}={value}" for key, value in pairs.items())
    click.echo(f"{_label(found)} tagged {shown}")


@click.command("untag")
@click.argument("run")
@click.argument("keys", metavar="KEY...", nargs=-1, required=True)
@pass_cli
def untag(cli: CliContext, run: str, keys: tuple[str, ...]) -> None:
    """Remove tags from a run.

    RUN is a run id, a unique id prefix or a run name.
    """
    from sweeptrack.core.errors import TagNotFoundError
    from sweeptrack.core.limits import check_editable_tag

    for key in keys:
        check_editable_tag(key)
    client = _client(cli)
    found = client.get_run(run)
    missing = [key for key in dict.fromkeys(keys) if key not in found.tags]
    if missing:
        have = ", ".join(sorted(k for k in found.tags if not k.startswith("sweeptrack."))) or "none"
        raise TagNotFoundError(
            f"{_label(found)} has no tag {', '.join(map(repr, missing))}; its tags: {have}; nothing removed"
        )
    for key in dict.fromkeys(keys):
        client.untag(found.id, key)
    click.echo(f"{_label(found)} untagged {', '.join(dict.fromkeys(keys))}")


@click.command("note")
@click.argument("run")
@click.argument("text", required=False)
@click.option(
    "--file",
    "file_",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Read the note from this file ('-': standard input).",
)
@click.option("--clear", is_flag=True, help="Remove the run's note.")
@pass_cli
def note(cli: CliContext, run: str, text: str | None, file_: Path | None, clear: bool) -> None:
    """Set a run's note (free text, several lines allowed), from TEXT or --file; --clear removes it.

    RUN is a run id, a unique id prefix or a run name. The note shows in `runs show`.
    """
    if (text is not None) + (file_ is not None) + clear != 1:
        raise click.UsageError("give the note as TEXT, or --file F, or --clear (one of them)")
    if file_ is not None:
        text = _read_note(file_)
    if text is not None and not text.strip():
        raise click.UsageError("the note is empty; give some text, or --clear to remove the note")
    client = _client(cli)
    found = client.note(run, None if clear else text)
    if clear:
        click.echo(f"{_label(found)}: note cleared")
    else:
        click.echo(f"{_label(found)}: note set ({len(found.note or ''):,} characters)")


def _read_note(path: Path) -> str:
    import sys

    try:
        data = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.UsageError(f"cannot read the note from {path}: {exc}") from None
    return data.rstrip("\n")


@click.command("rename")
@click.argument("run")
@click.argument("name")
@pass_cli
def rename(cli: CliContext, run: str, name: str) -> None:
    """Give a run a new name (1 to 255 characters).

    RUN is a run id, a unique id prefix or a run name.
    """
    client = _client(cli)
    before = client.get_run(run)
    after = client.rename(before.id, name)
    click.echo(f"{_label(before)} renamed to {after.name}")


@click.command("delete")
@click.argument("refs", metavar="RUN...", nargs=-1, required=True)
@pass_cli
def delete(cli: CliContext, refs: tuple[str, ...]) -> None:
    """Delete runs (softly: hidden from listings, leaderboards and reports, kept in the database).

    Each RUN is a run id, a unique id prefix or a run name. `runs list --deleted` shows deleted
    runs; `runs restore RUN` brings one back. A deleted sweep trial still counts toward its
    sweep's budget.
    """
    from sweeptrack.core.errors import RunStateError

    client = _client(cli)
    found = _runs(client, refs)
    already = [run for run in found if run.deleted]
    if already:
        names = ", ".join(_label(run) for run in already)
        raise RunStateError(f"{names}: already deleted; nothing deleted")
    for run in found:
        client.delete(run.id)
        click.echo(f"deleted {_label(run)}; `sweeptrack runs restore {run.id[:8]}` brings it back")


@click.command("restore")
@click.argument("refs", metavar="RUN...", nargs=-1, required=True)
@pass_cli
def restore(cli: CliContext, refs: tuple[str, ...]) -> None:
    """Bring deleted runs back.

    Each RUN is a run id, a unique id prefix or a run name.
    """
    from sweeptrack.core.errors import RunStateError

    client = _client(cli)
    found = _runs(client, refs)
    live = [run for run in found if not run.deleted]
    if live:
        names = ", ".join(_label(run) for run in live)
        raise RunStateError(f"{names}: not deleted; nothing restored")
    for run in found:
        client.restore(run.id)
        click.echo(f"restored {_label(run)}")


EDIT_COMMANDS = (tag, untag, note, rename, delete, restore)
