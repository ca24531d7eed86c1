"""``salt endpoints TABLE.csv -o OUT.csv``: SALT, band, AA-IGA and trial endpoints from a table.

The input has one row per visit with the columns ``subject``, ``week`` (or
``visit``) and the four per-view hair-loss percentages ``top``, ``back``,
``left``, ``right`` (0-100). Other columns are kept. The output adds ``salt``
(:func:`salt.salt_score`), ``band`` (:func:`salt.severity_band`), ``aa_iga``
(:func:`salt.aa_iga`) and the columns of :func:`salt.endpoints.endpoints`.

The ``visits.csv`` written by ``salt score`` is read too (columns ``top_pct``
.. ``right_pct`` and ``salt``): its ``salt`` column is used as scored, and
visits without a SALT (failed or flagged photos) keep empty endpoints.

A ``visit`` column may hold numbers or labels that contain one (``week24``,
``W24``, ``day 3``); the number orders the visits and is written to a
``visit_number`` column. Rows are named in messages by their line in the file
(the header is line 1).
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
from pathlib import Path

import pandas as pd

from salt.errors import BadValueError, InputFileError, OutputError
from salt.io.atomic import atomic_write
from salt.scoring import aa_iga, salt_score, severity_band
from salt.trial.endpoints import endpoints
from salt.views import VIEWS

__all__ = ["ENGINE_VIEW_COLUMNS", "register", "run", "score_table"]

logger = logging.getLogger(__name__)

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")

#: Per-view columns of the engine's visits.csv (``salt score``), read as an alternative input.
ENGINE_VIEW_COLUMNS: tuple[str, ...] = tuple(f"{v}_pct" for v in VIEWS)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``endpoints`` sub-command to the ``salt`` parser."""
    parser = subparsers.add_parser(
        "endpoints",
        help="SALT, band, AA-IGA and trial endpoints from a CSV of per-view percentages",
        description=(
            "Read a CSV with columns subject, week (or visit), top, back, left, right "
            "(percent hair loss per view, 0-100) and write SALT, severity band, AA-IGA and "
            "the trial endpoints (change from baseline, SALT<=20/<=10, SALT50/75/90/100, "
            "relapse, eligibility)."
        ),
    )
    parser.add_argument("table", type=Path, help="input CSV, one row per visit")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="output CSV (written atomically, folders created); standard output when omitted",
    )
    parser.add_argument(
        "--baseline",
        type=float,
        default=None,
        help="week/visit number of the baseline visit (default: each subject's first visit)",
    )
    parser.add_argument(
        "--reference",
        type=float,
        default=None,
        help="week/visit number that relapse is measured from (default: the baseline visit)",
    )
    parser.set_defaults(func=run)


def _line(index: object) -> int:
    """Line of a 0-based data row in the CSV (header is line 1)."""
    return int(index) + 2  # type: ignore[call-overload]


def _visit_number(label: object, where: str) -> float:
    if isinstance(label, (int, float)) and not isinstance(label, bool):
        if not math.isfinite(float(label)):
            raise BadValueError(f"{where}: column 'visit' is empty")
        return float(label)
    text = str(label).strip()
    numbers = _NUMBER.findall(text)
    if len(numbers) != 1:
        raise BadValueError(
            f"{where}: column 'visit' is {text!r}; expected a number or a label with one "
            "number in it such as 'week24'"
        )
    return float(numbers[0])


