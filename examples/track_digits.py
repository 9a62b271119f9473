"""Track a real scikit-learn training loop on the digits data set (no download: it ships with sklearn).

Trains an SGD classifier epoch by epoch with ``partial_fit`` for a few learning rates, logging params,
per-epoch loss / val_accuracy / val_f1, the dataset (with its content digest) and the model artifact.

    python examples/track_digits.py --db sqlite:///sweeptrack.db
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import sweeptrack as st


def train(db: str, lr: float, alpha: float, epochs: int, data_dir: Path) -> None:
    digits = load_digits()
    data_file = data_dir / "digits.csv"
    if not data_file.exists():
        table = np.column_stack([digits.data, digits.target])
        np.savetxt(data_file, table, delimiter=",", fmt="%g")
    x_train, x_val, y_train, y_val = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    classes = np.unique(digits.target)

    with st.start_run(experiment="digits", name=f"sgd-lr{lr:g}-a{alpha:g}", db=db, tags={"model": "sgd"}):
        st.log_params({"lr": lr, "alpha": alpha, "epochs": epochs, "model": "SGDClassifier"})
        st.log_dataset("digits", data_file, context="train")
        model = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=lr, alpha=alpha, random_state=0)
        for epoch in range(epochs):
            model.partial_fit(x_train, y_train, classes=classes)
            proba = model.predict_proba(x_val)
            predicted = classes[proba.argmax(axis=1)]
            st.log_metrics(
                {
                    "loss": log_loss(y_train, model.predict_proba(x_train), labels=classes),
                    "val_loss": log_loss(y_val, proba, labels=classes),
                    "val_accuracy": accuracy_score(y_val, predicted),
                    "val_f1": f1_score(y_val, predicted, average="macro"),
                },
                step=epoch,
            )
        with tempfile.TemporaryDirectory() as tmp:
            model_file = Path(tmp) / "model.pkl"
            model_file.write_bytes(pickle.dumps(model))
            st.log_artifact(model_file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite:///sweeptrack.db")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, nargs="+", default=[0.001, 0.01, 0.1])
    parser.add_argument("--alpha", type=float, default=1e-4)
    args = parser.parse_args()
    data_dir = Path("data")
    data_dir.mkdir(exist_ok=True)
    for lr in args.lr:
        train(args.db, lr, args.alpha, args.epochs, data_dir)
        print(f"trained lr={lr:g}")


if __name__ == "__main__":
    main()
