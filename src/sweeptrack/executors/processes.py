"""Starting, signalling and describing the local executor's processes.

Every process starts in a new session, so its process group (whose id is its pid) holds it and
whatever it starts: one signal to the group reaches them all. A worker for a function given as an
object (``run_sweep(..., function=train)``) is forked from this process instead of started
afresh, so that it has the function, wherever it was defined (a notebook, a script's ``__main__``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from sweeptrack.core.channel import RunTrial
from sweeptrack.executors.base import TrialRequest

__all__ = [
    "LOG_TAIL_LINES",
    "ForkedProcess",
    "Process",
    "describe_exit",
    "fork_worker",
    "gpu_env",
    "log_tail",
    "resolve_argv",
    "run_message",
    "signal_group",
    "start_command",
    "start_worker",
]

LOG_TAIL_LINES = 20


class Process(Protocol):
    """What the executor needs of a process it started (a :class:`subprocess.Popen` is one)."""

    @property
    def pid(self) -> int: ...

    def wait(self, timeout: float | None = None) -> int:
        """Its exit code (``-N``: killed by signal N); raises subprocess.TimeoutExpired."""
        ...


class ForkedProcess:
    """A child forked by :func:`fork_worker`, waited for as a :class:`subprocess.Popen` is (from
    several threads at once: whichever reaps it tells the others)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._reaped = threading.Event()

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        step = 0.005
        while self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if deadline is None else os.WNOHANG)
            except ChildProcessError:  # another thread reaped it: wait for it to say so
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not self._reaped.wait(left):
                    raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0) from None
                continue
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                self._reaped.set()
            elif deadline is not None:
                if time.monotonic() >= deadline:
                    raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
                self._reaped.wait(step)
                step = min(step * 2, 0.05)
        return self.returncode


def start_worker(
    address: str, authkey: bytes, key: int, gpus: Sequence[str], log_path: Path
) -> subprocess.Popen[bytes]:
    """Start ``python -m sweeptrack.executors.worker``; it connects to ``address`` as worker ``key``.

    The socket and key go through the worker's stdin, not its environment, so the trials it runs
    (and their children) do not see them. ``gpus`` become its ``CUDA_VISIBLE_DEVICES`` for good:
    CUDA reads it once per process.
    """
    env = {**os.environ, **gpu_env(gpus)}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sweeptrack.executors.worker"],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    assert proc.stdin is not None
    hello = {"address": address, "authkey": authkey.hex(), "key": key}
    with contextlib.suppress(OSError):  # a worker that died at once is reported by its exit
        proc.stdin.write(json.dumps(hello).encode() + b"\n")
    with contextlib.suppress(OSError):
        proc.stdin.close()
    return proc


def fork_worker(
    address: str,
    authkey: bytes,
    key: int,
    gpus: Sequence[str],
    log_path: Path,
    function: Callable[..., Any],
    inherited: Sequence[int] = (),
) -> ForkedProcess:
    """Fork a worker that runs ``function`` for every trial it gets; it connects to ``address`` as
    worker ``key``, as :func:`start_worker`'s does, with its output in ``log_path``.

    ``inherited``: descriptors of this process the child must not keep (the executor's socket
    and its connections: a worker holding another's connection would keep that one open after
    the executor is gone).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for stream in (sys.stdout, sys.stderr):  # what is buffered here must not be written twice
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        pid = os.fork()
    except OSError:
        os.close(log_fd)
        raise
    if pid == 0:  # the child: it never returns into the caller's code
        code = 1
        try:
            _become_worker(log_fd, gpus, inherited)
            from sweeptrack.executors.worker import serve_function

            code = serve_function(address, authkey, key, function)
        except BaseException:
            with contextlib.suppress(BaseException):
                import traceback

                traceback.print_exc()
        finally:
            os._exit(code)
    os.close(log_fd)
    return ForkedProcess(pid)


def _become_worker(log_fd: int, gpus: Sequence[str], inherited: Sequence[int]) -> None:
    """In a forked child: a session of its own, no stdin, output to the log, its GPUs."""
    os.setsid()
    for fd in inherited:
        with contextlib.suppress(OSError):
            os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    # The caller's streams may be no files at all (a notebook's go to its kernel's I/O thread,
    # which the child does not have): print() writes to the log like any worker's.
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.environ.update(gpu_env(gpus))


def gpu_env(gpus: Sequence[str]) -> dict[str, str]:
    """The variables of a process given ``gpus`` (none for a process given no GPU: a CPU trial
    keeps whatever its parent had). The ids are NVML's, which number GPUs by PCI bus; CUDA numbers
    them fastest first unless told otherwise."""
    if not gpus:
        return {}
    return {"CUDA_VISIBLE_DEVICES": ",".join(gpus), "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}


def run_message(request: TrialRequest, log_path: Path) -> RunTrial:
    """What a worker receives to run a function trial (plain, picklable data)."""
    return RunTrial(
        trial_id=request.trial_id,
        experiment=request.experiment,
        name=request.name,
        params=dict(request.params),
        call_params=dict(request.call_params),
        entrypoint=request.entrypoint,
        cwd=os.path.abspath(request.cwd),
        search_path=tuple(request.search_path),
        env=dict(request.env),
        artifact_root=request.artifact_root,
        log_path=str(log_path),
    )


def start_command(
    argv: Sequence[str], cwd: str, env: Mapping[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """Start a command trial with its stdout and stderr going to ``log_path``.

    Raises:
        OSError: It could not start (the message, also written to the log, names the program).
    """
    with open(log_path, "wb") as log:
        try:
            return subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            message = f"cannot start command {argv[0]!r} in {cwd}: {exc}"
            log.write(message.encode() + b"\n")
            raise OSError(exc.errno, message) from exc


def signal_group(pgid: int, signum: signal.Signals) -> None:
    """Send ``signum`` to a process group; one that is gone already is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def describe_exit(returncode: int | None) -> str:
    """``exit code 2``, or ``exit code -9 (SIGKILL)`` for a signal."""
    if returncode is not None and returncode < 0:
        with contextlib.suppress(ValueError):
            return f"exit code {returncode} ({signal.Signals(-returncode).name})"
    return f"exit code {returncode}"


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file ("" if it is missing)."""
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 64 * 1024))
            data = log.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").rstrip().splitlines()[-lines:])


def resolve_argv(argv: Sequence[str], cwd: str, search_path: Sequence[str]) -> list[str]:
    """argv with each relative file path that is missing under ``cwd`` but present in a
    ``search_path`` folder made absolute (a program next to the spec file)."""
    resolved = []
    for arg in argv:
        looks_like_path = arg and not arg.startswith("-") and "=" not in arg and not os.path.isabs(arg)
        if looks_like_path and not os.path.exists(os.path.join(cwd, arg)):
            for folder in search_path:
                candidate = os.path.join(folder, arg)
                if os.path.isfile(candidate):
                    arg = os.path.abspath(candidate)
                    break
        resolved.append(arg)
    return resolved
