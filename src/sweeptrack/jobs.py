"""Run a sweep's controller on a Ray cluster as a Ray job, and list, tail and stop those jobs.

A submission is planned locally first (:func:`plan_submission`): the spec is loaded and validated,
so a bad spec is refused before the cluster is contacted, and the controller's command line is
built relative to the working directory that Ray uploads. :func:`connect` checks that the head's
job API answers within a few seconds before Ray's client is made, so an unreachable address is a
one-line error instead of a hang. Ray is imported only inside the functions that talk to it.

Example:
    >>> plan = plan_submission(Path("sweeps/quickstart.yaml"), db="postgresql+psycopg://st@pg/st")
    >>> client = connect("http://head:8265")
    >>> job_id = submit(client, plan)
"""

from __future__ import annotations

import asyncio
import enum
import shlex
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.executors.ray_cluster import refusal
from sweeptrack.reports.formats import Report, Table, format_time
from sweeptrack.spec.model import ExecutorType

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

__all__ = [
    "JobError",
    "JobInfo",
    "JobStatus",
    "Submission",
    "connect",
    "dashboard_url",
    "follow_logs",
    "get_job",
    "job_logs",
    "jobs_report",
    "list_jobs",
    "plan_submission",
    "stop_job",
    "submit",
]

CONNECT_TIMEOUT = 5.0  # seconds for the job API to answer before the address is called unreachable


class JobError(SweepTrackError):
    """The Ray job API cannot be reached, refused a request, or knows no such job."""


class JobStatus(enum.Enum):
    """A Ray job's status, as Ray's job API reports it."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.STOPPED, JobStatus.SUCCEEDED, JobStatus.FAILED)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobInfo:
    """One Ray job: its submission id, status, command and times (ms since the epoch)."""

    id: str
    status: JobStatus
    entrypoint: str
    start: int | None
    end: int | None
    message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """What is sent to Ray: the controller's command line and the job's runtime environment.

    Attributes:
        entrypoint: The shell command the job runs on the head, in the uploaded working directory.
        working_dir: The local folder Ray uploads; the spec file is inside it.
        spec_path: The spec file relative to ``working_dir`` (as it appears in ``entrypoint``).
        runtime_env: Ray's runtime environment (``working_dir``, and ``pip``/``env_vars`` if given).
        sweep: The sweep's name (or the spec file's stem), kept in the job's metadata.
    """

    entrypoint: str
    working_dir: Path
    spec_path: str
    runtime_env: Mapping[str, Any]
    sweep: str
    metadata: Mapping[str, str] = field(default_factory=dict)


def dashboard_url(address: str) -> str:
    """The job API's base URL: ``head:8265`` becomes ``http://head:8265``; a trailing ``/`` goes."""
    address = address.strip().rstrip("/")
    if not address:
        raise JobError("no --address: give the Ray head's job API, e.g. http://HEAD:8265")
    if "://" not in address:
        address = f"http://{address}"
    if not address.startswith(("http://", "https://")):
        raise JobError(
            f"--address {address!r}: the job API is the dashboard's http:// URL (http://HEAD:8265), "
            "not a ray:// client or GCS address"
        )
    return address


