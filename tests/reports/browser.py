"""Headless Chromium for the page tests: Debian's chromium and chromedriver, driven by Selenium.

The driver is Debian's ``/usr/bin/chromedriver`` (``make chromium`` installs it), so Selenium
Manager never downloads a browser. Without it the tests fail with that instruction; they never
skip. :class:`Page` opens a written report and reads what the page did; :func:`phone_screen`
makes the page think it is on a 390 px wide phone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from sweeptrack.reports.report.model import ReportData

CHROMEDRIVER = Path("/usr/bin/chromedriver")
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}  # an iPhone 12-15's CSS size
CHROMIUM = Path("/usr/bin/chromium")
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    # Parallel coordinates draw with WebGL; with no GPU that is SwiftShader, which Chromium now
    # asks to be opted into for trusted content (our own file).
    "--enable-unsafe-swiftshader",
    "--window-size=1400,1000",
)


def start_chromium() -> webdriver.Chrome:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(
            f"headless Chromium is needed for the page tests but {', '.join(missing)} is missing: "
            "run `make chromium` (apt-get install chromium chromium-driver)",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


def chromium_session() -> Iterator[webdriver.Chrome]:
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def phone_screen(driver: webdriver.Chrome) -> Iterator[None]:
    """Pages opened inside see a phone's screen: 390 CSS px wide, mobile (the viewport meta tag
    applies). The session's driver is itself again afterwards."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


class Page:
    """A report file opened in the browser, with the checks the tests make on it."""

    def __init__(self, driver: webdriver.Chrome, path: Path) -> None:
        self.driver = driver
        driver.get_log("browser")  # drop what an earlier page logged
        driver.get(path.resolve().as_uri())
        self.wait_for("return document.body && document.body.dataset.figures", timeout=30)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait_for(self, script: str, *, timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := self.js(script)):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for: {script}")
            time.sleep(0.05)
        return value

    def errors(self) -> list[str]:
        """Errors the page collected (uncaught, rejected, console.error) and severe browser logs."""
        collected = list(self.js("return window.reportErrors || ['no error collector on the page']"))
        logged = [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]
        return collected + logged

    def figures(self) -> dict[str, int]:
        """Each drawn figure div: its id -> number of traces (only divs plotly drew an SVG in)."""
        return self.js(
            "var out = {}; document.querySelectorAll('div.figure').forEach(function (d) {"
            "  if (d.data && d.querySelector('.main-svg')) { out[d.id] = d.data.length; } });"
            "return out;"
        )

    def rows(self, table: str = "leaderboard") -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")

    def visible_run_ids(self) -> list[str]:
        return self.js(
            "return Array.prototype.filter.call(document.querySelectorAll('#leaderboard tbody tr'),"
            " function (r) { return !r.hidden; }).map(function (r) { return r.dataset.runId; });"
        )

    def header(self, text: str, table: str = "leaderboard") -> WebElement:
        heads = self.driver.find_elements(By.CSS_SELECTOR, f"#{table} thead tr:last-child th")
        matches = [th for th in heads if th.text.strip().rstrip("▲▼ ").strip() == text]
        assert len(matches) == 1, f"{len(matches)} headers named {text!r} in #{table}"
        return matches[0]

    def column(self, text: str, table: str = "leaderboard") -> list[str]:
        """The visible text of one column, top to bottom."""
        index = self.js(
            "return Array.prototype.indexOf.call(arguments[0].parentNode.cells, arguments[0]);",
            self.header(text, table),
        )
        return self.js(
            "var rows = document.querySelectorAll(arguments[0]), col = arguments[1];"
            "return Array.prototype.map.call(rows, function (r) {"
            "  return r.cells[col].textContent.trim(); });",
            f"#{table} tbody tr",
            index,
        )

    def screenshot(self, path: Path, selector: str | None = None) -> Path:
        """A PNG of the element ``selector`` (scrolled into view), or of the window."""
        if selector is None:
            self.driver.save_screenshot(str(path))
        else:
            element = self.driver.find_element(By.CSS_SELECTOR, selector)
            self.js("arguments[0].scrollIntoView()", element)
            element.screenshot(str(path))
        assert path.stat().st_size > 1000, f"{path} is empty"
        return path

    def box(self, selector: str) -> dict[str, float] | None:
        """The element's box on the page (top, bottom, left, right, height, width), or None."""
        return self.js(
            "var e = document.querySelector(arguments[0]); if (!e) { return null; }"
            "var r = e.getBoundingClientRect();"
            "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,"
            " height: r.height, width: r.width};",
            selector,
        )


OpenReport = Callable[[ReportData], Page]


def assert_clean(page: Page) -> None:
    assert page.errors() == []
    assert page.js("return document.body.dataset.figures") == "drawn"


def notes(page: Page, section: str) -> str:
    """The text of a section (its title, notes, hint and tables)."""
    return page.js(
        "var s = document.getElementById(arguments[0]); return s ? s.textContent : null;",
        f"section-{section}",
    )
