"""``sweeptrack report``: a sweep's (or an experiment's) report as HTML, Markdown or JSON.

HTML goes to a file (default ``<sweep name>-report.html`` in the working directory); Markdown and
JSON go to standard output unless ``--out`` is given. A file is written atomically (a temporary
file in the same folder, then renamed), so a failed report leaves no file behind.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sweeptrack.cli.common import CliContext, pass_cli, ranking_options

if TYPE_CHECKING:
    from sweeptrack.reports.report.html import Prebuilt
    from sweeptrack.reports.report.model import ReportData

__all__ = ["report", "write_atomically"]

FORMATS = ("html", "md", "json")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in its folder and a rename."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise click.ClickException(f"cannot write {path}: folder {folder} does not exist")
    tmp = folder / f".{path.name}.{secrets.token_hex(8)}.tmp"
    # Created as open() creates files (0666 less the umask), not private like mkstemp's.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _default_out(title: str) -> Path:
    """``<name>-report.html`` with the name made safe for a file name."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", title).strip("._") or "sweeptrack"
    return Path(f"{safe}-report.html")


def _split(values: str | None) -> list[str] | None:
    if values is None:
        return None
    refs = [ref.strip() for ref in values.split(",") if ref.strip()]
    if not refs:
        raise click.BadParameter("give run ids or names separated by commas", param_hint="--compare")
    return refs


@click.command()
@click.argument("ref", metavar="[SWEEP]", required=False)
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS, case_sensitive=False), default="html", show_default=True
)
@click.option("--top", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="Rows in md.")
@click.option("--experiment", "-e", help="Report on this experiment's runs instead of a sweep.")
@click.option("--metric", "-m", help="Rank by this metric (required with --experiment).")
@ranking_options
@click.option("--group-seeds", is_flag=True, help="Group runs differing only in seed; rank by mean.")
@click.option("--compare", metavar="RUN,RUN,...", help="Runs to compare side by side (default: the top 3).")
@pass_cli
def report(
    cli: CliContext,
    ref: str | None,
    out: Path | None,
    fmt: str,
    top: int,
    experiment: str | None,
    metric: str | None,
    goal: str | None,
    summary: str,
    group_seeds: bool,
    compare: str | None,
) -> None:
    """Write the report of SWEEP (id, id prefix or name), or of --experiment's runs by --metric.

    html is one self-contained file that works offline; md is a compact summary for a pull
    request or CI log; json is the same data for scripts (its shape:
    ReportData.model_json_schema() in sweeptrack.reports.report.model).
    """
    if ref is None and experiment is None:
        raise click.UsageError("give a SWEEP, or --experiment with --metric")
    from sweeptrack.cli.names import note_repeated_name

    note_repeated_name(cli, ref)
    if metric is not None and (ref is None) != (experiment is None):
        _check_metric(cli, ref, experiment, metric)
    from sweeptrack.reports.report.worker import AnalysisWorker

    # Started first: the child imports what the importances need while this process reads.
    with AnalysisWorker() as worker:
        from sweeptrack.core.model import Goal
        from sweeptrack.reports.report.collect import collect_report

        renderer = _Renderer(fmt)  # loaded now, while the child is busy too
        data = collect_report(
            cli.store,
            sweep=ref,
            experiment=experiment,
            metric=metric,
            goal=Goal(goal) if goal else None,
            summary=summary,
            top=top,
            group_seeds=group_seeds,
            compare=_split(compare),
            worker=worker,
            while_waiting=renderer.prepare,
        )
    text = renderer(data)
    if out is None and fmt != "html":
        sys.stdout.write(text)
        return
    path = out or _default_out(data.source.sweep_name or data.source.experiment)
    write_atomically(path, text)
    click.echo(f"report: {path}")


class _Renderer:
    """The chosen format's renderer, loaded when made. An HTML page draws what it can of the
    report while the importances are computed (:meth:`prepare`), and the rest when they are in."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self._prebuilt: Prebuilt | None = None
        self._warming: threading.Thread | None = None
        if fmt == "md":
            from sweeptrack.reports.report.markdown import render_markdown  # noqa: F401 - loaded now
        elif fmt == "html":
            from sweeptrack.reports.report.html import warm_up

            # plotly's figure classes load in a thread while the command reads the store.
            self._warming = threading.Thread(target=warm_up, name="sweeptrack-warm-up", daemon=True)
            self._warming.start()

    def prepare(self, partial: ReportData) -> None:
        """Draw ``partial`` (the report but for its importances) ahead, for HTML."""
        if self.fmt == "html":
            from sweeptrack.reports.report.html import prebuild

            self._join()
            self._prebuilt = prebuild(partial)

    def __call__(self, data: ReportData) -> str:
        if self.fmt == "json":
            return data.model_dump_json(indent=2) + "\n"
        if self.fmt == "md":
            from sweeptrack.reports.report.markdown import render_markdown

            return render_markdown(data)
        from sweeptrack.reports.report.html import render_html

        self._join()
        return render_html(data, self._prebuilt)

    def _join(self) -> None:
        if self._warming is not None:
            self._warming.join()
            self._warming = None


def _check_metric(cli: CliContext, ref: str | None, experiment: str | None, metric: str) -> None:
    """A --metric that no run of the sweep or experiment logged is an error naming the nearest
    metrics, not a report that ranks nothing. An unknown experiment is left to collect_report."""
    from sweeptrack.reports.scope import explain_empty

    if experiment is not None and experiment not in {e.name for e in cli.store.list_experiments()}:
        return
    found = None if ref is None else cli.store.get_sweep(ref)
    explain_empty(
        cli.store,
        experiment=experiment,
        sweep=None if found is None else found.id,
        sweep_name=None if found is None else found.name,
        metrics=(metric,),
    )
