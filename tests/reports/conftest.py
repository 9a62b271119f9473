"""A real SQLite tracking database per test, filled through the run API; headless Chromium (one
per session) and the report pages opened in it, for the browser-marked tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import sweeptrack as st
from sweeptrack.reports.report.model import ReportData
from sweeptrack.tracking.sql.store import SqlStore

if TYPE_CHECKING:
    from browser import OpenReport
    from selenium import webdriver

MakeRun = Callable[..., str]


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    with SqlStore(sqlite_url) as opened:
        yield opened


@pytest.fixture
def make_run(sqlite_url: str) -> MakeRun:
    """Log one finished run; returns its id.

    ``metrics`` maps a key to its values by step; ``environment`` replaces the captured one.
    """

    def make(
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, list[float]] | None = None,
        experiment: str = "exp",
        environment: Mapping[str, Any] | None = None,
    ) -> str:
        with st.start_run(experiment=experiment, name=name, db=sqlite_url, capture_environment=False) as run:
            run.log_params(dict(params or {}))
            for key, values in (metrics or {}).items():
                for step, value in enumerate(values):
                    run.log_metric(key, value, step=step)
            if environment is not None:
                run.log_environment(environment)
        return run.id

    return make


@pytest.fixture(scope="session")
def driver() -> Iterator[webdriver.Chrome]:
    from browser import chromium_session  # selenium is loaded only where a test opens a page

    yield from chromium_session()


@pytest.fixture
def open_report(driver: webdriver.Chrome, tmp_path: Path) -> OpenReport:
    """Write a report's HTML and open it in the browser."""
    from browser import Page

    from sweeptrack.reports.report.html import render_html

    def open_(data: ReportData) -> Page:
        path = tmp_path / "report.html"
        path.write_text(render_html(data), encoding="utf-8")
        return Page(driver, path)

    return open_


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests leave their screenshots: ``screenshots0`` in pytest's base temp
    folder (``--basetemp DIR`` puts them in DIR/screenshots0)."""
    return tmp_path_factory.mktemp("screenshots")
