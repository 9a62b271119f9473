"""Sweep rows of the SQL store: create, change state, look up."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select

from sweeptrack.core.errors import SweepNotFoundError
from sweeptrack.core.model import Sweep, SweepState
from sweeptrack.tracking.sql import schema as t

__all__ = [
    "create_sweep",
    "get_sweep",
    "list_sweeps",
    "set_state",
    "set_trial_cap",
    "sweep_environment",
    "sweep_pk",
]


def create_sweep(
    conn: Connection,
    *,
    sweep_id: str,
    experiment_id: int,
    name: str,
    spec: str,
    environment: Mapping[str, Any] | None,
    source: str | None,
    now: int,
) -> None:
    conn.execute(
        insert(t.sweeps).values(
            uuid=sweep_id,
            experiment_id=experiment_id,
            name=name,
            state=SweepState.RUNNING.value,
            spec=spec,
            created_at=now,
            updated_at=now,
            source=source,
            environment=None if environment is None else json.dumps(environment, sort_keys=True, default=str),
        )
    )


def set_state(conn: Connection, sweep_id: str, state: SweepState, now: int) -> None:
    done = conn.execute(
        t.sweeps.update().where(t.sweeps.c.uuid == sweep_id).values(state=state.value, updated_at=now)
    )
    if done.rowcount == 0:
        raise SweepNotFoundError(f"no sweep with id {sweep_id!r}")


def set_trial_cap(conn: Connection, sweep_id: str, cap: int | None, now: int) -> None:
    done = conn.execute(
        t.sweeps.update().where(t.sweeps.c.uuid == sweep_id).values(trial_cap=cap, updated_at=now)
    )
    if done.rowcount == 0:
        raise SweepNotFoundError(f"no sweep with id {sweep_id!r}")


def sweep_pk(conn: Connection, sweep_id: str) -> int:
    pk = conn.execute(select(t.sweeps.c.id).where(t.sweeps.c.uuid == sweep_id)).scalar()
    if pk is None:
        raise SweepNotFoundError(f"no sweep with id {sweep_id!r}")
    return int(pk)


def _select() -> Any:
    s = t.sweeps.c
    return select(
        s.uuid,
        s.name,
        s.state,
        s.spec,
        s.source,
        s.created_at,
        s.updated_at,
        s.trial_cap,
        t.experiments.c.name.label("experiment"),
    ).join_from(t.sweeps, t.experiments, t.experiments.c.id == s.experiment_id)


def _to_sweep(row: Row[Any]) -> Sweep:
    return Sweep(
        id=row.uuid,
        name=row.name,
        experiment=row.experiment,
        state=SweepState(row.state),
        spec=row.spec or "",
        created_at=row.created_at,
        updated_at=row.updated_at or row.created_at,
        source=row.source,
        trial_cap=row.trial_cap,
    )


def list_sweeps(conn: Connection, experiment: str | None) -> list[Sweep]:
    stmt = _select().order_by(t.sweeps.c.created_at.desc(), t.sweeps.c.id.desc())
    if experiment is not None:
        stmt = stmt.where(t.experiments.c.name == experiment)
    return [_to_sweep(row) for row in conn.execute(stmt)]


def get_sweep(conn: Connection, ref: str) -> Sweep:
    """By exact id, else the newest sweep with that name, else a unique id prefix."""
    ref = ref.strip()
    s = t.sweeps.c
    exact = conn.execute(_select().where(s.uuid == ref.lower())).first()
    if exact is not None:
        return _to_sweep(exact)
    named = conn.execute(_select().where(s.name == ref).order_by(s.created_at.desc(), s.id.desc())).first()
    if named is not None:
        return _to_sweep(named)
    rows: Sequence[Row[Any]] = ()
    if ref and all(ch in "0123456789abcdef" for ch in ref.lower()):
        rows = conn.execute(
            _select().where(or_(s.uuid.startswith(ref.lower(), autoescape=True))).limit(3)
        ).all()
    if len(rows) == 1:
        return _to_sweep(rows[0])
    if not rows:
        raise SweepNotFoundError(f"no sweep with id, id prefix or name {ref!r}; see `sweeptrack sweep list`")
    shown = ", ".join(f"{row.uuid[:12]} ({row.name})" for row in rows)
    raise SweepNotFoundError(
        f"sweep reference {ref!r} is ambiguous: it matches {shown}; give more characters"
    )


def sweep_environment(conn: Connection, sweep_pk: int) -> dict[str, Any] | None:
    data = conn.execute(select(t.sweeps.c.environment).where(t.sweeps.c.id == sweep_pk)).scalar()
    return None if data is None else dict(json.loads(data))
