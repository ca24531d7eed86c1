"""Train the segmentation network on synthetic visits, real photos and pseudo-labels.

Training data
-------------
* **Synthetic visits**, rendered on the fly by :func:`salt.synth.render_visit` in
  DataLoader worker processes (so rendering runs beside the network). Training
  draws seeds uniformly from ``[0, 10_000_000)`` (:data:`TRAIN_SEEDS`). The
  validation set used while training is ``[20_000_000, 20_000_000 + n)``
  (:data:`VALIDATION_SEED_START`), and :mod:`salt.training.evaluate` uses seeds from
  ``10_000_000`` (:data:`HELDOUT_SEED_START`): no seed is ever shared.
* **Labelled folders** (a clinic's annotated photos, or synthetic data written to
  disk): ``DATA/photos/<subject>/<visit>/<view>.<ext>`` with masks
  ``DATA/masks/<subject>/<visit>/<view>.png`` (uint8: 0 not scalp, 1 hair,
  2 hairless scalp, 255 = unknown, ignored by the loss).
* **Pseudo-labels**: the same folder layout, typically with many 255 pixels (e.g.
  hair vs bare skin from another segmenter, scalp boundary unknown).

Each sample is augmented the way real phone photography differs from a clean
render: scale, rotation, shift and flips; exposure, contrast, gamma, white
balance and saturation; defocus and motion blur; sensor noise; JPEG artefacts and
low resolution; flash glare and vignetting.

Outputs (``runs/<name>/``)
--------------------------
``metrics.csv`` (one row per logged step: train loss and, at checkpoints,
validation loss, mIoU, per-view and SALT MAE), ``learning_curve.png``,
``checkpoint.safetensors`` + ``state.json`` (model, optimiser and progress for
``--resume``; written atomically every few minutes), ``best/`` (the model with the
lowest validation SALT MAE so far, loadable with ``salt.load_model("runs/<name>/best")``)
and ``train.log``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from salt.classmap import IGNORE_INDEX, view_percent
from salt.errors import BadValueError, ModelError, SaltError
from salt.io.atomic import atomic_write_bytes
from salt.io.folders import find_labelled_pairs
from salt.io.photo import load_mask, load_photo
from salt.model import (
    ModelConfig,
    SaltModel,
    build_network,
    load_model,
    save_model,
)
from salt.scoring import salt_score
from salt.training.realdata import (
    RealValidation,
    load_pretrained_encoder,
    paste_bald_patches,
    read_ratings,
    rotate_quarter,
)
from salt.views import VIEWS

__all__ = [
    "HELDOUT_SEED_START",
    "IGNORE_INDEX",
    "TRAIN_SEEDS",
    "VALIDATION_SEED_START",
    "TrainOptions",
    "TrainResult",
    "ValidationSet",
    "augment",
    "find_labelled_pairs",
    "segmentation_loss",
    "train",
]

logger = logging.getLogger(__name__)

#: Synthetic seeds used for training: drawn uniformly from this half-open range.
TRAIN_SEEDS: tuple[int, int] = (0, 10_000_000)
#: First seed of the held-out evaluation set (``salt evaluate --synthetic N``: N seeds from here).
HELDOUT_SEED_START = 10_000_000
#: First seed of the small validation set scored at each checkpoint during training.
VALIDATION_SEED_START = 20_000_000
#: Share of synthetic training visits drawn with buzz-cut or stubble hair.
SHORT_HAIR_SHARE = 0.25
#: Mask value for "unknown": ignored by the loss and the metrics.


@dataclasses.dataclass
class TrainOptions:
    """Options of one training run (``salt train`` / ``salt finetune``).

    Parameters
    ----------
    name : str
        Run name; outputs go to ``runs_dir / name``.
    model : ModelConfig
        Network to build (ignored when ``from_model`` or ``resume`` gives one).
    runs_dir : path
        Parent folder of the run folders.
    steps : int, optional
        Total optimiser steps (the learning-rate schedule's horizon).
    minutes : float, optional
        Total training time in minutes, summed over resumed sessions; with
        ``steps`` unset it is the schedule's horizon. At least one budget is needed.
    session_minutes : float, optional
        Stop this process after so many minutes (checkpointed), even if the
        total budget is not spent; resume later with ``resume=True``.
    batch_size : int
        Photos per optimiser step.
    lr, min_lr, weight_decay, warmup_steps : float, float, float, int
        AdamW with linear warm-up then cosine decay to ``min_lr``.
    render_size : int, optional
        Side of rendered synthetic photos (default: 1.25 x input size, so the
        augmentation's crops and the final INTER_AREA resize look like real photos).
    synthetic : bool
        Draw synthetic visits (off: only labelled folders).
    data : sequence of path
        Labelled folders (photos/ + masks/).
    pseudo : sequence of path
        Pseudo-labelled folders (same layout; 255 = unknown).
    real_fraction : float
        Probability that a sample comes from ``data``/``pseudo`` when both kinds exist.
    from_model : str, optional
        Start from this model's weights (a registered name or a model folder).
    resume : bool
        Continue ``runs_dir / name`` from its last checkpoint.
    workers : int
        DataLoader worker processes rendering and augmenting samples.
    checkpoint_minutes : float
        Checkpoint, validate and log at least this often.
    log_every : int
        Write a train-loss row every so many steps.
    val_visits : int
        Synthetic validation visits (seeds from :data:`VALIDATION_SEED_START`).
    seed : int
        Seed of the sampling and augmentation streams and of weight initialisation.
    threads : int
        torch threads in the training process.
    dice_weight : float
        Weight of the soft Dice term (classes hair and hairless) beside cross-entropy.
    hairless_weight : float
        Cross-entropy weight of the hairless class (rarer than the others).
    reuse : int
        Augmented samples drawn from each rendered synthetic photo (rendering costs
        about as much CPU as a training step; differently augmented copies are cheap).
    encoder_weights : path, optional
        ImageNet EfficientNet-Lite weights (``.pth``) to start the encoder from
        (:func:`salt.training.realdata.load_pretrained_encoder`).
    rotate90 : float
        Probability of turning a sample by 90, 180 or 270 degrees.
    bald_patches : float
        Probability of pasting bald patches onto a real (labelled) sample's hair
        (:func:`salt.training.realdata.paste_bald_patches`).
    real_val : path, optional
        A rated real-photo folder (``ratings.csv``) scored at every checkpoint.
    real_val_subjects : sequence of str
        Restrict ``real_val`` to these people (``S<nn>``); empty = all.
    select_on : {"synthetic", "real"}
        Keep as ``best/`` the checkpoint with the lowest synthetic or real SALT MAE.
    """

    name: str
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    runs_dir: Path = Path("runs")
    steps: int | None = None
    minutes: float | None = None
    session_minutes: float | None = None
    batch_size: int = 16
    lr: float = 3e-3
    min_lr: float = 5e-5
    weight_decay: float = 1e-4
    warmup_steps: int = 30
    render_size: int | None = None
    synthetic: bool = True
    data: Sequence[Path] = ()
    pseudo: Sequence[Path] = ()
    real_fraction: float = 0.5
    from_model: str | None = None
    resume: bool = False
    workers: int = 1
    checkpoint_minutes: float = 5.0
    log_every: int = 10
    val_visits: int = 16
    seed: int = 0
    threads: int = 2
    dice_weight: float = 0.5
    hairless_weight: float = 2.0
    reuse: int = 2
    encoder_weights: Path | None = None
    rotate90: float = 0.0
    bald_patches: float = 0.0
    real_val: Path | None = None
    real_val_subjects: Sequence[str] = ()
    select_on: str = "synthetic"

    def __post_init__(self) -> None:
        if self.steps is None and self.minutes is None:
            raise BadValueError("give a training budget: steps and/or minutes")
        if self.batch_size < 1:
            raise BadValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not 0.0 <= self.real_fraction <= 1.0:
            raise BadValueError(f"real_fraction must be in [0, 1], got {self.real_fraction}")
        if not self.synthetic and not (self.data or self.pseudo):
            raise BadValueError(
                "no training data: enable synthetic data or give --data/--pseudo folders"
            )


@dataclasses.dataclass
class TrainResult:
    """What a finished (or paused) run produced."""

    run_dir: Path
    step: int
    elapsed_s: float
    finished: bool
    best_val_salt_mae: float | None
    history: list[dict[str, float]]


# --------------------------------------------------------------------------- data


def read_pair(photo: Path, mask: Path) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Read a photo and its class mask, the mask resized (nearest) to the photo.

    The photo is decoded by :func:`salt.io.photo.load_photo` (upright, EXIF applied),
    the decoder of ``salt score``; the mask by :func:`salt.io.photo.load_mask`.

    Returns
    -------
    rgb : ndarray of uint8, shape (H, W, 3)
    mask : ndarray of uint8, shape (H, W)
    """
    rgb = load_photo(photo, min_side=32).rgb
    lab: Any = load_mask(mask)
    if lab.shape != rgb.shape[:2]:
        lab = cv2.resize(lab, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
    return np.asarray(rgb, np.uint8), np.asarray(lab, np.uint8)


def augment(
    rng: np.random.Generator,
    image: npt.NDArray[np.uint8],
    mask: npt.NDArray[np.uint8],
    size: int,
    *,
    strength: float = 1.0,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Apply photographic augmentation and resize to the network input.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (one per worker).
    image : ndarray, (H, W, 3) uint8 RGB
    mask : ndarray, (H, W) uint8 class map (0, 1, 2, 255 = unknown)
    size : int
        Output side S in pixels.
    strength : float
        0 gives only the resize (no augmentation); 1 the full training mix.

    Returns
    -------
    image : ndarray, (S, S, 3) uint8
    mask : ndarray, (S, S) uint8
        Geometric transforms move the mask with the image; areas brought in from
        outside the photo are "not scalp" (0), as background would be.
    """
    h, w = mask.shape
    img: Any = image
    lab: Any = mask
    if strength > 0:
        # geometry: zoom, rotation, shift, flip (one affine warp, nearest for the mask)
        if rng.random() < 0.8 * strength:
            # zoom out to 0.7x and in to 2.2x: real phone photos are often close-ups of the scalp
            scale = float(np.exp(rng.uniform(np.log(0.7), np.log(2.2))))
            angle = float(rng.uniform(-25, 25))
            tx, ty = rng.uniform(-0.08, 0.08, 2) * (w, h)
            m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
            m[:, 2] += (tx, ty)
            fill = tuple(int(v) for v in rng.integers(0, 256, 3))
            img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=fill)
            lab = cv2.warpAffine(lab, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        if rng.random() < 0.5:
            img, lab = img[:, ::-1], lab[:, ::-1]
    img = cv2.resize(np.ascontiguousarray(img), (size, size), interpolation=cv2.INTER_AREA)
    lab = cv2.resize(np.ascontiguousarray(lab), (size, size), interpolation=cv2.INTER_NEAREST)
    if strength <= 0:
        return img, lab
    x: Any = img.astype(np.float32) / 255.0
    # exposure, contrast, white balance, saturation, gamma
    if rng.random() < 0.9 * strength:
        x = x * rng.uniform(0.6, 1.35)
        mean = x.mean()
        x = (x - mean) * rng.uniform(0.7, 1.3) + mean
        x = x * rng.uniform(0.85, 1.15, 3).astype(np.float32)
        grey = x.mean(axis=2, keepdims=True)
        x = grey + (x - grey) * rng.uniform(0.6, 1.4)
        x = np.clip(x, 0, 1) ** rng.uniform(0.7, 1.45)
    # vignetting
    if rng.random() < 0.2 * strength:
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
        x = x * (1 - rng.uniform(0.2, 0.6) * (xx**2 + yy**2))[..., None]
    # flash glare: a bright soft blob
    if rng.random() < 0.15 * strength:
        cy, cx = rng.uniform(0.2, 0.8, 2) * size
        sig = rng.uniform(0.04, 0.15) * size
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sig**2))
        x = x + rng.uniform(0.3, 0.9) * blob[..., None]
    # defocus or motion blur
    r = rng.random()
    if r < 0.2 * strength:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.8))
    elif r < 0.3 * strength:
        k = int(rng.integers(3, 8))
        kernel: Any = np.zeros((k, k), np.float32)
        kernel[k // 2] = 1.0 / k
        rot = cv2.getRotationMatrix2D(((k - 1) / 2, (k - 1) / 2), float(rng.uniform(0, 180)), 1.0)
        kernel = cv2.warpAffine(kernel, rot, (k, k))
        x = cv2.filter2D(x, -1, kernel / max(float(kernel.sum()), 1e-6))
    # sensor noise
    if rng.random() < 0.3 * strength:
        x = x + rng.normal(0, rng.uniform(0.01, 0.04), x.shape).astype(np.float32)
    out: Any = (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)
    # low resolution
    if rng.random() < 0.15 * strength:
        f = rng.uniform(0.35, 0.8)
        small = cv2.resize(out, (max(8, int(size * f)),) * 2, interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)
    # JPEG artefacts
    if rng.random() < 0.5 * strength:
        ok, buf = cv2.imencode(
            ".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 96))]
        )
        if ok:
            decoded: Any = cv2.imdecode(buf, cv2.IMREAD_COLOR)
            out = decoded[..., ::-1]
    return np.ascontiguousarray(out), np.ascontiguousarray(lab)


def _render(seed: int, render_size: int) -> Any:
    """Render a training visit; odd seeds spread SALT uniformly over 0-100 (severe cases too)."""
    from salt.synth import render_visit

    # one visit in four has buzz-cut or stubble hair (1.5-8 mm): real clinics see many, and
    # very short hair is hair, not hair loss
    rng = np.random.default_rng(seed)
    length = float(rng.uniform(0.15, 0.8)) if rng.random() < SHORT_HAIR_SHARE else None
    return render_visit(seed, size=render_size, salt_uniform=bool(seed % 2), hair_length=length)


class SampleStream(IterableDataset):
    """Endless stream of augmented (image, mask) tensors for training.

    Each worker has its own generator seeded from (run seed, worker id, start
    step), so a resumed run draws new samples rather than repeating old ones.
    Yields ``(image, mask)``: float32 (3, S, S) normalised, int64 (S, S).
    """

    def __init__(
        self,
        config: ModelConfig,
        *,
        synthetic: bool,
        pairs: Sequence[tuple[Path, Path]],
        real_fraction: float,
        render_size: int,
        seed: int,
        start_step: int,
        renderer: Callable[[int, int], Any] = _render,
        reuse: int = 1,
        rotate90: float = 0.0,
        bald_patches: float = 0.0,
    ) -> None:
        super().__init__()
        self.config = config
        self.synthetic = synthetic
        self.pairs = list(pairs)
        self.real_fraction = (
            real_fraction if (synthetic and self.pairs) else (0.0 if synthetic else 1.0)
        )
        self.render_size = render_size
        self.seed = seed
        self.start_step = start_step
        self.renderer = renderer
        self.reuse = max(1, reuse)
        self.buffer_size = 32 if self.reuse > 1 else 0
        self.rotate90 = rotate90
        self.bald_patches = bald_patches

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = get_worker_info()
        wid = info.id if info is not None else 0
        if info is not None:
            torch.set_num_threads(1)
            cv2.setNumThreads(1)
        rng = np.random.default_rng([self.seed, wid, self.start_step])
        mean = np.asarray(self.config.mean, np.float32)
        std = np.asarray(self.config.std, np.float32)
        size = self.config.input_size
        buffer: list[tuple[torch.Tensor, torch.Tensor]] = []
        while True:
            if rng.random() < self.real_fraction:
                photo, mask_path = self.pairs[int(rng.integers(len(self.pairs)))]
                try:
                    items = [read_pair(photo, mask_path)]
                except SaltError as exc:
                    logger.warning("skipping %s: %s", photo, exc)
                    continue
                if rng.random() < self.bald_patches:
                    items = [paste_bald_patches(rng, *items[0])]
            else:
                visit = self.renderer(int(rng.integers(*TRAIN_SEEDS)), self.render_size)
                items = [(visit.photos[v], visit.labels[v]) for v in VIEWS] * self.reuse
            for img, lab in items:
                img, lab = rotate_quarter(rng, img, lab, self.rotate90)
                a_img, a_lab = augment(rng, img, lab, size)
                x = (a_img.astype(np.float32) / 255.0 - mean) / std
                sample = (
                    torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))),
                    torch.from_numpy(a_lab.astype(np.int64)),
                )
                # a small shuffle buffer, so copies of one photo rarely share a batch
                if len(buffer) < self.buffer_size:
                    buffer.append(sample)
                    continue
                k = int(rng.integers(len(buffer)))
                buffer[k], sample = sample, buffer[k]
                yield sample


# --------------------------------------------------------------------------- loss and metrics


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


# --------------------------------------------------------------------------- checkpoints

_FIELDS = [
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


def _save_checkpoint(
    run_dir: Path, network: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    from safetensors.torch import save as st_save

    tensors = {f"model/{k}": v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    opt_state = optimizer.state_dict()
    for pid, pstate in opt_state["state"].items():
        for key, value in pstate.items():
            t = value if isinstance(value, torch.Tensor) else torch.tensor(value)
            tensors[f"opt/{pid}/{key}"] = t.detach().cpu().contiguous()
    state = dict(state)
    state["param_groups"] = opt_state["param_groups"]
    atomic_write_bytes(run_dir / "checkpoint.safetensors", st_save(tensors))
    atomic_write_bytes(run_dir / "state.json", (json.dumps(state, indent=2) + "\n").encode())


def _load_checkpoint(
    run_dir: Path, network: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
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
    opt_state: dict[str, Any] = {"state": {}, "param_groups": state.pop("param_groups")}
    for key, value in tensors.items():
        if key.startswith("opt/"):
            _, pid, name = key.split("/", 2)
            opt_state["state"].setdefault(int(pid), {})[name] = value
    optimizer.load_state_dict(opt_state)
    return state


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop rows logged after the checkpoint a run resumes from (the steps are redone)."""
    if not path.exists():
        return
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if int(float(r["step"])) <= step]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _append_rows(path: Path, rows: list[dict[str, float]]) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=_FIELDS, extrasaction="ignore")
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


# --------------------------------------------------------------------------- the loop


def _lr_at(opts: TrainOptions, step: int, elapsed: float) -> tuple[float, float]:
    """(learning rate, progress in [0, 1]) for a step and cumulative training seconds."""
    progress = 0.0
    if opts.steps:
        progress = max(progress, step / opts.steps)
    if opts.minutes:
        progress = max(progress, elapsed / (60.0 * opts.minutes))
    progress = min(progress, 1.0)
    if step < opts.warmup_steps:
        return opts.lr * (step + 1) / opts.warmup_steps, progress
    cos = 0.5 * (1 + math.cos(math.pi * progress))
    return opts.min_lr + (opts.lr - opts.min_lr) * cos, progress


def train(
    opts: TrainOptions,
    *,
    renderer: Callable[[int, int], Any] | None = None,
) -> TrainResult:
    """Train (or resume, or fine-tune) a network; see the module docstring for outputs.

    Parameters
    ----------
    opts : TrainOptions
    renderer : callable(seed, size) -> SyntheticVisit-like, optional
        Replaces :func:`salt.synth.render_visit` (tests use a tiny generator).
        Must be picklable when ``opts.workers > 0``.

    Returns
    -------
    TrainResult

    Raises
    ------
    OutputError
        If the run folder exists and ``resume`` is false.
    ModelError
        If a checkpoint or starting model cannot be loaded.
    """
    from salt.errors import OutputError

    renderer = renderer or _render
    run_dir = Path(opts.runs_dir) / opts.name
    state_path = run_dir / "state.json"
    if state_path.exists() and not opts.resume:
        raise OutputError(
            f"run folder {run_dir} already has a checkpoint; pass --resume or another --name"
        )
    if opts.resume and not state_path.exists():
        raise OutputError(f"nothing to resume: {state_path} does not exist")
    run_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("salt").addHandler(handler)
    torch.set_num_threads(opts.threads)
    try:
        return _train(opts, run_dir, renderer)
    finally:
        logging.getLogger("salt").removeHandler(handler)
        handler.close()


def _train(opts: TrainOptions, run_dir: Path, renderer: Callable[[int, int], Any]) -> TrainResult:
    config = opts.model
    if opts.resume:
        saved = json.loads((run_dir / "state.json").read_text())
        config = ModelConfig.from_dict(saved["model"])
    elif opts.from_model:
        start = load_model(opts.from_model)
        config = start.config
    torch.manual_seed(opts.seed)
    network = build_network(config)
    if opts.encoder_weights and not opts.resume and not opts.from_model:
        n_loaded = load_pretrained_encoder(network, opts.encoder_weights)
        logger.info("encoder started from %s (%d tensors)", opts.encoder_weights, n_loaded)
    if opts.from_model and not opts.resume:
        network.load_state_dict(start.network.state_dict())
        logger.info("starting from model %s (sha256 %s)", start.name, start.sha256[:12])
    network.train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    step, elapsed, images = 0, 0.0, 0
    best: float | None = None
    if opts.resume:
        saved = _load_checkpoint(run_dir, network, optimizer)
        step, elapsed, images = int(saved["step"]), float(saved["elapsed_s"]), int(saved["images"])
        best = saved.get("best_val_salt_mae")
        logger.info("resuming %s at step %d (%.1f min trained)", run_dir, step, elapsed / 60)
        _truncate_metrics(run_dir / "metrics.csv", step)
    else:
        (run_dir / "options.json").write_text(
            json.dumps(
                {k: (str(v) if isinstance(v, Path) else v) for k, v in _options_dict(opts).items()},
                indent=2,
            )
            + "\n"
        )

    pairs: list[tuple[Path, Path]] = []
    for folder in [*opts.data, *opts.pseudo]:
        pairs += find_labelled_pairs(folder)
    render_size = opts.render_size or int(round(config.input_size * 1.25 / 32) * 32)
    stream = SampleStream(
        config,
        synthetic=opts.synthetic,
        pairs=pairs,
        real_fraction=opts.real_fraction,
        render_size=render_size,
        seed=opts.seed,
        start_step=step,
        renderer=renderer,
        reuse=opts.reuse,
        rotate90=opts.rotate90,
        bald_patches=opts.bald_patches,
    )
    loader = DataLoader(
        stream,
        batch_size=opts.batch_size,
        num_workers=opts.workers,
        prefetch_factor=4 if opts.workers else None,
        persistent_workers=False,
        # spawn, not fork: a forked worker can inherit a held lock (OpenMP, OpenCV) and hang
        multiprocessing_context="spawn" if opts.workers else None,
    )
    val = (
        ValidationSet.rendered(opts.val_visits, render_size, renderer)
        if opts.synthetic and opts.val_visits
        else None
    )
    eval_model = SaltModel(build_network(config), config)
    real_val = None
    if opts.real_val is not None:
        rated = read_ratings(opts.real_val)
        if opts.real_val_subjects:
            rated = [p for p in rated if p.subject in set(opts.real_val_subjects)]
        real_val = RealValidation(rated)

    def predict_pcts(images: list[npt.NDArray[np.uint8]]) -> list[float | None]:
        out: list[float | None] = []
        for i in range(0, len(images), 8):
            out += [view_percent(c) for c in eval_model.predict(images[i : i + 8])]
        return out

    def loss_fn(lg: torch.Tensor, tg: torch.Tensor) -> torch.Tensor:
        return segmentation_loss(
            lg, tg, dice_weight=opts.dice_weight, class_weights=(1.0, 1.0, opts.hairless_weight)
        )

    history: list[dict[str, float]] = []
    pending: list[dict[str, float]] = []
    session_start = time.monotonic()
    last_ckpt = time.monotonic()
    running: list[float] = []
    finished = False

    def checkpoint() -> None:
        nonlocal best, last_ckpt
        row: dict[str, float] = {"step": step, "images": images, "elapsed_s": elapsed}
        if val is not None or real_val is not None:
            eval_model.network.load_state_dict(network.state_dict())
            eval_model.network.eval()
            if val is not None:
                row.update(val.evaluate(eval_model, loss_fn))
            if real_val is not None:
                row.update(real_val.evaluate(predict_pcts))
            key = "real_salt_mae" if opts.select_on == "real" else "val_salt_mae"
            if best is None or row[key] < best:
                best = row[key]
                save_model(
                    eval_model,
                    run_dir / "best",
                    metadata={"step": str(step), key: f"{best:.4f}"},
                    description=f"run {opts.name}, step {step}, {key} {best:.2f}",
                )
        else:
            eval_model.network.load_state_dict(network.state_dict())
            save_model(eval_model, run_dir / "best", metadata={"step": str(step)})
        save_model(eval_model, run_dir / "last", metadata={"step": str(step)})
        pending.append(row)
        history.append(row)
        _append_rows(run_dir / "metrics.csv", pending)
        pending.clear()
        _save_checkpoint(
            run_dir,
            network,
            optimizer,
            {
                "step": step,
                "images": images,
                "elapsed_s": elapsed,
                "best_val_salt_mae": best,
                "model": config.to_dict(),
            },
        )
        try:
            plot_learning_curve(run_dir / "metrics.csv", run_dir / "learning_curve.png")
        except (ValueError, KeyError, OSError) as exc:  # plotting must never stop training
            logger.warning("learning curve not drawn: %s", exc)
        logger.info(
            "checkpoint step %d, %d photos, %.1f min: %s",
            step,
            images,
            elapsed / 60,
            ", ".join(f"{k}={v:.4g}" for k, v in row.items() if k.startswith("val_")),
        )
        last_ckpt = time.monotonic()

    t_prev = time.monotonic()
    for x, y in loader:
        lr, progress = _lr_at(opts, step, elapsed)
        if progress >= 1.0:
            finished = True
            break
        for group in optimizer.param_groups:
            group["lr"] = lr
        logits = network(x)
        loss = loss_fn(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 5.0)
        optimizer.step()
        step += 1
        images += int(x.shape[0])
        now = time.monotonic()
        elapsed += now - t_prev
        t_prev = now
        running.append(float(loss.detach()))
        if step % opts.log_every == 0:
            pending.append(
                {
                    "step": step,
                    "images": images,
                    "elapsed_s": elapsed,
                    "lr": lr,
                    "train_loss": float(np.mean(running)),
                }
            )
            logger.info(
                "step %d loss %.4f lr %.2e (%.1f photos/s)",
                step,
                np.mean(running),
                lr,
                images / max(elapsed, 1e-9),
            )
            running.clear()
            if len(pending) >= 10:
                _append_rows(run_dir / "metrics.csv", pending)
                pending.clear()
        if now - last_ckpt >= 60 * opts.checkpoint_minutes:
            checkpoint()
            t_prev = time.monotonic()  # validation time is not training time
        if opts.session_minutes and now - session_start >= 60 * opts.session_minutes:
            break
    checkpoint()
    return TrainResult(run_dir, step, elapsed, finished, best, history)


def _options_dict(opts: TrainOptions) -> dict[str, Any]:
    out = dataclasses.asdict(opts)
    out["model"] = opts.model.to_dict()
    out["data"] = [str(p) for p in opts.data]
    out["pseudo"] = [str(p) for p in opts.pseudo]
    return out
