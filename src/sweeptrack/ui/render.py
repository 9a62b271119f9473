"""Jinja2 for the pages: autoescaping on for every template, and the filters they share.

Data a script on the page needs goes in ``<script type="application/json">`` through
:func:`json_block` (``<``, ``>``, ``&`` and ``'`` escaped, so it cannot end its element); nothing
is written into inline JavaScript (the Content-Security-Policy forbids inline scripts anyway).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from sweeptrack.reports.formats import format_time, jsonable, text_cell
from sweeptrack.reports.runs import short_id

__all__ = ["Renderer", "json_block", "json_text"]

TEMPLATES = Path(__file__).parent / "templates"


def json_text(value: Any) -> str:
    """JSON safe inside an HTML element: non-finite floats as strings, markup characters escaped."""
    text = json.dumps(jsonable(value), allow_nan=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("'", "\\u0027")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def json_block(element_id: str, value: Any) -> Markup:
    """A ``<script type="application/json">`` element holding ``value``."""
    return Markup('<script type="application/json" id="{}">{}</script>').format(
        element_id, Markup(json_text(value))
    )


def _number(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return text_cell(value)


def _environment() -> jinja2.Environment:
    """Our templates first, then the report's (``layout.html``, ``partials/``: table, figure,
    badge, section) with the report's filters, so both kinds of page escape the same way."""
    from sweeptrack.reports.templates import build_environment

    return build_environment(jinja2.FileSystemLoader(TEMPLATES))


class Renderer:
    """The pages' Jinja2 environment; :meth:`page` answers a request with a template."""

    def __init__(self, globals_: dict[str, Any]) -> None:
        self.env = _environment()
        self.env.filters.update(
            value=_number,
            time=format_time,
            short=short_id,
            json_block=lambda value, element_id: json_block(element_id, value),
            cell=text_cell,
        )
        self.env.globals.update(globals_)

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        guard = request.app.state.guard
        html = self.env.get_template(template).render(
            request=request, csrf=guard.csrf_token(request), **context
        )
        return HTMLResponse(html, status_code=status)
