"""The report's figures as built (no browser): which params the contour takes, which range an axis gets."""

from __future__ import annotations

import pytest
from sample_reports import QUICKSTART_IMPORTANCES, quickstart_like, sweep_report

from sweeptrack.reports.report.figures import history_panel
from sweeptrack.reports.report.model import Importances
from sweeptrack.reports.report.param_figures import contour_panel
from sweeptrack.reports.report.values import robust_range


def test_the_ranking_is_the_mean_of_the_evaluators_with_nan_left_out() -> None:
    assert QUICKSTART_IMPORTANCES.ranking == ["lr", "alpha", "hidden", "model"]
    odd = Importances(fanova={"a": float("nan"), "b": 0.4}, ped_anova={"a": 0.9, "b": 0.1})
    assert odd.ranking == ["a", "b"] and odd.scores == {"a": 0.9, "b": 0.25}
    assert Importances(ped_anova={"x": 0.2, "y": 0.8}).ranking == ["y", "x"]  # fANOVA failed


def test_a_category_ranked_first_is_named_in_the_contour_note() -> None:
    data = quickstart_like()
    first = Importances(fanova={"model": 0.7, "lr": 0.2, "alpha": 0.1, "hidden": 0.0})
    panel = contour_panel(data.model_copy(update={"importances": first}))

    assert panel.figure is not None
    assert (panel.figure.layout.xaxis.title.text, panel.figure.layout.yaxis.title.text) == (
        "log10(lr)",
        "log10(alpha)",
    )
    assert panel.notes[0] == (
        "#2 lr against #3 alpha of the importance ranking, interpolated linearly; "
        "#1 model ranks higher but is a category, which a contour cannot draw"
    )


@pytest.mark.parametrize(
    ("values", "finished", "expected"),
    [
        ([0.144, 0.925, 0.93, 0.97], [0.93, 0.97], (0.925, 0.97)),  # 0.925 is near: kept in range
        ([0.92, 0.93, 0.97], [0.93, 0.97], None),  # nothing far: plotly's own range
        ([5.0, 5.0, 900.0], [5.0, 5.0], (5.0, 5.0)),  # one finished value: a span of its size
        ([0.1, 0.9], [0.9], None),  # one finished trial gives no range
    ],
)
def test_robust_range(values: list[float], finished: list[float], expected: tuple[float, ...] | None) -> None:
    found = robust_range(values, finished)
    assert (None if found is None else (found.low, found.high)) == expected


def test_a_history_without_far_trials_keeps_plotlys_range() -> None:
    panel = history_panel(sweep_report())
    assert panel.figure is not None and panel.figure.layout.yaxis.range is None
    assert [trace.name for trace in panel.figure.data] == ["trial", "best so far"]
