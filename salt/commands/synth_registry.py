"""``salt synth-registry OUT``: a synthetic registry as three CSV tables (no photos).

Thin over :func:`salt.synth.registry.synthetic_registry`: writes ``visits.csv``
(subject, week, SALT, eyebrows, eyelashes, body hair, nails), ``treatments.csv``
(drug, dose, start, stop, reason, route) and ``subjects.csv`` (age, episode start)
into OUT, for trying the registry analysis of :mod:`salt.trial`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from salt.errors import BadValueError, OutputError
from salt.io.csvsafe import write_csv

__all__ = ["register", "run"]

logger = logging.getLogger(__name__)

_TABLES = ("visits.csv", "treatments.csv", "subjects.csv")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synth-registry`` sub-command to the ``salt`` parser."""
    parser = subparsers.add_parser(
        "synth-registry",
        help="write a synthetic registry (visits, treatments, subjects) as CSV tables",
        description=(
            "Write visits.csv, treatments.csv and subjects.csv of a synthetic registry: "
            "first-line treatment, switches to and between JAK inhibitors, tapers, SALT, "
            "eyebrow, eyelash, body-hair and nail scores. Made-up numbers for trying the "
            "registry analysis; no photos."
        ),
    )
    parser.add_argument("out", type=Path, help="output folder (created)")
    parser.add_argument("--subjects", type=int, default=120, help="number of subjects (120)")
    parser.add_argument("--seed", type=int, default=0, help="seed (0)")
    parser.add_argument("--weeks", type=int, default=108, help="last visit week (108)")
    parser.add_argument("--every", type=int, default=12, help="weeks between visits (12)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing tables")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the tables; return the exit code."""
    from salt.synth.registry import synthetic_registry

    if args.subjects < 1 or args.every < 1 or args.weeks < 0:
        raise BadValueError("--subjects and --every must be >= 1 and --weeks >= 0")
    out: Path = args.out
    existing = [name for name in _TABLES if (out / name).exists()]
    if existing and not args.overwrite:
        raise OutputError(f"{out}: {', '.join(existing)} already there; use --overwrite")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create folder ({exc.strerror})") from None
    reg = synthetic_registry(args.subjects, args.seed, weeks=args.weeks, every=args.every)
    for name, table in zip(_TABLES, (reg.visits, reg.treatments, reg.subjects), strict=True):
        write_csv(out / name, table)
    logger.info(
        "wrote %d visits, %d treatment periods and %d subjects to %s",
        len(reg.visits),
        len(reg.treatments),
        len(reg.subjects),
        out,
    )
    return 0
