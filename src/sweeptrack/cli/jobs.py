"""``sweeptrack submit`` and ``sweeptrack jobs list|logs|stop``: sweeps as Ray jobs on a cluster."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sweeptrack.cli.common import emit, format_option
from sweeptrack.reports.formats import Format

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

__all__ = ["jobs", "submit"]

_ADDRESS_HELP = "The Ray head's job API (its dashboard), e.g. http://HEAD:8265."


def address_option(command: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--address",
        "-a",
        required=True,
        envvar="RAY_API_SERVER_ADDRESS",
        show_envvar=True,
        metavar="URL",
        help=_ADDRESS_HELP,
    )(command)


def _env_pair(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE")
        pairs[key] = rest
    return pairs


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@address_option
@click.option(
    "--working-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder uploaded to the cluster; FILE must be inside it. "
    "Default: the current directory if FILE is inside it, else FILE's folder.",
)
@click.option(
    "--db",
    "job_db",
    metavar="URL",
    help="Database the job's controller writes, as seen from the head (default: the top-level --db "
    "if given, else the head's SWEEPTRACK_DB).",
)
@click.option("--pip", multiple=True, metavar="PKG", help="A pip requirement for the job; repeatable.")
@click.option(
    "--env",
    "env",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_env_pair,
    help="A job environment variable (${VAR} expands on the head); repeatable.",
)
@click.option(
    "--executor",
    type=click.Choice(["ray", "local"]),
    default="ray",
    show_default=True,
    help="Where the job runs trials: across the cluster (ray) or beside the controller (local).",
)
@click.option("--parallel", "-p", type=int, help="Trials at once (overrides the spec's parallel).")
@click.option("--trials", "-n", type=int, help="At most this many trials (with run_cap, the smaller).")
@click.option("--follow", "-f", is_flag=True, help="Stream the job's output until it ends.")
@click.pass_context
def submit(
    ctx: click.Context,
    file: Path,
    address: str,
    working_dir: Path | None,
    job_db: str | None,
    pip: tuple[str, ...],
    env: dict[str, str],
    executor: str,
    parallel: int | None,
    trials: int | None,
    follow: bool,
) -> None:
    """Run the sweep in FILE on a Ray cluster: its controller becomes a Ray job; prints the job id.

    The spec is validated here first; a bad spec never reaches the cluster. The working directory is
    uploaded and the job runs `sweeptrack sweep run FILE` in it on the head, so sweeptrack must be
    installed there (the docker/ image has it).
    """
    from sweeptrack import jobs as ray_jobs
    from sweeptrack.spec.model import ExecutorType

    db = job_db if job_db is not None else _explicit_top_level_db(ctx)
    plan = ray_jobs.plan_submission(
        file,
        working_dir=working_dir,
        db=db,
        executor=ExecutorType(executor),
        parallel=parallel,
        trials=trials,
        pip=pip,
        env=env,
    )
    if db is None:
        click.echo(
            "note: no --db: the job uses the head's SWEEPTRACK_DB (or sqlite:///sweeptrack.db)", err=True
        )
    elif _relative_sqlite(db):
        click.echo(f"note: {db} is relative to the job's temporary working directory on the head", err=True)
    client = ray_jobs.connect(address)
    job_id = ray_jobs.submit(client, plan)
    url = ray_jobs.dashboard_url(address)
    click.echo(f"submitted job {job_id}: sweep {plan.sweep} ({plan.spec_path}) from {plan.working_dir}")
    click.echo(f"  follow it: sweeptrack jobs logs {job_id} --address {url} --follow")
    click.echo(f"  dashboard: {url}/#/jobs/{job_id}")
    if follow:
        _follow(client, job_id)


def _explicit_top_level_db(ctx: click.Context) -> str | None:
    """``sweeptrack --db URL submit ...``; a local SWEEPTRACK_DB or the default is not sent."""
    root = ctx.find_root()
    if root.get_parameter_source("db") is click.core.ParameterSource.COMMANDLINE:
        return str(root.params["db"])
    return None


def _relative_sqlite(db: str) -> bool:
    if "://" not in db:
        return not Path(db).is_absolute()
    return db.startswith("sqlite:///") and not db.startswith("sqlite:////")


def _follow(client: JobSubmissionClient, job_id: str) -> None:
    from sweeptrack import jobs as ray_jobs

    def write(chunk: str) -> None:
        sys.stdout.write(chunk)
        sys.stdout.flush()

    job = ray_jobs.follow_logs(client, job_id, write)
    click.echo(f"job {job.id} {job.status.value}" + (f": {job.message}" if job.message else ""))
    if job.status is not ray_jobs.JobStatus.SUCCEEDED:
        raise click.exceptions.Exit(1)


@click.group()
def jobs() -> None:
    """List, follow and stop sweeps submitted to a Ray cluster."""


@jobs.command("list")
@address_option
@format_option
def list_(address: str, fmt: Format) -> None:
    """Jobs on the cluster, newest first."""
    from sweeptrack import jobs as ray_jobs

    emit(ray_jobs.jobs_report(ray_jobs.list_jobs(ray_jobs.connect(address))), fmt)


@jobs.command()
@click.argument("job_id", metavar="JOB")
@address_option
@click.option("--follow", "-f", is_flag=True, help="Keep streaming until the job ends.")
def logs(job_id: str, address: str, follow: bool) -> None:
    """A job's output (the sweep's progress and leaderboard)."""
    from sweeptrack import jobs as ray_jobs

    client = ray_jobs.connect(address)
    if follow:
        _follow(client, job_id)
    else:
        sys.stdout.write(ray_jobs.job_logs(client, job_id))


@jobs.command()
@click.argument("job_id", metavar="JOB")
@address_option
@click.option("--wait", type=float, default=30.0, show_default=True, help="Seconds to wait for it to end.")
def stop(job_id: str, address: str, wait: float) -> None:
    """Stop a job: Ray ends its controller, so the sweep starts no new trial."""
    from sweeptrack import jobs as ray_jobs

    job = ray_jobs.stop_job(ray_jobs.connect(address), job_id, wait=wait)
    if job.status.is_terminal:
        click.echo(f"job {job.id} {job.status.value}")
    else:
        click.echo(f"job {job.id} {job.status.value}: stop requested, still ending after {wait:g} s")
