"""Hair-loss maps on the scalp surface, one per alopecia areata subtype.

A loss map is a scalar *loss field* ``L(s)`` over the unit sphere of the cranium
ellipsoid (``s = (point - centre) / axes``) and a threshold ``q``: scalp is
hairless where ``L(s) > q``. Because the field lives on the 3D surface, every
camera sees the same patches, and lowering ``q`` grows every patch smoothly,
which is how a target SALT and longitudinal regrowth or relapse are produced.

Subtypes (Olsen et al. 2004): ``patchy`` (1..n round or oval patches), ``ophiasis``
(a band along the occipital and temporal hairline), ``totalis`` (the whole scalp),
``diffuse`` (thinning everywhere; the thinnest areas, below terminal density,
count as hairless) and ``none``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from salt.errors import BadValueError
from salt.synth.head import hairline_height

__all__ = ["SUBTYPES", "LossMap", "Patch", "random_lossmap"]

#: Subtypes the generator draws, with their default probabilities.
SUBTYPES: dict[str, float] = {
    "patchy": 0.45,
    "ophiasis": 0.13,
    "totalis": 0.1,
    "diffuse": 0.17,
    "none": 0.15,
}


@dataclass(frozen=True)
class Patch:
    """An oval patch of hair loss on the scalp.

    Attributes
    ----------
    lat : float
        Latitude of the centre on the cranium's unit sphere, degrees (90 = vertex).
    lon : float
        Azimuth of the centre, degrees (0 = front, 90 = right ear, 180 = occiput,
        -90 = left ear).
    radius : float
        Radius along the first axis, degrees of arc on the unit sphere.
    aspect : float
        Ratio of the second radius to the first (1 = round).
    angle : float
        Orientation of the first axis in the tangent plane, degrees.
    """

    lat: float
    lon: float
    radius: float
    aspect: float = 1.0
    angle: float = 0.0

    def unit(self) -> npt.NDArray[np.float64]:
        """Centre as a unit vector (x right, y front, z up)."""
        la, lo = math.radians(self.lat), math.radians(self.lon)
        return np.array([math.cos(la) * math.sin(lo), math.cos(la) * math.cos(lo), math.sin(la)])


def _noise(s: npt.NDArray[np.float32], waves: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Smooth random field on the sphere: a sum of plane waves, about unit variance."""
    if len(waves) == 0:
        return np.zeros(s.shape[:-1], dtype=np.float32)
    arg = s @ waves[:, :3].T
    arg += waves[:, 3]
    np.sin(arg, out=arg)
    weights = np.full(len(waves), math.sqrt(2.0 / len(waves)), dtype=np.float32)
    return (arg @ weights).astype(np.float32, copy=False)


def _waves(rng: np.random.Generator, n: int, freq: tuple[float, float]) -> npt.NDArray[np.float32]:
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    k = rng.uniform(*freq, size=(n, 1))
    return np.concatenate([d * k, rng.uniform(0, 2 * math.pi, size=(n, 1))], axis=1).astype(
        np.float32
    )


