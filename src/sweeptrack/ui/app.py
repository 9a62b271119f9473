"""The dashboard application: :func:`create_app` wires the store, the guard, the templates and
the routes (pages in :mod:`.pages`, :mod:`.run_pages`, :mod:`.sweep_pages`; JSON in :mod:`.api`;
edits in :mod:`.edits`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from sweeptrack.core.errors import (
    ArtifactError,
    FilterError,
    RunNotFoundError,
    SweepNotFoundError,
    SweepTrackError,
)
from sweeptrack.core.liveness import Liveness
from sweeptrack.reports.formats import jsonable
from sweeptrack.tracking.artifacts import ArtifactRoot, default_artifact_root
from sweeptrack.tracking.client import open_store
from sweeptrack.ui.queries import SharedAnswer, home_groups
from sweeptrack.ui.render import Renderer
from sweeptrack.ui.security import Guard, GuardMiddleware
from sweeptrack.ui.settings import UiSettings

__all__ = ["SafeJSONResponse", "create_app", "plotly_js_path"]

STATIC = Path(__file__).parent / "static"


class SafeJSONResponse(JSONResponse):
    """JSON whose NaN and infinities are the strings ``nan``, ``inf``, ``-inf`` (valid JSON)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(jsonable(content), allow_nan=False, separators=(",", ":")).encode()


def plotly_js_path() -> Path:
    """plotly.js as the plotly package ships it (no CDN, no Node.js)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(settings: UiSettings) -> FastAPI:
    """The dashboard for one database; the store connects on the first request."""
    from sweeptrack.ui import api, edits, pages, run_pages, sweep_pages

    store = open_store(settings.db, create=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="sweeptrack dashboard",
        summary="Runs, sweeps and their metrics from a sweeptrack tracking database.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        default_response_class=SafeJSONResponse,
        lifespan=lifespan,
    )
    guard = Guard(settings)
    app.state.settings = settings
    app.state.store = store
    app.state.guard = guard
    app.state.liveness = Liveness()
    app.state.home = SharedAnswer(lambda: home_groups(store, app.state.liveness))
    app.state.artifacts = ArtifactRoot(settings.artifacts or default_artifact_root(settings.db, None))
    app.state.renderer = Renderer(
        {"read_only": settings.read_only, "auth": settings.token is not None, "db": store_label(store)}
    )
    app.add_middleware(GuardMiddleware, guard=guard)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (api, edits, pages, run_pages, sweep_pages):
        app.include_router(module.router)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_js_path(), media_type="text/javascript", headers=_CACHE)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)  # pages say they have none; other clients ask anyway

    _errors(app)
    return app


_CACHE = {"Cache-Control": "public, max-age=86400"}


def store_label(store: Any) -> str:
    return str(getattr(store, "display_url", "the tracking database"))


def _status(exc: SweepTrackError) -> int:
    from sweeptrack.ui.artifacts import Refused

    if isinstance(exc, Refused):
        return 403
    return 404 if isinstance(exc, RunNotFoundError | SweepNotFoundError | ArtifactError) else 400


def _errors(app: FastAPI) -> None:
    @app.exception_handler(SweepTrackError)
    async def sweeptrack_error(request: Request, exc: SweepTrackError) -> Response:
        message = " ".join(str(exc).split())
        if request.url.path.startswith("/api/"):
            body: dict[str, Any] = {"detail": message}
            if isinstance(exc, FilterError):
                body["column"] = exc.column
            return SafeJSONResponse(body, _status(exc))
        renderer: Renderer = request.app.state.renderer
        return renderer.page(request, "error.html", _status(exc), message=message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        if request.url.path.startswith("/api/"):
            return SafeJSONResponse({"detail": problems}, 422)
        renderer: Renderer = request.app.state.renderer
        return renderer.page(request, "error.html", 422, message=problems)
