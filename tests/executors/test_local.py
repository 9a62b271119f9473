"""The local executor: the executor contract, plus what only a local process pool has (CPU and GPU
slots, process groups, the trial environment of a command)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from sweeptrack.core.errors import SweepError
from sweeptrack.core.model import RunStatus
from sweeptrack.executors.local import LocalExecutor
from sweeptrack.spec.model import Resources
from sweeptrack.testing.executor_conformance import Collector, ExecutorConformance, make_request, write_trials

PID_TRIALS = """
import os, subprocess, sys, time
from pathlib import Path

def spawn_and_wait(params):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    Path(params["out"]).write_text(f"{os.getpid()} {child.pid}")
    time.sleep(120)
"""

PID_COMMAND = """
import os, subprocess, sys, time
from pathlib import Path
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
Path(sys.argv[1]).write_text(f"{os.getpid()} {child.pid} {os.environ['SWEEPTRACK_TRIAL_ADDRESS']}")
time.sleep(120)
"""


@pytest.fixture
def local_factory(tmp_path: Path) -> Iterator[Callable[..., LocalExecutor]]:
    made: list[LocalExecutor] = []

    def make(parallel: int = 1, **options: object) -> LocalExecutor:
        options.setdefault("grace", 0.5)
        options.setdefault("log_dir", tmp_path / "logs")
        made.append(LocalExecutor(parallel, **options))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for executor in made:
        executor.shutdown()


@pytest.fixture
def trial_dir(tmp_path: Path) -> Path:
    return write_trials(tmp_path / "trials")


class TestLocalExecutor(ExecutorConformance):
    @pytest.fixture
    def executor_factory(self, local_factory: Callable[..., LocalExecutor]) -> Callable[..., LocalExecutor]:
        return local_factory


def wait_for(condition: Callable[[], bool], what: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"no {what} within {deadline:g} s")
        time.sleep(0.01)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_shutdown_leaves_no_process_behind(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path, tmp_path: Path
) -> None:
    (trial_dir / "pid_trials.py").write_text(PID_TRIALS)
    (trial_dir / "pid_command.py").write_text(PID_COMMAND)
    executor = local_factory(2)
    function_out, command_out = tmp_path / "function.pids", tmp_path / "command.pids"
    executor.submit(
        make_request(trial_dir, entrypoint="pid_trials:spawn_and_wait", params={"out": str(function_out)})
    )
    executor.submit(make_request(trial_dir, argv=("python3", "pid_command.py", str(command_out))))
    Collector(executor).wait_until(  # polls: the executor acts only inside poll
        lambda: function_out.exists() and command_out.exists() and command_out.read_text().count(" ") == 2,
        "pid files",
    )
    worker, worker_child = map(int, function_out.read_text().split())
    command, command_child, address = command_out.read_text().split()
    pids = [worker, worker_child, int(command), int(command_child)]
    assert all(alive(pid) for pid in pids)
    assert Path(address).exists()
    executor.shutdown()
    wait_for(lambda: not any(alive(pid) for pid in pids), "end of every trial process")
    assert not Path(address).parent.exists()


def test_capacity_follows_cpus_and_queues_beyond_it(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path
) -> None:
    executor = local_factory(3, cpu_count=2)
    assert executor.capacity == 2
    wide = LocalExecutor(3, cpu_count=2, log_dir=trial_dir, resources=Resources(cpu=2))
    assert wide.capacity == 1
    collector = Collector(executor)
    requests = [make_request(trial_dir, "metrics") for _ in range(3)]
    for request in requests:
        executor.submit(request)
    assert (executor.running, executor.capacity) == (3, 0)
    for request in requests:
        assert collector.wait_finished(request.trial_id).status is RunStatus.FINISHED
    assert executor.capacity == 2


def test_a_trial_asking_for_more_cpus_than_there_are_is_refused(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path
) -> None:
    executor = local_factory(1, cpu_count=2)
    with pytest.raises(SweepError, match="asks for 4 CPUs but the local executor has 2"):
        executor.submit(make_request(trial_dir, "metrics", resources=Resources(cpu=4)))
    assert executor.running == 0


def test_gpu_requests_without_gpus_are_refused_at_submit(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path
) -> None:
    executor = local_factory(1, gpus=[])
    with pytest.raises(SweepError, match=r"asks for 1 GPU\(s\) but no GPU was found"):
        executor.submit(make_request(trial_dir, "metrics", resources=Resources(gpu=1)))


@pytest.mark.parametrize("kind", ["function", "command"])
def test_concurrent_gpu_trials_get_distinct_devices(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path, tmp_path: Path, kind: str
) -> None:
    executor = local_factory(2, gpus=[0, 1], resources=Resources(gpu=1))
    assert executor.capacity == 2
    collector = Collector(executor)
    if kind == "function":
        requests = [
            make_request(
                trial_dir,
                "rendezvous",
                params={"folder": str(tmp_path), "me": me, "other": other},
                resources=Resources(gpu=1),
            )
            for me, other in (("a", "b"), ("b", "a"))
        ]
    else:
        requests = [make_request(trial_dir, mode="metrics", resources=Resources(gpu=1)) for _ in range(2)]
    for request in requests:
        executor.submit(request)
    assert executor.capacity == 0
    for request in requests:
        assert collector.wait_finished(request.trial_id).status is RunStatus.FINISHED
    assert sorted(collector.tags(r.trial_id)["gpus"] for r in requests) == ["0", "1"]


def test_half_gpu_trials_share_a_device(local_factory: Callable[..., LocalExecutor], trial_dir: Path) -> None:
    executor = local_factory(4, gpus=[3], cpu_count=4, resources=Resources(gpu=0.5))
    assert executor.capacity == 2
    collector = Collector(executor)
    requests = [make_request(trial_dir, mode="metrics", resources=Resources(gpu=0.5)) for _ in range(2)]
    for request in requests:
        executor.submit(request)
        assert collector.wait_finished(request.trial_id).status is RunStatus.FINISHED
        assert collector.tags(request.trial_id)["gpus"] == "3"


def test_a_trial_environment_does_not_leak_into_the_next_trial(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path
) -> None:
    collector = Collector(local_factory(1))
    first = make_request(trial_dir, "echo", env={"CONFORMANCE_VAR": "first"})
    second = make_request(trial_dir, "echo")
    collector.run(first, second)
    assert (collector.tags(first.trial_id)["env"], collector.tags(second.trial_id)["env"]) == ("first", "")


def test_each_trial_of_a_worker_logs_only_its_own_output(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path
) -> None:
    # One worker runs them in turn; a silent trial's empty log is taken over by the next trial.
    collector = Collector(local_factory(1))
    requests = [make_request(trial_dir, name) for name in ("echo", "noisy", "echo", "echo", "noisy")]
    finished = collector.run(*requests)
    logs = [
        Path(end.log_path).read_text() if end.log_path and Path(end.log_path).exists() else ""
        for end in finished
    ]
    assert [log.splitlines() for log in logs[1::3]] == [
        ["to stdout", "to stderr", "raw fd 1", "from a child process"]
    ] * 2
    assert [logs[i] for i in (0, 2, 3)] == ["", "", ""]
    assert len(list((trial_dir.parent / "logs").glob("*.log"))) < 5  # silent trials left no file each


def test_a_program_resolves_against_the_search_path(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    request = make_request(trial_dir, mode="metrics")
    moved = make_request(
        trial_dir, argv=request.argv, search_path=(str(elsewhere), str(trial_dir)), cwd=str(elsewhere)
    )
    (finished,) = Collector(local_factory(1)).run(moved)
    assert finished.status is RunStatus.FINISHED, finished.error


def test_a_worker_that_cannot_start_fails_its_trial(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(trial_dir))
    (trial_dir / "sweeptrack").mkdir()  # shadows the package: the worker's import fails
    (trial_dir / "sweeptrack" / "__init__.py").write_text("raise ImportError('shadowed sweeptrack')\n")
    (finished,) = Collector(local_factory(1)).run(make_request(trial_dir, "metrics"))
    assert finished.status is RunStatus.FAILED
    assert finished.error is not None and "worker process failed to start" in finished.error
    assert "shadowed sweeptrack" in finished.error


def test_submitting_after_shutdown_is_refused(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path
) -> None:
    executor = local_factory(1)
    executor.shutdown()
    with pytest.raises(SweepError, match="shut down"):
        executor.submit(make_request(trial_dir, "metrics"))
    assert os.path.isdir(trial_dir)


CONTROLLER = """
import sys, time
from pathlib import Path
from sweeptrack.executors.local import LocalExecutor
from sweeptrack.testing.executor_conformance import Collector, make_request

