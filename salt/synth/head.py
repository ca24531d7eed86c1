"""A parametric 3D head, the four SALT cameras and a ray caster.

Head coordinates are in centimetres: ``x`` towards the subject's right ear, ``y``
towards the nose, ``z`` up, origin at the centre of the cranium. The head is a
union of ellipsoids, some tilted (cranium, face, nose, ears, neck, torso). The
scalp is the part of the cranium above an anatomical hairline; it carries the
hair-loss map (see :mod:`salt.synth.lossmap`).

Everything here is pure numpy. Rays are separable in the pixel row and column,
and each ellipsoid is only intersected inside the projected box of its corners,
which keeps one 512 x 512 view cheap (see ``benchmarks/bench_synth.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "OBJECTS",
    "Camera",
    "Ellipsoid",
    "Head",
    "Hit",
    "hairline_height",
    "random_head",
    "raycast",
    "view_camera",
]

#: Object ids written into :attr:`Hit.obj` (-1 is background).
OBJECTS: dict[str, int] = {
    "cranium": 0,
    "face": 1,
    "nose": 2,
    "ear": 3,
    "neck": 4,
    "torso": 5,
    "hand": 6,
}

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Ellipsoid:
    """An ellipsoid, optionally tilted about the x (ear-to-ear) axis.

    Attributes
    ----------
    centre : tuple of float
        Centre (x, y, z) in cm, head coordinates.
    axes : tuple of float
        Semi-axes (x, y, z) in cm, in the ellipsoid's own frame.
    obj : int
        Object id from :data:`OBJECTS`.
    tilt : float
        Rotation about the x axis in degrees; positive moves the top backwards
        and the bottom forwards (a chin, a neck leaning forwards is negative).
    """

    centre: tuple[float, float, float]
    axes: tuple[float, float, float]
    obj: int
    tilt: float = 0.0

    def rotation(self) -> npt.NDArray[np.float64]:
        """Rotation matrix R (3, 3): head = centre + R @ local."""
        t = math.radians(self.tilt)
        c, s = math.cos(t), math.sin(t)
        return np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])


@dataclass(frozen=True)
class Head:
    """The ellipsoids of one synthetic subject and the shape of its hairline.

    Attributes
    ----------
    parts : tuple of Ellipsoid
        Cranium first, then face, nose, ears, neck, torso.
    hairline : tuple of float
        Cosine coefficients ``(c0, c1, c2)`` of the hairline height (see
        :func:`hairline_height`).
    hairline_wave : tuple of float
        Amplitude and phase of a small 3-cycle wobble added to the hairline.
    """

    parts: tuple[Ellipsoid, ...]
    hairline: tuple[float, float, float]
    hairline_wave: tuple[float, float]

    @property
    def cranium(self) -> Ellipsoid:
        """The cranium ellipsoid (carrier of the scalp)."""
        return self.parts[0]


def hairline_height(
    phi: npt.NDArray[np.floating],
    coeffs: tuple[float, float, float],
    wave: tuple[float, float] = (0.0, 0.0),
) -> npt.NDArray[np.floating]:
    """Height of the hairline on the unit-sphere cranium as a function of azimuth.

    Parameters
    ----------
    phi : ndarray of float
        Azimuth in radians: 0 towards the nose, +pi/2 the right ear, pi the occiput.
    coeffs : tuple of float
        ``(c0, c1, c2)``: height ``u = c0 + c1 cos(phi) + c2 cos(2 phi)`` in units
        of the cranium's vertical semi-axis (1 is the vertex, 0 the equator).
    wave : tuple of float, optional
        ``(amplitude, phase)`` of an extra ``cos(3 phi + phase)`` term.

    Returns
    -------
    ndarray of float
        Hairline height, same shape as ``phi``; scalp is where ``s_z`` exceeds it.
    """
    c0, c1, c2 = coeffs
    amp, phase = wave
    return c0 + c1 * np.cos(phi) + c2 * np.cos(2 * phi) + amp * np.cos(3 * phi + phase)


def random_head(rng: np.random.Generator) -> Head:
    """Draw a head: size, proportions, ears, neck, shoulders and hairline.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    Head
    """
    k = rng.uniform(0.92, 1.08)
    ax, ay, az = (
        7.4 * k * rng.uniform(0.95, 1.05),
        9.8 * k * rng.uniform(0.95, 1.05),
        9.0 * k * rng.uniform(0.95, 1.05),
    )
    jaw = rng.uniform(0.9, 1.1)
    ear_z = -3.6 * k + rng.uniform(-0.6, 0.6)
    ear_y = -0.9 * k + rng.uniform(-0.5, 0.5)
    ear = (1.2 * k, 1.9 * k * rng.uniform(0.9, 1.1), 3.0 * k * rng.uniform(0.9, 1.1))
    ear_x = ax * math.sqrt(max(0.0, 1 - (ear_z / az) ** 2 - (ear_y / ay) ** 2)) + 0.2
    shoulders = rng.uniform(17.0, 22.0)
    parts = (
        Ellipsoid((0.0, 0.0, 0.0), (ax, ay, az), OBJECTS["cranium"]),
        Ellipsoid(
            (0.0, 4.4 * k, -6.9 * k),
            (5.4 * k * jaw, 5.2 * k, 7.8 * k),
            OBJECTS["face"],
            tilt=float(rng.uniform(14.0, 24.0)),
        ),
        Ellipsoid((0.0, 10.3 * k, -5.2 * k), (0.85 * k, 1.6 * k, 2.3 * k), OBJECTS["nose"]),
        Ellipsoid((ear_x, ear_y, ear_z), ear, OBJECTS["ear"]),
        Ellipsoid((-ear_x, ear_y, ear_z), ear, OBJECTS["ear"]),
        Ellipsoid(
            (0.0, -1.2 * k, -13.0 * k), (4.8 * k, 5.0 * k, 8.5 * k), OBJECTS["neck"], tilt=-12.0
        ),
        Ellipsoid((0.0, -1.5, -29.0 * k), (shoulders, 11.0, 9.5), OBJECTS["torso"]),
    )
    # Hairline: forehead ~0.45, above the ears ~-0.2, nape ~-0.6 (units of az).
    front = rng.uniform(0.36, 0.52)
    side = rng.uniform(-0.28, -0.12)
    back = rng.uniform(-0.68, -0.52)
    c1 = (front - back) / 2
    c0 = (front + back) / 2 / 2 + side / 2
    c2 = (front + back) / 2 - c0
    return Head(
        parts=parts,
        hairline=(float(c0), float(c1), float(c2)),
        hairline_wave=(float(rng.uniform(0.0, 0.04)), float(rng.uniform(0, 2 * math.pi))),
    )


@dataclass(frozen=True)
class Camera:
    """A pinhole camera in head coordinates.

    Attributes
    ----------
    origin : ndarray, shape (3,)
        Position in cm.
    forward, right, up : ndarray, shape (3,)
        Orthonormal basis; the image x axis follows ``right``, the image y axis
        (rows, downwards) follows ``-up``.
    focal : float
        Focal length in pixels for an image of ``size`` pixels.
    size : int
        Image side in pixels.
    """

    origin: npt.NDArray[np.float64]
    forward: npt.NDArray[np.float64]
    right: npt.NDArray[np.float64]
    up: npt.NDArray[np.float64]
    focal: float
    size: int

    def project(self, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Project head-coordinate points to pixel coordinates.

        Parameters
        ----------
        points : array_like, shape (N, 3)
            Points in cm.

        Returns
        -------
        ndarray, shape (N, 3)
            Column (x), row (y) in pixels and depth in cm along ``forward``.
        """
        p = np.asarray(points, dtype=np.float64) - self.origin
        z = p @ self.forward
        x = self.focal * (p @ self.right) / z + self.size / 2 - 0.5
        y = -self.focal * (p @ self.up) / z + self.size / 2 - 0.5
        return np.stack([x, y, z], axis=-1)


