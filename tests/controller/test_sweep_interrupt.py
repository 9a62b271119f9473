"""Stopping a sweep (Ctrl-C, SIGTERM, `sweep stop`, SIGKILL of the controller) and resuming it: the
resumed sweep samples exactly what an uninterrupted one samples, interrupted trials run again."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sweeptrack.controller import SweepProgress, run_sweep
from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.model import Run, RunStatus, SweepState
from sweeptrack.tracking.sql.store import SqlStore

from .conftest import SpecWriter, kill_when_finished, sweeptrack_cli, wait_for

SPEC = """
name: {name}
method: random
seed: 1
run_cap: 6
parallel: 1
metric: {{name: loss}}
entrypoint: trialfns:slow
parameters:
  x: {{min: 0.0, max: 6.0}}
  epochs: {{value: 8}}
  delay: {{value: 0.12}}
"""


def _xs(store: SqlStore, sweep: str) -> list[float]:
    """The config of each trial number, from its final run."""
    runs = [r for r in store.search_runs(sweep=store.get_sweep(sweep).id) if r.status is not RunStatus.KILLED]
    by_number = {r.trial_number: r.params["x"] for r in runs}
    assert len(by_number) == len(runs)  # one final run per number
    return [by_number[n] for n in sorted(by_number)]


@pytest.fixture
def uninterrupted(write_spec: SpecWriter, workdir: Path) -> list[float]:
    """The configs of the same sweep run without interruption (in a database of its own)."""
    result = run_sweep(write_spec("whole.yaml", SPEC.format(name="whole")), f"sqlite:///{workdir}/whole.db")
    assert result.state is SweepState.FINISHED
    xs = _xs(SqlStore(f"sqlite:///{workdir}/whole.db"), "whole")
    assert len(set(xs)) == len(xs) == 6  # no config repeats over a continuous space
    return xs


def _running_early(store: SqlStore, workdir: Path, finished: int) -> bool:
    """``finished`` trials done and the next one running, with most of its epochs still ahead."""
    if not (workdir / "sweeptrack.db").exists():
        return False
    runs = store.search_runs(experiment="default")
    done = sum(1 for r in runs if r.status is RunStatus.FINISHED)
    running = [r for r in runs if r.status is RunStatus.RUNNING]
    return done >= finished and any("loss" not in r.metrics or r.metrics["loss"].count <= 4 for r in running)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, list[str], str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out.splitlines(), err


def _resume_with_printed_command(line: str, workdir: Path) -> tuple[int, list[str], str]:
    argv = shlex.split(line)
    assert argv[0] == "sweeptrack"
    return _finish(sweeptrack_cli(*argv[1:], cwd=workdir))


def _assert_rerun(store: SqlStore, name: str, cause: str) -> list[Run]:
    """Each interrupted run is KILLED with ``cause`` and ran again as attempt 2 with its config,
    linked to it; every number counts once (6 finished runs, numbers 0-5)."""
    runs = store.search_runs(sweep=store.get_sweep(name).id)
    finished = [r for r in runs if r.status is RunStatus.FINISHED]
    assert sorted(r.trial_number for r in finished) == list(range(6))
    interrupted = [r for r in runs if r.status is RunStatus.KILLED]
    for run in interrupted:
        assert run.error is not None and run.error.startswith(f"interrupted: {cause}")
        (again,) = [r for r in finished if r.trial_number == run.trial_number]
        assert again.params == run.params
        assert again.tags["sweeptrack.attempt"] == "2" and again.tags["sweeptrack.previous_run"] == run.id
    assert store.get_sweep(name).state is SweepState.FINISHED
    return interrupted


def _resume_line(db: Path, name: str) -> str:
    return f"sweeptrack --db sqlite:///{db} sweep resume {name}"


@pytest.mark.slow
def test_ctrl_c_then_resume_continues_the_search(
    write_spec: SpecWriter, workdir: Path, uninterrupted: list[float]
) -> None:
    db = workdir / "sweeptrack.db"
    spec = write_spec("s.yaml", SPEC.format(name="cc"))
    proc = sweeptrack_cli("--db", f"sqlite:///{db}", "sweep", "run", str(spec), cwd=workdir)
    store = SqlStore(f"sqlite:///{db}", create=True)
    wait_for(lambda: _running_early(store, workdir, 3), what="3 finished trials and one running")
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the whole foreground group
    code, out, err = _finish(proc)

    assert code == 130, err
    assert out[-1] == _resume_line(db, "cc")
    (summary,) = [line for line in out if line.startswith("sweep cc (")]
    assert " stopped: 4 trials, 3 finished, 0 pruned, 0 failed, 1 interrupted, " in summary
    assert store.get_sweep("cc").state is SweepState.STOPPED

    code, out, err = _resume_with_printed_command(out[-1], workdir)
    assert code == 0, err
    assert _xs(store, "cc") == uninterrupted
    (interrupted,) = _assert_rerun(store, "cc", "Ctrl-C")

    (again,) = [r for r in store.search_runs() if r.tags.get("sweeptrack.previous_run") == interrupted.id]
    code, out, err = _finish(
        sweeptrack_cli("--db", f"sqlite:///{db}", "runs", "show", again.id, "--format", "json", cwd=workdir)
    )
    tags = json.loads("\n".join(out))["tags"]
    assert tags["sweeptrack.attempt"] == "2" and tags["sweeptrack.previous_run"] == interrupted.id


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c_with_status_143(
    write_spec: SpecWriter, workdir: Path, uninterrupted: list[float]
) -> None:
    db = workdir / "sweeptrack.db"
    spec = write_spec("s.yaml", SPEC.format(name="term"))
    proc = sweeptrack_cli("--db", f"sqlite:///{db}", "sweep", "run", str(spec), cwd=workdir)
    store = SqlStore(f"sqlite:///{db}", create=True)
    wait_for(lambda: _running_early(store, workdir, 2), what="2 finished trials and one running")
    proc.send_signal(signal.SIGTERM)  # to the controller alone, as a scheduler or `kill` does
    code, out, err = _finish(proc)

    assert code == 143, err
    assert out[-1] == _resume_line(db, "term")
    (summary,) = [line for line in out if line.startswith("sweep term (")]
    assert " stopped: 3 trials, 2 finished, 0 pruned, 0 failed, 1 interrupted, " in summary
    assert store.get_sweep("term").state is SweepState.STOPPED
    assert not [r for r in store.search_runs() if r.status is RunStatus.RUNNING]

    code, _, err = _resume_with_printed_command(out[-1], workdir)
    assert code == 0, err
    assert _xs(store, "term") == uninterrupted
    assert len(_assert_rerun(store, "term", "SIGTERM")) == 1


@pytest.mark.slow
def test_sweep_stop_then_resume_continues_the_search(
    write_spec: SpecWriter, workdir: Path, uninterrupted: list[float]
) -> None:
    spec = write_spec("s.yaml", SPEC.format(name="halt"))
    proc = sweeptrack_cli("sweep", "run", str(spec), cwd=workdir)
    store = SqlStore(f"sqlite:///{workdir}/sweeptrack.db", create=True)
    wait_for(lambda: _running_early(store, workdir, 2), what="2 finished trials and one running")
    code, out, err = _finish(sweeptrack_cli("sweep", "stop", "halt", cwd=workdir))
    assert code == 0 and "stop requested" in out[-1], err
    code, out, err = _finish(proc)

    assert code == 0, err
    assert out[-1] == "sweeptrack sweep resume halt"  # the default database needs no --db
    code, _, err = _resume_with_printed_command(out[-1], workdir)
    assert code == 0, err
    assert _xs(store, "halt") == uninterrupted


@pytest.mark.slow
def test_sigkilled_controller_resumes_with_the_same_configs(
    write_spec: SpecWriter, workdir: Path, uninterrupted: list[float]
) -> None:
    spec = write_spec("s.yaml", SPEC.format(name="dead"))
    proc = sweeptrack_cli("sweep", "run", str(spec), cwd=workdir)
    store = SqlStore(f"sqlite:///{workdir}/sweeptrack.db", create=True)
    kill_when_finished(proc, workdir, store, 4)

    code, _, err = _finish(sweeptrack_cli("sweep", "resume", "dead", cwd=workdir))
    assert code == 0, err
    assert _xs(store, "dead") == uninterrupted
    _assert_rerun(store, "dead", "the controller stopped")


@pytest.mark.slow
def test_the_trials_cap_is_kept_by_resume(
    write_spec: SpecWriter, workdir: Path, uninterrupted: list[float]
) -> None:
    spec = write_spec("s.yaml", SPEC.format(name="capped"))
    proc = sweeptrack_cli("sweep", "run", str(spec), "--trials", "3", cwd=workdir)
    store = SqlStore(f"sqlite:///{workdir}/sweeptrack.db", create=True)
    wait_for(lambda: _running_early(store, workdir, 1), what="1 finished trial and one running")
    os.killpg(proc.pid, signal.SIGINT)
    code, out, err = _finish(proc)
    assert code == 130 and out[-1] == "sweeptrack sweep resume capped", err

    code, out, err = _finish(sweeptrack_cli("sweep", "resume", "capped", cwd=workdir))
    assert code == 0, err
    assert _xs(store, "capped") == uninterrupted[:3]  # the cap of 3, not run_cap 6
    assert store.get_sweep("capped").state is SweepState.STOPPED

    code, out, err = _finish(sweeptrack_cli("sweep", "resume", "capped", cwd=workdir))
    sweep_id = store.get_sweep("capped").id
    assert (code, out) == (2, [])
    assert err == (
        f"error: sweep capped ({sweep_id[:8]}) has run 3 trials and its cap is --trials 3; "
        "resume with a larger --trials to run more\n"
    )
    code, out, err = _finish(sweeptrack_cli("sweep", "resume", "capped", "--trials", "2", cwd=workdir))
    assert (code, out) == (2, [])
    assert err == (
        f"error: sweep capped ({sweep_id[:8]}) has run 3 trials and its cap is --trials 2; "
        "resume with a larger --trials to run more\n"
    )
    assert store.get_sweep("capped").trial_cap == 3  # nothing written
    code, _, err = _finish(sweeptrack_cli("sweep", "resume", "capped", "--trials", "5", cwd=workdir))
    assert code == 0, err
    assert _xs(store, "capped") == uninterrupted[:5]
    assert store.get_sweep("capped").trial_cap == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trials", "0"], "error: --trials must be at least 1, got 0\n"),
        (["--trials", "-3"], "error: --trials must be at least 1, got -3\n"),
        (["--parallel", "0"], "error: --parallel must be at least 1, got 0\n"),
        (
            ["--trials", "many"],
            "Error: Invalid value for '--trials' / '-n': 'many' is not a valid integer.\n",
        ),
    ],
)
def test_bad_resume_options_are_refused(
    write_spec: SpecWriter, workdir: Path, db: str, args: list[str], message: str
) -> None:
    run_sweep(write_spec("s.yaml", SPEC.format(name="bad")), db, trials=1)
    store = SqlStore(db)
    before = store.get_sweep("bad")
    code, out, err = _finish(sweeptrack_cli("sweep", "resume", "bad", *args, cwd=workdir))
    assert code == 2 and out == []
    assert err.endswith(message)
    after = store.get_sweep("bad")
    assert (after.state, after.trial_cap) == (before.state, before.trial_cap) == (SweepState.STOPPED, 1)


def test_resuming_what_cannot_be_resumed_is_refused(write_spec: SpecWriter, workdir: Path, db: str) -> None:
    result = run_sweep(write_spec("s.yaml", SPEC.format(name="done").replace("run_cap: 6", "run_cap: 1")), db)
    code, _, err = _finish(sweeptrack_cli("sweep", "resume", "done", cwd=workdir))
    assert (code, err) == (
        2,
        f"error: sweep done ({result.sweep_id[:8]}) has already finished; nothing to resume\n",
    )
    code, _, err = _finish(sweeptrack_cli("sweep", "resume", "nosuch", cwd=workdir))
    assert (code, err) == (
        2,
        "error: no sweep with id, id prefix or name 'nosuch'; see `sweeptrack sweep list`\n",
    )


def test_library_run_leaves_the_signal_handlers_as_they_were(write_spec: SpecWriter, db: str) -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    run_sweep(write_spec("s.yaml", SPEC.format(name="lib").replace("run_cap: 6", "run_cap: 1")), db)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_sweep_without_a_seed_resumes_its_own_sequence(
    write_spec: SpecWriter, workdir: Path, db: str
) -> None:
    """With no `seed:`, a sweep draws from a seed of its own (from its id): a resume continues it,
    and two sweeps of the same spec differ."""
    text = (
        SPEC.format(name="free").replace("seed: 1\n", "").replace("epochs: {value: 5}", "epochs: {value: 1}")
    )
    spec = write_spec("s.yaml", text)
    first = run_sweep(spec, db, trials=2)
    run_sweep(spec, db, resume=True, trials=6)
    other = run_sweep(spec, db)
    store = SqlStore(db)

    def xs(sweep_id: str) -> list[float]:
        return [r.params["x"] for r in store.search_runs(sweep=sweep_id, order_by="trial_number")]

    from sweeptrack.search import Search
    from sweeptrack.spec.load import load_spec

    search = Search(load_spec(spec))
    search.use_seed(int(first.sweep_id[:15], 16))
    assert xs(first.sweep_id) == [search.ask(n).params["x"] for n in range(6)]
    assert len(set(xs(first.sweep_id))) == 6 and xs(other.sweep_id) != xs(first.sweep_id)


METHODS = """
name: {method}
method: {method}
seed: 4
run_cap: 8
parallel: 2
metric: {{name: loss}}
entrypoint: trialfns:slow
parameters:
  x: {x}
  opt: {{values: [adam, sgd, lion]}}
  epochs: {{value: 3}}
  delay: {{value: 0.05}}
