"""Module-level run API (``st.start_run``, ``st.log_metric``, ...) over one ContextVar.

This module is the library's boundary with a training script, so it is where defaults come from
the environment: ``SWEEPTRACK_DB`` (else ``sqlite:///sweeptrack.db`` in the working directory),
``SWEEPTRACK_ARTIFACTS`` (else an ``artifacts`` folder beside the SQLite file) and
``SWEEPTRACK_RUN_HEARTBEAT_S`` (how often a run's heartbeat is written; see ``core.liveness``).

Inside a sweep trial (a worker made a :class:`~sweeptrack.trial.TrialRun` the active run, or the
``SWEEPTRACK_TRIAL_*`` variables are set) every function here works on the trial's run: it is
attached to, never created, and only the process running the trial ends it.
"""

from __future__ import annotations

import atexit
import contextvars
import functools
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from sweeptrack.core.liveness import Liveness
from sweeptrack.core.model import Artifact, Dataset, RunStatus
from sweeptrack.run import Run, RunKilled, StoreSink, status_for_exception
from sweeptrack.trial import ENV_ID, TrialRun, attach_from_env

__all__ = [
    "active_run",
    "end_run",
    "log_artifact",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_tag",
    "set_tags",
    "should_prune",
    "start_run",
]

DEFAULT_DB = "sqlite:///sweeptrack.db"
# Set by `sweeptrack reproduce` for the script it re-runs: the new run is tagged as reproducing it.
ENV_REPRODUCES = "SWEEPTRACK_REPRODUCES"
REPRODUCES_TAG = "sweeptrack.reproduces"
DEFAULT_EXPERIMENT = "default"

_active: contextvars.ContextVar[Run | None] = contextvars.ContextVar("sweeptrack_run", default=None)


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    *,
    db: str | None = None,
    artifacts: str | Path | None = None,
    capture_environment: bool = True,
) -> Run:
    """Start a run and make it the active one; use it as a context manager.

    On leaving the block the run ends FINISHED, FAILED (with the exception's type and message) on
    an exception, PRUNED on :class:`TrialPruned`, KILLED on SIGTERM or Ctrl-C.

    Inside a sweep trial this returns the trial's run instead (``tags`` are set on it; the
    experiment, name, database and artifact root are the sweep's), and leaving the block only
    flushes: the trial ends when its function returns or its process exits.

    Example:
        >>> with st.start_run(experiment="digits", name="baseline") as run:   # doctest: +SKIP
        ...     st.log_metrics({"loss": 0.4}, step=0)
    """
    trial = _trial_run()
    if trial is not None:
        if tags:
            trial.set_tags(tags)
        return trial
    from sweeptrack.tracking.artifacts import ArtifactRoot, default_artifact_root
    from sweeptrack.tracking.sql.store import SqlStore

    url = db or os.environ.get("SWEEPTRACK_DB") or DEFAULT_DB
    beat_s = Liveness.from_environ(os.environ).run_heartbeat_s  # a bad value fails before any write
    store = SqlStore(url)
    override = str(artifacts) if artifacts else os.environ.get("SWEEPTRACK_ARTIFACTS")
    root = ArtifactRoot(default_artifact_root(url, override))
    sink = StoreSink(store)
    try:
        run = Run(
            experiment=experiment or DEFAULT_EXPERIMENT,
            name=name,
            sink=sink,
            artifacts=root,
            tags={str(k): str(v) for k, v in (tags or {}).items()} | _reproduces(os.environ),
        )
    except BaseException:  # a bad name or tag (InvalidValueError), an unusable database
        sink.close()
        raise
    _active.set(run)
    _keep_beating(run, url, beat_s)
    _install_sigterm_handler()
    hook = functools.partial(_end_at_exit, run)
    atexit.register(hook)
    run.end_hooks.append(lambda: atexit.unregister(hook))
    if capture_environment:
        _capture_environment(run)
    return run


def _reproduces(environ: Mapping[str, str]) -> dict[str, str]:
    original = environ.get(ENV_REPRODUCES)
    return {REPRODUCES_TAG: original} if original else {}


