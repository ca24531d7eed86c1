"""Masks out to annotation tools and back: COCO polygons (CVAT, Label Studio) <-> class maps.

:func:`export_coco` writes the masks of chosen visits of an output folder (for example
those with status ``needs_review``) as a COCO instance file. Each photo is one COCO
image (``file_name`` relative to the photo folder, ``width`` x ``height`` the upright
photo at full resolution); its class map becomes polygons of three categories:

=============  ===========================================================================
category       region
=============  ===========================================================================
``scalp``      all scalp (hair and hairless), outer outlines
``hairless``   hairless scalp, outer outlines
``hair``       islands of hair inside a hairless patch (holes of ``hairless``)
=============  ===========================================================================

:func:`import_coco` reads a COCO file (as edited and exported by CVAT or Label Studio)
with ``pycocotools`` and paints each photo's class map in that order: scalp (1), then
hairless (2), then hair (1); everything else is not scalp (0). It writes the labelled
folder layout of ``salt finetune`` and ``salt evaluate --data``
(:func:`salt.io.folders.labelled_photos`): ``LABELLED/photos/<subject>/<visit>/<view>.<ext>``
(a byte copy of the photo) and ``LABELLED/masks/<subject>/<visit>/<view>.png``, plus
``LABELLED/annotations.json`` (who corrected what, when, from which file).

Polygons cannot carry holes in the scalp, or hairless patches inside hair islands
inside hairless patches: those are filled by the export. Outlines follow pixel
centres of the mask upsampled four times, so a round trip without edits gives the mask
back (at the photo's size, up to the rounding of a resize at the boundary).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pandas as pd

from salt.classmap import HAIR, HAIRLESS, NOT_SCALP
from salt.errors import BadValueError, InputFileError
from salt.io.atomic import atomic_write_bytes, atomic_write_text
from salt.io.folders import parse_flat_name
from salt.io.photo import load_mask
from salt.views import VIEW_ALIASES

__all__ = [
    "CATEGORIES",
    "PROVENANCE_NAME",
    "class_map_from_coco",
    "export_coco",
    "image_key",
    "import_coco",
    "load_coco",
    "polygons_from_class_map",
]

log = logging.getLogger(__name__)

#: COCO categories of an export, in the order they are painted on import.
CATEGORIES: tuple[dict[str, Any], ...] = (
    {"id": 1, "name": "scalp", "supercategory": "head"},
    {"id": 2, "name": "hairless", "supercategory": "head"},
    {"id": 3, "name": "hair", "supercategory": "head"},
)
#: Class painted for each category name (aliases accepted on import), and the paint order.
_PAINT: Mapping[str, tuple[int, int]] = {
    "scalp": (HAIR, 0),
    "hairless": (HAIRLESS, 1),
    "bald": (HAIRLESS, 1),
    "hair": (HAIR, 2),
}
#: Outlines are traced on the mask upsampled this many times (see :func:`_polygon`).
_UP = 4
#: Provenance of the corrections of a labelled folder.
PROVENANCE_NAME = "annotations.json"


def _coco_mask() -> Any:
    try:
        from pycocotools import mask
    except ImportError:
        raise BadValueError(
            "COCO annotations need pycocotools: pip install 'salt[annotations]'"
        ) from None
    return mask


def _contours(mask: npt.NDArray[np.bool_]) -> tuple[list[Any], list[Any]]:
    """Outer outlines and hole outlines of a binary mask (cv2, two-level hierarchy)."""
    found, hier = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    outer: list[Any] = []
    holes: list[Any] = []
    for c, h in zip(found, hier[0] if hier is not None else [], strict=False):
        (holes if h[3] >= 0 else outer).append(c)
    return outer, holes


def _polygon(contour: Any, sx: float, sy: float) -> list[float] | None:
    """COCO polygon (x1, y1, ...) of a contour of the upsampled mask, scaled to the photo."""
    pts = contour.reshape(-1, 2).astype(np.float64)
    if len(pts) < 3:  # a line or a point: widen to a square of one upsampled pixel
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0) + 1
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64) - 0.5
    # centres of the upsampled boundary pixels lie 0.5 / _UP of a mask pixel inside the
    # region's pixel edges, so every boundary pixel's centre is inside the polygon
    xy = np.column_stack(((pts[:, 0] + 0.5) / _UP * sx, (pts[:, 1] + 0.5) / _UP * sy))
    return [round(float(v), 2) for v in xy.ravel()]


def polygons_from_class_map(
    class_map: npt.NDArray[np.uint8], size: tuple[int, int]
) -> dict[str, list[list[float]]]:
    """Polygons of a class map, by category, in the coordinates of a photo of ``size``.

    Parameters
    ----------
    class_map : ndarray of uint8, shape (h, w)
        0 not scalp, 1 hair, 2 hairless, 255 unknown (exported as not scalp).
    size : tuple of int
        ``(width, height)`` of the photo the polygons are drawn on.

    Returns
    -------
    dict
        Category name (``scalp``, ``hairless``, ``hair``) -> list of polygons, each a flat
        list ``[x1, y1, x2, y2, ...]`` in photo pixels (COCO convention: pixel ``i``
        spans ``[i, i + 1]``).
    """
    h, w = np.asarray(class_map).shape
    sx, sy = size[0] / w, size[1] / h
    cmap = np.kron(np.asarray(class_map, np.uint8), np.ones((_UP, _UP), np.uint8))
    scalp = (cmap == HAIR) | (cmap == HAIRLESS)
    bald = cmap == HAIRLESS
    out: dict[str, list[list[float]]] = {"scalp": [], "hairless": [], "hair": []}
    outer, _ = _contours(scalp)
    out["scalp"] = [p for c in outer if (p := _polygon(c, sx, sy))]
    outer, holes = _contours(bald)
    out["hairless"] = [p for c in outer if (p := _polygon(c, sx, sy))]
    for c in holes:  # a hole of a hairless patch is hair only where the map says hair
        island = np.zeros_like(scalp)
        cv2.drawContours(island.view(np.uint8), [c], -1, 1, -1)
        island &= cmap == HAIR
        inner, _ = _contours(island)
        out["hair"] += [p for ci in inner if (p := _polygon(ci, sx, sy))]
    return out


def _annotations(
    polygons: Mapping[str, Sequence[Sequence[float]]], image_id: int, size: tuple[int, int]
) -> list[dict[str, Any]]:
    mask_api = _coco_mask()
    ids = {c["name"]: c["id"] for c in CATEGORIES}
    anns = []
    for name, polys in polygons.items():
        for poly in polys:
            rle = mask_api.frPyObjects([list(poly)], size[1], size[0])
            anns.append(
                {
                    "image_id": image_id,
                    "category_id": ids[name],
                    "segmentation": [list(poly)],
                    "area": float(mask_api.area(rle).sum()),
                    "bbox": [round(float(v), 2) for v in mask_api.toBbox(rle)[0]],
                    "iscrowd": 0,
                }
            )
    return anns


def _photo_name(path: str, root: str | None, subject: str, visit: str) -> str:
    """``file_name`` of a photo: relative to the photo folder when it lies inside it."""
    p = Path(path)
    if root:
        with contextlib.suppress(ValueError):
            return p.resolve().relative_to(Path(root).resolve()).as_posix()
    return f"{subject}/{visit}/{p.name}"


def _image(row: Mapping[str, Any], image_id: int, root: str | None) -> dict[str, Any]:
    """Return the COCO image of a row of ``views.csv`` (with salt's own fields)."""
    return {
        "id": image_id,
        "file_name": _photo_name(str(row["path"]), root, row["subject"], row["visit"]),
        "width": int(row["width"]),
        "height": int(row["height"]),
        "salt_subject": str(row["subject"]),
        "salt_visit": str(row["visit"]),
        "salt_view": str(row["view"]),
        "salt_sha256": str(row["sha256"]),
    }


def _chosen(
    visits: pd.DataFrame, statuses: Iterable[str] | None, keys: Iterable[str] | None
) -> pd.DataFrame:
    keep = pd.Series(True, index=visits.index)
    if statuses is not None:
        keep &= visits["status"].isin(list(statuses))
    if keys is not None:
        wanted = set(keys)
        keep &= (visits["subject"] + "/" + visits["visit"]).isin(wanted)
    return visits[keep]


def _class_map(out: Path, row: Mapping[str, Any], predict: Any) -> npt.NDArray[np.uint8]:
    """Return the mask to export: a stored correction, else the run's ``masks/``, else predicted."""
    from salt.io.outputs import visit_folder

    rel = Path(visit_folder(str(row["subject"]), str(row["visit"]))) / f"{row['view']}.png"
    for base in (out / "corrections" / "masks", out / "masks"):
        if (base / rel).is_file():
            return load_mask(base / rel)
    if predict is None:
        raise InputFileError(
            f"{out / 'masks' / rel} is missing (the run was scored without --masks): score "
            "with `salt score --masks`, or pass the run's model to predict the masks again "
            "(`salt export-annotations ... --model default`)"
        )
    cmap: npt.NDArray[np.uint8] = predict(row)
    return cmap


def export_coco(
    out: str | os.PathLike[str],
    *,
    statuses: Iterable[str] | None = ("needs_review",),
    visits: Iterable[str] | None = None,
    predict: Callable[[Mapping[str, Any]], npt.NDArray[np.uint8]] | None = None,
) -> dict[str, Any]:
    """Export the masks of chosen visits of an output folder as a COCO instance file.

    Parameters
    ----------
    out : path-like
        An output folder of ``salt score``.
    statuses : iterable of str or None, default ("needs_review",)
        Export visits with one of these statuses; None for any status.
    visits : iterable of str, optional
        Export only these visits (``"subject/visit"``).
    predict : callable, optional
        ``predict(row) -> class map`` for a row of ``views.csv`` where ``OUT/masks/``
        lacks the mask (a run without ``--masks``), e.g. the model run again
        (``salt export-annotations --model``); without it such a visit is an error.

    Returns
    -------
    dict
        The COCO object (``info``, ``images``, ``annotations``, ``categories``); each
        image also carries ``salt_subject``, ``salt_visit``, ``salt_view`` and
        ``salt_sha256``.

    Raises
    ------
    InputFileError
        If the folder's tables are missing, or a mask is missing and no model is given.
    BadValueError
        If no visit matches.
    """
    import salt
    from salt.review.report import read_table, run_info

    folder = Path(out)
    table = read_table(folder / "visits.csv").fillna({"subject": "", "visit": ""})
    views = read_table(folder / "views.csv")
    chosen = _chosen(table, statuses, visits)
    if chosen.empty:
        raise BadValueError(
            f"no visit of {folder / 'visits.csv'} has status {sorted(statuses or [])}"
            + (f" among {sorted(visits)}" if visits is not None else "")
        )
    run = run_info(folder)
    root = (run.get("arguments") or {}).get("root")
    wanted = set(zip(chosen["subject"], chosen["visit"], strict=True))
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    for row in views.to_dict("records"):
        if (str(row["subject"]), str(row["visit"])) not in wanted:
            continue
        size = (int(row["width"]), int(row["height"]))
        image_id = len(images) + 1
        images.append(_image(row, image_id, root))
        polys = polygons_from_class_map(_class_map(folder, row, predict), size)
        anns += _annotations(polys, image_id, size)
    for i, a in enumerate(anns, 1):
        a["id"] = i
    model_info = run.get("model") or {}
    return {
        "info": {
            "description": f"salt masks of {len(wanted)} visits of {folder}",
            "version": salt.__version__,
            "contributor": f"salt model {model_info.get('name', '?')}",
            "date_created": datetime.now(UTC).isoformat(timespec="seconds"),
            "salt_model_sha256": model_info.get("sha256", ""),
        },
        "licenses": [],
        "images": images,
        "annotations": anns,
        "categories": [dict(c) for c in CATEGORIES],
    }


def load_coco(path: Path) -> Any:
    """Load a COCO annotation file with pycocotools (its progress output silenced)."""
    try:
        from pycocotools.coco import COCO
    except ImportError:
        raise BadValueError(
            "COCO annotations need pycocotools: pip install 'salt[annotations]'"
        ) from None
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
            return COCO(str(path))
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise InputFileError(f"{path} is not a readable COCO annotation file: {exc}") from None


def class_map_from_coco(coco: Any, image_id: int, source: str = "") -> npt.NDArray[np.uint8]:
    """Paint one image's annotations into a class map (scalp, then hairless, then hair).

    Parameters
    ----------
    coco : pycocotools.coco.COCO
        The loaded annotation file.
    image_id : int
        The image.
    source : str
        The file's name, for error messages.

    Returns
    -------
    ndarray of uint8, shape (height, width)
        0 not scalp, 1 hair, 2 hairless.

    Raises
    ------
    InputFileError
        If an annotation has a category other than scalp, hairless (or bald) and hair.
    """
    img = coco.imgs[image_id]
    cmap = np.full((int(img["height"]), int(img["width"])), NOT_SCALP, np.uint8)
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id], iscrowd=None))
    painted = []
    for ann in anns:
        name = str(coco.cats.get(ann["category_id"], {}).get("name", "")).strip().lower()
        if name not in _PAINT:
            raise InputFileError(
                f"{source}: image {img.get('file_name')} has an annotation of category {name!r}; "
                f"expected one of {sorted(_PAINT)}"
            )
        painted.append((_PAINT[name][1], ann["id"], _PAINT[name][0], ann))
    for _, _, cls, ann in sorted(painted, key=lambda t: (t[0], t[1])):
        with warnings.catch_warnings():
            # pycocotools' decoder (Cython) warns under NumPy 2 about __array__'s copy
            # keyword; the mask it returns is right (tests/test_review_coco.py)
            warnings.filterwarnings(
                "ignore", "__array__ implementation doesn't accept a copy", DeprecationWarning
            )
            cmap[coco.annToMask(ann) > 0] = cls
    return cmap


