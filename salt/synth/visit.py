"""Render one synthetic visit: four photos of one head and their exact labels.

:func:`render_visit` draws a subject (head shape, hairline, skin tone, hair
colour, length and curl, a hair-loss map of a subtype), places the four SALT
cameras, ray casts the head, labels every pixel (0 not scalp, 1 scalp with
terminal hair, 2 hairless scalp), paints skin, hair strands and background, and
applies camera effects. The truth (per-view percentages and SALT) is computed
from the rendered labels with :func:`salt.classmap.view_percent` and
:func:`salt.salt_score`, so it agrees with the masks exactly.

Randomness comes from three streams derived from the seed: one for the subject
and one for the visit's cameras, light and camera effects (both the same for
every image size), and one per view for the drawing, so a seed gives the same
subject and framing at 256 and at 512 pixels.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from salt.classmap import view_percent
from salt.errors import BadValueError
from salt.scoring import salt_score
from salt.synth.appearance import (
    HAIR_COLOURS,
    SKIN_TONES,
    colour_temperature_gains,
    draw_strands,
)
from salt.synth.head import (
    OBJECTS,
    Camera,
    Ellipsoid,
    Head,
    Hit,
    hairline_height,
    random_head,
    raycast,
    view_camera,
)
from salt.synth.lossmap import SUBTYPES, LossMap, Patch, random_lossmap
from salt.views import VIEW_WEIGHTS, VIEWS

__all__ = ["Subject", "SyntheticVisit", "random_subject", "render_subject", "render_visit"]

log = logging.getLogger(__name__)

_CLOTHES = np.array(
    [
        [30, 30, 34],
        [220, 220, 224],
        [40, 52, 90],
        [120, 120, 124],
        [90, 30, 34],
        [60, 80, 60],
        [150, 130, 100],
        [70, 100, 150],
        [200, 180, 150],
        [20, 20, 20],
    ],
    dtype=np.float64,
)
_RULERS = np.array([[235, 235, 230], [240, 215, 80], [200, 220, 235], [250, 250, 250]])
# Fitzpatrick types drawn with weights of a mixed clinic population (every type occurs).
_TONE_WEIGHTS = {"I": 0.12, "II": 0.24, "III": 0.24, "IV": 0.16, "V": 0.12, "VI": 0.12}
_HAIR_WEIGHTS = {
    "black": 0.3,
    "brown": 0.3,
    "blond": 0.12,
    "red": 0.06,
    "grey": 0.14,
    "white": 0.08,
}


@dataclass
class SyntheticVisit:
    """Four synthetic photos of one visit and their exact ground truth.

    Attributes
    ----------
    photos : dict of str to ndarray
        View -> RGB photo, uint8, shape (H, W, 3).
    labels : dict of str to ndarray
        View -> class map, uint8, shape (H, W): 0 not scalp (background, face,
        ears, neck, clothes), 1 scalp with terminal hair, 2 hairless scalp
        (vellus regrowth counts as hairless).
    percents : dict of str to float
        View -> percent of that view's scalp that is hairless, from ``labels``.
    salt : float
        SALT score from ``percents`` (0-100).
    params : dict
        JSON-serialisable parameters used (seed, subtype, skin tone, hair
        colour, hair length, cameras, lighting, camera effects, loss map).
    """

    photos: dict[str, npt.NDArray[np.uint8]]
    labels: dict[str, npt.NDArray[np.uint8]]
    percents: dict[str, float]
    salt: float
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def subtype(self) -> str:
        """Subtype of the hair-loss map."""
        return str(self.params["subtype"])


@dataclass
class Subject:
    """Everything about a synthetic person that stays fixed across visits.

    Attributes
    ----------
    head : Head
        Geometry and hairline.
    lossmap : LossMap
        Loss field; its threshold sets the extent of loss at a visit.
    look : dict
        Skin tone, hair colour, length, curl, density, whorl, clothes colour.
    """

    head: Head
    lossmap: LossMap
    look: dict[str, Any]


def random_subject(
    rng: np.random.Generator,
    *,
    subtype: str | None = None,
    skin_tone: str | None = None,
    hair_colour: str | None = None,
    hair_length: float | None = None,
    patches: Sequence[Patch] | None = None,
) -> Subject:
    """Draw a subject: head, loss map and appearance.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    subtype : str, optional
        One of ``patchy``, ``ophiasis``, ``totalis``, ``diffuse``, ``none``.
        Random (weights :data:`salt.synth.SUBTYPES`) if None.
    skin_tone : str, optional
        Fitzpatrick type ``"I"`` .. ``"VI"``; random if None.
    hair_colour : str, optional
        One of :data:`salt.synth.HAIR_COLOURS`; random if None.
    hair_length : float, optional
        Terminal hair length in cm; random (0.8-20) if None.
    patches : sequence of Patch, optional
        Explicit patches (implies subtype ``patchy``).

    Returns
    -------
    Subject
    """
    head = random_head(rng)
    if patches is not None:
        subtype = "patchy"
    sub = subtype or str(rng.choice(list(SUBTYPES), p=np.array(list(SUBTYPES.values()))))
    if sub not in SUBTYPES:
        raise BadValueError(f"unknown subtype {sub!r}: expected one of {list(SUBTYPES)}")
    lossmap = random_lossmap(
        rng,
        sub,
        head.hairline,
        head.hairline_wave,
        patches=None if patches is None else list(patches),
    )
    tone = skin_tone or str(rng.choice(list(_TONE_WEIGHTS), p=list(_TONE_WEIGHTS.values())))
    if tone not in SKIN_TONES:
        raise BadValueError(f"unknown skin tone {tone!r}: expected one of {list(SKIN_TONES)}")
    colour = hair_colour or str(
        rng.choice(list(_HAIR_WEIGHTS), p=np.array(list(_HAIR_WEIGHTS.values())))
    )
    if colour not in HAIR_COLOURS:
        raise BadValueError(f"unknown hair colour {colour!r}: expected one of {list(HAIR_COLOURS)}")
    length = float(
        hair_length
        if hair_length is not None
        else rng.choice(
            [rng.uniform(0.8, 3.0), rng.uniform(3.0, 8.0), rng.uniform(8.0, 20.0)],
            p=[0.55, 0.35, 0.1],
        )
    )
    if not 0.1 <= length <= 60:
        raise BadValueError(f"hair_length must be within 0.1-60 cm, got {length}")
    whorl = np.array([rng.normal(0, 0.15), rng.uniform(-0.55, -0.2), 1.0])
    whorl /= np.linalg.norm(whorl)
    look = {
        "skin_tone": tone,
        "hair_colour": colour,
        "hair_length_cm": length,
        "curl": float(rng.choice([rng.uniform(0.02, 0.12), rng.uniform(0.3, 0.8)], p=[0.8, 0.2])),
        "density": float(rng.uniform(0.75, 1.0)),
        "gravity": float(np.clip(length / 8.0, 0.1, 2.5) * rng.uniform(0.6, 1.4)),
        "whorl": [float(x) for x in whorl],
        "strand_alpha": float(rng.uniform(0.55, 0.9)),
        "drape": bool(length > 4.0 and rng.random() < 0.3),
        "clumping": float(rng.uniform(0.12, 0.42)),
        "skin_texture": float(rng.uniform(0.015, 0.045)),
        "swirl": float(rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.6)),
        "skin_jitter": [float(x) for x in rng.uniform(0.93, 1.07, size=3)],
        "clothes": [
            float(x) for x in _CLOTHES[int(rng.integers(len(_CLOTHES)))] * rng.uniform(0.7, 1.15)
        ],
        "regrowth": float(rng.choice([0.0, rng.uniform(0.2, 1.0)], p=[0.55, 0.45])),
        "exclamation": float(rng.choice([0.0, rng.uniform(0.3, 1.0)], p=[0.6, 0.4])),
    }
    return Subject(head=head, lossmap=lossmap, look=look)


def _scene_draws(
    rng: np.random.Generator, size: int, camera_overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Per-visit draws: cameras, light, photo effects (independent of ``size``)."""
    cams: dict[str, Camera] = {}
    cam_params: dict[str, dict[str, float]] = {}
    for view in VIEWS:
        cam, cp = view_camera(
            view,
            rng,
            size,
            elevation=camera_overrides.get("elevation"),
            fill=camera_overrides.get("fill"),
        )
        cams[view] = cam
        cam_params[view] = cp
    light = {
        "key": [
            float(rng.uniform(-0.8, 0.8)),
            float(rng.uniform(-0.1, 0.9)),
            float(rng.uniform(0.3, 1.0)),
        ],
        "ambient": float(rng.uniform(0.4, 0.75)),
        "kelvin": float(rng.uniform(3500, 7000)),
        "exposure": float(rng.uniform(0.9, 1.3)),
        "flash": float(rng.random() < 0.4),
        "flash_strength": float(rng.uniform(0.2, 0.7)),
        "shine": float(rng.uniform(0.1, 0.5)),
    }
    effects = {
        "blur": float(rng.choice([rng.uniform(0.6, 1.3), rng.uniform(1.3, 2.4)], p=[0.7, 0.3])),
        "motion": float(rng.choice([0.0, rng.uniform(2.0, 7.0)], p=[0.85, 0.15])),
        "motion_angle": float(rng.uniform(0, 180)),
        "noise": float(rng.uniform(0.5, 3.5)),
        "jpeg": int(rng.integers(55, 96)),
        "vignette": float(rng.uniform(0.0, 0.35)),
        "bg_seed": int(rng.integers(0, 2**31 - 1)),
        "awb": float(rng.uniform(0.3, 0.8)),
        "contrast": float(rng.uniform(0.0, 0.9)),
    }
    extras: dict[str, dict[str, Any]] = {}
    for view in VIEWS:
        extras[view] = {
            "hand": bool(rng.random() < 0.07),
            "hand_depth": float(rng.uniform(0.6, 0.9)),
            "hand_angle": float(rng.uniform(0, 2 * math.pi)),
            "hand_offset": float(rng.uniform(0.75, 1.0)),
            "hand_axes": [float(x) for x in rng.uniform(1.5, 4.0, size=3)],
            "rot90": int(rng.choice([0, 1, 2, 3], p=[0.94, 0.025, 0.01, 0.025]))
            if view != "top"
            else 0,
            "shadow": bool(rng.random() < 0.25),
            "shadow_strength": float(rng.uniform(0.15, 0.45)),
            "shadow_ellipse": [float(x) for x in rng.uniform(0, 1, size=5)],
            "ruler": bool(rng.random() < 0.07),
            "ruler_edge": int(rng.integers(4)),
            "ruler_width": float(rng.uniform(0.05, 0.09)),
            "ruler_offset": float(rng.uniform(0.0, 0.1)),
            "ruler_colour": [float(x) for x in _RULERS[int(rng.integers(len(_RULERS)))]],
        }
    return {
        "cams": cams,
        "cameras": cam_params,
        "light": light,
        "effects": effects,
        "extras": extras,
    }


