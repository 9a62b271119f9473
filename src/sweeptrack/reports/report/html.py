"""The HTML report: one self-contained file that opens offline, from :class:`ReportData`.

plotly.js is embedded once; the figures are built in Python (:mod:`.figures`,
:mod:`.param_figures`), serialized together into one JSON block and drawn by one small script.
Tables are plain HTML made sortable and filterable by a little vanilla JavaScript
(:mod:`.assets`). Nothing is fetched from the network: no CDN, no web fonts.

The markup is in Jinja2 templates (``sweeptrack/reports/templates/report/``, with the shared
table, figure and section partials) rendered with autoescaping, so every name and value from the
data is text on the page; the JSON block has ``<``, ``>``, ``/``, ``&``, U+2028 and U+2029
escaped, so it cannot close its ``<script>`` element. A section that cannot be shown says why,
from ``ReportData.notes`` (keyed by section: :data:`SECTIONS`) and from the figure builders.

Example:
    >>> from pathlib import Path
    >>> Path("report.html").write_text(render_html(data), encoding="utf-8")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

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
    failures,
    leaderboard_table,
    seed_groups_table,
    summary_facts,
)
from sweeptrack.reports.report.values import format_value
from sweeptrack.reports.templates import environment, trusted

if TYPE_CHECKING:
    from markupsafe import Markup

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
"""Panels (by section key) and table sections (by ``table:<key>``, rendered HTML) drawn ahead by
:func:`prebuild`."""


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


def _render(template: str, **context: Any) -> Markup:
    return trusted(environment().get_template(template).render(**context))


def _summary(data: ReportData) -> Markup:
    s = data.summary
    best = s.best
    return _render(
        "report/summary.html",
        s=s,
        notes=data.notes.get("summary", []),
        counts=sorted(s.counts.items()),
        objective=", ".join(f"{o.metric} ({o.summary}, {o.goal})" for o in data.objectives),
        best=None
        if best is None
        else best.name + (f" (trial {best.trial_number})" if best.trial_number is not None else ""),
        best_value=format_value(best.value) if best is not None else "",
        facts=summary_facts(data),
        failures=failures(data),
    )


def _leaderboard(data: ReportData) -> Markup:
    total = len(data.leaderboard)
    notes = [*data.notes.get("leaderboard", []), *([] if total else ["no runs yet"])]
    return _render(
        "report/leaderboard.html",
        table=leaderboard_table(data) if total else None,
        total=total,
        notes=notes,
        hint="Click a column header to sort. Pruned and failed runs are marked, not hidden." if total else "",
    )


def _seed_groups(data: ReportData) -> Markup:
    if not data.seed_groups:
        return trusted("")
    seed = f" (seed param: {data.seed_param})" if data.seed_param else ""
    hint = f"Runs with the same params but the seed{seed}, ranked by mean with a 95% interval (Student's t)."
    return _render(
        "report/table_section.html",
        key="seed_groups",
        title="Seed groups",
        table=seed_groups_table(data),
        notes=data.notes.get("seed_groups", []),
        hint=hint,
        differs_toggle=False,
    )


def _panel(panel: Panel, data: ReportData) -> Markup:
    notes = [*data.notes.get(panel.key, []), *panel.notes]
    return _render("report/figure_section.html", panel=panel, notes=notes)


def _comparison(data: ReportData) -> Markup:
    compared = data.comparison
    notes = [*data.notes.get("comparison", []), *([] if compared else ["no runs were compared"])]
    return _render(
        "report/table_section.html",
        key="comparison",
        title="Side-by-side comparison",
        table=comparison_table(compared) if compared else None,
        notes=notes,
        hint="Rows where the runs differ are highlighted." if compared else "",
        differs_toggle=True,
    )


_TABLES: Sequence[tuple[str, Callable[[ReportData], Markup]]] = (
    ("summary", _summary),
    ("leaderboard", _leaderboard),
    ("seed_groups", _seed_groups),
    ("comparison", _comparison),
)


def _table(
    data: ReportData, key: str, table: Callable[[ReportData], Markup], prebuilt: Prebuilt | None
) -> Markup:
    done = None if prebuilt is None else prebuilt.get(f"table:{key}")
    return trusted(done) if isinstance(done, str) else table(data)


def _other_notes(data: ReportData, shown: set[str]) -> Markup:
    """Notes of sections that are not on the page (unknown keys, a Pareto note on a
    single-objective report), so that no note is dropped."""
    others = {key: lines for key, lines in data.notes.items() if key not in shown and lines}
    if not others:
        return trusted("")
    lines = [f"{key}: {line}" for key, lines in others.items() for line in lines]
    return _render("report/notes.html", lines=lines)


def _what(data: ReportData) -> str:
    source = data.source
    if source.kind == "sweep":
        what = f"sweep {source.sweep_name or ''} ({source.sweep_id or '?'}) in experiment {source.experiment}"
    else:
        what = f"runs of experiment {source.experiment}"
    return f"{what} · generated {data.generated_at}"


def _links(data: ReportData, panels: Sequence[Panel]) -> list[tuple[str, str]]:
    links = [("summary", "Summary"), ("leaderboard", "Leaderboard")]
    links += [("seed_groups", "Seed groups")] if data.seed_groups else []
    return (
        links
        + [(panel.key, panel.title.split(" of ")[0]) for panel in panels]
        + [("comparison", "Comparison")]
    )


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
    page = (
        environment()
        .get_template("report/page.html")
        .render(
            title=data.title,
            meta=_what(data),
            links=_links(data, panels),
            sections=[section for section in sections if section],
            figures_json=figures_json(panels),
            css=trusted(CSS),
            errors_js=trusted(ERRORS_JS),
            plotly_js=trusted(plotly.offline.get_plotlyjs()),
            page_js=trusted(PAGE_JS),
        )
    )
    return page + "\n"


def warm_up() -> None:
    """Load what :func:`render_html` loads on first use (plotly's trace classes and validators,
    scipy's interpolation, jinja2 and the compiled templates): about a second a command can
    spend while it waits for something else."""
    from scipy.interpolate import griddata  # noqa: F401 - loaded for the contour

    env = environment()
    for name in env.list_templates(filter_func=lambda name: name.endswith(".html")):
        env.get_template(name)

    traces = [
        plotly.graph_objects.Scatter(x=[0], y=[0]),
        plotly.graph_objects.Bar(x=[0], y=[0]),
        plotly.graph_objects.Contour(x=[0], y=[0], z=[[0]]),
        plotly.graph_objects.Parcoords(dimensions=[{"values": [0]}]),
    ]
    to_json_plotly(plotly.graph_objects.Figure(traces).update_layout(template=TEMPLATE))
