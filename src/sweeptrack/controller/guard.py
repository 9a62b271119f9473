"""The controller's distrust of trial events: a value no backend stores fails its trial, not the sweep.

Training code is checked at the call (:mod:`sweeptrack.core.limits`), but a trial may still send
what a database refuses: a function's returned dict, another version of sweeptrack, an event made by
hand. Every event is checked as it arrives with the same functions; one that fails marks its trial
refused (its later events are dropped, the trial ends FAILED with the reason). A batch the store
refuses anyway is written again run by run and event by event, so only the offending events are
lost and every other trial's writes land.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from sweeptrack.core.errors import InvalidValueError, RunNotFoundError
from sweeptrack.core.events import Event, MetricsLogged, RunEnded, RunStarted
from sweeptrack.core.limits import check_event
from sweeptrack.core.model import RunStatus
from sweeptrack.tracking.store import Store

__all__ = ["EventGuard"]


class EventGuard:
    """Checks trial events before they are written; remembers which trials sent a refused value."""

    def __init__(self) -> None:
        self._refused: dict[str, str] = {}  # run id -> why its trial fails

    def admit(self, run_id: str, event: Event) -> bool:
        """Whether ``event`` of trial ``run_id`` may be written; False marks the trial refused."""
        if run_id in self._refused:
            return False
        try:
            check_event(event)
        except InvalidValueError as exc:
            self._refused[run_id] = f"refused a logged value: {exc}"
            return False
        return True

    def reason(self, run_id: str) -> str | None:
        """Why trial ``run_id`` must fail, or None if everything it sent was written."""
        return self._refused.get(run_id)

    def forget(self, run_id: str) -> None:
        self._refused.pop(run_id, None)

    def apply(self, store: Store, events: Sequence[Event], on_refused: Callable[[str], None]) -> None:
        """Write ``events`` in one transaction; if the store refuses a value, write them again run by
        run, then event by event for a run whose batch is refused, dropping only refused events
        (``on_refused(run_id)`` is called for each such run; a later end of it becomes FAILED).

        The controller's own events (a run and its sampled params) are checked here first, so a
        value beyond the limits fails its trial alike on every backend."""
        events = [event for event in events if self._admit_own(event, on_refused)]
        try:
            store.apply(events)
            return
        except InvalidValueError:
            pass
        for run_id, group in _by_run(events).items():
            try:
                store.apply(group)
            except InvalidValueError:
                self._apply_one_by_one(store, run_id, group, on_refused)

    def _admit_own(self, event: Event, on_refused: Callable[[str], None]) -> bool:
        if isinstance(event, MetricsLogged | RunEnded):  # points were admitted as they arrived
            return True
        try:
            check_event(event)
        except InvalidValueError as exc:
            if event.run_id not in self._refused:
                self._refused[event.run_id] = f"refused a logged value: {exc}"
                on_refused(event.run_id)
            return isinstance(event, RunStarted)  # the run is written, to end FAILED
        return True

    def _apply_one_by_one(
        self, store: Store, run_id: str, group: Sequence[Event], on_refused: Callable[[str], None]
    ) -> None:
        for event in group:
            reason = self._refused.get(run_id)
            if isinstance(event, RunEnded) and reason is not None:
                event = dataclasses.replace(event, status=RunStatus.FAILED, error=reason)
            try:
                store.apply([event])
            except (InvalidValueError, RunNotFoundError) as exc:  # (its run was refused)
                if reason is None:
                    self._refused[run_id] = str(exc)  # "the database refused a value: ..."
                    on_refused(run_id)


def _by_run(events: Sequence[Event]) -> dict[str, list[Event]]:
    groups: dict[str, list[Event]] = {}
    for event in events:
        groups.setdefault(event.run_id, []).append(event)
    return groups
