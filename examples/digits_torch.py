"""A sweep entrypoint: a small PyTorch MLP on the digits data set (CPU, or CUDA when there is one).

``train(params)`` trains for ``epochs`` epochs of mini-batches, logs ``loss``, ``val_loss``,
``val_accuracy``, ``val_f1`` (macro) and ``train_time`` with ``step=epoch``, stops early when the
sweep's pruner says so, and returns the final ``val_f1``. ``sweeps/digits_torch.yaml`` sweeps it.
torch is imported inside ``train``, so this module imports (and a sweep file naming it validates)
without torch installed.

Params (all optional): ``hidden`` (128), ``layers`` (1), ``dropout`` (0.1), ``batch_size`` (64),
``epochs`` (20), ``seed`` (0), ``device`` (auto: cuda when available, else cpu), ``threads`` (CPU
threads, 1 so parallel trials do not fight over cores), and an ``optimizer`` block
``{name: adam | sgd, lr, weight_decay}`` (a nested ``parameters:`` block in the sweep file; flat
``lr`` / ``optimizer: adam`` work too).

Alone, it tracks one run::

    python examples/digits_torch.py --lr 0.003 --hidden 128
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

import sweeptrack as st


@functools.cache
def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits split of ``digits_sklearn.py``: 75/25, stratified, fixed seed, standardized."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_val, y_train, y_val = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0
    return (x_train - mean) / std, (x_val - mean) / std, y_train, y_val


def _optimizer_params(params: Mapping[str, Any]) -> dict[str, Any]:
    block = params.get("optimizer", {})
    if not isinstance(block, Mapping):
        block = {"name": block}
    return {
        "name": str(block.get("name", "adam")),
        "lr": float(block.get("lr", params.get("lr", 3e-3))),
        "weight_decay": float(block.get("weight_decay", params.get("weight_decay", 0.0))),
    }


def _macro_f1(y: np.ndarray, predicted: np.ndarray, classes: int = 10) -> float:
    confusion = np.bincount(y * classes + predicted, minlength=classes * classes).reshape(classes, classes)
    hits = np.diag(confusion).astype(float)
    both = confusion.sum(axis=1) + confusion.sum(axis=0)
    return float(np.divide(2 * hits, both, out=np.zeros_like(hits), where=both > 0).mean())


def train(params: dict[str, Any]) -> float:
    """Train the MLP described by ``params``, logging every epoch; return the final val_f1."""
    import torch
    from torch import nn

    device = torch.device(params.get("device") or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cpu":
        torch.set_num_threads(int(params.get("threads", 1)))
    torch.manual_seed(int(params.get("seed", 0)))
    x_train, x_val, y_train, y_val = load_split()
    xt = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y_train, dtype=torch.long, device=device)
    xv = torch.as_tensor(x_val, dtype=torch.float32, device=device)
    yv = torch.as_tensor(y_val, dtype=torch.long, device=device)

    hidden, dropout = int(params.get("hidden", 128)), float(params.get("dropout", 0.1))
    blocks: list[nn.Module] = []
    width = xt.shape[1]
    for _ in range(int(params.get("layers", 1))):
        blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    model = nn.Sequential(*blocks, nn.Linear(width, 10)).to(device)

    opt = _optimizer_params(params)
    if opt["name"] == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            model.parameters(), lr=opt["lr"], momentum=0.9, weight_decay=opt["weight_decay"]
        )
    elif opt["name"] == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=opt["lr"], weight_decay=opt["weight_decay"])
    else:
        raise ValueError(f"optimizer.name must be 'adam' or 'sgd', got {opt['name']!r}")
    loss_fn = nn.CrossEntropyLoss()
    batch_size = int(params.get("batch_size", 64))
    generator = torch.Generator(device="cpu").manual_seed(int(params.get("seed", 0)))

    started = time.perf_counter()
    val_f1 = 0.0
    epochs = int(params.get("epochs", 20))
    for epoch in range(epochs):
        model.train()
        total = torch.zeros((), device=device)
        for idx in torch.randperm(len(xt), generator=generator).to(device).split(batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
        model.eval()
        with torch.no_grad():
            logits = model(xv)
            val_loss = loss_fn(logits, yv).item()
            predicted = logits.argmax(dim=1).cpu().numpy()
        val_f1 = _macro_f1(y_val, predicted)
        st.log_metrics(
            {
                "loss": total.item() / len(xt),
                "val_loss": val_loss,
                "val_accuracy": float((predicted == y_val).mean()),
                "val_f1": val_f1,
                "train_time": time.perf_counter() - started,
            },
            step=epoch,
        )
        if st.should_prune():
            raise st.TrialPruned()
    n_weights = sum(p.numel() for p in model.parameters())
    st.log_metric("n_params", n_weights, step=max(epochs - 1, 0))
    return val_f1


def main() -> None:
    parser = argparse.ArgumentParser(description="Train one digits MLP in PyTorch and track it as a run.")
    parser.add_argument(
        "--db", default=None, help="tracking database (default: $SWEEPTRACK_DB or ./sweeptrack.db)"
    )
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--batch-size", dest="batch_size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    params = vars(parser.parse_args())
    db = params.pop("db")
    with st.start_run(experiment="digits", name=f"torch-lr{params['lr']:g}", db=db) as run:
        st.log_params(params)
        f1 = train(params)
    print(f"run {run.id[:8]}: val_f1 {f1:.4f}")


if __name__ == "__main__":
    main()
