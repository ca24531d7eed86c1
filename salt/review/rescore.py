"""Re-score visits from masks a person corrected; keep those results across later model runs.

A correction is a class map (0 not scalp, 1 hair, 2 hairless, 255 unknown) for one
photo of an output folder, stored in ``OUT/corrections/``:

- ``masks/<subject>/<visit>/<view>.png``: the corrected mask (any size: a percentage
  does not depend on it);
- ``corrections.json``: per view, the photo's SHA256 it was drawn on, who corrected it
  and when, the file it came from and the model's % before the correction.

:func:`rescore` adds the masks of a labelled folder (:func:`salt.review.coco.import_coco`
writes one) to that store and applies the store: each corrected view's % is computed
from its mask by :func:`salt.classmap.view_percent` (the rule the engine uses), the other
views keep the model's %, and SALT, band and AA-IGA follow. The visit's status becomes
``corrected``; its ``message`` says which views, by whom and when, and the model's
SALT; ``corrections.csv`` lists every corrected view with the model's % and the
corrected %. Corrected overlays are drawn beside the model's (``<view>-corrected.jpg``,
``sheet-corrected.jpg``).

**Corrections are never overwritten by a model run**: ``salt score`` applies the stored
corrections again after every run into the same folder (:func:`apply_corrections`), as
long as the photo is unchanged (same SHA256); a correction of a photo that was replaced
is reported and left out.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from salt.classmap import view_percent, view_pixels
from salt.errors import InputFileError, OutputError
from salt.io.atomic import atomic_write_bytes, atomic_write_text
from salt.io.csvsafe import write_csv
from salt.io.outputs import Journal, OutputLock, tables_from_entries, write_tables
from salt.io.photo import load_mask
from salt.scoring import aa_iga, salt_score, severity_band
from salt.views import VIEWS

__all__ = [
    "CORRECTIONS_DIR",
    "CORRECTION_COLUMNS",
    "add_corrections",
    "apply_corrections",
    "rescore",
]

log = logging.getLogger(__name__)

CORRECTIONS_DIR = "corrections"
_STORE = "corrections.json"
#: Columns of ``OUT/corrections.csv``.
CORRECTION_COLUMNS: tuple[str, ...] = (
    "subject",
    "visit",
    "view",
    "model_loss_pct",
    "corrected_loss_pct",
    "by",
    "at",
    "source",
    "mask",
)
#: Visit statuses a correction may change: all four views were read.
_CORRECTABLE = ("ok", "needs_review", "corrected", "flagged", "failed")


def _store_path(out: Path) -> Path:
    return out / CORRECTIONS_DIR / _STORE


def _read_store(out: Path) -> dict[str, dict[str, Any]]:
    path = _store_path(out)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{path} must hold a JSON object of corrections")
    return data


def _write_store(out: Path, store: Mapping[str, Any]) -> None:
    _store_path(out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(_store_path(out), json.dumps(store, indent=2, sort_keys=True) + "\n")


def add_corrections(
    out: str | os.PathLike[str],
    labelled: str | os.PathLike[str],
    *,
    by: str | None = None,
    at: str | None = None,
) -> list[str]:
    """Copy the masks of a labelled folder into an output folder's corrections.

    A mask is taken for a photo of the output folder when its labelled photo
    (``photos/<subject>/<visit>/<view>.<ext>``) has the same SHA256 as the photo that
    was scored (``views.csv``). A mask equal to the one exported for that photo
    (``OUT/review-coco.json`` of ``salt export-annotations``, painted the same way) was
    not edited: it is not recorded as a correction. Does not lock or re-score: see
    :func:`rescore`.

    Parameters
    ----------
    out : path-like
        An output folder of ``salt score``.
    labelled : path-like
        A labelled folder (``photos/`` and ``masks/``; :func:`salt.io.folders.labelled_photos`).
    by, at : str, optional
        Who corrected the masks and when; default: the folder's ``annotations.json``
        (written by ``salt import-annotations``), else unknown and now.

    Returns
    -------
    list of str
        The views added, as ``"subject/visit/view"``.

    Raises
    ------
    InputFileError
        If the labelled folder has no masks, or none of its photos is in the output folder.
    """
    from salt.io.folders import labelled_photos
    from salt.io.outputs import visit_folder
    from salt.io.storage import sha256
    from salt.review.coco import provenance
    from salt.review.report import read_table

    folder, src = Path(out), Path(labelled)
    views = read_table(folder / "views.csv")
    # labelled folders name visits as path parts (salt.io.outputs.visit_folder)
    scored = {
        (visit_folder(str(r["subject"]), str(r["visit"])), str(r["view"])): r
        for r in views.to_dict("records")
    }
    who = provenance(src)
    store = _read_store(folder)
    exported = _exported_masks(folder)
    added, foreign, unchanged = [], [], []
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for item in labelled_photos(src):
        if item.mask is None or item.view is None or len(item.parts) < 2:
            continue
        key = ("/".join(item.parts[-2:]), item.view)
        row = scored.get(key)
        if row is None or str(row["sha256"]) != sha256(item.photo):
            foreign.append(str(item.photo))
            continue
        mask = load_mask(item.mask)  # a bad mask fails here, naming the file
        reference = exported.get((key[0], key[1], str(row["sha256"])))
        if reference is not None and np.array_equal(reference, mask):
            unchanged.append(f"{key[0]}/{key[1]}")
            continue
        rel = Path(CORRECTIONS_DIR) / "masks" / key[0] / f"{key[1]}.png"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / rel, item.mask.read_bytes())
        name = f"{key[0]}/{key[1]}"
        store[name] = _record(row, rel, who.get(name, {}), src, by, at or None, now)
        added.append(name)
    if foreign:
        log.warning(
            "%d photos of %s are not photos of %s (other file or SHA256) and were skipped, e.g. %s",
            len(foreign),
            src,
            folder,
            foreign[0],
        )
    if unchanged:
        log.info(
            "%d masks equal the exported ones (not edited), not recorded as corrections: %s",
            len(unchanged),
            ", ".join(unchanged),
        )
    if not added and unchanged:
        log.warning("no mask of %s differs from the exported masks: nothing was corrected", src)
        return []
    if not added:
        raise InputFileError(
            f"no mask of {src} belongs to a photo scored in {folder}: the labelled photos must "
            "be copies of the scored ones, at photos/<subject>/<visit>/<view>.<ext>"
        )
    _write_store(folder, store)
    return added


def _exported_masks(out: Path) -> dict[tuple[str, str, str], npt.NDArray[np.uint8]]:
    """Class maps of ``OUT/review-coco.json``, keyed by (visit folder, view, photo SHA256).

    Empty when the folder has no export (the masks then all count as corrections).
    """
    from salt.io.outputs import visit_folder
    from salt.review.coco import class_map_from_coco, image_key, load_coco

    path = out / "review-coco.json"
    if not path.is_file():
        return {}
    coco = load_coco(path)
    masks = {}
    for image_id, img in coco.imgs.items():
        subject, visit, view = image_key(img, str(path))
        key = (visit_folder(subject, visit), view, str(img.get("salt_sha256", "")))
        masks[key] = class_map_from_coco(coco, image_id, str(path))
    return masks


def _record(
    row: Mapping[str, Any],
    mask: Path,
    imported: Mapping[str, Any],
    src: Path,
    by: str | None,
    at: str | None,
    now: str,
) -> dict[str, Any]:
    """Return the stored record of one corrected view (who and when: arguments, else import)."""
    return {
        "subject": str(row["subject"]),
        "visit": str(row["visit"]),
        "view": str(row["view"]),
        "sha256": str(row["sha256"]),
        "mask": mask.as_posix(),
        "by": by if by is not None else str(imported.get("by", "")),
        "at": at or str(imported.get("date") or imported.get("imported") or now),
        "source": str(imported.get("source") or src.resolve()),
        "added": now,
    }


def _fmt(value: Any) -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return "none"
    return "none" if math.isnan(f) else f"{f:.1f}"


def _apply_view(out: Path, row: dict[str, Any], rec: dict[str, Any]) -> bool:
    """Put a corrected mask's measurement into a view row; False when it has no scalp."""
    cmap = load_mask(out / rec["mask"])
    pct = view_percent(cmap)
    if pct is None:
        log.warning("%s shows no scalp: correction left out", out / rec["mask"])
        return False
    if not row.get("corrected"):
        row["model_loss_pct"] = row.get("loss_pct")
    rec["model_loss_pct"] = row.get("model_loss_pct")
    scalp, bald = view_pixels(cmap)
    row.update(
        loss_pct=pct,
        confidence=math.nan,
        scalp_pixels=scalp,
        hairless_pixels=bald,
        mask_pixels=int(cmap.size),
        corrected=True,
    )
    rec["corrected_loss_pct"] = pct
    return True


