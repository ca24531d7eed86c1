"""JPEG bytes -> upright RGB at the smallest DCT scale that still covers the network input.

libjpeg-turbo (through simplejpeg, which releases the GIL) reads the header, and the
scale is chosen from it before any pixel is decoded: 1/8, 1/4, 1/2 or 1, the smallest
whose short side is still >= ``target_side`` (a 12 MP photo, 4000 x 3000, is decoded
as 500 x 375 for a 256 px network). At 1/8 the inverse DCT keeps only each block's
mean, so the cost is mostly reading the entropy-coded data.

Decoding is strict: every libjpeg warning ("Corrupt JPEG data: ...", "Premature end
of JPEG file") fails the photo with :class:`CorruptImageError`, where libjpeg would
otherwise fill the damaged part with grey and go on. Bytes after the end-of-image
marker (a motion photo's video) are not read. CMYK/YCCK JPEGs are decoded to CMYK by
libjpeg (strictly) and converted to RGB by Pillow as Pillow decodes them (Adobe's
inverted CMYK); a JPEG that libjpeg-turbo cannot decode to 8-bit (e.g. 12-bit
samples) falls back to Pillow.
"""

from __future__ import annotations

import io
import logging
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from salt.io.decode import (
    Decoded,
    apply_orientation,
    check_size,
    exif_orientation,
    pillow_warnings,
    reduction_for,
    to_rgb_uint8,
)
from salt.io.photo_errors import CorruptImageError

__all__ = ["decode_jpeg"]

logger = logging.getLogger(__name__)


def _libjpeg_damage(name: str, exc: Exception) -> CorruptImageError:
    text = str(exc)
    if "Premature end" in text:
        return CorruptImageError(f"{name!r} is truncated (libjpeg: {text})")
    return CorruptImageError(f"{name!r} is a damaged JPEG file (libjpeg: {text})")


def _unsupported(exc: Exception) -> bool:
    text = str(exc).lower()
    return "unsupported" in text or "not supported" in text


def decode_jpeg(
    data: bytes, name: str, *, target_side: int | None = None, min_side: int = 256
) -> Decoded:
    """Decode a JPEG file's bytes (see module notes and :func:`salt.io.decode.decode_image`).

    Raises
    ------
    CorruptImageError
        A damaged header, any libjpeg warning or error while decoding, a truncated file.
    ImageTooLargeError
        The header declares more than :data:`salt.io.decode.MAX_PIXELS`.
    ImageTooSmallError
        The short side is below ``min_side``.
    """
    import simplejpeg

    try:
        h, w, colorspace, _ = simplejpeg.decode_jpeg_header(data, strict=True)
    except ValueError as exc:
        if not _unsupported(exc):
            raise _libjpeg_damage(name, exc) from None
        return _decode_with_pillow(data, name, target_side=target_side, min_side=min_side)
    check_size(name, "JPEG", int(w), int(h), min_side)
    orientation = _orientation(data, name)
    reduction = reduction_for(min(w, h), target_side)
    out_h, out_w = math.ceil(h / reduction), math.ceil(w / reduction)
    cmyk = colorspace in ("CMYK", "YCCK")
    try:
        pixels = simplejpeg.decode_jpeg(
            data,
            colorspace="CMYK" if cmyk else "RGB",
            min_height=out_h,
            min_width=out_w,
            strict=True,
        )
    except ValueError as exc:
        if not _unsupported(exc):
            raise _libjpeg_damage(name, exc) from None
        return _decode_with_pillow(data, name, target_side=target_side, min_side=min_side)
    if pixels.shape[:2] != (out_h, out_w):  # pragma: no cover - libjpeg scales exactly
        raise CorruptImageError(
            f"{name!r}: libjpeg decoded {pixels.shape[1]} x {pixels.shape[0]}, expected "
            f"{out_w} x {out_h}"
        )
    rgb = _cmyk_to_rgb(pixels) if cmyk else np.asarray(pixels, dtype=np.uint8)
    rgb = apply_orientation(rgb, orientation)
    size = (h, w) if orientation >= 5 else (w, h)
    return Decoded(rgb, (int(size[0]), int(size[1])), orientation, reduction, "JPEG")


def _orientation(data: bytes, name: str) -> int:
    """EXIF orientation of a JPEG, read by Pillow from the header (no pixel decode)."""
    from PIL import JpegImagePlugin

    # libjpeg has read this header strictly; Pillow reads only the EXIF block here, whose
    # damage costs the orientation (taken as 1, logged), not the photo
    try:
        with pillow_warnings("ignore"):
            im = JpegImagePlugin.JpegImageFile(io.BytesIO(data))
    except Exception as exc:
        raise CorruptImageError(f"{name!r} is a damaged JPEG file (header: {exc})") from None
    try:
        return exif_orientation(im, name)
    finally:
        im.close()


def _cmyk_to_rgb(cmyk: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Libjpeg's CMYK samples -> RGB as Pillow converts a CMYK JPEG (Adobe: inverted)."""
    from PIL import Image

    h, w = cmyk.shape[:2]
    im = Image.frombuffer("CMYK", (w, h), np.ascontiguousarray(cmyk), "raw", "CMYK;I", 0, 1)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def _decode_with_pillow(
    data: bytes, name: str, *, target_side: int | None, min_side: int
) -> Decoded:
    """Pillow's decode for JPEGs libjpeg-turbo cannot give as 8-bit RGB (same rules)."""
    import cv2
    from PIL import JpegImagePlugin

    logger.debug("libjpeg-turbo cannot decode %s; Pillow decodes it", name)
    with pillow_warnings("ignore"):  # the EXIF block (see _orientation)
        im: Any = JpegImagePlugin.JpegImageFile(io.BytesIO(data))
    try:
        w, h = (int(v) for v in im.size)
        check_size(name, "JPEG", w, h, min_side)
        orientation = exif_orientation(im, name)
        reduction = reduction_for(min(w, h), target_side)
        out_w, out_h = math.ceil(w / reduction), math.ceil(h / reduction)
        if reduction > 1:
            im.draft("RGB", (out_w, out_h))
        im.load()
        rgb = to_rgb_uint8(im)
    finally:
        im.close()
    if rgb.shape[:2] != (out_h, out_w):
        rgb = np.ascontiguousarray(cv2.resize(rgb, (out_w, out_h), interpolation=cv2.INTER_AREA))
    rgb = apply_orientation(rgb, orientation)
    size = (h, w) if orientation >= 5 else (w, h)
    return Decoded(rgb, (int(size[0]), int(size[1])), orientation, reduction, "JPEG")
