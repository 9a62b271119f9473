"""Trial functions for the end-to-end report test: a sweep runs them in worker processes."""

from __future__ import annotations

from typing import Any

import sweeptrack as st


def bowl(params: dict[str, Any]) -> float:
    """Loss ``(x - 3)^2 + lr`` over a few epochs; fails for x above 8, as a diverging model would."""
    x, lr = params["x"], params["lr"]
    for epoch in range(params.get("epochs", 4)):
        st.log_metrics(
            {"loss": (x - 3) ** 2 + lr + 1.0 / (epoch + 1), "acc": 1.0 / (1.0 + abs(x - 3))}, step=epoch
        )
        if x > 8:
            raise ValueError(f"diverged at x={x}")
        if st.should_prune():
            raise st.TrialPruned()
    return (x - 3) ** 2 + lr
