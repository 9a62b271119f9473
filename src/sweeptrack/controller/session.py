"""Building a controller: spec, store, search, executor and ledger, for a new or resumed sweep.

Everything that can be wrong with the input is checked before anything is written: the spec is
validated and its entrypoint or program resolved first, so a bad sweep leaves the database as it was.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sweeptrack.controller.lease import SweepLease
from sweeptrack.controller.loop import Controller
from sweeptrack.controller.progress import SweepProgress, SweepResult
from sweeptrack.controller.resume import restore_ledger
from sweeptrack.controller.trials import Ledger, Pending
from sweeptrack.core.errors import SweepError
from sweeptrack.core.liveness import Liveness
from sweeptrack.core.model import Sweep, SweepState
from sweeptrack.executors.base import Executor
from sweeptrack.search import Search
from sweeptrack.spec.model import ExecutorType, SweepSpec
from sweeptrack.tracking.artifacts import ArtifactRoot, default_artifact_root
from sweeptrack.tracking.sql.store import SqlStore
from sweeptrack.tracking.store import Store

__all__ = ["open_sweep", "run_sweep"]

ProgressCallback = Callable[[SweepProgress], None]
SpecLike = str | Path | SweepSpec | Mapping[str, Any]


def run_sweep(
    spec: SpecLike,
    db: str = "sqlite:///sweeptrack.db",
    *,
    parallel: int | None = None,
    trials: int | None = None,
    resume: bool = False,
    on_progress: ProgressCallback | None = None,
    artifacts: str | Path | None = None,
    function: Callable[..., Any] | None = None,
) -> SweepResult:
    """Run a sweep to its end and return how it went (for notebooks and scripts).

    ``spec`` is a sweep file, or the same as a dict. ``function``: what each trial runs, for a
    spec with neither ``program`` nor ``entrypoint`` (as ``wandb.agent(sweep_id, function=train)``
    does): it is called with the trial's params (when it takes an argument), logs with
    ``st.log_metrics`` and may return the objective. It may be defined anywhere, a notebook or the
    script's ``__main__`` included: the local executor forks its workers from this process, Ray
    ships the function by value.

    Example:
        >>> result = st.run_sweep("sweeps/quickstart.yaml", db="sqlite:///sweeptrack.db")  # doctest: +SKIP
        >>> result.best_value, result.best_params                                        # doctest: +SKIP
        >>> def train(config):                                                          # doctest: +SKIP
        ...     st.log_metrics({"loss": (config["x"] - 3) ** 2})
        >>> st.run_sweep({"method": "grid", "metric": {"name": "loss"},                  # doctest: +SKIP
        ...               "parameters": {"x": {"values": [1, 2, 3]}}}, function=train)
    """
    controller = open_sweep(
        spec,
        db,
        parallel=parallel,
        trials=trials,
        resume=resume,
        on_progress=on_progress,
        artifacts=artifacts,
        function=function,
    )
    result = controller.run()
    from sweeptrack.controller.register import register_best

    register_best(controller.spec, result, db, artifacts)
    return result


def open_sweep(
    spec: SpecLike,
    db: str,
    *,
    parallel: int | None = None,
    trials: int | None = None,
    resume: bool | str = False,
    on_progress: ProgressCallback | None = None,
    artifacts: str | Path | None = None,
    liveness: Liveness | None = None,
    cwd: Path | None = None,
    function: Callable[..., Any] | None = None,
    replay: Sequence[Mapping[str, Any]] | None = None,
) -> Controller:
    """A controller ready to run: a new sweep, or (``resume``) the newest sweep of this spec, or
    the sweep whose id or name ``resume`` is when it is a string and ``spec`` is None-like.
    ``function``: see :func:`run_sweep`.

    ``replay``: a new sweep that runs exactly these configs (flat params as logged), trial ``n``
    the ``n``-th, dispatched in this order, and nothing else (``trials`` is their number).

    ``trials`` caps the sweep's trial numbers and is kept with the sweep: a resume without
    ``trials`` keeps the cap it was started (or last resumed) with; one with ``trials`` replaces it.

    Raises:
        SweepError: ``function`` is given for a spec that has a program or an entrypoint, or
            neither is there to run.
    """
    from sweeptrack.spec.runnable import check_runnable

    cwd = (cwd or Path.cwd()).resolve()
    if replay is not None:
        trials = len(replay)
    spec = _with_limits(_load(spec), parallel, trials)
    _check_function(spec, function)
    check_runnable(spec, cwd)
    search = Search(spec)
    queued = None if replay is None else _replay_ledger(spec, replay)
    store = SqlStore(db)
    log_dir = Path(tempfile.mkdtemp(prefix="sweeptrack-logs-"))
    executor = _executor(spec, log_dir)
    lease = SweepLease(db, liveness)

    def release() -> None:
        lease.release()
        shutil.rmtree(log_dir, ignore_errors=True)  # trial output was copied into artifacts
        store.close()

    try:
        executor.check(spec.resources)  # a request nothing can place fails before anything is written
        sweep_id, name, ledger = _start_or_resume(store, spec, search, resume, cwd, trials, lease)
        ledger = ledger or queued
        trials = store.get_sweep(sweep_id).trial_cap
        search.use_seed(_sweep_seed(sweep_id))
    except BaseException:
        executor.shutdown()
        release()
        raise
    root = ArtifactRoot(default_artifact_root(db, str(artifacts) if artifacts else None))
    controller = Controller(
        spec=spec,
        store=store,
        executor=executor,
        search=search,
        sweep_id=sweep_id,
        name=name,
        cwd=cwd,
        artifacts=root,
        budget=_budget(spec, search, trials),
        spec_budget=_budget(spec, search, None),
        ledger=ledger,
        on_progress=on_progress,
        function=function,
    )
    controller.lease_lost = lease.lost
    controller.closers.append(release)
    return controller


def _start_or_resume(
    store: SqlStore,
    spec: SweepSpec,
    search: Search,
    resume: bool | str,
    cwd: Path,
    trials: int | None,
    lease: SweepLease,
) -> tuple[str, str, Ledger | None]:
    """The sweep's id, name and (on resume) ledger; a new sweep is written to the database, with
    its ``trials`` cap; a resume records a new cap when ``trials`` is given."""
    if resume:
        sweep = store.get_sweep(resume) if isinstance(resume, str) else _same_spec_sweep(store, spec)
        if sweep.state is SweepState.FINISHED:
            raise SweepError(f"sweep {sweep.name} ({sweep.id[:8]}) has already finished; nothing to resume")
        lease.acquire(store, sweep)  # SweepError while a live controller holds it (before
        # restore_ledger ends the runs it finds running)
        ledger = restore_ledger(store, sweep.id, spec, search)
        cap = sweep.trial_cap if trials is None else trials
        if cap is not None:  # numbers at or above a lowered cap wait for a larger one
            ledger.pending = deque(p for p in ledger.pending if p.number < cap)
        spec_budget = _budget(spec, search, None)
        binding = cap is not None and (spec_budget is None or cap < spec_budget)
        if binding and cap is not None and ledger.next_number >= cap and not ledger.pending:
            raise SweepError(
                f"sweep {sweep.name} ({sweep.id[:8]}) has run {ledger.next_number} trials and its cap is "
                f"--trials {cap}; resume with a larger --trials to run more"
            )
        if trials is not None:
            store.set_sweep_trial_cap(sweep.id, trials)
        store.set_sweep_state(sweep.id, SweepState.RUNNING)
        return sweep.id, sweep.name, ledger
    sweep_id, name = uuid.uuid4().hex, _sweep_name(spec)
    store.create_sweep(
        sweep_id=sweep_id,
        experiment=spec.experiment,
        name=name,
        spec=spec.text,
        environment=_environment(cwd),
        source=None if spec.source == "<string>" else str(Path(spec.source).resolve()),
        lease=lease.claim(),
    )
    if trials is not None:
        store.set_sweep_trial_cap(sweep_id, trials)
    lease.hold(sweep_id, name)
    return sweep_id, name, None


def _replay_ledger(spec: SweepSpec, configs: Sequence[Mapping[str, Any]]) -> Ledger:
    """Trial ``n`` waits with the ``n``-th config; each is checked against the spec's space
    before anything is written."""
    if not configs:
        raise SweepError("nothing to replay: the sweep has no trials")
    probe = Search(spec)
    for number, params in enumerate(configs):
        try:
            probe.enqueue(params)
        except ValueError as exc:
            raise SweepError(
                f"{spec.source}: trial {number} of the replayed sweep does not fit this spec: {exc}"
            ) from None
    pending = deque(Pending(number=n, attempt=1, params=dict(p)) for n, p in enumerate(configs))
    return Ledger(next_number=len(configs), pending=pending)


def resume_spec(store: Store, ref: str) -> SweepSpec:
    """The spec a stored sweep was started with (its file's folder still resolves entrypoints)."""
    from sweeptrack.spec.load import load_spec_text

    sweep = store.get_sweep(ref)
    source = sweep.source or "<string>"
    base_dir = Path(sweep.source).parent if sweep.source else Path.cwd()
    return load_spec_text(sweep.spec, source=source, base_dir=base_dir)


def _with_limits(spec: SweepSpec, parallel: int | None, trials: int | None) -> SweepSpec:
    """The spec with ``--parallel`` applied, after checking both run-time limits."""
    if trials is not None and trials < 1:
        raise SweepError(f"--trials must be at least 1, got {trials}")
    if parallel is None:
        return spec
    if parallel < 1:
        raise SweepError(f"--parallel must be at least 1, got {parallel}")
    return dataclasses.replace(spec, parallel=parallel)


def _load(spec: SpecLike) -> SweepSpec:
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, Mapping):
        import yaml

        from sweeptrack.spec.load import load_spec_text

        try:
            text = yaml.safe_dump(dict(spec), sort_keys=False)
        except yaml.YAMLError as exc:
            bad = exc.args[1] if len(exc.args) > 1 else exc
            raise SweepError(
                f"the spec dict holds a {type(bad).__name__} ({bad!r:.60}), which a sweep spec cannot "
                "hold; use numbers, strings, booleans, lists and dicts"
            ) from None
        return load_spec_text(text)
    from sweeptrack.spec.load import load_spec

    return load_spec(spec)


