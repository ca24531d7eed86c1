"""Colours of skin, hair and clothes, and the drawing of hair strands.

Skin albedos follow the Fitzpatrick scale I-VI (sRGB, 0-255, typical values of
forehead skin); hair colours are a base colour, a highlight and an optional
second strand colour (grey = dark strands mixed with white ones).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["HAIR_COLOURS", "SKIN_TONES", "draw_strands"]

#: Fitzpatrick type -> sRGB albedo of skin (0-255).
SKIN_TONES: dict[str, tuple[int, int, int]] = {
    "I": (236, 202, 192),
    "II": (222, 180, 166),
    "III": (198, 152, 134),
    "IV": (162, 116, 96),
    "V": (116, 80, 66),
    "VI": (70, 50, 44),
}

#: Hair colour -> (base sRGB, highlight sRGB, second strand sRGB, share of second strands).
HAIR_COLOURS: dict[
    str, tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int], float]
] = {
    "black": ((24, 22, 22), (80, 78, 78), (34, 31, 30), 0.3),
    "brown": ((54, 46, 43), (124, 112, 104), (40, 34, 32), 0.3),
    "blond": ((152, 136, 116), (214, 204, 186), (120, 106, 90), 0.3),
    "red": ((116, 64, 46), (186, 120, 92), (90, 48, 34), 0.3),
    "grey": ((92, 90, 88), (190, 189, 187), (168, 166, 163), 0.5),
    "white": ((200, 198, 194), (240, 238, 234), (160, 157, 152), 0.25),
}


def draw_strands(
    img: npt.NDArray[np.uint8],
    roots: npt.NDArray[np.float32],
    flow: npt.NDArray[np.float32],
    valid: npt.NDArray[np.bool_],
    lengths: npt.NDArray[np.float32],
    colours: npt.NDArray[np.float32],
    rng: np.random.Generator,
    *,
    steps: int = 4,
    curl: float = 0.15,
    thickness: int = 1,
    bins: int = 10,
    stride: int = 2,
) -> None:
    """Draw hair strands that follow a flow field, in place.

    Parameters
    ----------
    img : ndarray of uint8, shape (H, W, 3)
        Image to draw on.
    roots : ndarray of float32, shape (N, 2)
        Root positions (column, row) in pixels.
    flow : ndarray of float32, shape (ceil(H / stride), ceil(W / stride), 2)
        Image displacement in pixels of one cm of hair, sampled every ``stride`` pixels.
    valid : ndarray of bool, same grid as ``flow``
        Where ``flow`` is defined; outside it a strand keeps its last direction
        and fades out.
    lengths : ndarray of float32, shape (N,)
        Strand lengths in cm.
    colours : ndarray of float32, shape (N, 3)
        Colour of each strand (0-255); quantised into ``bins`` groups for speed.
    rng : numpy.random.Generator
        Source of randomness for the curl.
    steps : int, default 4
        Segments per strand.
    curl : float, default 0.15
        Standard deviation of the turn per segment, radians.
    thickness : int, default 1
        Line thickness in pixels.
    bins : int, default 10
        Number of colour groups (one ``cv2.polylines`` call each).
    stride : int, default 2
        Pixel step of the ``flow`` and ``valid`` grids.
    """
    n = len(roots)
    if n == 0:
        return
    h, w = valid.shape
    pts = np.empty((n, steps + 1, 2), dtype=np.float32)
    pos = roots.astype(np.float32).copy()
    pts[:, 0] = pos
    last = np.zeros((n, 2), dtype=np.float32)
    seg = (lengths / steps).astype(np.float32)
    turn = rng.normal(0.0, curl, size=(n, steps)).astype(np.float32)
    sweep = rng.normal(0.0, curl, size=n).astype(np.float32)
    for k in range(steps):
        ix = np.clip((pos[:, 0] / stride).round().astype(np.int32), 0, w - 1)
        iy = np.clip((pos[:, 1] / stride).round().astype(np.int32), 0, h - 1)
        ok = valid[iy, ix]
        # off the cranium a strand keeps its direction but fades out quickly (overhang)
        d = np.where(ok[:, None], flow[iy, ix], last * np.float32(0.5))
        last = d
        ang = turn[:, k] + sweep * k
        ca, sa = np.cos(ang), np.sin(ang)
        step = np.stack([ca * d[:, 0] - sa * d[:, 1], sa * d[:, 0] + ca * d[:, 1]], axis=1)
        pos = (pos + step * seg[:, None]).astype(np.float32)
        pts[:, k + 1] = pos
    ipts = np.round(pts * 4).astype(np.int32)  # shift=2: quarter-pixel precision
    lum = colours.mean(axis=1)
    lo, hi = float(lum.min()), float(lum.max())
    if hi - lo < 1e-3:
        group = np.zeros(n, dtype=np.int64)
    else:
        group = np.minimum(((lum - lo) / (hi - lo) * bins).astype(np.int64), bins - 1)
    for g in np.unique(group):
        sel = group == g
        col = colours[sel].mean(axis=0)
        cv2.polylines(
            img,
            list(ipts[sel]),
            False,
            tuple(float(x) for x in col),
            thickness=thickness,
            lineType=cv2.LINE_AA,
            shift=2,
        )


def colour_temperature_gains(kelvin: float) -> npt.NDArray[np.float32]:
    """Approximate RGB gains of a light of a colour temperature, normalised to green.

    Parameters
    ----------
    kelvin : float
        Colour temperature in K (2500-9000).

    Returns
    -------
    ndarray of float32, shape (3,)
        Multipliers for R, G, B.
    """
    t = kelvin / 100.0
    r = 255.0 if t <= 66 else 329.7 * (t - 60) ** -0.1332
    g = 99.47 * math.log(t) - 161.1 if t <= 66 else 288.1 * (t - 60) ** -0.0755
    b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5 * math.log(t - 10) - 305.0)
    rgb = np.clip(np.array([r, g, b], dtype=np.float32), 1.0, 255.0)
    return rgb / rgb[1]
