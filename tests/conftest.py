"""Fixtures shared by the whole suite: real SQLite files and a PostgreSQL schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("sweeptrack.testing")

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    return f"sqlite:///{tmp_path}/sweeptrack.db"


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """A URL whose search path is a new, empty PostgreSQL schema, dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"st_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def pg_url(empty_pg_url: str) -> str:
    """A fresh PostgreSQL schema at the current revision."""
    from sweeptrack.tracking.sql.store import SqlStore

    SqlStore(empty_pg_url).upgrade_schema()
    return empty_pg_url


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[object]:
    """One real local Ray cluster (head with dashboard on 127.0.0.1) shared by the whole session."""
    from raycluster import RAY_ENV, RayCluster

    for key, value in RAY_ENV.items():  # drivers in this process (ray.init) must match the nodes
        os.environ.setdefault(key, value)
    cluster = RayCluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
