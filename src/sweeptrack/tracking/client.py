"""Client: read access to a tracking database for notebooks and scripts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeptrack.core.model import Artifact, Dataset, Experiment, MetricPoint, Run
from sweeptrack.tracking.store import Store

if TYPE_CHECKING:
    from sweeptrack.tracking.models import Models

__all__ = ["Client", "open_store"]


def open_store(db: str, *, create: bool = True) -> Store:
    """The store for a database URL or SQLite path (connects on first use).

    ``create=False`` refuses a SQLite file that does not exist instead of creating it.
    """
    from sweeptrack.tracking.sql.store import SqlStore

    return SqlStore(db, create=create)


class Client:
    """Queries over one tracking database. Runs are referred to by id, unique id prefix or name.

    Example:
        >>> client = st.Client("sqlite:///sweeptrack.db")                       # doctest: +SKIP
        >>> client.search_runs(filter="params.lr < 1e-3 or tags.keep = 'yes'")   # doctest: +SKIP
    """

    def __init__(
        self, db: str | Store = "sqlite:///sweeptrack.db", *, artifacts: str | Path | None = None
    ) -> None:
        self.store = db if isinstance(db, Store) else open_store(db, create=False)
        self._artifacts = artifacts
        self._models: Models | None = None

    @property
    def models(self) -> Models:
        """The model registry of this database (see :class:`~sweeptrack.tracking.models.Models`).

        Artifacts are looked up under ``artifacts`` when given, else beside an SQLite file (or
        ``./artifacts`` for a server database).
        """
        if self._models is None:
            from sweeptrack.tracking.artifacts import ArtifactRoot, default_artifact_root
            from sweeptrack.tracking.models import Models
            from sweeptrack.tracking.sql.registry import SqlModelRegistry
            from sweeptrack.tracking.sql.store import SqlStore

            if not isinstance(self.store, SqlStore):
                raise TypeError(f"{type(self.store).__name__} has no model registry; use a SQL database")
            url = self.store.url.render_as_string(hide_password=False)
            root = ArtifactRoot(default_artifact_root(url, str(self._artifacts) if self._artifacts else None))
            self._models = Models(SqlModelRegistry(self.store), self.store, root)
        return self._models

    def search_runs(
        self,
        filter: str | None = None,
        *,
        experiment: str | None = None,
        sweep: str | None = None,
        order_by: Sequence[str] | str | None = None,
        limit: int | None = None,
    ) -> list[Run]:
        return self.store.search_runs(
            experiment=experiment, sweep=sweep, filter=filter, order_by=order_by, limit=limit
        )

    def get_run(self, ref: str) -> Run:
        return self.store.get_run(self.store.resolve_run(ref))

    def get_metric_history(self, ref: str, key: str) -> list[MetricPoint]:
        return self.store.get_metric_history(self.store.resolve_run(ref), key)

    def list_artifacts(self, ref: str) -> list[Artifact]:
        return self.store.list_artifacts(self.store.resolve_run(ref))

    def list_datasets(self, ref: str) -> list[Dataset]:
        return self.store.list_datasets(self.store.resolve_run(ref))

    def get_environment(self, ref: str) -> dict[str, Any] | None:
        return self.store.get_environment(self.store.resolve_run(ref))

    def list_experiments(self) -> list[Experiment]:
        return self.store.list_experiments()

    def close(self) -> None:
        self.store.close()
