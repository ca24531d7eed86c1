"""What surrounds the head in a synthetic photo, and what the camera does to it.

Backgrounds (walls, curtains, tiles, floors), a hand in the frame, cast shadows, a ruler,
and the camera effects (white balance, exposure, noise, blur, vignetting, JPEG).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from salt.synth.head import OBJECTS, Camera, Ellipsoid

__all__ = ["background", "camera_effects", "cast_shadow", "draw_ruler", "hand"]


def hand(cam: Camera, extra: Mapping[str, Any]) -> Ellipsoid:
    """Place a hand (or fingers) between the camera and the head, near a frame edge."""
    depth = extra["hand_depth"] * float(np.linalg.norm(cam.origin))
    half = depth * (cam.size / 2) / cam.focal  # half the frame width at that depth, cm
    a = extra["hand_angle"]
    off = extra["hand_offset"] * half
    centre = (
        cam.origin + cam.forward * depth + (cam.right * math.cos(a) + cam.up * math.sin(a)) * off
    )
    return Ellipsoid(
        tuple(float(c) for c in centre),  # type: ignore[arg-type]
        tuple(extra["hand_axes"]),
        OBJECTS["hand"],
    )


def cast_shadow(canvas: npt.NDArray[np.uint8], extra: Mapping[str, Any]) -> None:
    """Darken a soft elliptical region: the shadow of the phone, a hand or the photographer."""
    size = canvas.shape[0]
    m = max(8, size // 8)
    cx, cy, ax, ay, ang = extra["shadow_ellipse"]
    mask = np.zeros((m, m), dtype=np.float32)
    cv2.ellipse(
        mask,
        (round(cx * m), round(cy * m)),
        (max(1, round((0.15 + 0.35 * ax) * m)), max(1, round((0.1 + 0.25 * ay) * m))),
        ang * 180.0,
        0,
        360,
        1.0,
        -1,
    )
    mask = cv2.GaussianBlur(mask, (0, 0), m / 12)
    mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_LINEAR)
    gain = 1.0 - np.float32(extra["shadow_strength"]) * mask
    np.multiply(canvas, gain[..., None], out=canvas, casting="unsafe")


def draw_ruler(
    canvas: npt.NDArray[np.uint8], label: npt.NDArray[np.uint8], extra: Mapping[str, Any]
) -> None:
    """Draw a ruler strip with ticks along one edge; it hides what is under it (in place)."""
    size = canvas.shape[0]
    w = max(2, round(extra["ruler_width"] * size))
    o = round(extra["ruler_offset"] * size)
    strip = np.zeros((size, size), dtype=bool)
    edge = extra["ruler_edge"]
    if edge == 0:
        strip[o : o + w, :] = True
    elif edge == 1:
        strip[size - o - w : size - o, :] = True
    elif edge == 2:
        strip[:, o : o + w] = True
    else:
        strip[:, size - o - w : size - o] = True
    canvas[strip] = np.asarray(extra["ruler_colour"], dtype=np.float32).astype(np.uint8)
    label[strip] = 0
    step = max(2, size // 60)
    tick = max(1, w // 3)
    for i, pos in enumerate(range(0, size, step)):
        length = tick * (2 if i % 5 == 0 else 1)
        if edge in (0, 1):
            y0 = o if edge == 0 else size - o - w
            cv2.line(canvas, (pos, y0), (pos, y0 + length), (20, 20, 20), 1)
        else:
            x0 = o if edge == 2 else size - o - w
            cv2.line(canvas, (x0, pos), (x0 + length, pos), (20, 20, 20), 1)


def background(size: int, seed: int) -> npt.NDArray[np.float32]:
    """Paint a room: wall colour, furniture-like blocks, patterned fabric, texture, a gradient."""
    rng = np.random.default_rng(seed)
    palette = np.array(
        [
            [225, 222, 215],
            [240, 238, 232],
            [200, 190, 170],
            [170, 160, 150],
            [120, 110, 100],
            [90, 80, 70],
            [150, 170, 190],
            [200, 210, 205],
            [60, 55, 50],
            [230, 215, 190],
            [140, 100, 70],
            [180, 140, 100],
        ],
        dtype=np.float32,
    )
    m = max(16, size // 3)
    base = palette[rng.integers(len(palette))] * rng.uniform(0.8, 1.1)
    img: Any = np.empty((m, m, 3), dtype=np.float32)  # Any: OpenCV's stubs
    img[:] = base
    for _ in range(int(rng.integers(1, 6))):
        c = palette[rng.integers(len(palette))] * rng.uniform(0.6, 1.1)
        x0, y0 = rng.integers(-m // 4, m, size=2)
        x1, y1 = x0 + rng.integers(m // 10, m), y0 + rng.integers(m // 10, m)
        sl = np.s_[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
        if rng.random() < 0.35:  # patterned fabric: two crossed waves of a second colour
            yy, xx = np.mgrid[0:m, 0:m].astype(np.float32) / m
            c2 = palette[rng.integers(len(palette))]
            f1, f2 = rng.uniform(10, 60, size=2)
            a1, a2 = rng.uniform(0, math.pi, size=2)
            wave = np.sin(f1 * (math.cos(a1) * xx + math.sin(a1) * yy) + rng.uniform(0, 6))
            wave *= np.sin(f2 * (math.cos(a2) * xx + math.sin(a2) * yy) + rng.uniform(0, 6))
            mix = (np.clip(wave[sl], -0.2, 1.0) + 0.2)[..., None] / 1.2
            img[sl] = c * (1 - mix) + c2 * mix
        else:
            img[sl] = c
    g = np.linspace(rng.uniform(0.65, 1.0), rng.uniform(0.9, 1.2), m, dtype=np.float32)
    img *= g[:, None, None] if rng.random() < 0.5 else g[None, :, None]
    # clutter: shelves, frames, cables, small objects
    for _ in range(int(rng.integers(0, 30))):
        c = tuple(float(v) for v in palette[rng.integers(len(palette))] * rng.uniform(0.4, 1.2))
        x0, y0 = (int(v) for v in rng.integers(0, m, size=2))
        kind = rng.random()
        if kind < 0.4:
            x1, y1 = (int(v) for v in rng.integers(0, m, size=2))
            cv2.line(img, (x0, y0), (x1, y1), c, int(rng.integers(1, 4)), cv2.LINE_AA)
        elif kind < 0.8:
            w, h = (int(v) for v in rng.integers(2, max(3, m // 6), size=2))
            cv2.rectangle(img, (x0, y0), (x0 + w, y0 + h), c, -1)
        else:
            r = int(rng.integers(2, max(3, m // 10)))
            cv2.circle(img, (x0, y0), r, c, -1, cv2.LINE_AA)
    # surface texture at a random scale
    k = int(rng.integers(1, 4))
    tex: Any = rng.standard_normal((m // k + 1, m // k + 1), dtype=np.float32)
    tex = cv2.resize(tex, (m, m), interpolation=cv2.INTER_LINEAR)
    img += (tex * np.float32(rng.uniform(2.0, 12.0)))[..., None]
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.2, 1.2)))
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)


def camera_effects(
    canvas: npt.NDArray[np.uint8],
    eff: Mapping[str, Any],
    gains: npt.NDArray[np.float32],
    scale: float,
    rng: np.random.Generator,
) -> npt.NDArray[np.uint8]:
    """Light colour, vignetting, defocus and motion blur, sensor noise, JPEG."""
    size = canvas.shape[0]
    img: Any = canvas.astype(np.float32)  # Any: OpenCV's stubs
    # colour of the light, then the phone's automatic white balance, which removes
    # part of the cast: one 3 x 3 colour transform
    means = np.asarray(cv2.mean(img)[:3], dtype=np.float64) * gains + 1e-3
    awb = (means.mean() / means) ** float(eff["awb"])
    img = cv2.transform(img, np.diag(gains * awb).astype(np.float32))
    if eff["vignette"] > 0:
        fall = 1 - np.float32(eff["vignette"]) * _radial(size)
        img *= fall[..., None]
    sigma = eff["blur"] * scale
    if sigma > 0.25:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if eff["motion"] > 0:
        klen = max(2, round(eff["motion"] * scale))
        kern = np.zeros((klen * 2 + 1, klen * 2 + 1), dtype=np.float32)
        a = math.radians(eff["motion_angle"])
        dx, dy = klen * math.cos(a), klen * math.sin(a)
        cv2.line(kern, (int(klen - dx), int(klen - dy)), (int(klen + dx), int(klen + dy)), 1.0, 1)
        kern /= kern.sum()
        img = cv2.filter2D(img, -1, kern)
    img = cv2.scaleAdd(_noise_bank(size, rng), float(eff["noise"]), img)
    out: Any = np.clip(img, 0, 255).astype(np.uint8)
    if eff["contrast"] > 0:  # the phone's tone curve: an S-curve
        x = np.arange(256, dtype=np.float32) / 255
        curve = x + np.float32(eff["contrast"]) * (x * x * (3 - 2 * x) - x)
        out = cv2.LUT(out, np.clip(curve * 255 + 0.5, 0, 255).astype(np.uint8))
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, eff["jpeg"]]
    )
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
    if decoded is not None:
        out = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(out, dtype=np.uint8)


def _noise_bank(size: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Return unit Gaussian sensor noise (size, size, 3): a random crop of a fixed tile."""
    if size > 1024:
        return rng.standard_normal((size, size, 3), dtype=np.float32)
    y, x = rng.integers(0, size, size=2)
    return _noise_tile(size)[y : y + size, x : x + size]


@functools.lru_cache(maxsize=8)
def _radial(size: int) -> npt.NDArray[np.float32]:
    """Vignetting profile: 0 in the centre, 1 in the corners."""
    c = (np.arange(size, dtype=np.float32) + 0.5 - size / 2) / (size / 2)
    r2 = c[None, :] ** 2 + c[:, None] ** 2
    out = (np.clip(r2 - 0.3, 0, None) / 1.7).astype(np.float32)
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=4)
def _noise_tile(size: int) -> npt.NDArray[np.float32]:
    tile: Any = np.random.default_rng(size).standard_normal(
        (2 * size, 2 * size, 3), dtype=np.float32
    )
    # phone noise after denoising is blotchy, not independent per pixel
    tile = cv2.GaussianBlur(tile, (0, 0), 0.55)
    tile /= tile.std()
    tile.flags.writeable = False
    return tile