"""


@pytest.mark.parametrize("method", ["tpe", "qmc", "nsga2", "grid"])
def test_a_library_sweep_interrupted_by_sigint_resumes_each_method_exactly(
    write_spec: SpecWriter, workdir: Path, method: str
) -> None:
    """st.run_sweep in a notebook: Ctrl-C (a real SIGINT to this process) returns a STOPPED result;
    resuming samples what the uninterrupted sweep samples (tpe and nsga2 within their start-up
    trials, the qmc sequence, the grid order), with two trials at once."""
    x = "{values: [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]}" if method == "grid" else "{min: 0.0, max: 6.0}"
    text = METHODS.format(method=method, x=x)
    if method == "grid":
        text = text.replace("values: [adam, sgd, lion]", "value: adam")
    spec = write_spec(f"{method}.yaml", text)
    whole_db, db = f"sqlite:///{workdir}/whole.db", f"sqlite:///{workdir}/cut.db"
    run_sweep(spec, whole_db)

    def interrupt(progress: SweepProgress) -> None:
        if progress.finished >= 3 and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    sent: list[bool] = []
    cut = run_sweep(spec, db, on_progress=interrupt)
    assert (cut.state, cut.stop_signal) == (SweepState.STOPPED, signal.SIGINT) and cut.trials < 8
    resumed = run_sweep(spec, db, resume=True)
    assert resumed.state is SweepState.FINISHED

    def configs(url: str) -> list[tuple[object, object]]:
        store = SqlStore(url)
        sweep = store.get_sweep(method).id
        runs = [r for r in store.search_runs(sweep=sweep) if r.status is RunStatus.FINISHED]
        return [(r.params["x"], r.params["opt"]) for r in sorted(runs, key=lambda r: r.trial_number or 0)]

    assert configs(db) == configs(whole_db)
    assert len(set(configs(db))) == 8


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_run_sweep_keeps_its_trials_cap_across_an_interrupt(
    write_spec: SpecWriter, workdir: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    """st.run_sweep(trials=4), Ctrl-C, st.run_sweep(resume=True): the cap of 4 holds; a larger
    cap given to a resume replaces it; the configs are the uninterrupted sweep's."""
    text = SPEC.format(name="lib").replace("value: 8", "value: 2").replace("value: 0.12", "value: 0.05")
    spec = write_spec("lib.yaml", text)
    whole_db = f"sqlite:///{workdir}/whole.db"
    run_sweep(spec, whole_db)
    db = f"sqlite:///{workdir}/cut.db" if backend == "sqlite" else request.getfixturevalue("pg_url")

    def interrupt(progress: SweepProgress) -> None:
        if progress.finished >= 2 and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    sent: list[bool] = []
    cut = run_sweep(spec, db, trials=4, on_progress=interrupt)
    assert (cut.state, cut.stop_signal, cut.cap_reached) == (SweepState.STOPPED, signal.SIGINT, False)
    again = run_sweep(spec, db, resume=True)
    assert (again.state, again.trials, again.cap_reached, again.stop_signal) == (
        SweepState.STOPPED,
        4,
        True,
        None,
    )
    with pytest.raises(
        SweepTrackError, match=r"^sweep lib \(\w{8}\) has run 4 trials and its cap is --trials 4;"
    ):
        run_sweep(spec, db, resume=True)
    last = run_sweep(spec, db, resume=True, trials=6)
    assert (last.state, last.trials) == (SweepState.FINISHED, 6)
    store, whole = SqlStore(db), SqlStore(whole_db)
    try:
        assert _xs(store, "lib") == _xs(whole, "lib")
    finally:
        store.close()
        whole.close()


