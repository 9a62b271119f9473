"""The executor contract as tests: subclass :class:`ExecutorConformance`, provide ``executor_factory``.

``executor_factory(parallel=1)`` returns a new executor; the fixture shuts down what it made. The
trials are real: a module of trial functions and a command script are written to the test's
``tmp_path`` (the requests' ``cwd`` and ``search_path``), and the command runs this interpreter.

Example:
    class TestMyExecutor(ExecutorConformance):
        @pytest.fixture
        def executor_factory(self, tmp_path):
            made = []
            def make(parallel=1):
                made.append(MyExecutor(parallel, log_dir=tmp_path / "logs"))
                return made[-1]
            yield make
            for executor in made:
                executor.shutdown()
"""

from __future__ import annotations

import itertools
import json
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from sweeptrack.core.events import ArtifactLogged, Event, MetricsLogged, TagsSet
from sweeptrack.core.model import RunStatus
from sweeptrack.executors.base import (
    Executor,
    TrialEvents,
    TrialFinished,
    TrialMessage,
    TrialRequest,
    TrialStarted,
)

__all__ = ["MODULE", "Collector", "ExecutorConformance", "ExecutorFactory", "make_request", "write_trials"]

ExecutorFactory = Callable[..., Executor]
MODULE = "sweeptrack_conformance_trials"
DEADLINE = 60.0  # seconds any single wait in these tests may take before it fails

TRIALS = """
import json, os, signal, subprocess, sys, time
from pathlib import Path

import sweeptrack as st


def metrics(params):
    for step in range(3):
        st.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    return 0.9


def final_metrics(params):
    return {"acc": 0.75, "loss": 0.25}


def wrong_result(params):
    return "not a number"


def echo(params):
    run = st.active_run()
    st.set_tags({
        "params": json.dumps(run.params, sort_keys=True),
        "call": json.dumps(params, sort_keys=True),
        "env": os.environ.get("CONFORMANCE_VAR", ""),
        "cwd": os.getcwd(),
    })


def no_arguments():
    st.log_metric("called", 1.0)


def fail(params):
    raise ValueError(f"boom {params['code']}")


def crash(params):
    st.log_metric("before", 1.0)
    st.active_run().flush()
    how = params["how"]
    if how == "exit3":
        sys.exit(3)
    if how == "exit0":
        sys.exit(0)
    if how == "os_exit":
        os._exit(1)
    if how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "memory":
        raise MemoryError("out of memory")
    if how == "segfault":
        import ctypes

        ctypes.string_at(0)


def block_then_log(params):
    with st.start_run() as run:
        st.log_metric("inside", 1.0)
    st.log_metric("after", 2.0)
    run.log_artifact_bytes("notes/summary.txt", b"best lr")


def wait_for_prune(params):
    deadline = time.monotonic() + 60
    step = 0
    while time.monotonic() < deadline:
        st.log_metric("loss", 1.0, step=step)
        step += 1
        if st.should_prune():
            st.log_metric("saw_prune", 1.0)
            raise st.TrialPruned()
        time.sleep(0.01)
    return 1.0


def ignore_prune(params):
    deadline = time.monotonic() + 60
    step = 0
    while time.monotonic() < deadline:
        st.log_metric("loss", 1.0, step=step)
        st.active_run().flush()
        step += 1
        time.sleep(0.01)


def sleep(params):
    time.sleep(params.get("seconds", 60))


def rendezvous(params):
    folder = Path(params["folder"])
    (folder / params["me"]).touch()
    deadline = time.monotonic() + 30
    while not (folder / params["other"]).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{params['other']} never started")
        time.sleep(0.01)
    st.set_tags({"gpus": os.environ.get("CUDA_VISIBLE_DEVICES", "")})
    return 1.0


def noisy(params):
    print("to stdout")
    print("to stderr", file=sys.stderr)
    sys.stdout.flush()
    os.write(1, b"raw fd 1\\n")
    subprocess.run([sys.executable, "-c", "print('from a child process')"], check=True)
    return 1.0
"""

