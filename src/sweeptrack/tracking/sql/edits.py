"""The edits a person makes to a run: remove a tag, set the note, rename, soft-delete, restore.

Each is one conditional statement inside the store's write transaction; when it changes no row,
a second look says why (an unknown run, a tag it does not have, a run already deleted or not
deleted) and nothing is written. Values are checked before any statement runs.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from sweeptrack.core.errors import RunStateError, TagNotFoundError
from sweeptrack.core.limits import check_key, check_note, check_run_name
from sweeptrack.tracking.sql import schema as t

__all__ = ["delete_run", "delete_tag", "rename_run", "restore_run", "set_note"]

_r = t.runs.c


def _label(conn: Connection, run_pk: int) -> str:
    row = conn.execute(select(_r.uuid, _r.name).where(_r.id == run_pk)).one()
    return f"run {row.name} ({row.uuid[:8]})"


def delete_tag(conn: Connection, run_pk: int, key: str) -> None:
    check_key("tag key", key)
    g = t.tags.c
    if conn.execute(t.tags.delete().where(g.run_id == run_pk, g.key == key)).rowcount == 0:
        raise TagNotFoundError(f"{_label(conn, run_pk)} has no tag {key!r}; nothing to remove")


def set_note(conn: Connection, run_pk: int, note: str | None) -> None:
    """Store the note; None or blank text clears it."""
    if note is not None:
        check_note(note)
    text = note if note is not None and note.strip() else None
    conn.execute(t.runs.update().where(_r.id == run_pk).values(note=text))


def rename_run(conn: Connection, run_pk: int, name: str) -> None:
    check_run_name(name)
    conn.execute(t.runs.update().where(_r.id == run_pk).values(name=name))


def delete_run(conn: Connection, run_pk: int, when_ms: int) -> None:
    live = (_r.id == run_pk) & _r.deleted_at.is_(None)
    if conn.execute(t.runs.update().where(live).values(deleted_at=when_ms)).rowcount == 0:
        raise RunStateError(f"{_label(conn, run_pk)} is already deleted; nothing to delete")


def restore_run(conn: Connection, run_pk: int) -> None:
    gone = (_r.id == run_pk) & _r.deleted_at.is_not(None)
    if conn.execute(t.runs.update().where(gone).values(deleted_at=None)).rowcount == 0:
        raise RunStateError(f"{_label(conn, run_pk)} is not deleted; nothing to restore")
