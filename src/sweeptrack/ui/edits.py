"""Edits from the pages (and scripts): tags, the note, the name, delete and restore (soft delete).

Every edit answers 403 when the dashboard runs ``--read-only``; the guard has already checked a
browser request's CSRF token and origin (see :mod:`.security`). Each answers the run as it is now.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from sweeptrack.core.liveness import Liveness
from sweeptrack.tracking.store import Store
from sweeptrack.ui import deps
from sweeptrack.ui.queries import now_ms, run_json
from sweeptrack.ui.settings import UiSettings

__all__ = ["router"]


def writable(settings: Annotated[UiSettings, Depends(deps.settings)]) -> None:
    if settings.read_only:
        raise HTTPException(403, "this dashboard is read-only (started with --read-only)")


router = APIRouter(prefix="/api/runs", tags=["edits"], dependencies=[Depends(writable)])
StoreDep = Annotated[Store, Depends(deps.store)]
LiveDep = Annotated[Liveness, Depends(deps.liveness)]


class Note(BaseModel):
    note: str | None = Field(description="The note; null or blank clears it")


class Name(BaseModel):
    name: str


def _answer(store: Store, run_id: str, liveness: Liveness) -> dict[str, Any]:
    return run_json(store.get_run(run_id), liveness)


@router.put("/{run}/tags", summary="Set tags (a JSON object of key: value)")
def set_tags(run: str, tags: dict[str, str], store: StoreDep, liveness: LiveDep) -> dict[str, Any]:
    run_id = store.resolve_run(run)
    store.set_tags(run_id, tags)
    return _answer(store, run_id, liveness)


@router.delete("/{run}/tags/{key:path}", summary="Remove a tag")
def delete_tag(run: str, key: str, store: StoreDep, liveness: LiveDep) -> dict[str, Any]:
    run_id = store.resolve_run(run)
    store.delete_tag(run_id, key)
    return _answer(store, run_id, liveness)


@router.put("/{run}/note", summary="Set or clear the run's note")
def set_note(run: str, body: Note, store: StoreDep, liveness: LiveDep) -> dict[str, Any]:
    run_id = store.resolve_run(run)
    store.set_run_note(run_id, body.note)
    return _answer(store, run_id, liveness)


@router.put("/{run}/name", summary="Rename the run")
def rename(run: str, body: Name, store: StoreDep, liveness: LiveDep) -> dict[str, Any]:
    run_id = store.resolve_run(run)
    store.rename_run(run_id, body.name)
    return _answer(store, run_id, liveness)


@router.post("/{run}/delete", summary="Delete the run (kept in the database, hidden from listings)")
def delete(run: str, store: StoreDep, liveness: LiveDep) -> dict[str, Any]:
    run_id = store.resolve_run(run)
    store.delete_run(run_id, now_ms())
    return _answer(store, run_id, liveness)


@router.post("/{run}/restore", summary="Restore a deleted run")
def restore(run: str, store: StoreDep, liveness: LiveDep) -> dict[str, Any]:
    run_id = store.resolve_run(run)
    store.restore_run(run_id)
    return _answer(store, run_id, liveness)
