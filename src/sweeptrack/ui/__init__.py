"""The web dashboard (``sweeptrack ui``): server-rendered pages and a JSON API over a store.

Pages (Jinja2 templates, autoescaped) and the JSON API under ``/api`` are FastAPI routes; the
OpenAPI document is at ``/api/openapi.json`` and read at ``/api/docs``. plotly.js is served from
the plotly package and the little JavaScript of our own from ``static/``: nothing comes from a
CDN. Only this package (and the server) imports web frameworks; ``sweeptrack ui`` imports it when
it runs.

Example:
    >>> app = create_app(UiSettings(db="sqlite:///sweeptrack.db"))   # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8080)                 # doctest: +SKIP
"""

from sweeptrack.ui.app import create_app
from sweeptrack.ui.settings import UiSettings

__all__ = ["UiSettings", "create_app"]
