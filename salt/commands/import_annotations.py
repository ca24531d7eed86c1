"""``salt import-annotations FILE --photos ROOT -o LABELLED``: corrected masks in a labelled folder.

Reads a COCO instance file (from ``salt export-annotations``, edited and exported by
CVAT or Label Studio) with pycocotools and writes ``LABELLED/photos/``,
``LABELLED/masks/`` and ``LABELLED/annotations.json`` (who and when): the layout of
``salt finetune`` and ``salt evaluate --data``, and what ``salt rescore OUT --from
LABELLED`` reads. Exit code 0, or 2 on an unreadable file or a missing photo.
"""

from __future__ import annotations

import argparse
import logging

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import-annotations`` sub-command to the ``salt`` parser."""
    p = subparsers.add_parser(
        "import-annotations",
        help="read corrected COCO masks into a labelled folder (finetune, evaluate, rescore)",
        description="Paint each image's COCO polygons into a class mask (scalp, then hairless, "
        "then hair) and write LABELLED/photos/<subject>/<visit>/<view>.<ext> with "
        "LABELLED/masks/<subject>/<visit>/<view>.png.",
    )
    p.add_argument("file", help="COCO instance file (JSON)")
    p.add_argument("--photos", required=True, help="photo folder the file names are relative to")
    p.add_argument("-o", "--out", required=True, help="labelled folder to write")
    p.add_argument("--by", help="who corrected the masks (recorded with each mask)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``salt import-annotations``; return the exit code."""
    from salt.review.coco import import_coco

    written = import_coco(args.file, args.photos, args.out, by=args.by)
    log.info("wrote %d masks into %s", len(written), args.out)
    return 0
