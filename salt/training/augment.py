"""Photographic augmentation of training samples: how real phone photos differ from a render.

Scale, rotation, shift and flips; exposure, contrast, gamma, white balance and saturation;
vignetting and flash glare; defocus and motion blur; sensor noise; low resolution and JPEG
artefacts. The quarter turns and pasted bald patches of real photos are in
:mod:`salt.training.realdata`.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["augment"]


def augment(
    rng: np.random.Generator,
    image: npt.NDArray[np.uint8],
    mask: npt.NDArray[np.uint8],
    size: int,
    *,
    strength: float = 1.0,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Apply photographic augmentation and resize to the network input.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (one per worker).
    image : ndarray, (H, W, 3) uint8 RGB
    mask : ndarray, (H, W) uint8 class map (0, 1, 2, 255 = unknown)
    size : int
        Output side S in pixels.
    strength : float
        0 gives only the resize (no augmentation); 1 the full training mix.

    Returns
    -------
    image : ndarray, (S, S, 3) uint8
    mask : ndarray, (S, S) uint8
        Geometric transforms move the mask with the image; areas brought in from
        outside the photo are "not scalp" (0), as background would be.
    """
    img: Any
    lab: Any
    img, lab = _geometry(rng, image, mask, strength)
    img = cv2.resize(np.ascontiguousarray(img), (size, size), interpolation=cv2.INTER_AREA)
    lab = cv2.resize(np.ascontiguousarray(lab), (size, size), interpolation=cv2.INTER_NEAREST)
    if strength <= 0:
        return img, lab
    x = _light(rng, img.astype(np.float32) / 255.0, strength)
    out = _degrade(rng, x, strength)
    return np.ascontiguousarray(out), np.ascontiguousarray(lab)


def _geometry(
    rng: np.random.Generator,
    image: npt.NDArray[np.uint8],
    mask: npt.NDArray[np.uint8],
    strength: float,
) -> tuple[Any, Any]:
    """Zoom, rotation, shift and flip: one affine warp (nearest for the mask)."""
    h, w = mask.shape
    img: Any = image
    lab: Any = mask
    if strength > 0:
        # geometry: zoom, rotation, shift, flip (one affine warp, nearest for the mask)
        if rng.random() < 0.8 * strength:
            # zoom out to 0.7x and in to 2.2x: real phone photos are often close-ups of the scalp
            scale = float(np.exp(rng.uniform(np.log(0.7), np.log(2.2))))
            angle = float(rng.uniform(-25, 25))
            tx, ty = rng.uniform(-0.08, 0.08, 2) * (w, h)
            m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
            m[:, 2] += (tx, ty)
            fill = tuple(int(v) for v in rng.integers(0, 256, 3))
            img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=fill)
            lab = cv2.warpAffine(lab, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        if rng.random() < 0.5:
            img, lab = img[:, ::-1], lab[:, ::-1]
    return img, lab


def _light(rng: np.random.Generator, x: Any, strength: float) -> Any:
    """Exposure, contrast, white balance, saturation, gamma; vignetting; flash glare."""
    size = x.shape[0]
    # exposure, contrast, white balance, saturation, gamma
    if rng.random() < 0.9 * strength:
        x = x * rng.uniform(0.6, 1.35)
        mean = x.mean()
        x = (x - mean) * rng.uniform(0.7, 1.3) + mean
        x = x * rng.uniform(0.85, 1.15, 3).astype(np.float32)
        grey = x.mean(axis=2, keepdims=True)
        x = grey + (x - grey) * rng.uniform(0.6, 1.4)
        x = np.clip(x, 0, 1) ** rng.uniform(0.7, 1.45)
    # vignetting
    if rng.random() < 0.2 * strength:
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
        x = x * (1 - rng.uniform(0.2, 0.6) * (xx**2 + yy**2))[..., None]
    # flash glare: a bright soft blob
    if rng.random() < 0.15 * strength:
        cy, cx = rng.uniform(0.2, 0.8, 2) * size
        sig = rng.uniform(0.04, 0.15) * size
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sig**2))
        x = x + rng.uniform(0.3, 0.9) * blob[..., None]
    return x


def _degrade(rng: np.random.Generator, x: Any, strength: float) -> Any:
    """Defocus or motion blur, sensor noise, low resolution, JPEG artefacts; back to uint8."""
    size = x.shape[0]
    # defocus or motion blur
    r = rng.random()
    if r < 0.2 * strength:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.8))
    elif r < 0.3 * strength:
        k = int(rng.integers(3, 8))
        kernel: Any = np.zeros((k, k), np.float32)
        kernel[k // 2] = 1.0 / k
        rot = cv2.getRotationMatrix2D(((k - 1) / 2, (k - 1) / 2), float(rng.uniform(0, 180)), 1.0)
        kernel = cv2.warpAffine(kernel, rot, (k, k))
        x = cv2.filter2D(x, -1, kernel / max(float(kernel.sum()), 1e-6))
    # sensor noise
    if rng.random() < 0.3 * strength:
        x = x + rng.normal(0, rng.uniform(0.01, 0.04), x.shape).astype(np.float32)
    out: Any = (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)
    # low resolution
    if rng.random() < 0.15 * strength:
        f = rng.uniform(0.35, 0.8)
        small = cv2.resize(out, (max(8, int(size * f)),) * 2, interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)
    # JPEG artefacts
    if rng.random() < 0.5 * strength:
        ok, buf = cv2.imencode(
            ".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 96))]
        )
        if ok:
            decoded: Any = cv2.imdecode(buf, cv2.IMREAD_COLOR)
            out = decoded[..., ::-1]
    return out
