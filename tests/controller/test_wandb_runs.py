"""W&B sweep files run unchanged through `sweeptrack sweep run`, and a metric that is not real
is named: what the first finished trial logged instead, and a pruner that never got a value."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from sweeptrack.core.model import RunStatus
from sweeptrack.tracking.sql.store import SqlStore

from .conftest import SpecWriter

PROGRAM = """
import json, sys
from pathlib import Path
import sweeptrack as st

json_file = next((a for a in sys.argv[1:] if a.endswith("args.json")), None)
given = json.loads(Path(json_file).read_text()) if json_file else {}
st.set_tags({"argv": json.dumps(sys.argv[1:]), "json_file": json_file or "", "given": json.dumps(given)})
st.log_metrics({"acc": 0.5, "loss": 1.0}, step=0)
"""

HYDRA = """
name: hydra
program: main.py
method: grid
parameters:
  model.depth: {values: [18, 34]}
command:
  - ${env}
  - ${interpreter}
  - ${program}
  - hydra.run.dir=outputs/${now:%Y-%m-%d_%H-%M-%S}
  - +run_id=${oc.env:WANDB_RUN_ID}
  - ${args_json_file}
  - ${args_no_hyphens}
"""


def cli(workdir: Path, *args: str, path: Path | None = None) -> tuple[int, str, str]:
    """The console script; ``path`` goes first on PATH, before this Python's folder (the files
    say ``python``, and it must be the one sweeptrack is installed in)."""
    env = {k: v for k, v in os.environ.items() if k != "SWEEPTRACK_DB"}
    folders = [*([str(path)] if path else []), str(Path(sys.executable).parent), env["PATH"]]
    exe = Path(sys.executable).with_name("sweeptrack")
    proc = subprocess.run(
        [str(exe), *args],
        cwd=workdir,
        env={**env, "PATH": os.pathsep.join(folders)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def trials(workdir: Path, sweep: str) -> list:  # type: ignore[type-arg]
    store = SqlStore(f"sqlite:///{workdir}/sweeptrack.db")
    try:
        return sorted(store.search_runs(sweep=store.get_sweep(sweep).id), key=lambda r: r.trial_number)
    finally:
        store.close()


def test_hydra_command_without_metric_runs_unchanged(write_spec: SpecWriter, workdir: Path) -> None:
    (workdir / "main.py").write_text(PROGRAM)
    code, out, err = cli(workdir, "sweep", "run", str(write_spec("s.yaml", HYDRA)))
    assert code == 0 and err == "", err
    assert "sweep hydra (" in out and ") finished: 2 trials, 2 finished, 0 pruned, 0 failed" in out
    assert "no metric: pass --metric NAME to leaderboard or report to rank these trials" in out
    runs = trials(workdir, "hydra")
    assert [run.status for run in runs] == [RunStatus.FINISHED, RunStatus.FINISHED]
    argv = json.loads(runs[0].tags["argv"])
    assert argv[:2] == ["hydra.run.dir=outputs/${now:%Y-%m-%d_%H-%M-%S}", "+run_id=${oc.env:WANDB_RUN_ID}"]
    assert argv[3:] == ["model.depth=18"]
    assert json.loads(runs[1].tags["given"]) == {"model.depth": 34}
    # ${args_json_file} was there while the trial ran, and nothing is left behind after it
    assert all(run.tags["json_file"].endswith("args.json") for run in runs)
    assert not any(Path(run.tags["json_file"]).exists() for run in runs)
    assert not Path(runs[0].tags["json_file"]).parent.parent.exists()


def test_ranking_a_sweep_without_metric_asks_for_one(write_spec: SpecWriter, workdir: Path) -> None:
    (workdir / "main.py").write_text(PROGRAM)
    assert cli(workdir, "sweep", "run", str(write_spec("s.yaml", HYDRA)))[0] == 0
    wanted = "error: sweep 'hydra' has no metric; pass --metric NAME to rank its runs\n"
    assert cli(workdir, "leaderboard", "--sweep", "hydra")[::2] == (2, wanted)
    assert cli(workdir, "report", "hydra", "--format", "md")[::2] == (2, wanted)
    code, out, _ = cli(workdir, "leaderboard", "--sweep", "hydra", "--metric", "acc", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 2
    code, out, _ = cli(workdir, "sweep", "show", "hydra", "--format", "json")
    shown = json.loads(out)
    assert (shown["metric"], shown["trials finished"], shown["best trial"]) == (None, 2, None)


MODULE = """
import sys
import sweeptrack as st

args = dict(arg.split("=", 1) for arg in sys.argv[1:])
st.log_metrics({"loss": float(args["lr"])}, step=0)
"""


def test_a_module_program_runs_with_python_m(write_spec: SpecWriter, workdir: Path) -> None:
    (workdir / "sweeps" / "pkg").mkdir(parents=True)
    (workdir / "sweeps" / "pkg" / "__init__.py").write_text("")
    (workdir / "sweeps" / "pkg" / "train.py").write_text(MODULE)
    spec = write_spec(
        "sweeps/m.yaml",
        """
        name: mod
        program: pkg.train
        method: grid
        metric: {name: loss, goal: minimize}
        parameters:
          lr: {values: [0.1, 0.2]}
        command: [${env}, python, -m, ${program}, ${args_no_hyphens}]
        """,
    )
    code, out, err = cli(workdir, "sweep", "run", str(spec))  # pkg/ is beside the spec, not in cwd
    assert code == 0, err + out
    assert [run.metrics["loss"].last for run in trials(workdir, "mod")] == [0.1, 0.2]


CONSOLE_SCRIPT = f"""#!{sys.executable}
import sys
import sweeptrack as st

