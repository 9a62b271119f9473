"""A plain run's background writer: a refused value is dropped alone, a lost connection is retried.

Issue 12, point 2: a value the database refuses is permanent, so the writer does not retry it for
two minutes and lose the run; it isolates the event (bisecting a metric batch down to the point),
drops it with one warning on the ``sweeptrack`` logger (printed to stderr when the script configured
no logging) naming the key and the reason, and commits every valid point. A connection the server
closes is temporary: the write is retried, and nothing is lost or written twice.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sweeptrack.core.model import RunStatus
from sweeptrack.tracking.sql.store import SqlStore

from ._values_helpers import BACKENDS, backend_url, wait_for, write


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest) -> str:
    return backend_url(request)


# A run handed a value the run API would refuse, as a script using an unchecked client would.
BAD_BATCH = """
import sys, time
import sweeptrack as st
from sweeptrack.core.events import MetricsLogged, ParamsLogged

with st.start_run(experiment="w", name="plain", db=sys.argv[1], capture_environment=False) as run:
    for step in range(1000):
        st.log_metric("loss", 1.0 / (step + 1), step=step)
    now = int(time.time() * 1000)
    points = [("loss", float(step), step, now) for step in range(1000, 1500)]
    points.insert(250, ("loss", 1.0, 2**70, now))
    if sys.argv[2] == "point":
        run.sink.emit(MetricsLogged(run_id=run.id, points=points))
    else:
        run.sink.emit(MetricsLogged(run_id=run.id, points=points[:250] + points[251:]))
        run.sink.emit(ParamsLogged(run_id=run.id, params={"seed": 10**400}))
    for step in range(1500, 2000):
        st.log_metric("loss", 0.5, step=step)
print(run.id)
"""

REASONS = {
    ("sqlite", "point"): "Python int too large to convert to SQLite INTEGER",
    ("pg", "point"): 'value "1180591620717411303424" is out of range for type bigint',
    ("sqlite", "param"): "int too large to convert to float",
    ("pg", "param"): "int too large to convert to float",
}


@pytest.mark.parametrize("bad", ["point", "param"])
def test_one_refused_value_is_dropped_with_one_warning_and_every_valid_point_lands(
    url: str, tmp_path: Path, request: pytest.FixtureRequest, bad: str
) -> None:
    backend = request.node.callspec.params["url"]
    script = write(tmp_path, "bad_batch.py", BAD_BATCH)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(script), url, bad], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 30  # no retry of a refused value until a deadline
    run_id = proc.stdout.strip()
    what = "metric 'loss' at step 1180591620717411303424" if bad == "point" else "param 'seed'"
    reason = REASONS[(backend, bad)]
    assert proc.stderr.splitlines() == [
        f"sweeptrack: dropped {what} of run {run_id}: the database refused a value: {reason}"
    ]
    with SqlStore(url) as store:
        run = store.get_run(run_id)
        steps = [p.step for p in store.get_metric_history(run_id, "loss")]
    assert run.status is RunStatus.FINISHED and run.error is None
    assert steps == list(range(2000)) and run.metrics["loss"].count == 2000
    assert run.params == {}


STEADY = """
import sys, time
import sweeptrack as st

with st.start_run(experiment="w", name="steady", db=sys.argv[1], capture_environment=False) as run:
    print(run.id, flush=True)
    for step in range(int(sys.argv[2])):
        st.log_metric("loss", 1.0 / (step + 1), step=step)
        time.sleep(0.001)
"""


@pytest.mark.postgres
def test_a_connection_the_server_closes_is_retried_and_nothing_is_lost_or_doubled(
    pg_url: str, tmp_path: Path
) -> None:
    url = f"{pg_url}&application_name=st_fault_writer"
    script = write(tmp_path, "steady.py", STEADY)
    proc = subprocess.Popen(
        [sys.executable, str(script), url, "2500"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    admin = create_engine(pg_url)
    terminated = 0
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        with SqlStore(pg_url) as store:

            def points() -> int:
                summary = store.get_run(run_id).metrics.get("loss")
                return 0 if summary is None else summary.count

            for threshold in (200, 700, 1200):  # the server drops the run's connection three times
                wait_for(lambda t=threshold: points() >= t, timeout=60, what=f"{threshold} points")
                with admin.begin() as conn:
                    terminated += conn.execute(
                        text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE application_name = 'st_fault_writer'"
                        )
                    ).scalar_one()
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        admin.dispose()
    assert proc.returncode == 0, err
    assert terminated >= 3 and "dropped" not in err
    with SqlStore(pg_url) as store:
        run = store.get_run(run_id)
        steps = [p.step for p in store.get_metric_history(run_id, "loss")]
    assert run.status is RunStatus.FINISHED and steps == list(range(2500))


def test_the_warning_is_a_record_of_the_sweeptrack_logger(url: str, caplog: pytest.LogCaptureFixture) -> None:
    import sweeptrack as st
    from sweeptrack.core.events import MetricsLogged

    points = [("loss", 2.0, 1, 0), ("loss", 3.0, -(2**64), 0)]
    with (
        caplog.at_level("WARNING", logger="sweeptrack"),
        st.start_run(experiment="w", db=url, capture_environment=False) as run,
    ):
        st.log_metric("loss", 1.0, step=0)
        run.sink.emit(MetricsLogged(run_id=run.id, points=points))
    (record,) = caplog.records
    assert (record.name, record.levelname) == ("sweeptrack", "WARNING")
    assert record.getMessage().startswith(
        f"sweeptrack: dropped metric 'loss' at step -18446744073709551616 of run {run.id}: "
        "the database refused a value: "
    )
    with SqlStore(url) as store:
        assert [p.step for p in store.get_metric_history(run.id, "loss")] == [0, 1]


@pytest.mark.postgres
def test_a_locked_table_is_retried_and_a_flush_that_gives_up_says_why(pg_url: str) -> None:
    """A write that times out on a lock is temporary: retried, and a flush that gives up names the
    cause; once the lock is gone everything lands, once."""
    import uuid

    from sweeptrack.core.errors import StoreError
    from sweeptrack.core.events import MetricsLogged, RunStarted
    from sweeptrack.tracking.writer import BatchedWriter

    run_id = uuid.uuid4().hex
    store = SqlStore(f"{pg_url}%20-clock_timeout%3D200")  # a lock waited for fails after 0.2 s
    store.apply([RunStarted(run_id=run_id, experiment="w", name="locked", start_time=0)])
    writer = BatchedWriter(store, flush_timeout=2)
    admin = create_engine(pg_url)
    try:
        with admin.connect() as conn:
            locking = conn.begin()
            conn.execute(text("LOCK TABLE metric_points IN ACCESS EXCLUSIVE MODE"))
            writer.submit(MetricsLogged(run_id=run_id, points=[("loss", 1.0, 0, 0), ("loss", 0.5, 1, 0)]))
            with pytest.raises(
                StoreError,
                match=r"^could not write to the tracking database within 2 s: cannot use database "
                r".*: canceling statement due to lock timeout$",
            ):
                writer.flush()
            locking.rollback()
        writer.close()
        assert [p.step for p in store.get_metric_history(run_id, "loss")] == [0, 1]
    finally:
        store.close()
        admin.dispose()
