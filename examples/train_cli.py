"""A plain training script, as W&B sweeps run it: hyperparameters arrive as ``--name=value`` flags.

It knows nothing of sweeps. It trains the scikit-learn digits model of ``digits_sklearn.py`` and
calls ``st.log_metrics(..., step=epoch)``: inside a ``program:``/``command:`` sweep trial
(``sweeps/wandb_style.yaml``) those calls attach to the trial's run by themselves; run alone, they
log to a new run in ``$SWEEPTRACK_DB`` (else ``./sweeptrack.db``). A trial the sweep's pruner
stops is ended by the executor, so the script needs no pruning code either.

    python examples/train_cli.py --lr=0.01 --epochs=20
    python examples/train_cli.py --model=mlp --lr=0.003 --hidden=64
"""

from __future__ import annotations

import argparse
import time

from digits_sklearn import CLASSES, epoch_metrics, load_split, make_model

import sweeptrack as st


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Train the digits model; flags as W&B's ${args} writes them."
    )
    parser.add_argument("--model", choices=("sgd", "mlp"), default="sgd")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--learning_rate", choices=("constant", "optimal"), default="constant")
    parser.add_argument("--alpha", type=float, default=1e-4)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    params = vars(parser.parse_args())

    split = load_split()
    model = make_model(params)
    started = time.perf_counter()
    for epoch in range(params["epochs"]):
        model.partial_fit(split[0], split[2], classes=CLASSES)
        metrics = epoch_metrics(model, split, started)
        st.log_metrics(metrics, step=epoch)
        print(f"epoch {epoch}: val_f1 {metrics['val_f1']:.4f}", flush=True)


if __name__ == "__main__":
    main()
