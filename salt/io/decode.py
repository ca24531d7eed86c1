"""Bytes of one image file -> upright RGB pixels: the formats Pillow reads, and shared rules.

:func:`salt.io.photo.load_photo` tells the format from the bytes (:func:`sniff_format`,
never the name) and decodes JPEGs with :mod:`salt.io.decode_jpeg` and everything else
with :func:`decode_pillow`. Both follow the rules defined here:

* a file that starts like a known image format but cannot be opened is *damaged*
  (:class:`CorruptImageError`), anything else is *not an image* (:class:`NotAnImageError`);
* the size the header declares is checked before any pixel is allocated
  (:func:`check_size`: :data:`MAX_PIXELS`, ``min_side``);
* the decode is reduced by the largest factor in (8, 4, 2) that keeps the short side
  >= ``target_side`` (:func:`reduction_for`);
* PNG, TIFF, WebP, HEIC/HEIF (pillow-heif), BMP and GIF are decoded by Pillow after the
  container checks of :mod:`salt.io.damage` (and a CRC check of every PNG chunk),
  then area-resized by that factor; Pillow's warnings while it reads a header are
  errors (:func:`pillow_warnings`);
* the EXIF orientation is applied exactly once (:func:`apply_orientation`).

Every problem raises a subclass of :class:`salt.InputFileError` naming the file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from salt.io.damage import heif_damage, tiff_damage, webp_damage
from salt.io.photo_errors import (
    CorruptImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    NotAnImageError,
)

__all__ = [
    "MAX_PIXELS",
    "Decoded",
    "apply_orientation",
    "check_size",
    "decode_pillow",
    "exif_orientation",
    "pillow_warnings",
    "reduction_for",
    "sniff_format",
    "to_rgb_uint8",
]

logger = logging.getLogger(__name__)

#: Largest image accepted, in pixels at full resolution as the header declares it,
#: for every format (a 200 MP phone photo is 16,320 x 12,240 = 199.8 MP). Checked
#: before decoding; Pillow's own limit (178.9 MP) is not used.
MAX_PIXELS: int = 200_000_000
#: Reduction factors of the decode (JPEG: libjpeg DCT scaling; others: area resampling).
_REDUCTIONS: tuple[int, ...] = (8, 4, 2)

# Pillow formats salt reads, with the magic bytes that identify them.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"II+\x00", "TIFF"),
    (0, b"MM\x00+", "TIFF"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"BM", "BMP"),
    (4, b"ftyp", "HEIF"),
)


@dataclass(frozen=True)
class Decoded:
    """Pixels of one file and how they were obtained (see :class:`salt.io.photo.Photo`)."""

    rgb: npt.NDArray[np.uint8]
    original_size: tuple[int, int]
    orientation: int
    reduction: int
    format: str


def sniff_format(data: bytes) -> str | None:
    """Return the image format the bytes start with (``"JPEG"``, ``"PNG"``, ...), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for offset, magic, fmt in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return fmt
    return None


# --------------------------------------------------------------------------- orientation
def apply_orientation(image: npt.NDArray[Any], orientation: int) -> npt.NDArray[Any]:
    """Turn a stored image upright according to its EXIF orientation tag.

    Parameters
    ----------
    image : numpy.ndarray, shape (H, W) or (H, W, C)
        Pixels as stored in the file.
    orientation : int
        EXIF tag 0x0112: 1 upright, 2 mirrored left-right, 3 rotated 180 degrees,
        4 mirrored top-bottom, 5 transposed, 6 needs a 90 degree clockwise turn,
        7 transversed, 8 needs a 90 degree counter-clockwise turn. Other values
        are treated as 1.

    Returns
    -------
    numpy.ndarray
        The upright image, C-contiguous; shape (W, H, ...) for 5-8.
    """
    if orientation == 2:
        out = image[:, ::-1]
    elif orientation == 3:
        out = image[::-1, ::-1]
    elif orientation == 4:
        out = image[::-1]
    elif orientation == 5:
        out = np.swapaxes(image, 0, 1)
    elif orientation == 6:
        out = np.rot90(image, -1)
    elif orientation == 7:
        out = np.swapaxes(image, 0, 1)[::-1, ::-1]
    elif orientation == 8:
        out = np.rot90(image, 1)
    else:
        out = image
    return np.ascontiguousarray(out)


