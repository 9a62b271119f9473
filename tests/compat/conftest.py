"""Helpers for running W&B- and MLflow-style scripts the way their users do: as plain scripts and
as the programs of a sweep (through the ``sweeptrack`` console script), then reading the database."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sweeptrack.core.model import Run
from sweeptrack.tracking.sql.store import SqlStore


def child_env(**extra: str) -> dict[str, str]:
    """This environment without a database default or a trial context, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEEPTRACK_")}
    return {**env, **extra}


def run_script(folder: Path, name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python NAME ARGS`` in ``folder`` with SWEEPTRACK_DB pointing at its sweeptrack.db."""
    db = f"sqlite:///{folder}/sweeptrack.db"
    done = subprocess.run(
        [sys.executable, name, *args],
        cwd=folder,
        env=child_env(SWEEPTRACK_DB=db, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def run_sweep_cli(folder: Path, spec: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``sweeptrack sweep run SPEC`` in ``folder`` (its database: folder/sweeptrack.db)."""
    exe = Path(sys.executable).with_name("sweeptrack")
    return subprocess.run(
        [str(exe), "sweep", "run", spec, *args],
        cwd=folder,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def all_runs(folder: Path) -> list[Run]:
    store = SqlStore(f"sqlite:///{folder}/sweeptrack.db")
    try:
        return sorted(store.search_runs(), key=lambda r: (r.trial_number or 0, r.start_time))
    finally:
        store.close()


def history(folder: Path, run: Run, key: str) -> list[tuple[int, float]]:
    store = SqlStore(f"sqlite:///{folder}/sweeptrack.db")
    try:
        return [(p.step, p.value) for p in store.get_metric_history(run.id, key)]
    finally:
        store.close()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("SWEEPTRACK_")]:
        monkeypatch.delenv(key)
    return tmp_path
