"""collect_report(): every section checked against the store it was read from."""

from __future__ import annotations

import json
import math

import pytest
from sweepdata import T, rising, write_sweep

from sweeptrack.core.errors import SweepNotFoundError, SweepTrackError
from sweeptrack.core.model import Goal, RunStatus
from sweeptrack.reports.leaderboard import leaderboard
from sweeptrack.reports.report.collect import collect_report
from sweeptrack.reports.report.curves import downsample
from sweeptrack.tracking.sql.store import SqlStore


def _no_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def mixed_trials() -> list[T]:
    trials = [
        T(
            params={"lr": 0.001 * (i + 1), "model": ["sgd", "mlp"][i % 2], "seed": 1 + i % 3},
            metrics={
                "val_f1": rising(0.5 + 0.03 * i),
                "loss": [1.0, 0.5],
                "system/cpu_percent": [10.0, 30.0],
            },
        )
        for i in range(8)
    ]
    trials.append(
        T(
            params={"lr": 0.2, "model": "sgd", "seed": 1},
            status=RunStatus.PRUNED,
            metrics={"val_f1": [0.1, 0.15]},
        )
    )
    trials.append(
        T(
            params={"lr": 0.3, "model": "sgd", "seed": 1},
            status=RunStatus.FAILED,
            metrics={"val_f1": [0.1]},
            error="Traceback (most recent call last):\nValueError: diverged",
        )
    )
    return trials


def test_leaderboard_ranks_as_the_store_and_lists_every_run(store: SqlStore) -> None:
    sweep_id, _ = write_sweep(store, mixed_trials())
    data = collect_report(store, sweep="s")

    board = leaderboard(
        store, "val_f1", goal=Goal.MAXIMIZE, sweep=sweep_id, filter="status = 'finished'", top=100
    )
    ranked = [row for row in data.leaderboard if row.rank is not None]
    assert [row.run_id for row in ranked] == [row.run.id for row in board.rows]
    assert [row.objective for row in ranked] == [row.value for row in board.rows]
    assert [(row.status, row.rank) for row in data.leaderboard[8:]] == [("pruned", None), ("failed", None)]
    assert len(data.leaderboard) == len(store.search_runs(sweep=sweep_id)) == 10
    assert data.summary.best is not None and data.summary.best.run_id == board.rows[0].run.id


def test_summary_counts_compute_and_failures(store: SqlStore) -> None:
    write_sweep(store, mixed_trials())
    summary = collect_report(store, sweep="s").summary

    assert summary.counts["finished"] == 8 and summary.counts["pruned"] == 1 and summary.counts["failed"] == 1
    assert summary.state == "finished" and "val_f1" in (summary.spec_yaml or "")
    # val_f1 steps: 8 x 5 finished, 2 pruned, 1 failed; the pruned trial was 3 steps short.
    assert (summary.compute.epochs_run, summary.compute.epochs_saved) == (43, 3)
    assert summary.compute.trial_seconds == pytest.approx(43.0)
    assert summary.compute.trial_seconds_saved == pytest.approx(3.0)
    assert [f.error for f in summary.failures] == ["Traceback (most recent call last):\nValueError: diverged"]


def test_history_curves_system_comparison_and_importances(store: SqlStore) -> None:
    write_sweep(store, mixed_trials())
    data = collect_report(store, sweep="s", curves_top_k=3)

    assert [p.trial_number for p in data.history] == list(range(10))
    best = [p.best_so_far for p in data.history]
    assert best[:8] == pytest.approx([0.5 + 0.03 * i for i in range(8)]) and best[9] == best[7]
    assert data.curves is not None
    assert [(c.rank, c.status) for c in data.curves.runs] == [
        (1, "finished"),
        (2, "finished"),
        (3, "finished"),
        (None, "pruned"),
    ]
    assert data.curves.runs[0].values == pytest.approx(rising(0.71))
    assert data.system is not None and list(data.system.series) == ["system/cpu_percent"]
    assert data.comparison is not None and data.comparison.run_ids == [r.run_id for r in data.leaderboard[:3]]
    assert data.importances is not None
    assert set(data.importances.ped_anova) == {"lr", "model", "seed"}
    assert sum(data.importances.ped_anova.values()) == pytest.approx(1.0)
    assert data.metric_names == ["loss", "val_f1"] and data.param_names == ["lr", "model", "seed"]


