"""Compat benchmarks: ``wandb.log`` through sweeptrack's W&B shim, and the Lightning logger's cost.

Run from the repository root::

    .venv/bin/python benchmarks/bench_compat.py                 # both sections, ~1 min
    .venv/bin/python benchmarks/bench_compat.py --only wandb --calls 100000

Rows:
  wandb   ``wandb.log({"loss": x, "acc": y})`` per call, outside a sweep with a real SQLite file
          (goal < 5 us; the real wandb measured about 370 us on the issue's machine), the same
          call inside a sweep trial (events go over the trial channel), and for reference the
          run API's own ``st.log_metrics`` and the general path (a nested dict with commit=False).
  lightning  a tiny model's training epoch with SweeptrackLogger against Lightning's CSVLogger,
          logging every step, in the same process, the two alternating (ABBA rounds) so the
          machine's drift cancels; goal: under 2% added.

Progress goes to stderr, the table (or ``--json``) to stdout; the exit status is 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench_common import MICRO, Row, finish, log, new_parser

SECTIONS = ("wandb", "lightning")
ROW = {"loss": 0.25, "acc": 0.75}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = new_parser(__doc__, SECTIONS)
    parser.add_argument("--calls", type=int, default=200_000, help="wandb.log calls per measurement")
    parser.add_argument("--rounds", type=int, default=4, help="Lightning: ABBA rounds")
    parser.add_argument("--epochs", type=int, default=4, help="Lightning: epochs per fit (first dropped)")
    return parser.parse_args(argv)


def per_call(fns: dict[str, Any], calls: int, repeat: int = 20) -> dict[str, tuple[list[float], list[float]]]:
    """Seconds per call of each ``fn(i)``: ``repeat`` batches of ``calls // repeat`` calls, the
    functions' batches interleaved (so each sees the same machine), as (wall clock, this thread's CPU)."""
    batch = max(calls // repeat, 1)
    found: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.thread_time()
            for i in range(batch):
                fn(i)
            found[name][0].append((time.perf_counter() - wall) / batch)
            found[name][1].append((time.thread_time() - cpu) / batch)
    return found


def wandb_rows(args: argparse.Namespace, workdir: Path) -> list[Row]:
    import sweeptrack as st
    import sweeptrack.compat.wandb as wandb

    db = f"sqlite:///{workdir}/wandb.db"
    os.environ["SWEEPTRACK_DB"] = db  # where wandb.init() puts its run, as in a user's shell
    log(f"wandb.log outside a sweep: {args.calls:,} calls, interleaved with st.log_metrics")
    shim = wandb.init(project="bench")
    run = st.start_run(experiment="bench", capture_environment=False)  # the run API's baseline
    nested = {"train": {"loss": 0.1}, "val": {"acc": 0.2}}
    found = per_call(
        {
            "shim": lambda i: wandb.log({"loss": 1.0 / (i + 1), "acc": 0.5}),
            "api": lambda i: run.log_metrics({"loss": 1.0 / (i + 1), "acc": 0.5}),
            "general": lambda i: shim.log(nested, commit=i % 2 == 1),
        },
        args.calls,
    )
    rows = [
        _row("wandb.log({loss, acc}), SQLite run", *found["shim"], goal=5e-6),
        _row("  for reference: st.log_metrics (run API)", *found["api"]),
        _row("  general path: nested dict, commit every 2nd", *found["general"]),
    ]
    run.end()
    start = time.perf_counter()
    wandb.finish()
    elapsed = time.perf_counter() - start
    rows.append(Row(section="wandb", name="  finish: every point committed", value=elapsed, unit="s"))
    rows.append(_in_trial(args, workdir))
    return rows


def _row(name: str, wall: list[float], cpu: list[float], goal: float | None = None) -> Row:
    seconds = statistics.median(wall)
    note = (
        f"median of {len(wall)} batches, range {min(wall) * 1e6:.2f}-{max(wall) * 1e6:.2f} {MICRO}s; "
        f"CPU {statistics.median(cpu) * 1e6:.2f} {MICRO}s"
    )
    if goal is None:
        return Row(section="wandb", name=name, value=seconds, unit="s", note=note)
    return Row(
        section="wandb",
        name=name,
        value=seconds,
        unit="s",
        goal=f"< {goal * 1e6:g} {MICRO}s",
        ok=seconds < goal,
        note=note,
    )


def _trial_body() -> None:
    """A sweep trial: times its own wandb.log calls and reports the median as a metric."""
    import sweeptrack.compat.wandb as wandb

    wandb.init()
    calls = int(wandb.config["calls"])
    wall, cpu = per_call({"shim": lambda i: wandb.log({"loss": 1.0 / (i + 1), "acc": 0.5})}, calls)["shim"]
    wandb.log(
        {
            "seconds_per_log": statistics.median(wall),
            "best_batch": min(wall),
            "worst_batch": max(wall),
            "cpu_per_log": statistics.median(cpu),
        }
    )


def _in_trial(args: argparse.Namespace, workdir: Path) -> Row:
    import sweeptrack as st
    from sweeptrack.tracking.sql.store import SqlStore

    calls = args.calls // 2
    log(f"wandb.log inside a sweep trial: {calls:,} calls")
    spec = {"method": "grid", "parameters": {"calls": {"value": calls}}, "name": "bench"}
    db = f"sqlite:///{workdir}/trial.db"
    st.run_sweep(spec, db=db, function=_trial_body)
    store = SqlStore(db)
    try:
        (trial,) = store.search_runs()
    finally:
        store.close()
    seconds = trial.metrics["seconds_per_log"].last
    low, high = trial.metrics["best_batch"].last, trial.metrics["worst_batch"].last
    cpu = trial.metrics["cpu_per_log"].last
    note = (
        f"range {low * 1e6:.2f}-{high * 1e6:.2f} {MICRO}s; CPU {cpu * 1e6:.2f} {MICRO}s; all "
        f"{trial.metrics['loss'].count:,} points reached the database through the controller"
    )
    name = "wandb.log({loss, acc}), in a sweep trial"
    return Row(
        section="wandb",
        name=name,
        value=seconds,
        unit="s",
        goal=f"< 5 {MICRO}s",
        ok=seconds < 5e-6,
        note=note,
    )


def lightning_rows(args: argparse.Namespace, workdir: Path) -> list[Row]:
    import lightning as L
    import torch
    from lightning.pytorch.loggers import CSVLogger
    from torch.utils.data import DataLoader, TensorDataset

    from sweeptrack.integrations.lightning import SweeptrackLogger

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)

    class Tiny(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(8, 1)

        def training_step(self, batch: Any, _: int) -> Any:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            self.log("lr", 0.01)
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    class EpochClock(L.Callback):
        def __init__(self) -> None:
            self.times: list[tuple[float, float]] = []  # (wall clock, the training thread's CPU)

        def on_train_epoch_start(self, *_: Any) -> None:
            self._start = (time.perf_counter(), time.thread_time())

        def on_train_epoch_end(self, *_: Any) -> None:
            wall, cpu = self._start
            self.times.append((time.perf_counter() - wall, time.thread_time() - cpu))

    x = torch.randn(4096, 8)
    data = DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=32)
    steps = len(data)

    def epoch_times(kind: str, index: int) -> list[tuple[float, float]]:
        if kind == "csv":
            logger: Any = CSVLogger(str(workdir / "csv"), name=f"r{index}")
        else:
            logger = SweeptrackLogger(experiment="bench", db=f"sqlite:///{workdir}/lightning.db")
        clock = EpochClock()
        trainer = L.Trainer(
            max_epochs=args.epochs,
            logger=logger,
            callbacks=[clock],
            log_every_n_steps=1,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            default_root_dir=str(workdir),
        )
        trainer.fit(Tiny(), data)
        return clock.times[1:]  # the first epoch warms up

    # Each ABBA round gives one ratio of the two loggers' median epochs: drift between rounds cancels.
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    epochs: dict[str, list[tuple[float, float]]] = {"csv": [], "st": []}
    for index in range(args.rounds):
        order = ("csv", "st", "st", "csv") if index % 2 == 0 else ("st", "csv", "csv", "st")
        found: dict[str, list[tuple[float, float]]] = {"csv": [], "st": []}
        for kind in order:
            found[kind] += epoch_times(kind, index)
        for column, into in ((0, ratios), (1, cpu_ratios)):
            st_median = statistics.median(t[column] for t in found["st"])
            into.append(st_median / statistics.median(t[column] for t in found["csv"]))
        for kind in found:
            epochs[kind] += found[kind]
        log(f"lightning round {index + 1}/{args.rounds}: ratio {ratios[-1]:.3f}")
    csv = statistics.median(t[0] for t in epochs["csv"])
    ours = statistics.median(t[0] for t in epochs["st"])
    added = (statistics.median(ratios) - 1) * 100
    cpu_added = (statistics.median(cpu_ratios) - 1) * 100
    spread = f"rounds {min(ratios) * 100 - 100:+.1f}% to {max(ratios) * 100 - 100:+.1f}%"
    return [
        Row(
            section="lightning",
            name=f"epoch, CSVLogger ({steps} steps, logging each)",
            value=csv,
            unit="s",
            note=f"median of {len(epochs['csv'])} epochs",
        ),
        Row(
            section="lightning",
            name="epoch, SweeptrackLogger",
            value=ours,
            unit="s",
            note=f"median of {len(epochs['st'])} epochs",
        ),
        Row(
            section="lightning",
            name="SweeptrackLogger added vs CSVLogger",
            value=round(added, 2),
            unit="%",
            goal="< 2%",
            ok=added < 2,
            note=f"median of {args.rounds} ABBA rounds' ratios ({spread}); training thread CPU "
            f"{cpu_added:+.1f}%",
        ),
        *_logger_calls(workdir, csv / steps),
    ]


def _logger_calls(workdir: Path, step_seconds: float) -> list[Row]:
    """Each logger's ``log_metrics`` on its own (what Lightning calls once a step here), and the
    share of a training step that is: a measure the machine's load barely moves."""
    from lightning.pytorch.loggers import CSVLogger

    from sweeptrack.integrations.lightning import SweeptrackLogger

    theirs = CSVLogger(str(workdir / "calls"), name="calls")
    ours = SweeptrackLogger(experiment="calls", db=f"sqlite:///{workdir}/calls.db")
    row = {"train_loss": 0.5, "lr": 0.01, "epoch": 0.0}
    found = per_call(
        {"csv": lambda i: theirs.log_metrics(row, i), "st": lambda i: ours.log_metrics(row, i)}, 40_000
    )
    ours.finalize("success")
    rows = []
    for kind, name in (("csv", "CSVLogger"), ("st", "SweeptrackLogger")):
        wall, cpu = found[kind]
        share = statistics.median(wall) / step_seconds * 100
        rows.append(
            Row(
                section="lightning",
                name=f"  {name}.log_metrics, one call (3 metrics)",
                value=statistics.median(wall),
                unit="s",
                note=f"CPU {statistics.median(cpu) * 1e6:.2f} {MICRO}s; {share:.2f}% of a training step",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sections = args.only or SECTIONS
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-compat-") as folder:
        workdir = Path(folder)
        if "wandb" in sections:
            rows += wandb_rows(args, workdir)
        if "lightning" in sections:
            rows += lightning_rows(args, workdir)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    rows.append(
        Row(
            section="machine",
            name=f"load average before the end ({os.cpu_count()} CPUs)",
            value=None,
            unit="",
            note=load,
        )
    )
    return finish(rows, as_json=args.json, calls=args.calls)


if __name__ == "__main__":
    sys.exit(main())
