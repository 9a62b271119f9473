"""A long-lived process that runs function trials, one at a time (``python -m sweeptrack.executors.worker``).

The executor writes one JSON line to the worker's stdin (socket address, hex key, worker key) and
closes it. The worker connects, says ``WorkerHello(key)``, then loops: it receives a ``RunTrial``,
runs the trial with the trial's run active and fd 1 and 2 going to the trial's log file, and
answers ``Finished`` after the trial's events (its ``leaving``: the worker exits now, e.g. after a
MemoryError). The messages are those of :mod:`sweeptrack.core.channel`. SIGTERM during a
trial raises :class:`RunKilled` in it (so its events are flushed), then the worker exits. When the
executor goes away the worker kills its process group.

A worker forked for a function given as an object (see
:func:`sweeptrack.executors.processes.fork_worker`) runs that function for every trial instead
(:func:`serve_function`).

This module is a process entry point: it is the one place besides the CLI that changes the process
state (working directory, ``sys.path``, ``os.environ`` for the trial's variables, signal handlers).
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib
import inspect
import io
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from types import FrameType
from typing import Any

from sweeptrack.core.channel import Finished, RunTrial, WorkerHello
from sweeptrack.core.errors import InvalidValueError
from sweeptrack.core.model import RunStatus
from sweeptrack.fluent import activated
from sweeptrack.run import RunKilled, as_metric_value, status_for_exception
from sweeptrack.tracking.sysmetrics import NvmlProbe, SystemMetricsSampler, interval_from_env
from sweeptrack.trial import TRIAL_FLUSH_INTERVAL, Channel, ChannelSink, TrialRun, artifact_store

__all__ = ["main", "serve_function"]

TRACEBACK_LINES = 20

Outcome = tuple[RunStatus, str | None, Any]


class Worker:
    def __init__(self, channel: Channel, function: Callable[..., Any] | None = None) -> None:
        self.channel = channel
        self.in_trial = False
        self.terminating = False
        self.retire = False
        self._functions: dict[tuple[str, tuple[str, ...]], tuple[Callable[..., Any], bool]] = {}
        self._own = (function, _takes_params(function)) if function is not None else None
        self._logs = _LogFiles()

    def serve(self) -> None:
        while not (self.terminating or self.retire):
            message = self.channel.inbox.get()
            if message is None:
                return
            if not isinstance(message, RunTrial):
                continue
            status, error, result = self.run_trial(message)
            self.channel.pruned.discard(message.trial_id)
            leaving = self.retire or self.terminating  # the executor must not send it another trial
            self.channel.send(Finished(message.trial_id, status, error, result, leaving))

    def on_sigterm(self, _signum: int, _frame: FrameType | None) -> None:
        self.terminating = True
        if self.in_trial:
            raise RunKilled("signal SIGTERM")
        raise SystemExit(0)

    def run_trial(self, request: RunTrial) -> Outcome:
        sink = ChannelSink(self.channel, owns_channel=False)
        run = TrialRun(
            experiment=request.experiment,
            name=request.name,
            sink=sink,
            artifacts=artifact_store(request.artifact_root),
            run_id=request.trial_id,
            flush_interval=TRIAL_FLUSH_INTERVAL,
            params=request.params,
        )
        with (
            _redirected(request.log_path, self._logs),
            _trial_state(request),
            activated(run),
            _system_metrics(run),
        ):
            status, error, result = self._call(request)
        run.finish(status, error)
        return status, error, result

    def _call(self, request: RunTrial) -> Outcome:
        self.in_trial = True  # importing the module runs trial code too
        try:
            try:
                function, takes_params = self._function(request)
                returned = function(dict(request.call_params)) if takes_params else function()
            finally:
                self.in_trial = False
            return RunStatus.FINISHED, None, _result(returned)
        except BaseException as exc:
            return self._failure(exc)

    def _failure(self, exc: BaseException) -> Outcome:
        status, error = status_for_exception(exc)
        if isinstance(exc, MemoryError):
            self.retire = True  # the heap may be in a bad state: the next trial gets a fresh process
        if status is RunStatus.FAILED and not isinstance(exc, SystemExit | _ResultError):
            tb = exc.__traceback__
            if tb is not None and tb.tb_frame.f_code is Worker._call.__code__:
                tb = tb.tb_next  # the worker's own frame says nothing about the trial
            text = "".join(traceback.format_exception(type(exc), exc, tb))
            print(text, file=sys.stderr, end="")
            error = "\n".join(text.rstrip("\n").splitlines()[-TRACEBACK_LINES:])
        elif isinstance(exc, _ResultError):
            error = str(exc)
        return status, error, None

    def _function(self, request: RunTrial) -> tuple[Callable[..., Any], bool]:
        if self._own is not None:
            return self._own
        entrypoint, search_path = request.entrypoint or "", tuple(request.search_path)
        cached = self._functions.get((entrypoint, search_path))
        if cached is not None:
            return cached
        module_name, colon, attr = entrypoint.partition(":")
        if not (module_name and colon and attr):
            raise ValueError(f"entrypoint {entrypoint!r}: write it as module:function")
        for folder in reversed(search_path):
            if folder not in sys.path:
                sys.path.insert(0, folder)
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
        if not callable(target):
            raise TypeError(f"entrypoint {entrypoint!r} is a {type(target).__name__}, not a function")
        found = (target, _takes_params(target))
        self._functions[(entrypoint, search_path)] = found
        return found


class _ResultError(Exception):
    """The entrypoint returned something that is not a result."""


def _result(returned: Any) -> float | dict[str, float] | None:
    if returned is None:
        return None
    try:
        if isinstance(returned, Mapping):
            return {str(k): as_metric_value(str(k), v) for k, v in returned.items()}
        return as_metric_value("result", returned)
    except InvalidValueError as exc:
        raise _ResultError(
            f"the entrypoint returned {type(returned).__name__} {returned!r:.80}: {exc}; "
            "return a number, a dict of final metrics or None"
        ) from exc


def _takes_params(function: Callable[..., Any]) -> bool:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        for p in signature.parameters.values()
    )


class _LogFiles:
    """Opens the trials' log files. Creating a file costs a fifth of a millisecond of CPU on a
    journaling file system, more than the rest of a short trial; so a trial that printed nothing
    leaves its empty file to this worker's next trial, which takes it over by a rename (a few
    microseconds). The executor has reported the old name by then, and a reader of it finds it
    gone, as an empty log reads anyway."""

    def __init__(self) -> None:
        self._spare: str | None = None

    def open(self, path: str) -> int:
        spare, self._spare = self._spare, None
        if spare is not None and os.path.dirname(spare) == os.path.dirname(path):
            with contextlib.suppress(OSError):  # gone already (a Ray slot removes shipped logs)
                os.rename(spare, path)
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)

    def closed(self, path: str, size: int) -> None:
        """The trial that wrote ``path`` ended with ``size`` bytes in it."""
        self._spare = path if size == 0 else None


@contextlib.contextmanager
def _redirected(log_path: str, logs: _LogFiles) -> Iterator[None]:
    """fd 1 and 2 (and so print, C code and child processes) write to the trial's log file."""
    saved_streams = sys.stdout, sys.stderr
    for stream in saved_streams:
        stream.flush()
    fd = logs.open(log_path)
    saved = os.dup(1), os.dup(2)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    # Each printed line reaches the log as it is printed, for `sweeptrack runs logs --follow`.
    relined = [s for s in saved_streams if isinstance(s, io.TextIOWrapper) and not s.line_buffering]
    for stream in relined:
        stream.reconfigure(line_buffering=True)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for stream in relined:
            with contextlib.suppress(Exception):
                stream.reconfigure(line_buffering=False)
        sys.stdout, sys.stderr = saved_streams
        with contextlib.suppress(OSError):
            logs.closed(log_path, os.fstat(1).st_size)
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


