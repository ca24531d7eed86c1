"""The one-visit sheet for a patient record: four overlays, the numbers, the model and the date.

:func:`visit_sheet` draws a scored visit (:class:`salt.results.VisitResult` from
:func:`salt.score_visit` with ``masks=True``) as one image: the 2x2 overlay sheet of
:func:`salt.io.overlay.contact_sheet` above a panel with SALT, band, AA-IGA, status,
each view's hair loss % and confidence, the model's name and SHA256, the salt version
and the date. :func:`write_sheet` saves it as PNG and PDF (Pillow). :func:`result_table`
is the same numbers as text, for a terminal.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from salt.io.atomic import atomic_write_bytes
from salt.quality import FLAG_NAMES
from salt.results import REVIEW_CONFIDENCE, VisitResult
from salt.review.report import confidence_text
from salt.views import VIEWS

__all__ = ["result_table", "visit_sheet", "write_sheet"]

_PANEL_LINE = 26  # pixels per text line of the panel
#: x and Pillow text anchor (left or right, top) of the panel table's columns
_COLUMNS = ((14, "la"), (240, "ra"), (360, "ra"), (390, "la"))


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, fmt)


def _view_notes(result: VisitResult, view: str) -> list[str]:
    """List what to look at in one view: low confidence, and the quality flags raised on it."""
    vr = result.views.get(view)
    if vr is None:
        return []
    notes = []
    if vr.confidence is not None and vr.confidence < REVIEW_CONFIDENCE:
        notes.append("review")
    notes += [name.replace("_", " ") for name in FLAG_NAMES if vr.flags.get(name)]
    return notes


def result_table(result: VisitResult) -> str:
    """Return the per-view % and SALT of a visit as a plain-text table.

    Parameters
    ----------
    result : VisitResult
        A scored visit.

    Returns
    -------
    str
        One line per view (hair loss %, confidence, and what to look at: "review" when
        the network is unsure, the quality flags such as "view mismatch"), then SALT,
        band, AA-IGA and status.
    """
    lines = [f"{'view':<6} {'hair loss %':>11} {'confidence':>10}  look at"]
    for v in VIEWS:
        vr = result.views.get(v)
        conf = None if vr is None else vr.confidence
        notes = ", ".join(_view_notes(result, v))
        lines.append(
            f"{v:<6} {_num(result.percents.get(v), '.1f'):>11} {confidence_text(conf):>10}  {notes}"
        )
    lines.append(
        f"SALT {_num(result.salt, '.1f')}   band {result.band or '-'}   "
        f"AA-IGA {'-' if result.aa_iga is None else result.aa_iga}   status {result.status}"
    )
    return "\n".join(lines)


def _panel_rows(result: VisitResult, when: datetime) -> list[list[str]]:
    """Rows of the sheet's panel: a table (view, %, confidence, note), then single lines."""
    import salt

    rows = [["view", "hair loss %", "confidence", ""]]
    for v in VIEWS:
        vr = result.views.get(v)
        conf = None if vr is None else vr.confidence
        note = ", ".join(_view_notes(result, v))
        rows.append([v, _num(result.percents.get(v), ".1f"), confidence_text(conf), note])
    rows.append(
        [
            f"SALT {_num(result.salt, '.1f')}   band {result.band or '-'}   "
            f"AA-IGA {'-' if result.aa_iga is None else result.aa_iga}   status {result.status}"
        ]
    )
    rows.append([f"model {result.model_name}, SHA256 {result.model_sha256[:16]}..."])
    rows.append([f"salt {salt.__version__}, scored {when.strftime('%Y-%m-%d %H:%M %Z').strip()}"])
    rows.append(["Measured by software: check the outlines (green scalp, red hairless)."])
    return rows


