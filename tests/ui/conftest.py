"""The dashboard's fixtures: one sample database per session, the app on it (httpx), and a live
uvicorn server on a free loopback port for the browser tests."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sample import Sample, build

from sweeptrack.ui import UiSettings, create_app

sys.path.insert(0, str(Path(__file__).parents[1] / "reports"))  # browser.py: the report tests' Chromium

TOKEN = "a-test-token-that-is-long-enough"


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return build(tmp_path_factory.mktemp("dashboard"))


def settings(sample: Sample, **changes: object) -> UiSettings:
    return UiSettings(db=sample.db, artifacts=sample.folder / "artifacts", **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client(sample: Sample) -> Iterator[TestClient]:
    with TestClient(create_app(settings(sample)), base_url="http://127.0.0.1:8080") as opened:
        yield opened


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
    import os

    given = os.environ.get("SWEEPTRACK_TEST_OUTPUT")
    folder = Path(given) / "dashboard" if given else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
