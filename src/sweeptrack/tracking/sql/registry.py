"""SqlModelRegistry: the model registry in the tracking database, beside the runs it points at."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, insert, select

from sweeptrack.core.errors import ModelNotFoundError, RegistryError, RunNotFoundError
from sweeptrack.core.registry import AliasMove, ModelVersion, RegisteredModel, check_alias, check_model_name
from sweeptrack.tracking.registry import ModelRegistry
from sweeptrack.tracking.sql import schema as t
from sweeptrack.tracking.sql.store import SqlStore

__all__ = ["SqlModelRegistry"]


class SqlModelRegistry(ModelRegistry):
    """The registry over a :class:`SqlStore`'s database (SQLite or PostgreSQL); it shares the
    store's engine, schema check and error translation, so it costs nothing to create."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # -- writes -------------------------------------------------------------------------------
    def create_version(
        self,
        *,
        model: str,
        run_id: str,
        artifact_path: str,
        sha256: str,
        size: int,
        created_at: int,
        description: str | None = None,
        created_by: str | None = None,
    ) -> ModelVersion:
        check_model_name(model)
        with self.store._write() as conn:
            run_pk = conn.execute(select(t.runs.c.id).where(t.runs.c.uuid == run_id)).scalar()
            if run_pk is None:
                raise RunNotFoundError(f"no run with id {run_id!r}")
            model_pk = _model_pk(conn, model, create_at=created_at)
            same = conn.execute(
                select(t.model_versions.c.version).where(
                    t.model_versions.c.model_id == model_pk, t.model_versions.c.sha256 == sha256
                )
            ).scalar()
            if same is not None:
                raise RegistryError(
                    f"this artifact (sha256 {sha256[:12]}) is already version {same} of model {model}; "
                    "register a different artifact, or move an alias to that version"
                )
            number = 1 + (
                conn.execute(
                    select(func.max(t.model_versions.c.version)).where(
                        t.model_versions.c.model_id == model_pk
                    )
                ).scalar()
                or 0
            )
            conn.execute(
                insert(t.model_versions).values(
                    model_id=model_pk,
                    version=number,
                    run_id=run_pk,
                    artifact_path=artifact_path,
                    sha256=sha256,
                    size=size,
                    description=description,
                    created_at=created_at,
                    created_by=created_by,
                )
            )
        return ModelVersion(
            model=model,
            version=number,
            run_id=run_id,
            artifact_path=artifact_path,
            sha256=sha256,
            size=size,
            created_at=created_at,
            description=description,
            created_by=created_by,
        )

    def move_alias(self, model: str, alias: str, version: int | None, *, by: str, at: int) -> AliasMove:
        check_alias(alias)
        with self.store._write() as conn:
            model_pk = _existing_model_pk(conn, model)
            aliases = t.model_aliases
            where = (aliases.c.model_id == model_pk, aliases.c.alias == alias)
            previous = conn.execute(
                select(t.model_versions.c.version)
                .join(aliases, aliases.c.version_id == t.model_versions.c.id)
                .where(*where)
            ).scalar()
            if version is None and previous is None:
                raise ModelNotFoundError(f"model {model} has no alias {alias!r} to remove")
            conn.execute(aliases.delete().where(*where))
            if version is not None:
                version_pk = _version_pk(conn, model, model_pk, version)
                conn.execute(insert(aliases).values(model_id=model_pk, alias=alias, version_id=version_pk))
            conn.execute(
                insert(t.model_alias_events).values(
                    model_id=model_pk,
                    alias=alias,
                    version=version,
                    previous_version=previous,
                    moved_by=by,
                    moved_at=at,
                )
            )
        return AliasMove(
            model=model, alias=alias, version=version, previous_version=previous, moved_by=by, moved_at=at
        )

    # -- reads --------------------------------------------------------------------------------
    def list_models(self) -> list[RegisteredModel]:
        versions = t.model_versions
        with self.store._read() as conn:
            counts = {
                row.model_id: (row.latest, row.n)
                for row in conn.execute(
                    select(
                        versions.c.model_id,
                        func.max(versions.c.version).label("latest"),
                        func.count().label("n"),
                    ).group_by(versions.c.model_id)
                )
            }
            aliases = _aliases_by_model(conn)
            rows = conn.execute(select(t.registered_models).order_by(t.registered_models.c.name)).all()
        return [
            RegisteredModel(
                name=row.name,
                created_at=row.created_at,
                latest_version=counts.get(row.id, (0, 0))[0],
                versions=counts.get(row.id, (0, 0))[1],
                aliases=aliases.get(row.id, {}),
                description=row.description,
            )
            for row in rows
        ]

    def list_versions(self, model: str) -> list[ModelVersion]:
        versions = t.model_versions
        with self.store._read() as conn:
            model_pk = _existing_model_pk(conn, model)
            by_version: dict[int, list[str]] = defaultdict(list)
            for alias, number in _aliases_by_model(conn, model_pk).get(model_pk, {}).items():
                by_version[number].append(alias)
            rows = conn.execute(
                select(versions, t.runs.c.uuid)
                .join(t.runs, t.runs.c.id == versions.c.run_id)
                .where(versions.c.model_id == model_pk)
                .order_by(versions.c.version)
            ).all()
        return [_version(model, row, tuple(sorted(by_version.get(row.version, ())))) for row in rows]

    def alias_history(self, model: str) -> list[AliasMove]:
        events = t.model_alias_events
        with self.store._read() as conn:
            model_pk = _existing_model_pk(conn, model)
            rows = conn.execute(
                select(events).where(events.c.model_id == model_pk).order_by(events.c.moved_at, events.c.id)
            ).all()
        return [
            AliasMove(
                model=model,
                alias=row.alias,
                version=row.version,
                previous_version=row.previous_version,
                moved_by=row.moved_by,
                moved_at=row.moved_at,
            )
            for row in rows
        ]

    def close(self) -> None:
        self.store.close()


