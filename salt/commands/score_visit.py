"""``salt score-visit TOP BACK LEFT RIGHT -o OUT``: one visit, for the clinic.

Prints each view's hair loss % and confidence, SALT, band, AA-IGA and status as a
table, and writes ``OUT/sheet.png`` and ``OUT/sheet.pdf``: the four overlays with the
numbers, the model's name and SHA256, the salt version and the date, ready to file
in a patient record. Exit code 0 when the visit was scored, 2 otherwise.
"""

from __future__ import annotations

import argparse
import logging

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``score-visit`` sub-command to the ``salt`` parser."""
    from salt.model.backends import BACKENDS

    p = subparsers.add_parser(
        "score-visit",
        help="score one visit's four photos: table on screen, sheet PNG/PDF for the record",
        description="Score the four photos of one visit, print the per-view % and SALT, and "
        "write OUT/sheet.png and OUT/sheet.pdf (overlays, numbers, model, date).",
    )
    for view in ("top", "back", "left", "right"):
        p.add_argument(view, help=f"photo of the {view} view")
    p.add_argument("-o", "--out", required=True, help="folder for sheet.png and sheet.pdf")
    p.add_argument("--model", default="default", help="registered model name or model folder")
    p.add_argument(
        "--backend", default="auto", choices=("auto", *BACKENDS), help="inference backend"
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--subject", default="", help="subject label printed on the sheet")
    p.add_argument("--visit", default="", help="visit label printed on the sheet")
    p.add_argument("--no-pdf", action="store_true", help="write only sheet.png")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``salt score-visit``; return the exit code."""
    from salt.review.sheet import result_table, score_and_draw, write_sheet

    result, image = score_and_draw(
        {v: getattr(args, v) for v in ("top", "back", "left", "right")},
        model=args.model,
        backend=args.backend,
        device=args.device,
        subject=args.subject,
        visit=args.visit,
    )
    print(result_table(result))
    for path in write_sheet(image, args.out, pdf=not args.no_pdf):
        print(f"wrote {path}")
    return 0
