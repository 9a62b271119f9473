"""The one exception hierarchy of sweeptrack.

Every error a user can cause derives from :class:`SweepTrackError`; the CLI prints its message on one
line and exits non-zero, so messages say what was wrong, where, and what to do.
"""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "InvalidValueError",
    "QueryError",
    "RunNotFoundError",
    "SchemaError",
    "StoreError",
    "SweepTrackError",
]


class SweepTrackError(Exception):
    """Base of every error sweeptrack raises on purpose."""


class StoreError(SweepTrackError):
    """The tracking database cannot be opened, read or written."""


class SchemaError(StoreError):
    """The database schema is missing, older or newer than this version of sweeptrack."""


class RunNotFoundError(StoreError):
    """A run reference (id, id prefix or name) matched no run, or more than one."""


class QueryError(SweepTrackError):
    """A filter or order-by string is malformed; the message points at the offending token."""


class InvalidValueError(SweepTrackError, ValueError):
    """A logged value has the wrong type (a non-numeric metric, an unserialisable param)."""


class ArtifactError(SweepTrackError):
    """An artifact path is missing, unreadable or escapes the artifact root."""
