"""``salt synth OUT --visits N --seed S``: write synthetic visits with exact masks and truth.

Thin over :func:`salt.synth.write_dataset` and :func:`salt.synth.write_longitudinal`.
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from salt.errors import BadValueError

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synth`` sub-command to the ``salt`` parser."""
    parser = subparsers.add_parser(
        "synth",
        help="write synthetic four-view visits with exact hair-loss masks and SALT",
        description=(
            "Render synthetic subjects (3D head, four SALT cameras, hair-loss map on the scalp) "
            "and write OUT/photos/<subject>/<visit>/<view>.jpg, OUT/masks/<subject>/<visit>/"
            "<view>.png (0 not scalp, 1 scalp with hair, 2 hairless scalp) and OUT/truth.csv."
        ),
    )
    parser.add_argument("out", type=Path, help="output folder (new or empty)")
    parser.add_argument("--visits", type=int, default=10, help="number of visits (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="data-set seed (default 0)")
    parser.add_argument("--size", type=int, default=512, help="photo side in pixels (default 512)")
    parser.add_argument(
        "--subtype",
        choices=["patchy", "ophiasis", "totalis", "diffuse", "none"],
        default=None,
        help="force one subtype (default: a mix)",
    )
    parser.add_argument(
        "--salt-uniform", action="store_true", help="spread SALT uniformly over 0-100"
    )
    parser.add_argument(
        "--longitudinal",
        action="store_true",
        help=(
            "trial-like subjects: baseline SALT >= 50, visits every --every weeks up to --weeks "
            "following a response, partial, non-response or relapse trajectory"
        ),
    )
    parser.add_argument(
        "--subjects",
        type=int,
        default=None,
        help="longitudinal: number of subjects (default: visits / visits per subject)",
    )
    parser.add_argument("--weeks", type=int, default=36, help="longitudinal: last week (36)")
    parser.add_argument("--every", type=int, default=4, help="longitudinal: weeks between visits")
    parser.add_argument("--jpeg-quality", type=int, default=95, help="JPEG quality (95)")
    parser.add_argument("--overwrite", action="store_true", help="write into a non-empty folder")
    parser.add_argument(
        "-q",
        "--quiet",
        "--no-progress",
        dest="no_progress",
        action="store_true",
        help="no progress bar",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``salt synth``; return the exit code."""
    from salt.synth import write_dataset, write_longitudinal

    if args.longitudinal:
        if args.every < 1 or args.weeks < 0:
            raise BadValueError("--every must be >= 1 and --weeks >= 0")
        weeks = list(range(0, args.weeks + 1, args.every))
        subjects = args.subjects or max(1, math.ceil(args.visits / len(weeks)))
        table = write_longitudinal(
            args.out,
            subjects,
            args.seed,
            weeks=weeks,
            size=args.size,
            jpeg_quality=args.jpeg_quality,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    else:
        table = write_dataset(
            args.out,
            args.visits,
            args.seed,
            size=args.size,
            subtype=args.subtype,
            salt_uniform=args.salt_uniform,
            jpeg_quality=args.jpeg_quality,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    log.info("wrote %d visits to %s (truth.csv, photos/, masks/)", len(table), args.out)
    return 0
