"""A sweep name used twice (`make demo` run twice): commands take the newest and say so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from sweeptrack.reports.sweeps import repeated_name_note
from sweeptrack.tracking.sql.store import SqlStore

TRIAL = """
import sweeptrack as st

def train(params):
    st.log_metrics({"loss": (params["x"] - 3) ** 2}, step=0)
    return (params["x"] - 3) ** 2
"""

SPEC = """
name: quickstart
method: grid
metric: {name: loss, goal: minimize}
entrypoint: trial:train
parameters:
  x: {values: [1, 3]}
"""


def sweeptrack(folder: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("sweeptrack")
    env = {k: v for k, v in os.environ.items() if k != "SWEEPTRACK_DB"}
    done = subprocess.run([str(exe), *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == expect, done.stderr
    return done


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The quickstart sweep run twice into one database: its ids, newest first."""
    folder = tmp_path_factory.mktemp("twice")
    (folder / "trial.py").write_text(TRIAL)
    (folder / "quickstart.yaml").write_text(SPEC)
    for _ in range(2):
        sweeptrack(folder, "sweep", "run", "quickstart.yaml")
    with SqlStore(f"sqlite:///{folder}/sweeptrack.db") as store:
        ids = [sweep.id for sweep in store.sweeps_named("quickstart")]
    return folder, ids


def expected_note(folder: Path, newest: str) -> str:
    with SqlStore(f"sqlite:///{folder}/sweeptrack.db") as store:
        started = datetime.fromtimestamp(store.get_sweep(newest).created_at / 1000).astimezone()
    return f"2 sweeps named quickstart; using the newest, {newest[:8]}, started {started:%H:%M}\n"


def test_sweep_show_takes_the_newest_and_says_so(twice: tuple[Path, list[str]]) -> None:
    folder, (newest, older) = twice
    shown = sweeptrack(folder, "sweep", "show", "quickstart", "--format", "json")
    assert json.loads(shown.stdout)["id"] == newest
    assert shown.stderr == expected_note(folder, newest)
    by_id = sweeptrack(folder, "sweep", "show", older[:8], "--format", "json")  # an id picks one: no note
    assert json.loads(by_id.stdout)["id"] == older and by_id.stderr == ""


@pytest.mark.parametrize(
    "args",
    [
        ("leaderboard", "--sweep", "quickstart", "--format", "json"),
        ("runs", "list", "--sweep", "quickstart", "--format", "json"),
        ("report", "quickstart", "--format", "json"),
    ],
    ids=["leaderboard", "runs-list", "report"],
)
def test_sweep_option_and_report_take_the_newest_and_say_so(
    twice: tuple[Path, list[str]], args: tuple[str, ...]
) -> None:
    folder, (newest, _) = twice
    done = sweeptrack(folder, *args)
    assert done.stderr == expected_note(folder, newest)
    assert done.stdout.strip()  # the answer itself is unchanged: the newest sweep's


def test_resume_names_the_sweep_it_takes(twice: tuple[Path, list[str]]) -> None:
    folder, (newest, _) = twice
    done = subprocess.run(
        [str(Path(sys.executable).with_name("sweeptrack")), "sweep", "resume", "quickstart"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stderr.startswith(expected_note(folder, newest))


def test_a_name_used_once_gets_no_note(tmp_path: Path) -> None:
    (tmp_path / "trial.py").write_text(TRIAL)
    (tmp_path / "quickstart.yaml").write_text(SPEC)
    sweeptrack(tmp_path, "sweep", "run", "quickstart.yaml")
    assert sweeptrack(tmp_path, "sweep", "show", "quickstart").stderr == ""


def test_the_note_gives_the_date_of_a_sweep_not_started_today(twice: tuple[Path, list[str]]) -> None:
    folder, (newest, _) = twice
    with SqlStore(f"sqlite:///{folder}/sweeptrack.db") as store:
        named = store.sweeps_named("quickstart")
    a_week_later = named[0].created_at + 7 * 24 * 3600 * 1000
    started = datetime.fromtimestamp(named[0].created_at / 1000).astimezone()
    assert repeated_name_note(named, now_ms=a_week_later) == (
        f"2 sweeps named quickstart; using the newest, {newest[:8]}, started {started:%Y-%m-%d %H:%M}"
    )
    assert repeated_name_note(named[:1]) is None
