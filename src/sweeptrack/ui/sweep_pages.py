"""The sweep page (leaderboard, counts and progress refreshed live; history, parallel
coordinates and importances drawn by the report's figure builders), and the HTML report."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from sweeptrack.core.liveness import Liveness
from sweeptrack.tracking.store import Store
from sweeptrack.ui import deps
from sweeptrack.ui.queries import sweep_live
from sweeptrack.ui.render import Renderer, json_text

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
StoreDep = Annotated[Store, Depends(deps.store)]
LiveDep = Annotated[Liveness, Depends(deps.liveness)]
RenderDep = Annotated[Renderer, Depends(deps.renderer)]
FIGURES = ("history", "parallel", "importances")
# The report is one self-contained file with inline scripts; it gets its own policy.
REPORT_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; frame-ancestors 'none'"
)


class _FigureCache:
    """Figures of a sweep, rebuilt only when its runs changed (counts by status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[str, tuple[Any, str]] = {}

    def get(self, key: str, version: Any) -> str | None:
        with self._lock:
            found = self._built.get(key)
        return found[1] if found is not None and found[0] == version else None

    def put(self, key: str, version: Any, body: str) -> None:
        with self._lock:
            if len(self._built) > 64:
                self._built.clear()
            self._built[key] = (version, body)


_cache = _FigureCache()


@router.get("/sweeps/{ref}", response_class=HTMLResponse)
def sweep_page(
    request: Request, ref: str, store: StoreDep, liveness: LiveDep, renderer: RenderDep
) -> Response:
    sweep = store.get_sweep(ref)
    live = sweep_live(store, sweep, liveness)
    return renderer.page(request, "sweep.html", sweep=sweep, live=live, figures=FIGURES)


@router.get("/sweeps/{ref}/figures.json")
def sweep_figures(ref: str, store: StoreDep, liveness: LiveDep) -> Response:
    """The optimization history, parallel coordinates and importances as plotly JSON, with the
    notes on what each leaves out or why it cannot be drawn."""
    from sweeptrack.reports.report.collect import collect_report
    from sweeptrack.reports.report.figures import history_panel, importances_panel
    from sweeptrack.reports.report.html import figures_json
    from sweeptrack.reports.report.param_figures import parallel_panel

    sweep = store.get_sweep(ref)
    version = tuple(sorted(sweep_live(store, sweep, liveness, top=0)["counts"].items()))
    body = _cache.get(sweep.id, version)
    if body is None:
        data = collect_report(store, sweep=sweep.id, curves_top_k=0, top=10)
        panels = [history_panel(data), parallel_panel(data), importances_panel(data)]
        notes = {
            p.key: {"title": p.title, "hint": p.hint, "notes": [*data.notes.get(p.key, []), *p.notes]}
            for p in panels
        }
        body = '{"panels":' + json_text(notes) + ',"plotly":' + figures_json(panels) + "}"
        _cache.put(sweep.id, version, body)
    return Response(body, media_type="application/json")


@router.get("/sweeps/{ref}/report", response_class=HTMLResponse)
def sweep_report(ref: str, store: StoreDep) -> Response:
    """The sweep's HTML report (``sweeptrack report``), made now."""
    from sweeptrack.reports.report.collect import collect_report
    from sweeptrack.reports.report.html import render_html

    sweep = store.get_sweep(ref)
    html = render_html(collect_report(store, sweep=sweep.id))
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_POLICY})
