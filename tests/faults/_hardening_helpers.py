"""Helpers of the hardening fault tests: the real `sweeptrack` console script in a subprocess,
its one-line errors, and files made read-only for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EXE = Path(sys.executable).with_name("sweeptrack")
ERROR_EXIT = 2


def sweeptrack(
    *args: str, db: str | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``sweeptrack [--db DB] ARGS`` and return what it printed (stdout and stderr apart)."""
    command: list[str] = [str(EXE), *(["--db", db] if db else []), *args]
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
def read_only(*paths: Path) -> Iterator[None]:
    """Make files and folders read-only for this very process, for real, and undo it afterwards.

    Root ignores file modes, so as root they get the immutable attribute (``chattr +i``: the
    kernel refuses every write, as on a read-only mount); any other user gets ``chmod a-w``.
    """
    root = os.geteuid() == 0
    chattr = shutil.which("chattr") or "chattr"
    modes = {path: path.stat().st_mode for path in paths}
    done: list[Path] = []
    try:
        for path in paths:
            if root:
                subprocess.run([chattr, "+i", str(path)], check=True, capture_output=True)
            else:
                path.chmod(modes[path] & ~0o222)
            done.append(path)
        yield
    finally:
        for path in done:
            if root:
                subprocess.run([chattr, "-i", str(path)], check=True, capture_output=True)
            else:
                path.chmod(modes[path])