COMMAND = """
import argparse, os, signal, sys, time

import sweeptrack as st

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--mode", default="metrics")
args = parser.parse_args()
deadline = time.monotonic() + 60

if args.mode == "metrics":
    with st.start_run():
        for step in range(3):
            st.log_metrics({"loss": args.lr * step}, step=step)
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    st.set_tags({"lr": str(st.active_run().params.get("lr")), "gpus": gpus})
elif args.mode == "fail":
    print("bad things happened", file=sys.stderr)
    sys.exit(2)
elif args.mode == "noisy":
    print("command stdout")
    print("command stderr", file=sys.stderr)
elif args.mode in ("prune", "ignore", "ignore_term"):
    if args.mode == "ignore_term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    step = 0
    while time.monotonic() < deadline:
        st.log_metric("loss", 1.0, step=step)
        st.active_run().flush()
        step += 1
        if args.mode == "prune" and st.should_prune():
            st.log_metric("saw_prune", 1.0)
            raise st.TrialPruned()
        time.sleep(0.01)
elif args.mode == "sleep":
    time.sleep(60)
"""

_numbers = itertools.count()


def write_trials(folder: Path) -> Path:
    """Write the trial module and the command script into ``folder`` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{MODULE}.py").write_text(TRIALS)
    (folder / "conformance_command.py").write_text(COMMAND)
    return folder


def make_request(
    folder: Path,
    function: str | None = None,
    *,
    mode: str | None = None,
    argv: tuple[str, ...] | None = None,
    params: Mapping[str, Any] | None = None,
    **fields: Any,
) -> TrialRequest:
    """A request for a function of the trial module, a ``mode`` of the command script, or ``argv``."""
    params = dict(params or {})
    if mode is not None:
        argv = (sys.executable, "conformance_command.py", "--mode", mode, "--lr", str(params.get("lr", 0.1)))
    number = next(_numbers)
    entrypoint = fields.pop("entrypoint", f"{MODULE}:{function}" if function else None)
    fields.setdefault("cwd", str(folder))
    fields.setdefault("search_path", (str(folder),))
    return TrialRequest(
        trial_id=uuid.uuid4().hex,
        number=number,
        experiment="conformance",
        name=f"trial-{number}",
        params=params,
        call_params=fields.pop("call_params", params),
        entrypoint=entrypoint,
        argv=argv,
        **fields,
    )


class Collector:
    """Polls an executor and checks the message order: events, then one TrialFinished, then nothing."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.events: dict[str, list[Event]] = defaultdict(list)
        self.finished: dict[str, TrialFinished] = {}
        self.started: dict[str, TrialStarted] = {}
        self.order: list[TrialMessage] = []  # every message, as it arrived

    def pump(self, timeout: float = 0.1) -> None:
        for message in self.executor.poll(timeout):
            assert message.trial_id not in self.finished, f"{message} arrived after the trial finished"
            self.order.append(message)
            if isinstance(message, TrialStarted):
                assert message.trial_id not in self.events, f"{message} arrived after the trial's events"
                assert message.trial_id not in self.started, f"{message} arrived twice"
                self.started[message.trial_id] = message
            elif isinstance(message, TrialEvents):
                self.events[message.trial_id].extend(message.events)
            else:
                self.finished[message.trial_id] = message

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {DEADLINE:g} s")
            self.pump()

    def run(self, *requests: TrialRequest) -> list[TrialFinished]:
        """Submit the requests and wait until each finished."""
        for request in requests:
            self.executor.submit(request)
        return [self.wait_finished(request.trial_id) for request in requests]

    def wait_finished(self, trial_id: str) -> TrialFinished:
        self.wait_until(lambda: trial_id in self.finished, f"TrialFinished for {trial_id}")
        return self.finished[trial_id]

    def metric_keys(self, trial_id: str) -> list[str]:
        return [p[0] for e in self.events[trial_id] if isinstance(e, MetricsLogged) for p in e.points]

    def tags(self, trial_id: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for event in self.events[trial_id]:
            if isinstance(event, TagsSet):
                tags.update(event.tags)
        return tags


class ExecutorConformance:
    """Every test takes ``executor_factory`` (see the module docstring) and ``trial_dir``."""

    @pytest.fixture
    def trial_dir(self, tmp_path: Path) -> Path:
        return write_trials(tmp_path / "trials")

    # -- function trials -----------------------------------------------------------------------
    def test_function_trial_streams_metrics_then_finishes(
        self, executor_factory: ExecutorFactory, trial_dir: Path
    ) -> None:
        collector = Collector(executor_factory())
        request = make_request(trial_dir, "metrics")
        (finished,) = collector.run(request)
        assert (finished.status, finished.result, finished.error) == (RunStatus.FINISHED, 0.9, None)
        points = [
            p for e in collector.events[request.trial_id] if isinstance(e, MetricsLogged) for p in e.points
        ]
        assert [(key, value, step) for key, value, step, _ in points] == [
            ("loss", 1.0, 0),
            ("loss", 0.5, 1),
            ("loss", 1 / 3, 2),
        ]
        assert all(e.run_id == request.trial_id for e in collector.events[request.trial_id])

    def test_dict_result_and_zero_argument_functions(
        self, executor_factory: ExecutorFactory, trial_dir: Path
    ) -> None:
        collector = Collector(executor_factory())
        with_dict, no_args = make_request(trial_dir, "final_metrics"), make_request(trial_dir, "no_arguments")
        first, second = collector.run(with_dict, no_args)
        assert (first.status, first.result) == (RunStatus.FINISHED, {"acc": 0.75, "loss": 0.25})
        assert second.status is RunStatus.FINISHED and collector.metric_keys(no_args.trial_id) == ["called"]

    def test_a_result_that_is_not_a_number_fails_clearly(
        self, executor_factory: ExecutorFactory, trial_dir: Path
    ) -> None:
        (finished,) = Collector(executor_factory()).run(make_request(trial_dir, "wrong_result"))
        assert finished.status is RunStatus.FAILED
        assert finished.error is not None and "return a number" in finished.error

    def test_params_env_and_cwd_reach_the_trial(
        self, executor_factory: ExecutorFactory, trial_dir: Path
    ) -> None:
        collector = Collector(executor_factory())
        params = {"lr": 0.01, "model.layers": 3}
        call_params = {"lr": 0.01, "model": {"layers": 3}}
        request = make_request(
            trial_dir, "echo", params=params, call_params=call_params, env={"CONFORMANCE_VAR": "yes"}
        )
        (finished,) = collector.run(request)
        assert finished.status is RunStatus.FINISHED, finished.error
        tags = collector.tags(request.trial_id)
        assert json.loads(tags["params"]) == params
        assert json.loads(tags["call"]) == call_params
        assert tags["env"] == "yes"
        assert Path(tags["cwd"]).resolve() == trial_dir.resolve()

    def test_exception_fails_with_the_traceback_tail(
        self, executor_factory: ExecutorFactory, trial_dir: Path
    ) -> None:
        (finished,) = Collector(executor_factory()).run(make_request(trial_dir, "fail", params={"code": 42}))
        assert finished.status is RunStatus.FAILED
        assert finished.error is not None
        assert finished.error.splitlines()[-1] == "ValueError: boom 42"
        assert "Traceback" in finished.error and "in fail" in finished.error
        assert len(finished.error.splitlines()) <= 20

    def test_import_errors_fail_the_trial(self, executor_factory: ExecutorFactory, trial_dir: Path) -> None:
        collector = Collector(executor_factory())
        (finished,) = collector.run(make_request(trial_dir, entrypoint="nope_xyz:f"))
        assert finished.status is RunStatus.FAILED
        assert finished.error is not None and "No module named 'nope_xyz'" in finished.error

    @pytest.mark.parametrize(
        ("how", "status", "error"),
        [
            ("exit3", RunStatus.FAILED, "SystemExit: 3"),
            ("exit0", RunStatus.FINISHED, None),
            ("os_exit", RunStatus.FAILED, "exit code 1"),
            ("sigkill", RunStatus.FAILED, "SIGKILL"),
            ("memory", RunStatus.FAILED, "MemoryError: out of memory"),
            ("segfault", RunStatus.FAILED, "SIGSEGV"),
        ],
    )
    def test_crashes_are_outcomes_and_the_next_trial_runs(
        self,
        executor_factory: ExecutorFactory,
        trial_dir: Path,
        how: str,
        status: RunStatus,
        error: str | None,
    ) -> None:
        collector = Collector(executor_factory())
        crash = make_request(trial_dir, "crash", params={"how": how})
        (finished,) = collector.run(crash)
        assert finished.status is status, finished.error
        if error is None:
            assert finished.error is None
        else:
            assert finished.error is not None and error in finished.error
        assert collector.metric_keys(crash.trial_id) == ["before"]
        (after,) = collector.run(make_request(trial_dir, "metrics"))
        assert (after.status, after.result) == (RunStatus.FINISHED, 0.9)

    def test_leaving_a_run_block_inside_a_trial_keeps_the_run(
        self, executor_factory: ExecutorFactory, trial_dir: Path
    ) -> None:
        collector = Collector(executor_factory())
        request = make_request(trial_dir, "block_then_log", artifact_root=str(trial_dir / "artifacts"))
        (finished,) = collector.run(request)
        assert finished.status is RunStatus.FINISHED, finished.error
        assert collector.metric_keys(request.trial_id) == ["inside", "after"]
        (artifact,) = [
            e.artifact for e in collector.events[request.trial_id] if isinstance(e, ArtifactLogged)
        ]
        assert artifact.path == "notes/summary.txt"
        assert (trial_dir / "artifacts" / "sha256" / artifact.sha256[:2] / artifact.sha256).read_bytes() == (
            b"best lr"
        )

    def test_output_is_captured_in_the_log(self, executor_factory: ExecutorFactory, trial_dir: Path) -> None:
        collector = Collector(executor_factory())
        function, command = make_request(trial_dir, "noisy"), make_request(trial_dir, mode="noisy")
        for finished, lines in zip(
            collector.run(function, command),
            [
                ("to stdout", "to stderr", "raw fd 1", "from a child process"),
                ("command stdout", "command stderr"),
            ],
            strict=True,
        ):
            assert finished.status is RunStatus.FINISHED, finished.error
            assert finished.log_path is not None
            log = Path(finished.log_path).read_text()
            assert all(line in log for line in lines), log
        assert Path(collector.finished[function.trial_id].log_path or "") != Path(
            collector.finished[command.trial_id].log_path or ""
        )

    # -- command trials ------------------------------------------------------------------------
    def test_command_trial_streams_metrics(self, executor_factory: ExecutorFactory, trial_dir: Path) -> None:
        collector = Collector(executor_factory())
        request = make_request(trial_dir, mode="metrics", params={"lr": 0.5})
        (finished,) = collector.run(request)
        assert finished.status is RunStatus.FINISHED, finished.error
        points = [
            p for e in collector.events[request.trial_id] if isinstance(e, MetricsLogged) for p in e.points
        ]
        assert [(key, value, step) for key, value, step, _ in points] == [
            ("loss", 0.0, 0),
            ("loss", 0.5, 1),
            ("loss", 1.0, 2),
        ]
        assert collector.tags(request.trial_id)["lr"] == "0.5"
        assert not (trial_dir / "sweeptrack.db").exists(), "a trial opened a database of its own"

    def test_command_failures_carry_the_output_tail(
        self, executor_factory: ExecutorFactory, trial_dir: Path
    ) -> None:
        collector = Collector(executor_factory())
        failing = make_request(trial_dir, mode="fail")
        missing = make_request(trial_dir, argv=("no-such-program-sweeptrack",))
        exit2, not_found = collector.run(failing, missing)
        assert exit2.status is RunStatus.FAILED
        assert exit2.error is not None and "exit code 2" in exit2.error
        assert "bad things happened" in exit2.error
        assert not_found.status is RunStatus.FAILED
        assert not_found.error is not None and "no-such-program-sweeptrack" in not_found.error

    # -- stopping ------------------------------------------------------------------------------
    @pytest.mark.parametrize("kind", ["function", "command"])
    def test_prune_turns_should_prune_true(
        self, executor_factory: ExecutorFactory, trial_dir: Path, kind: str
    ) -> None:
        collector = Collector(executor_factory())
        if kind == "function":
            request = make_request(trial_dir, "wait_for_prune")
        else:
            request = make_request(trial_dir, mode="prune")
        collector.executor.submit(request)
        collector.wait_until(lambda: bool(collector.metric_keys(request.trial_id)), "first metric")
        collector.executor.prune(request.trial_id, grace=30.0)
        finished = collector.wait_finished(request.trial_id)
        assert finished.status is RunStatus.PRUNED
        assert collector.metric_keys(request.trial_id)[-1] == "saw_prune"

    @pytest.mark.parametrize(
        ("kind", "mode"), [("function", None), ("command", "ignore"), ("command", "ignore_term")]
    )
    def test_a_trial_that_ignores_prune_is_stopped_after_the_grace(
        self, executor_factory: ExecutorFactory, trial_dir: Path, kind: str, mode: str | None
    ) -> None:
        collector = Collector(executor_factory())
        if kind == "function":
            request = make_request(trial_dir, "ignore_prune")
        else:
            request = make_request(trial_dir, mode=mode)
        collector.executor.submit(request)
        collector.wait_until(lambda: bool(collector.metric_keys(request.trial_id)), "first metric")
        collector.executor.prune(request.trial_id, grace=0.5)
        finished = collector.wait_finished(request.trial_id)
        assert finished.status is RunStatus.PRUNED
        (after,) = collector.run(make_request(trial_dir, "metrics"))
        assert after.status is RunStatus.FINISHED

    @pytest.mark.parametrize("kind", ["function", "command"])
    def test_timeout_fails_the_trial(
        self, executor_factory: ExecutorFactory, trial_dir: Path, kind: str
    ) -> None:
        collector = Collector(executor_factory())
        if kind == "function":
            request = make_request(trial_dir, "sleep", timeout=0.5)
        else:
            request = make_request(trial_dir, mode="sleep", timeout=0.5)
        (finished,) = collector.run(request)
        assert finished.status is RunStatus.FAILED
        assert finished.error is not None and "timed out after 0.5 s" in finished.error
        (after,) = collector.run(make_request(trial_dir, "metrics"))
        assert after.status is RunStatus.FINISHED

    def test_cancel_ends_with_the_given_status(
        self, executor_factory: ExecutorFactory, trial_dir: Path
    ) -> None:
        collector = Collector(executor_factory())
        request = make_request(trial_dir, "ignore_prune")
        collector.executor.submit(request)
        collector.wait_until(lambda: bool(collector.metric_keys(request.trial_id)), "first metric")
        collector.executor.cancel(request.trial_id, RunStatus.KILLED, grace=0.5)
        assert collector.wait_finished(request.trial_id).status is RunStatus.KILLED

    # -- concurrency and lifecycle -------------------------------------------------------------
    def test_parallel_trials_run_at_the_same_time(
        self, executor_factory: ExecutorFactory, trial_dir: Path, tmp_path: Path
    ) -> None:
        executor = executor_factory(parallel=2)
        assert executor.capacity == 2
        collector = Collector(executor)
        meet = tmp_path / "meet"
        meet.mkdir()
        first = make_request(trial_dir, "rendezvous", params={"folder": str(meet), "me": "a", "other": "b"})
        second = make_request(trial_dir, "rendezvous", params={"folder": str(meet), "me": "b", "other": "a"})
        executor.submit(first)
        executor.submit(second)
        assert (executor.running, executor.capacity) == (2, 0)
        for request in (first, second):
            finished = collector.wait_finished(request.trial_id)
            assert (finished.status, finished.result) == (RunStatus.FINISHED, 1.0), finished.error
        assert (executor.running, executor.capacity) == (0, 2)

    def test_a_trial_submitted_beyond_capacity_reports_when_it_starts(
        self, executor_factory: ExecutorFactory, trial_dir: Path
    ) -> None:
        executor = executor_factory()
        collector = Collector(executor)
        first, second = make_request(trial_dir, "metrics"), make_request(trial_dir, "metrics")
        executor.submit(first)
        assert executor.capacity == 0
        executor.submit(second)
        for request in (first, second):
            assert collector.wait_finished(request.trial_id).status is RunStatus.FINISHED
        assert first.trial_id not in collector.started  # it started when it was submitted
        # The second starts when the first has ended: told after the first's end.
        ended = collector.order.index(collector.finished[first.trial_id])
        assert collector.order.index(collector.started[second.trial_id]) > ended
        assert collector.metric_keys(second.trial_id) == ["loss", "loss", "loss"]

    def test_a_waiting_trial_cancelled_before_it_starts_only_finishes(
        self, executor_factory: ExecutorFactory, trial_dir: Path
    ) -> None:
        executor = executor_factory()
        collector = Collector(executor)
        running, waiting = make_request(trial_dir, "ignore_prune"), make_request(trial_dir, "metrics")
        executor.submit(running)
        executor.submit(waiting)
        collector.wait_until(lambda: bool(collector.metric_keys(running.trial_id)), "first metric")
        executor.cancel(waiting.trial_id, RunStatus.KILLED)
        assert collector.wait_finished(waiting.trial_id).status is RunStatus.KILLED
        assert waiting.trial_id not in collector.started and not collector.events[waiting.trial_id]
        executor.cancel(running.trial_id, RunStatus.KILLED, grace=0.5)
        assert collector.wait_finished(running.trial_id).status is RunStatus.KILLED

    def test_nothing_arrives_after_shutdown(self, executor_factory: ExecutorFactory, trial_dir: Path) -> None:
        executor = executor_factory()
        collector = Collector(executor)
        request = make_request(trial_dir, "ignore_prune")
        executor.submit(request)
        collector.wait_until(lambda: bool(collector.metric_keys(request.trial_id)), "first metric")
        executor.shutdown()
        assert executor.poll(0.2) == []
