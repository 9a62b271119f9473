"""The report agrees with itself and reads on a phone, in headless Chromium.

Each test leaves screenshots of what it checks in the session's ``screenshots`` folder (pytest's
base temp folder: ``pytest --basetemp DIR`` puts them in ``DIR/screenshots0``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import OpenReport, Page, assert_clean, notes, phone_screen
from sample_reports import FAR_PRUNED, NEAR_PRUNED, quickstart_like, sweep_report
from selenium import webdriver
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.browser

FIGURES_WITH_LEGENDS = ("history", "curves", "importances")


def tick_texts(page: Page, figure: str, axis: str = "y") -> list[str]:
    """The tick labels drawn on a figure's axis, top to bottom (y) or left to right (x)."""
    return page.js(
        "var axis = arguments[1];"
        "var ticks = Array.prototype.slice.call("
        "  document.querySelectorAll('#' + arguments[0] + ' .' + axis + 'tick text'));"
        "function at(t) { var r = t.getBoundingClientRect(); return axis === 'y' ? r.top : r.left; }"
        "ticks.sort(function (a, b) { return at(a) - at(b); });"
        "return ticks.map(function (t) { return t.textContent; });",
        figure,
        axis,
    )


def layout(page: Page, figure: str, path: str) -> object:
    """A value of the figure's layout as plotly drew it (``_fullLayout``), e.g. ``yaxis.range``."""
    return page.js(
        "return arguments[1].split('.').reduce(function (o, k) { return o[k]; },"
        " document.getElementById(arguments[0])._fullLayout);",
        figure,
        path,
    )


def test_the_contour_draws_the_two_params_the_importance_chart_ranks_first(
    open_report: OpenReport, screenshots: Path
) -> None:
    """fANOVA ranks hidden first and PED-ANOVA alpha; the chart ranks by their mean, and the
    contour, titled "two most important", draws the chart's #1 and #2."""
    page = open_report(quickstart_like())
    page.screenshot(screenshots / "importances.png", "#section-importances")
    page.screenshot(screenshots / "contour.png", "#section-contour")

    assert_clean(page)
    ranked = [text for text in tick_texts(page, "fig-importances") if text.startswith("#")]
    assert ranked == ["#1 lr", "#2 alpha", "#3 hidden", "#4 model"]
    assert layout(page, "fig-contour", "xaxis.title.text") == "log10(lr)"
    assert layout(page, "fig-contour", "yaxis.title.text") == "log10(alpha)"
    assert "#1 lr against #2 alpha of the importance ranking" in notes(page, "contour")
    assert "Ranked by the mean of the two evaluators" in notes(page, "importances")
    dimensions = page.js(
        "return document.getElementById('fig-parallel')._fullData[0].dimensions"
        ".map(function (d) { return d.label; });"
    )
    assert dimensions[:4] == ["log10(lr)", "log10(alpha)", "hidden", "model"]


def test_a_far_pruned_trial_is_clipped_and_marked_instead_of_stretching_axes_and_colours(
    open_report: OpenReport, screenshots: Path
) -> None:
    data = quickstart_like()
    finished = [row.objective for row in data.leaderboard if row.status == "finished"]
    low, high = min(finished), max(finished)  # type: ignore[type-var]
    page = open_report(data)
    page.screenshot(screenshots / "history.png", "#section-history")
    page.screenshot(screenshots / "parallel.png", "#section-parallel")

    assert_clean(page)
    # history: the y axis spans the finished trials and the near pruned one (0.915), not 0.144
    bottom, top = layout(page, "fig-history", "yaxis.range")  # type: ignore[misc]
    assert 0.90 < bottom < 0.915 and high < top < high + 0.01
    clipped = page.js(
        "var t = document.getElementById('fig-history')._fullData.filter(function (t) {"
        "  return t.name === 'outside the axis (clipped)'; })[0];"
        "return {x: Array.from(t.x), y: Array.from(t.y), symbol: t.marker.symbol, hover: t.hovertext};"
    )
    assert clipped["x"] == [FAR_PRUNED] and clipped["y"] == [pytest.approx(0.915)]
    assert clipped["symbol"] in ("triangle-down", ["triangle-down"]) and "0.144" in clipped["hover"][0]
    says = "1 trial outside the finished trials' range is clipped to the edge of the axis, drawn as ▼ or ▲"
    assert says in notes(page, "history") and f"trial {FAR_PRUNED} (pruned, 0.144)" in notes(page, "history")
    assert f"trial {NEAR_PRUNED}" not in notes(page, "history")
    # parallel coordinates: the colour scale and the objective's axis too; its bottom tick says ≤
    parallel = "document.getElementById('fig-parallel')._fullData[0]"
    line = page.js(f"var l = {parallel}.line; return [l.cmin, l.cmax];")
    assert line == [pytest.approx(0.915), pytest.approx(high)] and low > line[0]
    objective = page.js(f"return {parallel}.dimensions.slice(-1)[0];")
    assert objective["range"] == [pytest.approx(0.915), pytest.approx(high)]
    assert objective["ticktext"][0] == "≤ 0.915"
    assert f"trial {FAR_PRUNED} (pruned, 0.144)" in notes(page, "parallel")
    # the slice plots' y axes and the contour's colour scale as well
    page.screenshot(screenshots / "slice.png", "#section-slice")
    bottom, top = layout(page, "fig-slice", "yaxis.range")  # type: ignore[misc]
    assert 0.90 < bottom < 0.915 and high < top < high + 0.01
    zmin = page.js("return document.getElementById('fig-contour')._fullData[0].zmin")
    assert zmin == pytest.approx(0.915)
    for section in ("slice", "contour"):
        assert f"trial {FAR_PRUNED} (pruned, 0.144)" in notes(page, section)


