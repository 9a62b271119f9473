"""The tables of the tracking database (SQLAlchemy Core).

Changing anything here needs a new Alembic revision in ``migrations/versions`` and a new
``HEAD_REVISION``; ``tests/tracking/test_migrations.py`` checks that the two agree.

Layout choices that matter for speed:
- metric points carry integer run and key ids (``metric_keys``), no surrogate key beyond SQLite's
  rowid, and one index (run_id, key_id, step) used to read a run's history;
- NaN values are stored as NULL (SQLite turns NaN into NULL anyway), infinities as themselves;
- ``metric_summaries`` keeps last/min/max/count per (run, key) so filters, ordering and leaderboards
  never scan metric history; params keep a numeric copy for numeric comparison.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

HEAD_REVISION = "0004"

metadata = MetaData()

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
)

sweeps = Table(
    "sweeps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(32), nullable=False, unique=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("state", String(32), nullable=False),
    Column("spec", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # 0002: the environment is captured once per sweep, not per trial; state changes are stamped.
    Column("environment", Text, nullable=True),
    Column("updated_at", BigInteger, nullable=True),
    Column("source", Text, nullable=True),  # the spec file's absolute path, for resume
    # 0003: the --trials cap kept for resume; the controller's lease and its heartbeat.
    Column("trial_cap", Integer, nullable=True),
    Column("lease_host", String(255), nullable=True),
    Column("lease_pid", Integer, nullable=True),
    Column("lease_since", BigInteger, nullable=True),
    Column("heartbeat_at", BigInteger, nullable=True),
    Index("ix_sweeps_name", "name"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(32), nullable=False, unique=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("sweep_id", Integer, ForeignKey("sweeps.id"), nullable=True),
    Column("trial_number", Integer, nullable=True),
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    Column("heartbeat_at", BigInteger, nullable=True),  # 0003: the run's writer's last heartbeat
    # 0004: soft delete (hidden from listings unless asked for) and a free-text note.
    Column("deleted_at", BigInteger, nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    Index("ix_runs_sweep", "sweep_id", "trial_number"),
    Index("ix_runs_name", "name"),
    Index("ix_runs_start_time", "start_time"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("value", Text, nullable=False),
    Column("value_num", Float, nullable=True),
    Index("ix_params_key_num", "key", "value_num"),
    Index("ix_params_key_value", "key", "value"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_tags_key_value", "key", "value"),
)

metric_keys = Table(
    "metric_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
)

metric_points = Table(
    "metric_points",
    metadata,
    Column("run_id", Integer, nullable=False),
    Column("key_id", Integer, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("value", Float, nullable=True),
    Column("timestamp", BigInteger, nullable=False),
    Index("ix_metric_points_run_key_step", "run_id", "key_id", "step"),
)

metric_summaries = Table(
    "metric_summaries",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("last", Float, nullable=True),
    Column("min", Float, nullable=True),
    Column("max", Float, nullable=True),
    Column("count", BigInteger, nullable=False),
    Column("last_step", BigInteger, nullable=False),
    Column("last_timestamp", BigInteger, nullable=False),
    Index("ix_summaries_key_last", "key", "last"),
    Index("ix_summaries_key_min", "key", "min"),
    Index("ix_summaries_key_max", "key", "max"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("source", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=True),
    Column("context", String(255), nullable=True),
    UniqueConstraint("run_id", "name", "context", name="uq_datasets_run_name_context"),
    Index("ix_datasets_name", "name"),
)

environments = Table(
    "environments",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("data", Text, nullable=False),
)

# 0004: the model registry. A version is a run's artifact with its digest; an alias points at one
# version of its model; every alias move is kept.
registered_models = Table(
    "registered_models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("registered_models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("artifact_path", String(1024), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("description", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=True),
    UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),
    UniqueConstraint("model_id", "sha256", name="uq_model_versions_model_sha256"),
    Index("ix_model_versions_run", "run_id"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", Integer, ForeignKey("registered_models.id"), primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("version_id", Integer, ForeignKey("model_versions.id"), nullable=False),
)

model_alias_events = Table(
    "model_alias_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("registered_models.id"), nullable=False),
    Column("alias", String(255), nullable=False),
    Column("version", Integer, nullable=True),  # NULL: the alias was removed
    Column("previous_version", Integer, nullable=True),
    Column("moved_by", String(255), nullable=False),
    Column("moved_at", BigInteger, nullable=False),
    Index("ix_model_alias_events_model", "model_id", "moved_at"),
)