@dataclass
class LossMap:
    """A subtype's loss field and threshold.

    Attributes
    ----------
    subtype : str
        One of :data:`SUBTYPES`.
    patches : list of Patch
        Patches (patchy subtype).
    band : float
        Band width above the hairline in units of the cranium's vertical
        semi-axis (ophiasis).
    edge_noise : float
        Amplitude of the irregularity of patch borders.
    threshold : float
        ``q``: hairless where ``L(s) > q``. Lower means more loss.
    waves, waves_low : ndarray
        Plane waves of the border noise and of the diffuse-thinning field.
    hairline : tuple
        Hairline coefficients of the head (see :func:`salt.synth.head.hairline_height`).
    """

    subtype: str
    hairline: tuple[float, float, float]
    hairline_wave: tuple[float, float]
    patches: list[Patch] = field(default_factory=list)
    band: float = 0.4
    edge_noise: float = 0.12
    threshold: float = 0.0
    waves: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 4), dtype=np.float32)
    )
    waves_low: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 4), dtype=np.float32)
    )

    def field(self, s: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Evaluate the loss field.

        Parameters
        ----------
        s : ndarray of float32, shape (N, 3)
            Points on the cranium's unit sphere.

        Returns
        -------
        ndarray of float32, shape (N,)
            ``L(s)``; hairless where it exceeds :attr:`threshold`.
        """
        s = np.asarray(s, dtype=np.float32)
        n = len(s)
        noise = self.edge_noise * _noise(s, self.waves)
        if self.subtype == "none":
            return np.full(n, -1e6, dtype=np.float32)
        if self.subtype == "totalis":
            return np.full(n, 1e6, dtype=np.float32)
        if self.subtype == "patchy":
            best = np.full(n, -1e6, dtype=np.float32)
            for p in self.patches:
                c = p.unit()
                # tangent basis at the centre, rotated by the patch angle
                ref = np.array([0.0, 0.0, 1.0]) if abs(c[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
                e1 = np.cross(ref, c)
                e1 /= np.linalg.norm(e1)
                e2 = np.cross(c, e1)
                a = math.radians(p.angle)
                e1, e2 = math.cos(a) * e1 + math.sin(a) * e2, -math.sin(a) * e1 + math.cos(a) * e2
                r1 = 2 * math.sin(math.radians(p.radius) / 2)  # chord length of the radius
                r2 = r1 * p.aspect
                v = s - c.astype(np.float32)
                g = np.sqrt(
                    (v @ (e1 / r1).astype(np.float32)) ** 2
                    + (v @ (e2 / r2).astype(np.float32)) ** 2
                    + (v @ (c / min(r1, r2)).astype(np.float32)) ** 2
                )
                np.maximum(best, 1.0 - g, out=best)
            return best + noise
        phi = np.arctan2(s[:, 0], s[:, 1])
        if self.subtype == "ophiasis":
            h = hairline_height(phi, self.hairline, self.hairline_wave)
            back = np.clip((np.abs(phi) - math.radians(55)) / math.radians(50), 0.0, 1.0)
            width = self.band * back**1.5 + 1e-3
            return (1.0 - (s[:, 2] - h) / width + noise).astype(np.float32)
        if self.subtype == "diffuse":
            low = _noise(s, self.waves_low)
            # thinning tends to be worse on the crown
            return (0.5 * low + 0.6 * s[:, 2] + 0.3 * noise).astype(np.float32)
        raise BadValueError(f"unknown subtype {self.subtype!r}: expected one of {list(SUBTYPES)}")

    def params(self) -> dict[str, Any]:
        """JSON-serialisable description (subtype, threshold, patches, band)."""
        return {
            "subtype": self.subtype,
            "threshold": float(self.threshold),
            "band": float(self.band),
            "edge_noise": float(self.edge_noise),
            "patches": [
                {
                    "lat": p.lat,
                    "lon": p.lon,
                    "radius": p.radius,
                    "aspect": p.aspect,
                    "angle": p.angle,
                }
                for p in self.patches
            ],
        }


def _random_scalp_point(
    rng: np.random.Generator, hairline: tuple[float, float, float]
) -> tuple[float, float]:
    for _ in range(1000):
        v = rng.normal(size=3)
        v /= np.linalg.norm(v)
        phi = math.atan2(v[0], v[1])
        if v[2] > float(hairline_height(np.array(phi), hairline)) + 0.15:
            return math.degrees(math.asin(v[2])), math.degrees(phi)
    return 90.0, 0.0


def random_lossmap(
    rng: np.random.Generator,
    subtype: str,
    hairline: tuple[float, float, float],
    hairline_wave: tuple[float, float],
    *,
    patches: list[Patch] | None = None,
) -> LossMap:
    """Draw a loss map of a subtype.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    subtype : str
        One of :data:`SUBTYPES`.
    hairline, hairline_wave : tuple
        The head's hairline (patch centres are drawn above it).
    patches : list of Patch, optional
        Explicit patches for the patchy subtype (then no border noise is added).

    Returns
    -------
    LossMap
    """
    if subtype not in SUBTYPES:
        raise BadValueError(f"unknown subtype {subtype!r}: expected one of {list(SUBTYPES)}")
    lm = LossMap(
        subtype=subtype,
        hairline=hairline,
        hairline_wave=hairline_wave,
        waves=_waves(rng, 6, (2.0, 7.0)),
        waves_low=_waves(rng, 6, (1.0, 3.0)),
        edge_noise=float(rng.uniform(0.05, 0.2)),
    )
    if subtype == "patchy":
        if patches is not None:
            lm.patches = list(patches)
            lm.edge_noise = 0.0
        else:
            n = int(rng.choice([1, 1, 2, 2, 3, 4, 5, 7]))
            for _ in range(n):
                lat, lon = _random_scalp_point(rng, hairline)
                lm.patches.append(
                    Patch(
                        lat=lat,
                        lon=lon,
                        radius=float(rng.uniform(7.0, 32.0)),
                        aspect=float(rng.uniform(0.6, 1.0)),
                        angle=float(rng.uniform(0, 180)),
                    )
                )
    elif subtype == "ophiasis":
        lm.band = float(rng.uniform(0.25, 0.6))
    elif subtype == "diffuse":
        lm.threshold = float(rng.uniform(0.55, 1.1))
    return lm
