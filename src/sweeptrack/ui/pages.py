"""Pages: home, the runs table and its CSV, the login form, the API's documentation."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sweeptrack.core.liveness import Liveness
from sweeptrack.reports.formats import Format, Report, Table, render
from sweeptrack.tracking.store import Store
from sweeptrack.ui import deps
from sweeptrack.ui.columns import cell, default_columns, known_columns, order_key, parse_columns
from sweeptrack.ui.queries import STATUSES, RunsQuery, now_ms, run_page
from sweeptrack.ui.render import Renderer
from sweeptrack.ui.security import SESSION_COOKIE, safe_next

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
StoreDep = Annotated[Store, Depends(deps.store)]
LiveDep = Annotated[Liveness, Depends(deps.liveness)]
RenderDep = Annotated[Renderer, Depends(deps.renderer)]
CSV_MAX_ROWS = 10_000
PER_PAGE = (25, 50, 100, 200)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, renderer: RenderDep) -> Response:
    experiments, sweeps = request.app.state.home.get()
    return renderer.page(request, "home.html", experiments=experiments, sweeps=sweeps, statuses=STATUSES)


def _query(
    store: Store,
    experiment: str | None,
    sweep: str | None,
    filter: str,
    order: str,
    page: int,
    per_page: int,
    deleted: bool = False,
) -> tuple[RunsQuery, Any]:
    found_sweep = None if not sweep else store.get_sweep(sweep)
    query = RunsQuery(
        experiment=experiment or None,
        sweep=None if found_sweep is None else found_sweep.id,
        filter=filter,
        order=order,
        limit=per_page,
        offset=(max(page, 1) - 1) * per_page,
        deleted=deleted,
    )
    return query, found_sweep


@router.get("/runs", response_class=HTMLResponse)
def runs(
    request: Request,
    store: StoreDep,
    liveness: LiveDep,
    renderer: RenderDep,
    experiment: str | None = None,
    sweep: str | None = None,
    filter: str = "",
    order: str = "",
    columns: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    deleted: bool = False,
) -> Response:
    query, found_sweep = _query(store, experiment, sweep, filter, order, page, per_page, deleted)
    result = run_page(store, query)
    shown = list(result.page.runs) if result.page else []
    chosen = parse_columns(columns) or default_columns(shown, in_sweep=found_sweep is not None)
    now = now_ms()
    rows = [(run, [cell(run, c, liveness, now) for c in chosen]) for run in shown]
    total = result.page.total if result.page else 0
    more = bool(result.page and result.page.more)
    state = {"experiment": experiment or "", "sweep": sweep or "", "filter": filter, "order": order}
    state["columns"] = columns
    state["deleted"] = "1" if deleted else ""
    return renderer.page(
        request,
        "runs.html",
        query=query,
        sweep=found_sweep,
        state=state,
        result=result,
        columns=chosen,
        known=known_columns(shown, chosen),
        sorts={c: _sort_link(state, c, order) for c in chosen},
        rows=rows,
        total=total,
        more=more,
        page=page,
        pages=max(1, math.ceil(total / per_page)),
        per_page=per_page,
        link=lambda **changes: "/runs?" + urlencode({k: v for k, v in {**state, **changes}.items() if v}),
    )


def _sort_link(state: dict[str, str], column: str, current: str) -> dict[str, str] | None:
    """The header link of a column: sorts by it, or flips the direction when it already does."""
    key = order_key(column)
    if key is None:
        return None
    words = current.strip().rsplit(" ", 1)
    field, direction = (
        (words[0], words[1].upper())
        if len(words) == 2 and words[1].upper() in ("ASC", "DESC")
        else (current.strip(), "ASC")
    )
    if field == key:
        arrow, nxt = ("▼", f"{key} ASC") if direction == "DESC" else ("▲", f"{key} DESC")
    else:
        arrow, nxt = "", f"{key} DESC" if column.startswith("metrics.") else f"{key} ASC"
    query = {k: v for k, v in {**state, "order": nxt, "page": ""}.items() if v}
    return {"href": "/runs?" + urlencode(query), "arrow": arrow}


@router.get("/runs.csv")
def runs_csv(
    store: StoreDep,
    liveness: LiveDep,
    experiment: str | None = None,
    sweep: str | None = None,
    filter: str = "",
    order: str = "",
    columns: str = "",
) -> Response:
    """The current view (filter, order, columns) as CSV; formulas are neutralised."""
    query, found_sweep = _query(store, experiment, sweep, filter, order, 1, 500)
    runs: list[Any] = []
    while len(runs) < CSV_MAX_ROWS:
        result = run_page(store, replace(query, offset=len(runs)))
        if result.error is not None:
            raise result.error
        assert result.page is not None
        runs += result.page.runs
        if len(result.page.runs) < query.limit:
            break
    chosen = parse_columns(columns) or default_columns(runs, in_sweep=found_sweep is not None)
    now = now_ms()
    table = Table(
        columns=("id", *chosen),
        rows=tuple((run.id, *(cell(run, c, liveness, now) for c in chosen)) for run in runs[:CSV_MAX_ROWS]),
    )
    text = render(Report(tables=(table,)), Format.CSV)
    headers = {"Content-Disposition": 'attachment; filename="runs.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, renderer: RenderDep, next: str = "/") -> Response:
    return renderer.page(request, "login.html", next=safe_next(next), failed=False)


@router.post("/login")
def login(
    request: Request, renderer: RenderDep, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    guard = request.app.state.guard
    if not guard.check_token(token):
        return renderer.page(request, "login.html", 401, next=safe_next(next), failed=True)
    response = RedirectResponse(safe_next(next), 303)
    response.set_cookie(SESSION_COOKIE, guard.session_value(), httponly=True, samesite="strict", path="/")
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request, renderer: RenderDep) -> Response:
    """The OpenAPI document, read as a page (served here: Swagger UI would come from a CDN)."""
    document = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, "op": op, "params": op.get("parameters", [])}
        for path, methods in document["paths"].items()
        for method, op in methods.items()
    ]
    return renderer.page(request, "api_docs.html", document=document, operations=operations)
