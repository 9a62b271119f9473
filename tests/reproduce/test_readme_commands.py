"""The README's "Reproduce" and "Model registry" sections: their commands run as written."""

from __future__ import annotations

import re
from pathlib import Path

from ._repo import ROOT, environ, make_repo, run


def _commands(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", body, flags=re.S)
    assert blocks, f"no sh block in README section {section!r}"
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_reproduce_and_registry_commands_run_as_written(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    env = environ()
    outputs = []
    for command in _commands("Reproduce") + _commands("Model registry"):
        done = run(["bash", "-c", command], repo, env)
        expected = 3 if "(exit 3)" in command else 0
        assert done.returncode == expected, f"{command}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    text = "\n".join(outputs)
    assert "dataset numbers: recorded" in text and "git diff: recorded no uncommitted changes" in text
    assert "reproduced within tolerance (rtol 1e-09)" in text
    assert "digits-clf@champion -> version 2 (was 1), by alice" in text
    assert (repo / "serving" / "model.pkl").is_file()
    assert text.rstrip().endswith("{'weight': " + repr(_weight(0.5)) + "}")
    assert run(["git", "worktree", "list"], repo, env).stdout.count("\n") == 1  # no worktree left


def _weight(lr: float) -> float:
    weight = 0.0
    for _ in range(10):
        weight += lr * (2.0 - weight)
    return weight
