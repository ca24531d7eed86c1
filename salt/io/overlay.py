"""Overlays that show what the model measured: outlines on the photo and a 2x2 sheet per visit.

The scalp (classes 1 and 2) is outlined in green, hairless scalp (class 2) in red and
filled with a translucent red; the view's hair-loss percentage is written in the
top-left corner. Each view is drawn once, at the size it has on the sheet
(:func:`fit_tile`: long side :data:`TILE_SIDE` pixels, from the reduced decode; a
smaller photo at its own size), and the same image is the view's overlay file and
its tile on the sheet: nothing is drawn at a size nobody sees. Pure functions of
arrays (RGB uint8 in, RGB uint8 or JPEG bytes out); the engine writes them.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np
import numpy.typing as npt

from salt.views import VIEWS

__all__ = [
    "TILE_SIDE",
    "contact_sheet",
    "draw_overlay",
    "encode_jpeg",
    "fit_tile",
    "visit_overlays",
]

#: Side of a view's square cell on the contact sheet, pixels; views are drawn at this
#: long side.
TILE_SIDE: int = 360

_SCALP = (40, 220, 40)
_BALD = (235, 30, 30)


def _upsample(class_map: npt.NDArray[np.uint8], shape: tuple[int, int]) -> npt.NDArray[np.uint8]:
    if class_map.shape == shape:
        return class_map
    out = cv2.resize(class_map, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return np.asarray(out, dtype=np.uint8)


def _label(img: npt.NDArray[np.uint8], text: str, scale: float) -> None:
    font = cv2.FONT_HERSHEY_SIMPLEX
    thick = max(1, round(2 * scale))
    (w, h), base = cv2.getTextSize(text, font, scale, thick)
    pad = max(2, round(6 * scale))
    cv2.rectangle(img, (0, 0), (w + 2 * pad, h + base + 2 * pad), (0, 0, 0), -1)
    cv2.putText(img, text, (pad, pad + h), font, scale, (255, 255, 255), thick, cv2.LINE_AA)


def draw_overlay(
    rgb: npt.NDArray[np.uint8], class_map: npt.NDArray[np.uint8], text: str
) -> npt.NDArray[np.uint8]:
    """Draw the scalp and hairless outlines and a label on a photo.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
        The photo, RGB.
    class_map : ndarray of uint8, shape (h, w)
        0 not scalp, 1 scalp with hair, 2 hairless scalp; resized to (H, W) with
        nearest-neighbour interpolation if needed.
    text : str
        Written in the top-left corner (e.g. ``"top: 34.2 % hair loss"``).

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        A new image; ``rgb`` is not modified.
    """
    h, w = rgb.shape[:2]
    cmap = _upsample(np.asarray(class_map, dtype=np.uint8), (h, w))
    out = np.array(rgb, dtype=np.uint8, copy=True, order="C")
    bald = cmap == 2
    if bald.any():
        out[bald] = (0.6 * out[bald] + 0.4 * np.array(_BALD)).astype(np.uint8)
    thick = max(1, round(min(h, w) / 250))
    min_area = 2e-4 * h * w  # specks below 0.02 % of the photo are tinted, not outlined
    for mask, colour in ((cmap >= 1, _SCALP), (bald, _BALD)):
        contours, _ = cv2.findContours(
            mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        big = [c for c in contours if cv2.contourArea(c) >= min_area]
        cv2.drawContours(out, big, -1, colour, thick, cv2.LINE_AA)
    _label(out, text, max(0.4, min(h, w) / 600))
    return out


def contact_sheet(
    tiles: Mapping[str, npt.NDArray[np.uint8] | None], title: str, *, tile_side: int = TILE_SIDE
) -> npt.NDArray[np.uint8]:
    """Arrange the four views' overlays on a 2x2 sheet (top, back / left, right).

    Parameters
    ----------
    tiles : Mapping[str, ndarray or None]
        View -> overlay image (H, W, 3) uint8 RGB; a missing view is drawn as a grey
        tile that says so.
    title : str
        Written across the top (e.g. ``"P01 / week24   SALT 23.4"``).
    tile_side : int, default 360
        Each tile is letterboxed into a ``tile_side`` x ``tile_side`` square (a tile
        drawn by :func:`fit_tile` at this size is placed as it is).

    Returns
    -------
    ndarray of uint8, shape (2 * tile_side + 40, 2 * tile_side, 3)
    """
    bar = 40
    sheet = np.full((2 * tile_side + bar, 2 * tile_side, 3), 32, np.uint8)
    for i, view in enumerate(VIEWS):
        r, c = divmod(i, 2)
        y0, x0 = bar + r * tile_side, c * tile_side
        img = tiles.get(view)
        if img is None:
            cell = np.full((tile_side, tile_side, 3), 90, np.uint8)
            cv2.putText(
                cell,
                f"{view}: missing",
                (20, tile_side // 2),
                cv2.FONT_HERSHEY_SIMPLEX,
                1.0,
                (255, 255, 255),
                2,
                cv2.LINE_AA,
            )
        else:
            small = fit_tile(img, tile_side)
            nh, nw = small.shape[:2]
            cell = np.full((tile_side, tile_side, 3), 32, np.uint8)
            oy, ox = (tile_side - nh) // 2, (tile_side - nw) // 2
            cell[oy : oy + nh, ox : ox + nw] = small
        sheet[y0 : y0 + tile_side, x0 : x0 + tile_side] = cell
    cv2.putText(
        sheet, title, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA
    )
    return sheet


def fit_tile(rgb: npt.NDArray[np.uint8], side: int = TILE_SIDE) -> npt.NDArray[np.uint8]:
    """Resize a photo so that its long side is ``side`` pixels (aspect kept).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
    side : int
        Long side of the result, pixels.

    Returns
    -------
    ndarray of uint8, shape (h, w, 3) with ``max(h, w) == side``
        ``rgb`` itself when it already has that size; area resampling when shrinking.
    """
    h, w = rgb.shape[:2]
    if max(h, w) == side:
        return rgb
    s = side / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    interpolation = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(rgb, (nw, nh), interpolation=interpolation), dtype=np.uint8)


def visit_overlays(
    views: Mapping[str, tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], str]],
    title: str,
    *,
    tile_side: int = TILE_SIDE,
) -> tuple[dict[str, bytes], bytes]:
    """Draw a visit's view overlays once, at sheet size, and its contact sheet.

    Parameters
    ----------
    views : Mapping[str, tuple]
        View -> ``(rgb, class_map, label)``: the decoded photo (H, W, 3) uint8, its
        class map (h, w) uint8 at any size, and the text written on it.
    title : str
        The sheet's title.
    tile_side : int, default :data:`TILE_SIDE`

    Returns
    -------
    overlays : dict
        View -> JPEG bytes of the overlay: the photo shrunk to a long side of
        ``tile_side`` (a smaller photo keeps its size).
    sheet : bytes
        JPEG bytes of the 2x2 sheet (missing views drawn as grey tiles).
    """
    tiles: dict[str, npt.NDArray[np.uint8] | None] = {}
    overlays: dict[str, bytes] = {}
    for view, (rgb, class_map, label) in views.items():
        small = fit_tile(rgb, tile_side) if max(rgb.shape[:2]) > tile_side else rgb
        tile = draw_overlay(small, class_map, label)
        tiles[view] = tile
        overlays[view] = encode_jpeg(tile)
    sheet = contact_sheet(tiles, title, tile_side=tile_side)
    return overlays, encode_jpeg(sheet, 85)


def encode_jpeg(rgb: npt.NDArray[np.uint8], quality: int = 90) -> bytes:
    """Encode an RGB image as JPEG bytes."""
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:  # pragma: no cover - OpenCV failure
        raise RuntimeError("JPEG encoding failed")
    return bytes(buf)
