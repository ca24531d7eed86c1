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

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from salt.classmap import view_percent
from salt.errors import BadValueError
from salt.scoring import salt_score
from salt.synth.head import (
    OBJECTS,
    Camera,
    Head,
    Hit,
    hairline_height,
    raycast,
    view_camera,
)
from salt.synth.lossmap import LossMap, Patch
from salt.synth.paint import paint_view
from salt.synth.scene import hand
from salt.synth.subject import Subject, random_subject
from salt.views import VIEW_WEIGHTS, VIEWS

__all__ = ["Subject", "SyntheticVisit", "random_subject", "render_subject", "render_visit"]

log = logging.getLogger(__name__)

_RULERS = np.array([[235, 235, 230], [240, 215, 80], [200, 220, 235], [250, 250, 250]])


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
        parts = subject.head.parts + ((hand(cam, extra),) if extra["hand"] else ())
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
        photos[view] = paint_view(
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
