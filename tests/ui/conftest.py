"""The dashboard's fixtures: one sample database per session and the app on it (httpx)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sample import Sample, build
from uihelp import settings

from sweeptrack.ui import create_app

sys.path.insert(0, str(Path(__file__).parents[1] / "reports"))  # browser.py: the report tests' Chromium


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return build(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="module")
def client(sample: Sample) -> Iterator[TestClient]:
    with TestClient(create_app(settings(sample)), base_url="http://127.0.0.1:8080") as opened:
        yield opened
