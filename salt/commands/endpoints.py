"""``salt endpoints TABLE.csv -o OUT.csv``: SALT, band, AA-IGA and trial endpoints from a table.

The input has one row per visit with the columns ``subject``, ``week`` (or
``visit``) and the four per-view hair-loss percentages ``top``, ``back``,
``left``, ``right`` (0-100). Other columns are kept. The output adds ``salt``
(:func:`salt.salt_score`), ``band`` (:func:`salt.severity_band`), ``aa_iga``
(:func:`salt.aa_iga`) and the columns of :func:`salt.endpoints.endpoints`
(``baseline_time`` states the visit used as each subject's baseline).

The file is read by :func:`salt.trial.tables.read_table`, which detects the
encoding, delimiter and decimal mark (``sep=;`` lines, Windows-1252, trailing
commas, capitalised headers and blank rows included) and says what it found.
Visit labels are read with their units into weeks (``week-4``, ``Month 18``,
``day 10``: :func:`salt.trial.tables.visit_weeks`; the weeks are written to a
``visit_week`` column); subject IDs are NFC-normalised and trimmed, and IDs that
differ only in case are an error. Per-view values that look like fractions (no
value in the table above 1, or a row with all four in (0, 1]) are refused unless
declared with ``--view-scale fraction`` (or ``percent``). The output CSV is escaped
against formula injection (:mod:`salt.io.csvsafe`).

The ``visits.csv`` written by ``salt score`` is read too (columns ``top_pct``
.. ``right_pct`` and ``salt``): its ``salt`` column is used as scored, and
visits without a SALT (failed or flagged photos) keep empty endpoints.

Rows are named in messages by their line in the file.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from salt.errors import BadValueError, OutputError
from salt.io.csvsafe import csv_text, write_csv
from salt.scoring import aa_iga, salt_score, severity_band
from salt.trial.endpoints import endpoints
from salt.trial.tables import normalise_subjects, read_table, visit_weeks
from salt.views import VIEWS

__all__ = ["ENGINE_VIEW_COLUMNS", "VIEW_SCALES", "register", "run", "score_table"]

logger = logging.getLogger(__name__)

#: Per-view columns of the engine's visits.csv (``salt score``), read as an alternative input.
ENGINE_VIEW_COLUMNS: tuple[str, ...] = tuple(f"{v}_pct" for v in VIEWS)

#: How per-view values are given: checked (``auto``), declared percentages or 0-1 fractions.
VIEW_SCALES: tuple[str, ...] = ("auto", "percent", "fraction")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``endpoints`` sub-command to the ``salt`` parser."""
    parser = subparsers.add_parser(
        "endpoints",
        help="SALT, band, AA-IGA and trial endpoints from a CSV of per-view percentages",
        description=(
            "Read a CSV with columns subject, week (or visit), top, back, left, right "
            "(percent hair loss per view, 0-100) and write SALT, severity band, AA-IGA and "
            "the trial endpoints (change from baseline, SALT<=20/<=10, SALT50/75/90/100, "
            "relapse, eligibility). Delimiter, decimal mark and encoding are detected and "
            "reported; visit labels are read with their units (week 4, day 10, month 18)."
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
        help="week of the baseline visit (default: each subject's first visit)",
    )
    parser.add_argument(
        "--reference",
        type=float,
        default=None,
        help="week that relapse is measured from (default: the baseline visit)",
    )
    parser.add_argument(
        "--view-scale",
        choices=VIEW_SCALES,
        default="auto",
        help=(
            "per-view values are percentages 0-100 ('percent') or fractions 0-1 ('fraction', "
            "multiplied by 100); 'auto' (default) refuses rows that look like fractions"
        ),
    )
    parser.set_defaults(func=run)


def _liner(table: pd.DataFrame) -> Callable[[object], int]:
    """Line of a row in the file: the index of :func:`read_table`, else a 0-based row + 2."""
    if table.index.name == "line":
        return lambda i: int(i)  # type: ignore[call-overload]
    return lambda i: int(i) + 2  # type: ignore[call-overload]


def score_table(
    table: pd.DataFrame, *, source: str = "table", view_scale: str = "auto"
) -> pd.DataFrame:
    """Validate a per-view table and add ``salt``, ``band`` and ``aa_iga`` columns.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per visit with ``subject``, ``week`` or ``visit``, and ``top``,
        ``back``, ``left``, ``right`` (or the engine's ``top_pct`` .. and ``salt``),
        as read by :func:`salt.trial.tables.read_table` (index: line numbers) or
        with a default RangeIndex (row 0 is line 2).
    source : str, default "table"
        Name of the file, used in messages.
    view_scale : {"auto", "percent", "fraction"}, default "auto"
        ``auto``: a table whose values are all at most 1 (one above 0), or a row
        whose four values all lie in (0, 1], looks like fractions and is refused;
        ``percent``: take values as written; ``fraction``: values are 0-1 and are
        multiplied by 100.

    Returns
    -------
    pandas.DataFrame
        A copy with subject IDs normalised (NFC, trimmed), ``week`` as weeks (labels
        read with their units) or, with a ``visit`` column, a ``visit_week`` column;
        the view columns as float64 percentages, ``salt`` (float, percent of scalp),
        ``band`` (str, S0-S5) and ``aa_iga`` (int, 0-4).

    Raises
    ------
    BadValueError
        Naming the file, line and column of the first missing column, empty cell,
        non-numeric value, value outside its range, unreadable visit label, IDs
        differing only in case, repeated visit or fraction-like row.
    """
    if view_scale not in VIEW_SCALES:
        raise BadValueError(f"view_scale must be one of {list(VIEW_SCALES)}, got {view_scale!r}")
    line = _liner(table)
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
            raise BadValueError(f"{source}: line {line(first)}: column {column!r} is empty")
    out["subject"] = normalise_subjects(out["subject"].set_axis(_lines(out, line)), source=source)
    out["subject"] = out["subject"].to_numpy()
    weeks = visit_weeks(out[time].set_axis(_lines(out, line)), source=source, column=time)
    key = "week" if time == "week" else "visit_week"
    out[key] = weeks.to_numpy()
    repeated = out.duplicated(["subject", key], keep=False)
    if repeated.any():
        rows = out.index[repeated.to_numpy()]
        lines = [line(i) for i in rows]
        raise BadValueError(
            f"{source}: lines {lines[:5]}: subject {out.loc[rows[0], 'subject']!r} "
            f"has more than one row for the same {time}"
        )
    if engine:
        return _engine_scores(out, source, line)
    for view in VIEWS:
        out[view] = _view_values(out, view, source, line)
    _check_scale(out, source, line, view_scale)
    if view_scale == "fraction":
        out[list(VIEWS)] = out[list(VIEWS)] * 100.0
    out["salt"] = [salt_score({v: row[v] for v in VIEWS}) for _, row in out[list(VIEWS)].iterrows()]
    out["band"] = [severity_band(s) for s in out["salt"]]
    out["aa_iga"] = [aa_iga(s) for s in out["salt"]]
    return out


def _lines(table: pd.DataFrame, line: Callable[[object], int]) -> list[int]:
    return [line(i) for i in table.index]


def _view_values(
    out: pd.DataFrame, view: str, source: str, line: Callable[[object], int]
) -> pd.Series:
    raw = out[view]
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    for i in out.index[values.isna().to_numpy()]:
        what = "empty" if pd.isna(raw[i]) else f"{raw[i]!r}, not a number"
        raise BadValueError(f"{source}: line {line(i)}: column {view!r} is {what}")
    for i in out.index[(~values.between(0.0, 100.0)).to_numpy()]:
        raise BadValueError(
            f"{source}: line {line(i)}: column {view!r} is {values[i]:g}, "
            "outside the percentage range [0, 100]"
        )
    return values


def _check_scale(
    out: pd.DataFrame, source: str, line: Callable[[object], int], view_scale: str
) -> None:
    """Refuse fraction-like rows unless the scale is declared; check declared fractions."""
    views = out[list(VIEWS)]
    if view_scale == "fraction":
        over = (views > 1.0).any(axis=1)
        for i in out.index[over.to_numpy()]:
            raise BadValueError(
                f"{source}: line {line(i)}: values above 1 with --view-scale fraction "
                f"({', '.join(f'{v}={views.loc[i, v]:g}' for v in VIEWS)})"
            )
    elif view_scale == "auto":
        # a table whose values never exceed 1, or a row whose four views all lie in (0, 1]
        small = (views <= 1.0).all(axis=1)
        looks = small & (views > 0.0).all(axis=1)
        if small.all() and (views > 0.0).any().any():
            looks = small & (views > 0.0).any(axis=1)
        if looks.any():
            rows = out.index[looks.to_numpy()]
            lines = [line(i) for i in rows]
            first = ", ".join(f"{v}={views.loc[rows[0], v]:g}" for v in VIEWS)
            raise BadValueError(
                f"{source}: lines {lines[:8]}: views between 0 and 1 ({first}"
                "): these look like fractions (0.9 = 90 %); give percentages 0-100, or declare "
                "--view-scale fraction (or percent if they are really under 1 %)"
            )


def _engine_scores(out: pd.DataFrame, source: str, line: Callable[[object], int]) -> pd.DataFrame:
    """Check the ``salt`` column of the engine's visits.csv and recompute band and AA-IGA."""
    raw = out["salt"]
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    for i in out.index[(values.isna() & raw.notna()).to_numpy()]:
        raise BadValueError(f"{source}: line {line(i)}: column 'salt' is {raw[i]!r}, not a number")
    for i in out.index[(values.notna() & ~values.between(0.0, 100.0)).to_numpy()]:
        raise BadValueError(
            f"{source}: line {line(i)}: column 'salt' is {values[i]:g}, outside [0, 100]"
        )
    unscored = int(values.isna().sum())
    if unscored:
        logger.warning(
            "%s: %d visit(s) have no SALT; their endpoints are left empty", source, unscored
        )
    for view in ENGINE_VIEW_COLUMNS:
        out[view] = pd.to_numeric(out[view], errors="coerce").astype("float64")
    out["salt"] = values
    out["band"] = [None if math.isnan(v) else severity_band(v) for v in values]
    out["aa_iga"] = pd.array([pd.NA if math.isnan(v) else aa_iga(v) for v in values], dtype="Int64")
    return out


def _ensure_folder(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create folder {folder} ({exc.strerror})") from None


def run(args: argparse.Namespace) -> int:
    """Score the table named in ``args`` and write the endpoints; return the exit code."""
    path: Path = args.table
    table, fmt = read_table(path)
    level = logging.DEBUG if fmt.plain else logging.INFO
    logger.log(level, "read %s: %d row(s); %s", path, len(table), fmt.describe())
    scored = score_table(table, source=str(path), view_scale=getattr(args, "view_scale", "auto"))
    time = "week" if "week" in scored.columns else "visit_week"
    try:
        result = endpoints(
            scored, time=time, score="salt", baseline=args.baseline, reference=args.reference
        )
    except BadValueError as exc:
        raise BadValueError(f"{path}: {exc}") from None
    if args.baseline is None:
        logger.info("baseline: each subject's first visit (--baseline W to choose a week)")
    else:
        logger.info("baseline: week %g for every subject (column baseline_time)", args.baseline)
    if args.output is None:
        sys.stdout.write(csv_text(result))
    else:
        _ensure_folder(args.output)
        write_csv(args.output, result)
        logger.info(
            "wrote %d visit(s) of %d subject(s) to %s",
            len(result),
            result["subject"].nunique(),
            args.output,
        )
    return 0
