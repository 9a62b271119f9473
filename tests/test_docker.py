"""docker/: what can be checked without a Docker engine.

The compose files parse, every service they name exists, ports and environment match what
sweeptrack reads, the GPU override reserves NVIDIA devices, and the Dockerfile installs the package
the way the README says, as a non-root user.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from sqlalchemy.engine import make_url

from sweeptrack.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"


def compose(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / name).read_text())
    assert isinstance(data, dict) and isinstance(data["services"], dict)
    return data


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return compose("docker-compose.yml")


@pytest.fixture(scope="module")
def services(base: dict[str, Any]) -> dict[str, Any]:
    return base["services"]


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def db_envvar() -> str:
    (option,) = [p for p in cli.params if isinstance(p, click.Option) and p.name == "db"]
    assert isinstance(option.envvar, str)
    return option.envvar


def test_every_service_named_in_depends_on_exists(services: dict[str, Any]) -> None:
    assert {"postgres", "ray-head", "ray-worker"} <= set(services)
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown service {needed}"
    assert set(compose("docker-compose.gpu.yml")["services"]) <= set(services)


def test_named_volumes_are_declared(base: dict[str, Any]) -> None:
    for service in base["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in base["volumes"]
    assert "pgdata" in base["volumes"]
    assert "healthcheck" in base["services"]["postgres"]


def test_database_url_points_at_the_postgres_service(services: dict[str, Any]) -> None:
    pg = services["postgres"]["environment"]
    for name in ("migrate", "ray-head", "ray-worker"):
        url = make_url(services[name]["environment"][db_envvar()])
        assert url.drivername == "postgresql+psycopg"
        assert (url.host, url.port) == ("postgres", 5432)
        assert (url.username, url.password, url.database) == (
            pg["POSTGRES_USER"],
            pg["POSTGRES_PASSWORD"],
            pg["POSTGRES_DB"],
        )
    assert "5432:5432" in services["postgres"]["ports"]
    assert services["migrate"]["command"] == ["sweeptrack", "db", "upgrade"]
    assert services["ray-head"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_ray_head_serves_the_job_api_that_submit_talks_to(services: dict[str, Any]) -> None:
    head = services["ray-head"]
    assert {"8265:8265", "10001:10001"} <= set(head["ports"])
    command = head["command"]
    assert command[:3] == ["ray", "start", "--head"] and "--block" in command
    assert "--dashboard-host=0.0.0.0" in command and "--port=6379" in command
    worker = services["ray-worker"]["command"]
    assert worker[:2] == ["ray", "start"] and "--address=ray-head:6379" in worker and "--block" in worker
    readme = (ROOT / "README.md").read_text()
    assert "sweeptrack submit sweeps/quickstart.yaml --address http://localhost:8265" in readme
    assert "docker compose -f docker/docker-compose.yml up" in readme


def test_gpu_override_reserves_nvidia_devices_and_announces_gpus(services: dict[str, Any]) -> None:
    worker = compose("docker-compose.gpu.yml")["services"]["ray-worker"]
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device == {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}
    assert any(arg.startswith("--num-gpus=") for arg in worker["command"])
    assert "--address=ray-head:6379" in worker["command"]


def test_dockerfile_installs_the_package_as_the_readme_says_and_runs_as_non_root() -> None:
    steps = dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    installs = [shlex.split(args) for kind, args in steps if kind == "RUN" and "pip install" in args]
    assert ["pip", "install", ".[ray]"] in installs
    readme = (ROOT / "README.md").read_text()
    assert "pip install '.[ray]'" in readme
    assert "ray" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]

    copied = " ".join(args for kind, args in steps if kind == "COPY")
    for needed in ("pyproject.toml", "README.md", "src"):  # what `pip install .` reads
        assert needed in copied

    users = [args for kind, args in steps if kind == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert steps.index(("USER", users[-1])) > max(
        i for i, (kind, args) in enumerate(steps) if kind == "RUN" and "pip install" in args
    )
    exposed = {port for kind, args in steps if kind == "EXPOSE" for port in args.split()}
    assert exposed == {"6379", "8265", "10001"}


def test_dockerignore_keeps_the_build_context_small() -> None:
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("**") :][:4] == ["**", "!pyproject.toml", "!README.md", "!src/"]
