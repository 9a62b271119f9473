"""The HTML report opened in headless Chromium: figures drawn, no errors, rows, sort, filter, markup."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser import OpenReport, assert_clean, notes
from sample_reports import XSS, XSS_IMG, Trial, make_report, quadratic_trials, sweep_report
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from sweeptrack.reports.report.model import Objective, Pareto, ReportData, SeedGroup

pytestmark = pytest.mark.browser


def test_sweep_report_draws_every_figure_with_its_traces(open_report: OpenReport) -> None:
    data = sweep_report()
    page = open_report(data)

    assert_clean(page)
    assert data.curves is not None and data.system is not None
    assert page.figures() == {
        "fig-history": 2,  # the trials and the best so far
        "fig-curves": len(data.curves.runs),
        "fig-parallel": 1,
        "fig-importances": 2,  # fANOVA and PED-ANOVA
        "fig-slice": 4,  # one per param
        "fig-contour": 2,  # the interpolated objective and the trials
        "fig-system": len(data.system.series),
    }


def test_leaderboard_rows_follow_the_ranking_and_mark_pruned_and_failed(open_report: OpenReport) -> None:
    data = sweep_report()
    page = open_report(data)

    assert page.visible_run_ids() == [row.run_id for row in data.leaderboard]
    for row, tr in zip(data.leaderboard, page.rows(), strict=True):
        if row.status in ("pruned", "failed"):
            assert f"row-{row.status}" in (tr.get_attribute("class") or "").split()
            assert tr.find_element(By.CSS_SELECTOR, "td:nth-child(4) .badge").text == row.status
            assert tr.text.split().count(row.status) == 1  # the status column says it, once
    assert {"pruned", "failed"} <= {row.status for row in data.leaderboard}


def test_clicking_a_header_sorts_numbers_numerically_with_empty_last(open_report: OpenReport) -> None:
    data = sweep_report()
    page = open_report(data)
    finite = sorted(row.objective for row in data.leaderboard if row.objective is not None)
    missing = sum(row.objective is None for row in data.leaderboard)

    page.header("loss ↓ (last)").click()
    values = page.column("loss ↓ (last)")
    assert [float(v) for v in values[: len(finite)]] == pytest.approx(finite, rel=1e-5)
    assert values[len(finite) :] == [""] * missing

    page.header("loss ↓ (last)").click()  # descending; the failed runs (no value) stay last
    values = page.column("loss ↓ (last)")
    assert [float(v) for v in values[: len(finite)]] == pytest.approx(finite[::-1], rel=1e-5)
    assert values[len(finite) :] == [""] * missing

    page.header("x").click()
    xs = [float(v) for v in page.column("x")]
    assert xs == sorted(xs) and xs != [row.params["x"] for row in data.leaderboard]


def test_text_columns_sort_as_text(open_report: OpenReport) -> None:
    page = open_report(sweep_report())

    page.header("optimizer").click()
    names = page.column("optimizer")
    assert names == sorted(names) and len(set(names)) == 3


def test_filter_hides_rows_that_do_not_match(open_report: OpenReport) -> None:
    data = sweep_report()
    page = open_report(data)
    box = page.driver.find_element(By.ID, "leaderboard-filter")

    box.send_keys("rmsprop")
    rmsprop = [row.run_id for row in data.leaderboard if row.params["optimizer"] == "rmsprop"]
    assert page.visible_run_ids() == rmsprop
    assert page.driver.find_element(By.ID, "leaderboard-count").text == f"{len(rmsprop)} of 30 runs"

    box.send_keys(" pruned")  # every word must match
    both = [r.run_id for r in data.leaderboard if r.params["optimizer"] == "rmsprop" and r.status == "pruned"]
    assert page.visible_run_ids() == both and both

    box.clear()
    box.send_keys(" ")  # clear() sends no input event
    assert page.visible_run_ids() == [row.run_id for row in data.leaderboard]


def injected_report() -> ReportData:
    trials = quadratic_trials(12, params=2)
    for trial in trials:
        trial.params[XSS] = XSS_IMG if trial.number % 2 else "</script><script>window.pwned = true</script>"
    data = make_report(trials, title=f"sweep {XSS}")
    rows = [row.model_copy(update={"name": XSS}) if row.rank == 1 else row for row in data.leaderboard]
    return data.model_copy(update={"leaderboard": rows, "notes": {"contour": [XSS], XSS: [XSS_IMG]}})


def test_markup_in_names_and_values_shows_as_text(open_report: OpenReport) -> None:
    page = open_report(injected_report())

    with pytest.raises(NoAlertPresentException):
        page.driver.switch_to.alert  # noqa: B018 - reading it is the check
    assert page.js("return window.pwned") is None
    assert_clean(page)
    assert page.js("return document.scripts.length") == 4  # errors, plotly.js, the figures, the page
    assert page.js("return document.querySelectorAll('img').length") == 0
    assert page.header(XSS).text == XSS
    assert page.rows()[0].find_element(By.CSS_SELECTOR, "td:nth-child(3)").text.startswith(XSS)
    assert page.driver.title == f"sweep {XSS}"
    assert XSS in notes(page, "contour") and XSS_IMG in notes(page, "notes")
    assert XSS in page.js("return document.getElementById('fig-parallel').textContent")  # an axis label


def test_multiobjective_report_draws_the_front_and_hypervolume(open_report: OpenReport) -> None:
    trials = quadratic_trials(20, params=3)
    for t in trials:
        if t.objectives[0] is not None:
            t.objectives.append(abs(t.params["x"]) * 10.0)
    objectives = [Objective(metric="loss", goal="minimize"), Objective(metric="size", goal="minimize")]
    front = [t.run_id for t in trials if t.objectives[0] is not None][:4]
    pareto = Pareto(
        objectives=objectives,
        front=front,
        hypervolume=[(t.number, t.number * 1.5) for t in trials],
        reference_point=[100.0, 200.0],
    )
    data = make_report(trials, objectives=objectives, extras=lambda kw: kw.update(pareto=pareto))
    page = open_report(data)

    assert_clean(page)
    figures = page.figures()
    assert figures["fig-pareto"] == 2 and figures["fig-hypervolume"] == 1
    # numbers travel base64-encoded (plotly's typed arrays); the hover texts are a plain list
    assert page.js("return document.getElementById('fig-pareto').data[1].hovertext.length") == 4


def test_seed_groups_and_comparison(open_report: OpenReport) -> None:
    data = sweep_report()
    groups = [
        SeedGroup(
            rank=1,
            params={"x": 3},
            run_ids=[r.run_id for r in data.leaderboard[:3]],
            n=3,
            mean=1.0,
            low=0.5,
            high=1.5,
            overlaps_leader=True,
        ),
        SeedGroup(
            rank=2,
            params={"x": 9},
            run_ids=[data.leaderboard[3].run_id],
            n=1,
            mean=4.0,
            low=4.0,
            high=4.0,
            overlaps_leader=False,
        ),
    ]
    rows = [
        row.model_copy(update={"seed_group": 0 if i < 3 else 1 if i == 3 else None})
        for i, row in enumerate(data.leaderboard)
    ]
    page = open_report(
        data.model_copy(update={"seed_groups": groups, "leaderboard": rows, "seed_param": "seed"})
    )

    assert_clean(page)
    assert len(page.rows("seed-groups")) == 2
    assert page.column("95% interval", "seed-groups") == ["[0.5, 1.5]", "[4, 4]"]
    assert page.column("overlap", "seed-groups") == ["overlaps leader", ""]
    assert page.column("seed group")[:5] == ["1", "1", "1", "2", ""]
    assert data.comparison is not None
    differing = [row.key for row in data.comparison.rows if row.differs]
    assert (
        page.js(
            "return Array.prototype.map.call(document.querySelectorAll('#comparison tr.differs th'),"
            " function (th) { return th.textContent; })"
        )
        == differing
    )


def nan_report() -> ReportData:
    nan, inf = float("nan"), float("inf")
    trials = quadratic_trials(10, params=3)
    trials[0].objectives, trials[1].objectives, trials[2].objectives = [nan], [inf], [-inf]
    trials[3].values[1] = nan
    trials[4].params["x"] = nan
    trials[5].params["lr"] = inf
    data = make_report(trials)
    # through JSON and back, as a saved report: NaN and inf travel as the strings "nan" and "inf"
    return ReportData.model_validate_json(data.model_dump_json())


def two_hundred_params() -> ReportData:
    return make_report(quadratic_trials(40, params=200))


def only_failed() -> ReportData:
    trials = [Trial(n, "failed", {"x": n, "opt": "sgd"}, [], [None], error=f"Error {n}") for n in range(5)]
    return make_report(trials)


def zero_finished() -> ReportData:
    running = [
        Trial(n, "running", {"x": n * 1.5, "lr": 0.1 * (n + 1)}, [5.0 - n, 4.0 - n], [None]) for n in range(3)
    ]
    killed = [Trial(3, "killed", {"x": 9.0, "lr": 0.5}, [], [None], error="killed by the executor")]
    return make_report(running + killed)


def one_param() -> ReportData:
    return make_report(quadratic_trials(15, params=1))


EDGE_CASES: dict[str, tuple[Callable[[], ReportData], dict[str, int], dict[str, str]]] = {
    # name: (report, the figures drawn with their traces, a section -> text it must show)
    "nan-and-inf": (
        nan_report,
        {
            "fig-history": 2,
            "fig-curves": 5,
            "fig-parallel": 1,
            "fig-importances": 2,
            "fig-slice": 3,
            "fig-system": 2,
        },
        {"parallel": "missing or not finite", "contour": "needs 5 runs with both params"},
    ),
    "200-params": (
        two_hundred_params,
        {
            "fig-history": 2,
            "fig-curves": 5,
            "fig-parallel": 1,
            "fig-importances": 2,
            "fig-slice": 12,
            "fig-contour": 2,
            "fig-system": 2,
        },
        {"parallel": "30 of 200 params", "slice": "12 of 200 params", "importances": "30 most"},
    ),
    "only-failed": (
        only_failed,
        {},
        {
            "history": "no trial has a finite loss",
            "curves": "no learning curves",
            "parallel": "needs 2 runs",
            "summary": "Error 4",
        },
    ),
    "zero-finished": (
        zero_finished,
        {"fig-curves": 3},
        {"history": "no trial has a finite loss", "contour": "needs 5 runs", "summary": "none yet"},
    ),
    "one-param": (
        one_param,
        {"fig-history": 2, "fig-curves": 5, "fig-parallel": 1, "fig-slice": 1, "fig-system": 2},
        {"importances": "no importances", "contour": "needs 2 numeric params"},
    ),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_edge_cases_render_and_say_what_they_cannot_show(open_report: OpenReport, case: str) -> None:
    build, figures, says = EDGE_CASES[case]
    data = build()
    page = open_report(data)

    assert_clean(page)
    assert page.figures() == figures
    for section, text in says.items():
        assert text in (notes(page, section) or ""), section
    assert page.visible_run_ids() == [row.run_id for row in data.leaderboard]


def test_an_empty_report_renders(open_report: OpenReport) -> None:
    def empty(kwargs: dict[str, Any]) -> None:
        kwargs.update(objectives=[], comparison=None, system=None)

    page = open_report(make_report([], extras=empty))

    assert_clean(page)
    assert page.figures() == {}
    assert "no runs yet" in notes(page, "leaderboard")


SWEEP = """\
name: bowl
experiment: report-e2e
method: random
seed: 5
run_cap: 10
parallel: 2
metric: {name: loss, goal: minimize}
early_terminate: {type: median, n_startup_trials: 3, n_warmup_steps: 1}
entrypoint: report_trials:bowl
parameters:
  x: {min: -4.0, max: 10.0}
  lr: {distribution: log_uniform_values, min: 1.0e-4, max: 0.1}
  optimizer: {values: [adam, sgd]}
  epochs: {value: 4}
"""


def test_a_real_sweep_report_renders(
    open_report: OpenReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sweeptrack.controller import run_sweep
    from sweeptrack.reports.report.collect import collect_report
    from sweeptrack.tracking.sql.store import SqlStore

    shutil.copy(Path(__file__).with_name("report_trials.py"), tmp_path / "report_trials.py")
    (tmp_path / "bowl.yaml").write_text(SWEEP)
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path}/sweeptrack.db"
    result = run_sweep(tmp_path / "bowl.yaml", db)
    with SqlStore(db) as store:
        data = collect_report(store, sweep=result.sweep_id)
    page = open_report(data)

    assert_clean(page)
    assert page.visible_run_ids() == [row.run_id for row in data.leaderboard]
    assert len(data.leaderboard) == result.trials == 10
    figures = page.figures()
    clipped = "outside the finished trials' range" in notes(page, "history")  # a far pruned trial
    assert figures["fig-history"] == 2 + clipped and figures["fig-parallel"] == 1
    assert data.curves is not None and figures["fig-curves"] == len(data.curves.runs)
    if result.failed:
        assert "diverged" in notes(page, "summary")