def image_key(img: Mapping[str, Any], source: str) -> tuple[str, str, str]:
    """Return (subject, visit, view) of a COCO image: salt's fields, else its file name."""
    if all(img.get(k) for k in ("salt_subject", "salt_visit", "salt_view")):
        return str(img["salt_subject"]), str(img["salt_visit"]), str(img["salt_view"])
    parts = Path(str(img["file_name"])).parts
    stem = Path(parts[-1]).stem.lower() if parts else ""
    if len(parts) >= 3 and stem in VIEW_ALIASES:
        return parts[-3], parts[-2], VIEW_ALIASES[stem]
    flat = parse_flat_name(parts[-1]) if parts else None
    if flat is None:
        raise InputFileError(
            f"{source}: cannot tell the subject, visit and view of image {img['file_name']!r}: "
            "expected <subject>/<visit>/<view>.<ext> or <subject>_<visit>_<view>.<ext>"
        )
    return flat


def import_coco(
    file: str | os.PathLike[str],
    photos: str | os.PathLike[str],
    labelled: str | os.PathLike[str],
    *,
    by: str | None = None,
) -> list[Path]:
    """Write the corrected masks of a COCO file into a labelled folder.

    Parameters
    ----------
    file : path-like
        A COCO instance file (from :func:`export_coco`, edited in CVAT or Label Studio).
    photos : path-like
        The photo folder the images' ``file_name`` are relative to.
    labelled : path-like
        The labelled folder to write (created): ``photos/``, ``masks/`` and
        ``annotations.json`` (see module notes). Existing files of the same photos are
        replaced; others are kept.
    by : str, optional
        Who corrected the masks (recorded in ``annotations.json``; default: the file's
        ``info.contributor`` when it is not salt's own).

    Returns
    -------
    list of Path
        The mask files written.

    Raises
    ------
    InputFileError
        If the file cannot be read, an image's photo is missing or has another size, or
        an annotation has an unknown category.
    """
    from salt.io.outputs import visit_folder
    from salt.io.storage import sha256

    src, root, dest = Path(file), Path(photos), Path(labelled)
    coco = load_coco(src)
    info = coco.dataset.get("info") or {}
    contributor = str(info.get("contributor") or "")
    who = by or ("" if contributor.startswith("salt model") else contributor)
    record = _read_provenance(dest)
    written = []
    for image_id in sorted(coco.imgs):
        img = coco.imgs[image_id]
        subject, visit, view = image_key(img, str(src))
        photo = _photo_of(img, root, src)
        rel = Path(visit_folder(subject, visit)) / view  # names made safe as path parts
        mask_path = _write_pair(dest, rel, photo, class_map_from_coco(coco, image_id, str(src)))
        written.append(mask_path)
        record["images"][rel.as_posix()] = {
            "photo": str(photo),
            "sha256": sha256(photo),
            "by": who,
            "date": str(info.get("date_created") or ""),
            "source": str(src.resolve()),
            "imported": datetime.now(UTC).isoformat(timespec="seconds"),
            "annotations": len(coco.getAnnIds(imgIds=[image_id], iscrowd=None)),
        }
    dest.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest / PROVENANCE_NAME, json.dumps(record, indent=2) + "\n")
    log.info("wrote %d masks into %s", len(written), dest)
    return written


