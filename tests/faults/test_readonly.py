"""A SQLite database that cannot be written (a read-only file, a file in a read-only folder, with
or without a writer's WAL beside it) is opened read-only: every read-only command and the Client
read it exactly as they read a writable copy and leave no file beside it; writes are refused with
one line that says why."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import sweeptrack as st
from sweeptrack.tracking.sql.schema import HEAD_REVISION

from ._hardening_helpers import error_line, ok, read_only, sweeptrack

SPEC = """
method: grid
metric: {name: loss, goal: minimize}
entrypoint: train:main
name: ro-sweep
experiment: ro
parameters:
  x: {values: [1, 2, 3]}
"""
TRAIN = """
import sweeptrack as st
from sweeptrack.tracking.sql.schema import HEAD_REVISION


def main(params):
    for epoch in range(2):
        st.log_metrics({"loss": (params["x"] - 2) ** 2 + 1.0 / (epoch + 1)}, step=epoch)
"""
READS = [
    ("runs", "list", "--format", "json"),
    ("runs", "show", "solo", "--format", "json"),
    ("runs", "compare", "solo", "other", "--format", "json"),
    ("leaderboard", "--metric", "loss", "-e", "ro", "--format", "json"),
    ("sweep", "list", "--format", "json"),
    ("sweep", "show", "ro-sweep", "--format", "json"),
    ("report", "ro-sweep", "--format", "md"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with a finished 3-trial sweep and two plain runs, closed (no -wal file)."""
    folder = tmp_path_factory.mktemp("ro-template")
    (folder / "train.py").write_text(TRAIN)
    (folder / "sweep.yaml").write_text(SPEC)
    url = f"sqlite:///{folder}/t.db"
    st.run_sweep(folder / "sweep.yaml", db=url)
    for name, loss in (("solo", 0.5), ("other", 0.25)):
        with st.start_run(experiment="ro", name=name, db=url, capture_environment=False):
            st.log_params({"lr": loss / 10})
            st.log_metric("loss", loss, step=0)
    assert sorted(p.name for p in folder.glob("t.db*")) == ["t.db"]
    return folder / "t.db"


@pytest.fixture
def copy(template: Path, tmp_path: Path) -> Path:
    (tmp_path / "db").mkdir()
    return Path(shutil.copy(template, tmp_path / "db" / "t.db"))


@pytest.fixture(scope="module")
def expected(template: Path) -> dict[tuple[str, ...], str]:
    """What each read prints on the writable database (the report's footer has a clock)."""
    return {args: _stable(ok(sweeptrack(*args, db=f"sqlite:///{template}"))) for args in READS}


def _stable(out: str) -> str:
    return "\n".join(line for line in out.splitlines() if "generated" not in line)


def _assert_reads_work(path: Path, expected: dict[tuple[str, ...], str]) -> None:
    url = f"sqlite:///{path}"
    for args in READS:
        out = _stable(ok(sweeptrack(*args, db=url)))
        assert out == expected[args], args
    assert ok(sweeptrack("db", "current", db=url)) == f"{url}: {HEAD_REVISION} (up to date)\n"
    client = st.Client(url)
    names = {run.name for run in client.search_runs(experiment="ro")}
    assert names == {"solo", "other", "ro-sweep-0", "ro-sweep-1", "ro-sweep-2"}
    assert [p.value for p in client.get_metric_history("solo", "loss")] == [0.5]
    client.close()


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def read_only_file(copy: Path) -> Iterator[Path]:
    with read_only(copy):
        yield copy


@pytest.fixture
def read_only_folder(copy: Path) -> Iterator[Path]:
    with read_only(copy.parent):
        yield copy


@pytest.mark.parametrize("case", ["read_only_file", "read_only_folder"])
def test_reads_work_and_leave_nothing_beside(
    case: str, request: pytest.FixtureRequest, expected: dict[tuple[str, ...], str]
) -> None:
    path: Path = request.getfixturevalue(case)
    with pytest.raises(OSError):  # really read-only for this process
        path.open("r+b") if case == "read_only_file" else (path.parent / "probe").touch()

    _assert_reads_work(path, expected)

    assert _files(path.parent) == ["t.db"]


@pytest.mark.parametrize("case", ["read_only_file", "read_only_folder"])
def test_writes_are_refused_with_the_reason(
    case: str, request: pytest.FixtureRequest, template: Path
) -> None:
    path: Path = request.getfixturevalue(case)
    url = f"sqlite:///{path}"
    reason = (
        f"{path} is read-only (Operation not permitted)"
        if case == "read_only_file"
        else f"folder {path.parent} is read-only"
    )
    message = (
        f"cannot write to database {url}: {reason}, so it is open read-only; "
        "give a database you can write with --db"
    )
    if case == "read_only_file" and os.geteuid() != 0:
        message = message.replace("Operation not permitted", "Permission denied")

    spec = str(template.parent / "sweep.yaml")
    assert error_line(sweeptrack("sweep", "run", spec, db=url, cwd=template.parent)) == message
    assert error_line(sweeptrack("db", "upgrade", db=url)) == message
    with (
        pytest.raises(st.SweepTrackError) as caught,
        st.start_run(experiment="ro", name="new", db=url, capture_environment=False),
    ):
        st.log_metric("loss", 1.0)
    assert str(caught.value) == message
    sweeps = json.loads(ok(sweeptrack("sweep", "list", "--format", "json", db=url)))
    assert [(s["name"], s["state"], s["trials"]) for s in sweeps] == [("ro-sweep", "finished", 3)]
    assert _files(path.parent) == ["t.db"]


def test_a_read_only_folder_with_a_writer_at_work_reads_its_wal(copy: Path) -> None:
    """While a writer holds the database (its -wal and -shm files exist), a reader in a read-only
    folder sees what the writer committed to the WAL and not yet to the file."""
    url = f"sqlite:///{copy}"
    writer = sqlite3.connect(copy, isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")  # keep the commit in the WAL only
        writer.execute("UPDATE runs SET name = 'renamed-in-wal' WHERE name = 'solo'")
        assert (copy.parent / "t.db-wal").stat().st_size > 0
        with read_only(copy.parent):
            names = [
                r["name"]
                for r in json.loads(ok(sweeptrack("runs", "list", "-e", "ro", "--format", "json", db=url)))
            ]
            assert "renamed-in-wal" in names and "solo" not in names
            assert _files(copy.parent) == ["t.db", "t.db-shm", "t.db-wal"]
    finally:
        writer.close()
