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
from collections.abc import Callable
from pathlib import Path

from sweeptrack.controller.lease import SweepLease
from sweeptrack.controller.loop import Controller
from sweeptrack.controller.progress import SweepProgress, SweepResult
from sweeptrack.controller.resume import restore_ledger
from sweeptrack.controller.trials import Ledger
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


def run_sweep(
    spec: str | Path | SweepSpec,
    db: str = "sqlite:///sweeptrack.db",
    *,
    parallel: int | None = None,
    trials: int | None = None,
    resume: bool = False,
    on_progress: ProgressCallback | None = None,
    artifacts: str | Path | None = None,
) -> SweepResult:
    """Run a sweep to its end and return how it went (for notebooks and scripts).

    Example:
        >>> result = st.run_sweep("sweeps/quickstart.yaml", db="sqlite:///sweeptrack.db")  # doctest: +SKIP
        >>> result.best_value, result.best_params                                        # doctest: +SKIP
    """
    controller = open_sweep(
        spec,
        db,
        parallel=parallel,
        trials=trials,
        resume=resume,
        on_progress=on_progress,
        artifacts=artifacts,
    )
    return controller.run()


def open_sweep(
    spec: str | Path | SweepSpec,
    db: str,
    *,
    parallel: int | None = None,
    trials: int | None = None,
    resume: bool | str = False,
    on_progress: ProgressCallback | None = None,
    artifacts: str | Path | None = None,
    liveness: Liveness | None = None,
    cwd: Path | None = None,
) -> Controller:
    """A controller ready to run: a new sweep, or (``resume``) the newest sweep of this spec, or
    the sweep whose id or name ``resume`` is when it is a string and ``spec`` is None-like."""
    from sweeptrack.spec.runnable import check_runnable

    cwd = (cwd or Path.cwd()).resolve()
    spec = _with_limits(_load(spec), parallel, trials)
    check_runnable(spec, cwd)
    store = SqlStore(db)
    search = Search(spec)
    budget = _budget(spec, search, trials)
    log_dir = Path(tempfile.mkdtemp(prefix="sweeptrack-logs-"))
    executor = _executor(spec, log_dir)
    lease = SweepLease(db, liveness)

    def release() -> None:
        lease.release()
        shutil.rmtree(log_dir, ignore_errors=True)  # trial output was copied into artifacts
        store.close()

    try:
        executor.check(spec.resources)  # a request nothing can place fails before anything is written
        sweep_id, name, ledger = _start_or_resume(store, spec, search, resume, cwd, lease)
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
        budget=budget,
        spec_budget=_budget(spec, search, None),
        ledger=ledger,
        on_progress=on_progress,
    )
    controller.lease_lost = lease.lost
    controller.closers.append(release)
    return controller


def _start_or_resume(
    store: SqlStore, spec: SweepSpec, search: Search, resume: bool | str, cwd: Path, lease: SweepLease
) -> tuple[str, str, Ledger | None]:
    """The sweep's id, name and (on resume) ledger; a new sweep is written to the database."""
    if resume:
        sweep = store.get_sweep(resume) if isinstance(resume, str) else _same_spec_sweep(store, spec)
        if sweep.state is SweepState.FINISHED:
            raise SweepError(f"sweep {sweep.name} ({sweep.id[:8]}) has already finished; nothing to resume")
        lease.acquire(store, sweep)  # SweepError while a live controller holds it
        store.set_sweep_state(sweep.id, SweepState.RUNNING)
        return sweep.id, sweep.name, restore_ledger(store, sweep.id, spec, search)
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
    lease.hold(sweep_id, name)
    return sweep_id, name, None


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


def _load(spec: str | Path | SweepSpec) -> SweepSpec:
    if isinstance(spec, SweepSpec):
        return spec
    from sweeptrack.spec.load import load_spec

    return load_spec(spec)


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

    return capture_environment(list(sys.argv), cwd).data


def _executor(spec: SweepSpec, log_dir: Path) -> Executor:
    if spec.executor.type is ExecutorType.RAY:
        from sweeptrack.executors.ray import RayExecutor

        return RayExecutor(
            spec.parallel, address=spec.executor.address, log_dir=log_dir, resources=spec.resources
        )
    from sweeptrack.executors.local import LocalExecutor

    cpus = os.cpu_count() or 1
    return LocalExecutor(spec.parallel, cpu_count=cpus, log_dir=log_dir, resources=spec.resources)
