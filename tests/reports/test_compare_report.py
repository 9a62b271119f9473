"""compare_runs(): which rows differ, hidden identical packages, datasets, git, bad references."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import sweeptrack as st
from sweeptrack.core.errors import RunNotFoundError, SweepTrackError
from sweeptrack.reports.compare import Comparison, Section, compare_runs
from sweeptrack.tracking.sql.store import SqlStore

MakeRun = Callable[..., str]


def env(commit: str, **packages: str) -> dict[str, object]:
    return {"git": {"commit": commit, "branch": "main", "dirty": False}, "packages": packages}


def by_key(comparison: Comparison) -> dict[tuple[Section, str], tuple[tuple[object, ...], bool]]:
    return {(row.section, row.key): (row.values, row.differs) for row in comparison.rows}


def test_rows_say_whether_the_runs_differ(store: SqlStore, make_run: MakeRun) -> None:
    make_run(
        "run-a",
        params={"lr": 0.1, "opt": "adam", "layers": [64, 64]},
        metrics={"loss": [1.0, float("nan")]},
        environment=env("1" * 40, numpy="1.26", click="8.1"),
    )
    make_run(
        "run-b",
        params={"lr": 0.1, "opt": "sgd", "layers": [64, 64]},
        metrics={"loss": [1.0, float("nan")], "acc": [0.5]},
        environment=env("2" * 40, numpy="2.0", click="8.1"),
    )

    rows = by_key(compare_runs(store, ["run-a", "run-b"]))

    assert rows[(Section.RUN, "name")] == (("run-a", "run-b"), True)
    assert rows[(Section.PARAMS, "lr")] == ((0.1, 0.1), False)
    assert rows[(Section.PARAMS, "opt")][1] is True
    assert rows[(Section.PARAMS, "layers")] == (([64, 64], [64, 64]), False)
    loss_last = rows[(Section.METRICS, "loss.last")]
    assert loss_last[1] is False  # NaN in both runs is the same
    assert rows[(Section.METRICS, "acc.last")] == ((None, 0.5), True)
    assert rows[(Section.GIT, "commit")] == (("1" * 40, "2" * 40), True)
    assert rows[(Section.PACKAGES, "numpy")] == (("1.26", "2.0"), True)
    assert (Section.PACKAGES, "click") not in rows


def test_all_packages_shows_identical_versions(store: SqlStore, make_run: MakeRun) -> None:
    make_run("run-a", environment=env("1" * 40, click="8.1"))
    make_run("run-b", environment=env("1" * 40, click="8.1"))

    rows = by_key(compare_runs(store, ["run-a", "run-b"], all_packages=True))

    assert rows[(Section.PACKAGES, "click")] == (("8.1", "8.1"), False)


def test_int_and_float_params_differ(store: SqlStore, make_run: MakeRun) -> None:
    make_run("run-a", params={"x": 1})
    make_run("run-b", params={"x": 1.0})
    assert by_key(compare_runs(store, ["run-a", "run-b"]))[(Section.PARAMS, "x")][1] is True


def test_dataset_digests_compare_by_content(store: SqlStore, sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "v1.csv").write_text("a\n1\n")
    (tmp_path / "v2.csv").write_text("a\n2\n")
    for name, source in (("one", "v1.csv"), ("two", "v2.csv"), ("copy", "v1.csv")):
        with st.start_run(experiment="e", name=name, db=sqlite_url, capture_environment=False):
            st.log_dataset("train", tmp_path / source, context="training")

    rows = by_key(compare_runs(store, ["one", "two", "copy"]))

    values, differs = rows[(Section.DATASETS, "train (training)")]
    assert differs is True and values[0] == values[2] != values[1] and len(str(values[0])) == 64
    assert by_key(compare_runs(store, ["one", "copy"]))[(Section.DATASETS, "train (training)")][1] is False


def test_report_has_a_column_per_run_and_highlights_differences(store: SqlStore, make_run: MakeRun) -> None:
    first = make_run("run-a", params={"lr": 0.1, "opt": "adam"})
    second = make_run("run-b", params={"lr": 0.2, "opt": "adam"})

    table = compare_runs(store, [first[:6], "run-b"]).report().tables[0]

    assert table.columns == ("section", "key", first[:8], second[:8], "differs")
    highlighted = {row[1] for row, flag in zip(table.rows, table.highlight, strict=True) if flag}
    assert highlighted == {"name", "lr"}


def test_bad_references(store: SqlStore, make_run: MakeRun) -> None:
    make_run("run-a")
    with pytest.raises(RunNotFoundError, match="no run with id, id prefix or name 'zzz'"):
        compare_runs(store, ["run-a", "zzz"])
    with pytest.raises(SweepTrackError, match="given more than once"):
        compare_runs(store, ["run-a", "run-a"])
