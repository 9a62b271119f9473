"""Fixtures shared by the fault tests: a database on each backend, and a store open on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sweeptrack.tracking.sql.store import SqlStore

from ._lease_helpers import BACKENDS, backend_url


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest) -> str:
    return backend_url(request)


@pytest.fixture
def store(db: str) -> Iterator[SqlStore]:
    opened = SqlStore(db)
    yield opened
    opened.close()