def plan_submission(
    file: Path,
    *,
    working_dir: Path | None = None,
    db: str | None = None,
    executor: ExecutorType = ExecutorType.RAY,
    ray_address: str | None = "auto",
    parallel: int | None = None,
    trials: int | None = None,
    pip: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Submission:
    """Validate the spec in ``file`` and build the job that runs its controller.

    The working directory defaults to the current directory when ``file`` is inside it (so
    entrypoint modules beside the ``sweeps/`` folder travel with it, as ``sweep run`` would find
    them), else to the spec file's folder. ``file`` must lie inside the working directory.

    Raises:
        SpecError: the spec is invalid (nothing is contacted).
        JobError: the working directory is missing or does not contain ``file``.
    """
    from sweeptrack.spec.load import load_spec
    from sweeptrack.spec.runnable import require_command_or_entrypoint

    spec = load_spec(file)
    require_command_or_entrypoint(spec, file)  # the job runs `sweep run`, which needs one
    spec_file = file.resolve()
    folder = _working_dir(spec_file, working_dir)
    try:
        relative = spec_file.relative_to(folder).as_posix()
    except ValueError:
        raise JobError(
            f"{file} is not inside the working directory {folder}; pass --working-dir a folder that "
            "contains the spec (it is uploaded to the cluster)"
        ) from None
    command = ["sweeptrack"]
    if db is not None:
        command += ["--db", db]
    command += ["sweep", "run", relative, "--executor", executor.value]
    if executor is ExecutorType.RAY and ray_address is not None:
        command += ["--address", ray_address]
    if parallel is not None:
        command += ["--parallel", str(parallel)]
    if trials is not None:
        command += ["--trials", str(trials)]
    runtime_env: dict[str, Any] = {"working_dir": str(folder)}
    if pip:
        runtime_env["pip"] = list(pip)
    if env:
        runtime_env["env_vars"] = dict(env)
    name = spec.name or spec_file.stem
    return Submission(
        entrypoint=shlex.join(command),
        working_dir=folder,
        spec_path=relative,
        runtime_env=runtime_env,
        sweep=name,
        metadata={"sweeptrack.sweep": name, "sweeptrack.spec": relative},
    )


def _working_dir(spec_file: Path, given: Path | None) -> Path:
    if given is not None:
        folder = given.resolve()
        if not folder.is_dir():
            raise JobError(f"--working-dir {given}: not a directory")
        return folder
    cwd = Path.cwd().resolve()
    return cwd if spec_file.is_relative_to(cwd) else spec_file.parent


def connect(address: str, *, timeout: float = CONNECT_TIMEOUT) -> JobSubmissionClient:
    """A Ray job client for the head at ``address``, after checking its job API answers.

    Raises:
        JobError: nothing answers at ``address`` within ``timeout`` seconds, or it is not a Ray
            dashboard.
    """
    url = dashboard_url(address)
    try:
        with urllib.request.urlopen(f"{url}/api/version", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        pass  # something answers (e.g. 401 from a head with token auth); Ray's client says what
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise JobError(
            f"cannot reach the Ray job API at {url} ({reason}); is the head running with its dashboard "
            "(ray start --head --dashboard-host=0.0.0.0) and is its port (8265) reachable?"
        ) from None
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(url)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, AuthenticationError
        raise JobError(f"the Ray job API at {url} refused the connection: {refusal(exc)}") from None


def submit(client: JobSubmissionClient, submission: Submission, *, agent_wait: float = 30.0) -> str:
    """Submit the planned job; return its submission id (``raysubmit_...``).

    A head that has just started answers "no available agent" until its job agent is up; that is
    retried for up to ``agent_wait`` seconds.
    """
    deadline = time.monotonic() + agent_wait
    while True:
        try:
            return client.submit_job(
                entrypoint=submission.entrypoint,
                runtime_env=dict(submission.runtime_env),
                metadata=dict(submission.metadata),
            )
        except Exception as exc:  # e.g. a working dir over Ray's upload limit, a bad runtime_env
            if "no available agent" in str(exc).lower() and time.monotonic() < deadline:
                time.sleep(1.0)
                continue
            raise JobError(f"Ray refused the job: {_first_line(exc)}") from None


def list_jobs(client: JobSubmissionClient) -> list[JobInfo]:
    """Every job the head knows, newest first."""
    jobs = [_info(details) for details in _call(client.list_jobs)]
    return sorted(jobs, key=lambda job: job.start or 0, reverse=True)


def get_job(client: JobSubmissionClient, job_id: str) -> JobInfo:
    """One job by its submission id."""
    return _info(_call(client.get_job_info, job_id))


def job_logs(client: JobSubmissionClient, job_id: str) -> str:
    """The job's output so far."""
    return str(_call(client.get_job_logs, job_id))


def follow_logs(client: JobSubmissionClient, job_id: str, write: Callable[[str], object]) -> JobInfo:
    """Stream the job's output to ``write`` until the job ends; return the job as it ended."""
    get_job(client, job_id)  # an unknown id is an error here, not an empty stream

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            write(chunk)

    with warnings.catch_warnings():
        # Ray's log tail passes aiohttp the deprecated ssl=None; not the user's concern.
        warnings.filterwarnings("ignore", "ssl=None is deprecated", DeprecationWarning)
        asyncio.run(tail())
    return get_job(client, job_id)


def stop_job(client: JobSubmissionClient, job_id: str, *, wait: float = 30.0, poll: float = 0.5) -> JobInfo:
    """Ask Ray to stop the job, then wait up to ``wait`` seconds for it to end.

    Returns the job as last seen: terminal unless it outlived ``wait``. A job that had already
    ended is returned as it is.
    """
    job = get_job(client, job_id)
    if job.status.is_terminal:
        return job
    _call(client.stop_job, job_id)
    deadline = time.monotonic() + wait
    while not job.status.is_terminal and time.monotonic() < deadline:
        time.sleep(poll)
        job = get_job(client, job_id)
    return job


def jobs_report(jobs: Sequence[JobInfo]) -> Report:
    """``jobs list``: id, status, entrypoint, start and end of each job."""
    columns = ("id", "status", "entrypoint", "start", "end", "message")
    rows = tuple(
        (j.id, j.status.value, j.entrypoint, format_time(j.start), format_time(j.end), j.message)
        for j in jobs
    )
    return Report(tables=(Table(columns=columns, rows=rows, title="Ray jobs"),))


def _info(details: Any) -> JobInfo:
    return JobInfo(
        id=details.submission_id or details.job_id or "",
        status=JobStatus(str(getattr(details.status, "value", details.status))),
        entrypoint=details.entrypoint,
        start=details.start_time or None,
        end=details.end_time or None,
        # A failed job's message carries its last 20,000 characters of output; `jobs logs` has those.
        message=details.message.strip().splitlines()[0] if details.message else None,
    )


def _call(method: Callable[..., Any], *args: str) -> Any:
    """Call a client method; Ray's RuntimeError for an unknown job becomes a :class:`JobError`."""
    try:
        return method(*args)
    except RuntimeError as exc:
        text = str(exc)
        if args and ("does not exist" in text or "404" in text):
            raise JobError(f"no job {args[0]!r} on this cluster; see `sweeptrack jobs list`") from None
        raise JobError(f"the Ray job API failed: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
