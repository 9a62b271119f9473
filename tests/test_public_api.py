"""`import sweeptrack as st`: the public names are listed, sorted, and each one is there."""

from __future__ import annotations

import sweeptrack


def test_all_is_sorted_and_complete() -> None:
    assert sweeptrack.__all__ == sorted(sweeptrack.__all__)
    assert all(hasattr(sweeptrack, name) for name in sweeptrack.__all__)
    assert {"Client", "load_model_path", "start_run", "run_sweep"} <= set(sweeptrack.__all__)
