"""Entrypoints and programs resolve against the working directory, then the spec's folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sweeptrack.core.errors import SpecError
from sweeptrack.spec import SweepSpec, check_runnable, load_spec, resolve_program

SPEC = "method: random\nmetric: {name: loss}\nparameters: {x: {value: 1}}\n"


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    cwd, base = tmp_path / "work", tmp_path / "sweeps"
    cwd.mkdir()
    base.mkdir()
    return cwd, base


def spec_in(base: Path, run: str) -> SweepSpec:
    path = base / "x.yaml"
    path.write_text(SPEC + run, encoding="utf-8")
    return load_spec(path)


def test_entrypoint_from_the_spec_folder(dirs: tuple[Path, Path]) -> None:
    cwd, base = dirs
    (base / "st_rt_train_a.py").write_text("def main(params):\n    return 1.0\n", encoding="utf-8")
    path_before = list(sys.path)
    check_runnable(spec_in(base, "entrypoint: st_rt_train_a:main\n"), cwd)
    assert sys.path == path_before
    assert "st_rt_train_a" not in sys.modules


def test_working_directory_comes_first(dirs: tuple[Path, Path]) -> None:
    cwd, base = dirs
    (cwd / "st_rt_train_b.py").write_text("def main(params):\n    return 1.0\n", encoding="utf-8")
    (base / "st_rt_train_b.py").write_text("other = 1\n", encoding="utf-8")
    spec = spec_in(base, "entrypoint: st_rt_train_b:main\n")
    check_runnable(spec, cwd)
    with pytest.raises(
        SpecError, match=r"x\.yaml:4 entrypoint: module 'st_rt_train_b' has no attribute 'main'"
    ):
        check_runnable(spec, base)


def test_dotted_module_and_attribute(dirs: tuple[Path, Path]) -> None:
    cwd, base = dirs
    package = cwd / "st_rt_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "train.py").write_text("class Trainer:\n    def run(self):\n        pass\n", encoding="utf-8")
    check_runnable(spec_in(base, "entrypoint: st_rt_pkg.train:Trainer.run\n"), cwd)
    assert not any(name.startswith("st_rt_pkg") for name in sys.modules)


def test_import_errors_inside_the_module_are_reported(dirs: tuple[Path, Path]) -> None:
    cwd, base = dirs
    (base / "st_rt_bad_dep.py").write_text("import st_rt_not_installed\n", encoding="utf-8")
    (base / "st_rt_syntax.py").write_text("def main(:\n", encoding="utf-8")
    (base / "st_rt_exit.py").write_text("raise SystemExit(2)\n", encoding="utf-8")
    cases = {
        "st_rt_bad_dep": "importing module 'st_rt_bad_dep' failed: No module named 'st_rt_not_installed'",
        "st_rt_syntax": "importing module 'st_rt_syntax' failed: SyntaxError",
        "st_rt_exit": "importing module 'st_rt_exit' failed: SystemExit: 2",
    }
    for module, message in cases.items():
        with pytest.raises(SpecError) as info:
            check_runnable(spec_in(base, f"entrypoint: {module}:main\n"), cwd)
        assert message in str(info.value)


def test_missing_module_lists_where_it_looked(dirs: tuple[Path, Path]) -> None:
    cwd, base = dirs
    with pytest.raises(SpecError) as info:
        check_runnable(spec_in(base, "entrypoint: st_rt_nope:main\n"), cwd)
    assert str(info.value) == (
        f"{base / 'x.yaml'}:4 entrypoint: cannot import module 'st_rt_nope' "
        f"(looked in {cwd.resolve()}, {base.resolve()})"
    )


def test_program_resolution(dirs: tuple[Path, Path]) -> None:
    cwd, base = dirs
    (base / "train.py").write_text("", encoding="utf-8")
    spec = spec_in(base, "program: train.py\n")
    assert resolve_program(spec, cwd) == base.resolve() / "train.py"
    (cwd / "train.py").write_text("", encoding="utf-8")
    assert resolve_program(spec, cwd) == cwd.resolve() / "train.py"
    check_runnable(spec, cwd)


def test_program_on_path_or_unused(dirs: tuple[Path, Path]) -> None:
    cwd, base = dirs
    python = Path(sys.executable).name
    spec = spec_in(base, f"program: {python}\ncommand: ['${{env}}', '${{program}}', '${{args}}']\n")
    assert resolve_program(spec, cwd).name == python
    spec = spec_in(base, "program: cli\ncommand: [python, -m, cli, fit]\n")
    check_runnable(spec, cwd)


def test_missing_program(dirs: tuple[Path, Path]) -> None:
    cwd, base = dirs
    with pytest.raises(SpecError, match=r"x\.yaml:4 program: file 'train\.py' not found \(looked in "):
        check_runnable(spec_in(base, "program: train.py\n"), cwd)
