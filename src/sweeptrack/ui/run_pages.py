"""The run page, artifact downloads, and the comparison of 2 to 20 runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.liveness import Liveness
from sweeptrack.reports.compare import Section, compare_runs
from sweeptrack.reports.runs import environment_summary, run_details
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.store import Store
from sweeptrack.ui import deps
from sweeptrack.ui.artifacts import GIT_DIFF, confined_blob, find_artifact, output_text, read_text
from sweeptrack.ui.queries import curves, run_json, series_json
from sweeptrack.ui.render import Renderer
from sweeptrack.ui.tables import artifacts_table, comparison_table, datasets_table, metrics_table, pairs_table

__all__ = ["MAX_COMPARED", "parse_compare_refs", "router"]

router = APIRouter(include_in_schema=False)
StoreDep = Annotated[Store, Depends(deps.store)]
LiveDep = Annotated[Liveness, Depends(deps.liveness)]
RenderDep = Annotated[Renderer, Depends(deps.renderer)]
RootDep = Annotated[ArtifactRoot, Depends(deps.artifacts)]
MAX_COMPARED = 20
COMPARE_CURVE_KEYS = 12
# Environment and dataset differences first: they are what explains a regression.
SECTION_ORDER = (
    Section.DATASETS,
    Section.GIT,
    Section.PACKAGES,
    Section.RUN,
    Section.PARAMS,
    Section.METRICS,
)


@router.get("/runs/{ref}", response_class=HTMLResponse)
def run_page(
    request: Request, ref: str, store: StoreDep, liveness: LiveDep, renderer: RenderDep, root: RootDep
) -> Response:
    details = run_details(store, ref, liveness)
    run = details.run
    env = details.environment or {}
    packages = env.get("packages") if isinstance(env.get("packages"), dict) else {}
    diff = next((a for a in details.artifacts if a.path == GIT_DIFF), None)
    git_diff = None
    if diff is not None:
        try:
            git_diff = read_text(root, diff)
        except SweepTrackError as exc:
            git_diff = f"({exc})"
    output, no_output = output_text(store, root, run)
    return renderer.page(
        request,
        "run.html",
        run=run,
        data=run_json(run, liveness),
        details=details,
        packages=packages,
        tables={
            "params": pairs_table("params", ("param", "value"), sorted(run.params.items())),
            "metrics": metrics_table(run),
            "datasets": datasets_table(details.datasets),
            "environment": pairs_table(
                "environment", ("field", "value"), _environment_rows(details.environment)
            ),
            "packages": pairs_table("packages", ("package", "version"), sorted((packages or {}).items())),
            "artifacts": artifacts_table(run, details.artifacts),
        },
        git_diff=git_diff,
        output=output,
        no_output=no_output,
        curves=curves(store, run, max_points=1000),
        editable=True,
    )


@router.get("/runs/{ref}/artifacts/{path:path}")
def download(ref: str, path: str, store: StoreDep, root: RootDep) -> Response:
    """An artifact's bytes, as a download (never shown inline: it could be HTML)."""
    run_id = store.resolve_run(ref)
    artifact = find_artifact(store, run_id, path)
    blob = confined_blob(root, artifact)
    name = artifact.path.rsplit("/", 1)[-1]
    return FileResponse(blob, media_type="application/octet-stream", filename=name)


def _environment_rows(environment: Any) -> list[tuple[str, Any]]:
    summary = environment_summary(environment)
    return [
        (k, ", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in summary.items() if v is not None
    ]


def parse_compare_refs(text: str | list[str]) -> list[str]:
    """Run references from ``a,b`` or repeated parameters; 2 to 20 distinct ones."""
    items = text if isinstance(text, list) else [text]
    refs = list(dict.fromkeys(r.strip() for item in items for r in item.split(",") if r.strip()))
    if not 2 <= len(refs) <= MAX_COMPARED:
        raise SweepTrackError(f"compare 2 to {MAX_COMPARED} runs; {len(refs)} were given")
    return refs


@router.get("/compare", response_class=HTMLResponse)
def compare(
    request: Request,
    store: StoreDep,
    liveness: LiveDep,
    renderer: RenderDep,
    runs: Annotated[list[str], Query()],
) -> Response:
    comparison = compare_runs(store, parse_compare_refs(runs))
    rows = sorted(comparison.rows, key=lambda row: SECTION_ORDER.index(row.section))
    keys = sorted(
        {k for run in comparison.runs for k in run.metrics}, key=lambda k: (k.startswith("system/"), k)
    )
    overlaid: dict[str, Any] = {
        key: [
            {"run": run.id, "name": run.name, **series_json(store.metric_series(run.id, key, max_points=500))}
            for run in comparison.runs
            if key in run.metrics
        ]
        for key in keys[:COMPARE_CURVE_KEYS]
    }
    return renderer.page(
        request,
        "compare.html",
        comparison=comparison,
        columns=comparison.run_columns,
        comparison_table=comparison_table(comparison, rows, {run.id: run.name for run in comparison.runs}),
        sections=SECTION_ORDER,
        differing={s: sum(r.differs for r in rows if r.section is s) for s in SECTION_ORDER},
        curves=overlaid,
        more_metrics=max(0, len(keys) - COMPARE_CURVE_KEYS),
        runs=[run_json(run, liveness) for run in comparison.runs],
    )
