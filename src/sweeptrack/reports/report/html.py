"""The HTML report: one self-contained file that opens offline, from :class:`ReportData`.

plotly.js is embedded once; the figures are built in Python (:mod:`.figures`,
:mod:`.param_figures`), serialized together into one JSON block and drawn by one small script.
Tables are plain HTML made sortable and filterable by a little vanilla JavaScript
(:mod:`.assets`). Nothing is fetched from the network: no CDN, no web fonts.

Every name and value from the data is text on the page: markup is escaped with ``html.escape``
and the JSON block has ``<``, ``>``, ``/``, ``&``, U+2028 and U+2029 escaped, so it cannot close
its ``<script>`` element. A section that cannot be shown says why, from ``ReportData.notes``
(keyed by section: :data:`SECTIONS`) and from the figure builders.

Example:
    >>> from pathlib import Path
    >>> Path("report.html").write_text(render_html(data), encoding="utf-8")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from html import escape

import plotly.graph_objects
import plotly.io
import plotly.offline
from plotly.io.json import to_json_plotly

from sweeptrack.reports.report.assets import CSS, ERRORS_JS, PAGE_JS
from sweeptrack.reports.report.figures import (
    TEMPLATE,
    Panel,
    curves_panel,
    history_panel,
    hypervolume_panel,
    importances_panel,
    pareto_panel,
    system_panel,
)
from sweeptrack.reports.report.model import ReportData
from sweeptrack.reports.report.param_figures import contour_panel, parallel_panel, slice_panel
from sweeptrack.reports.report.tables import (
    comparison_table,
    failures_list,
    leaderboard_table,
    seed_groups_table,
    summary_list,
)

__all__ = ["SECTIONS", "Prebuilt", "build_panels", "prebuild", "render_html", "warm_up"]

_PANEL_BUILDERS: Sequence[tuple[str, Callable[[ReportData], Panel | None]]] = (
    ("history", history_panel),
    ("curves", curves_panel),
    ("parallel", parallel_panel),
    ("importances", importances_panel),
    ("slice", slice_panel),
    ("contour", contour_panel),
    ("pareto", pareto_panel),
    ("hypervolume", hypervolume_panel),
    ("system", system_panel),
)
# What does not depend on the importances (the params figures are ordered by them).
_WITHOUT_IMPORTANCES = frozenset({"history", "curves", "pareto", "hypervolume", "system"})
SECTIONS = (
    "summary",
    "leaderboard",
    "seed_groups",
    "history",
    "curves",
    "parallel",
    "importances",
    "slice",
    "contour",
    "pareto",
    "hypervolume",
    "system",
    "comparison",
)
"""The keys of ``ReportData.notes`` shown in their own section (when that section is on the page);
notes under other keys are listed at the end of the page."""


Prebuilt = dict[str, "Panel | str | None"]
"""Panels (by section key) and table sections (by ``table:<key>``) drawn ahead by :func:`prebuild`."""


def build_panels(data: ReportData, prebuilt: Prebuilt | None = None) -> list[Panel]:
    """Every figure section in page order; the Pareto sections only for multi-objective reports."""
    panels = []
    for key, build in _PANEL_BUILDERS:
        panel = prebuilt[key] if prebuilt is not None and key in prebuilt else build(data)
        if isinstance(panel, Panel):
            panels.append(panel)
    return panels


def prebuild(data: ReportData) -> Prebuilt:
    """Draw what does not depend on the importances, from the report before they are in
    (``collect_report``'s ``while_waiting``); :func:`render_html` of the whole report then takes
    these as they are."""
    built: Prebuilt = {key: build(data) for key, build in _PANEL_BUILDERS if key in _WITHOUT_IMPORTANCES}
    built.update({f"table:{key}": table(data) for key, table in _TABLES})
    return built


def figures_json(panels: Iterable[Panel]) -> str:
    """All figures and their shared template as one JSON object, safe inside ``<script>``:
    ``{"template": {...}, "figures": {div id: {"data": [...], "layout": {...}}}}``."""
    figures = {panel.div_id: panel.figure.to_plotly_json() for panel in panels if panel.figure is not None}
    block = {"template": plotly.io.templates[TEMPLATE].to_plotly_json(), "figures": figures}
    # plotly escapes < > / and the line separators; & is escaped too so no HTML parser sees an entity.
    return to_json_plotly(block, engine="json").replace("&", "\\u0026")


def _notes(lines: Iterable[str]) -> str:
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f'<ul class="notes">{items}</ul>' if items else ""


def _section(
    key: str, title: str, body: str, data: ReportData, extra: Sequence[str] = (), *, hint: str = ""
) -> str:
    """A titled section with its notes (what it cannot show or leaves out) and a hint on reading it."""
    notes = _notes([*data.notes.get(key, []), *extra])
    hint = f'<p class="hint">{escape(hint)}</p>' if hint else ""
    return f'<section id="section-{key}"><h2>{escape(title)}</h2>{notes}{hint}{body}</section>'


def _summary(data: ReportData) -> str:
    body = summary_list(data)
    if data.summary.spec_yaml:
        spec = escape(data.summary.spec_yaml)
        body += f"<details><summary>Sweep spec (YAML)</summary><pre>{spec}</pre></details>"
    if data.summary.failures:
        body += f"<h3>Failures ({len(data.summary.failures)})</h3>{failures_list(data)}"
    return _section("summary", "Summary", body, data)


def _leaderboard(data: ReportData) -> str:
    total = len(data.leaderboard)
    if not total:
        return _section("leaderboard", "Leaderboard", "", data, ["no runs yet"])
    search = (
        '<div class="filter"><input id="leaderboard-filter" type="search" '
        'placeholder="Filter rows: every word must appear" aria-label="Filter the leaderboard">'
        f'<span id="leaderboard-count" class="count">{total} runs</span></div>'
    )
    hint = "Click a column header to sort. Pruned and failed runs are marked, not hidden."
    body = f'{search}<div class="table-wrap">{leaderboard_table(data)}</div>'
    return _section("leaderboard", "Leaderboard", body, data, hint=hint)


def _seed_groups(data: ReportData) -> str:
    if not data.seed_groups:
        return ""
    seed = f" (seed param: {data.seed_param})" if data.seed_param else ""
    hint = f"Runs with the same params but the seed{seed}, ranked by mean with a 95% interval (Student's t)."
    body = f'<div class="table-wrap">{seed_groups_table(data)}</div>'
    return _section("seed_groups", "Seed groups", body, data, hint=hint)


def _panel(panel: Panel, data: ReportData) -> str:
    body = ""
    if panel.figure is not None:
        # A figure too dense to shrink (a grid of slices) keeps a minimum width and scrolls sideways.
        style = f' style="min-width: {panel.min_width}px"' if panel.min_width else ""
        body = f'<div class="figure-wrap"><div id="{panel.div_id}" class="figure"{style}></div></div>'
    return _section(panel.key, panel.title, body, data, panel.notes, hint=panel.hint)


def _comparison(data: ReportData) -> str:
    if data.comparison is None:
        return _section("comparison", "Side-by-side comparison", "", data, ["no runs were compared"])
    toggle = '<label><input type="checkbox" id="only-differs"> only rows where the runs differ</label>'
    body = f'{toggle}<div class="table-wrap">{comparison_table(data.comparison)}</div>'
    hint = "Rows where the runs differ are highlighted."
    return _section("comparison", "Side-by-side comparison", body, data, hint=hint)


_TABLES: Sequence[tuple[str, Callable[[ReportData], str]]] = (
    ("summary", _summary),
    ("leaderboard", _leaderboard),
    ("seed_groups", _seed_groups),
    ("comparison", _comparison),
)


def _table(data: ReportData, key: str, table: Callable[[ReportData], str], prebuilt: Prebuilt | None) -> str:
    done = None if prebuilt is None else prebuilt.get(f"table:{key}")
    return done if isinstance(done, str) else table(data)


def _other_notes(data: ReportData, shown: set[str]) -> str:
    """Notes of sections that are not on the page (unknown keys, a Pareto note on a
    single-objective report), so that no note is dropped."""
    others = {key: lines for key, lines in data.notes.items() if key not in shown and lines}
    if not others:
        return ""
    lines = [f"{key}: {line}" for key, lines in others.items() for line in lines]
    return f'<section id="section-notes"><h2>Notes</h2>{_notes(lines)}</section>'


def _header(data: ReportData, panels: Sequence[Panel]) -> str:
    source = data.source
    if source.kind == "sweep":
        what = f"sweep {source.sweep_name or ''} ({source.sweep_id or '?'}) in experiment {source.experiment}"
    else:
        what = f"runs of experiment {source.experiment}"
    links = [("summary", "Summary"), ("leaderboard", "Leaderboard")]
    links += [("seed_groups", "Seed groups")] if data.seed_groups else []
    links += [(panel.key, panel.title.split(" of ")[0]) for panel in panels] + [("comparison", "Comparison")]
    anchors = "".join(f'<a href="#section-{key}">{escape(text)}</a>' for key, text in links)
    # On a narrow screen the links fold under a "Sections" toggle (a checkbox and its label: CSS only).
    nav = (
        '<nav><input type="checkbox" id="nav-toggle" class="nav-toggle" aria-label="Show the sections">'
        '<label for="nav-toggle" class="nav-toggle">Sections</label>'
        f'<div class="nav-links">{anchors}</div></nav>'
    )
    meta = escape(f"{what} · generated {data.generated_at}")
    return f'<header><h1>{escape(data.title)}</h1><div class="meta">{meta}</div></header>{nav}'


def render_html(data: ReportData, prebuilt: Prebuilt | None = None) -> str:
    """The report as one HTML page that needs no network: plotly.js, the figures and the tables
    are all in it.

    Args:
        data: the report, as :func:`~sweeptrack.reports.report.collect.collect_report` reads it
            or as loaded from ``report --format json``.
        prebuilt: What :func:`prebuild` drew of this report before its importances were in.

    Returns:
        The page's text (write it with UTF-8).
    """
    panels = build_panels(data, prebuilt)
    tables = {key: _table(data, key, table, prebuilt) for key, table in _TABLES}
    sections = [
        tables["summary"],
        tables["leaderboard"],
        tables["seed_groups"],
        *(_panel(panel, data) for panel in panels),
        tables["comparison"],
    ]
    shown = {"summary", "leaderboard", "comparison", *(p.key for p in panels)}
    sections.append(_other_notes(data, shown | ({"seed_groups"} if data.seed_groups else set())))
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(data.title)}</title>",
            f"<script>{ERRORS_JS}</script><style>{CSS}</style>",
            f"<script>{plotly.offline.get_plotlyjs()}</script></head>\n<body>",
            _header(data, panels),
            f"<main>{''.join(sections)}</main>",
            f'<script type="application/json" id="report-figures">{figures_json(panels)}</script>',
            f"<script>{PAGE_JS}</script></body></html>\n",
        ]
    )


def warm_up() -> None:
    """Load what :func:`render_html` loads on first use (plotly's trace classes and validators,
    scipy's interpolation): about a second a command can spend while it waits for something else."""
    from scipy.interpolate import griddata  # noqa: F401 - loaded for the contour

    traces = [
        plotly.graph_objects.Scatter(x=[0], y=[0]),
        plotly.graph_objects.Bar(x=[0], y=[0]),
        plotly.graph_objects.Contour(x=[0], y=[0], z=[[0]]),
        plotly.graph_objects.Parcoords(dimensions=[{"values": [0]}]),
    ]
    to_json_plotly(plotly.graph_objects.Figure(traces).update_layout(template=TEMPLATE))
