"""Ctrl-C and SIGTERM as a stop the sweep loop takes at its next turn, not an exception anywhere.

Python raises KeyboardInterrupt wherever the main thread is when SIGINT arrives, e.g. in the
middle of a database write, and SIGTERM kills the process outright (or, after ``ray.init``, exits
through Ray's handler), leaving the sweep RUNNING with its trials. While :func:`signals_as_stop`
is active both signals only call ``note``; the controller acts on it between writes. A second
signal raises KeyboardInterrupt at once, for a user who does not want to wait.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

__all__ = ["signal_cause", "signals_as_stop"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_as_stop(note: Callable[[int], None]) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM call ``note(signum)`` (the first) or raise
    KeyboardInterrupt (any later one); the previous handlers come back afterwards.

    Handlers someone installed are taken over for the block too (ray.init's exits at SIGTERM); a
    signal that is ignored stays ignored. Outside the main thread, where Python cannot install
    handlers, nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        note(signum)

    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    taken = [signum for signum, handler in previous.items() if handler is not signal.SIG_IGN]
    for signum in taken:
        signal.signal(signum, on_signal)
    try:
        yield
    finally:
        for signum in taken:
            signal.signal(signum, previous[signum])


def signal_cause(signum: int | None) -> str:
    """How an interrupted run's error names the signal: ``Ctrl-C`` or ``SIGTERM``."""
    return "Ctrl-C" if signum in (None, signal.SIGINT) else signal.Signals(signum).name
