"""Capture what a run ran on: interpreter, machine, installed packages, git state and GPUs.

Every part fails soft: a part that raises is recorded as ``{"error": "<type>: <message>"}`` under
its key and the rest is still captured, so a broken ``/proc`` or a missing ``git`` never stops a run.

Example:
    >>> env = capture_environment(sys.argv, Path.cwd())
    >>> env.data["python"]["version"]
    '3.11.9'
"""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["REPRODUCIBILITY_VARIABLES", "CapturedEnvironment", "capture_environment", "relevant_variables"]

# Environment variables that change what a run computes: kept with the run, set again by
# ``sweeptrack reproduce``. Also any variable whose name ends in ``SEED``.
REPRODUCIBILITY_VARIABLES = frozenset(
    {
        "PYTHONHASHSEED",
        "CUDA_VISIBLE_DEVICES",
        "CUBLAS_WORKSPACE_CONFIG",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "TF_DETERMINISTIC_OPS",
        "TF_CUDNN_DETERMINISTIC",
    }
)

_GIT_TIMEOUT_S = 5.0
_NO_GPU = "no NVIDIA GPU"


@dataclass(frozen=True, slots=True, kw_only=True)
class CapturedEnvironment:
    """The environment of one run.

    Attributes:
        data: JSON-serialisable description (see :func:`capture_environment` for the keys).
        git_diff: Uncommitted changes to tracked files of the git repository containing the
            working directory, as ``git diff HEAD`` prints them; None when the tree is clean or
            the directory is not inside a repository. Untracked files are not part of it.
    """

    data: dict[str, Any]
    git_diff: str | None = None