def test_seed_groups_rank_by_mean_with_an_interval(store: SqlStore) -> None:
    f1 = {("a", 1): 0.90, ("a", 2): 0.80, ("a", 3): 0.85, ("b", 1): 0.84, ("b", 2): 0.86, ("c", 1): 0.5}
    trials = [T(params={"model": m, "seed": s}, metrics={"val_f1": [v]}) for (m, s), v in f1.items()]
    write_sweep(store, trials)
    data = collect_report(store, sweep="s", group_seeds=True)

    assert data.seed_param == "seed"
    groups = {tuple(sorted(g.params.items())): g for g in data.seed_groups}
    a, b, c = (groups[(("model", m),)] for m in "abc")
    assert (a.rank, a.n, a.mean) == (1, 3, pytest.approx(0.85))
    assert a.low < 0.85 < a.high and a.high - a.low == pytest.approx(
        2 * 4.302653 * 0.05 / math.sqrt(3), rel=1e-4
    )
    assert (b.rank, b.n, b.overlaps_leader) == (2, 2, True)
    assert (c.n, c.low, c.high, c.overlaps_leader) == (1, 0.5, 0.5, False)
    by_id = {row.run_id: row.seed_group for row in data.leaderboard}
    assert all(by_id[run_id] == data.seed_groups.index(a) for run_id in a.run_ids)


def test_downsampling_keeps_extremes_and_says_how_many_points() -> None:
    values = [math.sin(i / 50) for i in range(10_000)]
    values[1234], values[7777] = 50.0, -50.0
    steps, kept, total = downsample(list(range(10_000)), values, 100)
    assert total == 10_000 and len(steps) <= 100
    assert 50.0 in kept and -50.0 in kept and steps[0] == 0 and steps[-1] == 9_999
    assert steps == sorted(steps)


def test_long_curves_are_downsampled_not_truncated(store: SqlStore) -> None:
    write_sweep(store, [T(params={"model": "sgd"}, metrics={"val_f1": [i / 2000 for i in range(2000)]})])
    data = collect_report(store, sweep="s", max_points=50)
    assert data.curves is not None
    (curve,) = data.curves.runs
    assert curve.points_total == 2000 and len(curve.steps) <= 50 and curve.steps[-1] == 1999
    assert "downsampled" in " ".join(data.notes["curves"])


def test_zero_finished_trials_says_what_it_cannot_show(store: SqlStore) -> None:
    write_sweep(store, [T(params={"lr": 0.1}, status=RunStatus.RUNNING, metrics={"val_f1": [0.2]})])
    data = collect_report(store, sweep="s")
    assert [row.rank for row in data.leaderboard] == [None]
    assert data.summary.best is None and data.importances is None and data.comparison is None
    assert "needs at least 2 finished trials" in data.notes["importances"][0]
    assert "nothing is ranked" in " ".join(data.notes["leaderboard"])


def test_only_failed_trials(store: SqlStore) -> None:
    write_sweep(store, [T(params={"lr": x}, status=RunStatus.FAILED, error=f"OOM {x}") for x in (0.1, 0.2)])
    data = collect_report(store, sweep="s")
    assert [f.error for f in data.summary.failures] == ["OOM 0.1", "OOM 0.2"]
    assert "every trial failed" in data.notes["summary"][0]
    assert data.curves is not None and data.curves.runs == []


