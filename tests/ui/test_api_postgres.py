"""The dashboard's reads on PostgreSQL: a page of runs with its count, curves bucketed in the
database, counts by sweep and status (the SQL differs from SQLite's in division and grouping)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import sweeptrack as st
from sweeptrack.ui import UiSettings, create_app

pytestmark = pytest.mark.postgres


def test_runs_page_and_curves_on_postgresql(pg_url: str, tmp_path: object) -> None:
    ids = []
    for number, lr in enumerate((0.1, 0.01, 0.001)):
        with st.start_run(experiment="pg", name=f"run-{number}", db=pg_url, capture_environment=False) as run:
            run.log_params({"lr": lr, "batch_size": 32 if number else 64})
            steps = 2500 if number == 0 else 10
            for step in range(steps):
                run.log_metrics({"loss": lr + 1.0 / (step + 1)}, step=step)
        ids.append(run.id)
    app = create_app(UiSettings(db=pg_url, artifacts=tmp_path))  # type: ignore[arg-type]
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        body = client.get(
            "/api/runs",
            params={
                "filter": "params.lr < 0.05 and params.batch_size = 32",
                "order": "metrics.loss.min DESC",
            },
        ).json()
        assert body["total"] == 2 and [r["name"] for r in body["runs"]] == ["run-1", "run-2"]
        loss = client.get(f"/api/runs/{ids[0]}/curves").json()["curves"]["loss"]
        assert loss["downsampled"] and loss["total"] == 2500 and len(loss["steps"]) <= 1000
        assert loss["steps"][0] == 0 and loss["steps"][-1] == 2499
        assert max(loss["values"]) == 1.1 and min(loss["values"]) == 0.1 + 1 / 2500
        part = client.get(f"/api/runs/{ids[0]}/metrics/loss", params={"start": 10, "end": 19}).json()
        assert part["steps"] == list(range(10, 20)) and not part["downsampled"]
        home = client.get("/api/home").json()
        assert home["experiments"][0]["counts"] == {"finished": 3}
        assert client.get("/").status_code == 200 and "run-" not in client.get("/").text