def _clean_orientation(value: object) -> int:
    try:
        o = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 1
    return o if 1 <= o <= 8 else 1


# --------------------------------------------------------------------------- Pillow headers
# Pillow's warnings while it parses a header (a TIFF directory that runs past the end,
# a malformed APNG) mean damage. They are turned into errors for Pillow's modules only,
# and only while one thread at a time parses a header: warnings filters are global to
# the process, so the lock keeps one photo's filter from applying to another.
_PIL_HEADER_LOCK = threading.Lock()


@contextlib.contextmanager
def pillow_warnings(action: str = "error") -> Iterator[None]:
    """Handle Pillow's warnings with ``action`` ("error", "ignore") while one thread parses.

    Only warnings issued from Pillow's modules are affected.
    """
    with _PIL_HEADER_LOCK, warnings.catch_warnings():
        warnings.filterwarnings(action, module=r"PIL\.")  # type: ignore[arg-type]
        yield


_HEIF_REGISTERED = False


def _register_heif() -> None:
    global _HEIF_REGISTERED
    if _HEIF_REGISTERED:
        return
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # pragma: no cover - pillow-heif is a dependency
        logger.warning("pillow-heif is not installed: HEIC/HEIF photos cannot be read")
    _HEIF_REGISTERED = True


def _open_pillow(data: bytes, name: str, fmt: str | None) -> Any:
    """Pillow image with its header parsed (pixels not decoded), without Pillow's size limit.

    Pillow's plugins are tried as :func:`PIL.Image.open` tries them, but the image is
    returned before Pillow's decompression-bomb check: the size limit is
    :data:`MAX_PIXELS`, checked by the caller.
    """
    from PIL import Image

    _register_heif()
    Image.init()
    prefix = data[:16]
    problem = ""
    with pillow_warnings():
        for plugin in Image.ID:
            factory, accept = Image.OPEN[plugin]
            if accept is not None and not accept(prefix):
                continue
            try:
                return factory(io.BytesIO(data), name)
            except MemoryError:
                raise
            except Exception as exc:  # each plugin raises its own types on bad bytes
                if plugin == fmt or (fmt == "HEIF" and plugin.startswith(("HEIF", "AVIF"))):
                    problem = f"{type(exc).__name__}: {exc}"
    if fmt is not None:
        raise CorruptImageError(f"{name!r} is a damaged {fmt} file ({problem or 'unreadable'})")
    raise NotAnImageError(
        f"{name!r} is not an image that can be read ({len(data)} bytes starting with "
        f"{data[:16]!r}); expected JPEG, PNG, TIFF, WebP or HEIC"
    )


def exif_orientation(im: Any, name: str) -> int:
    """EXIF orientation (1-8) of a Pillow image; 1 when absent, invalid or unreadable.

    A damaged EXIF block is metadata, not pixels: the photo is kept, orientation 1,
    and a warning is logged.
    """
    try:
        with pillow_warnings():
            return _clean_orientation(im.getexif().get(0x0112, 1))
    except Exception as exc:
        logger.warning("%s: EXIF data unreadable (%s); orientation taken as 1", name, exc)
        return 1


# --------------------------------------------------------------------------- sizes
def reduction_for(short_side: int, target_side: int | None) -> int:
    """Largest factor in (8, 4, 2) with ``ceil(short_side / r) >= target_side``, else 1."""
    if target_side is None or target_side <= 0:
        return 1
    for r in _REDUCTIONS:
        if math.ceil(short_side / r) >= target_side:
            return r
    return 1


def check_size(name: str, fmt: str, w: int, h: int, min_side: int) -> None:
    """Check the size a header declares, before any pixel is decoded."""
    if w <= 0 or h <= 0:
        raise CorruptImageError(f"{name!r} is a damaged {fmt} file: its header declares {w} x {h}")
    if w * h > MAX_PIXELS:
        raise ImageTooLargeError(
            f"{name!r}: its {fmt} header declares {w} x {h} = {w * h / 1e6:,.0f} MP, above the "
            f"{MAX_PIXELS / 1e6:.0f} MP accepted (a damaged header, or not a photo)"
        )
    if min(w, h) < min_side:
        raise ImageTooSmallError(
            f"{name!r} is {w} x {h} pixels: the short side must be at least {min_side} px "
            "for a reliable measurement; use the original photo, not a thumbnail"
        )


