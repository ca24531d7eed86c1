"""``report.html``: one self-contained page to review a whole output folder in a browser.

The page is rendered from the folder's tables (``visits.csv``, ``views.csv``,
``run.json`` and, after corrections, ``corrections.csv``) with the Jinja2 template
``templates/report.html.j2``. It needs no network and no server: styles, the table
sorter and the SALT-over-time plots (inline SVG) are in the file, and the overlay
images are referenced by relative paths with ``loading="lazy"``, so the folder can
be zipped and mailed, and 1,000 visits open at once.

What it shows: a summary (visits scored, failed, flagged, needing review; model,
SHA256, backend, run time), a sortable visit table (views needing review first),
each visit's 2x2 sheet with the per-view %, confidence and flags, one SALT-over-time
plot per subject with several scored visits (SALT <= 20 and >= 50 lines), and links
to the CSV files.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from salt.errors import InputFileError
from salt.io.atomic import atomic_write_text
from salt.io.csvsafe import unescape_cell
from salt.io.folders import natural_key
from salt.results import REVIEW_CONFIDENCE
from salt.views import VIEWS

__all__ = ["REPORT_NAME", "STATUS_ORDER", "report_context", "write_report"]

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"

#: Default order of the visit table: what to look at first (unknown statuses go last).
STATUS_ORDER: tuple[str, ...] = (
    "needs_review",
    "failed",
    "flagged",
    "duplicate",
    "same_photo",
    "incomplete",
    "partial",
    "corrected",
    "ok",
)

#: Statuses counted as "failed" in the summary (no SALT because of the input).
_FAILED = ("failed", "duplicate", "same_photo", "incomplete")

# SALT-over-time plot geometry (SVG user units)
_PW, _PH, _ML, _MR, _MT, _MB = 300, 170, 34, 10, 10, 34


@dataclass
class ViewRow:
    """One view of a visit as shown in the report."""

    view: str
    pct: str
    confidence: str
    low_confidence: bool
    flags: list[str]
    overlay: str | None


@dataclass
class VisitRow:
    """One visit as shown in the report."""

    anchor: str
    subject: str
    visit: str
    salt: float | None
    band: str
    aa_iga: str
    status: str
    order: int
    min_confidence: float | None
    min_confidence_text: str
    flags: list[str]
    message: str
    sheet: str | None
    sheet_size: tuple[int, int]
    views: list[ViewRow] = field(default_factory=list)

    @property
    def salt_text(self) -> str:
        """SALT to one decimal, or an en dash when there is none."""
        return "–" if self.salt is None else f"{self.salt:.1f}"


def confidence_text(value: float | None) -> str:
    """Format a confidence to two decimals, rounded down: 0.598 shows 0.59, below a 0.6 cut-off.

    Examples
    --------
    >>> confidence_text(0.598), confidence_text(0.29), confidence_text(None)
    ('0.59', '0.29', '–')
    """
    if value is None:
        return "–"
    return f"{math.floor(value * 100 + 1e-9) / 100:.2f}"  # 1e-9: 0.29 * 100 is 28.999...


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def read_table(path: Path, required: bool = True) -> pd.DataFrame:
    """Read a CSV table of an output folder (formula escaping undone); empty if optional."""
    if not path.is_file():
        if required:
            raise InputFileError(
                f"{path} is missing: {path.parent} is not a finished salt score output folder "
                "(run `salt score PHOTOS -o OUT` first)"
            )
        return pd.DataFrame()
    try:
        df = pd.read_csv(path, dtype={"subject": str, "visit": str, "status": str})
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read {path}: {exc}") from None
    for col in df.columns:  # undo the CSV formula escaping of text cells
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].map(unescape_cell)
    return df


def _files(out: Path, sub: str = "overlays") -> frozenset[str]:
    """Return the files under ``out/sub`` as POSIX paths relative to ``out`` (one walk)."""
    found: set[str] = set()
    for dirpath, _, names in os.walk(out / sub):
        rel = Path(dirpath).relative_to(out).as_posix()
        found.update(f"{rel}/{n}" for n in names)
    return frozenset(found)


def _href(files: frozenset[str], rel: str) -> str | None:
    """URL-quoted relative link to ``rel`` when that file is in ``files``."""
    if not rel or rel not in files:
        return None
    return quote(rel)


def _view_flags(row: Mapping[str, Any]) -> list[str]:
    names = []
    for key, value in row.items():
        if str(key).startswith("q_") and key != "q_flagged" and value is True:
            names.append(str(key)[2:].replace("_", " "))
    return names


def _view_rows(files: frozenset[str], rows: Sequence[Mapping[str, Any]]) -> list[ViewRow]:
    order = {v: i for i, v in enumerate(VIEWS)}
    shown = []
    for row in sorted(rows, key=lambda r: order.get(str(r["view"]), 9)):
        pct, conf = _float(row.get("loss_pct")), _float(row.get("confidence"))
        shown.append(
            ViewRow(
                view=str(row["view"]),
                pct="–" if pct is None else f"{pct:.1f}",
                confidence=confidence_text(conf),
                low_confidence=conf is not None and conf < REVIEW_CONFIDENCE,
                flags=_view_flags(row),
                overlay=_href(files, _text(row.get("overlay"))),
            )
        )
    return shown


def _sheet(files: frozenset[str], subject: str, visit: str, status: str) -> str | None:
    from salt.io.outputs import visit_folder

    base = f"overlays/{visit_folder(subject, visit)}"
    if status == "corrected":
        corrected = _href(files, f"{base}/sheet-corrected.jpg")
        if corrected:
            return corrected
    return _href(files, f"{base}/sheet.jpg")


def _visit_rows(out: Path, visits: pd.DataFrame, views: pd.DataFrame) -> list[VisitRow]:
    files = _files(out)
    by_visit: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in views.to_dict("records") if len(views) else []:
        by_visit.setdefault((str(rec["subject"]), str(rec["visit"])), []).append(rec)
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    rows = []
    for i, rec in enumerate(visits.to_dict("records")):
        subject, visit, status = _text(rec["subject"]), _text(rec["visit"]), _text(rec["status"])
        vrows = by_visit.get((subject, visit), [])
        confs = [c for c in (_float(r.get("confidence")) for r in vrows) if c is not None]
        views = _view_rows(files, vrows)
        iga = _float(rec.get("aa_iga"))
        rows.append(
            VisitRow(
                anchor=f"v{i}",
                subject=subject,
                visit=visit,
                salt=_float(rec.get("salt")),
                band=_text(rec.get("band")),
                aa_iga="" if iga is None else str(int(iga)),
                status=status,
                order=rank.get(status, len(rank)),
                min_confidence=min(confs) if confs else None,
                min_confidence_text=confidence_text(min(confs)) if confs else "",
                flags=[f"{v.view}: {f}" for v in views for f in v.flags],
                message=_text(rec.get("message")),
                sheet=_sheet(files, subject, visit, status),
                sheet_size=(720, 760),
                views=views,
            )
        )
    rows.sort(key=lambda r: (r.order, natural_key(r.subject), natural_key(r.visit)))
    return rows


def _plot(subject: str, points: Sequence[VisitRow]) -> dict[str, Any]:
    """Coordinates of one subject's SALT-over-time plot (visits evenly spaced, in order)."""
    n = len(points)
    inner_w, inner_h = _PW - _ML - _MR, _PH - _MT - _MB

    def x(i: int) -> float:
        return round(_ML + (inner_w * (i + 0.5) / n), 1)

    def y(s: float) -> float:
        return round(_MT + inner_h * (1 - s / 100), 1)

    pts = [
        {
            "x": x(i),
            "y": y(p.salt if p.salt is not None else 0.0),
            "label": p.visit,
            "salt": p.salt_text,
            "status": p.status,
            "anchor": p.anchor,
        }
        for i, p in enumerate(points)
    ]
    return {
        "subject": subject,
        "width": _PW,
        "height": _PH,
        "left": _ML,
        "right": _PW - _MR,
        "top": _MT,
        "bottom": _PH - _MB,
        "y20": y(20),
        "y50": y(50),
        "ticks": [{"v": v, "y": y(v)} for v in (0, 25, 50, 75, 100)],
        "points": pts,
        "path": " ".join(f"{'M' if i == 0 else 'L'}{p['x']},{p['y']}" for i, p in enumerate(pts)),
    }


