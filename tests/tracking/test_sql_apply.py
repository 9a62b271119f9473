"""SqlStore.apply writes a batch of events in one transaction: all of it, or none of it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sweeptrack.core.errors import RunNotFoundError
from sweeptrack.core.events import MetricsLogged, RunEnded, RunStarted, TagsSet
from sweeptrack.core.model import RunStatus
from sweeptrack.tracking.sql.store import SqlStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    with SqlStore(url) as store:
        yield store


def started(run_id: str, experiment: str = "exp") -> RunStarted:
    return RunStarted(run_id=run_id, experiment=experiment, name=run_id[:6], start_time=1_000)


def test_a_batch_lands_whole(store: SqlStore) -> None:
    run_id = uuid.uuid4().hex
    store.apply(
        [
            started(run_id),
            MetricsLogged(run_id=run_id, points=[("loss", 0.5, 0, 1_000), ("loss", 0.25, 1, 1_001)]),
            TagsSet(run_id=run_id, tags={"kept": "yes"}),
            RunEnded(run_id=run_id, status=RunStatus.FINISHED, end_time=2_000),
        ]
    )
    run = store.get_run(run_id)
    assert (run.status, run.tags["kept"], run.metrics["loss"].last) == (RunStatus.FINISHED, "yes", 0.25)


def test_a_failing_event_leaves_nothing_of_its_batch(store: SqlStore) -> None:
    kept, lost = uuid.uuid4().hex, uuid.uuid4().hex
    store.apply([started(kept)])
    with pytest.raises(RunNotFoundError):
        store.apply(
            [
                started(lost, experiment="new-exp"),
                MetricsLogged(run_id=lost, points=[("fresh_key", 1.0, 0, 1_000)]),
                MetricsLogged(run_id=kept, points=[("loss", 1.0, 0, 1_000)]),
                TagsSet(run_id="no-such-run", tags={"x": "y"}),
            ]
        )
    with pytest.raises(RunNotFoundError):
        store.get_run(lost)
    assert store.get_run(kept).metrics == {}
    # Ids the rolled-back batch had cached (its run, experiment and metric key) are not reused.
    store.apply(
        [started(lost, experiment="new-exp"), MetricsLogged(run_id=lost, points=[("fresh_key", 2.0, 0, 1)])]
    )
    assert store.get_run(lost).metrics["fresh_key"].last == 2.0
    assert [e.name for e in store.list_experiments()] == ["exp", "new-exp"]
