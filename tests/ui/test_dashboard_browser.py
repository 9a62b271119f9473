"""The dashboard in headless Chromium: home -> sweep -> run -> compare, the filter box, sorting,
selection, a sweep that fills its page live, and script payloads that must not run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sample import XSS, XSS_IMG, Sample, spec
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from uihelp import LiveServer, output_dir, settings

from sweeptrack.tracking.sql.store import SqlStore
from sweeptrack.ui import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(sample: Sample) -> Iterator[LiveServer]:
    with LiveServer(create_app(settings(sample))) as running:
        yield running


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    from browser import chromium_session

    yield from chromium_session()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return output_dir(tmp_path_factory)


class Browser:
    """The driver on the dashboard, with the waits and checks the tests share."""

    def __init__(self, driver: webdriver.Chrome, server: LiveServer, shots: Path) -> None:
        self.driver, self.server, self.shots = driver, server, shots

    def open(self, path: str) -> None:
        self.driver.get_log("browser")  # drop what an earlier page logged
        self.driver.get(self.server.url + path)
        self.wait("return document.body && document.body.dataset.ready === 'true'")

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait(self, script: str, timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := self.js(script)):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for: {script}")
            time.sleep(0.05)
        return value

    def click(self, selector: str) -> None:
        """Click what leads to another page (or reloads this one) and wait until that page is ready."""
        self.js("window.leftBehind = true")  # gone once the next document has replaced this one
        for _ in range(3):  # a live page may have redrawn the element between finding and clicking
            try:
                self.driver.find_element(By.CSS_SELECTOR, selector).click()
                break
            except StaleElementReferenceException:
                time.sleep(0.1)
        self.wait(
            "return window.leftBehind === undefined && document.readyState === 'complete'"
            " && document.body.dataset.ready === 'true'"
        )

    def errors(self) -> list[str]:
        collected = list(self.js("return window.uiErrors || ['no error collector on the page']"))
        return collected + [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        assert path.stat().st_size > 1000
        return path

    def texts(self, selector: str) -> list[str]:
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, selector)]


@pytest.fixture
def page(driver: webdriver.Chrome, server: LiveServer, shots: Path) -> Browser:
    return Browser(driver, server, shots)


def test_home_sweep_run_compare(page: Browser, sample: Sample) -> None:
    page.open("/")
    assert "quad" in page.texts("#sweeps tbody tr td:first-child a")
    page.screenshot("1-home")
    page.click(f"#sweeps tr[data-sweep-id='{sample.sweep_id}'] td:first-child a")

    page.wait("return document.body.dataset.figures === 'drawn'", timeout=60)
    drawn = page.js(
        "return Array.from(document.querySelectorAll('.figure')).filter(d => d.dataset.drawn).map(d => d.id)"
    )
    assert {"fig-history", "fig-parallel"} <= set(drawn)
    assert len(page.texts("#leaderboard tbody tr")) == 6
    assert "6 of 6 trials done" in page.driver.find_element(By.ID, "progress-text").text
    page.screenshot("2-sweep")
    page.click("#leaderboard tbody tr:first-child a")

    page.wait("return document.querySelectorAll('.curve[data-drawn]').length === 1")
    assert page.texts("#params tbody td:first-child") == ["delay", "x"]
    assert "trained with x =" in page.driver.find_element(By.ID, "output").text
    page.screenshot("3-trial-run")

    page.open(f"/runs/{sample.baseline}")
    page.wait("return document.querySelectorAll('.curve[data-drawn]').length === 2")
    loss = "document.querySelector(\".curve[data-key='loss']\")"
    page.js(f"Plotly.relayout({loss}, {{'xaxis.range': [100, 300]}});")
    page.wait("return document.querySelector(\".curve[data-key='loss']\").dataset.detail === 'full'")
    assert page.js("return document.querySelector(\".curve[data-key='loss']\").dataset.points") == "201"
    title = page.wait("return document.querySelector(\".curve[data-key='loss'] .gtitle\").textContent")
    assert title == "loss (steps 100-300 at full detail)"
    assert page.texts("#datasets tbody td:first-child") == ["train"]
    page.js("document.getElementById('curves-section').scrollIntoView()")
    page.screenshot("4-run-zoomed")

    page.open("/runs?experiment=vision")
    for box in page.driver.find_elements(By.CSS_SELECTOR, ".select-run"):
        box.click()
    assert page.driver.find_element(By.ID, "compare-button").is_enabled()
    page.click("#compare-button")
    page.wait("return document.querySelectorAll('.curve[data-drawn]').length === 2")
    sections = page.texts("#comparison tbody tr.differs td:first-child")
    assert sections[:2] == ["datasets", "packages"]  # what explains a regression comes first
    rows = "Array.from(document.querySelectorAll('#comparison tbody tr'))"
    shown = f"return {rows}.filter(r => r.offsetParent).length"
    everything = page.js(shown)
    page.driver.find_element(By.ID, "only-differs").click()
    assert page.js(shown) == len(sections) < everything
    page.screenshot("5-compare")
    assert page.errors() == []


def test_filter_box_valid_and_invalid(page: Browser) -> None:
    page.open("/runs")
    box = page.driver.find_element(By.ID, "filter")
    box.send_keys("params.lr < 0.05 and params.batch_size = 32")
    page.click("#filter-form button[type=submit]")
    assert page.texts("#runs-table tbody td:nth-child(2)") == ["candidate"]
    assert page.driver.find_element(By.ID, "run-count").text == "1 runs"

    box = page.driver.find_element(By.ID, "filter")
    box.clear()
    bad = "params.lr < 0.05 and (metrics.loss > or status = 'finished')"
    column = bad.index("or status") + 1
    box.send_keys(bad)
    page.click("#filter-form button[type=submit]")
    error = page.driver.find_element(By.ID, "filter-error")
    assert f"filter error at column {column} near 'or': expected a value" in error.text
    caret = error.find_element(By.CSS_SELECTOR, "pre").text.splitlines()[1]
    assert caret.index("^") == column - 1
    assert page.js("return document.getElementById('filter').selectionStart") == column - 1
    assert page.js("return document.activeElement.id") == "filter"
    page.screenshot("6-filter-error")
    assert page.errors() == []


def test_sorting_by_a_metric_column(page: Browser) -> None:
    page.open("/runs?experiment=quadratic&columns=name,params.x,metrics.loss")
    page.click("th[data-column='metrics.loss'] a")
    values = [float(v) for v in page.texts("#runs-table tbody td:nth-child(4)")]
    assert values == sorted(values, reverse=True) and len(values) >= 6
    page.click("th[data-column='metrics.loss'] a")
    values = [float(v) for v in page.texts("#runs-table tbody td:nth-child(4)")]
    assert values == sorted(values)
    assert "▲" in page.driver.find_element(By.CSS_SELECTOR, "th[data-column='metrics.loss']").text
    assert page.errors() == []


def test_script_payloads_never_run(page: Browser, sample: Sample) -> None:
    with SqlStore(sample.db) as store:
        xss_sweep = store.sweeps_named(XSS_IMG)[0].id
    for index, path in enumerate(
        [
            "/",
            f"/runs?experiment={XSS}&columns=name,experiment,params.{XSS},tags.{XSS},metrics.{XSS_IMG}",
            f"/runs/{sample.xss_run}",
            f"/sweeps/{xss_sweep}",
            f"/compare?runs={sample.xss_run}&runs={sample.baseline}",
        ]
    ):
        page.open(path)
        if "sweeps" in path:
            page.wait("return document.body.dataset.figures === 'drawn'", timeout=60)
        with pytest.raises(NoAlertPresentException):
            page.driver.switch_to.alert  # noqa: B018 - reading it is the check
        assert page.js("return window.pwned") is None, path
        assert XSS in page.driver.find_element(By.TAG_NAME, "body").text or XSS_IMG in page.driver.page_source
        page.screenshot(f"7-payloads-{index}")
    assert page.errors() == []


def test_a_running_sweep_updates_its_page_without_reload(page: Browser, sample: Sample) -> None:
    (sample.folder / "live.yaml").write_text(spec("live", trials=6, delay=0.2))
    start = "from sweeptrack.cli.main import main; main()"
    command = [sys.executable, "-c", start, "--db", sample.db, "sweep", "run", "live.yaml"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen(
        command, cwd=sample.folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as sweep:
        try:
            with SqlStore(sample.db) as store:
                deadline = time.monotonic() + 60
                while not store.sweeps_named("live"):
                    assert sweep.poll() is None, sweep.stderr.read() if sweep.stderr else ""
                    assert time.monotonic() < deadline, "the sweep did not start"
                    time.sleep(0.05)
                sweep_id = store.sweeps_named("live")[0].id
            page.open(f"/sweeps/{sweep_id}")
            page.js("window.sameDocument = 'yes'")
            first = page.driver.find_element(By.ID, "progress-text").text
            page.wait("return document.getElementById('sweep-state').textContent === 'finished'", timeout=90)
            page.wait("return document.querySelectorAll('#leaderboard tbody tr').length === 6", timeout=30)
        finally:
            sweep.wait(timeout=90)
    assert page.js("return window.sameDocument") == "yes"  # never reloaded
    assert int(page.js("return document.body.dataset.polls")) >= 1
    assert page.driver.find_element(By.ID, "progress-text").text.startswith("6 of 6 trials done")
    assert first != page.driver.find_element(By.ID, "progress-text").text
    page.screenshot("8-live-sweep-finished")
    assert page.errors() == []


def test_editing_a_tag_and_the_note_on_the_run_page(page: Browser, sample: Sample) -> None:
    page.open(f"/runs/{sample.candidate}")
    page.driver.find_element(By.ID, "tag-key").send_keys("verdict")
    page.driver.find_element(By.ID, "tag-value").send_keys(XSS_IMG)
    page.js("window.sameDocument = 'yes'")
    page.driver.find_element(By.CSS_SELECTOR, "#tag-form button").click()
    page.wait("return window.sameDocument === undefined && document.body.dataset.ready === 'true'")
    assert page.texts("#tags tr[data-tag='verdict'] td")[:2] == ["verdict", XSS_IMG]
    note = page.driver.find_element(By.ID, "note")
    note.clear()
    note.send_keys(XSS)
    page.js("window.sameDocument = 'yes'")
    page.driver.find_element(By.CSS_SELECTOR, "#note-form button").click()
    page.wait("return window.sameDocument === undefined && document.body.dataset.ready === 'true'")
    assert page.driver.find_element(By.ID, "note").get_attribute("value") == XSS
    assert page.js("return window.pwned") is None
    page.screenshot("9-run-edited")
    page.click("#tags tr[data-tag='verdict'] .untag")
    page.wait("return !document.querySelector(\"#tags tr[data-tag='verdict']\")")
    assert page.errors() == []
