"""A sweep whose every user field carries markup: the HTML report shows it as text, and the page
has no element or event handler the data put there."""

from __future__ import annotations

import uuid
from html.parser import HTMLParser

from sample_reports import XSS, XSS_IMG

from sweeptrack.core.model import RunStatus
from sweeptrack.reports.report.collect import collect_report
from sweeptrack.reports.report.html import render_html
from sweeptrack.tracking.sql.store import SqlStore

ESCAPED = "&lt;script&gt;window.pwned = true; alert(1)&lt;/script&gt;"


class _Elements(HTMLParser):
    """What a browser builds from the page: every start tag and its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(name for name, _ in attrs)


def _write_hostile_sweep(store: SqlStore) -> str:
    sweep_id = uuid.uuid4().hex
    spec = f"name: sweep\nmetric: {{name: m, goal: maximize}}\n# {XSS} {XSS_IMG}\n"
    store.create_sweep(sweep_id=sweep_id, experiment=f"exp {XSS}", name=f"sweep {XSS}", spec=spec)
    for number in range(4):
        run_id = uuid.uuid4().hex
        store.create_run(
            run_id=run_id,
            experiment=f"exp {XSS}",
            name=f"{XSS} {number}" if number % 2 else f"{XSS_IMG} {number}",
            start_time=1_700_000_000_000 + number,
            tags={XSS: XSS_IMG, "team": XSS},
            sweep_id=sweep_id,
            trial_number=number,
            params={XSS: XSS, XSS_IMG: number, "lr": 0.1 * (number + 1)},
        )
        points = [
            (key, 0.1 * number + step, step, 1_700_000_000_000 + step)
            for key in (XSS, "m")
            for step in range(3)
        ]
        store.log_metrics(run_id, points)
        store.end_run(
            run_id, RunStatus.FAILED if number == 3 else RunStatus.FINISHED, 1_700_000_100_000, XSS_IMG
        )
    return sweep_id


def test_markup_in_every_user_field_is_text_in_the_report(store: SqlStore) -> None:
    sweep_id = _write_hostile_sweep(store)
    page = render_html(collect_report(store, sweep=sweep_id, metric="m"))

    elements = _Elements()
    elements.feed(page)
    assert elements.tags.count("script") == 4  # the error collector, plotly.js, the figures, the page
    assert "img" not in elements.tags
    assert not [name for name in elements.attributes if name.startswith("on")]
    assert f"<title>Sweep sweep {ESCAPED}</title>" in page
    assert f"experiment exp {ESCAPED}" in page  # the header line
    assert f"{ESCAPED} 1" in page  # a run name
    assert "&lt;img src=x onerror=&#34;window.pwned = true&#34;&gt;" in page  # a param name, run name, error
    assert page.count(f">{ESCAPED}<") >= 2  # the metric key's and the param's column headers