def relevant_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` that can change a run's results (see
    :data:`REPRODUCIBILITY_VARIABLES`), by name."""
    return {
        name: value
        for name, value in sorted(environ.items())
        if name in REPRODUCIBILITY_VARIABLES or name.upper().endswith("SEED")
    }


def capture_environment(
    argv: Sequence[str],
    cwd: Path,
    *,
    git_executable: str = "git",
    environ: Mapping[str, str] | None = None,
) -> CapturedEnvironment:
    """Describe the interpreter, machine, packages, git state and GPUs of the current process.

    Keys of ``data``: ``python``, ``platform``, ``hostname``, ``cpu``, ``ram_bytes``,
    ``packages`` (normalised distribution name -> version), ``git`` (absent outside a
    repository; with the repository's ``root``), ``command``, ``cwd``, ``cwd_in_repo`` (the
    working directory relative to the repository's root), ``variables`` (the environment
    variables that change results, see :func:`relevant_variables`), ``gpus`` and, when there is
    no usable NVIDIA GPU, ``gpu_status``. A part that fails holds ``{"error": "<type>:
    <message>"}`` instead. What ``sweeptrack reproduce`` re-runs comes from ``command``,
    ``cwd_in_repo``, ``variables`` and ``git``.

    Args:
        argv: The command line of the run, usually ``sys.argv``.
        cwd: The working directory; git state is read from the repository containing it.
        git_executable: The ``git`` program to run (a name looked up on PATH, or a path).
        environ: The process environment (usually ``os.environ``); None records no variables.

    Returns:
        The captured environment; never raises for a failing part.
    """
    data: dict[str, Any] = {
        "python": _soft(_python_info),
        "platform": _soft(_platform_info),
        "hostname": _soft(socket.gethostname),
        "cpu": _soft(_cpu_info),
        "ram_bytes": _soft(_ram_bytes),
        "packages": _soft(_packages),
        "command": [str(arg) for arg in argv],
        "cwd": str(cwd),
        "variables": relevant_variables(environ or {}),
    }
    git_diff: str | None = None
    try:
        git_info, git_diff = _git_state(cwd, git_executable)
        if git_info is not None:
            data["git"] = git_info
            data["cwd_in_repo"] = _relative(cwd, git_info.get("root"))
    except Exception as exc:
        data["git"] = _error(exc)
    try:
        data.update(_gpu_info())
    except Exception as exc:  # a driver that answers oddly: record why, keep ``gpus`` a list
        data.update({"gpus": [], "gpu_status": _error(exc)["error"]})
    return CapturedEnvironment(data=data, git_diff=git_diff)


def _relative(cwd: Path, root: str | None) -> str | None:
    if root is None:
        return None
    try:
        return Path(os.path.realpath(cwd)).relative_to(os.path.realpath(root)).as_posix()
    except ValueError:
        return None


def _error(exc: BaseException) -> dict[str, str]:
    return {"error": f"{type(exc).__name__}: {exc}"}


def _soft(part: Callable[[], Any]) -> Any:
    """Run one part; an exception becomes an error record."""
    try:
        return part()
    except Exception as exc:
        return _error(exc)


def _python_info() -> dict[str, str]:
    return {
        "version": platform.python_version(),
        "executable": sys.executable,
        "implementation": platform.python_implementation(),
    }


def _platform_info() -> dict[str, str]:
    return {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "platform": platform.platform(),
    }


def _cpu_info() -> dict[str, Any]:
    return {"count": os.cpu_count(), "model": _cpu_model()}


def _cpu_model() -> str:
    """The 'model name' of /proc/cpuinfo; platform.processor() where there is none."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                field, sep, value = line.partition(":")
                if sep and field.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return platform.processor()


def _ram_bytes() -> int:
    import psutil  # imported here so a broken psutil only loses this part

    return int(psutil.virtual_memory().total)


def _packages() -> dict[str, str]:
    """Installed distributions by PEP 503 normalised name; the first on sys.path wins.

    Only the header of each METADATA file is scanned: the email parser that
    ``Distribution.metadata`` uses costs about a millisecond per distribution.
    """
    packages: dict[str, str] = {}
    for dist in metadata.distributions():
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
        name, version = _name_and_version(text)
        if name and version:
            packages.setdefault(re.sub(r"[-_.]+", "-", name).lower(), version)
    return packages


def _name_and_version(text: str) -> tuple[str | None, str | None]:
    name = version = None
    for line in text.splitlines():
        if not line.strip():
            break  # end of the header; the long description follows
        if line.startswith("Name:"):
            name = line[5:].strip()
        elif line.startswith("Version:"):
            version = line[8:].strip()
    return name, version


def _git_state(cwd: Path, git: str) -> tuple[dict[str, Any] | None, str | None]:
    """(info, diff) of the repository containing ``cwd``; (None, None) outside a repository."""
    status = _run_git(git, cwd, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status.returncode != 0:
        if "not a git repository" in status.stderr:
            return None, None
        raise RuntimeError(f"git status failed in {cwd}: {status.stderr.strip()}")
    commit = branch = None
    dirty = False
    for line in status.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split(" ", 2)[2]
            commit = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2]
            branch = None if head == "(detached)" else head
        elif not line.startswith("#"):
            dirty = True
    info: dict[str, Any] = {"commit": commit, "branch": branch, "dirty": dirty}
    root = _repository_root(cwd)
    if root is not None:
        info["root"] = root
    remote = _run_git(git, cwd, "config", "--get", "remote.origin.url")
    if remote.returncode == 0 and remote.stdout.strip():
        info["remote"] = remote.stdout.strip()
    return info, (_git_diff(git, cwd, has_head=commit is not None) if dirty else None)


def _repository_root(cwd: Path) -> str | None:
    """The folder of the nearest ``.git`` (a folder, or a file in a worktree or submodule), found
    without another git process: this runs at every run's start."""
    folder = Path(os.path.realpath(cwd))
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return str(candidate)
    return None


def _git_diff(git: str, cwd: Path, *, has_head: bool) -> str | None:
    flags = ("--no-color", "--no-ext-diff")
    if has_head:
        text = _run_git(git, cwd, "diff", *flags, "HEAD", check=True).stdout
    else:  # unborn branch: staged changes against nothing, then the work tree against the index
        staged = _run_git(git, cwd, "diff", *flags, "--cached", check=True).stdout
        text = staged + _run_git(git, cwd, "diff", *flags, check=True).stdout
    return text or None


def _run_git(git: str, cwd: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # A copy for the child only: never prompt, never take index.lock, English messages to parse.
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C", LANGUAGE="C")
    try:
        result = subprocess.run(
            [git, *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        if not cwd.is_dir():
            raise FileNotFoundError(f"working directory {cwd} does not exist") from exc
        raise FileNotFoundError(f"git executable {git!r} not found; install git or fix PATH") from exc
    if check and result.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed in {cwd}: {result.stderr.strip()}")
    return result


def _gpu_info() -> dict[str, Any]:
    """``{"gpus": [...]}``, plus ``gpu_status`` when there is no NVIDIA driver or device."""
    import pynvml  # nvidia-ml-py; loads libnvidia-ml lazily in nvmlInit

    try:
        pynvml.nvmlInit()
    except (pynvml.NVMLError_LibraryNotFound, pynvml.NVMLError_DriverNotLoaded):
        return {"gpus": [], "gpu_status": _NO_GPU}
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            gpus.append(
                {
                    "index": index,
                    "name": _text(pynvml.nvmlDeviceGetName(handle)),
                    "memory_total_bytes": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
                    "driver": driver,
                }
            )
    finally:
        pynvml.nvmlShutdown()
    return {"gpus": gpus} if gpus else {"gpus": [], "gpu_status": _NO_GPU}


def _text(value: str | bytes) -> str:
    """nvidia-ml-py before 11.515 returned bytes where it now returns str."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
