"""A small tracked training script, used by the README's "Reproduce" and "Model registry" sections.

It fits one weight to the numbers in ``data.csv``, logs the loss per epoch and pickles the model;
the run takes its database from ``SWEEPTRACK_DB`` (default ``sqlite:///sweeptrack.db``).

    python train.py --lr 0.3 [--name NAME]
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import sweeptrack as st


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--name", default="train")
    args = parser.parse_args()
    with st.start_run(experiment="readme", name=args.name):
        st.log_params({"lr": args.lr})
        st.log_dataset("numbers", "data.csv")
        numbers = [float(x) for x in Path("data.csv").read_text().split()]
        target = sum(numbers) / len(numbers)
        weight = 0.0
        for epoch in range(10):
            weight += args.lr * (target - weight)
            st.log_metrics({"loss": (weight - target) ** 2}, step=epoch)
        Path("model.pkl").write_bytes(pickle.dumps({"weight": weight}))
        st.log_artifact("model.pkl")


if __name__ == "__main__":
    main()
