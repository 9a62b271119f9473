"""A sweep entrypoint: scikit-learn on the digits data set, trained one epoch at a time.

``train(params)`` fits an ``SGDClassifier`` (log loss; ``model: sgd``, the default) or an
``MLPClassifier`` (``model: mlp``) with ``partial_fit``, logs ``loss``, ``val_loss``,
``val_accuracy``, ``val_f1`` (macro) and ``train_time`` after every epoch with ``step=epoch``,
stops early when the sweep's pruner says so, and returns the final ``val_f1``. Sweeps name it as
``entrypoint: examples.digits_sklearn:train`` (see ``sweeps/quickstart.yaml``).

Params (all optional): ``model`` (sgd | mlp), ``lr`` (SGD's constant rate, MLP's Adam rate),
``learning_rate`` (SGD: constant | optimal), ``alpha`` (L2), ``hidden`` (MLP width),
``batch_size`` (MLP), ``epochs`` (20), ``seed`` (0).

Alone, it tracks one run (no sweep), and logs the fitted estimator with ``st.log_sklearn``
(its ``get_params()`` and ``final_accuracy``, ``final_f1``, ``final_roc_auc``, ...)::

    python examples/digits_sklearn.py --lr 0.01
    python examples/digits_sklearn.py --model mlp --lr 0.003 --hidden 64 --db sqlite:///sweeptrack.db
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

import sweeptrack as st

CLASSES = np.arange(10)


@functools.cache
def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits, split 75/25 (stratified, fixed seed) and standardized on the training part."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_val, y_train, y_val = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0  # constant border pixels
    return (x_train - mean) / std, (x_val - mean) / std, y_train, y_val


def make_model(params: Mapping[str, Any]) -> Any:
    """An untrained classifier for ``params`` (``model``: sgd or mlp)."""
    kind = params.get("model", "sgd")
    lr = float(params.get("lr", 0.01))
    alpha = float(params.get("alpha", 1e-4))
    seed = int(params.get("seed", 0))
    if kind == "sgd":
        from sklearn.linear_model import SGDClassifier

        schedule = params.get("learning_rate", "constant")
        return SGDClassifier(loss="log_loss", learning_rate=schedule, eta0=lr, alpha=alpha, random_state=seed)
    if kind == "mlp":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(
            hidden_layer_sizes=(int(params.get("hidden", 64)),),
            learning_rate_init=lr,
            alpha=alpha,
            batch_size=int(params.get("batch_size", 64)),
            random_state=seed,
        )
    raise ValueError(f"model must be 'sgd' or 'mlp', got {kind!r}")


def n_params(model: Any) -> int:
    """How many weights the fitted model holds (its size, for multi-objective sweeps)."""
    if hasattr(model, "coefs_"):
        return sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_)
    return int(model.coef_.size + model.intercept_.size)


def evaluate(model: Any, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Log loss, accuracy and macro F1 of ``model`` on (x, y), robust to a diverged model."""
    with np.errstate(all="ignore"):
        proba = np.nan_to_num(model.predict_proba(x), nan=0.0, posinf=1.0, neginf=0.0)
    total = proba.sum(axis=1, keepdims=True)
    proba = np.where(total > 0, proba / np.where(total > 0, total, 1.0), 1.0 / len(CLASSES))
    with np.errstate(all="ignore"):
        predicted = model.predict(x)
    # Macro F1 from the confusion counts (sklearn's f1_score gives the same, ~20x slower).
    confusion = np.bincount(y * len(CLASSES) + predicted, minlength=len(CLASSES) ** 2).reshape(10, 10)
    hits = np.diag(confusion).astype(float)
    support, guessed = confusion.sum(axis=1), confusion.sum(axis=0)
    f1 = np.divide(2 * hits, support + guessed, out=np.zeros_like(hits), where=(support + guessed) > 0)
    return {
        "loss": float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0)).mean()),
        "accuracy": float(hits.sum() / len(y)),
        "f1": float(f1.mean()),
    }


def epoch_metrics(model: Any, split: tuple[np.ndarray, ...], started: float) -> dict[str, float]:
    """The per-epoch metrics every digits example logs."""
    x_train, x_val, y_train, y_val = split
    val = evaluate(model, x_val, y_val)
    train_loss = model.loss_ if hasattr(model, "loss_") else evaluate(model, x_train, y_train)["loss"]
    return {
        "loss": float(train_loss),
        "val_loss": val["loss"],
        "val_accuracy": val["accuracy"],
        "val_f1": val["f1"],
        "train_time": time.perf_counter() - started,
    }


def train(params: dict[str, Any]) -> float:
    """Train for ``params["epochs"]`` epochs (default 20), logging each; return the final val_f1."""
    return fit(params)[1]


def fit(params: dict[str, Any]) -> tuple[Any, float]:
    """Train as :func:`train` does; return the fitted model and its final val_f1."""
    split = load_split()
    x_train, _, y_train, _ = split
    model = make_model(params)
    started = time.perf_counter()
    metrics: dict[str, float] = {"val_f1": 0.0}
    epochs = int(params.get("epochs", 20))
    for epoch in range(epochs):
        with np.errstate(all="ignore"):
            model.partial_fit(x_train, y_train, classes=CLASSES)
        metrics = epoch_metrics(model, split, started)
        st.log_metrics(metrics, step=epoch)
        if st.should_prune():
            raise st.TrialPruned()
    st.log_metric("n_params", n_params(model), step=max(epochs - 1, 0))
    return model, metrics["val_f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Train one digits model and track it as a run.")
    parser.add_argument(
        "--db", default=None, help="tracking database (default: $SWEEPTRACK_DB or ./sweeptrack.db)"
    )
    parser.add_argument("--model", choices=("sgd", "mlp"), default="sgd")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument(
        "--learning-rate", dest="learning_rate", choices=("constant", "optimal"), default="constant"
    )
    parser.add_argument("--alpha", type=float, default=1e-4)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    params = vars(parser.parse_args())
    db = params.pop("db")
    if params["model"] == "sgd":
        params.pop("hidden")
    else:
        params.pop("learning_rate")
    with st.start_run(experiment="digits", name=f"{params['model']}-lr{params['lr']:g}", db=db) as run:
        st.log_params(params)
        model, f1 = fit(params)
        _, x_val, _, y_val = load_split()
        # The estimator's own params and the usual scores on the validation split, once at the end.
        final = st.log_sklearn(model, X_val=x_val, y_val=y_val, prefix="final_", step=params["epochs"] - 1)
    print(f"run {run.id[:8]}: val_f1 {f1:.4f}, final_roc_auc {final.get('final_roc_auc', float('nan')):.4f}")


if __name__ == "__main__":
    main()
