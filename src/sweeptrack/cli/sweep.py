"""``sweeptrack sweep validate|run|resume|list|show|stop``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sweeptrack.cli.common import CliContext, emit, format_option, pass_cli
from sweeptrack.core.errors import SweepTrackError
from sweeptrack.reports.formats import Format

if TYPE_CHECKING:
    from sweeptrack.controller.progress import SweepResult
    from sweeptrack.spec.model import SweepSpec

__all__ = ["sweep"]

F = TypeVar("F", bound=Callable[..., Any])


@click.group()
def sweep() -> None:
    """Define, run, resume and inspect hyperparameter sweeps."""


def strict_option(command: F) -> F:
    """``--strict``: what W&B tolerates (and sweeptrack warns about) is an error instead."""
    return click.option(
        "--strict", is_flag=True, help="Treat warnings about the spec as errors (nothing is run)."
    )(command)


@sweep.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@strict_option
def validate(file: Path, strict: bool) -> None:
    """Check a sweep file without running it (nothing is written)."""
    from sweeptrack.search import Search

    spec = load_spec_file(file, strict=strict)
    _check_program(spec, strict=strict)
    grid = Search(spec).grid_size  # also checks what only the sampler can (e.g. a missing torch)
    limits = [n for n in (spec.run_cap, grid) if n is not None]
    budget = f"{min(limits)} trials" if limits else "until stopped"
    if spec.entrypoint is None and spec.command is None:
        runs = f"a Python function: st.run_sweep({str(file)!r}, function=train)"
    else:
        runs = spec.entrypoint or " ".join(spec.command or ())
    pruner = spec.pruner.type.value if spec.pruner else "none"
    metrics = ", ".join(f"{m.name} ({m.goal.value})" for m in spec.metrics) or "none (trials are not ranked)"
    click.echo(
        f"{file}: ok: method {spec.method.value}, {len(spec.parameters)} parameters, metric {metrics}, "
        f"pruner {pruner}, budget {budget}, parallel {spec.parallel}, runs {runs}"
    )


def _check_program(spec: SweepSpec, *, strict: bool) -> None:
    """The entrypoint must import; a program that is not there (a file validated outside its
    checkout) is a warning, which ``sweep run`` and ``--strict`` make an error."""
    from sweeptrack.core.errors import SpecError
    from sweeptrack.spec.runnable import check_runnable

    try:
        check_runnable(spec, Path.cwd())
    except SpecError as exc:
        if strict or spec.program is None or exc.path != "program":
            raise
        click.echo(f"warning: {exc}; sweep run refuses it until it is there", err=True)


def _run(
    cli: CliContext, controller_args: dict[str, object], spec: SweepSpec, *, all_failed_exit: bool = True
) -> SweepResult:
    from sweeptrack.cli.progress import ProgressDisplay
    from sweeptrack.controller import open_sweep
    from sweeptrack.controller.signals import signals_as_stop
    from sweeptrack.core.model import SweepState

    metric = spec.metrics[0].name if spec.metrics else None
    received: list[int] = []  # Ctrl-C or SIGTERM while the sweep opens: it stops at once
    with ProgressDisplay(metric) as display, signals_as_stop(received.append):
        controller = open_sweep(on_progress=display, liveness=cli.liveness, **controller_args)  # type: ignore[arg-type]
        controller.on_warning = lambda message: click.echo(f"warning: {message}", err=True)
        for signum in received:
            controller.interrupt(signum)
        result = controller.run()
    starved = f"; {result.pruner_starved}" if result.pruner_starved else ""
    interrupted = f", {result.interrupted} interrupted" if result.interrupted else ""
    click.echo(
        f"sweep {result.name} ({result.sweep_id[:8]}) {result.state.value}: {result.trials} trials, "
        f"{result.finished} finished, {result.pruned} pruned, {result.failed} failed{interrupted}, "
        f"{result.elapsed:.1f} s{starved}"
    )
    _show_trials(cli, spec, result.sweep_id, result.finished)
    _register(cli, spec, result, controller_args.get("artifacts"))
    click.echo(f"report: {report_command(cli.db, result.name)}")
    if result.state is SweepState.STOPPED and not result.cap_reached:
        # The last line: what to type to go on (the --trials cap is kept with the sweep).
        click.echo(resume_command(cli.db, _sweep_ref(cli, result.sweep_id, result.name)))
    if result.stop_signal is not None:
        raise click.exceptions.Exit(128 + result.stop_signal)  # 130 for Ctrl-C, 143 for SIGTERM
    all_failed = result.state is SweepState.FINISHED and result.trials and result.failed == result.trials
    if all_failed and all_failed_exit:
        raise click.exceptions.Exit(1)
    return result


def _register(cli: CliContext, spec: SweepSpec, result: SweepResult, artifacts: object) -> None:
    """``register:``: the best trial's artifact becomes the model's next version."""
    from sweeptrack.controller.register import register_best

    version = register_best(spec, result, cli.db, artifacts if isinstance(artifacts, str) else None)
    if version is not None:
        aliased = f" as {', '.join(version.aliases)}" if version.aliases else ""
        click.echo(
            f"registered {version.model} version {version.version}{aliased}: {version.artifact_path} "
            f"of the best trial's run {version.run_id[:8]}"
        )


def _show_trials(cli: CliContext, spec: SweepSpec, sweep_id: str, finished: int) -> None:
    """The leaderboard; without a metric, the sweep's trials (nothing ranks them)."""
    from sweeptrack.reports.leaderboard import leaderboard
    from sweeptrack.reports.runs import runs_report

    if not spec.metrics:
        emit(runs_report(cli.store.search_runs(sweep=sweep_id, order_by="start_time ASC")), Format.TABLE)
        click.echo("no metric: pass --metric NAME to leaderboard or report to rank these trials")
    elif finished:
        board = leaderboard(
            cli.store,
            spec.metric.name,
            goal=spec.metric.goal,
            top=10,
            sweep=sweep_id,
            filter="status = 'finished'",
        )
        emit(board.report(), Format.TABLE)


