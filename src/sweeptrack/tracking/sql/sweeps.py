"""Sweep rows of the SQL store: create, change state, look up; a controller's lease on its sweep."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, or_, select

from sweeptrack.core.errors import SweepNotFoundError
from sweeptrack.core.model import Lease, RunStatus, Sweep, SweepState
from sweeptrack.tracking.sql import schema as t

__all__ = [
    "acquire_lease",
    "create_sweep",
    "get_sweep",
    "heartbeat",
    "list_sweeps",
    "release_lease",
    "set_state",
    "set_trial_cap",
    "sweep_environment",
    "sweep_pk",
    "sweeps_named",
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
    lease: Lease | None = None,
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
            **_lease_values(lease),
        )
    )


def _lease_values(lease: Lease | None) -> dict[str, Any]:
    if lease is None:
        return {}
    return {
        "lease_host": lease.host,
        "lease_pid": lease.pid,
        "lease_since": lease.since,
        "heartbeat_at": lease.heartbeat_at,
    }


def acquire_lease(
    conn: Connection, sweep_id: str, lease: Lease, stale_before: int
) -> tuple[bool, Lease | None]:
    """One conditional UPDATE (the database serialises racing ones: one wins, the others match no
    row): (True, None) when it took the sweep, else (False, the holder's lease); (False, None) when
    the holder let go between the UPDATE and the read, and trying again may take it."""
    s = t.sweeps.c
    free = or_(
        s.lease_pid.is_(None),
        s.heartbeat_at.is_(None),
        s.heartbeat_at < stale_before,
        and_(s.lease_host == lease.host, s.lease_pid == lease.pid),
    )
    done = conn.execute(t.sweeps.update().where(s.uuid == sweep_id, free).values(**_lease_values(lease)))
    if done.rowcount == 1:
        return True, None
    columns = (s.lease_host, s.lease_pid, s.lease_since, s.heartbeat_at)
    row = conn.execute(select(*columns).where(s.uuid == sweep_id)).first()
    if row is None:
        raise SweepNotFoundError(f"no sweep with id {sweep_id!r}")
    return False, _to_lease(row)


def heartbeat(conn: Connection, sweep_id: str, host: str, pid: int, now: int) -> bool:
    s = t.sweeps.c
    ours = and_(s.uuid == sweep_id, s.lease_host == host, s.lease_pid == pid)
    if conn.execute(t.sweeps.update().where(ours).values(heartbeat_at=now)).rowcount != 1:
        return False
    pk = select(s.id).where(s.uuid == sweep_id).scalar_subquery()
    r = t.runs.c
    conn.execute(
        t.runs.update().where(r.sweep_id == pk, r.status == RunStatus.RUNNING.value).values(heartbeat_at=now)
    )
    return True


def release_lease(conn: Connection, sweep_id: str, host: str, pid: int) -> None:
    s = t.sweeps.c
    ours = and_(s.uuid == sweep_id, s.lease_host == host, s.lease_pid == pid)
    conn.execute(
        t.sweeps.update()
        .where(ours)
        .values(lease_host=None, lease_pid=None, lease_since=None, heartbeat_at=None)
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
        s.lease_host,
        s.lease_pid,
        s.lease_since,
        s.heartbeat_at,
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
        lease=_to_lease(row),
    )


def _to_lease(row: Any) -> Lease | None:
    if row.lease_pid is None or row.lease_host is None:
        return None
    since = row.lease_since if row.lease_since is not None else 0
    beat = row.heartbeat_at if row.heartbeat_at is not None else since
    return Lease(host=row.lease_host, pid=row.lease_pid, since=since, heartbeat_at=beat)


def list_sweeps(conn: Connection, experiment: str | None) -> list[Sweep]:
    stmt = _select().order_by(t.sweeps.c.created_at.desc(), t.sweeps.c.id.desc())
    if experiment is not None:
        stmt = stmt.where(t.experiments.c.name == experiment)
    return [_to_sweep(row) for row in conn.execute(stmt)]


def sweeps_named(conn: Connection, name: str) -> list[Sweep]:
    """The sweeps named ``name``, newest first: the first is what :func:`get_sweep` takes."""
    s = t.sweeps.c
    rows = conn.execute(_select().where(s.name == name.strip()).order_by(s.created_at.desc(), s.id.desc()))
    return [_to_sweep(row) for row in rows]


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