def test_nan_metrics_are_unranked_and_valid_json(store: SqlStore) -> None:
    trials = [
        T(params={"lr": 0.1}, metrics={"val_f1": [0.5, math.nan]}),
        T(params={"lr": 0.2}, metrics={"val_f1": [0.7, 0.8]}),
    ]
    write_sweep(store, trials)
    data = collect_report(store, sweep="s")
    assert [(row.rank, row.objective) for row in data.leaderboard] == [(1, 0.8), (None, None)]
    assert "missing or NaN" in " ".join(data.notes["leaderboard"])
    parsed = json.loads(data.model_dump_json(), parse_constant=_no_constant)  # strict JSON
    assert parsed["leaderboard"][1]["metrics"]["val_f1"]["last"] == "NaN"  # the documented string


def test_one_param_and_two_hundred_params(store: SqlStore) -> None:
    write_sweep(
        store, [T(params={"lr": 0.1 * i}, metrics={"val_f1": [i / 10]}) for i in range(1, 5)], name="one"
    )
    one = collect_report(store, sweep="one")
    assert "needs 2 params that vary" in one.notes["contour"][0]
    many = [
        T(params={f"p{j:03d}": (i * j) % 7 for j in range(200)}, metrics={"val_f1": [i / 10]})
        for i in range(6)
    ]
    write_sweep(store, many, name="many")
    data = collect_report(store, sweep="many", metric="val_f1")
    assert len(data.param_names) == 200 and len(data.leaderboard[0].params) == 200
    assert data.importances is not None and len(data.importances.ped_anova) > 0


def test_experiment_runs_ranked_by_a_metric(store: SqlStore, make_run) -> None:  # type: ignore[no-untyped-def]
    for name, loss in (("a", 0.5), ("b", 0.2), ("c", 0.9)):
        make_run(name, params={"lr": loss}, metrics={"val loss": [1.0, loss]})
    data = collect_report(store, experiment="exp", metric="val loss")
    assert data.objectives[0].goal == "minimize"  # the default goal for a loss
    assert [row.name for row in data.leaderboard] == ["b", "a", "c"]
    assert data.source.kind == "experiment" and data.summary.state is None


def test_bad_input_raises_clear_errors(store: SqlStore) -> None:
    with pytest.raises(SweepNotFoundError):
        collect_report(store, sweep="nope")
    with pytest.raises(SweepTrackError, match="needs --metric"):
        write_sweep(store, [])
        collect_report(store, experiment="exp")
    with pytest.raises(SweepTrackError, match="no experiment named 'zzz'"):
        collect_report(store, experiment="zzz", metric="m")
    with pytest.raises(SweepTrackError, match="not both"):
        collect_report(store, sweep="s", experiment="exp")


@pytest.mark.postgres
def test_report_on_postgresql(pg_url: str) -> None:
    with SqlStore(pg_url) as pg:
        sweep_id, _ = write_sweep(pg, mixed_trials())
        data = collect_report(pg, sweep=sweep_id[:8], group_seeds=True)
        board = leaderboard(pg, "val_f1", sweep=sweep_id, filter="status = 'finished'", top=100)
    assert [r.run_id for r in data.leaderboard if r.rank] == [row.run.id for row in board.rows]
    assert data.summary.counts["failed"] == 1 and data.curves is not None and data.curves.runs


def test_a_page_drawn_ahead_of_the_importances_is_the_page_drawn_after(store: SqlStore) -> None:
    """The command draws what does not depend on the importances while the worker computes them;
    the page is the same as when everything is drawn at the end."""
    from sweeptrack.reports.report.html import prebuild, render_html
    from sweeptrack.reports.report.worker import AnalysisWorker

    write_sweep(store, mixed_trials())
    partials = []
    with AnalysisWorker() as worker:
        data = collect_report(store, sweep="s", worker=worker, while_waiting=partials.append)
    (partial,) = partials
    assert partial.importances is None and data.importances is not None
    assert partial.model_copy(update={"importances": data.importances, "notes": data.notes}) == data
    prebuilt = prebuild(partial)
    assert {"history", "curves", "system", "table:leaderboard"} <= prebuilt.keys()
    assert render_html(data, prebuilt) == render_html(data)