def _apply_visit(out: Path, entry: dict[str, Any], recs: dict[str, dict[str, Any]]) -> list[str]:
    """Re-score one journal entry from its corrections; return the views corrected."""
    visit = entry["visit"]
    rows = {str(r["view"]): r for r in entry["views"]}
    name = f"{visit['subject']}/{visit['visit']}"
    if visit.get("status") not in _CORRECTABLE or set(rows) != set(VIEWS):
        log.warning("visit %s (status %s) cannot be re-scored", name, visit.get("status"))
        return []
    done = []
    saved = copy.deepcopy(entry["views"])
    for view, rec in recs.items():
        if rows[view].get("sha256") != rec["sha256"]:
            log.warning(
                "photo %s changed since it was corrected: correction left out", rows[view]["path"]
            )
        elif _apply_view(out, rows[view], rec):
            done.append(view)
    pcts = {v: r.get("loss_pct") for v, r in rows.items()}
    if not done or any(
        p is None or (isinstance(p, float) and math.isnan(p)) for p in pcts.values()
    ):
        entry["views"] = saved  # a view still has no measurement: leave the visit as it was
        if done:
            log.warning("visit %s: a view without scalp is not corrected; left as scored", name)
        return []
    if visit.get("status") != "corrected":
        visit["model_salt"] = visit.get("salt")
        visit["model_status"] = visit.get("status")
    salt = salt_score({v: float(p) for v, p in pcts.items()})
    fixed = [v for v in VIEWS if rows[v].get("corrected")]
    who = sorted({f"by {r['by']}" if r["by"] else "by ?" for r in recs.values()})
    when = sorted({str(r["at"]) for r in recs.values()})
    visit.update(
        {f"{v}_pct": float(pcts[v]) for v in VIEWS},
        salt=salt,
        band=severity_band(salt),
        aa_iga=aa_iga(salt),
        status="corrected",
        message=f"corrected {', '.join(fixed)} ({', '.join(who)}, "
        f"{', '.join(when)}); model SALT {_fmt(visit.get('model_salt'))} "
        f"({visit.get('model_status')})",
    )
    entry["errors"] = [
        e
        for e in entry["errors"]
        if not (e.get("error_type") in ("EmptyScalpError", "QualityFlag") and e.get("view") in done)
    ]
    _draw(out, entry, recs)
    return done


