"""Helpers of the value, writer, loss-window, output and objective fault tests (tests/faults)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

BACKENDS = ["sqlite", pytest.param("pg", marks=pytest.mark.postgres)]


def backend_url(request: pytest.FixtureRequest) -> str:
    """The database URL of the backend ``request.param`` names (a fresh SQLite file or PG schema)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def cli(*args: str, cwd: Path, timeout: float = 180) -> tuple[int, str, str]:
    """Run the real ``sweeptrack`` console script; (exit code, stdout, stderr)."""
    exe = Path(sys.executable).with_name("sweeptrack")
    env = {k: v for k, v in os.environ.items() if k != "SWEEPTRACK_DB"}
    proc = subprocess.run(
        [str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return proc.returncode, proc.stdout, proc.stderr


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
