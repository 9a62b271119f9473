"""The model registry's domain objects: models, their numbered versions, aliases and alias moves.

A version is one run's artifact, recorded with its sha256 digest; an alias (``champion``,
``staging``, any name) points at one version of its model, and every move of an alias is kept.
A model is referred to as ``NAME`` (its newest version), ``NAME@alias`` or ``NAME/version``.

Example:
    >>> parse_model_ref("digits-clf@champion")
    ModelRef(name='digits-clf', alias='champion', version=None)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sweeptrack.core.errors import RegistryError

__all__ = [
    "AliasMove",
    "ModelRef",
    "ModelVersion",
    "RegisteredModel",
    "check_alias",
    "check_model_name",
    "parse_model_ref",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
_ALLOWED = "letters, digits, '.', '_' and '-', starting with a letter or digit"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelVersion:
    """One registered version: run ``run_id``'s artifact ``artifact_path`` with its digest."""

    model: str
    version: int
    run_id: str
    artifact_path: str
    sha256: str
    size: int
    created_at: int
    description: str | None = None
    created_by: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``NAME/version``: the reference that names exactly this version."""
        return f"{self.model}/{self.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisteredModel:
    """A named model: how many versions it has, its newest, and its aliases (alias -> version)."""

    name: str
    created_at: int
    latest_version: int
    versions: int
    aliases: Mapping[str, int] = field(default_factory=dict)
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasMove:
    """One move of an alias: to ``version`` (None: removed) from ``previous_version``."""

    model: str
    alias: str
    version: int | None
    previous_version: int | None
    moved_by: str
    moved_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRef:
    """A parsed model reference: a name with an alias, a version, or neither (the newest)."""

    name: str
    alias: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name if self.version is None else f"{self.name}/{self.version}"


def check_model_name(name: str) -> str:
    """``name`` when it can name a model; else RegistryError saying what is allowed."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise RegistryError(f"model name {name!r} is not valid: use {_ALLOWED} (no spaces or slashes)")
    return name


def check_alias(alias: str) -> str:
    """``alias`` when it can name an alias (not all digits: ``NAME/3`` is a version)."""
    if not isinstance(alias, str) or not _NAME.fullmatch(alias) or alias.isdigit():
        raise RegistryError(
            f"alias {alias!r} is not valid: use {_ALLOWED}, not only digits (no spaces or slashes)"
        )
    return alias


def parse_model_ref(ref: str) -> ModelRef:
    """``NAME``, ``NAME@alias`` or ``NAME/version`` as a :class:`ModelRef`.

    Raises:
        RegistryError: the name or alias is not valid, or the version is not a number above 0.
    """
    if "@" in ref:
        name, _, alias = ref.partition("@")
        return ModelRef(name=check_model_name(name), alias=check_alias(alias))
    if "/" in ref:
        name, _, number = ref.partition("/")
        if not number.isdigit() or int(number) < 1:
            raise RegistryError(f"model reference {ref!r}: the version after '/' must be a number from 1")
        return ModelRef(name=check_model_name(name), version=int(number))
    return ModelRef(name=check_model_name(ref))
