"""``salt pseudo-label RATED -o OUT --teachers DIR``: teacher pseudo-labels for rated real photos.

Writes a labelled folder (``OUT/photos/<subject>/visit1/<view>.jpg`` and
``OUT/masks/...png``, 255 = unknown) for ``salt train --pseudo OUT`` (see
:mod:`salt.training.teachers`). With ``--fold F --folds K`` only the people of one
person-wise fold are written, so that a model trained on them can be evaluated on
the others (``salt evaluate --rated RATED --cv-models ...``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from salt.errors import BadValueError

__all__ = ["register", "run"]

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pseudo-label`` sub-command to the ``salt`` parser."""
    parser = subparsers.add_parser(
        "pseudo-label",
        help="label rated real photos with pretrained teachers (training data)",
        description=(
            "Pseudo-label the photos of a rated folder (ratings.csv + photos) with the skin/hair "
            "ONNX segmenter and the MediaPipe hair and person segmenters: hair where the "
            "teachers agree, not-scalp for background, clothes and skin below the hair, "
            "hairless for bare skin above it, unknown elsewhere."
        ),
    )
    parser.add_argument("rated", type=Path, help="rated folder (ratings.csv and its photos)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="labelled folder to write")
    parser.add_argument(
        "--teachers",
        type=Path,
        required=True,
        help="folder with skin-hair-onnx/ and teachers/mediapipe/",
    )
    parser.add_argument("--folds", type=int, default=1, help="person-wise folds (default 1)")
    parser.add_argument("--fold", type=int, default=0, help="write only this fold's people")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds (default 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the pseudo-labelled folder; return the exit code."""
    from salt.training.realdata import person_folds, read_ratings, write_pseudo_labels
    from salt.training.teachers import Teachers

    if args.folds < 1 or not 0 <= args.fold < args.folds:
        raise BadValueError(f"--fold must be in 0..{args.folds - 1}, got {args.fold}")
    photos = read_ratings(args.rated)
    folds = person_folds([p.subject for p in photos], k=args.folds, seed=args.seed)
    mine = [p for p in photos if folds[p.subject] == args.fold]
    n = write_pseudo_labels(mine, Teachers(args.teachers), args.output)
    people = sorted({p.subject for p in mine})
    print(f"labelled {n} photos of {len(people)} people into {args.output}")
    return 0
