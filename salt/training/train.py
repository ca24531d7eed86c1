"""Train the segmentation network on synthetic visits, real photos and pseudo-labels.

The samples (synthetic visits rendered on the fly, labelled and pseudo-labelled folders)
come from :mod:`salt.training.data`, augmented by :mod:`salt.training.augment`; the loss and
the validation metrics are in :mod:`salt.training.metrics`; the run folder's records in
:mod:`salt.training.runlog`. This module holds the options and the loop.

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

import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader

from salt.classmap import IGNORE_INDEX, view_percent
from salt.errors import BadValueError, ModelError
from salt.io.folders import find_labelled_pairs
from salt.model import ModelConfig, SaltModel, build_network, load_model, save_model
from salt.training.augment import augment
from salt.training.data import (
    HELDOUT_SEED_START,
    TRAIN_SEEDS,
    VALIDATION_SEED_START,
    SampleStream,
    render_training_visit,
)
from salt.training.metrics import ValidationSet, segmentation_loss
from salt.training.realdata import RealValidation, load_pretrained_encoder, read_ratings
from salt.training.runlog import (
    append_metrics,
    load_checkpoint,
    plot_learning_curve,
    save_checkpoint,
    truncate_metrics,
)

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
    encoder_from : str, optional
        Start the encoder from a trained model's encoder (a registered name or a model
        folder; same encoder architecture), the decoder from scratch: how a model with a
        lighter decoder (a student) is trained from a shipped one.
    ema : float
        Decay of an exponential moving average of the weights (0 = off). When on,
        validation, ``best/`` and ``last/`` use the averaged weights, which swing much
        less between checkpoints than the raw ones (Polyak and Juditsky 1992;
        ``torch.optim.swa_utils``).
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
    encoder_from: str | None = None
    ema: float = 0.0

    def __post_init__(self) -> None:
        if self.steps is None and self.minutes is None:
            raise BadValueError("give a training budget: steps and/or minutes")
        if not 0.0 <= self.ema < 1.0:
            raise BadValueError(f"ema must be in [0, 1), got {self.ema}")
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

    renderer = renderer or render_training_visit
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
        return _Run(opts, run_dir, renderer).run()
    finally:
        logging.getLogger("salt").removeHandler(handler)
        handler.close()


class _Run:
    """One training process: network, optimiser, samples, validation and progress."""

    def __init__(
        self, opts: TrainOptions, run_dir: Path, renderer: Callable[[int, int], Any]
    ) -> None:
        self.opts, self.run_dir = opts, run_dir
        self.step, self.elapsed, self.images = 0, 0.0, 0
        self.best: float | None = None
        self.history: list[dict[str, float]] = []
        self.pending: list[dict[str, float]] = []
        self.config, self.network = self._start_network()
        self.optimizer = torch.optim.AdamW(
            self.network.parameters(), lr=opts.lr, weight_decay=opts.weight_decay
        )
        self.ema = (
            AveragedModel(
                self.network, multi_avg_fn=get_ema_multi_avg_fn(opts.ema), use_buffers=True
            )
            if opts.ema
            else None
        )
        if opts.resume:
            saved = load_checkpoint(run_dir, self.network, self.optimizer, self.ema)
            self.step, self.elapsed = int(saved["step"]), float(saved["elapsed_s"])
            self.images, self.best = int(saved["images"]), saved.get("best_val_salt_mae")
            logger.info("resuming %s at step %d (%.1f min)", run_dir, self.step, self.elapsed / 60)
            truncate_metrics(run_dir / "metrics.csv", self.step)
        else:
            record = {
                k: (str(v) if isinstance(v, Path) else v) for k, v in _options_dict(opts).items()
            }
            (run_dir / "options.json").write_text(json.dumps(record, indent=2) + "\n")
        render_size = opts.render_size or int(round(self.config.input_size * 1.25 / 32) * 32)
        self.loader = self._loader(render_size, renderer)
        self.val = (
            ValidationSet.rendered(opts.val_visits, render_size, renderer)
            if opts.synthetic and opts.val_visits
            else None
        )
        self.eval_model = SaltModel(build_network(self.config), self.config)
        self.real_val = None
        if opts.real_val is not None:
            rated = read_ratings(opts.real_val)
            if opts.real_val_subjects:
                rated = [p for p in rated if p.subject in set(opts.real_val_subjects)]
            self.real_val = RealValidation(rated)
        self.last_ckpt = time.monotonic()

    def _start_network(self) -> tuple[ModelConfig, torch.nn.Module]:
        """Build the run's config and network: resumed, from a model, or a pretrained encoder."""
        opts = self.opts
        config = opts.model
        start = None
        if opts.resume:
            saved = json.loads((self.run_dir / "state.json").read_text())
            config = ModelConfig.from_dict(saved["model"])
        elif opts.from_model:
            start = load_model(opts.from_model)
            config = start.config
        torch.manual_seed(opts.seed)
        network = build_network(config)
        if opts.encoder_weights and not opts.resume and start is None:
            n_loaded = load_pretrained_encoder(network, opts.encoder_weights)
            logger.info("encoder started from %s (%d tensors)", opts.encoder_weights, n_loaded)
        if start is not None and not opts.resume:
            network.load_state_dict(start.network.state_dict())
            logger.info("starting from model %s (sha256 %s)", start.name, start.sha256[:12])
        if opts.encoder_from and not opts.resume and start is None:
            n_loaded = copy_encoder(load_model(opts.encoder_from).network, network)
            logger.info("encoder started from model %s (%d tensors)", opts.encoder_from, n_loaded)
        network.train()
        return config, network

    def _loader(self, render_size: int, renderer: Callable[[int, int], Any]) -> DataLoader:
        opts = self.opts
        pairs: list[tuple[Path, Path]] = []
        for folder in [*opts.data, *opts.pseudo]:
            pairs += find_labelled_pairs(folder)
        stream = SampleStream(
            self.config,
            synthetic=opts.synthetic,
            pairs=pairs,
            real_fraction=opts.real_fraction,
            render_size=render_size,
            seed=opts.seed,
            start_step=self.step,
            renderer=renderer,
            reuse=opts.reuse,
            rotate90=opts.rotate90,
            bald_patches=opts.bald_patches,
        )
        return DataLoader(
            stream,
            batch_size=opts.batch_size,
            num_workers=opts.workers,
            prefetch_factor=4 if opts.workers else None,
            persistent_workers=False,
            # spawn, not fork: a forked worker can inherit a held lock (OpenMP, OpenCV) and hang
            multiprocessing_context="spawn" if opts.workers else None,
        )

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return the training loss with the run's Dice and hairless weights."""
        return segmentation_loss(
            logits,
            target,
            dice_weight=self.opts.dice_weight,
            class_weights=(1.0, 1.0, self.opts.hairless_weight),
        )

    def _predict_percents(self, images: list[npt.NDArray[np.uint8]]) -> list[float | None]:
        out: list[float | None] = []
        for i in range(0, len(images), 8):
            out += [view_percent(c) for c in self.eval_model.predict(images[i : i + 8])]
        return out

    def _validate(self, row: dict[str, float]) -> None:
        """Score the validation sets into ``row``; save ``best/`` when it improves."""
        source = self.ema.module if self.ema is not None else self.network
        self.eval_model.network.load_state_dict(source.state_dict())
        self.eval_model.network.eval()
        if self.val is None and self.real_val is None:
            save_model(self.eval_model, self.run_dir / "best", metadata={"step": str(self.step)})
            return
        if self.val is not None:
            row.update(self.val.evaluate(self.eval_model, self.loss))
        if self.real_val is not None:
            row.update(self.real_val.evaluate(self._predict_percents))
        key = "real_salt_mae" if self.opts.select_on == "real" else "val_salt_mae"
        if self.best is None or row[key] < self.best:
            self.best = row[key]
            save_model(
                self.eval_model,
                self.run_dir / "best",
                metadata={"step": str(self.step), key: f"{self.best:.4f}"},
                description=f"run {self.opts.name}, step {self.step}, {key} {self.best:.2f}",
            )

    def checkpoint(self) -> None:
        """Validate, save ``best/``, ``last/`` and the resumable state, log the metrics."""
        row: dict[str, float] = {
            "step": self.step,
            "images": self.images,
            "elapsed_s": self.elapsed,
        }
        self._validate(row)
        save_model(self.eval_model, self.run_dir / "last", metadata={"step": str(self.step)})
        self.pending.append(row)
        self.history.append(row)
        append_metrics(self.run_dir / "metrics.csv", self.pending)
        self.pending.clear()
        state = {
            "step": self.step,
            "images": self.images,
            "elapsed_s": self.elapsed,
            "best_val_salt_mae": self.best,
            "model": self.config.to_dict(),
        }
        save_checkpoint(self.run_dir, self.network, self.optimizer, state, self.ema)
        try:
            plot_learning_curve(self.run_dir / "metrics.csv", self.run_dir / "learning_curve.png")
        except (ValueError, KeyError, OSError) as exc:  # plotting must never stop training
            logger.warning("learning curve not drawn: %s", exc)
        scores = ", ".join(f"{k}={v:.4g}" for k, v in row.items() if k.startswith("val_"))
        logger.info(
            "checkpoint step %d, %d photos, %.1f min: %s",
            self.step,
            self.images,
            self.elapsed / 60,
            scores,
        )
        self.last_ckpt = time.monotonic()

    def _log_train_loss(self, lr: float, running: list[float]) -> None:
        row = {
            "step": self.step,
            "images": self.images,
            "elapsed_s": self.elapsed,
            "lr": lr,
            "train_loss": float(np.mean(running)),
        }
        self.pending.append(row)
        speed = self.images / max(self.elapsed, 1e-9)
        logger.info(
            "step %d loss %.4f lr %.2e (%.1f photos/s)", self.step, row["train_loss"], lr, speed
        )
        if len(self.pending) >= 10:
            append_metrics(self.run_dir / "metrics.csv", self.pending)
            self.pending.clear()

    def run(self) -> TrainResult:
        """Train until the budget or the session limit is spent; checkpoint at the end."""
        opts = self.opts
        session_start = t_prev = time.monotonic()
        running: list[float] = []
        finished = False
        for x, y in self.loader:
            lr, progress = _lr_at(opts, self.step, self.elapsed)
            if progress >= 1.0:
                finished = True
                break
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            loss = self.loss(self.network(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.network.parameters(), 5.0)
            self.optimizer.step()
            if self.ema is not None:
                self.ema.update_parameters(self.network)
            self.step += 1
            self.images += int(x.shape[0])
            now = time.monotonic()
            self.elapsed += now - t_prev
            t_prev = now
            running.append(float(loss.detach()))
            if self.step % opts.log_every == 0:
                self._log_train_loss(lr, running)
                running.clear()
            if now - self.last_ckpt >= 60 * opts.checkpoint_minutes:
                self.checkpoint()
                t_prev = time.monotonic()  # validation time is not training time
            if opts.session_minutes and now - session_start >= 60 * opts.session_minutes:
                break
        self.checkpoint()
        return TrainResult(self.run_dir, self.step, self.elapsed, finished, self.best, self.history)


def copy_encoder(source: torch.nn.Module, target: torch.nn.Module) -> int:
    """Copy a trained network's encoder weights into another network's encoder.

    Parameters
    ----------
    source, target : torch.nn.Module
        smp networks with the same encoder architecture (their decoders may differ).

    Returns
    -------
    int
        Number of tensors copied.

    Raises
    ------
    ModelError
        If the encoders differ (a tensor missing or of another shape).
    """
    src = source.encoder.state_dict()  # type: ignore[union-attr]
    own = target.encoder.state_dict()  # type: ignore[union-attr]
    if src.keys() != own.keys() or any(src[k].shape != own[k].shape for k in own):
        raise ModelError("the source model's encoder differs from the new network's encoder")
    target.encoder.load_state_dict(src)  # type: ignore[union-attr]
    return len(src)


def _options_dict(opts: TrainOptions) -> dict[str, Any]:
    out = dataclasses.asdict(opts)
    out["model"] = opts.model.to_dict()
    out["data"] = [str(p) for p in opts.data]
    out["pseudo"] = [str(p) for p in opts.pseudo]
    return out
