"""``sweeptrack ui``: serve the web dashboard for the ``--db`` database.

The dashboard's packages (FastAPI, uvicorn, Jinja2) come with the ``ui`` extra and are imported
only when this command runs. Any address but a loopback one needs a token.
"""

from __future__ import annotations

from pathlib import Path

import click

from sweeptrack.cli.common import CliContext, pass_cli
from sweeptrack.core.errors import SweepTrackError

__all__ = ["ui"]

MAKE_TOKEN = (
    "python -c 'import secrets; print(secrets.token_urlsafe(32))' > ui.token && "
    "sweeptrack ui --host {host} --token-file ui.token"
)
MIN_TOKEN = 16


def _token(token: str | None, token_file: Path | None) -> str | None:
    if token is not None and token_file is not None:
        raise SweepTrackError("give --token or --token-file, not both")
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SweepTrackError(f"cannot read --token-file {token_file}: {exc.strerror}") from None
    if token is not None and len(token) < MIN_TOKEN:
        raise SweepTrackError(
            f"a token needs at least {MIN_TOKEN} characters; make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return token


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; others need a token.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to bind.")
@click.option("--token", envvar="SWEEPTRACK_UI_TOKEN", help="Every page and API call needs this token.")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the token from this file (keeps it out of the process list).",
)
@click.option("--read-only", is_flag=True, help="No edits (tags, notes, names, delete) from the pages.")
@click.option("--artifacts", envvar="SWEEPTRACK_ARTIFACTS", help="Artifact root (default: beside the DB).")
@pass_cli
def ui(
    cli: CliContext,
    host: str,
    port: int,
    token: str | None,
    token_file: Path | None,
    read_only: bool,
    artifacts: str | None,
) -> None:
    """Serve the web dashboard: runs, sweeps (live), run pages, comparisons and a JSON API."""
    secret = _token(token, token_file)
    try:
        from sweeptrack.ui import UiSettings
        from sweeptrack.ui.serve import serve
    except ImportError:
        raise SweepTrackError("the dashboard needs its extra: pip install 'sweeptrack[ui]'") from None
    from sweeptrack.ui.settings import is_loopback

    if secret is None and not is_loopback(host):
        raise SweepTrackError(
            f"serving on {host} needs a token, or anyone who can reach it reads and edits your runs; "
            f"make one: {MAKE_TOKEN.format(host=host)}"
        )
    from sweeptrack.tracking.artifacts import default_artifact_root

    cli.store.list_experiments()  # a wrong --db fails here, in one line, not at the first request
    settings = UiSettings(
        db=cli.db,
        token=secret,
        read_only=read_only,
        artifacts=default_artifact_root(cli.db, artifacts),
        host=host,
    )
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"sweeptrack dashboard for {cli.db} on http://{shown}:{port}/ (Ctrl-C stops it)", err=True)
    serve(settings, port=port)
