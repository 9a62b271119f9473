"""A tracking database with a few finished runs, written through the run API, for CLI tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

import sweeptrack as st
from sweeptrack.cli.main import cli

# (name, lr, batch_size, val_f1 per epoch, loss per epoch) of the "digits" runs.
DIGITS = (
    ("lr-0.1", 0.1, 32, (0.50, 0.60, 0.70), (0.9, 0.6, 0.5)),
    ("lr-0.01", 0.01, 32, (0.60, 0.80, 0.90), (0.8, 0.4, 0.2)),
    ("lr-0.001", 0.001, 64, (0.55, 0.65, 0.75), (1.0, 0.7, 0.3)),
)


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Three "digits" runs (one with a NaN metric and an artifact) and one run in "other"."""
    folder = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{folder}/sweeptrack.db"
    data = folder / "train.csv"
    data.write_text("x,y\n1,2\n")
    model = folder / "model.bin"
    model.write_bytes(b"weights" * 10)
    for name, lr, batch_size, f1s, losses in DIGITS:
        with st.start_run(experiment="digits", name=name, tags={"team": "vision"}, db=url):
            st.log_params({"lr": lr, "batch_size": batch_size, "optimizer": "adam"})
            st.log_dataset("train", data)
            for epoch, (f1, loss) in enumerate(zip(f1s, losses, strict=True)):
                st.log_metrics({"val_f1": f1, "loss": loss}, step=epoch)
            if name == "lr-0.001":
                st.log_metric("grad_norm", float("nan"))
                st.log_artifact(model)
    with st.start_run(experiment="other", name="solo", db=url, capture_environment=False):
        st.log_params({"lr": 0.5})
        st.log_metrics({"val_f1": 0.99, "loss": 0.01}, step=0)
    return url


Invoke = Callable[..., Result]


@pytest.fixture
def invoke(db_url: str) -> Invoke:
    """Run ``sweeptrack --db <db_url> ARGS...`` in-process; stdout and stderr kept apart."""

    def run(*args: str, db: str | None = None, expect: int | None = 0) -> Result:
        result = CliRunner().invoke(cli, ["--db", db or db_url, *args], catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, result.output
        return result

    return run
