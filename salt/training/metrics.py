"""The training loss and the metrics scored on validation visits while training."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from salt.classmap import IGNORE_INDEX, view_percent
from salt.model import SaltModel
from salt.scoring import salt_score
from salt.training.data import VALIDATION_SEED_START
from salt.views import VIEWS

__all__ = ["ValidationSet", "segmentation_loss"]


def segmentation_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    dice_weight: float = 0.5,
    class_weights: Sequence[float] | None = None,
) -> torch.Tensor:
    """Cross-entropy plus soft Dice on the scalp classes.

    Parameters
    ----------
    logits : Tensor, (N, C, H, W) float
    target : Tensor, (N, H, W) int64, values in [0, C) or 255 (ignored)
    dice_weight : float
        Weight of ``1 - mean Dice`` over classes 1 (hair) and 2 (hairless).
    class_weights : sequence of float, optional
        Cross-entropy weight per class.

    Returns
    -------
    Tensor
        Scalar loss.
    """
    weight = None
    if class_weights is not None:
        weight = torch.as_tensor(class_weights, dtype=logits.dtype, device=logits.device)
    ce = F.cross_entropy(logits, target, weight=weight, ignore_index=IGNORE_INDEX)
    if dice_weight <= 0:
        return ce
    valid = (target != IGNORE_INDEX).unsqueeze(1).float()
    prob = torch.softmax(logits, dim=1) * valid
    onehot = F.one_hot(target.clamp(max=logits.shape[1] - 1), logits.shape[1]).permute(0, 3, 1, 2)
    onehot = onehot.float() * valid
    dims = (0, 2, 3)
    inter = (prob * onehot).sum(dims)
    denom = prob.sum(dims) + onehot.sum(dims)
    dice = (2 * inter + 1.0) / (denom + 1.0)
    return ce + dice_weight * (1 - dice[1:].mean())


def _confusion(
    pred: npt.NDArray[np.uint8], truth: npt.NDArray[np.uint8], n: int
) -> npt.NDArray[np.int64]:
    valid = truth != IGNORE_INDEX
    idx = truth[valid].astype(np.int64) * n + pred[valid].astype(np.int64)
    return np.bincount(idx, minlength=n * n).reshape(n, n)


def _iou(conf: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    tp = np.diag(conf).astype(np.float64)
    denom = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, tp / denom, np.nan)


class ValidationSet:
    """Validation visits scored while training (pre-rendered, no augmentation).

    Parameters
    ----------
    visits : sequence
        Objects with ``photos`` and ``labels`` (view -> RGB array, class map),
        ``percents`` (view -> true %) and ``salt``, e.g.
        :class:`salt.synth.SyntheticVisit`.

    Notes
    -----
    Per-view % come from :func:`salt.classmap.view_percent`, the rule of ``salt score``;
    the last evaluation's are kept in :attr:`percents` (one dict per visit, None for a
    view without scalp).
    """

    def __init__(self, visits: Sequence[Any]) -> None:
        self.visits = list(visits)
        self.percents: list[dict[str, float | None]] = []

    @classmethod
    def rendered(
        cls, n: int, render_size: int, renderer: Callable[[int, int], Any]
    ) -> ValidationSet:
        """Render the ``n`` validation visits (seeds from :data:`VALIDATION_SEED_START`)."""
        return cls([renderer(VALIDATION_SEED_START + i, render_size) for i in range(n)])

    def evaluate(self, model: SaltModel, loss_fn: Callable[..., torch.Tensor]) -> dict[str, float]:
        """Return validation loss, IoU per class and mIoU, per-view and SALT MAE and bias."""
        self.percents = []
        n = len(model.config.classes)
        conf = np.zeros((n, n), np.int64)
        view_err, salt_err, losses = [], [], []
        no_scalp = 0
        size = model.config.input_size
        for visit in self.visits:
            images = [visit.photos[v] for v in VIEWS]
            batch = model.preprocess(images)
            logits = model.logits(batch)
            truth = np.stack(
                [
                    cv2.resize(visit.labels[v], (size, size), interpolation=cv2.INTER_NEAREST)
                    for v in VIEWS
                ]
            )
            losses.append(float(loss_fn(logits, torch.from_numpy(truth.astype(np.int64)))))
            pred = logits.argmax(1).to(torch.uint8).numpy()
            conf += _confusion(pred, truth, n)
            # the rule of salt score: a view without scalp has no %, its visit no SALT
            pcts = {v: view_percent(pred[i]) for i, v in enumerate(VIEWS)}
            self.percents.append(pcts)
            measured = {v: p for v, p in pcts.items() if p is not None}
            no_scalp += len(VIEWS) - len(measured)
            view_err += [p - float(visit.percents[v]) for v, p in measured.items()]
            if len(measured) == len(VIEWS):
                salt_err.append(salt_score(measured) - float(visit.salt))
        iou = _iou(conf)
        out = {
            "val_loss": float(np.mean(losses)),
            "val_miou": float(np.nanmean(iou)),
            "val_view_mae": float(np.mean(np.abs(view_err))) if view_err else math.nan,
            "val_salt_mae": float(np.mean(np.abs(salt_err))) if salt_err else math.nan,
            "val_salt_bias": float(np.mean(salt_err)) if salt_err else math.nan,
            "val_no_scalp_views": float(no_scalp),
        }
        for i, v in enumerate(iou):
            out[f"val_iou_{i}"] = float(v)
        return out
