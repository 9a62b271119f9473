"""Why a query found nothing: a name that no run in scope has, with the nearest names that exist.

Called only when a listing or leaderboard came back empty, so a query that finds runs costs no
extra read. A name under NOT or in ``IS NULL`` is not checked: asking for runs that lack a key is
a fair question whatever the key.

Example:
    >>> explain_empty(store, experiment="digits", metrics=("val_f2",))   # doctest: +SKIP
    Traceback (most recent call last):
    SweepTrackError: no run in experiment 'digits' logged metric 'val_f2'; did you mean val_f1?
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.reports.formats import close_names
from sweeptrack.tracking.query import (
    And,
    Comparison,
    Entity,
    InList,
    Node,
    Or,
    parse_filter,
    parse_order_by,
)
from sweeptrack.tracking.store import KeysInScope, Store

__all__ = ["explain_empty", "filter_fields"]

_LISTED = 8  # names listed when none is close
_WHAT = {Entity.METRIC: "metric", Entity.PARAM: "param", Entity.TAG: "tag"}


def explain_empty(
    store: Store,
    *,
    experiment: str | None = None,
    sweep: str | None = None,
    sweep_name: str | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | str | None = None,
    metrics: Sequence[str] = (),
) -> None:
    """Raise if an empty answer is due to a name nobody logged; return if the query is sound.

    Args:
        store: Where the runs are.
        experiment: The experiment the query was limited to (checked to exist first).
        sweep: The sweep id it was limited to; ``sweep_name`` names it in the message.
        filter: The filter string; the metrics, params and tags it compares are checked.
        order_by: Order keys; their metrics, params and tags are checked too.
        metrics: Metric keys the query ranks by (``leaderboard --metric``).

    Raises:
        SweepTrackError: e.g. ``no run in experiment 'digits' logged metric 'val_f2'; did you
            mean val_f1?`` or ``no experiment 'digitz'; did you mean digits?``.
    """
    if experiment is not None:
        names = [found.name for found in store.list_experiments()]
        if experiment not in names:
            raise SweepTrackError(f"no experiment {experiment!r}{_hint(experiment, names, 'experiments')}")
    wanted = [(Entity.METRIC, key) for key in metrics]
    wanted += [(item.field.entity, item.field.key) for item in filter_fields(parse_filter(filter))]
    wanted += [(key.field.entity, key.field.key) for key in parse_order_by(order_by)]
    wanted = [(entity, key) for entity, key in dict.fromkeys(wanted) if entity in _WHAT]
    if not wanted:
        return
    found = store.keys_in_scope(experiment=experiment, sweep=sweep)
    for entity, key in wanted:
        logged = _logged(found, entity)
        if key not in logged:
            verb = "set" if entity is Entity.TAG else "logged"
            where = _scope(experiment, sweep, sweep_name)
            what = _WHAT[entity]
            raise SweepTrackError(f"no run {where} {verb} {what} {key!r}{_hint(key, logged, what + 's')}")


def filter_fields(node: Node | None) -> Iterator[Comparison | InList]:
    """The comparisons of a parsed filter that ask for a value (not those under NOT, nor IS NULL)."""
    match node:
        case And(items=items) | Or(items=items):
            for item in items:
                yield from filter_fields(item)
        case Comparison() | InList():
            yield node
        case _:  # Not, IsNull, None
            return


def _logged(found: KeysInScope, entity: Entity) -> tuple[str, ...]:
    return {Entity.METRIC: found.metrics, Entity.PARAM: found.params}.get(entity, found.tags)


def _scope(experiment: str | None, sweep: str | None, sweep_name: str | None) -> str:
    if sweep is not None:
        return f"in sweep {(sweep_name or sweep[:8])!r}"
    if experiment is not None:
        return f"in experiment {experiment!r}"
    return "in the database"


def _hint(name: str, known: Sequence[str], kind: str) -> str:
    """``; did you mean a, b?``, else ``; the metrics are ...``, else nothing."""
    close = close_names(name, known)
    if close:
        return f"; did you mean {', '.join(close)}?"
    if not known:
        return ""
    listed = ", ".join(known[:_LISTED]) + (", ..." if len(known) > _LISTED else "")
    return f"; the {kind} are {listed}"