def visit_sheet(
    result: VisitResult,
    photos: Mapping[str, npt.NDArray[np.uint8]],
    *,
    when: datetime,
    title: str = "",
) -> npt.NDArray[np.uint8]:
    """Draw a scored visit as one image: the 2x2 overlays above the numbers.

    Parameters
    ----------
    result : VisitResult
        A scored visit whose views carry their class maps (``masks=True``).
    photos : Mapping[str, ndarray]
        The photos (H, W, 3) uint8 RGB, upright, by view.
    when : datetime
        Date printed on the sheet (give a time zone).
    title : str
        Written across the top (default: subject / visit).

    Returns
    -------
    ndarray of uint8, shape (H, 720, 3)
        RGB.
    """
    from PIL import Image, ImageDraw, ImageFont

    from salt.io.overlay import contact_sheet, draw_overlay

    tiles: dict[str, npt.NDArray[np.uint8] | None] = {}
    for v in VIEWS:
        vr, rgb = result.views.get(v), photos.get(v)
        if vr is None or vr.class_map is None or rgb is None:
            tiles[v] = None
            continue
        pct = result.percents.get(v)
        text = f"{v}: {pct:.1f} % hair loss" if pct is not None else f"{v}: no scalp found"
        tiles[v] = draw_overlay(rgb, vr.class_map, text)
    head = title or " / ".join(x for x in (result.subject, result.visit) if x) or "visit"
    sheet = contact_sheet(tiles, f"{head}   SALT {_num(result.salt, '.1f')}")
    rows = _panel_rows(result, when)
    panel = Image.new("RGB", (sheet.shape[1], 20 + _PANEL_LINE * len(rows)), "white")
    draw = ImageDraw.Draw(panel)
    font = ImageFont.load_default(size=18)
    bold = ImageFont.load_default(size=20)
    for i, cells in enumerate(rows):
        y = 10 + _PANEL_LINE * i
        if len(cells) == 1:
            draw.text(
                (14, y), cells[0], fill="black", font=bold if cells[0][:4] == "SALT" else font
            )
            continue
        for (x, anchor), cell in zip(_COLUMNS, cells, strict=True):
            colour = "#b00020" if cell and cells[3] and anchor != "la" else "black"
            draw.text((x, y), cell, fill=colour, font=font, anchor=anchor)
    return np.vstack([sheet, np.asarray(panel, np.uint8)])


def write_sheet(
    image: npt.NDArray[np.uint8], out: str | os.PathLike[str], *, pdf: bool = True
) -> list[Path]:
    """Save a sheet as ``sheet.png`` (and ``sheet.pdf``) in a folder, atomically.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        From :func:`visit_sheet`.
    out : path-like
        The folder (created).
    pdf : bool, default True
        Also write a one-page PDF.

    Returns
    -------
    list of Path
        The files written.
    """
    from PIL import Image

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.ascontiguousarray(image), "RGB")
    written = []
    for name, fmt, opts in (("sheet.png", "PNG", {}), ("sheet.pdf", "PDF", {"resolution": 150})):
        if fmt == "PDF" and not pdf:
            continue
        buf = io.BytesIO()
        img.save(buf, fmt, **opts)
        atomic_write_bytes(folder / name, buf.getvalue())
        written.append(folder / name)
    return written


def score_and_draw(
    photos: Mapping[str, str | os.PathLike[str]],
    *,
    model: Any = None,
    backend: str = "auto",
    device: str = "auto",
    subject: str = "",
    visit: str = "",
    when: datetime | None = None,
) -> tuple[VisitResult, npt.NDArray[np.uint8]]:
    """Score one visit from its four photo files and draw its sheet.

    Parameters
    ----------
    photos : Mapping[str, path]
        One photo file per view (names or aliases).
    model, backend, device
        As in :func:`salt.score_visit`.
    subject, visit : str
        Labels for the sheet.
    when : datetime, optional
        Date on the sheet (default: now, local time zone).

    Returns
    -------
    result : VisitResult
        The scored visit.
    image : ndarray of uint8
        The sheet (:func:`visit_sheet`).
    """
    from salt.inference.engine import score_visit
    from salt.io.photo import load_photo

    result = score_visit(
        photos,
        model=model,
        backend=backend,
        device=device,
        masks=True,
        subject=subject,
        visit=visit,
    )
    rgb = {v: load_photo(result.views[v].path, target_side=720).rgb for v in result.views}
    stamp = when or datetime.now().astimezone()
    return result, visit_sheet(result, rgb, when=stamp)
