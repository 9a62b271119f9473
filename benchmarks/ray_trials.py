"""Trial functions for the Ray benchmarks (``entrypoint: ray_trials:NAME``, resolved against this
folder, the spec's ``base_dir``)."""

from __future__ import annotations

import time
from typing import Any

SLEEP_S = 1.0


def noop(params: dict[str, Any]) -> float:
    """Logs nothing, returns at once: what is left is the controller's and executor's cost."""
    return float(params["x"])


def sleep1(params: dict[str, Any]) -> float:
    """A one-second trial: the executor's per-trial cost shows as a share of a second."""
    time.sleep(SLEEP_S)
    return float(params["x"])