@contextlib.contextmanager
def _trial_state(request: RunTrial) -> Iterator[None]:
    """The trial's working directory and environment variables, restored afterwards."""
    env = request.env
    previous = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    with contextlib.suppress(OSError):  # a missing folder shows up as the entrypoint's own error
        os.chdir(request.cwd)
    try:
        yield
    finally:
        os.chdir(_HOME)
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_HOME = os.getcwd()


@contextlib.contextmanager
def _system_metrics(run: TrialRun) -> Iterator[None]:
    """Sample system metrics into the trial's run while it runs, at the interval its sweep set
    (read after :func:`_trial_state` applied the trial's variables); stopped before the run ends."""
    interval = interval_from_env(os.environ)
    if interval <= 0:
        yield
        return
    probe = NvmlProbe(os.environ.get("CUDA_VISIBLE_DEVICES"))
    with SystemMetricsSampler(run.log_metrics, interval=interval, gpus=probe):
        yield


def _kill_group() -> None:
    """The executor is gone: take down this worker and whatever its trial started."""
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main() -> None:
    config = json.loads(sys.stdin.readline())
    sys.stdin.close()
    serve_function(config["address"], bytes.fromhex(config["authkey"]), config["key"], None)


def serve_function(address: str, authkey: bytes, key: int, function: Callable[..., Any] | None) -> int:
    """Connect to the executor at ``address`` as worker ``key`` and run the trials it sends, with
    ``function`` (None: each trial's entrypoint), until it is told to stop or the executor goes."""
    faulthandler.enable(all_threads=False)  # a segfault leaves the trial's traceback in its log
    channel = Channel.connect(address, authkey, WorkerHello(key), _kill_group)
    worker = Worker(channel, function)
    signal.signal(signal.SIGTERM, worker.on_sigterm)
    try:
        worker.serve()
    except (SystemExit, RunKilled):
        pass
    finally:
        with contextlib.suppress(Exception):
            channel.close()
    return 0


if __name__ == "__main__":
    main()