def _hand(cam: Camera, extra: Mapping[str, Any]) -> Ellipsoid:
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


def _cast_shadow(canvas: npt.NDArray[np.uint8], extra: Mapping[str, Any]) -> None:
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


def _ruler(
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


def _labels(
    hit: Hit, head: Head, lossmap: LossMap
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """Scalp label map (0/1) of one view and the loss field at its scalp pixels.

    The field values are in row-major order of the scalp pixels, the order of
    ``label[label == 1]``.
    """
    cran = np.flatnonzero(hit.kind == OBJECTS["cranium"])
    s = hit.sphere[cran]
    phi = np.arctan2(s[:, 0], s[:, 1])
    above = s[:, 2] > hairline_height(phi, head.hairline, head.hairline_wave)
    scalp = cran[above]
    label = np.zeros(hit.obj.shape, dtype=np.uint8)
    label[hit.rows[scalp], hit.cols[scalp]] = 1
    values = lossmap.field(s[above])
    return label, values


def threshold_for_target(fields: Mapping[str, npt.NDArray[np.float32]], target: float) -> float:
    """Threshold ``q`` of a loss field that gives a target SALT on rendered views.

    Parameters
    ----------
    fields : mapping of str to ndarray of float32
        View -> loss-field values at that view's scalp pixels.
    target : float
        Wanted SALT, 0-100.

    Returns
    -------
    float
        ``q`` such that the SALT of ``field > q`` is as close to ``target`` as the
        pixels allow.
    """
    if not fields:
        raise BadValueError("threshold_for_target needs at least one view")
    # The views' field values are float32 and are compared as float32 (``field > q``),
    # so the search works on float32 values and returns a float32-representable q.
    sorted_f = {v: np.sort(np.asarray(f, dtype=np.float32)) for v, f in fields.items() if len(f)}
    if not sorted_f:
        raise BadValueError("threshold_for_target: no view has scalp pixels")

    def salt_at(q: float) -> float:
        q32 = np.float32(q)
        total = 0.0
        for view, f in sorted_f.items():
            bald = len(f) - int(np.searchsorted(f, q32, side="right"))
            total += VIEW_WEIGHTS[view] * 100.0 * bald / len(f)
        return total

    lowest = min(float(f[0]) for f in sorted_f.values())
    highest = max(float(f[-1]) for f in sorted_f.values())
    if target <= 0 or salt_at(highest) >= target:
        return highest  # nothing is above the highest value: SALT 0
    # bisection on the monotone step function SALT(q): SALT(lo) > target >= SALT(hi)
    lo, hi = lowest - 1.0, highest
    for _ in range(80):
        mid = float(np.float32((lo + hi) / 2))
        if mid in (lo, hi):
            break
        if salt_at(mid) > target:
            lo = mid
        else:
            hi = mid
    # the step lies at the smallest value above lo; q just below it keeps it, q at it drops it
    step = min(
        float(f[i])
        for f in sorted_f.values()
        if (i := int(np.searchsorted(f, np.float32(lo), "right"))) < len(f)
    )
    keep = float(np.nextafter(np.float32(step), np.float32(-np.inf)))
    drop = float(np.float32(step))
    return keep if abs(salt_at(keep) - target) < abs(salt_at(drop) - target) else drop


def _background(size: int, seed: int) -> npt.NDArray[np.float32]:
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


def _flow(
    hit: Hit,
    cam: Camera,
    sel: npt.NDArray[np.bool_],
    look: Mapping[str, Any],
    axes: tuple[float, float, float],
) -> npt.NDArray[np.float32]:
    """Image displacement (pixels) of 1 cm of combed hair at the selected hit pixels.

    Hair runs on the surface away from the crown whorl, pulled down by gravity
    (long hair); the 3D tangent is projected through the pinhole camera.
    """
    s = hit.sphere[sel]
    w = np.asarray(look["whorl"], dtype=np.float32)
    t = (s - w) - np.einsum("ij,ij->i", s - w, s)[:, None] * s
    t /= np.sqrt(np.einsum("ij,ij->i", t, t))[:, None] + 1e-6
    down = s[:, 2:3] * s
    down[:, 2] -= 1.0  # tangential part of (0, 0, -1)
    # a spiral around the whorl instead of a radial star
    near = np.exp(-np.einsum("ij,ij->i", s - w, s - w) / np.float32(0.15))[:, None]
    cross = np.stack(
        [
            s[:, 1] * t[:, 2] - s[:, 2] * t[:, 1],
            s[:, 2] * t[:, 0] - s[:, 0] * t[:, 2],
            s[:, 0] * t[:, 1] - s[:, 1] * t[:, 0],
        ],
        axis=1,
    )
    t = t + np.float32(look["swirl"]) * near * cross
    t = t + np.float32(look["gravity"]) * down
    d = t * np.asarray(axes, dtype=np.float32)
    d /= np.sqrt(np.einsum("ij,ij->i", d, d))[:, None] + 1e-6
    fw, rt, up = (v.astype(np.float32) for v in (cam.forward, cam.right, cam.up))
    x = hit.point[sel] - cam.origin.astype(np.float32)
    z = x @ fw
    dz = d @ fw
    f = np.float32(cam.focal) / (z * z)
    du = f * ((d @ rt) * z - (x @ rt) * dz)
    dv = -f * ((d @ up) * z - (x @ up) * dz)
    return np.stack([du, dv], axis=1)


def _face_points(face: Ellipsoid, x: npt.NDArray[np.float64], z: npt.NDArray[np.float64]) -> Any:
    """Points on the front of the face ellipsoid, at x (lateral) and z (height) in its frame, cm."""
    ax, ay, az = face.axes
    r = 1 - (x / ax) ** 2 - (z / az) ** 2
    y = ay * np.sqrt(np.clip(r, 0.0, None)) + 0.05
    local = np.stack([x, y, z], axis=-1)
    return np.asarray(face.centre) + local @ face.rotation().T


def _face_features(
    img: npt.NDArray[np.float32],
    hit: Hit,
    cam: Camera,
    subject: Subject,
    index: npt.NDArray[np.int32],
    skin: npt.NDArray[np.float32],
    shade_f: npt.NDArray[np.float32],
) -> None:
    """Draw eyes, eyebrows and lips where they face the camera (in place).

    They are painted on the face ellipsoid, so they never touch the scalp labels.
    """
    face = subject.head.parts[1]
    cz = 0.0  # feature heights are in the face's own frame
    size = cam.size
    hair = np.asarray(HAIR_COLOURS[subject.look["hair_colour"]][0], dtype=np.float32)
    brow_col = hair * 0.8 if subject.look["hair_colour"] not in ("white", "grey") else hair * 0.7
    t = np.linspace(0, 2 * math.pi, 12, endpoint=False)
    feats: list[tuple[npt.NDArray[np.float64], tuple[float, float, float], str, float]] = []
    eye_z = cz + 4.0
    for side in (-1.0, 1.0):
        ex = side * 3.0 + 1.25 * np.cos(t)
        ez = eye_z + 0.45 * np.sin(t)
        feats.append((_face_points(face, ex, ez), (45.0, 35.0, 35.0), "fill", 0.0))
        bx = side * np.linspace(1.4, 4.6, 8)
        bz = eye_z + 1.3 + 0.35 * np.sin(np.linspace(0.3, 2.8, 8))
        feats.append((_face_points(face, bx, bz), tuple(brow_col), "line", 0.45))
    mx = np.linspace(-2.2, 2.2, 9)
    mz = cz - 3.6 + 0.25 * (mx / 2.2) ** 2
    lip = skin * np.array([0.78, 0.55, 0.55], dtype=np.float32)
    feats.append((_face_points(face, mx, mz), tuple(lip), "line", 0.35))
    for pts3, colour, mode, width_cm in feats:
        pr = cam.project(pts3)
        col = np.round(pr[:, 0]).astype(int)
        row = np.round(pr[:, 1]).astype(int)
        inside = (col >= 0) & (col < size) & (row >= 0) & (row < size)
        vis = np.zeros(len(pts3), dtype=bool)
        idx = np.where(inside, index[np.clip(row, 0, size - 1), np.clip(col, 0, size - 1)], -1)
        ok = idx >= 0
        vis[ok] = np.linalg.norm(hit.point[idx[ok]] - pts3[ok], axis=1) < 0.8
        if vis.mean() < 0.7:
            continue
        shade = float(np.mean(shade_f[idx[vis]]))
        c = tuple(float(v) * shade for v in colour)
        poly = np.round(pr[:, :2] * 4).astype(np.int32)
        if mode == "fill":
            cv2.fillPoly(img, [poly], c, lineType=cv2.LINE_AA, shift=2)
        else:
            width = max(1, round(width_cm * cam.focal / float(np.mean(pr[:, 2]))))
            cv2.polylines(img, [poly], False, c, thickness=width, lineType=cv2.LINE_AA, shift=2)


def _scatter(img: npt.NDArray[np.float32], flat: npt.NDArray[np.intp], values: Any) -> None:
    """``img.reshape(-1, C)[flat] = values`` for a C-contiguous float32 image (fast path)."""
    c = img.shape[-1]
    row = np.dtype((np.void, 4 * c))
    vals = np.ascontiguousarray(np.broadcast_to(values, (len(flat), c)), dtype=np.float32)
    img.reshape(-1, c).view(row).reshape(-1)[flat] = vals.view(row).reshape(-1)


def _gather(img: npt.NDArray[np.float32], flat: npt.NDArray[np.intp]) -> Any:
    """``img.reshape(-1, C)[flat]`` (fast path)."""
    return np.take(img.reshape(-1, img.shape[-1]), flat, axis=0)


def _pow2k(x: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.float32]:
    """``x ** (2 ** k)`` by repeated squaring (much faster than ``np.power``)."""
    y = x * x
    for _ in range(k - 1):
        y *= y
    return y


def _render_view(
    view: str,
    subject: Subject,
    scene: Mapping[str, Any],
    hit: Hit,
    label: npt.NDArray[np.uint8],
    field_map: npt.NDArray[np.float32],
    threshold: float,
    rng: np.random.Generator,
) -> npt.NDArray[np.uint8]:
    """Paint one photo: skin, clothes, background, hair, then camera effects."""
    cam: Camera = scene["cams"][view]
    size = cam.size
    look = subject.look
    light = scene["light"]
    eff = scene["effects"]
    scale = size / 512.0
    ii, jj, kind = hit.rows, hit.cols, hit.kind
    flat_index = np.full(size * size, -1, dtype=np.int32)  # pixel -> position in hit arrays
    flat_index[hit.flat] = np.arange(len(ii), dtype=np.int32)
    index = flat_index.reshape(size, size)

    # shading: Lambert key light + ambient, Blinn-Phong shine on bare skin, optional flash
    k = light["key"]
    ldir = k[0] * cam.right + k[1] * cam.up - k[2] * cam.forward
    ldir = (ldir / np.linalg.norm(ldir)).astype(np.float32)
    gains = colour_temperature_gains(light["kelvin"]) * np.float32(light["exposure"])
    nrm = hit.normal
    vdir = hit.view_dir
    amb = np.float32(light["ambient"])
    shade_f = np.maximum(nrm @ ldir, 0.0)
    shade_f *= 1 - amb
    shade_f += amb
    half = vdir + ldir
    half /= np.sqrt(np.einsum("ij,ij->i", half, half))[:, None] + 1e-6
    ndh_f = np.maximum(np.einsum("ij,ij->i", nrm, half), 0.0)
    ndv_f = np.maximum(np.einsum("ij,ij->i", nrm, vdir), 0.0)
    skin = np.asarray(SKIN_TONES[look["skin_tone"]], dtype=np.float32) * np.asarray(
        look["skin_jitter"], dtype=np.float32
    )
    table = np.zeros((len(OBJECTS), 3), dtype=np.float32)
    table[OBJECTS["cranium"]] = skin * np.array([1.03, 1.0, 0.98], dtype=np.float32)
    table[OBJECTS["face"]] = skin
    table[OBJECTS["nose"]] = skin * np.array([1.04, 0.97, 0.95], dtype=np.float32)
    table[OBJECTS["ear"]] = skin * np.array([1.06, 0.95, 0.93], dtype=np.float32)
    table[OBJECTS["neck"]] = skin * 0.94
    table[OBJECTS["torso"]] = np.asarray(look["clothes"], dtype=np.float32)
    table[OBJECTS["hand"]] = skin
    lab_f = np.take(label, hit.flat)
    shine = np.float32(light["shine"])
    spec_w = np.where(lab_f == 2, shine, 0.12 * shine).astype(np.float32)
    spec_w[kind == OBJECTS["torso"]] = 0.0
    spec = spec_w * _pow2k(ndh_f, 5) * np.float32(255.0)
    if light["flash"]:
        spec += spec_w * np.float32(light["flash_strength"] * 2.0 * 255.0) * _pow2k(ndv_f, 6)
        shade_f = shade_f * np.float32(0.8) + np.float32(0.35) * ndv_f
    # soft darkening towards silhouettes (self-occlusion of the rounded head)
    shade_f *= 0.75 + 0.25 * np.sqrt(ndv_f)
    img = _background(size, eff["bg_seed"] + VIEWS.index(view))
    # skin texture: mottling and pores, a multiplicative blotchy noise on the albedo
    tex = _skin_texture(size)
    oy, ox = (int(v) for v in rng.integers(0, size, size=2))
    mottle = np.take(tex, (ii + oy) * (2 * size) + (jj + ox))
    mottle *= np.float32(look["skin_texture"])
    mottle += 1.0
    albedo = np.take(table, kind, axis=0) * mottle[:, None]
    _scatter(img, hit.flat, albedo * shade_f[:, None] + spec[:, None])

    _face_features(img, hit, cam, subject, index, skin, shade_f)

    # hair density (terminal hair per unit area, 0-1) and the undercoat: the
    # shadowed mass of hair seen between the strands
    colours = HAIR_COLOURS[look["hair_colour"]]
    base = np.asarray(colours[0], dtype=np.float32)
    hi = np.asarray(colours[1], dtype=np.float32)
    second = np.asarray(colours[2], dtype=np.float32)
    share = colours[3]
    dens = np.zeros((size, size), dtype=np.float32)
    dens[label == 1] = look["density"]
    if subject.lossmap.subtype == "diffuse":
        scalp = label > 0
        f = np.zeros((size, size), dtype=np.float32)
        f[scalp] = field_map
        thin = np.clip((f - (threshold - 0.5)) / 0.5, 0.0, 1.0)
        dens = np.where(label == 1, dens * (1.0 - 0.6 * thin), dens)
        dens[label == 2] = 0.08
    cover = cv2.GaussianBlur(np.minimum(dens * 1.1, 0.93), (3, 3), 0)
    cflat = np.flatnonzero(cover > 0.002)
    cv = np.take(cover, cflat)[:, None]
    ci = np.take(index, cflat)
    cshade = np.where(ci >= 0, np.take(shade_f, ci), amb)[:, None]
    under = (base * 0.65 + second * 0.2 * share)[None, :] * (0.4 + 0.6 * cshade)
    _scatter(img, cflat, _gather(img, cflat) * (1 - cv) + under * cv)

    # hair strands: roots in haired scalp, following the combed flow field
    # the flow field is smooth: evaluate it on a grid of every `st`-th pixel
    st = 4 if size >= 384 else 2
    csel = (kind == OBJECTS["cranium"]) & (((ii | jj) & (st - 1)) == 0)
    half_n = (size + st - 1) // st
    cran = np.zeros((half_n, half_n), dtype=bool)
    cran[ii[csel] // st, jj[csel] // st] = True
    flow = np.zeros((half_n, half_n, 2), dtype=np.float32)
    flow[ii[csel] // st, jj[csel] // st] = _flow(hit, cam, csel, look, subject.head.cranium.axes)
    length = look["hair_length_cm"]
    vis_len = min(length, 9.0)  # long hair lies in overlapping layers; draw a visible stretch
    hy, hx = np.nonzero(dens > 0)
    speed_h = np.hypot(flow[..., 0], flow[..., 1]).ravel()
    speed = np.take(speed_h, (hy // st) * half_n + hx // st)
    p_root = dens[hy, hx] * 3.0 / (speed * vis_len + 2.0)
    keep = rng.random(len(hy), dtype=np.float32) < p_root
    ys, xs = hy[keep], hx[keep]
    n = len(xs)
    roots = np.stack([xs, ys], axis=1).astype(np.float32)
    roots += rng.random((n, 2), dtype=np.float32) - 0.5
    strand_len = (vis_len * rng.uniform(0.5, 1.0, size=n)).astype(np.float32)
    pick = rng.random(n) < share
    col = np.where(pick[:, None], second[None], base[None])
    ri = index[ys, xs]
    sh = shade_f[ri][:, None] * rng.uniform(0.65, 1.35, size=(n, 1))
    sheen = np.minimum(
        _pow2k(ndh_f[ri], 3) * 1.2 + (light["flash"] * _pow2k(ndv_f[ri], 4)) * 0.6, 1.0
    )[:, None]
    col = col * sh + (hi - base)[None] * sheen * rng.uniform(0.3, 1.0, size=(n, 1))
    # strands blend partly with the hair mass beneath (soft contrast)
    under_rgb = (base * 0.65 + second * 0.2 * share)[None, :] * (0.4 + 0.6 * sh)
    # clumps and streaks: neighbouring strands share a brightness
    clump = np.take(tex, (ys // 4 + oy) * (2 * size) + (xs // 4 + ox))
    col *= (1.0 + np.float32(look["clumping"]) * clump)[:, None]
    mixw = rng.uniform(0.45, 1.0, size=(n, 1))
    col = (col * mixw + under_rgb * (1 - mixw)).astype(np.float32)
    canvas = np.clip(img, 0, 255).astype(np.uint8)
    layer = canvas.copy()
    # strands run freely over haired scalp; over a patch or off the scalp they fade
    # within a few steps, unless this subject's long hair drapes over patches
    haired = (label[::st, ::st] == 1) & cran
    draw_strands(
        layer,
        roots,
        flow,
        cran if look["drape"] else haired,
        strand_len,
        col,
        rng,
        steps=4 if vis_len < 4 else 6,
        curl=look["curl"],
        thickness=1 if size < 900 else 2,
        stride=st,
    )
    # strands are finer than a pixel: blend them in partly
    alpha = float(look["strand_alpha"])
    cv2.addWeighted(layer, alpha, canvas, 1 - alpha, 0, dst=canvas)

    # vellus regrowth and exclamation-mark hairs inside patches (still hairless)
    bald = label == 2
    if (look["regrowth"] > 0 or look["exclamation"] > 0) and bald.any():
        if look["regrowth"] > 0:
            by, bx = np.nonzero(bald)
            sp = np.take(speed_h, (by // st) * half_n + bx // st)
            p_v = look["regrowth"] * 0.9 / (sp * 0.8 + 2.0)
            keep = rng.random(len(by), dtype=np.float32) < p_v
            vy, vx = by[keep], bx[keep]
            if len(vx):
                layer = canvas.copy()
                vcol = np.clip(skin * 0.5 + np.array([235, 228, 215]) * 0.5, 0, 255)
                vcols = vcol[None].astype(np.float32) * shade_f[index[vy, vx]][:, None]
                draw_strands(
                    layer,
                    np.stack([vx, vy], 1).astype(np.float32),
                    flow,
                    cran,
                    rng.uniform(0.3, 1.0, size=len(vx)).astype(np.float32),
                    vcols,
                    rng,
                    steps=2,
                    curl=0.4,
                    stride=st,
                )
                cv2.addWeighted(layer, 0.4, canvas, 0.6, 0, dst=canvas)
        if look["exclamation"] > 0:
            ring = cv2.dilate(
                (label == 1).astype(np.uint8),
                np.ones((5, 5), np.uint8),
                iterations=max(1, int(3 * scale)),
            )
            ey, ex = np.nonzero(bald & (ring > 0))
            keep = rng.random(len(ey), dtype=np.float32) < look["exclamation"] * 0.08
            ey, ex = ey[keep], ex[keep]
            if len(ex):
                ecol = (base * 0.8)[None] * shade_f[index[ey, ex]][:, None]
                draw_strands(
                    canvas,
                    np.stack([ex, ey], 1).astype(np.float32),
                    flow,
                    cran,
                    rng.uniform(0.2, 0.5, size=len(ex)).astype(np.float32),
                    ecol.astype(np.float32),
                    rng,
                    steps=1,
                    curl=0.1,
                    stride=st,
                )
    if scene["extras"][view]["shadow"]:
        _cast_shadow(canvas, scene["extras"][view])
    if scene["extras"][view]["ruler"]:
        _ruler(canvas, label, scene["extras"][view])
    return _camera_effects(canvas, eff, gains, scale, rng)


def _camera_effects(
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


@functools.lru_cache(maxsize=4)
def _skin_texture(size: int) -> npt.NDArray[np.float32]:
    """Flattened (2 size)^2 tile of unit-variance blotchy noise at two scales."""
    rng = np.random.default_rng(size + 1)
    n = 2 * size
    fine: Any = cv2.GaussianBlur(rng.standard_normal((n, n), dtype=np.float32), (0, 0), size / 400)
    coarse: Any = cv2.resize(
        rng.standard_normal((n // 16, n // 16), dtype=np.float32),
        (n, n),
        interpolation=cv2.INTER_CUBIC,
    )
    tile = fine / fine.std() + coarse / coarse.std()
    tile = (tile / tile.std()).ravel()
    tile.flags.writeable = False
    return tile


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


def render_subject(
    subject: Subject,
    seed: int,
    *,
    size: int = 512,
    target_salt: float | None = None,
    threshold: float | None = None,
    camera: Mapping[str, Any] | None = None,
    photo: Mapping[str, Any] | None = None,
    visit_key: int = 0,
) -> SyntheticVisit:
    """Photograph a subject at one visit.

    Parameters
    ----------
    subject : Subject
        The person (see :func:`random_subject`).
    seed : int
        Seed of the visit's cameras, light and camera effects.
    size : int, default 512
        Side of the square photos in pixels (32-4096).
    target_salt : float, optional
        Wanted SALT (0-100): the loss field's threshold is chosen from the
        rendered scalp pixels so that the SALT of the labels is as close as the
        pixels allow (ignored for ``none`` and ``totalis``).
    threshold : float, optional
        Explicit loss-field threshold (overrides the subject's).
    camera : mapping, optional
        Overrides for :func:`salt.synth.head.view_camera` (``elevation``, ``fill``).
    photo : mapping, optional
        Overrides of the photography draws, applied to all four views: light
        (``ambient``, ``kelvin``, ``exposure``, ``flash``, ...), camera effects
        (``blur``, ``motion``, ``noise``, ``jpeg``, ``vignette``, ``awb``,
        ``contrast``) and extras (``hand``, ``ruler``, ``rot90``); see
        ``SyntheticVisit.params`` for the names. E.g. ``{"hand": False,
        "ruler": False, "rot90": 0}`` for unobstructed, upright photos.
    visit_key : int, default 0
        Extra key of the drawing stream (visits of one subject differ).

    Returns
    -------
    SyntheticVisit
    """
    if not 32 <= size <= 4096:
        raise BadValueError(f"size must be within 32-4096 pixels, got {size}")
    scene_rng = np.random.default_rng([seed, 7, visit_key])
    scene = _scene_draws(scene_rng, size, camera or {})
    for key, value in (photo or {}).items():
        if key in scene["light"]:
            scene["light"][key] = value
        elif key in scene["effects"]:
            scene["effects"][key] = value
        elif key in scene["extras"][VIEWS[0]]:
            for view in VIEWS:
                scene["extras"][view][key] = value
        else:
            known = sorted([*scene["light"], *scene["effects"], *scene["extras"][VIEWS[0]]])
            raise BadValueError(f"unknown photo option {key!r}: expected one of {known}")
    lm = subject.lossmap
    hits: dict[str, Hit] = {}
    labels: dict[str, npt.NDArray[np.uint8]] = {}
    fields: dict[str, npt.NDArray[np.float32]] = {}
    for view in VIEWS:
        cam = scene["cams"][view]
        extra = scene["extras"][view]
        parts = subject.head.parts + ((_hand(cam, extra),) if extra["hand"] else ())
        hit = raycast(parts, cam)
        label, values = _labels(hit, subject.head, lm)
        hits[view], labels[view], fields[view] = hit, label, values
    q = lm.threshold if threshold is None else float(threshold)
    if target_salt is not None and lm.subtype not in ("none", "totalis"):
        if not 0.0 <= target_salt <= 100.0:
            raise BadValueError(f"target_salt must be within 0-100, got {target_salt}")
        q = threshold_for_target(fields, target_salt)
    for view in VIEWS:
        lab = labels[view]
        lab[lab == 1] = np.where(fields[view] > q, 2, 1).astype(np.uint8)
    photos: dict[str, npt.NDArray[np.uint8]] = {}
    for i, view in enumerate(VIEWS):
        rng = np.random.default_rng([seed, 11, visit_key, i])
        photos[view] = _render_view(
            view, subject, scene, hits[view], labels[view], fields[view], q, rng
        )
        k = scene["extras"][view]["rot90"]
        if k:  # a phone held sideways or upside down
            photos[view] = np.ascontiguousarray(np.rot90(photos[view], k))
            labels[view] = np.ascontiguousarray(np.rot90(labels[view], k))
    # the one rule from a class map to a view's % (salt.classmap), as the engine uses
    percents: dict[str, float] = {}
    for v in VIEWS:
        pct = view_percent(labels[v])
        if pct is None:  # every rendered view shows scalp; a bug if not
            raise BadValueError(f"seed {seed}: the rendered {v} view shows no scalp")
        percents[v] = pct
    score = salt_score(percents)
    params: dict[str, Any] = {
        "seed": int(seed),
        "size": int(size),
        "subtype": lm.subtype,
        **subject.look,
        "lossmap": {**lm.params(), "threshold": float(q)},
        "target_salt": None if target_salt is None else float(target_salt),
        "cameras": scene["cameras"],
        "light": scene["light"],
        "effects": scene["effects"],
        "extras": scene["extras"],
    }
    return SyntheticVisit(
        photos=photos, labels=labels, percents=percents, salt=score, params=params
    )


def render_visit(
    seed: int,
    *,
    size: int = 512,
    subtype: str | None = None,
    target_salt: float | None = None,
    salt_uniform: bool = False,
    skin_tone: str | None = None,
    hair_colour: str | None = None,
    hair_length: float | None = None,
    patches: Sequence[Patch] | None = None,
    camera: Mapping[str, Any] | None = None,
    photo: Mapping[str, Any] | None = None,
) -> SyntheticVisit:
    """Render a synthetic visit: four photos of one head with exact labels and SALT.

    Parameters
    ----------
    seed : int
        Seed; the same seed and options give identical output.
    size : int, default 512
        Side of the square photos in pixels.
    subtype : str, optional
        ``patchy``, ``ophiasis``, ``totalis``, ``diffuse`` or ``none``; random if None.
    target_salt : float, optional
        Wanted SALT (0-100); the loss grows or shrinks to reach it (to within
        the pixel resolution; ``none`` gives 0 and ``totalis`` 100 whatever the target).
    salt_uniform : bool, default False
        Draw the target SALT uniformly over 0-100 (and a subtype that can reach
        it unless ``subtype`` is given): training sets with SALT spread evenly.
    skin_tone : str, optional
        Fitzpatrick ``"I"``-``"VI"``; random if None.
    hair_colour : str, optional
        ``black``, ``brown``, ``blond``, ``red``, ``grey`` or ``white``; random if None.
    hair_length : float, optional
        Terminal hair length in cm; random if None.
    patches : sequence of Patch, optional
        Explicit patches (implies ``patchy``; no border noise).
    camera : mapping, optional
        Camera overrides: ``elevation`` (degrees), ``fill`` (head width / image width).
    photo : mapping, optional
        Photography overrides for all views (light, camera effects, ``hand``,
        ``ruler``, ``rot90``); see :func:`render_subject`.

    Returns
    -------
    SyntheticVisit
        ``photos`` and ``labels`` per view, ``percents``, ``salt`` and ``params``.

    Raises
    ------
    BadValueError
        If an option is out of range or unknown.

    Examples
    --------
    >>> from salt.synth import render_visit
    >>> v = render_visit(3, size=64, subtype="totalis")
    >>> v.salt
    100.0
    """
    rng = np.random.default_rng([seed, 1])
    if salt_uniform and target_salt is None:
        target_salt = float(rng.uniform(0.0, 100.0))
        if subtype is None and patches is None:
            if target_salt < 0.5:
                subtype = "none"
            elif target_salt > 99.5:
                subtype = "totalis"
            else:
                options = (
                    ["patchy", "diffuse", "ophiasis"] if target_salt < 55 else ["patchy", "diffuse"]
                )
                probs = [0.6, 0.25, 0.15] if target_salt < 55 else [0.7, 0.3]
                subtype = str(rng.choice(options, p=probs))
    elif target_salt is not None and subtype is None and patches is None:
        subtype = (
            "none"
            if target_salt <= 0
            else "totalis"
            if target_salt >= 100
            else str(rng.choice(["patchy", "diffuse"], p=[0.75, 0.25]))
        )
    subject = random_subject(
        rng,
        subtype=subtype,
        skin_tone=skin_tone,
        hair_colour=hair_colour,
        hair_length=hair_length,
        patches=patches,
    )
    return render_subject(
        subject, seed, size=size, target_salt=target_salt, camera=camera, photo=photo
    )
