"""No silent empty answers: a metric, param, tag or experiment that no run in scope has is a one-line
error naming the nearest names (exit 2); a valid filter that matches nothing is an empty table and
"0 runs" (exit 0). Through the real CLI, in a subprocess, against a real SQLite file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import sweeptrack as st
from sweeptrack.tracking.sql.store import SqlStore

SWEEPTRACK = str(Path(sys.executable).with_name("sweeptrack"))
SPEC = """\
method: random
metric: {name: val_f1, goal: maximize}
parameters: {lr: {min: 0.001, max: 0.1}}
entrypoint: train:main
"""


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two "digits" runs with flat nested params (as a sweep stores them), one "other" run, and a
    sweep "quickstart" whose one trial logged only loss."""
    url = f"sqlite:///{tmp_path_factory.mktemp('empty')}/sweeptrack.db"
    for name, lr in (("a", 0.1), ("b", 0.01)):
        with st.start_run(experiment="digits", name=name, db=url, capture_environment=False):
            st.log_params({"optimizer.lr": lr, "optimizer.name": "adam"})
            st.log_metrics({"val_f1": 0.5 + lr, "loss": 1 - lr}, step=0)
    with st.start_run(experiment="other", name="c", db=url, capture_environment=False, tags={"keep": "yes"}):
        st.log_metrics({"accuracy": 0.9}, step=0)
    with SqlStore(url) as store:
        sweep_id = uuid.uuid4().hex
        store.create_sweep(sweep_id=sweep_id, experiment="digits", name="quickstart", spec=SPEC)
        trial = uuid.uuid4().hex
        store.create_run(
            run_id=trial, experiment="digits", name="t0", start_time=1, sweep_id=sweep_id, trial_number=0
        )
        store.log_metrics(trial, [("loss", 0.3, 0, 1)])
    return url


def sweeptrack(db: str, *args: str, expect: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run(
        [SWEEPTRACK, "--db", db, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == expect, done.stderr
    return done


def error(db: str, *args: str) -> str:
    """The one line a user sees on standard error; nothing is printed on standard output."""
    done = sweeptrack(db, *args, expect=2)
    assert done.stdout == "" and done.stderr.count("\n") == 1
    return done.stderr.rstrip("\n")


def test_leaderboard_of_a_metric_no_run_logged_names_the_nearest(db: str) -> None:
    assert error(db, "leaderboard", "--metric", "val_f2", "-e", "digits") == (
        "error: no run in experiment 'digits' logged metric 'val_f2'; did you mean val_f1?"
    )
    assert error(db, "leaderboard", "--metric", "val_f2") == (
        "error: no run in the database logged metric 'val_f2'; did you mean val_f1?"
    )
    # accuracy exists, but not in this experiment: the names listed are those in scope
    assert error(db, "leaderboard", "-m", "accuracy", "-e", "digits") == (
        "error: no run in experiment 'digits' logged metric 'accuracy'; the metrics are loss, val_f1"
    )


def test_a_filter_on_a_metric_or_param_nobody_logged(db: str) -> None:
    assert error(db, "runs", "list", "-f", "metrics.nosuch > 0.5") == (
        "error: no run in the database logged metric 'nosuch'; the metrics are accuracy, loss, val_f1"
    )
    assert error(db, "runs", "list", "-e", "digits", "-f", "params.optimizer.lrr < 0.05") == (
        "error: no run in experiment 'digits' logged param 'optimizer.lrr'; did you mean optimizer.lr?"
    )
    assert error(db, "leaderboard", "-m", "val_f1", "-f", "metrics.loss.min < 1 and tags.kepp = 'yes'") == (
        "error: no run in the database set tag 'kepp'; did you mean keep?"
    )
    assert error(db, "runs", "list", "-f", "metrics.val_f1 > 2", "-o", "metrics.val_f11 DESC") == (
        "error: no run in the database logged metric 'val_f11'; did you mean val_f1?"
    )


def test_an_experiment_that_does_not_exist(db: str) -> None:
    assert (
        error(db, "runs", "list", "--experiment", "digitz")
        == "error: no experiment 'digitz'; did you mean digits?"
    )
    assert error(db, "leaderboard", "-m", "val_f1", "-e", "nothing-like-it") == (
        "error: no experiment 'nothing-like-it'; the experiments are digits, other"
    )


def test_a_sweep_scope_is_named_by_the_sweep(db: str) -> None:
    assert error(db, "leaderboard", "-m", "val_f1", "--sweep", "quickstart") == (
        "error: no run in sweep 'quickstart' logged metric 'val_f1'; the metrics are loss"
    )
    # ranked by the sweep's own metric, which its trials have not logged yet: an empty board
    assert sweeptrack(db, "leaderboard", "--sweep", "quickstart", expect=0).stdout.rstrip().endswith("0 runs")


def test_a_valid_filter_that_matches_nothing_is_an_empty_table_and_0_runs(db: str) -> None:
    table = sweeptrack(db, "runs", "list", "-f", "metrics.val_f1 > 0.99", expect=0)
    assert table.stdout.rstrip().endswith("0 runs") and "┃ id" in table.stdout and table.stderr == ""
    assert (
        json.loads(
            sweeptrack(db, "runs", "list", "-f", "metrics.val_f1 > 0.99", "--format", "json", expect=0).stdout
        )
        == []
    )
    assert sweeptrack(
        db, "runs", "list", "-f", "metrics.val_f1 > 0.99", "--format", "csv", expect=0
    ).stdout.startswith("id,")

    board = sweeptrack(
        db, "leaderboard", "-m", "val_f1", "-e", "digits", "-f", "params.optimizer.lr > 1", expect=0
    )
    assert board.stdout.rstrip().endswith("0 runs")


def test_asking_for_runs_without_a_key_is_not_an_error(db: str) -> None:
    # "which runs lack it" is a fair question whatever the key: no complaint, just no runs
    for text in (
        "metrics.nosuch IS NULL and status = 'failed'",
        "not (metrics.nosuch > 1) and status = 'failed'",
    ):
        assert sweeptrack(db, "runs", "list", "-f", text, expect=0).stdout.rstrip().endswith("0 runs")


def test_a_report_ranked_by_a_metric_nobody_logged(db: str, tmp_path: Path) -> None:
    out = tmp_path / "digits.html"
    assert error(db, "report", "-e", "digits", "-m", "val_f2", "--out", str(out)) == (
        "error: no run in experiment 'digits' logged metric 'val_f2'; did you mean val_f1?"
    )
    assert not out.exists()