def _draw(out: Path, entry: dict[str, Any], recs: Mapping[str, Mapping[str, Any]]) -> None:
    """Draw the corrected views' overlays and the visit's corrected sheet."""
    import cv2

    from salt.io.outputs import visit_folder
    from salt.io.overlay import contact_sheet, draw_overlay, encode_jpeg
    from salt.io.photo import load_photo

    visit = entry["visit"]
    base = Path("overlays") / visit_folder(str(visit["subject"]), str(visit["visit"]))
    tiles: dict[str, Any] = {}
    for row in entry["views"]:
        view = str(row["view"])
        img: Any = None
        try:
            if row.get("corrected"):
                side = min(int(row["decoded_width"]), int(row["decoded_height"]))
                photo = load_photo(row["path"], target_side=side, min_side=1)
                mask = load_mask(out / recs[view]["mask"])
                img = draw_overlay(photo.rgb, mask, f"{view}: {row['loss_pct']:.1f} % (corrected)")
                rel = (base / f"{view}-corrected.jpg").as_posix()
                (out / base).mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(out / rel, encode_jpeg(img), fsync=False)
                row["overlay"] = rel
            elif row.get("overlay"):
                bgr = cv2.imread(str(out / row["overlay"]))
                img = None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        except (OSError, ValueError, InputFileError) as exc:
            log.warning("no corrected overlay for %s: %s", row.get("path"), exc)
            img = None
        tiles[view] = img
    if any(t is not None for t in tiles.values()):
        title = f"{visit['subject']} / {visit['visit']}   SALT {visit['salt']:.1f} (corrected)"
        sheet = contact_sheet(tiles, title)
        (out / base).mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out / base / "sheet-corrected.jpg", encode_jpeg(sheet, 85), fsync=False)


