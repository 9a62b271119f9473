"""The model registry's contract on every backend: numbered versions, one digest per model,
alias moves kept with who and when, clear errors for what does not exist."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sweeptrack.core.errors import ModelNotFoundError, RegistryError, RunNotFoundError
from sweeptrack.core.registry import parse_model_ref
from sweeptrack.tracking.sql.registry import SqlModelRegistry
from sweeptrack.tracking.sql.store import SqlStore

A, B = "a" * 32, "b" * 32


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry(request: pytest.FixtureRequest) -> Iterator[SqlModelRegistry]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    store = SqlStore(url)
    for run_id in (A, B):
        store.create_run(run_id=run_id, experiment="e", name=run_id[:4], start_time=1)
    found = SqlModelRegistry(store)
    yield found
    found.close()


def _add(registry: SqlModelRegistry, run_id: str, digest: str, model: str = "clf", at: int = 10):
    return registry.create_version(
        model=model, run_id=run_id, artifact_path="model.pkl", sha256=digest * 64, size=3, created_at=at,
        created_by="ci",
    )  # fmt: skip


def test_versions_are_numbered_per_model_and_a_digest_registers_once(registry: SqlModelRegistry) -> None:
    assert [_add(registry, A, "1").version, _add(registry, B, "2").version] == [1, 2]
    assert _add(registry, A, "1", model="other").version == 1  # the same file in another model
    with pytest.raises(RegistryError, match=r"is already version 1 of model clf"):
        _add(registry, B, "1")
    with pytest.raises(RunNotFoundError):
        _add(registry, "c" * 32, "3")
    assert [v.version for v in registry.list_versions("clf")] == [1, 2]
    models = {m.name: m for m in registry.list_models()}
    assert (models["clf"].versions, models["clf"].latest_version, models["other"].versions) == (2, 2, 1)
    assert registry.get("clf").run_id == B and registry.get("clf/1").run_id == A


def test_alias_moves_are_kept_with_who_and_when(registry: SqlModelRegistry) -> None:
    _add(registry, A, "1")
    _add(registry, B, "2")
    registry.move_alias("clf", "champion", 1, by="alice", at=100)
    registry.move_alias("clf", "champion", 2, by="bob", at=200)
    registry.move_alias("clf", "staging", 1, by="bob", at=300)
    registry.move_alias("clf", "staging", None, by="carol", at=400)
    assert registry.get("clf@champion").version == 2
    assert registry.get("clf/2").aliases == ("champion",)
    history = [
        (m.alias, m.previous_version, m.version, m.moved_by, m.moved_at)
        for m in registry.alias_history("clf")
    ]
    assert history == [
        ("champion", None, 1, "alice", 100),
        ("champion", 1, 2, "bob", 200),
        ("staging", None, 1, "bob", 300),
        ("staging", 1, None, "carol", 400),
    ]
    assert registry.list_models()[0].aliases == {"champion": 2}


def test_what_does_not_exist_is_named_with_what_does(registry: SqlModelRegistry) -> None:
    _add(registry, A, "1")
    registry.move_alias("clf", "champion", 1, by="a", at=1)
    with pytest.raises(
        ModelNotFoundError, match=r"^model clf has no alias 'staging'; its aliases: champion \(version 1\)$"
    ):
        registry.get("clf@staging")
    with pytest.raises(ModelNotFoundError, match=r"^model clf has no version 7; its versions: 1$"):
        registry.get("clf/7")
    with pytest.raises(ModelNotFoundError, match=r"^model clf has no version 7; its versions: 1$"):
        registry.move_alias("clf", "champion", 7, by="a", at=2)
    with pytest.raises(ModelNotFoundError, match=r"^no model named 'nope'; registered: clf$"):
        registry.get("nope@champion")
    assert registry.get("clf@champion").version == 1  # the failed move changed nothing
    assert len(registry.alias_history("clf")) == 1


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("my model", r"model name 'my model' is not valid: .*\(no spaces or slashes\)"),
        ("team/clf@x", r"model name 'team/clf' is not valid"),
        ("clf@champ ion", r"alias 'champ ion' is not valid"),
        ("clf@3", r"alias '3' is not valid: .*not only digits"),
        ("clf/0", r"the version after '/' must be a number from 1"),
    ],
)
def test_bad_references_are_refused(ref: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        parse_model_ref(ref)
