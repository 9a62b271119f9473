"""scikit-learn: ``st.log_sklearn(estimator, X_val=X, y_val=y)`` after fitting.

Logs the estimator's ``get_params()`` (a nested estimator through its params, under their ``__``
names, not as an object) and,
given validation data, the usual metrics: for a classifier accuracy, macro F1, precision and
recall, and log loss and ROC AUC when it predicts probabilities; for a regressor R², MSE, RMSE
and MAE. Each metric is named ``val_NAME`` (``prefix`` changes that).
"""

from __future__ import annotations

import math
from typing import Any

from sweeptrack import fluent
from sweeptrack.compat._values import plain_param
from sweeptrack.run import Run

__all__ = ["log_sklearn"]


def log_sklearn(
    estimator: Any,
    X_val: Any = None,
    y_val: Any = None,
    *,
    prefix: str = "val_",
    step: int | None = None,
    run: Run | None = None,
) -> dict[str, float]:
    """Log a fitted estimator's params and its metrics on ``X_val``/``y_val``; returns the metrics.

    The run is ``run``, else the active run (a sweep trial's inside a sweep), else a new one.

    Example:
        >>> clf = LogisticRegression(C=0.5).fit(X_train, y_train)     # doctest: +SKIP
        >>> st.log_sklearn(clf, X_val=X_test, y_val=y_test)["val_accuracy"]
        0.96
    """
    target = run or fluent.active_run() or fluent.start_run()
    params = estimator.get_params()
    target.log_params(
        {key: plain_param(value) for key, value in params.items() if not _holds_estimator(value)}
    )
    if X_val is None or y_val is None:
        return {}
    metrics = _metrics(estimator, X_val, y_val)
    named = {f"{prefix}{key}": value for key, value in metrics.items() if math.isfinite(value)}
    target.log_metrics(named, step)
    return named


def _holds_estimator(value: Any) -> bool:
    """A nested estimator (or a pipeline's list of them): its own params are logged under its name."""
    if isinstance(value, list | tuple):
        return any(_holds_estimator(item) for item in value)
    return hasattr(value, "get_params") and not isinstance(value, type)


def _metrics(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(estimator):
        return _classifier_metrics(estimator, X, y)
    if is_regressor(estimator):
        from sklearn import metrics

        predicted = estimator.predict(X)
        mse = float(metrics.mean_squared_error(y, predicted))
        return {
            "r2": float(metrics.r2_score(y, predicted)),
            "mse": mse,
            "rmse": math.sqrt(mse),
            "mae": float(metrics.mean_absolute_error(y, predicted)),
        }
    return {"score": float(estimator.score(X, y))}


def _classifier_metrics(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    from sklearn import metrics

    predicted = estimator.predict(X)
    found = {
        "accuracy": float(metrics.accuracy_score(y, predicted)),
        "f1": float(metrics.f1_score(y, predicted, average="macro")),
        "precision": float(metrics.precision_score(y, predicted, average="macro", zero_division=0)),
        "recall": float(metrics.recall_score(y, predicted, average="macro", zero_division=0)),
    }
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        labels = getattr(estimator, "classes_", None)
        found["log_loss"] = float(metrics.log_loss(y, proba, labels=labels))
        try:
            if proba.shape[1] == 2:
                found["roc_auc"] = float(metrics.roc_auc_score(y, proba[:, 1]))
            else:
                found["roc_auc"] = float(metrics.roc_auc_score(y, proba, multi_class="ovr", labels=labels))
        except ValueError:  # a class missing from y: AUC is undefined
            pass
    return found