def test_a_second_ctrl_c_ends_the_sweep_at_once(write_spec: SpecWriter, workdir: Path, db: str) -> None:
    """Ctrl-C twice: the running trials are not waited for; they are still recorded interrupted and
    run again on resume."""
    text = SPEC.format(name="twice").replace("value: 8", "value: 2").replace("value: 0.12", "value: 1.0")
    spec = write_spec("s.yaml", text)

    def interrupt(progress: SweepProgress) -> None:
        if progress.finished >= 1 and progress.running and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # the loop takes it at its next turn
            os.kill(os.getpid(), signal.SIGINT)  # this one interrupts right here

    sent: list[bool] = []
    started = time.monotonic()
    cut = run_sweep(spec, db, on_progress=interrupt)
    assert time.monotonic() - started < 30
    assert (cut.state, cut.stop_signal, cut.interrupted) == (SweepState.STOPPED, signal.SIGINT, 1)
    store = SqlStore(db)
    (killed,) = [r for r in store.search_runs() if r.status is not RunStatus.FINISHED]
    assert killed.status is RunStatus.KILLED and (killed.error or "").startswith("interrupted: Ctrl-C")
    assert store.get_sweep("twice").state is SweepState.STOPPED


def test_a_trial_stopped_by_ctrl_c_in_an_earlier_version_runs_again(write_spec: SpecWriter, db: str) -> None:
    """Databases written before this change say "sweep interrupted (Ctrl-C)": still an interruption."""
    spec = write_spec("s.yaml", SPEC.format(name="old").replace("value: 8", "value: 1"))
    first = run_sweep(spec, db, trials=2)
    store = SqlStore(db)
    (last,) = [r for r in store.search_runs(sweep=first.sweep_id) if r.trial_number == 1]
    store.end_run(last.id, RunStatus.KILLED, last.end_time or 0, "sweep interrupted (Ctrl-C)")
    again = run_sweep(spec, db, resume=True)
    assert (again.trials, again.finished, again.interrupted) == (2, 2, 0)
    (rerun,) = [r for r in store.search_runs(sweep=first.sweep_id) if r.tags.get("sweeptrack.attempt") == "2"]
    assert (rerun.trial_number, rerun.params, rerun.status) == (1, last.params, RunStatus.FINISHED)


def test_a_signal_while_the_sweep_opens_stops_it_before_its_first_trial(
    write_spec: SpecWriter, db: str
) -> None:
    """The CLI holds SIGINT and SIGTERM while it opens the sweep and hands one to the controller."""
    from sweeptrack.controller import open_sweep

    spec = write_spec("s.yaml", SPEC.format(name="early").replace("value: 8", "value: 1"))
    controller = open_sweep(spec, db)
    controller.interrupt(signal.SIGTERM)
    result = controller.run()
    assert (result.state, result.stop_signal, result.trials) == (SweepState.STOPPED, signal.SIGTERM, 0)
    store = SqlStore(db)
    assert store.get_sweep("early").state is SweepState.STOPPED and not store.search_runs()
    assert run_sweep(spec, db, resume=True).finished == 6
