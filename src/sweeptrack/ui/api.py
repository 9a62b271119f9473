"""The JSON API under ``/api`` (its OpenAPI document: ``/api/openapi.json``, read at ``/api/docs``).

Numbers that are not finite are the strings ``nan``, ``inf`` and ``-inf``. A filter error answers
400 with ``detail`` (the same message as ``--filter`` gives) and ``column``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from sweeptrack.core.liveness import Liveness
from sweeptrack.reports.compare import compare_runs
from sweeptrack.tracking.store import Store
from sweeptrack.ui import deps
from sweeptrack.ui.queries import (
    RunsQuery,
    curves,
    run_json,
    run_page,
    series_json,
    sweep_live,
)

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["api"])
StoreDep = Annotated[Store, Depends(deps.store)]
LiveDep = Annotated[Liveness, Depends(deps.liveness)]
MAX_PAGE = 500


@router.get("/home", summary="Experiments and sweeps with counts by outcome and best values")
def home(request: Request) -> dict[str, Any]:
    experiments, sweeps = request.app.state.home.get()
    return {"experiments": [g.json() for g in experiments], "sweeps": [g.json() for g in sweeps]}


@router.get("/experiments", summary="Every experiment")
def experiments(store: StoreDep) -> list[dict[str, Any]]:
    return [{"id": e.id, "name": e.name, "created_at": e.created_at} for e in store.list_experiments()]


@router.get("/runs", summary="A page of runs matching a filter, in order, and how many match")
def runs(
    store: StoreDep,
    liveness: LiveDep,
    filter: Annotated[str, Query(description="The filter language of `runs list --filter`")] = "",
    order: Annotated[str, Query(description="e.g. `metrics.val_f1.max DESC, params.lr`")] = "",
    experiment: str | None = None,
    sweep: Annotated[str | None, Query(description="A sweep id, id prefix or name")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    deleted: Annotated[bool, Query(description="Deleted runs instead of live ones")] = False,
    exact_total: Annotated[
        bool, Query(description="Count every match (by default counting stops 1,000 past the page: `more`)")
    ] = False,
) -> dict[str, Any]:
    sweep_id = None if sweep is None else store.get_sweep(sweep).id
    query = RunsQuery(
        experiment=experiment,
        sweep=sweep_id,
        filter=filter,
        order=order,
        limit=limit,
        offset=offset,
        deleted=deleted,
        exact_total=exact_total,
    )
    found = run_page(store, query)
    if found.error is not None:
        raise found.error
    assert found.page is not None
    return {
        "total": found.page.total,
        "more": found.page.more,
        "offset": offset,
        "limit": limit,
        "runs": [run_json(run, liveness) for run in found.page.runs],
    }


@router.get("/runs/{run}", summary="One run: params, tags, metric summaries, datasets, artifacts")
def run(run: str, store: StoreDep, liveness: LiveDep) -> dict[str, Any]:
    found = store.get_run(store.resolve_run(run))
    return {
        **run_json(found, liveness),
        "datasets": [
            {"name": d.name, "context": d.context, "digest": d.digest, "size": d.size, "source": d.source}
            for d in store.list_datasets(found.id)
        ],
        "artifacts": [
            {"path": a.path, "size": a.size, "sha256": a.sha256} for a in store.list_artifacts(found.id)
        ],
        "environment": store.get_environment(found.id),
    }


@router.get("/runs/{run}/curves", summary="Every metric of a run, downsampled (min/max buckets)")
def run_curves(
    run: str,
    store: StoreDep,
    keys: Annotated[str | None, Query(description="Comma-separated metric keys (default: all)")] = None,
    max_points: Annotated[int, Query(ge=4, le=20_000)] = 1000,
) -> dict[str, Any]:
    found = store.get_run(store.resolve_run(run))
    wanted = None if keys is None else [k for k in keys.split(",") if k]
    return {"run": found.id, "curves": curves(store, found, wanted, max_points=max_points)}


@router.get(
    "/runs/{run}/metrics/{key:path}", summary="One metric between two steps, at full detail when it fits"
)
def metric(
    run: str,
    key: str,
    store: StoreDep,
    start: int | None = None,
    end: int | None = None,
    max_points: Annotated[int, Query(ge=4, le=20_000)] = 2000,
) -> dict[str, Any]:
    run_id = store.resolve_run(run)
    return series_json(store.metric_series(run_id, key, max_points=max_points, start=start, end=end))


@router.get("/sweeps", summary="Every sweep, newest first")
def sweeps(request: Request) -> list[dict[str, Any]]:
    _, groups = request.app.state.home.get()
    return [g.json() for g in groups]


@router.get("/sweeps/{sweep}/live", summary="A sweep's state, counts, progress and leaderboard")
def sweep(sweep: str, store: StoreDep, liveness: LiveDep) -> dict[str, Any]:
    return sweep_live(store, store.get_sweep(sweep), liveness)


@router.get("/compare", summary="Params, summaries, datasets and packages of 2 to 20 runs side by side")
def compare(
    runs: Annotated[str, Query(description="Comma-separated run ids or names")], store: StoreDep
) -> dict[str, Any]:
    from sweeptrack.ui.run_pages import parse_compare_refs

    comparison = compare_runs(store, parse_compare_refs(runs))
    return {
        "runs": [r.id for r in comparison.runs],
        "rows": [
            {"section": row.section.value, "key": row.key, "values": list(row.values), "differs": row.differs}
            for row in comparison.rows
        ],
    }
