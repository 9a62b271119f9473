"""What routes take from the application: the store, the liveness, the renderer, settings."""

from __future__ import annotations

from fastapi import Request

from sweeptrack.core.liveness import Liveness
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.store import Store
from sweeptrack.ui.render import Renderer
from sweeptrack.ui.settings import UiSettings

__all__ = ["artifacts", "liveness", "renderer", "settings", "store"]


def store(request: Request) -> Store:
    found: Store = request.app.state.store
    return found


def liveness(request: Request) -> Liveness:
    found: Liveness = request.app.state.liveness
    return found


def renderer(request: Request) -> Renderer:
    found: Renderer = request.app.state.renderer
    return found


def settings(request: Request) -> UiSettings:
    found: UiSettings = request.app.state.settings
    return found


def artifacts(request: Request) -> ArtifactRoot:
    found: ArtifactRoot = request.app.state.artifacts
    return found
