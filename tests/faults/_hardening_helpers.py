"""Helpers of the hardening fault tests: the real `sweeptrack` console script in a subprocess,
optionally as an unprivileged user, and its one-line errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EXE = Path(sys.executable).with_name("sweeptrack")
ERROR_EXIT = 2
NOBODY = 65534  # as root, commands run as this user so that file modes hold (root ignores them)


def as_root() -> bool:
    return os.geteuid() == 0


def sweeptrack(
    *args: str,
    db: str | None = None,
    cwd: Path | None = None,
    unprivileged: bool = False,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``sweeptrack [--db DB] ARGS`` and return what it printed (stdout and stderr apart).

    ``unprivileged`` runs it as ``nobody`` when this process is root (``setpriv``), so that a file
    mode of 0444 or a folder mode of 0555 means what it means for every other user.
    """
    command: list[str] = [str(EXE), *(["--db", db] if db else []), *args]
    if unprivileged and as_root():
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run as an unprivileged user"
        command = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200"}
    env.pop("SWEEPTRACK_DB", None)
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one ``error: ...`` line of a failed command (exit 2, nothing on stdout, no traceback)."""
    assert result.returncode == ERROR_EXIT, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0].removeprefix("error: ")


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The standard output of a command that must succeed (and print nothing on stderr)."""
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert result.stderr == "", result.stderr
    return result.stdout


@contextmanager
def shared_folder() -> Iterator[Path]:
    """A new folder that an unprivileged user can reach (pytest's tmp_path is private to root),
    owned by that user when we are root; removed afterwards whatever its mode then is."""
    folder = Path(tempfile.mkdtemp(prefix="sweeptrack-faults-"))
    try:
        for parent in folder.parents:  # every folder above must let others through
            assert os.stat(parent).st_mode & 0o001, f"{parent} is not searchable by other users"
        folder.chmod(0o755)
        if as_root():
            os.chown(folder, NOBODY, NOBODY)
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)
