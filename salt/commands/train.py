"""``salt train --name NAME``: train the segmentation network (see :mod:`salt.training.train`).

Synthetic visits are rendered on the fly; labelled folders (``--data``) and
pseudo-labelled folders (``--pseudo``) can be mixed in. The run checkpoints to
``runs/<name>/`` every few minutes; ``--resume`` continues it.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from salt.errors import BadValueError
from salt.model import ModelConfig
from salt.training.realdata import fold_people
from salt.training.train import TrainOptions, train

__all__ = ["add_training_options", "register", "run"]

logger = logging.getLogger(__name__)


def _channels(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """Add the options shared by ``salt train`` and ``salt finetune``."""
    _add_run_options(parser)
    _add_data_options(parser)
    _add_validation_options(parser)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """Add the run name and folder, budget, optimiser, processes and checkpoints."""
    group = parser.add_argument_group("run and budget")
    group.add_argument("--name", required=True, help="run name; outputs go to RUNS/NAME/")
    group.add_argument(
        "--runs", type=Path, default=Path("runs"), help="runs folder (default runs/)"
    )
    group.add_argument("--steps", type=int, default=None, help="total optimiser steps")
    group.add_argument(
        "--minutes", type=float, default=None, help="total training minutes (over all resumes)"
    )
    group.add_argument(
        "--session-minutes",
        type=float,
        default=None,
        help="stop this process after so many minutes (checkpointed; continue with --resume)",
    )
    group.add_argument("--batch-size", type=int, default=16, help="photos per step (default 16)")
    group.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (AdamW)")
    group.add_argument("--warmup-steps", type=int, default=30, help="linear warm-up steps")
    group.add_argument("--workers", type=int, default=1, help="data worker processes (default 1)")
    group.add_argument("--threads", type=int, default=2, help="torch threads for the network")
    group.add_argument(
        "--checkpoint-minutes",
        type=float,
        default=5.0,
        help="checkpoint and validate this often (default 5)",
    )
    group.add_argument("--seed", type=int, default=0, help="sampling/augmentation seed")
    group.add_argument(
        "--resume", action="store_true", help="continue RUNS/NAME from its checkpoint"
    )


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    """Add the training data, its sampling, loss weights and augmentation."""
    group = parser.add_argument_group("training data")
    group.add_argument(
        "--data",
        type=Path,
        action="append",
        default=[],
        metavar="FOLDER",
        help="labelled folder (photos/ + masks/); repeatable",
    )
    group.add_argument(
        "--pseudo",
        type=Path,
        action="append",
        default=[],
        metavar="FOLDER",
        help="pseudo-labelled folder (masks use 255 for unknown); repeatable",
    )
    group.add_argument(
        "--real-fraction",
        type=float,
        default=0.5,
        help="share of samples from --data/--pseudo when synthetic data is on",
    )
    group.add_argument(
        "--reuse",
        type=int,
        default=2,
        help="augmented samples per rendered synthetic photo (default 2)",
    )
    group.add_argument(
        "--hairless-weight",
        type=float,
        default=2.0,
        help="cross-entropy weight of the hairless class (default 2)",
    )
    group.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="decay of a moving average of the weights, validated and saved instead of "
        "the raw weights (e.g. 0.99; default 0 = off)",
    )
    group.add_argument(
        "--rotate90",
        type=float,
        default=0.0,
        help="probability of turning a sample by 90, 180 or 270 degrees (default 0)",
    )
    group.add_argument(
        "--bald-patches",
        type=float,
        default=0.0,
        help="probability of pasting bald patches onto a --data/--pseudo sample's hair",
    )


def _add_validation_options(parser: argparse.ArgumentParser) -> None:
    """Add what is scored at each checkpoint, and which checkpoint is kept."""
    group = parser.add_argument_group("validation")
    group.add_argument(
        "--val-visits",
        type=int,
        default=16,
        help="synthetic validation visits scored at each checkpoint",
    )
    group.add_argument(
        "--real-val",
        type=Path,
        default=None,
        metavar="RATED",
        help="rated real-photo folder (ratings.csv) scored at every checkpoint",
    )
    group.add_argument(
        "--real-val-fold",
        default=None,
        metavar="F/K",
        help="score only the people of person-wise fold F of K (e.g. 0/2, seed 0) of --real-val",
    )
    group.add_argument(
        "--select-on",
        choices=("synthetic", "real"),
        default="synthetic",
        help="keep as best/ the checkpoint with the lowest synthetic or real SALT MAE",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command to the ``salt`` parser."""
    parser = subparsers.add_parser(
        "train",
        help="train the segmentation network on synthetic (and optional real) data",
        description=(
            "Train the scalp/hair/hairless segmentation network on synthetic visits "
            "rendered on the fly, optionally mixed with labelled photo folders. "
            "Checkpoints, metrics.csv and learning_curve.png go to RUNS/NAME/."
        ),
    )
    add_training_options(parser)
    d = ModelConfig()
    parser.add_argument("--architecture", default=d.architecture, help="smp architecture")
    parser.add_argument("--encoder", default=d.encoder, help="smp encoder name")
    parser.add_argument(
        "--decoder-channels",
        type=_channels,
        default=",".join(map(str, d.decoder_channels)),
        help="decoder channels, comma-separated",
    )
    parser.add_argument("--input-size", type=int, default=d.input_size, help="network input side")
    parser.add_argument(
        "--render-size",
        type=int,
        default=None,
        help="side of rendered synthetic photos (default 1.25 x input size)",
    )
    parser.add_argument("--no-synthetic", action="store_true", help="train only on --data/--pseudo")
    parser.add_argument(
        "--normalise",
        type=float,
        nargs=6,
        default=None,
        metavar=("M1", "M2", "M3", "S1", "S2", "S3"),
        help="input mean and std per RGB channel (default ImageNet's)",
    )
    parser.add_argument(
        "--encoder-weights",
        type=Path,
        default=None,
        metavar="PTH",
        help="ImageNet EfficientNet-Lite weights to start the encoder from (training only)",
    )
    parser.add_argument(
        "--encoder-from",
        default=None,
        metavar="MODEL",
        help="start the encoder from a trained model's (name or folder; same encoder), "
        "the decoder from scratch: a student with a lighter --decoder-channels",
    )
    parser.set_defaults(func=run)


