"""Sweep files cannot exhaust the machine: a file over 1 MiB, aliases that expand past 10,000
nodes ("billion laughs"), an alias inside its own anchor, and nesting past 100 levels are each
refused with one line naming the file and line, by `sweeptrack sweep validate` and by
`st.run_sweep`, with nothing written to the database."""

from __future__ import annotations

from pathlib import Path

import pytest

import sweeptrack as st
from sweeptrack.spec.yamlio import MAX_ALIAS_NODES, MAX_DEPTH, MAX_SPEC_BYTES

from ._hardening_helpers import error_line, ok, sweeptrack

HEAD = "method: random\nmetric: {name: loss, goal: minimize}\nentrypoint: train:main\nrun_cap: 1\n"
TRAIN = "def main(params):\n    return params['x']\n"


def billion_laughs() -> str:
    """Nine levels of nine aliases each: 9**9 (387 million) strings once expanded, in 400 bytes."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


CASES = {
    "too-big": (
        HEAD + "parameters:\n  x: {values: [1]}\n" + "# padding\n" * 110_000,
        f"the file is 1,100,117 bytes, over the limit of {MAX_SPEC_BYTES:,} bytes for a sweep spec; "
        "a spec lists parameters, not data",
        None,
    ),
    "billion-laughs": (
        billion_laughs(),
        f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes (at *d); "
        "write the values out or use fewer nested aliases",
        5,
    ),
    "recursive-alias": (
        HEAD + "parameters: &p\n  x: {values: [1]}\n  y: *p\n",
        "alias *p is inside its own anchor &p: a recursive structure cannot be a sweep spec",
        7,
    ),
    "recursive-merge": (
        HEAD + "parameters:\n  x: &x\n    values: [1]\n    <<: *x\n",
        "alias *x is inside its own anchor &x: a recursive structure cannot be a sweep spec",
        8,
    ),
    "deep-flow": (
        HEAD + "parameters:\n  x: {values: " + "[" * 5000 + "]" * 5000 + "}\n",
        f"nested more than {MAX_DEPTH} levels deep; a sweep spec needs a few",
        6,
    ),
    "deep-block": (
        HEAD + "parameters:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(1200)),
        f"nested more than {MAX_DEPTH} levels deep; a sweep spec needs a few",
        104,
    ),
}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "train.py").write_text(TRAIN)
    paths = {}
    for name, (text, _, _) in CASES.items():
        paths[name] = tmp_path / f"{name}.yaml"
        paths[name].write_text(text)
    return paths


def expected(name: str, path: Path) -> str:
    _, message, line = CASES[name]
    return f"{path}{'' if line is None else f':{line}'}: {message}"


def test_the_cases_are_what_they_say() -> None:
    assert len(CASES["too-big"][0].encode()) == 1_100_117 > MAX_SPEC_BYTES
    assert len(billion_laughs()) < 500


@pytest.mark.parametrize("name", list(CASES))
def test_validate_refuses_with_one_line(name: str, files: dict[str, Path], tmp_path: Path) -> None:
    result = sweeptrack("sweep", "validate", str(files[name]), cwd=tmp_path, timeout=60)

    assert error_line(result) == expected(name, files[name])


@pytest.mark.parametrize("name", list(CASES))
def test_run_sweep_refuses_and_writes_nothing(name: str, files: dict[str, Path], tmp_path: Path) -> None:
    db = tmp_path / "sweeps.db"
    url = f"sqlite:///{db}"

    with pytest.raises(st.SweepTrackError) as caught:
        st.run_sweep(files[name], db=url)

    assert str(caught.value) == expected(name, files[name])
    assert type(caught.value).__name__ == "SpecError"
    assert not db.exists() or ok(sweeptrack("sweep", "list", "--format", "json", db=url)) == "[]\n"


def test_a_file_just_under_the_limits_runs(tmp_path: Path) -> None:
    """Shared anchors, merge keys and nesting of the depth real specs use are fine."""
    (tmp_path / "train.py").write_text(TRAIN)
    spec = tmp_path / "ok.yaml"
    spec.write_text(
        HEAD
        + "parameters:\n  x: &d {values: [1, 2]}\n  y: *d\n  z:\n    <<: *d\n"
        + "# padding\n" * ((MAX_SPEC_BYTES - 200) // 10)
    )
    assert len(spec.read_bytes()) < MAX_SPEC_BYTES

    out = ok(sweeptrack("sweep", "validate", str(spec), cwd=tmp_path))

    assert out.startswith(f"{spec}: ok: method random, 3 parameters, metric loss (minimize)")