def test_a_pruned_run_says_pruned_once_in_the_leaderboard(open_report: OpenReport, screenshots: Path) -> None:
    page = open_report(quickstart_like())
    page.screenshot(screenshots / "leaderboard.png", "#section-leaderboard")

    pruned = [tr for tr in page.rows() if "row-pruned" in (tr.get_attribute("class") or "")]
    assert len(pruned) == 4
    for tr in pruned:
        assert tr.text.split().count("pruned") == 1


def test_on_a_phone_the_nav_is_one_line_that_opens_on_a_tap(
    open_report: OpenReport, driver: webdriver.Chrome, screenshots: Path
) -> None:
    data = quickstart_like()
    with phone_screen(driver):
        page = open_report(data)
        assert page.js("return window.innerWidth") == 390
        page.screenshot(screenshots / "phone-top.png")

        nav = page.box("nav")
        assert nav is not None and nav["height"] <= 48  # one line: "☰ Sections"
        assert page.js("return document.querySelector('.nav-links a').offsetParent") is None  # folded
        assert page.js("return document.documentElement.scrollWidth") <= 390  # nothing sticks out

        driver.find_element(By.CSS_SELECTOR, "label.nav-toggle").click()
        opened = page.box("nav")
        links = driver.find_elements(By.CSS_SELECTOR, ".nav-links a")
        assert all(link.is_displayed() for link in links) and len(links) == 10
        assert opened is not None and opened["height"] > 100
        page.screenshot(screenshots / "phone-nav-open.png")

        next(link for link in links if link.text == "Contour").click()
        page.wait_for("return document.querySelector('nav').getBoundingClientRect().height <= 48")
        contour = page.box("#section-contour")
        nav = page.box("nav")
        assert contour is not None and nav is not None
        assert nav["bottom"] - 1 <= contour["top"] <= nav["bottom"] + 20  # just under the folded nav
        page.screenshot(screenshots / "phone-after-link.png")
        assert_clean(page)


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_legends_sit_below_their_plots_and_show_every_entry(
    open_report: OpenReport, driver: webdriver.Chrome, screenshots: Path, width: str
) -> None:
    data = sweep_report()  # 30 trials; the learning curves of 5 runs
    if width == "phone":
        with phone_screen(driver):
            page = open_report(data)
            check_legends(page, screenshots, width)
    else:
        check_legends(open_report(data), screenshots, width)


def check_legends(page: Page, screenshots: Path, width: str) -> None:
    assert_clean(page)
    for key in FIGURES_WITH_LEGENDS:
        page.screenshot(screenshots / f"{width}-{key}.png", f"#section-{key}")
        figure = f"#fig-{key}"
        legend, plot = page.box(f"{figure} g.legend"), page.box(f"{figure} .draglayer .nsewdrag")
        title, div = page.box(f"{figure} .g-xtitle"), page.box(figure)
        assert legend is not None and plot is not None and title is not None and div is not None, key
        assert legend["top"] >= plot["bottom"] and legend["top"] >= title["bottom"] - 2, key
        assert legend["bottom"] <= div["bottom"] + 1 and legend["right"] <= div["right"] + 1, key
        assert plot["height"] >= div["height"] / 2, key  # the legend does not squash the plot
        scrollbar = page.box(f"{figure} g.legend .scrollbar")
        assert scrollbar is None or scrollbar["height"] == 0, f"{key}: the legend scrolls"