def score_table(table: pd.DataFrame, *, source: str = "table") -> pd.DataFrame:
    """Validate a per-view table and add ``salt``, ``band`` and ``aa_iga`` columns.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per visit with ``subject``, ``week`` or ``visit``, and ``top``,
        ``back``, ``left``, ``right`` in percent (0-100), as read from a CSV with a
        default RangeIndex.
    source : str, default "table"
        Name of the file, used in messages.

    Returns
    -------
    pandas.DataFrame
        A copy with the view columns as float64, ``salt`` (float, percent of scalp),
        ``band`` (str, S0-S5) and ``aa_iga`` (int, 0-4); with a ``visit`` column,
        also ``visit_number`` (float).

    Raises
    ------
    BadValueError
        Naming the file, line and column of the first missing column, empty cell,
        non-numeric value or value outside [0, 100].
    """
    time = "week" if "week" in table.columns else "visit"
    engine = not set(VIEWS) & set(table.columns) and {*ENGINE_VIEW_COLUMNS, "salt"} <= set(
        table.columns
    )
    required = ["subject", time, *(ENGINE_VIEW_COLUMNS if engine else VIEWS)]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise BadValueError(
            f"{source}: missing column(s) {missing}; expected subject, week (or visit), "
            f"{', '.join(VIEWS)}; found {list(map(str, table.columns))}"
        )
    out = table.copy()
    for column in ("subject", time):
        empty = out[column].isna()
        if empty.any():
            first = out.index[empty.to_numpy()][0]
            raise BadValueError(f"{source}: line {_line(first)}: column {column!r} is empty")
    if time == "week":
        weeks = pd.to_numeric(out["week"], errors="coerce")
        if weeks.isna().any():
            i = out.index[weeks.isna().to_numpy()][0]
            raise BadValueError(
                f"{source}: line {_line(i)}: column 'week' is {out.loc[i, 'week']!r}, not a number"
            )
        out["week"] = weeks
    else:
        out["visit_number"] = [
            _visit_number(v, f"{source}: line {_line(i)}") for i, v in out["visit"].items()
        ]
    key = "week" if time == "week" else "visit_number"
    repeated = out.duplicated(["subject", key], keep=False)
    if repeated.any():
        rows = out.index[repeated.to_numpy()]
        lines = [_line(i) for i in rows]
        raise BadValueError(
            f"{source}: lines {lines[:5]}: subject {out.loc[rows[0], 'subject']!r} "
            f"has more than one row for the same {time}"
        )
    if engine:
        return _engine_scores(out, source)
    for view in VIEWS:
        raw = out[view]
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        for i in out.index[values.isna().to_numpy()]:
            what = "empty" if pd.isna(raw[i]) else f"{raw[i]!r}, not a number"
            raise BadValueError(f"{source}: line {_line(i)}: column {view!r} is {what}")
        outside = ~values.between(0.0, 100.0)
        for i in out.index[outside.to_numpy()]:
            raise BadValueError(
                f"{source}: line {_line(i)}: column {view!r} is {values[i]:g}, "
                "outside the percentage range [0, 100]"
            )
        out[view] = values
    out["salt"] = [salt_score({v: row[v] for v in VIEWS}) for _, row in out[list(VIEWS)].iterrows()]
    out["band"] = [severity_band(s) for s in out["salt"]]
    out["aa_iga"] = [aa_iga(s) for s in out["salt"]]
    return out


def _engine_scores(out: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check the ``salt`` column of the engine's visits.csv and recompute band and AA-IGA."""
    raw = out["salt"]
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    for i in out.index[(values.isna() & raw.notna()).to_numpy()]:
        raise BadValueError(f"{source}: line {_line(i)}: column 'salt' is {raw[i]!r}, not a number")
    for i in out.index[(values.notna() & ~values.between(0.0, 100.0)).to_numpy()]:
        raise BadValueError(
            f"{source}: line {_line(i)}: column 'salt' is {values[i]:g}, outside [0, 100]"
        )
    unscored = int(values.isna().sum())
    if unscored:
        logger.warning(
            "%s: %d visit(s) have no SALT; their endpoints are left empty", source, unscored
        )
    out["salt"] = values
    out["band"] = [None if math.isnan(v) else severity_band(v) for v in values]
    out["aa_iga"] = pd.array([pd.NA if math.isnan(v) else aa_iga(v) for v in values], dtype="Int64")
    return out


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create folder {folder} ({exc.strerror})") from None
    with atomic_write(path, "w") as handle:
        frame.to_csv(handle, index=False)


def run(args: argparse.Namespace) -> int:
    """Score the table named in ``args`` and write the endpoints; return the exit code."""
    path: Path = args.table
    try:
        table = pd.read_csv(path, dtype={"subject": str})
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(
            f"{path}: not a readable CSV table ({exc})".replace("\n", " ")
        ) from None
    if table.empty:
        raise InputFileError(f"{path}: the table has no rows")
    scored = score_table(table, source=str(path))
    time = "week" if "week" in scored.columns else "visit_number"
    try:
        result = endpoints(
            scored, time=time, score="salt", baseline=args.baseline, reference=args.reference
        )
    except BadValueError as exc:
        raise BadValueError(f"{path}: {exc}") from None
    if args.output is None:
        result.to_csv(sys.stdout, index=False)
    else:
        _write_atomic(result, args.output)
        logger.info(
            "wrote %d visit(s) of %d subject(s) to %s",
            len(result),
            result["subject"].nunique(),
            args.output,
        )
    return 0
