"""``salt export-annotations OUT --format coco``: masks of chosen visits for an annotation tool.

Writes a COCO instance file (polygons of scalp, hairless and hair; see
:mod:`salt.review.coco`) that CVAT and Label Studio import, for the visits with the
chosen statuses (default ``needs_review``) or named visits. Exit code 0, or 2 when no
visit matches or a mask is missing.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export-annotations`` sub-command to the ``salt`` parser."""
    p = subparsers.add_parser(
        "export-annotations",
        help="write the masks of chosen visits as COCO polygons (CVAT, Label Studio)",
        description="Write the masks of chosen visits of OUT as a COCO instance file: "
        "categories scalp, hairless and hair (islands inside hairless patches), polygons in "
        "the photo's pixels, file_name relative to the photo folder that was scored.",
    )
    p.add_argument("out", help="output folder of salt score")
    p.add_argument("--format", default="coco", choices=("coco",), help="annotation format")
    p.add_argument(
        "--status",
        action="append",
        help="export visits with this status (repeatable; default needs_review)",
    )
    p.add_argument("--visit", action="append", help="export this visit, SUBJECT/VISIT (repeatable)")
    p.add_argument("--all", action="store_true", help="export every visit with photos")
    p.add_argument(
        "--model",
        help="predict masks again with this model where OUT has no masks/ (runs without --masks)",
    )
    p.add_argument("-o", "--output", help="file to write (default OUT/review-coco.json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``salt export-annotations``; return the exit code."""
    from salt.io.atomic import atomic_write_text
    from salt.review.coco import export_coco

    if args.status:
        statuses = args.status
    elif args.all or args.visit:
        statuses = None  # every status (of the named visits)
    else:
        statuses = ["needs_review"]
    predict = _predictor(args.model) if args.model else None
    coco = export_coco(args.out, statuses=statuses, visits=args.visit, predict=predict)
    path = Path(args.output) if args.output else Path(args.out) / "review-coco.json"
    atomic_write_text(path, json.dumps(coco) + "\n")
    log.info(
        "wrote %d photos, %d polygons to %s", len(coco["images"]), len(coco["annotations"]), path
    )
    print(path)
    return 0


def _predictor(model: str) -> Callable[[Mapping[str, Any]], Any]:
    """Return ``row -> class map``: the model run again on a row's photo (network size)."""
    from salt.inference.engine import score_visit

    def predict(row: Mapping[str, Any]) -> Any:
        view = str(row["view"])
        res = score_visit({view: str(row["path"])}, model=model, partial=True, masks=True)
        return res.views[view].class_map

    return predict
