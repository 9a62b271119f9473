"""The sweep loop: ask -> dispatch -> ingest events -> prune -> tell -> stop (the sole writer)."""

from sweeptrack.controller.loop import Controller
from sweeptrack.controller.progress import SweepProgress, SweepResult
from sweeptrack.controller.session import open_sweep, run_sweep

__all__ = ["Controller", "SweepProgress", "SweepResult", "open_sweep", "run_sweep"]
