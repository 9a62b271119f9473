"""W&B command macros expand into argv as the W&B agent does."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from sweeptrack.core.errors import SpecError
from sweeptrack.spec import SweepSpec, build_argv, load_spec_text

ENV = [] if os.name == "nt" else ["/usr/bin/env"]


def spec_with(command: str | None, params: str = "") -> SweepSpec:
    text = textwrap.dedent(
        """\
        method: random
        metric: {name: loss}
        program: train.py
        parameters:
          lr: {min: 0.00001, max: 0.1}
          bs: {values: [16, 32]}
          flag: {values: [true, false]}
          name: {values: [adam, sgd]}
        """
    )
    text += textwrap.indent(textwrap.dedent(params), "  ")
    if command is not None:
        text += f"command:\n{textwrap.indent(textwrap.dedent(command), '  ')}"
    return load_spec_text(text, source="t.yaml")


PARAMS = {"lr": 1e-05, "bs": 32, "flag": True, "name": "adam"}


def argv(spec: SweepSpec, params: dict[str, object], tmp_path: Path, **environ: str) -> list[str]:
    return build_argv(
        spec, params, python="/opt/py/bin/python", environ=environ, json_file_dir=tmp_path / "t1"
    )


def test_default_command(tmp_path: Path) -> None:
    assert argv(spec_with(None), PARAMS, tmp_path) == [
        *ENV,
        "/opt/py/bin/python",
        "train.py",
        "--lr=1e-05",
        "--bs=32",
        "--flag=True",
        "--name=adam",
    ]


def test_argument_styles(tmp_path: Path) -> None:
    spec = spec_with(
        """\
        - ${interpreter}
        - ${program}
        - ${args_no_hyphens}
        - --
        - ${args_no_boolean_flags}
        - --
        - ${args_no_equals}
        """
    )
    params = {**PARAMS, "flag": False}
    assert argv(spec, params, tmp_path) == [
        "/opt/py/bin/python",
        "train.py",
        *["lr=1e-05", "bs=32", "flag=False", "name=adam"],
        "--",
        *["--lr=1e-05", "--bs=32", "--name=adam"],
        "--",
        *["--lr", "1e-05", "--bs", "32", "--flag", "False", "--name", "adam"],
    ]
    assert "--flag" in argv(spec, PARAMS, tmp_path)[7:10]


def test_json_macros(tmp_path: Path) -> None:
    spec = spec_with("- ${program}\n- ${args_json}\n- --config=${args_json_file}\n- ${args_json_file}\n")
    got = argv(spec, PARAMS, tmp_path)
    assert json.loads(got[1]) == PARAMS
    path = tmp_path / "t1" / "args.json"
    assert got[2:] == [f"--config={path}", str(path)]
    assert json.loads(path.read_text(encoding="utf-8")) == PARAMS


def test_param_and_envvar_references_inside_items(tmp_path: Path) -> None:
    spec = spec_with(
        "- ${env}\n- python\n- --batch_size=${bs}\n- --opt=${name}-${bs}\n- ${envvar:DATA_DIR}\n"
    )
    assert argv(spec, PARAMS, tmp_path, DATA_DIR="/data") == [
        *ENV,
        "python",
        "--batch_size=32",
        "--opt=adam-32",
        "/data",
    ]


def test_missing_envvar_names_the_line(tmp_path: Path) -> None:
    spec = spec_with("- python\n- ${envvar:DATA_DIR}\n")
    with pytest.raises(SpecError, match=r"^t\.yaml:11 command: environment variable 'DATA_DIR' is not set"):
        argv(spec, PARAMS, tmp_path)


def test_nested_blocks_are_passed_as_dicts_in_spec_order(tmp_path: Path) -> None:
    spec = spec_with(
        "- ${args}\n- ${args_json}\n",
        params="""\
        optimizer:
          parameters:
            kind: {values: [sgd]}
            momentum: {value: 0.9}
        model.depth: {values: [18]}
        """,
    )
    params = {**PARAMS, "optimizer.kind": "sgd", "optimizer.momentum": 0.9, "model.depth": 18}
    got = argv(spec, params, tmp_path)
    assert got[:-1] == [
        "--lr=1e-05",
        "--bs=32",
        "--flag=True",
        "--name=adam",
        "--optimizer={'kind': 'sgd', 'momentum': 0.9}",
        "--model.depth=18",
    ]
    assert json.loads(got[-1])["optimizer"] == {"kind": "sgd", "momentum": 0.9}


def test_entrypoint_specs_have_no_argv(tmp_path: Path) -> None:
    spec = load_spec_text("method: random\nmetric: {name: l}\nparameters: {x: {value: 1}}\nentrypoint: a:b\n")
    with pytest.raises(SpecError, match=r"runs no command \(an entrypoint or a function\)"):
        argv(spec, {"x": 1}, tmp_path)


def test_text_that_names_no_parameter_passes_through(tmp_path: Path) -> None:
    spec = spec_with("- --bs=${bs}\n")
    assert argv(spec, {"lr": 0.1}, tmp_path)[-1] == "--bs=${bs}"


def test_flow_list_commands_from_the_wandb_docs_load(tmp_path: Path) -> None:
    spec = load_spec_text(
        "method: grid\nmetric: {name: loss}\nprogram: main.py\nparameters: {seed: {values: [0]}}\n"
        "command: [${env}, python3, ${program}, experiment=baseline, ${args_no_hyphens}]  # W&B docs\n"
    )
    assert argv(spec, {"seed": 0}, tmp_path) == [*ENV, "python3", "main.py", "experiment=baseline", "seed=0"]