def _basis(
    forward: npt.NDArray[np.float64], up_hint: npt.NDArray[np.float64], roll: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    f = forward / np.linalg.norm(forward)
    r = np.cross(f, up_hint)
    r /= np.linalg.norm(r)
    u = np.cross(r, f)
    c, s = math.cos(roll), math.sin(roll)
    return f, c * r + s * u, -s * r + c * u


def view_camera(
    view: str,
    rng: np.random.Generator,
    size: int,
    *,
    elevation: float | None = None,
    fill: float | None = None,
) -> tuple[Camera, dict[str, float]]:
    """Place the camera of one SALT view with random distance, tilt and framing.

    Parameters
    ----------
    view : {"top", "back", "left", "right"}
        The standard view.
    rng : numpy.random.Generator
        Source of randomness (the same draws are made for every ``size``).
    size : int
        Image side in pixels.
    elevation : float, optional
        Camera elevation in degrees above the horizontal for back/left/right
        views (for the top view: tilt away from vertical). Random if None.
    fill : float, optional
        Projected head width as a fraction of the image width. Random if None.

    Returns
    -------
    camera : Camera
    params : dict
        The drawn values (distance to scalp in cm, elevation, azimuth, roll in
        degrees, fill).
    """
    dist_scalp = float(rng.uniform(20.0, 30.0))  # camera to scalp, cm (photo protocol)
    dist = dist_scalp + 9.0
    azim_jit = float(rng.uniform(-12.0, 12.0))
    roll = float(rng.normal(0.0, 5.0))
    lo, hi = {"top": (0.95, 1.35), "back": (0.95, 1.35)}.get(view, (0.75, 1.1))
    fill_v = float(rng.uniform(lo, hi)) if fill is None else fill
    target = np.array([rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), rng.uniform(-1.5, 1.0)])
    if view == "top":
        elev = float(rng.uniform(0.0, 18.0)) if elevation is None else elevation
        flip = bool(rng.random() < 0.35)  # front of the head at the image bottom
        az = math.radians(rng.uniform(0, 360))
        t = math.radians(elev)
        direction = np.array([math.sin(t) * math.sin(az), math.sin(t) * math.cos(az), math.cos(t)])
        up_hint = np.array([0.0, -1.0 if flip else 1.0, 0.0])
        target = target + np.array([0.0, -1.0, 2.0])
        roll_total = roll + azim_jit
    else:
        elev = float(rng.uniform(0.0, 12.0)) if elevation is None else elevation
        base = {"back": 180.0, "left": -90.0, "right": 90.0}[view]
        az = math.radians(base + azim_jit)
        e = math.radians(elev)
        direction = np.array([math.sin(az) * math.cos(e), math.cos(az) * math.cos(e), math.sin(e)])
        up_hint = np.array([0.0, 0.0, 1.0])
        shift = 0.0 if view == "back" else rng.uniform(0.5, 3.0)
        target = target + np.array([0.0, shift, rng.uniform(-4.5, -1.5)])
        roll_total = roll
        flip = False
    origin = target + dist * direction
    fwd, right, up = _basis(target - origin, up_hint, math.radians(roll_total))
    head_radius = 9.5
    focal = fill_v * (size / 2) * (dist - 4.0) / head_radius
    cam = Camera(origin=origin, forward=fwd, right=right, up=up, focal=focal, size=size)
    return cam, {
        "distance_cm": dist_scalp,
        "elevation_deg": elev,
        "roll_deg": roll_total,
        "fill": fill_v,
        "front_down": float(flip),
    }