def _check_function(spec: SweepSpec, function: Callable[..., Any] | None) -> None:
    runs_something = spec.entrypoint is not None or spec.program is not None or spec.command is not None
    if function is not None and runs_something:
        raise SweepError(f"{spec.source}: give either function= or the spec's program/entrypoint, not both")
    if function is not None and not callable(function):
        raise SweepError(f"function={function!r}: not callable; pass the training function itself")
    if function is None and not runs_something:
        raise SweepError(
            f"{spec.source}: nothing to run: give entrypoint: 'module:function' or program:, or pass "
            "the training function: st.run_sweep(spec, function=train)"
        )


def _sweep_seed(sweep_id: str) -> int:
    """The seed of a sweep whose spec has none: from its stored id, so a resume draws on."""
    return int(sweep_id[:15], 16)


def _budget(spec: SweepSpec, search: Search, trials: int | None) -> int | None:
    limits = [n for n in (spec.run_cap, search.grid_size, trials) if n is not None]
    return min(limits) if limits else None


def _same_spec_sweep(store: Store, spec: SweepSpec) -> Sweep:
    for sweep in store.list_sweeps(spec.experiment):
        if sweep.name == _sweep_name(spec):
            if sweep.spec != spec.text:
                raise SweepError(
                    f"{spec.source}: the spec differs from the one sweep {sweep.name} ({sweep.id[:8]}) "
                    "started with; run it as a new sweep (without --resume)"
                )
            return sweep
    raise SweepError(f"no sweep of {spec.source} to resume in this database; run it without --resume")


def _sweep_name(spec: SweepSpec) -> str:
    if spec.name:
        return spec.name
    return Path(spec.source).stem if spec.source != "<string>" else "sweep"


def _environment(cwd: Path) -> dict[str, object]:
    from sweeptrack.tracking.environment import capture_environment

    captured = capture_environment(list(sys.argv), cwd, environ=os.environ)
    # A sweep's trials have no environment of their own: the diff goes with the sweep's, for
    # `sweeptrack reproduce` to apply to the commit.
    return {**captured.data, "git_diff": captured.git_diff} if captured.git_diff else captured.data


def _executor(spec: SweepSpec, log_dir: Path) -> Executor:
    if spec.executor.type is ExecutorType.RAY:
        from sweeptrack.executors.ray import RayExecutor

        return RayExecutor(
            spec.parallel, address=spec.executor.address, log_dir=log_dir, resources=spec.resources
        )
    from sweeptrack.executors.local import LocalExecutor

    cpus = os.cpu_count() or 1
    return LocalExecutor(spec.parallel, cpu_count=cpus, log_dir=log_dir, resources=spec.resources)
