"""Schema revisions: what a database is at, and upgrading it with the shipped Alembic migrations.

Reading the revision needs no Alembic import (it is one table), so opening a store stays fast;
Alembic loads only to upgrade.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from sweeptrack.core.errors import SchemaError
from sweeptrack.tracking.sql.engine import WRITE
from sweeptrack.tracking.sql.schema import HEAD_REVISION

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD_REVISION", "current_revision", "known_revisions", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")


def current_revision(conn: Connection) -> str | None:
    """The revision stamped in the database, or None when it has no sweeptrack schema."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def known_revisions() -> list[str]:
    """Revision ids shipped with this version, oldest first (file names start with the id)."""
    names = sorted(p.name for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))
    return [name.split("_", 1)[0] for name in names]


def _alembic_config(conn: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade the database to ``revision``; returns (revision before, revision after).

    The check and the upgrade share one write transaction (``BEGIN IMMEDIATE`` on SQLite), so
    several processes opening a new SQLite file at once upgrade it exactly once.

    Raises:
        SchemaError: when the database is newer than this version of sweeptrack knows.
    """
    from alembic import command

    try:
        with engine.execution_options(**{WRITE: True}).begin() as conn:
            before = current_revision(conn)
            if before is not None and before not in known_revisions():
                raise SchemaError(
                    f"database schema revision {before!r} is newer than this sweeptrack knows "
                    f"(up to {HEAD_REVISION!r}); upgrade sweeptrack"
                )
            if before != HEAD_REVISION or revision != "head":
                command.upgrade(_alembic_config(conn), revision)
            after = current_revision(conn)
    except SQLAlchemyError as exc:
        raise SchemaError(f"schema upgrade failed: {exc.__class__.__name__}: {exc}") from exc
    return before, after or ""