@sweep.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--parallel", "-p", type=int, help="Trials at once (overrides the spec's parallel).")
@click.option(
    "--trials",
    "-n",
    type=int,
    help="At most this many trials (with run_cap, the smaller); kept for `sweep resume`.",
)
@click.option("--executor", type=click.Choice(["local", "ray"]), help="Overrides the spec's executor.")
@click.option(
    "--address",
    help="Ray cluster for --executor ray: host:port, ray://host:10001, auto, or none (a local Ray).",
)
@click.option("--resume", is_flag=True, help="Continue this spec's newest sweep instead of starting one.")
@click.option("--artifacts", envvar="SWEEPTRACK_ARTIFACTS", help="Artifact root (default: beside the DB).")
@click.option(
    "--replay",
    metavar="SWEEP",
    help="Re-issue the exact configs of this earlier sweep, in its order, and report trial by trial "
    "whether each result matched (exit 1 if one did not).",
)
@click.option(
    "--rtol",
    type=click.FloatRange(min=0),
    default=1e-6,
    show_default=True,
    help="With --replay: relative tolerance for a result to match.",
)
@strict_option
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
    replay: str | None,
    rtol: float,
    strict: bool,
) -> None:
    """Run the sweep defined in FILE, showing progress, then print its leaderboard."""
    from sweeptrack.spec.runnable import require_command_or_entrypoint

    spec = _with_executor(load_spec_file(file, strict=strict), executor, address)
    require_command_or_entrypoint(spec, file)
    if replay is not None:
        _replay(cli, spec, replay, {"parallel": parallel, "artifacts": artifacts}, rtol, resume, trials)
        return
    args = {"spec": spec, "db": cli.db, "parallel": parallel, "trials": trials, "resume": resume}
    _run(cli, {**args, "artifacts": artifacts}, spec)


