"""The store contract on every backend: a SQLite file, in-memory SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sweeptrack.testing.store_conformance import StoreConformance
from sweeptrack.tracking.sql.store import SqlStore


class TestSqliteFileStore(StoreConformance):
    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[SqlStore]:
        with SqlStore(sqlite_url) as store:
            yield store


class TestInMemorySqliteStore(StoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[SqlStore]:
        with SqlStore("sqlite:///:memory:") as store:
            yield store


@pytest.mark.postgres
class TestPostgresStore(StoreConformance):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[SqlStore]:
        with SqlStore(pg_url) as store:
            yield store