folder = Path(sys.argv[1])
executor = LocalExecutor(2, cpu_count=2, log_dir=folder / "logs")
collector = Collector(executor)
requests = [make_request(folder, "ignore_prune"), make_request(folder, mode="ignore")]
for request in requests:
    executor.submit(request)
collector.wait_until(lambda: all(collector.metric_keys(r.trial_id) for r in requests), "metrics")
print("ready", flush=True)
while True:
    collector.pump(1.0)
"""


def test_trials_stop_when_the_controller_is_killed(trial_dir: Path) -> None:
    (trial_dir / "controller.py").write_text(CONTROLLER)
    controller = subprocess.Popen(
        [sys.executable, "controller.py", str(trial_dir)], cwd=trial_dir, stdout=subprocess.PIPE, text=True
    )
    try:
        assert controller.stdout is not None
        assert controller.stdout.readline().strip() == "ready"
        trial_pids = [p.pid for p in psutil.Process(controller.pid).children(recursive=True)]
        assert len(trial_pids) == 2
    finally:
        controller.kill()
        controller.communicate(timeout=30)
    wait_for(lambda: not any(alive(pid) for pid in trial_pids), "end of the orphaned trials")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SWEEPTRACK_TRIAL_ID": "t1"}, "SWEEPTRACK_TRIAL_ID is set but the trial context is incomplete"),
        (
            {"SWEEPTRACK_TRIAL_ID": "t1", "SWEEPTRACK_TRIAL_ADDRESS": "/nonexistent/x.sock"}
            | {"SWEEPTRACK_TRIAL_AUTHKEY": "00"},
            "cannot reach the sweep controller at /nonexistent/x.sock",
        ),
    ],
)
def test_a_trial_without_its_controller_says_so(tmp_path: Path, env: dict[str, str], message: str) -> None:
    code = "import sweeptrack as st\nst.log_metric('loss', 1.0)\n"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert message in done.stderr
    assert not (tmp_path / "sweeptrack.db").exists()


def test_visible_devices_are_the_gpus_when_none_are_given(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    executor = local_factory(2, resources=Resources(gpu=1))
    assert executor.capacity == 1
    collector = Collector(executor)
    request = make_request(trial_dir, mode="metrics", resources=Resources(gpu=1))
    (finished,) = collector.run(request)
    assert finished.status is RunStatus.FINISHED, finished.error
    assert collector.tags(request.trial_id)["gpus"] == "5"


def test_a_function_object_runs_on_workers_forked_from_this_process(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path
) -> None:
    import sweeptrack as st

    seen = "set before the fork"

    def train(params: dict[str, float]) -> float:  # a closure: nothing could import it
        st.set_tag("seen", f"{seen} in {os.getpid()} of {os.getppid()}")
        time.sleep(0.2)
        return params["lr"] * 2

    collector = Collector(local_factory(2))
    requests = [
        dataclasses.replace(make_request(trial_dir, params={"lr": lr}), function=train)
        for lr in (0.1, 0.2, 0.3)
    ]
    finished = collector.run(*requests)
    assert [f.result for f in finished] == pytest.approx([0.2, 0.4, 0.6])
    tags = [collector.tags(r.trial_id)["seen"] for r in requests]
    assert all(
        tag.startswith("set before the fork in ") and tag.endswith(f" of {os.getpid()}") for tag in tags
    )
    assert len({tag.split()[-3] for tag in tags}) == 2, "two forked workers took the three trials"


def test_a_request_with_both_a_function_and_an_entrypoint_is_refused(
    local_factory: Callable[..., LocalExecutor], trial_dir: Path
) -> None:
    request = dataclasses.replace(make_request(trial_dir, "metrics"), function=print)
    with pytest.raises(
        SweepError, match=f"^trial {request.trial_id}: give exactly one of entrypoint, function and argv$"
    ):
        local_factory(1).submit(request)
