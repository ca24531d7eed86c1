"""Paint one synthetic photo from a ray-cast head: skin, face, hair, regrowth, camera effects.

:func:`paint_view` is called by :func:`salt.synth.visit.render_subject` once per view, after
the head is ray cast and every pixel labelled; it only draws, the labels are final.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from salt.synth.appearance import HAIR_COLOURS, SKIN_TONES, colour_temperature_gains, draw_strands
from salt.synth.head import OBJECTS, Camera, Ellipsoid, Hit
from salt.synth.scene import background, camera_effects, cast_shadow, draw_ruler
from salt.synth.subject import Subject
from salt.views import VIEWS

__all__ = ["paint_view"]


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


@dataclass
class _Shading:
    """Per hit pixel lighting of one view (arrays follow the order of :class:`Hit`)."""

    shade: npt.NDArray[np.float32]  # diffuse shading factor
    ndh: npt.NDArray[np.float32]  # normal . half vector (specular sheen)
    ndv: npt.NDArray[np.float32]  # normal . view direction (flash, silhouettes)
    spec: npt.NDArray[np.float32]  # specular highlight, 0-255
    ambient: np.float32


def _shading(cam: Camera, hit: Hit, light: Mapping[str, Any], label: Any) -> _Shading:
    """Lambert key light + ambient, Blinn-Phong shine on bare skin, optional flash."""
    k = light["key"]
    ldir = k[0] * cam.right + k[1] * cam.up - k[2] * cam.forward
    ldir = (ldir / np.linalg.norm(ldir)).astype(np.float32)
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
    lab_f = np.take(label, hit.flat)
    shine = np.float32(light["shine"])
    spec_w = np.where(lab_f == 2, shine, 0.12 * shine).astype(np.float32)
    spec_w[hit.kind == OBJECTS["torso"]] = 0.0
    spec = spec_w * _pow2k(ndh_f, 5) * np.float32(255.0)
    if light["flash"]:
        spec += spec_w * np.float32(light["flash_strength"] * 2.0 * 255.0) * _pow2k(ndv_f, 6)
        shade_f = shade_f * np.float32(0.8) + np.float32(0.35) * ndv_f
    # soft darkening towards silhouettes (self-occlusion of the rounded head)
    shade_f *= 0.75 + 0.25 * np.sqrt(ndv_f)
    return _Shading(shade_f, ndh_f, ndv_f, spec, amb)


def _albedo_table(look: Mapping[str, Any]) -> tuple[Any, Any]:
    """Skin colour and the RGB albedo of every object kind of :data:`OBJECTS`."""
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
    return skin, table


@dataclass
class _HairPaint:
    """What the hair stages of one view share."""

    size: int
    look: Mapping[str, Any]
    light: Mapping[str, Any]
    label: npt.NDArray[np.uint8]
    index: npt.NDArray[np.int32]  # pixel -> position in the hit arrays, -1 off the objects
    shading: _Shading
    tex: npt.NDArray[np.float32]
    offset: tuple[int, int]
    base: npt.NDArray[np.float32]
    hi: npt.NDArray[np.float32]
    second: npt.NDArray[np.float32]
    share: float


def _hair_density(
    subject: Subject, label: Any, field_map: Any, threshold: float
) -> npt.NDArray[np.float32]:
    """Terminal hair per unit area, 0-1, per pixel (thinned where diffuse loss is near)."""
    size = label.shape[0]
    dens = np.zeros((size, size), dtype=np.float32)
    dens[label == 1] = subject.look["density"]
    if subject.lossmap.subtype == "diffuse":
        scalp = label > 0
        f = np.zeros((size, size), dtype=np.float32)
        f[scalp] = field_map
        thin = np.clip((f - (threshold - 0.5)) / 0.5, 0.0, 1.0)
        dens = np.where(label == 1, dens * (1.0 - 0.6 * thin), dens)
        dens[label == 2] = 0.08
    return dens


def _paint_undercoat(img: npt.NDArray[np.float32], dens: Any, p: _HairPaint) -> None:
    """Paint the shadowed mass of hair seen between the strands."""
    cover = cv2.GaussianBlur(np.minimum(dens * 1.1, 0.93), (3, 3), 0)
    cflat = np.flatnonzero(cover > 0.002)
    cv = np.take(cover, cflat)[:, None]
    ci = np.take(p.index, cflat)
    cshade = np.where(ci >= 0, np.take(p.shading.shade, ci), p.shading.ambient)[:, None]
    under = (p.base * 0.65 + p.second * 0.2 * p.share)[None, :] * (0.4 + 0.6 * cshade)
    _scatter(img, cflat, _gather(img, cflat) * (1 - cv) + under * cv)


def _strand_colours(
    p: _HairPaint, ys: Any, xs: Any, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """RGB of strands rooted at (ys, xs): shading, sheen, clumps, blend with the mass."""
    n = len(xs)
    pick = rng.random(n) < p.share
    col = np.where(pick[:, None], p.second[None], p.base[None])
    ri = p.index[ys, xs]
    sh = p.shading.shade[ri][:, None] * rng.uniform(0.65, 1.35, size=(n, 1))
    sheen = np.minimum(
        _pow2k(p.shading.ndh[ri], 3) * 1.2
        + (p.light["flash"] * _pow2k(p.shading.ndv[ri], 4)) * 0.6,
        1.0,
    )[:, None]
    col = col * sh + (p.hi - p.base)[None] * sheen * rng.uniform(0.3, 1.0, size=(n, 1))
    # strands blend partly with the hair mass beneath (soft contrast)
    under_rgb = (p.base * 0.65 + p.second * 0.2 * p.share)[None, :] * (0.4 + 0.6 * sh)
    # clumps and streaks: neighbouring strands share a brightness
    oy, ox = p.offset
    clump = np.take(p.tex, (ys // 4 + oy) * (2 * p.size) + (xs // 4 + ox))
    col *= (1.0 + np.float32(p.look["clumping"]) * clump)[:, None]
    mixw = rng.uniform(0.45, 1.0, size=(n, 1))
    return (col * mixw + under_rgb * (1 - mixw)).astype(np.float32)


def _paint_strands(
    img: npt.NDArray[np.float32],
    dens: Any,
    flow: Any,
    cran: Any,
    st: int,
    p: _HairPaint,
    rng: np.random.Generator,
) -> npt.NDArray[np.uint8]:
    """Hair strands rooted in haired scalp, following the combed flow; return the canvas."""
    half_n = cran.shape[0]
    vis_len = min(p.look["hair_length_cm"], 9.0)  # long hair lies in layers: a visible stretch
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
    col = _strand_colours(p, ys, xs, rng)
    canvas = np.clip(img, 0, 255).astype(np.uint8)
    layer = canvas.copy()
    # strands run freely over haired scalp; over a patch or off the scalp they fade
    # within a few steps, unless this subject's long hair drapes over patches
    haired = (p.label[::st, ::st] == 1) & cran
    draw_strands(
        layer,
        roots,
        flow,
        cran if p.look["drape"] else haired,
        strand_len,
        col,
        rng,
        steps=4 if vis_len < 4 else 6,
        curl=p.look["curl"],
        thickness=1 if p.size < 900 else 2,
        stride=st,
    )
    # strands are finer than a pixel: blend them in partly
    alpha = float(p.look["strand_alpha"])
    cv2.addWeighted(layer, alpha, canvas, 1 - alpha, 0, dst=canvas)
    return canvas


def _paint_regrowth(
    canvas: npt.NDArray[np.uint8],
    skin: Any,
    flow: Any,
    cran: Any,
    st: int,
    p: _HairPaint,
    rng: np.random.Generator,
) -> None:
    """Vellus regrowth and exclamation-mark hairs inside patches (still hairless)."""
    bald = p.label == 2
    look = p.look
    if not (look["regrowth"] > 0 or look["exclamation"] > 0) or not bald.any():
        return
    shade_f = p.shading.shade
    if look["regrowth"] > 0:
        half_n = cran.shape[0]
        speed_h = np.hypot(flow[..., 0], flow[..., 1]).ravel()
        by, bx = np.nonzero(bald)
        sp = np.take(speed_h, (by // st) * half_n + bx // st)
        p_v = look["regrowth"] * 0.9 / (sp * 0.8 + 2.0)
        keep = rng.random(len(by), dtype=np.float32) < p_v
        vy, vx = by[keep], bx[keep]
        if len(vx):
            layer = canvas.copy()
            vcol = np.clip(skin * 0.5 + np.array([235, 228, 215]) * 0.5, 0, 255)
            vcols = vcol[None].astype(np.float32) * shade_f[p.index[vy, vx]][:, None]
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
            (p.label == 1).astype(np.uint8),
            np.ones((5, 5), np.uint8),
            iterations=max(1, int(3 * p.size / 512.0)),
        )
        ey, ex = np.nonzero(bald & (ring > 0))
        keep = rng.random(len(ey), dtype=np.float32) < look["exclamation"] * 0.08
        ey, ex = ey[keep], ex[keep]
        if len(ex):
            ecol = (p.base * 0.8)[None] * shade_f[p.index[ey, ex]][:, None]
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


def _flow_grid(
    hit: Hit, cam: Camera, subject: Subject, size: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_], int]:
    """Evaluate the combed flow field on a grid of every ``st``-th pixel (it is smooth).

    Returns the flow, shape (n, n, 2), the cranium mask of the grid, shape (n, n), and ``st``.
    """
    ii, jj = hit.rows, hit.cols
    st = 4 if size >= 384 else 2
    csel = (hit.kind == OBJECTS["cranium"]) & (((ii | jj) & (st - 1)) == 0)
    half_n = (size + st - 1) // st
    cran = np.zeros((half_n, half_n), dtype=bool)
    cran[ii[csel] // st, jj[csel] // st] = True
    flow = np.zeros((half_n, half_n, 2), dtype=np.float32)
    flow[ii[csel] // st, jj[csel] // st] = _flow(
        hit, cam, csel, subject.look, subject.head.cranium.axes
    )
    return flow, cran, st


def paint_view(
    view: str,
    subject: Subject,
    scene: Mapping[str, Any],
    hit: Hit,
    label: npt.NDArray[np.uint8],
    field_map: npt.NDArray[np.float32],
    threshold: float,
    rng: np.random.Generator,
) -> npt.NDArray[np.uint8]:
    """Paint one photo: skin, face, hair undercoat and strands, regrowth, then camera effects."""
    cam: Camera = scene["cams"][view]
    size = cam.size
    look = subject.look
    light = scene["light"]
    eff = scene["effects"]
    flat_index = np.full(size * size, -1, dtype=np.int32)  # pixel -> position in hit arrays
    flat_index[hit.flat] = np.arange(len(hit.rows), dtype=np.int32)
    index = flat_index.reshape(size, size)
    gains = colour_temperature_gains(light["kelvin"]) * np.float32(light["exposure"])
    shading = _shading(cam, hit, light, label)
    skin, table = _albedo_table(look)
    img = background(size, eff["bg_seed"] + VIEWS.index(view))
    # skin texture: mottling and pores, a multiplicative blotchy noise on the albedo
    tex = _skin_texture(size)
    oy, ox = (int(v) for v in rng.integers(0, size, size=2))
    mottle = np.take(tex, (hit.rows + oy) * (2 * size) + (hit.cols + ox))
    mottle *= np.float32(look["skin_texture"])
    mottle += 1.0
    albedo = np.take(table, hit.kind, axis=0) * mottle[:, None]
    _scatter(img, hit.flat, albedo * shading.shade[:, None] + shading.spec[:, None])
    _face_features(img, hit, cam, subject, index, skin, shading.shade)
    colours = HAIR_COLOURS[look["hair_colour"]]
    paint = _HairPaint(
        size,
        look,
        light,
        label,
        index,
        shading,
        tex,
        (oy, ox),
        np.asarray(colours[0], dtype=np.float32),
        np.asarray(colours[1], dtype=np.float32),
        np.asarray(colours[2], dtype=np.float32),
        colours[3],
    )
    dens = _hair_density(subject, label, field_map, threshold)
    _paint_undercoat(img, dens, paint)
    flow, cran, st = _flow_grid(hit, cam, subject, size)
    canvas = _paint_strands(img, dens, flow, cran, st, paint, rng)
    _paint_regrowth(canvas, skin, flow, cran, st, paint, rng)
    if scene["extras"][view]["shadow"]:
        cast_shadow(canvas, scene["extras"][view])
    if scene["extras"][view]["ruler"]:
        draw_ruler(canvas, label, scene["extras"][view])
    return camera_effects(canvas, eff, gains, size / 512.0, rng)


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