def _replay(
    cli: CliContext,
    spec: SweepSpec,
    ref: str,
    options: dict[str, object],
    rtol: float,
    resume: bool,
    trials: int | None,
) -> None:
    """``--replay SWEEP``: the earlier sweep's configs in its order, then trial by trial whether
    each result matched."""
    import dataclasses

    from sweeptrack.reproduce.replay import configs, recorded_trials, replay_report, replay_rows

    if resume or trials is not None:
        raise click.UsageError(
            "--replay runs the earlier sweep's trials: it takes neither --resume nor --trials"
        )
    originals = recorded_trials(cli.store, ref)
    # A sweep of its own name (the original's stays the one its name refers to); an audit
    # registers nothing.
    spec = dataclasses.replace(spec, register=None, name=f"{cli.store.get_sweep(ref).name}-replay")
    args = {"spec": spec, "db": cli.db, "replay": configs(originals), **options}
    result = _run(cli, args, spec, all_failed_exit=False)
    rows = replay_rows(cli.store, spec, originals, result.sweep_id, rtol)
    emit(replay_report(rows), Format.TABLE)
    matched = sum(row.matched for row in rows)
    click.echo(f"replay of {ref}: {matched} of {len(rows)} trials matched (rtol {rtol:g})")
    if matched < len(rows):
        raise click.exceptions.Exit(1)


def resume_command(db: str, ref: str) -> str:
    """The command that resumes a sweep, quoted for a POSIX shell (``--db`` unless the default)."""
    return sweeptrack_command(db, "sweep", "resume", ref)


def sweeptrack_command(db: str, *args: str) -> str:
    """A sweeptrack command quoted for a POSIX shell, with ``--db`` unless it is the default."""
    import shlex

    from sweeptrack.cli.main import DEFAULT_DB

    database = [] if db == DEFAULT_DB else ["--db", db]
    return shlex.join(["sweeptrack", *database, *args])


def _sweep_ref(cli: CliContext, sweep_id: str, name: str) -> str:
    """The sweep's name when it names this sweep (the newest of that name), else its id."""
    try:
        return name if cli.store.get_sweep(name).id == sweep_id else sweep_id
    except SweepTrackError:
        return sweep_id


def report_command(db: str, name: str) -> str:
    """The command that writes a sweep's HTML report, quoted for a POSIX shell."""
    import shlex

    return shlex.join(["sweeptrack", "--db", db, "report", name, "--out", f"{name}-report.html"])


def load_spec_file(file: Path, *, strict: bool = False) -> SweepSpec:
    """The spec in ``file``; its warnings are printed to standard error (errors with ``strict``)."""
    from sweeptrack.spec.load import load_spec

    spec = load_spec(file, strict=strict)
    for warning in spec.warnings:
        click.echo(f"warning: {warning}", err=True)
    return spec


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
@click.option(
    "--trials",
    "-n",
    type=int,
    help="At most this many trials in all (replaces the cap the sweep was run with; default: keep it).",
)
@click.option("--artifacts", envvar="SWEEPTRACK_ARTIFACTS", help="Artifact root (default: beside the DB).")
@click.option(
    "--address",
    help="Ray cluster to resume on, when the sweep uses the Ray executor (overrides the spec's).",
)
@pass_cli
def resume(
    cli: CliContext,
    ref: str,
    parallel: int | None,
    trials: int | None,
    artifacts: str | None,
    address: str | None,
) -> None:
    """Continue a stopped or crashed sweep (by id, id prefix or name) where it left off.

    Trials interrupted by Ctrl-C, SIGTERM or a killed controller run again with their configs;
    the next trials get the configs the sweep would have sampled without the interruption."""
    from sweeptrack.cli.names import note_repeated_name
    from sweeptrack.controller.session import resume_spec
    from sweeptrack.spec.model import ExecutorType

    note_repeated_name(cli, ref)
    spec = resume_spec(cli.store, ref)
    if address is not None and spec.executor.type is ExecutorType.RAY:
        spec = _with_executor(spec, None, address)
    sweep_id = cli.store.get_sweep(ref).id
    args = {"spec": spec, "db": cli.db, "parallel": parallel, "trials": trials, "resume": sweep_id}
    args["artifacts"] = artifacts
    _run(cli, args, spec)


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
    from sweeptrack.cli.names import note_repeated_name
    from sweeptrack.reports.sweeps import summarize_sweep

    note_repeated_name(cli, ref)
    logs = sweeptrack_command(cli.db, "runs", "logs")
    emit(summarize_sweep(cli.store, ref, cli.liveness, logs_command=logs).report(), fmt)


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
