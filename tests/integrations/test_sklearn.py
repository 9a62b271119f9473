"""scikit-learn: ``st.log_sklearn`` logs a fitted estimator's params and the usual metrics, and
examples/digits_sklearn.py uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sweeptrack as st
from sweeptrack.core.model import RunStatus

from .conftest import env, runs_in

ROOT = Path(__file__).resolve().parents[2]


def test_log_sklearn_logs_params_and_classifier_metrics(tmp_path: Path) -> None:
    x, y = make_classification(n_samples=200, n_classes=3, n_informative=4, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500)).fit(x[:150], y[:150])
    with st.start_run(experiment="sk", db=f"sqlite:///{tmp_path}/sk.db", capture_environment=False):
        logged = st.log_sklearn(model, X_val=x[150:], y_val=y[150:])

    (run,) = runs_in(tmp_path / "sk.db")
    assert run.params["logisticregression__C"] == 0.5
    assert "steps" not in run.params and "logisticregression" not in run.params  # objects, not params
    assert set(logged) == {
        f"val_{k}" for k in ("accuracy", "f1", "precision", "recall", "log_loss", "roc_auc")
    }
    assert run.metrics["val_accuracy"].last == pytest.approx(model.score(x[150:], y[150:]))
    assert 0.5 < run.metrics["val_roc_auc"].last <= 1.0


def test_log_sklearn_logs_regressor_metrics_to_the_active_run(tmp_path: Path) -> None:
    x, y = make_regression(n_samples=80, n_features=3, noise=0.1, random_state=0)
    model = Ridge(alpha=2.0).fit(x[:60], y[:60])
    with st.start_run(db=f"sqlite:///{tmp_path}/sk.db", capture_environment=False):
        st.log_sklearn(model, X_val=x[60:], y_val=y[60:], prefix="test_")

    (run,) = runs_in(tmp_path / "sk.db")
    assert run.params["alpha"] == 2.0
    assert set(run.metrics) == {"test_r2", "test_mse", "test_rmse", "test_mae"}
    assert run.metrics["test_rmse"].last == pytest.approx(run.metrics["test_mse"].last ** 0.5)
    assert run.metrics["test_r2"].last > 0.9


def test_digits_example_logs_the_fitted_estimator(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/digits.db"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "digits_sklearn.py"), "--epochs", "2", "--db", db],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    (run,) = runs_in(tmp_path / "digits.db")
    assert run.status is RunStatus.FINISHED
    assert run.params["eta0"] == 0.01 and run.params["loss"] == "log_loss"  # the estimator's own params
    assert run.metrics["final_accuracy"].last_step == 1
    assert run.metrics["final_f1"].last == pytest.approx(run.metrics["val_f1"].last)
    assert "final_roc_auc" in done.stdout
