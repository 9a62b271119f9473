"""`sweeptrack leaderboard`: ranking direction, default goal, varying params, formats."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from click.testing import Result

Invoke = Callable[..., Result]


def board(invoke: Invoke, *args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(invoke("leaderboard", *args, "--format", "json").stdout)
    return rows


def test_maximize_ranks_the_largest_last_value_first(invoke: Invoke) -> None:
    rows = board(invoke, "--metric", "val_f1", "-e", "digits")

    assert [row["name"] for row in rows] == ["lr-0.01", "lr-0.001", "lr-0.1"]
    assert [row["rank"] for row in rows] == [1, 2, 3]
    assert [row["val_f1"] for row in rows] == [0.9, 0.75, 0.7]
    assert all(len(row["id"]) == 8 and row["status"] == "finished" for row in rows)


def test_a_loss_is_minimized_by_default_and_the_goal_is_in_the_title(invoke: Invoke) -> None:
    rows = board(invoke, "--metric", "loss", "-e", "digits")
    assert [row["loss"] for row in rows] == [0.2, 0.3, 0.5]

    table = invoke("leaderboard", "--metric", "loss", "-e", "digits").stdout
    assert "minimize" in table.splitlines()[0]
    assert "maximize" in invoke("leaderboard", "--metric", "val_f1").stdout.splitlines()[0]


def test_explicit_goal_and_summary(invoke: Invoke) -> None:
    rows = board(invoke, "--metric", "loss", "--goal", "maximize", "--summary", "max", "-e", "digits")

    assert [row["loss.max"] for row in rows] == [1.0, 0.9, 0.8]
    assert [row["name"] for row in rows] == ["lr-0.001", "lr-0.1", "lr-0.01"]


def test_top_filter_and_experiment_narrow_the_board(invoke: Invoke) -> None:
    assert [row["name"] for row in board(invoke, "--metric", "val_f1")][:1] == ["solo"]
    assert len(board(invoke, "--metric", "val_f1", "--top", "2")) == 2
    filtered = board(invoke, "--metric", "val_f1", "--filter", "params.batch_size = 32 or params.lr > 0.4")
    assert [row["name"] for row in filtered] == ["solo", "lr-0.01", "lr-0.1"]


def test_only_params_that_vary_among_the_shown_runs_are_columns(invoke: Invoke) -> None:
    rows = board(invoke, "--metric", "val_f1", "-e", "digits")
    assert [key for key in rows[0] if key.startswith("params.")] == ["params.batch_size", "params.lr"]

    top_two = board(invoke, "--metric", "val_f1", "-e", "digits", "--filter", "params.batch_size = 32")
    assert [key for key in top_two[0] if key.startswith("params.")] == ["params.lr"]


def test_runs_without_the_metric_are_left_out(invoke: Invoke) -> None:
    rows = board(invoke, "--metric", "grad_norm")
    assert [(row["name"], row["grad_norm"]) for row in rows] == [("lr-0.001", "nan")]


def test_csv_and_md(invoke: Invoke) -> None:
    text = invoke("leaderboard", "--metric", "val_f1", "-e", "digits", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["rank"] for row in rows] == ["1", "2", "3"] and rows[0]["params.lr"] == "0.01"

    md = invoke("leaderboard", "--metric", "val_f1", "-e", "digits", "--format", "md").stdout
    assert md.startswith("### Leaderboard: val_f1 (maximize)")
    assert "| 1 |" in md
