"""The model registry interface: what every registry backend provides.

Kept apart from :class:`~sweeptrack.tracking.store.Store` on purpose: runs are written by training
code at high rates, models by people now and then; a backend implements both over one database.
Reads return the frozen objects of :mod:`sweeptrack.core.registry`.
"""

from __future__ import annotations

import abc

from sweeptrack.core.errors import ModelNotFoundError
from sweeptrack.core.registry import (
    AliasMove,
    ModelRef,
    ModelVersion,
    RegisteredModel,
    parse_model_ref,
)

__all__ = ["ModelRegistry"]


class ModelRegistry(abc.ABC):
    """Named models with numbered versions and movable aliases.

    Contract (checked by ``tests/tracking/test_registry_store.py`` on SQLite and PostgreSQL):
    - writes are atomic: a call that raises has written nothing;
    - versions of a model are numbered 1, 2, ... in the order they were created;
    - one artifact digest is registered at most once per model (RegistryError otherwise);
    - every alias move, removals included, is kept in the history with who moved it and when.
    """

    @abc.abstractmethod
    def create_version(
        self,
        *,
        model: str,
        run_id: str,
        artifact_path: str,
        sha256: str,
        size: int,
        created_at: int,
        description: str | None = None,
        created_by: str | None = None,
    ) -> ModelVersion:
        """Add the next version of ``model`` (created if new) for a run's artifact.

        Raises:
            RunNotFoundError: no run has the id ``run_id``.
            RegistryError: this digest is already a version of the model.
        """

    @abc.abstractmethod
    def move_alias(self, model: str, alias: str, version: int | None, *, by: str, at: int) -> AliasMove:
        """Point ``alias`` at ``version`` (None removes it) and keep the move in the history.

        Raises:
            ModelNotFoundError: no such model, version, or (removing) alias.
        """

    @abc.abstractmethod
    def list_models(self) -> list[RegisteredModel]:
        """Every model, by name."""

    @abc.abstractmethod
    def list_versions(self, model: str) -> list[ModelVersion]:
        """The versions of ``model``, oldest first, each with its aliases.

        Raises:
            ModelNotFoundError: no model is named ``model``.
        """

    @abc.abstractmethod
    def alias_history(self, model: str) -> list[AliasMove]:
        """Every alias move of ``model``, oldest first.

        Raises:
            ModelNotFoundError: no model is named ``model``.
        """

    def close(self) -> None:  # noqa: B027 - closing is optional for registries that hold nothing
        """Release connections."""

    # -- conveniences built on the abstract core ---------------------------------------------
    def get(self, ref: str | ModelRef) -> ModelVersion:
        """The version ``NAME@alias``, ``NAME/version`` or ``NAME`` (its newest) names.

        Raises:
            ModelNotFoundError: the model, alias or version does not exist (the message lists
                what does).
            RegistryError: ``ref`` is not a valid reference.
        """
        parsed = parse_model_ref(ref) if isinstance(ref, str) else ref
        versions = self.list_versions(parsed.name)
        if parsed.alias is not None:
            for version in versions:
                if parsed.alias in version.aliases:
                    return version
            known = ", ".join(f"{a} (version {v.version})" for v in versions for a in v.aliases)
            raise ModelNotFoundError(
                f"model {parsed.name} has no alias {parsed.alias!r}; "
                + (f"its aliases: {known}" if known else "it has no aliases yet")
            )
        if parsed.version is not None:
            for version in versions:
                if version.version == parsed.version:
                    return version
            numbers = ", ".join(str(v.version) for v in versions)
            raise ModelNotFoundError(
                f"model {parsed.name} has no version {parsed.version}; its versions: {numbers}"
            )
        return versions[-1]
