"""Errors raised by the search bridge (both part of the one hierarchy in :mod:`sweeptrack.core.errors`)."""

from __future__ import annotations

from sweeptrack.core.errors import SweepTrackError

__all__ = ["MissingDependencyError", "SearchExhausted"]


class SearchExhausted(SweepTrackError):
    """The search has no config left to ask (a grid whose every config was asked)."""


class MissingDependencyError(SweepTrackError):
    """The sweep's method needs an optional package that is not installed; the message says which
    and how to install it."""