st.log_metrics({{"loss": float(sys.argv[1].split("=")[1])}}, step=0)
"""


def test_a_console_script_on_path_runs(write_spec: SpecWriter, workdir: Path) -> None:
    script = workdir / "bin" / "st-wandb-console"
    script.parent.mkdir()
    script.write_text(CONSOLE_SCRIPT)
    script.chmod(0o755)
    spec = write_spec(
        "c.yaml",
        """
        name: console
        program: st-wandb-console
        method: grid
        metric: {name: loss}
        parameters:
          lr: {values: [0.5]}
        command: [${env}, ${program}, ${args}]
        """,
    )
    code, out, err = cli(workdir, "sweep", "run", str(spec), path=script.parent)
    assert code == 0, err + out
    assert [run.metrics["loss"].last for run in trials(workdir, "console")] == [0.5]


TYPO = """
name: typo
method: grid
metric: {name: val_acc, goal: maximize}
entrypoint: trialfns_f1:train
parameters:
  x: {values: [1, 2, 3]}
"""

LOGS_F1 = """
import sweeptrack as st

def train(params):
    for epoch in range(2):
        st.log_metrics({"loss": 1.0 / params["x"], "val_f1": 0.1 * params["x"]}, step=epoch)
"""


def test_a_metric_no_trial_logs_is_named_once_with_what_was_logged(
    write_spec: SpecWriter, workdir: Path
) -> None:
    (workdir / "trialfns_f1.py").write_text(LOGS_F1)
    code, out, err = cli(workdir, "sweep", "run", str(write_spec("t.yaml", TYPO)))
    warning = (
        "warning: trial 0 finished without logging the sweep's metric 'val_acc'; "
        "it logged: loss, val_f1 (did you mean 'val_f1'?)"
    )
    assert err.splitlines() == [warning]
    assert code == 1  # every trial failed: the metric was never logged
    code, out, _ = cli(workdir, "sweep", "show", "typo", "--format", "json")
    assert json.loads(out)["warning"] == warning.removeprefix("warning: ")
    code, out, _ = cli(workdir, "sweep", "show", "typo")
    assert "it logged: loss, val_f1" in out


STARVED = """
name: starved
method: grid
metric: {name: loss, goal: minimize}
entrypoint: trialfns_ret:train
early_terminate: {type: median, n_startup_trials: 1}
parameters:
  x: {values: [1, 2, 3]}
"""

RETURNS = """
def train(params):
    return float(params["x"])  # the objective, returned: no intermediate value ever streams
"""


def test_a_pruner_that_never_got_a_value_says_so(write_spec: SpecWriter, workdir: Path) -> None:
    (workdir / "trialfns_ret.py").write_text(RETURNS)
    code, out, err = cli(workdir, "sweep", "run", str(write_spec("p.yaml", STARVED)))
    assert code == 0, err
    note = "pruning never got a value of 'loss', so nothing could be pruned"
    (line,) = [line for line in out.splitlines() if line.startswith("sweep starved (")]
    assert re.fullmatch(
        rf"sweep starved \(\w+\) finished: 3 trials, 3 finished, 0 pruned, 0 failed, "
        rf"[0-9.]+ s; {re.escape(note)}",
        line,
    ), line
    code, out, _ = cli(workdir, "sweep", "show", "starved", "--format", "json")
    assert json.loads(out)["pruning"] == note


def test_a_fed_pruner_has_no_such_note(write_spec: SpecWriter, workdir: Path) -> None:
    code, out, _ = cli(
        workdir,
        "sweep",
        "run",
        str(write_spec("q.yaml", STARVED.replace("trialfns_ret:train", "trialfns:quadratic"))),
    )
    assert code == 0 and "pruning never got" not in out
    code, out, _ = cli(workdir, "sweep", "show", "starved", "--format", "json")
    assert "pruning" not in json.loads(out)


def test_a_sweep_without_metric_resumes_to_its_budget(write_spec: SpecWriter, workdir: Path) -> None:
    (workdir / "main.py").write_text(PROGRAM)
    spec = write_spec(
        "g.yaml", "name: plain\nprogram: main.py\nmethod: grid\nparameters: {a: {values: [1, 2, 3]}}\n"
    )
    code, out, err = cli(workdir, "sweep", "run", str(spec), "--trials", "2")
    assert code == 0 and ") stopped: 2 trials, 2 finished" in out, err
    code, out, err = cli(workdir, "sweep", "resume", "plain", "--trials", "3")
    assert code == 0 and ") finished: 3 trials, 3 finished, 0 pruned, 0 failed" in out, err
    runs = trials(workdir, "plain")
    assert sorted(run.params["a"] for run in runs) == [1, 2, 3]
    assert {run.status for run in runs} == {RunStatus.FINISHED}


def test_leaderboard_of_a_sweep_ranks_by_its_metric_by_default(write_spec: SpecWriter, workdir: Path) -> None:
    spec = write_spec("q.yaml", STARVED.replace("trialfns_ret:train", "trialfns:quadratic"))
    assert cli(workdir, "sweep", "run", str(spec))[0] == 0
    code, out, err = cli(workdir, "leaderboard", "--sweep", "starved", "--format", "json")
    assert code == 0, err
    assert [row["params.x"] for row in json.loads(out)][:2] == [3, 2]