@dataclass
class Hit:
    """Result of ray casting one view, stored per hit pixel.

    Attributes
    ----------
    obj : ndarray of int8, shape (H, W)
        Object id of the first surface hit (-1 background), see :data:`OBJECTS`.
    rows, cols : ndarray of intp, shape (N,)
        Pixel coordinates of the N pixels that hit a surface (row-major order).
    flat : ndarray of intp, shape (N,)
        Their flat indices, ``rows * W + cols``.
    kind : ndarray of int8, shape (N,)
        Object id of each hit pixel (``obj[rows, cols]``).
    point : ndarray of float32, shape (N, 3)
        Hit position in head coordinates (cm).
    normal : ndarray of float32, shape (N, 3)
        Unit surface normal.
    sphere : ndarray of float32, shape (N, 3)
        Position normalised to the unit sphere of the hit ellipsoid
        (``(point - centre) / axes``); used for the cranium's surface maps.
    view_dir : ndarray of float32, shape (N, 3)
        Unit vector from the surface towards the camera.
    """

    obj: npt.NDArray[np.int8]
    rows: npt.NDArray[np.intp]
    cols: npt.NDArray[np.intp]
    flat: npt.NDArray[np.intp]
    kind: npt.NDArray[np.int8]
    point: FloatArray
    normal: FloatArray
    sphere: FloatArray
    view_dir: FloatArray


_CORNERS = np.array(
    [[x, y, z] for x in (-1.0, 1.0) for y in (-1.0, 1.0) for z in (-1.0, 1.0)], dtype=np.float64
)