def _version(model: str, row: Any, aliases: tuple[str, ...]) -> ModelVersion:
    return ModelVersion(
        model=model,
        version=row.version,
        run_id=row.uuid,
        artifact_path=row.artifact_path,
        sha256=row.sha256,
        size=row.size,
        created_at=row.created_at,
        description=row.description,
        created_by=row.created_by,
        aliases=aliases,
    )


def _model_pk(conn: Connection, name: str, *, create_at: int) -> int:
    pk = conn.execute(select(t.registered_models.c.id).where(t.registered_models.c.name == name)).scalar()
    if pk is None:
        result = conn.execute(insert(t.registered_models).values(name=name, created_at=create_at))
        pk = result.inserted_primary_key[0] if result.inserted_primary_key else None
    assert pk is not None
    return int(pk)


def _existing_model_pk(conn: Connection, name: str) -> int:
    check_model_name(name)
    pk = conn.execute(select(t.registered_models.c.id).where(t.registered_models.c.name == name)).scalar()
    if pk is None:
        known = conn.execute(
            select(t.registered_models.c.name).order_by(t.registered_models.c.name)
        ).scalars()
        names = ", ".join(known)
        raise ModelNotFoundError(
            f"no model named {name!r}; " + (f"registered: {names}" if names else "none is registered yet")
        )
    return int(pk)


def _version_pk(conn: Connection, model: str, model_pk: int, version: int) -> int:
    versions = t.model_versions
    rows = conn.execute(
        select(versions.c.id, versions.c.version)
        .where(versions.c.model_id == model_pk)
        .order_by(versions.c.version)
    ).all()
    for row in rows:
        if row.version == version:
            return int(row.id)
    numbers = ", ".join(str(row.version) for row in rows)
    raise ModelNotFoundError(f"model {model} has no version {version}; its versions: {numbers}")


def _aliases_by_model(conn: Connection, model_pk: int | None = None) -> dict[int, dict[str, int]]:
    aliases = t.model_aliases
    query = select(aliases.c.model_id, aliases.c.alias, t.model_versions.c.version).join(
        t.model_versions, t.model_versions.c.id == aliases.c.version_id
    )
    if model_pk is not None:
        query = query.where(aliases.c.model_id == model_pk)
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for row in conn.execute(query.order_by(aliases.c.alias)):
        found[row.model_id][row.alias] = row.version
    return found
