"""``salt rescore OUT [--from LABELLED]``: re-score visits from corrected masks.

Adds the masks of a labelled folder (``salt import-annotations``) to OUT's corrections
and re-scores those visits from them: status ``corrected``, who and when in
``message`` and ``corrections.csv``, tables and ``report.html`` rewritten. Later
``salt score`` runs into OUT keep the corrections (see :mod:`salt.review.rescore`).
Exit code 0, or 2 when OUT has no corrections or is in use.
"""

from __future__ import annotations

import argparse
import logging

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``rescore`` sub-command to the ``salt`` parser."""
    p = subparsers.add_parser(
        "rescore",
        help="re-score visits from corrected masks (status 'corrected')",
        description="Re-score the visits of OUT that have corrected masks, using them instead "
        "of the model's; add the masks of a labelled folder first with --from.",
    )
    p.add_argument("out", help="output folder of salt score")
    p.add_argument(
        "--from",
        dest="labelled",
        metavar="LABELLED",
        help="labelled folder with corrected masks (photos/ and masks/)",
    )
    p.add_argument("--by", help="who corrected the masks (default: from LABELLED/annotations.json)")
    p.add_argument("--at", help="when they were corrected (default: from the annotation file)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``salt rescore``; return the exit code."""
    from salt.review.rescore import rescore

    visits = rescore(args.out, labelled=args.labelled, by=args.by, at=args.at)
    n = int((visits["status"] == "corrected").sum())
    log.info("%d corrected visits in %s (see corrections.csv, report.html)", n, args.out)
    return 0
