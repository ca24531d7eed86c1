"""A run folder's records: resumable checkpoints, ``metrics.csv`` and the learning curve."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import torch

from salt.errors import ModelError
from salt.io.atomic import atomic_write_bytes

__all__ = [
    "METRIC_FIELDS",
    "append_metrics",
    "load_checkpoint",
    "plot_learning_curve",
    "save_checkpoint",
    "truncate_metrics",
]

METRIC_FIELDS = [
    "step",
    "images",
    "elapsed_s",
    "lr",
    "train_loss",
    "val_loss",
    "val_miou",
    "val_iou_0",
    "val_iou_1",
    "val_iou_2",
    "val_view_mae",
    "val_salt_mae",
    "val_salt_bias",
    "val_no_scalp_views",
    "real_view_mae",
    "real_view_bias",
    "real_salt_mae",
    "real_salt_bias",
]


def save_checkpoint(
    run_dir: Path,
    network: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    ema: torch.nn.Module | None = None,
) -> None:
    """Write the network, the optimiser and ``state`` atomically for ``--resume``.

    ``checkpoint.safetensors`` holds the tensors (``model/...``, ``opt/<param>/...``,
    and ``ema/...`` for the weights' moving average when ``ema`` is given), ``state.json``
    the progress and the optimiser's parameter groups.
    """
    from safetensors.torch import save as st_save

    tensors = {f"model/{k}": v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    if ema is not None:
        tensors |= {f"ema/{k}": v.detach().cpu().contiguous() for k, v in ema.state_dict().items()}
    opt_state = optimizer.state_dict()
    for pid, pstate in opt_state["state"].items():
        for key, value in pstate.items():
            t = value if isinstance(value, torch.Tensor) else torch.tensor(value)
            tensors[f"opt/{pid}/{key}"] = t.detach().cpu().contiguous()
    state = dict(state)
    state["param_groups"] = opt_state["param_groups"]
    atomic_write_bytes(run_dir / "checkpoint.safetensors", st_save(tensors))
    atomic_write_bytes(run_dir / "state.json", (json.dumps(state, indent=2) + "\n").encode())


def load_checkpoint(
    run_dir: Path,
    network: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: torch.nn.Module | None = None,
) -> dict[str, Any]:
    """Load a run's checkpoint into ``network``, ``optimizer`` (and ``ema``); return its state.

    Raises
    ------
    ModelError
        If the checkpoint is unreadable, does not fit the network, or lacks the moving
        average that ``ema`` asks for.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

    path = run_dir / "checkpoint.safetensors"
    try:
        state = json.loads((run_dir / "state.json").read_text())
        tensors = st_load(path.read_bytes())
    except (OSError, json.JSONDecodeError, SafetensorError) as exc:
        raise ModelError(f"cannot resume from {run_dir}: checkpoint unreadable ({exc})") from exc
    model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model/")}
    try:
        network.load_state_dict(model_state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"checkpoint {path} does not fit the run's network: {exc}") from exc
    if ema is not None:
        ema_state = {k[4:]: v for k, v in tensors.items() if k.startswith("ema/")}
        if not ema_state:
            raise ModelError(f"checkpoint {path} has no moving average of the weights (--ema)")
        try:
            ema.load_state_dict(ema_state, strict=True)
        except RuntimeError as exc:
            raise ModelError(f"checkpoint {path}: moving average does not fit: {exc}") from exc
    opt_state: dict[str, Any] = {"state": {}, "param_groups": state.pop("param_groups")}
    for key, value in tensors.items():
        if key.startswith("opt/"):
            _, pid, name = key.split("/", 2)
            opt_state["state"].setdefault(int(pid), {})[name] = value
    optimizer.load_state_dict(opt_state)
    return state


def truncate_metrics(path: Path, step: int) -> None:
    """Drop rows logged after the checkpoint a run resumes from (the steps are redone)."""
    if not path.exists():
        return
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if int(float(r["step"])) <= step]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=METRIC_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def append_metrics(path: Path, rows: list[dict[str, float]]) -> None:
    """Append rows to ``metrics.csv`` (columns :data:`METRIC_FIELDS`; header when new)."""
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=METRIC_FIELDS, extrasaction="ignore")
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )


def plot_learning_curve(
    metrics_csv: str | os.PathLike[str], out_png: str | os.PathLike[str]
) -> None:
    """Plot train/validation loss and validation SALT MAE against images seen, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    df = pd.read_csv(metrics_csv)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    tr = df.dropna(subset=["train_loss"])
    if len(tr):
        smooth = tr["train_loss"].rolling(10, min_periods=1).mean()
        ax1.plot(tr["images"], smooth, label="train (rolling mean)")
    va = df.dropna(subset=["val_loss"])
    if len(va):
        ax1.plot(va["images"], va["val_loss"], "o-", label="validation")
        ax2.plot(va["images"], va["val_salt_mae"], "o-", label="SALT MAE (points)")
        ax2.plot(va["images"], va["val_view_mae"], "s--", label="per-view MAE (%)")
        ax2b = ax2.twinx()
        ax2b.plot(va["images"], va["val_miou"], "^:", color="grey", label="mIoU")
        ax2b.set_ylabel("mIoU")
        ax2b.set_ylim(0, 1)
    ax1.set_xlabel("training photos seen")
    ax1.set_ylabel("loss (CE + Dice)")
    ax1.set_yscale("log")
    if ax1.get_legend_handles_labels()[0]:
        ax1.legend()
    ax2.set_xlabel("training photos seen")
    ax2.set_ylabel("error on validation visits")
    if ax2.get_legend_handles_labels()[0]:
        ax2.legend(loc="upper right")
    fig.suptitle(f"learning curve: {Path(metrics_csv).parent.name}")
    fig.tight_layout()
    tmp = Path(out_png).with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, out_png)
