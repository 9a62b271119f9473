"""``sweeptrack sweep validate|run|resume|list|show|stop``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from sweeptrack.cli.common import CliContext, emit, format_option, pass_cli
from sweeptrack.reports.formats import Format

if TYPE_CHECKING:
    from sweeptrack.spec.model import SweepSpec

__all__ = ["sweep"]


@click.group()
def sweep() -> None:
    """Define, run, resume and inspect hyperparameter sweeps."""


@sweep.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def validate(file: Path) -> None:
    """Check a sweep file without running it (nothing is written)."""
    from sweeptrack.search import Search
    from sweeptrack.spec.load import load_spec
    from sweeptrack.spec.runnable import check_runnable

    spec = load_spec(file)
    check_runnable(spec, Path.cwd())
    grid = Search(spec).grid_size  # also checks what only the sampler can (e.g. a missing torch)
    limits = [n for n in (spec.run_cap, grid) if n is not None]
    budget = f"{min(limits)} trials" if limits else "until stopped"
    runs = spec.entrypoint or " ".join(spec.command or (spec.program or "",))
    pruner = spec.pruner.type.value if spec.pruner else "none"
    metrics = ", ".join(f"{m.name} ({m.goal.value})" for m in spec.metrics)
    click.echo(
        f"{file}: ok: method {spec.method.value}, {len(spec.parameters)} parameters, metric {metrics}, "
        f"pruner {pruner}, budget {budget}, parallel {spec.parallel}, runs {runs}"
    )


def _run(cli: CliContext, controller_args: dict[str, object], metric: str) -> None:
    from sweeptrack.cli.progress import ProgressDisplay
    from sweeptrack.controller import open_sweep
    from sweeptrack.core.model import SweepState
    from sweeptrack.reports.leaderboard import leaderboard

    with ProgressDisplay(metric) as display:
        controller = open_sweep(on_progress=display, liveness=cli.liveness, **controller_args)  # type: ignore[arg-type]
        result = controller.run()
    click.echo(
        f"sweep {result.name} ({result.sweep_id[:8]}) {result.state.value}: {result.trials} trials, "
        f"{result.finished} finished, {result.pruned} pruned, {result.failed} failed, {result.elapsed:.1f} s"
    )
    spec = controller.spec
    if result.finished:
        board = leaderboard(
            cli.store,
            metric,
            goal=spec.metric.goal,
            top=10,
            sweep=result.sweep_id,
            filter="status = 'finished'",
        )
        emit(board.report(), Format.TABLE)
    click.echo(f"report: {report_command(cli.db, result.name)}")
    if result.state is SweepState.FINISHED and result.trials and result.failed == result.trials:
        raise click.exceptions.Exit(1)


@sweep.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--parallel", "-p", type=int, help="Trials at once (overrides the spec's parallel).")
@click.option("--trials", "-n", type=int, help="At most this many trials (with run_cap, the smaller).")
@click.option("--executor", type=click.Choice(["local", "ray"]), help="Overrides the spec's executor.")
@click.option(
    "--address",
    help="Ray cluster for --executor ray: host:port, ray://host:10001, auto, or none (a local Ray).",
)
@click.option("--resume", is_flag=True, help="Continue this spec's newest sweep instead of starting one.")
@click.option("--artifacts", envvar="SWEEPTRACK_ARTIFACTS", help="Artifact root (default: beside the DB).")
@pass_cli
def run(
    cli: CliContext,
    file: Path,
    parallel: int | None,
    trials: int | None,
    executor: str | None,
    address: str | None,
    resume: bool,
    artifacts: str | None,
) -> None:
    """Run the sweep defined in FILE, showing progress, then print its leaderboard."""
    spec = _with_executor(load_spec_file(file), executor, address)
    args = {"spec": spec, "db": cli.db, "parallel": parallel, "trials": trials, "resume": resume}
    _run(cli, {**args, "artifacts": artifacts}, spec.metric.name)


def report_command(db: str, name: str) -> str:
    """The command that writes a sweep's HTML report, quoted for a POSIX shell."""
    import shlex

    return shlex.join(["sweeptrack", "--db", db, "report", name, "--out", f"{name}-report.html"])