def _keep_beating(run: Run, url: str, every: float) -> None:
    """Write the run's heartbeat every ``every`` seconds until it ends, from a thread with a
    connection of its own: a run whose process dies stops beating and shows as crashed."""
    from sweeptrack.tracking.heartbeat import RunHeartbeat
    from sweeptrack.tracking.sql.store import SqlStore

    heartbeat = RunHeartbeat(SqlStore(url), every=every)
    heartbeat.add(run.id)
    run.end_hooks.append(heartbeat.close)


def _capture_environment(run: Run) -> None:
    from sweeptrack.tracking.environment import capture_environment

    captured = capture_environment(list(sys.argv), Path.cwd(), environ=os.environ)
    run.log_environment(captured.data)
    if captured.git_diff:
        run.log_artifact_bytes("environment/git.diff", captured.git_diff.encode())


def active_run() -> Run | None:
    """The active run of this context, or None; inside a sweep trial, the trial's run."""
    run = _active.get()
    if run is None or run.ended:
        return _trial_run()
    return run


@contextmanager
def activated(run: Run) -> Iterator[Run]:
    """Make ``run`` the active run of this context for the block (a sweep worker runs a trial so;
    not for training code, hence not in ``__all__``).

    The run is not ended on leaving; the previous active run is restored.
    """
    token = _active.set(run)
    try:
        yield run
    finally:
        _active.reset(token)


def reactivate(run: Run) -> None:
    """Make ``run``, still open, the active run again once a run started inside it ended (MLflow's
    nested runs in :mod:`sweeptrack.compat.mlflow`); not for training code, hence not in ``__all__``."""
    _active.set(run)


def _trial_run() -> TrialRun | None:
    """The trial's run when this context is a sweep trial, attaching to it on first use."""
    run = _active.get()
    if isinstance(run, TrialRun):
        return run
    if not os.environ.get(ENV_ID):
        return None
    trial = attach_from_env(os.environ)
    if trial is None:
        return None
    _active.set(trial)
    _install_sigterm_handler()
    hook = functools.partial(_finish_at_exit, trial)
    atexit.register(hook)
    trial.end_hooks.append(lambda: atexit.unregister(hook))
    return trial


def _run() -> Run:
    run = active_run()
    return run if run is not None else start_run()


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End the active run with ``status`` (a RunStatus or its name, e.g. "failed")."""
    run = active_run()
    if run is None:
        return
    run.end(status if isinstance(status, RunStatus) else RunStatus(str(status).lower()))
    if not isinstance(run, TrialRun):  # a trial's run stays active: only its runner ends it
        _active.set(None)


def log_param(key: str, value: Any) -> None:
    _run().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _run().log_params(params)


def log_metric(key: str, value: Any, step: int | None = None) -> None:
    _run().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    _run().log_metrics(metrics, step)


def set_tag(key: str, value: Any) -> None:
    _run().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _run().set_tags(tags)


def log_artifact(path: str | Path, name: str | None = None) -> list[Artifact]:
    return _run().log_artifact(path, name)


def log_dataset(name: str, source: str | Path, context: str | None = None) -> Dataset:
    return _run().log_dataset(name, source, context)


def should_prune() -> bool:
    """True inside a sweep trial that the controller decided to prune."""
    run = active_run()
    return run is not None and run.should_prune()


def _end_at_exit(run: Run) -> None:
    """End a run left open when the interpreter exits (FAILED if an exception ended the script)."""
    if run.ended:
        return
    exc = getattr(sys, "last_value", None) or getattr(sys, "last_exc", None)
    status, error = status_for_exception(exc)
    try:
        run.end(status, error)
    except Exception as failure:  # the interpreter is going away: say it, do not raise
        print(f"sweeptrack: could not end run {run.id}: {failure}", file=sys.stderr)


def _finish_at_exit(run: TrialRun) -> None:
    """Hand a trial's last events to the controller when its process exits (it decides the status)."""
    try:
        run.finish()
    except Exception as failure:  # the interpreter is going away: say it, do not raise
        print(f"sweeptrack: could not flush trial {run.id}: {failure}", file=sys.stderr)


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    run = _active.get()
    if run is not None and not run.ended:
        raise RunKilled(f"signal {signal.Signals(signum).name}")
    # No run to end: behave as if no handler had been installed.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_sigterm_handler() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