def _photo_of(img: Mapping[str, Any], root: Path, src: Path) -> Path:
    """Return the photo of a COCO image under ``root``, checked to have the image's size."""
    from salt.io.photo import load_photo

    photo = root / str(img["file_name"])
    if not photo.is_file():
        raise InputFileError(
            f"{src}: image {img['file_name']!r} is not under {root} ({photo} is missing): "
            "pass the photo folder that was scored as --photos"
        )
    loaded = load_photo(photo, target_side=64, min_side=1)
    if tuple(loaded.original_size) != (int(img["width"]), int(img["height"])):
        raise InputFileError(
            f"{src}: image {img['file_name']!r} is {img['width']}x{img['height']} in the file "
            f"but the photo {photo} is {loaded.original_size[0]}x{loaded.original_size[1]}"
        )
    return photo


def _write_pair(dest: Path, rel: Path, photo: Path, cmap: npt.NDArray[np.uint8]) -> Path:
    """Write ``photos/<rel>.<ext>`` (a byte copy) and ``masks/<rel>.png``; return the mask."""
    (dest / "photos" / rel).parent.mkdir(parents=True, exist_ok=True)
    (dest / "masks" / rel).parent.mkdir(parents=True, exist_ok=True)
    for old in (dest / "photos" / rel).parent.glob(f"{rel.name}.*"):
        old.unlink()  # one photo per view, whatever its extension was before
    suffix = photo.suffix.lower()
    atomic_write_bytes((dest / "photos" / rel).with_suffix(suffix), photo.read_bytes())
    ok, png = cv2.imencode(".png", cmap)
    if not ok:  # pragma: no cover - OpenCV failure
        raise InputFileError(f"cannot encode the mask of {photo}")
    mask_path = (dest / "masks" / rel).with_suffix(".png")
    atomic_write_bytes(mask_path, bytes(png))
    return mask_path


def _read_provenance(folder: Path) -> dict[str, Any]:
    path = folder / PROVENANCE_NAME
    if not path.is_file():
        return {"images": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), dict):
        raise InputFileError(f"{path} is not a salt annotations record (no 'images' object)")
    return data


def provenance(folder: str | os.PathLike[str]) -> Mapping[str, Mapping[str, Any]]:
    """Who corrected each mask of a labelled folder: ``"<subject>/<visit>/<view>"`` -> record."""
    images: Mapping[str, Mapping[str, Any]] = _read_provenance(Path(folder))["images"]
    return images
