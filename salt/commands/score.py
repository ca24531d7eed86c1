"""``salt score ROOT -o OUT``: score every visit of a photo folder.

Writes ``visits.csv``, ``visits.parquet``, ``views.csv``, ``errors.csv``,
``overlays/``, optional ``masks/`` and ``run.json`` into OUT (see
:func:`salt.score_folder`).

ROOT is a photo folder (nested, flat, or one visit's folder) or a manifest CSV
(path, subject, visit, view). Entries that are not photos of a visit are listed in
``skipped.csv``.

Exit codes: 0 when every visit was scored (status ``ok`` or ``needs_review``, or
``partial`` with ``--partial``); 1 when the run finished but some visits were not
scored (see ``errors.csv``); 2 when nothing (more) was done because of bad arguments
or input or a failed write (output folder unwritable, in use, holding files salt did
not write or another input's results; disk full; no photos; model not found).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from salt.errors import BadValueError, InputFileError

__all__ = ["register", "run"]

log = logging.getLogger(__name__)

#: Seconds to wait for the Dask scheduler of ``--scheduler``.
CONNECT_TIMEOUT_S = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``score`` sub-command to the ``salt`` parser."""
    from salt.model.backends import BACKENDS

    p = subparsers.add_parser(
        "score",
        help="score every visit of a photo folder (SALT, per-view %%, overlays)",
        description=(
            "Score every visit under ROOT (ROOT/<subject>/<visit>/<view>.jpg, "
            "ROOT/<subject>_<visit>_<view>.jpg, or one visit's folder ROOT/<view>.jpg), or "
            "the photos a manifest CSV lists (columns path, subject, visit, view), and write "
            "visits.csv, visits.parquet, views.csv, errors.csv, skipped.csv, overlays/ and "
            "run.json into OUT. Exit code 0 when every visit was scored, 1 when some were not "
            "(see errors.csv), 2 on bad arguments or input, or when a write failed."
        ),
    )
    p.add_argument("root", help="photo folder, one visit's folder, or a manifest .csv")
    p.add_argument("-o", "--out", required=True, help="output folder (created; not inside ROOT)")
    p.add_argument(
        "--view-aliases",
        metavar="FILE",
        help='more view names: JSON {"name": "view"} or CSV with columns alias,view',
    )
    p.add_argument(
        "--replace-output",
        action="store_true",
        help="OUT holds another input's results: replace them (only files salt wrote are removed)",
    )
    p.add_argument("--model", default="default", help="registered model name or model folder")
    p.add_argument(
        "--backend", default="auto", choices=("auto", *BACKENDS), help="inference backend"
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="photos per network call (default 4 on the CPU, 16 on a GPU)",
    )
    p.add_argument("--workers", type=int, default=None, help="photo-loading threads")
    p.add_argument("--no-overlays", action="store_true", help="do not write overlays/")
    p.add_argument("--masks", action="store_true", help="write class-map PNGs in masks/")
    p.add_argument("--no-resume", action="store_true", help="re-score visits already in OUT")
    p.add_argument(
        "--partial",
        action="store_true",
        help="estimate SALT for visits with missing views (weights of the views present "
        "rescaled to 1; status 'partial')",
    )
    p.add_argument(
        "--strict", action="store_true", help="leave SALT empty for visits with a quality flag"
    )
    p.add_argument(
        "--quality-thresholds",
        metavar="JSON",
        help="JSON file of quality-flag cut-offs (fields of salt.quality.QualityThresholds)",
    )
    p.add_argument("--min-side", type=int, default=256, help="smallest photo short side, pixels")
    p.add_argument("--allow-inside-input", action="store_true", help="allow OUT inside ROOT")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="score on the Dask cluster whose scheduler is at ADDRESS (e.g. tcp://10.0.0.5:8786; "
        "needs salt[distributed]); outputs are written here as in a local run",
    )
    p.add_argument(
        "--chunk-visits", type=int, default=4, help="visits per cluster task (with --scheduler)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``salt score``; return the exit code (see module notes)."""
    from salt.inference.engine import score_folder

    thresholds = None
    if args.quality_thresholds:
        try:
            thresholds = json.loads(Path(args.quality_thresholds).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputFileError(
                f"cannot read the quality thresholds {args.quality_thresholds}: {exc}"
            ) from None
        if not isinstance(thresholds, dict):
            raise InputFileError(f"{args.quality_thresholds} must hold a JSON object")
    client = _connect(args.scheduler) if args.scheduler else None
    try:
        visits = score_folder(
            args.root,
            args.out,
            model=args.model,
            batch_size=args.batch_size,
            device=args.device,
            backend=args.backend,
            overlays=not args.no_overlays,
            masks=args.masks,
            resume=not args.no_resume,
            progress=not args.quiet,
            workers=args.workers,
            partial=args.partial,
            strict=args.strict,
            quality_thresholds=thresholds,
            min_side=args.min_side,
            allow_inside_input=args.allow_inside_input,
            arguments={"command": ["salt", *sys.argv[1:]]},
            client=client,
            chunk_visits=args.chunk_visits,
            view_aliases=args.view_aliases,
            replace_output=args.replace_output,
        )
    finally:
        if client is not None:
            client.close()
    from salt.results import SCORED_STATUSES

    scored = visits["status"].isin(SCORED_STATUSES)
    n_bad = int((~scored).sum())
    if n_bad:
        log.warning(
            "%d of %d visits were not scored; see %s/errors.csv", n_bad, len(visits), args.out
        )
        return 1
    log.info("%d visits scored; results in %s", len(visits), args.out)
    return 0


def _connect(address: str) -> Any:
    """Connect to the Dask scheduler at ``address``; clear errors when that fails."""
    try:
        from distributed import Client
    except ImportError:
        raise BadValueError(
            "--scheduler needs Dask's distributed package: pip install 'salt[distributed]'"
        ) from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise BadValueError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
