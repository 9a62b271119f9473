"""The grid walk: every config of a discrete space once, in a fixed order.

Optuna's ``GridSampler`` does not fit an ask/tell study that is rebuilt on resume: it picks the
config of trial ``n`` as grid point ``n`` (so trials restored with ``add_trial`` or enqueued ones
shift the walk and configs repeat), and its ``after_trial`` calls ``Study.stop()``, which raises
``RuntimeError`` outside ``Study.optimize`` (Optuna 5.0) when the last config is told. The walk is
therefore kept here and every grid trial is asked with its params fixed (``enqueue_trial``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["GridWalk"]


class GridWalk:
    """The product of the parameters' values in spec order (the last parameter varies fastest),
    skipping configs already taken (asked, enqueued or restored).

    Trial ``n`` of a sweep gets point ``n`` of the product (:meth:`at`), whatever ran before it in
    this process, so a resumed grid sweep gives each number the config an uninterrupted one would.
    """

    def __init__(self, choices: Sequence[tuple[str, Sequence[Any]]]) -> None:
        self._keys = tuple(key for key, _ in choices)
        self._values = tuple(tuple(v) for _, v in choices)
        self._product: Iterator[tuple[Any, ...]] = itertools.product(*(v for _, v in choices))
        self._taken: set[tuple[Any, ...]] = set()

    def take(self, internal: Mapping[str, Any]) -> None:
        """Mark a config as done, so the walk does not offer it again."""
        self._taken.add(tuple(internal.get(key) for key in self._keys))

    def at(self, index: int) -> dict[str, Any] | None:
        """Point ``index`` of the product when it is not taken, else the next config not taken."""
        point = self._point(index)
        if point is None or point in self._taken:
            return self.next()
        self._taken.add(point)
        return dict(zip(self._keys, point, strict=True))

    def _point(self, index: int) -> tuple[Any, ...] | None:
        if index < 0:
            return None
        digits: list[Any] = []
        for values in reversed(self._values):
            if not values:
                return None
            index, digit = divmod(index, len(values))
            digits.append(values[digit])
        return None if index else tuple(reversed(digits))

    def next(self) -> dict[str, Any] | None:
        """The next config not taken yet (Optuna names -> internal values), or None when none is
        left. The walk only moves forward: every config behind it is taken."""
        for point in self._product:
            if point not in self._taken:
                self._taken.add(point)
                return dict(zip(self._keys, point, strict=True))
        return None
