"""Client: queries and small edits of a tracking database, for notebooks and scripts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sweeptrack.core.limits import check_editable_tag, check_tag
from sweeptrack.core.model import Artifact, Dataset, Experiment, MetricPoint, Run
from sweeptrack.tracking.store import Store

__all__ = ["Client", "open_store"]


def open_store(db: str, *, create: bool = True) -> Store:
    """The store for a database URL or SQLite path (connects on first use).

    ``create=False`` refuses a SQLite file that does not exist instead of creating it.
    """
    from sweeptrack.tracking.sql.store import SqlStore

    return SqlStore(db, create=create)


class Client:
    """Queries and edits over one tracking database. Runs are referred to by id, unique id
    prefix or name (a deleted run too).

    Edits (tag, untag, note, rename, delete, restore) return the run as it is afterwards.
    Deleting is soft: the run and all it logged stay in the database, hidden from searches,
    leaderboards and reports until restored. Tags under ``sweeptrack.`` are sweeptrack's own
    (a trial's attempt and lineage) and are refused (:class:`~sweeptrack.core.errors.ReservedTagError`).

    Example:
        >>> client = st.Client("sqlite:///sweeptrack.db")                       # doctest: +SKIP
        >>> client.search_runs(filter="params.lr < 1e-3 or tags.keep = 'yes'")   # doctest: +SKIP
        >>> client.tag("baseline", "keep", "yes")                               # doctest: +SKIP
        >>> client.delete("crashed-try")                                        # doctest: +SKIP
    """

    def __init__(self, db: str | Store = "sqlite:///sweeptrack.db") -> None:
        self.store = db if isinstance(db, Store) else open_store(db, create=False)

    def search_runs(
        self,
        filter: str | None = None,
        *,
        experiment: str | None = None,
        sweep: str | None = None,
        order_by: Sequence[str] | str | None = None,
        limit: int | None = None,
        deleted: bool | None = False,
    ) -> list[Run]:
        """Runs matching ``filter``; ``deleted``: False (default) live runs, True the deleted
        ones, None both."""
        return self.store.search_runs(
            experiment=experiment,
            sweep=sweep,
            filter=filter,
            order_by=order_by,
            limit=limit,
            deleted=deleted,
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

    # -- edits ------------------------------------------------------------------------------------
    def tag(self, ref: str, key: str, value: str) -> Run:
        """Set the tag ``key`` of the run to ``value`` (replacing any earlier value)."""
        check_editable_tag(key)
        key, text = check_tag(key, value)
        run_id = self.store.resolve_run(ref)
        self.store.set_tags(run_id, {key: text})
        return self.store.get_run(run_id)

    def untag(self, ref: str, key: str) -> Run:
        """Remove the tag ``key``; TagNotFoundError when the run has none."""
        check_editable_tag(key)
        run_id = self.store.resolve_run(ref)
        self.store.delete_tag(run_id, key)
        return self.store.get_run(run_id)

    def note(self, ref: str, text: str | None) -> Run:
        """Set the run's note (free text, several lines allowed); None or "" clears it."""
        run_id = self.store.resolve_run(ref)
        self.store.set_run_note(run_id, text)
        return self.store.get_run(run_id)

    def rename(self, ref: str, name: str) -> Run:
        """Give the run a new name (1 to 255 characters, not blank)."""
        run_id = self.store.resolve_run(ref)
        self.store.rename_run(run_id, name)
        return self.store.get_run(run_id)

    def delete(self, ref: str) -> Run:
        """Soft-delete the run: hidden by default, kept in the database; RunStateError when it is
        deleted already. A deleted sweep trial still counts toward its sweep's budget."""
        run_id = self.store.resolve_run(ref)
        self.store.delete_run(run_id, int(time.time() * 1000))
        return self.store.get_run(run_id)

    def restore(self, ref: str) -> Run:
        """Bring a deleted run back; RunStateError when it is not deleted."""
        run_id = self.store.resolve_run(ref)
        self.store.restore_run(run_id)
        return self.store.get_run(run_id)

    def list_experiments(self) -> list[Experiment]:
        return self.store.list_experiments()

    def close(self) -> None:
        self.store.close()
