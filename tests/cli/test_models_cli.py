"""`sweeptrack models` and `st.Client(db).models`: register, aliases, history, lineage, verified
downloads, comparisons, and every bad input with its one-line message."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import sweeptrack as st
from sweeptrack.cli.main import cli
from sweeptrack.core.errors import RegistryError
from sweeptrack.tracking.models import os_user


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two runs, "small" and "large", each logging a dataset and its own model.pkl."""
    base = tmp_path_factory.mktemp("models")
    url = f"sqlite:///{base}/sweeptrack.db"
    (base / "data.csv").write_text("1\n2\n")
    for name, lr in (("small", 0.1), ("large", 0.5)):
        with st.start_run(experiment="digits", name=name, db=url):
            st.log_params({"lr": lr})
            st.log_dataset("numbers", base / "data.csv")
            st.log_metrics({"acc": 0.5 + lr}, step=0)
            (base / "model.pkl").write_bytes(pickle.dumps({"lr": lr}))
            st.log_artifact(base / "model.pkl")
    return base


def models(folder: Path, *args: str, expect: int = 0) -> Result:
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{folder}/sweeptrack.db", "models", *args])
    assert result.exit_code == expect, result.output
    return result


def test_versions_aliases_history_lineage_and_downloads(folder: Path) -> None:
    first = models(
        folder, "register", "small", "--artifact", "model.pkl", "--name", "clf", "--alias", "champion"
    )
    assert first.output.startswith("registered clf version 1 as champion: model.pkl of run ")
    models(folder, "register", "large", "--artifact", "model.pkl", "--name", "clf", "--alias", "staging",
           "--description", "lr 0.5", "--by", "ci")  # fmt: skip
    moved = models(folder, "alias", "clf@champion", "2", "--by", "alice")
    assert moved.output == "clf@champion -> version 2 (was 1), by alice\n"
    history = models(folder, "history", "clf", "--format", "csv").output.splitlines()
    assert [line.split(",", 1)[1] for line in history] == [
        "alias,from,to,by", f"champion,,1,{os_user()}", "staging,,2,ci", "champion,1,2,alice"
    ]  # fmt: skip
    shown = models(folder, "show", "clf@champion", "--format", "json").output
    for fact in ('"lr 0.5"', '"large (', '"acc"', '"numbers"', '"git_commit"', '"sha256"'):
        assert fact in shown
    assert 'clf,2,2,"champion=2, staging=2"' in models(folder, "list", "--format", "csv").output
    compared = models(folder, "compare", "clf/1", "clf@champion", "--format", "csv").output
    assert "params,lr,0.1,0.5,true" in compared
    out = folder / "serving"
    done = models(folder, "download", "clf@champion", "--out", str(out))
    assert done.output.startswith(f"{out / 'model.pkl'} (clf/2, sha256 ") and "verified" in done.output
    assert pickle.loads((out / "model.pkl").read_bytes()) == {"lr": 0.5}
    refused = models(folder, "download", "clf@champion", "--out", str(out), expect=2)
    assert (
        refused.output
        == f"error: {out / 'model.pkl'} already exists; remove it or give another --out folder\n"
    )


def test_the_python_api_and_a_corrupt_file(folder: Path) -> None:
    client = st.Client(f"sqlite:///{folder}/sweeptrack.db")
    version = client.models.register("small", artifact="model.pkl", name="py-clf", alias="champion")
    assert (version.version, version.aliases) == (1, ("champion",))
    assert client.models.get("py-clf@champion") == version
    path = st.load_model_path("py-clf@champion", db=f"sqlite:///{folder}/sweeptrack.db")
    assert pickle.loads(path.read_bytes()) == {"lr": 0.1}
    saved = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    try:
        with pytest.raises(RegistryError, match=r"^the stored file of py-clf/1 is corrupt: its sha256 is "):
            st.load_model_path("py-clf@champion", db=f"sqlite:///{folder}/sweeptrack.db")
        refused = models(folder, "download", "py-clf/1", "--out", str(folder / "corrupt"), expect=2)
        assert "is corrupt" in refused.output and "nothing was written" in refused.output
        assert list((folder / "corrupt").iterdir()) == []
    finally:
        path.write_bytes(saved)
    client.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("register", "small", "--artifact", "model.pkl", "--name", "my model"),
         "error: model name 'my model' is not valid: use letters, digits, '.', '_' and '-', starting with a "
         "letter or digit (no spaces or slashes)"),
        (("register", "small", "--artifact", "model.pkl", "--name", "team/clf"),
         "error: model name 'team/clf' is not valid: use letters, digits, '.', '_' and '-', starting with a "
         "letter or digit (no spaces or slashes)"),
        (("register", "small", "--artifact", "nothere.pkl", "--name", "bad"),
         "error: run {small} logged no artifact 'nothere.pkl'; its artifacts: model.pkl"),
        (("alias", "bad-clf@champion", "9"), "error: model bad-clf has no version 9; its versions: 1"),
        (("show", "bad-clf@staging"), "error: model bad-clf has no alias 'staging'; it has no aliases yet"),
        (("show", "nope"), "error: no model named 'nope'; registered: "),
        (("register", "small", "--artifact", "model.pkl", "--name", "bad-clf"),
         "error: this artifact (sha256 {sha}) is already version 1 of model bad-clf; register a different "
         "artifact, or move an alias to that version"),
    ],
    ids=["space", "slash", "no-artifact", "no-version", "no-alias", "no-model", "twice"],
)  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(folder: Path, args: tuple[str, ...], message: str) -> None:
    client = st.Client(f"sqlite:///{folder}/sweeptrack.db")
    if not any(m.name == "bad-clf" for m in client.models.list_models()):
        client.models.register("small", artifact="model.pkl", name="bad-clf")
    small = client.get_run("small")
    sha = client.models.get("bad-clf/1").sha256[:12]
    history = client.models.history("bad-clf")
    client.close()
    output = models(folder, *args, expect=2).output
    assert output.startswith(message.format(small=small.id[:8], sha=sha)) and output.count("\n") == 1
    client = st.Client(f"sqlite:///{folder}/sweeptrack.db")
    assert [v.version for v in client.models.versions("bad-clf")] == [1]
    assert client.models.history("bad-clf") == history
    client.close()
