"""``salt finetune --data FOLDER --from MODEL --name NAME``: adapt a model to a clinic's photos.

Starts from a shipped (hash-verified) model and trains on the clinic's annotated
photos (``FOLDER/photos/...`` with ``FOLDER/masks/...``, see ``data/README.md``),
mixed by default with 25 % synthetic visits so the model does not forget the
cases the clinic has few of. Lower learning rate and shorter budget than
``salt train``. The result is ``RUNS/NAME/best/``, loadable with
``salt.load_model("RUNS/NAME/best")``.
"""

from __future__ import annotations

import argparse
import logging

from salt.commands.train import add_training_options, options_from_args
from salt.errors import BadValueError
from salt.training.train import train

__all__ = ["register", "run"]

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``finetune`` sub-command to the ``salt`` parser."""
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a shipped model on a clinic's annotated photos",
        description=(
            "Fine-tune MODEL on labelled photos (FOLDER/photos/<subject>/<visit>/<view>.jpg "
            "with FOLDER/masks/<subject>/<visit>/<view>.png: 0 not scalp, 1 hair, 2 hairless, "
            "255 unknown). Outputs go to RUNS/NAME/ as for salt train."
        ),
    )
    parser.add_argument(
        "--from",
        dest="from_model",
        default="default",
        help="starting model: registered name or model folder (default: default)",
    )
    add_training_options(parser)
    parser.set_defaults(func=run, lr=5e-4, real_fraction=0.75, val_visits=8, warmup_steps=10)
    parser.add_argument(
        "--no-synthetic",
        action="store_true",
        help="train only on --data (default mixes in 25%% synthetic visits)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``salt finetune``; return the exit code."""
    if not args.data:
        raise BadValueError(
            "salt finetune needs at least one --data FOLDER with photos/ and masks/"
        )
    if args.steps is None and args.minutes is None:
        raise BadValueError("give a training budget: --steps N and/or --minutes M")
    opts = options_from_args(args, from_model=args.from_model)
    result = train(opts)
    logger.info(
        "fine-tuned %s -> %s (%d steps, best validation SALT MAE %s)",
        args.from_model,
        result.run_dir / "best",
        result.step,
        "n/a" if result.best_val_salt_mae is None else f"{result.best_val_salt_mae:.2f}",
    )
    return 0