def _plots(rows: Sequence[VisitRow]) -> list[dict[str, Any]]:
    by_subject: dict[str, list[VisitRow]] = {}
    for r in rows:
        if r.salt is not None:
            by_subject.setdefault(r.subject, []).append(r)
    plots = []
    for subject in sorted(by_subject, key=natural_key):
        pts = sorted(by_subject[subject], key=lambda r: natural_key(r.visit))
        if len(pts) >= 2:
            plots.append(_plot(subject, pts))
    return plots


def run_info(out: Path) -> dict[str, Any]:
    """Read ``run.json`` of an output folder (empty when there is none)."""
    path = out / "run.json"
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read {path}: {exc}") from None
    return info if isinstance(info, dict) else {}


def _summary(rows: Sequence[VisitRow], run: Mapping[str, Any]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    model = run.get("model") or {}
    backend = run.get("backend") or {}
    seconds = _float(run.get("seconds"))
    return {
        "visits": len(rows),
        "scored": sum(r.salt is not None for r in rows),
        "failed": sum(counts.get(s, 0) for s in _FAILED),
        "flagged": counts.get("flagged", 0) + sum(bool(r.flags) for r in rows),
        "needs_review": counts.get("needs_review", 0),
        "corrected": counts.get("corrected", 0),
        "counts": dict(
            sorted(
                counts.items(),
                key=lambda kv: STATUS_ORDER.index(kv[0]) if kv[0] in STATUS_ORDER else 99,
            )
        ),
        "model_name": model.get("name", ""),
        "model_sha256": model.get("sha256", ""),
        "backend": backend.get("name", ""),
        "device": backend.get("device", ""),
        "started": run.get("started", ""),
        "finished": run.get("finished", ""),
        "seconds": "" if seconds is None else f"{seconds:.1f}",
        "salt_version": run.get("salt_version", ""),
    }


def report_context(out: str | os.PathLike[str]) -> dict[str, Any]:
    """Collect what ``report.html`` shows from an output folder.

    Parameters
    ----------
    out : path-like
        An output folder of ``salt score`` (holding ``visits.csv`` and ``views.csv``).

    Returns
    -------
    dict
        ``summary``, ``visits`` (list of :class:`VisitRow`, views needing review
        first), ``plots`` (one per subject with two or more scored visits), ``links``
        (the tables present) and ``review_confidence``.

    Raises
    ------
    InputFileError
        If ``visits.csv`` or ``views.csv`` is missing or unreadable.
    """
    folder = Path(out)
    visits = read_table(folder / "visits.csv")
    views = read_table(folder / "views.csv")
    for col in ("subject", "visit", "status"):
        if col not in visits.columns:
            raise InputFileError(f"{folder / 'visits.csv'} has no {col!r} column")
    rows = _visit_rows(folder, visits, views)
    run = run_info(folder)
    names = (
        "visits.csv",
        "views.csv",
        "errors.csv",
        "skipped.csv",
        "corrections.csv",
        "visits.parquet",
        "run.json",
    )
    return {
        "title": f"salt report: {folder.resolve().name}",
        "summary": _summary(rows, run),
        "visits": rows,
        "plots": _plots(rows),
        "links": [n for n in names if (folder / n).is_file()],
        "review_confidence": REVIEW_CONFIDENCE,
        "views": VIEWS,
    }


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("salt.review", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_report(context: Mapping[str, Any]) -> str:
    """Render ``report.html`` from :func:`report_context` (Jinja2 template ``report.html.j2``)."""
    return str(_environment().get_template("report.html.j2").render(**context))


def write_report(out: str | os.PathLike[str]) -> Path:
    """Write ``OUT/report.html``, the review page of an output folder (atomically).

    Parameters
    ----------
    out : path-like
        An output folder of ``salt score``.

    Returns
    -------
    Path
        The report's path.

    Raises
    ------
    InputFileError
        If the folder lacks its tables (see :func:`report_context`).

    Examples
    --------
    >>> import salt
    >>> salt.report("OUT")  # doctest: +SKIP
    PosixPath('OUT/report.html')
    """
    folder = Path(out)
    path = folder / REPORT_NAME
    atomic_write_text(path, render_report(report_context(folder)))
    log.info("wrote %s", path)
    return path
