"""A real SQLite tracking database per test, filled through the run API."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

import sweeptrack as st
from sweeptrack.tracking.sql.store import SqlStore

MakeRun = Callable[..., str]


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    with SqlStore(sqlite_url) as opened:
        yield opened


@pytest.fixture
def make_run(sqlite_url: str) -> MakeRun:
    """Log one finished run; returns its id.

    ``metrics`` maps a key to its values by step; ``environment`` replaces the captured one.
    """

    def make(
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, list[float]] | None = None,
        experiment: str = "exp",
        environment: Mapping[str, Any] | None = None,
    ) -> str:
        with st.start_run(experiment=experiment, name=name, db=sqlite_url, capture_environment=False) as run:
            run.log_params(dict(params or {}))
            for key, values in (metrics or {}).items():
                for step, value in enumerate(values):
                    run.log_metric(key, value, step=step)
            if environment is not None:
                run.log_environment(environment)
        return run.id

    return make
