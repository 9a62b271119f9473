"""Models: promote runs' artifacts to versioned models, move aliases, fetch a version's file.

What ``st.Client(db).models`` and ``sweeptrack models ...`` use. The registered file is the run's
artifact itself (content-addressed under the artifact root); its digest is checked on every fetch,
so a file damaged on disk is refused rather than served.

Example:
    >>> models = st.Client("sqlite:///sweeptrack.db").models                     # doctest: +SKIP
    >>> models.register("baseline", artifact="model.pkl", name="digits-clf", alias="champion")
    >>> models.get("digits-clf@champion").version                                  # doctest: +SKIP
    1
    >>> path = models.path("digits-clf@champion")      # a verified local file      # doctest: +SKIP
"""

from __future__ import annotations

import getpass
import os
import secrets
import time
from pathlib import Path

from sweeptrack.core.errors import ArtifactError, RegistryError
from sweeptrack.core.registry import AliasMove, ModelRef, ModelVersion, RegisteredModel, check_alias
from sweeptrack.tracking.artifacts import ArtifactRoot, check_name
from sweeptrack.tracking.registry import ModelRegistry
from sweeptrack.tracking.store import Store

__all__ = ["Models", "os_user"]

_CHUNK = 1 << 20


def os_user() -> str:
    """Who is moving an alias when nobody says: the OS user, else ``unknown``."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return "unknown"


class Models:
    """The registry of one tracking database, with the runs and the artifact root it refers to."""

    def __init__(self, registry: ModelRegistry, store: Store, artifacts: ArtifactRoot) -> None:
        self.registry = registry
        self.store = store
        self.artifacts = artifacts

    def register(
        self,
        run: str,
        *,
        artifact: str,
        name: str,
        alias: str | None = None,
        description: str | None = None,
        by: str | None = None,
    ) -> ModelVersion:
        """Register run ``run``'s (id, id prefix or name) artifact ``artifact`` as the next version
        of model ``name``, and point ``alias`` at it when given.

        Raises:
            RunNotFoundError: ``run`` matches no run.
            RegistryError: a bad name or alias, an artifact the run did not log, or one already
                registered for this model.
        """
        from sweeptrack.core.registry import check_model_name

        check_model_name(name)
        if alias is not None:
            check_alias(alias)
        run_id = self.store.resolve_run(run)
        path = _artifact_name(artifact)
        logged = {found.path: found for found in self.store.list_artifacts(run_id)}
        if path not in logged:
            names = ", ".join(sorted(p for p in logged if not p.startswith("environment/"))) or "none"
            raise RegistryError(f"run {run_id[:8]} logged no artifact {path!r}; its artifacts: {names}")
        found = logged[path]
        now = _now_ms()
        version = self.registry.create_version(
            model=name,
            run_id=run_id,
            artifact_path=path,
            sha256=found.sha256,
            size=found.size,
            created_at=now,
            description=description,
            created_by=by or os_user(),
        )
        if alias is not None:
            self.registry.move_alias(name, alias, version.version, by=by or os_user(), at=now)
            version = self.registry.get(version.ref)
        return version

    def alias(self, ref: str, version: int | None, *, by: str | None = None) -> AliasMove:
        """Move ``NAME@alias`` to ``version`` (None removes the alias); the move is kept."""
        from sweeptrack.core.registry import parse_model_ref

        parsed = parse_model_ref(ref)
        if parsed.alias is None:
            raise RegistryError(f"{ref!r} names no alias; give NAME@ALIAS, e.g. {parsed.name}@champion")
        return self.registry.move_alias(parsed.name, parsed.alias, version, by=by or os_user(), at=_now_ms())

    def get(self, ref: str | ModelRef) -> ModelVersion:
        """The version ``NAME@alias``, ``NAME/version`` or ``NAME`` (its newest) names."""
        return self.registry.get(ref)

    def list_models(self) -> list[RegisteredModel]:
        """Every model, by name."""
        return self.registry.list_models()

    def versions(self, name: str) -> list[ModelVersion]:
        """The versions of model ``name``, oldest first."""
        return self.registry.list_versions(name)

    def history(self, name: str) -> list[AliasMove]:
        """Every alias move of model ``name``, oldest first."""
        return self.registry.alias_history(name)

    def path(self, ref: str | ModelRef) -> Path:
        """The stored file of a version, after checking that its digest is the registered one.

        Raises:
            RegistryError: the stored file is missing or its content changed.
        """
        version = self.get(ref)
        blob = self.artifacts.blob_path(version.sha256)
        _verify(version, blob)
        return blob

    def download(self, ref: str | ModelRef, out: str | Path) -> Path:
        """Copy a version's file into the folder ``out`` (created if needed) under the artifact's
        file name, verifying its digest; nothing is left behind when it does not match.

        Raises:
            RegistryError: the target file exists, or the stored file is missing or corrupt.
        """
        version = self.get(ref)
        target = Path(out) / Path(version.artifact_path).name
        if target.exists():
            raise RegistryError(f"{target} already exists; remove it or give another --out folder")
        blob = self.artifacts.blob_path(version.sha256)
        if not blob.is_file():
            raise RegistryError(_missing(version, blob))
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f".{target.name}.{secrets.token_hex(4)}.part"
        try:
            digest = _copy(blob, temp)
            if digest != version.sha256:
                raise RegistryError(_corrupt(version, blob, digest))
            if target.exists():
                raise RegistryError(f"{target} already exists; remove it or give another --out folder")
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        return target

    def close(self) -> None:
        self.registry.close()


def _artifact_name(artifact: str) -> str:
    try:
        return check_name(artifact)
    except ArtifactError as exc:
        raise RegistryError(str(exc)) from None


def _verify(version: ModelVersion, blob: Path) -> None:
    import hashlib

    if not blob.is_file():
        raise RegistryError(_missing(version, blob))
    digest = hashlib.sha256()
    with blob.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != version.sha256:
        raise RegistryError(_corrupt(version, blob, digest.hexdigest()))


def _copy(blob: Path, target: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with blob.open("rb") as source, target.open("xb") as sink:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            sink.write(chunk)
    return digest.hexdigest()


def _missing(version: ModelVersion, blob: Path) -> str:
    return (
        f"the file of {version.ref} ({version.artifact_path}) is missing from the artifact root: "
        f"{blob}; point --artifacts (SWEEPTRACK_ARTIFACTS) at the root the run wrote to"
    )


def _corrupt(version: ModelVersion, blob: Path, digest: str) -> str:
    return (
        f"the stored file of {version.ref} is corrupt: its sha256 is {digest[:12]}, the registered "
        f"one {version.sha256[:12]} ({blob}); nothing was written"
    )


def _now_ms() -> int:
    return int(time.time() * 1000)
