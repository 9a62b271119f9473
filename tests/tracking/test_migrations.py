"""Schema revisions: migrations match the models, old databases open, wrong revisions are refused."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from sweeptrack.core.errors import SchemaError
from sweeptrack.tracking.sql import migrate
from sweeptrack.tracking.sql.registry import SqlModelRegistry
from sweeptrack.tracking.sql.schema import HEAD_REVISION, metadata
from sweeptrack.tracking.sql.store import SqlStore

GOLDEN = Path(__file__).with_name("golden")


def test_head_revision_constant_matches_the_migrations() -> None:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION
    assert migrate.known_revisions()[-1] == HEAD_REVISION


def _schema_diff(url: str) -> list[object]:
    with SqlStore(url) as store, store.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def test_migrations_build_exactly_the_models_on_sqlite(sqlite_url: str) -> None:
    assert _schema_diff(sqlite_url) == []


@pytest.mark.postgres
def test_migrations_build_exactly_the_models_on_postgres(pg_url: str) -> None:
    assert _schema_diff(pg_url) == []


@pytest.mark.parametrize("golden", sorted(GOLDEN.glob("rev*.db")), ids=lambda p: p.stem)
def test_every_golden_database_opens_and_takes_writes(golden: Path, tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    shutil.copy(golden, db)
    store = SqlStore(str(db))
    (run,) = store.search_runs(experiment="golden")
    assert (run.name, run.params["lr"], run.metrics["loss"].last) == ("golden-run", 0.01, 0.25)
    store.log_metrics(run.id, [("loss", 0.125, 2, 1)])
    assert store.get_run(run.id).metrics["loss"].count == 3
    assert store.schema_revision() == HEAD_REVISION
    if golden.stem >= "rev0002":  # sweeps exist from revision 0002 on
        assert store.get_sweep("golden-sweep").source == "/x/golden.yaml"
        assert store.get_environment(run.id) == {"python": {"version": "3.11"}}
    if golden.stem >= "rev0003":  # the --trials cap is kept from revision 0003 on
        assert store.get_sweep("golden-sweep").trial_cap == 7
    registry = SqlModelRegistry(store)
    if golden.stem >= "rev0004":  # the model registry exists from revision 0004 on
        champion = registry.get("golden-model@champion")
        assert (champion.version, champion.run_id, champion.created_by) == (1, run.id, "golden")
    added = registry.create_version(
        model="golden-model", run_id=run.id, artifact_path="m.pkl", sha256="cd" * 32, size=1, created_at=3
    )
    registry.move_alias("golden-model", "champion", added.version, by="test", at=4)
    assert registry.get("golden-model@champion").version == (2 if golden.stem >= "rev0004" else 1)


def test_a_newer_schema_is_refused_without_damage(sqlite_url: str) -> None:
    store = SqlStore(sqlite_url)
    store.list_experiments()
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaError, match="revision '9999', newer than this sweeptrack knows"):
        SqlStore(sqlite_url).list_experiments()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("9999",)


@pytest.mark.postgres
def test_postgres_without_schema_says_to_upgrade(pg_url: str) -> None:
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()
    with pytest.raises(SchemaError, match=r"has no sweeptrack schema.*sweeptrack --db URL db upgrade"):
        SqlStore(pg_url).list_experiments()


OPENER = """
import sys
from sweeptrack.tracking.sql.store import SqlStore
store = SqlStore(sys.argv[1])
store.create_run(run_id=sys.argv[2] * 32, experiment="race", name=sys.argv[2], start_time=1)
"""


def test_processes_creating_one_new_file_upgrade_it_once(sqlite_url: str, tmp_path: Path) -> None:
    script = tmp_path / "open.py"
    script.write_text(OPENER)
    procs = [
        subprocess.Popen([sys.executable, str(script), sqlite_url, ch], stderr=subprocess.PIPE, text=True)
        for ch in "abcdef12"
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
    assert len(SqlStore(sqlite_url).search_runs(experiment="race")) == 8
