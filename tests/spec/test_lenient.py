"""What W&B's backend tolerates loads with a warning (file:line and key path); --strict refuses it.

Every file in lenient/ starts with the warnings it must give (``# warns: ...`` lines, in order).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sweeptrack.core.errors import SpecError
from sweeptrack.spec import load_spec

HERE = Path(__file__).parent
LENIENT = sorted((HERE / "lenient").glob("*.yaml"))
PREFIX = "# warns: "


def expected_warnings(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.removeprefix(PREFIX) for line in lines if line.startswith(PREFIX)]


def sweeptrack(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("sweeptrack")
    env = {k: v for k, v in os.environ.items() if k != "SWEEPTRACK_DB"}
    return subprocess.run(
        [str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_there_are_lenient_files() -> None:
    assert len(LENIENT) >= 5 and all(expected_warnings(path) for path in LENIENT)


@pytest.mark.parametrize("path", LENIENT, ids=lambda p: p.stem)
def test_lenient_spec_loads_with_its_warnings(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    spec = load_spec(Path("lenient") / path.name)
    assert [str(warning) for warning in spec.warnings] == expected_warnings(path)


@pytest.mark.parametrize("path", LENIENT, ids=lambda p: p.stem)
def test_strict_loading_refuses_what_it_would_warn_about(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    with pytest.raises(SpecError) as info:
        load_spec(Path("lenient") / path.name, strict=True)
    assert str(info.value).splitlines() == expected_warnings(path)


@pytest.mark.parametrize("path", LENIENT, ids=lambda p: p.stem)
def test_validate_prints_warnings_and_passes(path: Path) -> None:
    done = sweeptrack("sweep", "validate", f"lenient/{path.name}", cwd=HERE)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"warning: {w}" for w in expected_warnings(path)]
    assert done.stdout.startswith(f"lenient/{path.name}: ok: ")


@pytest.mark.parametrize("path", LENIENT, ids=lambda p: p.stem)
def test_strict_validate_and_run_refuse_and_write_nothing(path: Path, tmp_path: Path) -> None:
    for command in ("validate", "run"):
        db = tmp_path / "untouched.db"
        done = sweeptrack(
            "--db", f"sqlite:///{db}", "sweep", command, "--strict", f"lenient/{path.name}", cwd=HERE
        )
        assert done.returncode == 2, done.stdout
        assert done.stderr.splitlines() == [f"error: {w}" for w in expected_warnings(path)]
        assert not db.exists()
