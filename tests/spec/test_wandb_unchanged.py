"""W&B sweep files run unchanged: macros only where W&B substitutes them, module and console-script
programs, no metric for grid and random, and files that name no program at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sweeptrack.core.errors import SpecError
from sweeptrack.spec import build_argv, check_runnable, load_spec, load_spec_text

from .test_lenient import sweeptrack

WANDB = Path(__file__).parent / "wandb"
ENV = [] if os.name == "nt" else ["/usr/bin/env"]


def test_text_w_and_b_does_not_substitute_reaches_the_program_as_written(tmp_path: Path) -> None:
    spec = load_spec(WANDB / "hydra_passthrough.yaml")
    assert spec.warnings == () and spec.metrics == ()
    argv = build_argv(
        spec, {"model.depth": 18, "optimizer.lr": 0.01}, python="python3", environ={}, json_file_dir=tmp_path
    )
    assert argv == [
        *ENV,
        "python3",
        "main.py",
        "hydra.run.dir=outputs/${now:%Y-%m-%d_%H-%M-%S}",
        "+run_id=${oc.env:WANDB_RUN_ID}",
        "model.depth=18",
        "optimizer.lr=0.01",
    ]


@pytest.mark.parametrize(
    ("item", "expanded"),
    [
        ("${interpreter}", ["py"]),
        ("${program}", ["train.py"]),
        ("${args}", ["--lr=0.1", "--fast=True"]),
        ("${args_no_hyphens}", ["lr=0.1", "fast=True"]),
        ("${args_no_boolean_flags}", ["--lr=0.1", "--fast"]),
        ("${args_json}", ['{"lr": 0.1, "fast": true}']),
        ("${envvar:DATA}", ["/data"]),
        ("${foo}", ["${foo}"]),  # not a W&B macro nor a parameter: as written
        ("--lr=${lr}", ["--lr=0.1"]),  # sweeptrack's extension: a parameter inside an item
        ("${oc.env:HOME}", ["${oc.env:HOME}"]),
    ],
)
def test_whole_items_are_substituted_as_w_and_b_does(item: str, expanded: list[str], tmp_path: Path) -> None:
    spec = load_spec_text(
        "method: grid\nprogram: train.py\nparameters: {lr: {values: [0.1]}, fast: {values: [true]}}\n"
        f"command: ['{item}']\n"
    )
    params = {"lr": 0.1, "fast": True}
    assert (
        build_argv(spec, params, python="py", environ={"DATA": "/data"}, json_file_dir=tmp_path) == expanded
    )


def module_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "sweep.yaml"
    spec.write_text((WANDB / "module_program.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return spec


@pytest.mark.parametrize("layout", ["pkg/train.py", "pkg/train/__main__.py"])
def test_a_module_program_resolves_as_python_m_finds_it(layout: str, tmp_path: Path) -> None:
    (tmp_path / layout).parent.mkdir(parents=True)
    (tmp_path / layout).write_text("print('hi')\n", encoding="utf-8")
    spec = load_spec(module_spec(tmp_path))
    check_runnable(spec, tmp_path / "pkg")  # found in the spec's folder, not the working directory
    done = sweeptrack("sweep", "validate", "sweep.yaml", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.rstrip().endswith("runs ${env} python -m ${program} ${args_no_hyphens}")


def test_a_missing_module_program_names_both_files(tmp_path: Path) -> None:
    spec = load_spec(module_spec(tmp_path))
    message = (
        "sweep.yaml:2 program: module 'pkg.train' not found: no pkg/train.py or "
        f"pkg/train/__main__.py in {tmp_path}"
    )
    with pytest.raises(SpecError) as info:
        check_runnable(spec, tmp_path)
    assert str(info.value) == f"{tmp_path}/{message}"
    done = sweeptrack("sweep", "run", "sweep.yaml", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (2, f"error: {message}\n")
    done = sweeptrack("sweep", "validate", "sweep.yaml", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stderr == f"warning: {message}; sweep run refuses it until it is there\n"
    assert not (tmp_path / "sweeptrack.db").exists()


def test_a_console_script_on_path_is_a_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "st-wandb-train"
    script.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "s.yaml").write_text(
        "method: random\nrun_cap: 1\nparameters: {lr: {values: [1]}}\nprogram: st-wandb-train\n"
        "command: [${program}, ${args}]\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    done = sweeptrack("sweep", "validate", "s.yaml", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_validate_outside_the_checkout_warns_and_run_refuses(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "method: random\nmetric: {name: loss}\nparameters: {lr: {values: [1]}}\nprogram: train.py\n",
        encoding="utf-8",
    )
    looked = f"looked in {tmp_path}"
    done = sweeptrack("sweep", "validate", "s.yaml", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("s.yaml: ok: method random")
    assert done.stderr == (
        f"warning: s.yaml:4 program: file 'train.py' not found ({looked}); "
        "sweep run refuses it until it is there\n"
    )
    done = sweeptrack("sweep", "validate", "--strict", "s.yaml", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        2,
        f"error: s.yaml:4 program: file 'train.py' not found ({looked})\n",
    )
    done = sweeptrack("sweep", "run", "s.yaml", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        2,
        f"error: s.yaml:4 program: file 'train.py' not found ({looked})\n",
    )
    assert not (tmp_path / "sweeptrack.db").exists()


@pytest.mark.parametrize("method", ["grid", "random"])
def test_grid_and_random_need_no_metric(method: str) -> None:
    spec = load_spec_text(f"method: {method}\nparameters: {{x: {{values: [1, 2]}}}}\nentrypoint: a:b\n")
    assert spec.metrics == ()
    with pytest.raises(SpecError, match="this sweep has no metric; pass --metric NAME to rank its runs"):
        _ = spec.metric


def test_a_sweep_without_metric_says_so_in_validate(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("method: grid\nparameters: {x: {values: [1, 2]}}\n", encoding="utf-8")
    done = sweeptrack("sweep", "validate", "s.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "metric none (trials are not ranked), pruner none, budget 2 trials" in done.stdout


def test_a_file_with_neither_program_nor_entrypoint_is_a_function_sweep(tmp_path: Path) -> None:
    spec = load_spec(WANDB / "function_sweep.yaml")
    assert (spec.entrypoint, spec.program, spec.command) == (None, None, None)
    path = tmp_path / "fn.yaml"
    path.write_text((WANDB / "function_sweep.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    done = sweeptrack("sweep", "validate", "fn.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("runs a Python function: st.run_sweep('fn.yaml', function=train)")
    done = sweeptrack("sweep", "run", "fn.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "error: fn.yaml: this sweep has neither program nor entrypoint; run it from Python with "
        'st.run_sweep("fn.yaml", function=train)\n'
    )
    assert not (tmp_path / "sweeptrack.db").exists()