def load_spec_file(file: Path) -> SweepSpec:
    from sweeptrack.spec.load import load_spec

    return load_spec(file)


def _with_executor(spec: SweepSpec, executor: str | None, address: str | None) -> SweepSpec:
    """The spec with ``--executor`` and ``--address`` applied (an address alone keeps the type)."""
    import dataclasses

    from sweeptrack.spec.model import ExecutorSpec, ExecutorType

    if executor is None and address is None:
        return spec
    kind = ExecutorType(executor) if executor is not None else spec.executor.type
    if address is not None and kind is not ExecutorType.RAY:
        raise click.UsageError("--address applies to --executor ray (or a spec with executor: {type: ray})")
    chosen = address if address is not None else spec.executor.address
    return dataclasses.replace(spec, executor=ExecutorSpec(type=kind, address=chosen))


@sweep.command()
@click.argument("ref", metavar="SWEEP")
@click.option("--parallel", "-p", type=int, help="Trials at once (overrides the spec's parallel).")
@click.option("--artifacts", envvar="SWEEPTRACK_ARTIFACTS", help="Artifact root (default: beside the DB).")
@click.option(
    "--address",
    help="Ray cluster to resume on, when the sweep uses the Ray executor (overrides the spec's).",
)
@pass_cli
def resume(
    cli: CliContext, ref: str, parallel: int | None, artifacts: str | None, address: str | None
) -> None:
    """Continue a stopped or crashed sweep (by id, id prefix or name) where it left off."""
    from sweeptrack.controller.session import resume_spec
    from sweeptrack.spec.model import ExecutorType

    spec = resume_spec(cli.store, ref)
    if address is not None and spec.executor.type is ExecutorType.RAY:
        spec = _with_executor(spec, None, address)
    sweep_id = cli.store.get_sweep(ref).id
    args = {"spec": spec, "db": cli.db, "parallel": parallel, "resume": sweep_id, "artifacts": artifacts}
    _run(cli, args, spec.metric.name)


@sweep.command("list")
@click.option("--experiment", "-e", help="Only sweeps of this experiment.")
@format_option
@pass_cli
def list_(cli: CliContext, experiment: str | None, fmt: Format) -> None:
    """Sweeps, newest first, with their trial counts; ``orphaned``: its controller is gone."""
    from sweeptrack.reports.sweeps import sweeps_report

    emit(sweeps_report(cli.store, cli.store.list_sweeps(experiment), cli.liveness), fmt)


@sweep.command()
@click.argument("ref", metavar="SWEEP")
@format_option
@pass_cli
def show(cli: CliContext, ref: str, fmt: Format) -> None:
    """A sweep's spec, state, counts, best trial and the compute pruning saved."""
    from sweeptrack.reports.sweeps import summarize_sweep

    emit(summarize_sweep(cli.store, ref, cli.liveness).report(), fmt)


@sweep.command()
@click.argument("ref", metavar="SWEEP")
@pass_cli
def stop(cli: CliContext, ref: str) -> None:
    """Ask a running sweep to start no new trial; running trials finish. An orphaned sweep (its
    controller is gone) is marked stopped at once."""
    import time

    from sweeptrack.core.model import SweepState
    from sweeptrack.reports.formats import format_time

    found = cli.store.get_sweep(ref)
    if found.state.is_terminal:
        click.echo(f"sweep {found.name} ({found.id[:8]}) is already {found.state.value}")
        return
    if cli.liveness.sweep_orphaned(found, int(time.time() * 1000)):
        cli.store.set_sweep_state(found.id, SweepState.STOPPED)
        last = "never" if found.lease is None else format_time(found.lease.heartbeat_at)
        click.echo(
            f"sweep {found.name} ({found.id[:8]}) was orphaned (its controller's last heartbeat: "
            f"{last}): marked stopped; `sweeptrack sweep resume {found.name}` continues it"
        )
        return
    cli.store.set_sweep_state(found.id, SweepState.STOPPING)
    click.echo(f"sweep {found.name} ({found.id[:8]}): stop requested; running trials will finish")