def _shrink(rgb: npt.NDArray[np.uint8], reduction: int) -> npt.NDArray[np.uint8]:
    """Area-resample by an integer factor to ``ceil(w / r) x ceil(h / r)`` (OpenCV's fast path)."""
    if reduction == 1:
        return rgb
    import cv2

    h, w = rgb.shape[:2]
    size = (math.ceil(w / reduction), math.ceil(h / reduction))
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))


# --------------------------------------------------------------------------- Pillow formats
def _container_damage(im: Any, data: bytes, fmt: str) -> str | None:
    """Damage the decoder would not report (:mod:`salt.io.damage`, PNG chunk CRCs)."""
    if fmt == "PNG":
        from PIL import PngImagePlugin

        try:
            with pillow_warnings():
                PngImagePlugin.PngImageFile(io.BytesIO(data)).verify()
        except Exception as exc:  # checksum, cut chunk, missing end chunk
            return f"a PNG chunk fails its check ({type(exc).__name__}: {exc})"
        return None
    if fmt == "WEBP":
        return webp_damage(data)
    if fmt == "HEIF":
        return heif_damage(data)
    if fmt == "TIFF":
        tags = getattr(im, "tag_v2", {})
        offsets = tags.get(273) or tags.get(324) or ()
        counts = tags.get(279) or tags.get(325) or ()
        return tiff_damage(data, int(tags.get(259, 1)), offsets, counts)
    return None


def decode_pillow(
    data: bytes, name: str, fmt: str | None, *, target_side: int | None, min_side: int
) -> Decoded:
    """Decode a non-JPEG file with Pillow: checks, then pixels (see module notes).

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        The file's name, for messages.
    fmt : str or None
        The format :func:`sniff_format` told (None: unknown).
    target_side, min_side : int
        As for :func:`salt.io.photo.load_photo`.

    Returns
    -------
    Decoded

    Raises
    ------
    NotAnImageError, CorruptImageError, ImageTooLargeError, ImageTooSmallError
        As for :func:`salt.io.photo.load_photo`; other exceptions of the decoder are
        turned into :class:`CorruptImageError` by the caller.
    """
    im = _open_pillow(data, name, fmt)
    try:
        fmt = str(im.format or fmt or "unknown")
        w, h = (int(v) for v in im.size)
        check_size(name, fmt, w, h, min_side)
        problem = _container_damage(im, data, fmt)
        if problem is not None:
            raise CorruptImageError(f"{name!r} is a damaged {fmt} file: {problem}")
        if fmt == "PNG":  # Pillow's PNG EXIF reader decodes the pixels: decode first
            im.load()
        # TIFF and HEIF plugins turn the image while decoding: apply only what is
        # still pending afterwards, report what the file declared
        declared = _clean_orientation(
            im.info.get("original_orientation", exif_orientation(im, name))
        )
        im.load()
        pending = exif_orientation(im, name)
        rgb = apply_orientation(to_rgb_uint8(im), pending)
    finally:
        im.close()
    oh, ow = rgb.shape[:2]
    reduction = reduction_for(min(ow, oh), target_side)
    if pending != 1 and declared == 1:
        declared = pending
    return Decoded(_shrink(rgb, reduction), (int(ow), int(oh)), declared, reduction, fmt)


def to_rgb_uint8(im: Any) -> npt.NDArray[np.uint8]:
    """Pillow image (loaded) -> (H, W, 3) uint8 RGB; alpha over white, 16-bit scaled."""
    from PIL import Image

    mode = im.mode
    if mode.startswith("I") or mode == "F":
        arr = np.asarray(im)
        if arr.ndim == 3:  # exotic multi-band integer modes
            arr = arr[..., 0]
        arrf = arr.astype(np.float64)
        if mode.startswith("I;16") or (arrf.size and float(arrf.max()) > 255.0):
            arrf = arrf / 257.0
        grey = np.clip(np.rint(arrf), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb)
