"""Driver errors as sweeptrack errors: a value the database refuses is not a database that is down.

A refused value (out of range, too long, a NUL byte, a constraint) is permanent: retrying the same
write fails the same way, so it becomes :class:`InvalidValueError` and a writer drops it. A lost or
locked connection is temporary: it stays :class:`StoreError`, which writers retry.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, StatementError

from sweeptrack.core.errors import InvalidValueError, StoreError, SweepTrackError

__all__ = ["is_data_error", "translate_error"]

# DB-API 2 names: the metric hot path calls the driver directly, so its errors arrive unwrapped.
_DBAPI_DATA_ERRORS = frozenset({"DataError", "IntegrityError"})
_DBAPI_CONNECTION_ERRORS = frozenset({"OperationalError", "InterfaceError"})


def _dbapi_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def is_data_error(exc: BaseException) -> bool:
    """Whether ``exc`` says a value was refused (permanent), not that the database is unreachable."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    if isinstance(exc, StatementError) and not isinstance(exc, DBAPIError):
        return True  # raised while binding a value, before the database saw it
    if isinstance(exc, OverflowError | ValueError) and not isinstance(exc, SweepTrackError):
        return True
    return bool(_dbapi_names(exc) & _DBAPI_DATA_ERRORS)


def reason(exc: BaseException) -> str:
    """The first line of the driver's message."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def translate_error(exc: Exception, where: str) -> SweepTrackError | None:
    """The sweeptrack error for a driver error on database ``where``; None for anything else."""
    if isinstance(exc, SweepTrackError):
        return None
    if is_data_error(exc):
        return InvalidValueError(f"the database refused a value: {reason(exc)}")
    names = _dbapi_names(exc)
    if isinstance(exc, OperationalError) or names & _DBAPI_CONNECTION_ERRORS:
        return StoreError(f"cannot use database {where}: {reason(exc)}")
    if isinstance(exc, DBAPIError) or "DatabaseError" in names:
        return StoreError(f"database error on {where}: {reason(exc)}")
    return None
