"""System metrics: the sampler on its own (with a StaticProbe for GPUs), and in real trial processes
of the local executor, where this machine's missing NVIDIA driver must cost one line in the log."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from sweeptrack.core.events import MetricsLogged
from sweeptrack.core.model import RunStatus
from sweeptrack.executors.base import TrialRequest
from sweeptrack.executors.local import LocalExecutor
from sweeptrack.testing.executor_conformance import Collector, make_request, write_trials
from sweeptrack.tracking.sysmetrics import (
    ENV_INTERVAL,
    GpuUnavailable,
    GpuUsage,
    NvmlProbe,
    StaticProbe,
    SystemMetricsSampler,
    interval_from_env,
)

DEADLINE = 30.0
GB = 10**9

TRIALS = """
import os, sys, time
from pathlib import Path

import sweeptrack as st


def hold(params):
    st.log_metric("loss", 1.0)
    release = Path(params["folder"]) / "release"
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


if __name__ == "__main__":
    hold({"folder": sys.argv[1]})
"""


class Points:
    """What a sampler logged, by step (a thread-safe ``log`` for the sampler)."""

    def __init__(self) -> None:
        self.samples: list[tuple[int, dict[str, float]]] = []
        self.notices: list[str] = []
        self._lock = threading.Lock()

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        with self._lock:
            self.samples.append((step, dict(metrics)))

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + DEADLINE
        while len(self.samples) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"fewer than {count} samples within {DEADLINE:g} s")
            time.sleep(0.01)


@pytest.fixture
def points() -> Points:
    return Points()


def sampler(points: Points, probe: StaticProbe, interval: float = 0.02) -> SystemMetricsSampler:
    return SystemMetricsSampler(points.log, interval=interval, gpus=probe, notice=points.notices.append)


# -- the sampler ---------------------------------------------------------------------------------
def test_cpu_ram_and_each_gpu_are_logged_at_increasing_steps(points: Points) -> None:
    probe = StaticProbe(
        [GpuUsage(index=0, util=87.0, mem_used=3 * GB), GpuUsage(index=3, util=5.0, mem_used=GB)]
    )
    with sampler(points, probe):
        points.wait_for(3)
    steps = [step for step, _ in points.samples]
    assert steps == list(range(len(steps)))
    _, first = points.samples[0]
    assert set(first) == {
        "system/cpu_percent",
        "system/ram_used",
        "system/gpu0_util",
        "system/gpu0_mem_used",
        "system/gpu3_util",
        "system/gpu3_mem_used",
    }
    assert 0 <= first["system/cpu_percent"] <= 100
    assert first["system/ram_used"] > 0
    assert (first["system/gpu0_util"], first["system/gpu3_mem_used"]) == (87.0, GB)
    assert points.notices == []


def test_without_gpus_one_line_says_so_and_cpu_and_ram_go_on(points: Points) -> None:
    with sampler(points, StaticProbe(problem="the NVIDIA driver cannot be used (no libnvidia-ml)")):
        points.wait_for(4)
    assert points.notices == [
        "sweeptrack: no GPU metrics: the NVIDIA driver cannot be used (no libnvidia-ml); "
        "logging CPU and RAM only"
    ]
    assert all(set(metrics) == {"system/cpu_percent", "system/ram_used"} for _, metrics in points.samples)


class FailsOnSecondRead(StaticProbe):
    """A driver that answers once, then fails (a GPU that fell off the bus)."""

    def __init__(self) -> None:
        super().__init__([GpuUsage(index=1, util=10.0, mem_used=GB)])
        self.reads = 0
        self.closed = False

    def read(self) -> list[GpuUsage]:
        self.reads += 1
        if self.reads > 1:
            raise GpuUnavailable("GPU 1 is lost")
        return super().read()

    def close(self) -> None:
        self.closed = True


def test_a_gpu_that_fails_later_is_reported_once_and_released(points: Points) -> None:
    probe = FailsOnSecondRead()
    with sampler(points, probe):
        points.wait_for(4)
    assert "system/gpu1_util" in points.samples[0][1]
    assert all("system/gpu1_util" not in metrics for _, metrics in points.samples[1:])
    assert points.notices == ["sweeptrack: no GPU metrics: GPU 1 is lost; logging CPU and RAM only"]
    assert (probe.reads, probe.closed) == (2, True)


def test_interval_zero_starts_no_thread(points: Points) -> None:
    with sampler(points, StaticProbe(), interval=0):
        assert not [t for t in threading.enumerate() if t.name == "sweeptrack-sysmetrics"]
    assert points.samples == []


def test_stop_does_not_wait_for_the_interval(points: Points) -> None:
    started = time.monotonic()
    with sampler(points, StaticProbe(), interval=3600):
        pass
    assert time.monotonic() - started < 5
    assert points.samples == []


def test_a_negative_interval_is_refused(points: Points) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        sampler(points, StaticProbe(), interval=-1)


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, 0.0), ("0", 0.0), ("0.2", 0.2), ("x", 0.0), ("-3", 0.0)]
)
def test_the_interval_a_sweep_sets(value: str | None, seconds: float) -> None:
    assert interval_from_env({} if value is None else {ENV_INTERVAL: value}) == seconds


def test_nvml_probe_without_a_driver_says_why() -> None:
    probe = NvmlProbe(None)
    try:
        probe.read()
    except GpuUnavailable as exc:
        assert "NVIDIA driver" in str(exc) or "no GPU" in str(exc)
    else:
        pytest.skip("this machine has an NVIDIA GPU")
    finally:
        probe.close()


# -- in trials -----------------------------------------------------------------------------------
@pytest.fixture
def trial_dir(tmp_path: Path) -> Path:
    folder = write_trials(tmp_path / "trials")
    (folder / "sysmetrics_trials.py").write_text(TRIALS)
    return folder


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[LocalExecutor]:
    local = LocalExecutor(2, cpu_count=2, grace=0.5, log_dir=tmp_path / "logs", gpus=[])
    yield local
    local.shutdown()


def system_points(collector: Collector, trial_id: str, key: str) -> list[tuple[float, int]]:
    return [
        (value, step)
        for event in collector.events[trial_id]
        if isinstance(event, MetricsLogged)
        for name, value, step, _ in event.points
        if name == key
    ]


def no_gpu_here() -> bool:
    probe = NvmlProbe(None)
    try:
        probe.read()
    except GpuUnavailable:
        return True
    finally:
        probe.close()
    return False


def held_trial(trial_dir: Path, tmp_path: Path, kind: str, interval: str) -> TrialRequest:
    """A trial that logs ``loss`` once and runs until ``release`` exists, sampling at ``interval``."""
    env = {ENV_INTERVAL: interval}
    if kind == "function":
        params = {"folder": str(tmp_path)}
        return make_request(trial_dir, entrypoint="sysmetrics_trials:hold", params=params, env=env)
    argv = (sys.executable, "sysmetrics_trials.py", str(tmp_path))
    return make_request(trial_dir, argv=argv, env=env)


@pytest.mark.parametrize("kind", ["function", "command"])
def test_trials_log_system_metrics_into_their_run_and_not_with_zero(
    executor: LocalExecutor, trial_dir: Path, tmp_path: Path, kind: str
) -> None:
    collector = Collector(executor)
    sampled, quiet = (held_trial(trial_dir, tmp_path, kind, interval) for interval in ("0.2", "0"))
    executor.submit(sampled)
    executor.submit(quiet)

    def samples() -> int:
        return len(system_points(collector, sampled.trial_id, "system/cpu_percent"))

    running = (sampled.trial_id, quiet.trial_id)
    collector.wait_until(lambda: all("loss" in collector.metric_keys(r) for r in running), "both trials")
    before = samples()
    collector.wait_until(lambda: samples() >= before + 2, "two more samples while the quiet trial runs")
    (tmp_path / "release").write_text("")
    for request in (sampled, quiet):
        finished = collector.wait_finished(request.trial_id)
        assert finished.status is RunStatus.FINISHED, finished.error
    cpu = system_points(collector, sampled.trial_id, "system/cpu_percent")
    ram = system_points(collector, sampled.trial_id, "system/ram_used")
    assert [step for _, step in cpu] == list(range(len(cpu))) and len(cpu) >= 2
    assert all(0 <= value <= 100 for value, _ in cpu) and all(value > 0 for value, _ in ram)
    assert not [k for k in collector.metric_keys(quiet.trial_id) if k.startswith("system/")]
    if no_gpu_here():
        finished = collector.finished[sampled.trial_id]
        assert finished.log_path is not None
        assert Path(finished.log_path).read_text().count("sweeptrack: no GPU metrics:") == 1
        assert not [k for k in collector.metric_keys(sampled.trial_id) if k.startswith("system/gpu")]