def _intersect(
    e: Ellipsoid,
    idx: int,
    cam: Camera,
    col: list[npt.NDArray[np.float32]],
    row: list[npt.NDArray[np.float32]],
    depth: npt.NDArray[np.float32],
    owner: npt.NDArray[np.int8],
) -> None:
    """Intersect the rays with one ellipsoid; keep it where it is the nearest hit so far."""
    n = cam.size
    origin = cam.origin
    ctr = np.asarray(e.centre, dtype=np.float64)
    # image box of the ellipsoid: the projected corners of its bounding box
    corners = ctr + (_CORNERS * np.asarray(e.axes)) @ e.rotation().T
    pr = cam.project(corners)
    if (pr[:, 2] <= 0.5).any():  # reaches behind the camera: test every pixel
        x0, x1, y0, y1 = 0, n, 0, n
    else:
        x0, x1 = int(max(0, pr[:, 0].min() - 2)), int(min(n, pr[:, 0].max() + 3))
        y0, y1 = int(max(0, pr[:, 1].min() - 2)), int(min(n, pr[:, 1].max() + 3))
    if x0 >= x1 or y0 >= y1:
        return
    ax = np.asarray(e.axes, dtype=np.float64)
    rot = e.rotation().astype(np.float32)
    o = ((origin - ctr) @ e.rotation()) / ax
    inv = (1.0 / ax).astype(np.float32)
    cs = (np.stack([col[k][x0:x1] for k in range(3)], axis=1) @ rot) * inv  # (w, 3)
    rs = (np.stack([row[k][y0:y1] for k in range(3)], axis=1) @ rot) * inv  # (h, 3)
    of = o.astype(np.float32)
    # |dd|^2 and dd.o with dd = cs[j] + rs[i], expanded into 1-D terms and one product
    a = (rs @ (2.0 * cs.T)) + np.einsum("ij,ij->i", cs, cs)[None, :]
    a += np.einsum("ij,ij->i", rs, rs)[:, None]
    b = (rs @ of)[:, None] + (cs @ of)[None, :]
    cc = np.float32(o @ o - 1.0)
    disc = b * b
    disc -= a * cc
    ok = disc > 0
    if not ok.any():
        return
    with np.errstate(invalid="ignore"):
        t = (-b - np.sqrt(disc)) / a
    closer = t < depth[y0:y1, x0:x1]  # NaN (a miss) compares False
    closer &= t > 0
    np.copyto(depth[y0:y1, x0:x1], t, where=closer)
    np.copyto(owner[y0:y1, x0:x1], np.int8(idx), where=closer)


def raycast(parts: tuple[Ellipsoid, ...], cam: Camera) -> Hit:
    """Ray cast a union of ellipsoids from a pinhole camera.

    Parameters
    ----------
    parts : tuple of Ellipsoid
        The scene.
    cam : Camera
        The camera; the image is ``cam.size`` x ``cam.size`` pixels.

    Returns
    -------
    Hit
        First-hit maps for every pixel.
    """
    n = cam.size
    c = (np.arange(n, dtype=np.float32) + 0.5) - n / 2
    fwd = cam.forward * cam.focal
    # ray direction d(i, j) = fwd + c_j right - c_i up, separable per component
    col = [(fwd[k] + c * cam.right[k]).astype(np.float32) for k in range(3)]
    row = [(-c * cam.up[k]).astype(np.float32) for k in range(3)]
    depth = np.full((n, n), np.inf, dtype=np.float32)
    owner = np.full((n, n), -1, dtype=np.int8)
    for idx, e in enumerate(parts):
        _intersect(e, idx, cam, col, row, depth, owner)
    origin = cam.origin
    flat = np.flatnonzero(owner >= 0)
    ii, jj = np.divmod(flat, n)
    t_hit = np.take(depth, flat)
    dx, dy, dz = (np.take(col[k], jj) + np.take(row[k], ii) for k in range(3))
    px = np.float32(origin[0]) + t_hit * dx
    py = np.float32(origin[1]) + t_hit * dy
    pz = np.float32(origin[2]) + t_hit * dz
    inv_len = 1.0 / np.sqrt(dx * dx + dy * dy + dz * dz)
    own = np.take(owner, flat)
    # per-part constants, gathered per pixel: centre, semi-axes, tilt (about x)
    table = np.array(
        [
            [*e.centre, *e.axes, math.cos(math.radians(e.tilt)), math.sin(math.radians(e.tilt))]
            for e in parts
        ],
        dtype=np.float32,
    ).reshape(-1, 8)
    cx, cy, cz, ax_, ay_, az_, cos_t, sin_t = (np.take(table[:, k], own) for k in range(8))
    ry, rz = py - cy, pz - cz
    lx = (px - cx) / ax_  # position on the unit sphere of the part, in its own frame
    ly = (ry * cos_t - rz * sin_t) / ay_
    lz = (ry * sin_t + rz * cos_t) / az_
    gx, gy, gz = lx / ax_, ly / ay_, lz / az_  # gradient in the part's frame
    nx, ny, nz = gx, gy * cos_t + gz * sin_t, -gy * sin_t + gz * cos_t
    inv_n = 1.0 / np.sqrt(nx * nx + ny * ny + nz * nz)
    pts = np.stack([px, py, pz], axis=1)
    sph = np.stack([lx, ly, lz], axis=1)
    nrm = np.stack([nx * inv_n, ny * inv_n, nz * inv_n], axis=1)
    d = np.stack([dx * inv_len, dy * inv_len, dz * inv_len], axis=1)
    objs = np.array([e.obj for e in parts], dtype=np.int8)
    kind = np.take(objs, own) if len(parts) else np.zeros(0, dtype=np.int8)
    obj = np.full(n * n, -1, dtype=np.int8)
    obj[flat] = kind
    return Hit(
        obj=obj.reshape(n, n),
        rows=ii,
        cols=jj,
        flat=flat,
        kind=kind,
        point=pts,
        normal=nrm,
        sphere=sph,
        view_dir=-d,
    )
