"""Helpers of the dashboard tests: settings for the sample database, the CSRF token of a page, a
live uvicorn server on a free loopback port, where screenshots go."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from sample import Sample

from sweeptrack.ui import UiSettings

TOKEN = "a-test-token-that-is-long-enough"


def settings(sample: Sample, **changes: object) -> UiSettings:
    return UiSettings(db=sample.db, artifacts=sample.folder / "artifacts", **changes)  # type: ignore[arg-type]


def csrf_of(page: str) -> str:
    marker = 'name="csrf-token" content="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


class LiveServer:
    """uvicorn serving an app in a thread of this process, on 127.0.0.1 and a free port."""

    def __init__(self, app: object) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(self.url + "/static/app.css", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the dashboard did not start within 20 s")
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def output_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $SWEEPTRACK_TEST_OUTPUT (kept by CI) or a temporary folder."""
    given = os.environ.get("SWEEPTRACK_TEST_OUTPUT")
    folder = Path(given) / "dashboard" if given else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