def apply_corrections(out: str | os.PathLike[str]) -> pd.DataFrame | None:
    """Apply an output folder's stored corrections to its journal and tables.

    Called by ``salt score`` at the end of every run into the folder (which holds its
    lock) and by :func:`rescore`; does not lock.

    Parameters
    ----------
    out : path-like
        An output folder of ``salt score``.

    Returns
    -------
    pandas.DataFrame or None
        The new visits table, or None when the folder has no corrections.

    Raises
    ------
    InputFileError
        If the store or a corrected mask cannot be read.
    """
    folder = Path(out)
    store = _read_store(folder)
    if not store:
        return None
    journal = Journal(folder)
    entries = journal.read()
    if not entries:  # the tables are written from the journal: never replace them by nothing
        raise InputFileError(
            f"{journal.path} is missing or empty: re-score {folder} with `salt score` (it keeps "
            "the corrections) before re-scoring from corrected masks"
        )
    by_visit: dict[str, dict[str, dict[str, Any]]] = {}
    for rec in store.values():
        by_visit.setdefault(f"{rec['subject']}/{rec['visit']}", {})[rec["view"]] = rec
    applied: list[dict[str, Any]] = []
    for visit_id, recs in sorted(by_visit.items()):
        entry = entries.get(visit_id)
        if entry is None:
            log.warning("corrected visit %s is not in %s: left out", visit_id, folder)
            continue
        applied.extend(recs[v] for v in _apply_visit(folder, entry, recs))
    journal.rewrite(entries.values())
    visits, views, errors = tables_from_entries(entries.values())
    write_tables(folder, visits, views, errors)
    table = pd.DataFrame(
        [{c: r.get(c, "") for c in CORRECTION_COLUMNS} for r in applied],
        columns=list(CORRECTION_COLUMNS),
    )
    write_csv(folder / "corrections.csv", table)
    _write_store(folder, store)
    log.info("%d corrected views applied in %s", len(applied), folder)
    return visits


def rescore(
    out: str | os.PathLike[str],
    *,
    labelled: str | os.PathLike[str] | None = None,
    by: str | None = None,
    at: str | None = None,
    report: bool = True,
) -> pd.DataFrame:
    """Re-score the visits of an output folder that have corrected masks.

    Parameters
    ----------
    out : path-like
        An output folder of ``salt score``.
    labelled : path-like, optional
        A labelled folder whose masks correct photos of ``out`` (e.g. written by ``salt
        import-annotations``); they are added to ``out``'s corrections first
        (:func:`add_corrections`). Without it the stored corrections are applied again.
    by, at : str, optional
        Who corrected the masks and when (see :func:`add_corrections`).
    report : bool, default True
        Write ``report.html`` again.

    Returns
    -------
    pandas.DataFrame
        The visits table (corrected visits have status ``corrected``).

    Raises
    ------
    OutputError
        If another run holds the folder, or it has no corrections.
    InputFileError
        If the folder's tables, the labelled folder or a mask cannot be read.
    """
    folder = Path(out)
    if not (folder / "visits.csv").is_file():
        raise InputFileError(
            f"{folder} has no visits.csv: run `salt score PHOTOS -o {folder}` first"
        )
    with OutputLock(folder):
        if labelled is not None:
            add_corrections(folder, labelled, by=by, at=at)
        visits = apply_corrections(folder)
        if visits is None:
            raise OutputError(
                f"{folder} has no corrected masks: pass a labelled folder (salt rescore OUT "
                "--from LABELLED)"
            )
        if report:
            from salt.review.report import write_report

            write_report(folder)
    return visits


def remove_corrections(out: str | os.PathLike[str]) -> None:
    """Delete an output folder's stored corrections (the next ``salt score`` run drops them)."""
    shutil.rmtree(Path(out) / CORRECTIONS_DIR, ignore_errors=True)
