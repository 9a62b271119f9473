"""The HTML report as a file: self-contained (plotly.js once, nothing fetched), safe JSON, its size."""

from __future__ import annotations

import json
import re

import plotly.offline
from sample_reports import XSS, make_report, quadratic_trials, sweep_report

from sweeptrack.reports.report.html import render_html

FIGURES_BLOCK = re.compile(r'<script type="application/json" id="report-figures">(.*?)</script>', re.S)


def test_plotly_js_is_embedded_once_and_nothing_is_fetched() -> None:
    page = render_html(sweep_report())
    plotly_js = plotly.offline.get_plotlyjs()

    assert page.count(plotly_js) == 1
    assert page.count(plotly_js[:200]) == 1
    markup = page.replace(plotly_js, "")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", markup, re.I)
    assert "<link" not in markup and "@import" not in markup and "url(" not in markup
    assert not re.search(r"<script[^>]*\ssrc=", markup)


def test_the_figures_json_cannot_close_its_script_element() -> None:
    trials = quadratic_trials(8, params=2)
    for trial in trials:
        trial.params["x"] = f"{trial.params['x']} </script> & \u2028 \u2029 <!--"
    page = render_html(make_report(trials, title=XSS))

    blocks = FIGURES_BLOCK.findall(page)
    assert len(blocks) == 1
    block = blocks[0]
    assert not set("<>&\u2028\u2029") & set(block)
    figures = json.loads(block)["figures"]
    assert "fig-parallel" in figures and "fig-history" in figures
    dimensions = figures["fig-parallel"]["data"][0]["dimensions"]
    ticks = [text for dimension in dimensions for text in dimension.get("ticktext", [])]
    assert any("&lt;/script&gt; &amp; \u2028" in text for text in ticks)  # plotly shows entities as text


def test_markup_in_the_data_is_escaped_in_the_html() -> None:
    trials = quadratic_trials(6, params=1)
    for trial in trials:
        trial.params[XSS] = XSS
    page = render_html(make_report(trials, title=XSS))

    assert page.count("<script") == 4  # the error collector, plotly.js, the figures, the page
    assert "&lt;script&gt;window.pwned = true; alert(1)&lt;/script&gt;" in page


def test_a_thousand_trials_report_stays_small() -> None:
    data = make_report(quadratic_trials(1000, params=10, epochs=500), top_k=10)
    assert data.curves is not None and len(data.curves.runs) == 10

    page = render_html(data)

    assert len(page.encode()) < 15_000_000


def test_importance_bars_show_each_param_once_with_its_value() -> None:
    from sweeptrack.reports.report.figures import importances_panel

    data = sweep_report()
    assert data.importances is not None and data.importances.fanova and data.importances.ped_anova
    figure = importances_panel(data).figure
    assert figure is not None
    for trace, values in zip(figure.data, (data.importances.fanova, data.importances.ped_anova), strict=True):
        assert len(trace.y) == len(set(trace.y)) == len(set(data.importances.fanova) | set(values))
        shown = {tick.split(" ", 1)[1]: value for tick, value in zip(trace.y, trace.x, strict=True)}
        assert all(shown[name] == value for name, value in values.items())
        # ranked from the top (plotly draws the first bar at the bottom): "#1 name" first
        assert list(trace.y)[::-1] == [f"#{k} {name}" for k, name in enumerate(data.importances.ranking, 1)]
