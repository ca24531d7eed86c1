"""``salt report OUT``: write ``report.html`` of an output folder again.

``salt score`` and ``salt rescore`` write it themselves; this command rewrites it, for
example after copying a folder or upgrading salt. Exit code 0, or 2 when the folder
has no tables.
"""

from __future__ import annotations

import argparse
import logging

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command to the ``salt`` parser."""
    p = subparsers.add_parser(
        "report",
        help="write report.html of an output folder (review page for a browser)",
        description="Write OUT/report.html: summary, sortable visit table (views needing "
        "review first), overlay sheets, SALT over time per subject, links to the tables.",
    )
    p.add_argument("out", help="output folder of salt score")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``salt report``; return the exit code."""
    from salt.review.report import write_report

    path = write_report(args.out)
    print(path)
    return 0
