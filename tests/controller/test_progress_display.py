"""What a sweep shows while it runs: a rich progress bar on a terminal, a plain line every 10 s
or each tenth of the budget in a log (CI), and no ETA until the sweep can estimate one."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from sweeptrack.cli.progress import ProgressDisplay
from sweeptrack.controller import SweepProgress

from .conftest import SpecWriter, sweeptrack_cli

GRID = """
name: {name}
method: grid
parallel: 1
metric: {{name: loss, goal: minimize}}
entrypoint: trialfns:quadratic
parameters:
  x: {{values: [{values}]}}
  epochs: {{value: 1}}
"""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_cli(workdir: Path, *args: str) -> tuple[int, list[str], str]:
    proc = sweeptrack_cli(*args, cwd=workdir)
    out, err = proc.communicate(timeout=180)
    return proc.returncode, out.splitlines(), err


def progress_lines(lines: list[str], name: str) -> list[str]:
    return [line for line in lines if line.startswith(f"{name}: ")]


def test_a_log_gets_a_line_per_tenth_of_the_budget_not_per_trial(
    write_spec: SpecWriter, workdir: Path
) -> None:
    values = ", ".join(str(x) for x in range(40))
    code, out, err = run_cli(
        workdir, "sweep", "run", str(write_spec("s.yaml", GRID.format(name="tenths", values=values)))
    )
    assert code == 0, err
    lines = progress_lines(out, "tenths")
    (summary,) = [line for line in out if line.startswith("sweep tenths (")]
    elapsed = float(summary.rsplit(", ", 1)[1].removesuffix(" s"))
    # The start, one per tenth, and one more each 10 s the sweep took: not one per trial.
    assert len(lines) <= 1 + 10 + int(elapsed // 10)
    done = [int(line.split(": ")[1].split("/")[0]) for line in lines]
    assert set(range(4, 41, 4)) <= set(done)  # each tenth of the budget, as it is reached
    assert lines[-1].startswith(
        "tenths: 40/40 done, 0 running, 40 finished, 0 pruned, 0 failed | best loss 0"
    )
    assert "\x1b" not in "\n".join(out)  # plain text: no terminal codes in a log


def test_a_resumed_sweep_shows_no_eta_until_it_can_estimate(write_spec: SpecWriter, workdir: Path) -> None:
    spec = write_spec("s.yaml", GRID.format(name="again", values="1, 2, 3, 4, 5, 6"))
    code, _, err = run_cli(workdir, "sweep", "run", str(spec), "--trials", "3")
    assert code == 0, err
    code, out, err = run_cli(workdir, "sweep", "resume", "again", "--trials", "6")
    assert code == 0, err
    lines = progress_lines(out, "again")
    assert lines[0].startswith("again: 3/6 done, ")
    assert "ETA" not in lines[0]  # 3 trials restored, none ended in this run yet: no 0:00:00
    assert lines[-1].startswith("again: 6/6 done")


def _progress(done: int, *, budget: int | None, elapsed: float, eta: float | None = None) -> SweepProgress:
    return SweepProgress(
        sweep_id="s" * 32,
        name="cadence",
        budget=budget,
        dispatched=done,
        running=1,
        finished=done,
        pruned=0,
        failed=0,
        killed=0,
        best_value=None,
        best_trial=None,
        elapsed=elapsed,
        eta=eta,
    )


def test_without_a_budget_a_log_gets_a_line_every_10_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    with ProgressDisplay("loss", live=False, clock=lambda: now[0]) as display:
        for second in range(35):  # a report each second, a trial ending each one
            now[0] = float(second)
            display(_progress(second, budget=None, elapsed=second))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" done")[0] for line in lines] == [
        "cadence: 0",
        "cadence: 10",
        "cadence: 20",
        "cadence: 30",
        "cadence: 34",  # the last state, at the end
    ]
    assert all("ETA" not in line for line in lines)


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError as exc:  # EIO: the other side of the terminal closed
            if exc.errno == errno.EIO:
                break
            raise
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_terminal_shows_a_progress_bar_with_outcomes_and_best_value(
    write_spec: SpecWriter, workdir: Path
) -> None:
    spec = write_spec("s.yaml", GRID.format(name="bar", values="1, 3, 5, 7"))
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 120 columns
    env = {k: v for k, v in os.environ.items() if k not in ("SWEEPTRACK_DB", "NO_COLOR", "COLUMNS")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("sweeptrack")), "sweep", "run", str(spec)],
        cwd=workdir,
        env={**env, "TERM": "xterm-256color"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    try:
        screen = _read_all(master).decode("utf-8", "replace")
        assert proc.wait(timeout=120) == 0, screen
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = _ANSI.sub("", screen)
    assert "━" in text  # the bar
    assert "4/4 4 finished, 0 pruned, 0 failed | best loss 0 (trial 1)" in text
    assert not re.search(r"^bar: \d+/4 done", text, re.MULTILINE)  # no plain lines on a terminal