def options_from_args(args: argparse.Namespace, **overrides: object) -> TrainOptions:
    """Build :class:`TrainOptions` from parsed arguments."""
    model = ModelConfig()
    if hasattr(args, "encoder"):
        channels = args.decoder_channels
        if isinstance(channels, str):
            channels = _channels(channels)
        norm = getattr(args, "normalise", None)
        model = ModelConfig(
            architecture=args.architecture,
            encoder=args.encoder,
            decoder_channels=channels,
            input_size=args.input_size,
            **({"mean": tuple(norm[:3]), "std": tuple(norm[3:])} if norm else {}),
        )
    kwargs: dict[str, object] = {
        "name": args.name,
        "model": model,
        "runs_dir": args.runs,
        "steps": args.steps,
        "minutes": args.minutes,
        "session_minutes": args.session_minutes,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "data": tuple(args.data),
        "pseudo": tuple(args.pseudo),
        "real_fraction": args.real_fraction,
        "workers": args.workers,
        "threads": args.threads,
        "checkpoint_minutes": args.checkpoint_minutes,
        "val_visits": args.val_visits,
        "seed": args.seed,
        "warmup_steps": args.warmup_steps,
        "reuse": args.reuse,
        "resume": args.resume,
        "render_size": getattr(args, "render_size", None),
        "synthetic": not getattr(args, "no_synthetic", False),
        "encoder_weights": getattr(args, "encoder_weights", None),
        "rotate90": args.rotate90,
        "hairless_weight": args.hairless_weight,
        "bald_patches": args.bald_patches,
        "real_val": args.real_val,
        "real_val_subjects": (
            fold_people(args.real_val, args.real_val_fold)
            if args.real_val is not None and args.real_val_fold
            else ()
        ),
        "select_on": args.select_on,
        "encoder_from": getattr(args, "encoder_from", None),
        "ema": getattr(args, "ema", 0.0),
    }
    kwargs.update(overrides)
    return TrainOptions(**kwargs)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    """Run ``salt train``; return the exit code."""
    if args.steps is None and args.minutes is None:
        raise BadValueError("give a training budget: --steps N and/or --minutes M")
    result = train(options_from_args(args))
    logger.info(
        "run %s: %d steps, %.1f min, best validation SALT MAE %s; model in %s",
        result.run_dir,
        result.step,
        result.elapsed_s / 60,
        "n/a" if result.best_val_salt_mae is None else f"{result.best_val_salt_mae:.2f}",
        result.run_dir / "best",
    )
    return 0
