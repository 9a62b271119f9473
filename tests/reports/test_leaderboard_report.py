"""leaderboard(): order by goal and summary, default goal, filters, varying params, NaN last."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from sweeptrack.core.errors import QueryError
from sweeptrack.reports.formats import Format, render
from sweeptrack.reports.leaderboard import Goal, LeaderboardRow, default_goal, leaderboard
from sweeptrack.tracking.query import Summary, parse_filter
from sweeptrack.tracking.sql.store import SqlStore

MakeRun = Callable[..., str]


@pytest.fixture
def three_runs(make_run: MakeRun) -> None:
    make_run("a", params={"lr": 0.1, "seed": 1}, metrics={"acc": [0.2, 0.9, 0.5], "val loss": [3.0, 1.0]})
    make_run("b", params={"lr": 0.01, "seed": 1}, metrics={"acc": [0.6, 0.7], "val loss": [2.0, 0.5]})
    make_run("c", params={"lr": 0.001, "seed": 1}, metrics={"acc": [0.1, 0.8], "val loss": [4.0, 2.5]})
    make_run("no-metric", params={"lr": 1.0, "seed": 2})


def names(board_rows: Sequence[LeaderboardRow]) -> list[str]:
    return [row.run.name for row in board_rows]


@pytest.mark.usefixtures("three_runs")
def test_maximize_and_minimize_reverse_the_order(store: SqlStore) -> None:
    best_first = leaderboard(store, "acc", goal=Goal.MAXIMIZE)
    worst_first = leaderboard(store, "acc", goal=Goal.MINIMIZE)

    assert names(best_first.rows) == ["c", "b", "a"]  # last values 0.8, 0.7, 0.5
    assert [row.value for row in best_first.rows] == [0.8, 0.7, 0.5]
    assert names(worst_first.rows) == ["a", "b", "c"]
    assert [row.rank for row in worst_first.rows] == [1, 2, 3]


@pytest.mark.usefixtures("three_runs")
def test_summary_picks_the_column_that_ranks(store: SqlStore) -> None:
    by_max = leaderboard(store, "acc", summary=Summary.MAX)

    assert names(by_max.rows) == ["a", "c", "b"]
    assert by_max.metric_column == "acc.max"
    assert by_max.report().tables[0].columns[4] == "acc.max"


def test_default_goal_minimizes_losses_and_errors() -> None:
    assert default_goal("val loss") is Goal.MINIMIZE
    assert default_goal("Top1_Error") is Goal.MINIMIZE
    assert default_goal("val_f1") is Goal.MAXIMIZE


@pytest.mark.usefixtures("three_runs")
def test_default_goal_is_used_and_named_in_the_title(store: SqlStore) -> None:
    board = leaderboard(store, "val loss", top=2)

    assert board.goal is Goal.MINIMIZE and names(board.rows) == ["b", "a"]
    assert board.title == "Leaderboard: val loss (minimize)"
    assert render(board.report(), Format.MD).startswith("### Leaderboard: val loss (minimize)")


@pytest.mark.usefixtures("three_runs")
def test_runs_without_the_metric_are_not_ranked(store: SqlStore) -> None:
    assert "no-metric" not in names(leaderboard(store, "acc", top=10).rows)


@pytest.mark.usefixtures("three_runs")
def test_filter_combines_with_and_even_with_or_inside(store: SqlStore) -> None:
    board = leaderboard(store, "acc", filter="params.lr >= 0.01 or params.seed = 2")
    assert names(board.rows) == ["b", "a"]


@pytest.mark.usefixtures("three_runs")
def test_a_malformed_filter_reports_the_column_of_the_users_text(store: SqlStore) -> None:
    text = "params.lr >= 0.01 and and"
    with pytest.raises(QueryError) as direct:
        parse_filter(text)
    with pytest.raises(QueryError) as raised:
        leaderboard(store, "acc", filter=text)
    assert str(raised.value) == str(direct.value)
    assert "column" in str(raised.value)


@pytest.mark.usefixtures("three_runs")
def test_varying_params_only(store: SqlStore) -> None:
    board = leaderboard(store, "acc")

    assert board.varying_params == ("lr",)  # seed is 1 in every ranked run
    shown = board.report().tables[0].shown()  # the other params and metrics: for --columns
    assert shown.columns == ("rank", "id", "name", "status", "acc", "params.lr")


def test_nan_ranks_last_whatever_the_goal(store: SqlStore, make_run: MakeRun) -> None:
    make_run("diverged", metrics={"loss": [1.0, float("nan")]})
    make_run("fine", metrics={"loss": [1.0, 0.5]})
    make_run("worse", metrics={"loss": [1.0, 0.9]})

    for goal in Goal:
        board = leaderboard(store, "loss", goal=goal)
        assert names(board.rows)[-1] == "diverged"
    assert "nan" in render(board.report(), Format.CSV)


def test_metric_names_that_need_quoting(store: SqlStore, make_run: MakeRun) -> None:
    make_run("q", metrics={"f1 `macro`.x": [0.5]})
    assert names(leaderboard(store, "f1 `macro`.x").rows) == ["q"]


def test_top_must_be_positive(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="top must be at least 1"):
        leaderboard(store, "acc", top=0)
