"""Serving the dashboard with uvicorn (what ``sweeptrack ui`` runs)."""

from __future__ import annotations

import uvicorn

from sweeptrack.ui.app import create_app
from sweeptrack.ui.settings import UiSettings

__all__ = ["serve"]


def serve(settings: UiSettings, *, port: int) -> None:
    """Serve until interrupted, on ``settings.host`` and ``port``."""
    uvicorn.run(create_app(settings), host=settings.host, port=port, log_level="warning", access_log=False)
