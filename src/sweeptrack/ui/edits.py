"""Edits from the pages: tags, the note, the name, delete and restore (soft delete).

Every edit is refused with 403 when the dashboard runs ``--read-only``; the guard has already
checked the CSRF token of a browser's request (see :mod:`.security`).
"""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["edits"])
