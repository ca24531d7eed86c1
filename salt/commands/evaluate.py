"""``salt evaluate``: measure a model on held-out synthetic visits or a labelled folder.

``salt evaluate --synthetic 200 -o OUT`` renders seeds 10_000_000..10_000_199
(never used in training) and compares with their exact truth;
``salt evaluate --data FOLDER -o OUT`` uses a folder with ``photos/`` and
``masks/`` and/or ``truth.csv``. Writes ``OUT/report.json``, ``OUT/visits.csv`` and
``OUT/groups.csv`` (see :mod:`salt.training.evaluate`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from salt.errors import BadValueError
from salt.model import SaltModel, load_model
from salt.training.data import HELDOUT_SEED_START
from salt.training.evaluate import (
    evaluate_folder,
    evaluate_synthetic,
    format_summary,
    write_report,
)

__all__ = ["register", "run"]

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` sub-command to the ``salt`` parser."""
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a model against held-out synthetic visits or a labelled folder",
        description=(
            "Score visits with known truth and report SALT MAE, bias, per-view MAE, ICC(2,1), "
            "Bland-Altman limits, agreement on the SALT<=20 and >=50 calls, band accuracy, "
            "per-class IoU, and errors by subtype, skin tone and hair colour."
        ),
    )
    from salt.model.backends import BACKENDS

    parser.add_argument(
        "--backend",
        default="auto",
        choices=("auto", *BACKENDS),
        help="inference backend, as in `salt score` (default auto: what `salt score` runs)",
    )
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--min-side", type=int, default=256, help="smallest photo short side, pixels (as score)"
    )
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--synthetic", type=int, metavar="N", help="N held-out synthetic visits")
    src.add_argument("--data", type=Path, metavar="FOLDER", help="labelled folder to score")
    src.add_argument(
        "--real",
        type=Path,
        metavar="RATED",
        help="rated real photos (ratings.csv: two raters' loss %% per photo): scored with "
        "`salt score`'s engine and compared with the raters' mean",
    )
    parser.add_argument(
        "--real-fold",
        default=None,
        metavar="F/K",
        help="with --real: score only the people of person-wise fold F of K (seed 0), e.g. the "
        "people a model was not trained on",
    )
    parser.add_argument(
        "--cv-models",
        nargs="+",
        default=None,
        metavar="MODEL",
        help="with --real: person-wise cross-validation; the i-th model was trained on fold i of "
        "K = number of models and scores the people of the other folds",
    )
    parser.add_argument("--model", default="default", help="registered model name or model folder")
    parser.add_argument("-o", "--output", type=Path, required=True, help="report folder")
    parser.add_argument(
        "--seed-start",
        type=int,
        default=HELDOUT_SEED_START,
        help=f"first synthetic seed (default {HELDOUT_SEED_START})",
    )
    parser.add_argument("--size", type=int, default=320, help="rendered photo side (default 320)")
    parser.add_argument(
        "--natural",
        action="store_true",
        help="generator's natural SALT mix instead of SALT uniform over 0-100",
    )
    parser.add_argument("--workers", type=int, default=1, help="rendering processes (default 1)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``salt evaluate``; return the exit code."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.model)
    progress = not args.no_progress
    if args.synthetic is not None:
        if args.synthetic < 1:
            raise BadValueError(
                f"--synthetic needs a positive number of visits, got {args.synthetic}"
            )
        result = evaluate_synthetic(
            model,
            args.synthetic,
            seed_start=args.seed_start,
            size=args.size,
            salt_uniform=not args.natural,
            workers=args.workers,
            progress=progress,
            backend=args.backend,
            device=args.device,
        )
    elif args.real is not None:
        return _run_real(args, model)
    else:
        result = evaluate_folder(
            model,
            args.data,
            progress=progress,
            backend=args.backend,
            device=args.device,
            min_side=args.min_side,
        )
    paths = write_report(result, args.output, model=model, command=["salt", *sys.argv[1:]])
    logger.info("%s\nreport: %s", format_summary(result.metrics), paths["report"])
    return 0


def _run_real(args: argparse.Namespace, model: SaltModel) -> int:
    from salt.training.realeval import evaluate_rated, format_rated_summary

    people = None
    if args.real_fold:
        from salt.training.realdata import fold_people

        people = fold_people(args.real, args.real_fold)
    metrics = evaluate_rated(
        args.real,
        args.output,
        models=args.cv_models or [model],
        backend=args.backend,
        device=args.device,
        people=people,
        progress=not args.no_progress,
        command=["salt", *sys.argv[1:]],
    )
    print(format_rated_summary(metrics))
    return 0
