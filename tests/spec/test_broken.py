"""Every file in broken/ fails with the message its first line promises (``# expect: ...``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeptrack.core.errors import SpecError
from sweeptrack.spec import check_runnable, load_spec

HERE = Path(__file__).parent
BROKEN = sorted((HERE / "broken").glob("*.yaml"))
PREFIX = "# expect: "


def test_there_are_enough_broken_files() -> None:
    assert len(BROKEN) >= 30


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_spec_names_file_line_and_key(
    path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(PREFIX), f"{path.name} lacks its '# expect:' line"
    expected = first.removeprefix(PREFIX)
    monkeypatch.chdir(HERE)
    with pytest.raises(SpecError) as info:
        spec = load_spec(Path("broken") / path.name)
        check_runnable(spec, tmp_path)  # an empty working dir: modules resolve from broken/
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_error_carries_its_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    with pytest.raises(SpecError) as info:
        load_spec("broken/lr_log_bound.yaml")
    error = info.value
    assert (error.source, error.line, error.path) == ("broken/lr_log_bound.yaml", 7, "parameters.lr.min")
    assert error.reason == "must be > 0 for log_uniform_values, got 0"


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.yaml: cannot read the spec file: No such file"):
        load_spec(tmp_path / "nope.yaml")


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_sweep_run_refuses_broken_specs_and_writes_nothing(
    path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from sweeptrack.cli.main import cli

    expected = path.read_text(encoding="utf-8").splitlines()[0].removeprefix(PREFIX)
    db = tmp_path / "untouched.db"
    monkeypatch.chdir(HERE)
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{db}", "sweep", "run", f"broken/{path.name}"])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and result.stderr.count("\n") == 1
    assert not db.exists()
