"""Decode one photo file into an upright RGB array, safely and at a useful size.

:func:`load_photo` is the single entry point from a file to pixels. It

* reads the file once (so the SHA256 and the pixels come from the same bytes),
* reads the header lazily with Pillow (size and EXIF orientation, no pixel decode),
* decodes JPEGs with OpenCV at a reduced scale (``cv2.IMREAD_REDUCED_COLOR_2/4/8``,
  the largest factor that keeps the short side >= ``target_side``), so a 100 MP photo
  never exists at full resolution in memory,
* decodes the other formats (PNG 8/16-bit, grey, alpha; TIFF; WebP; HEIC/HEIF via
  pillow-heif; BMP, GIF first frame) with Pillow,
* applies the EXIF orientation (1-8) exactly once, and
* returns an (H, W, 3) uint8 **RGB** array in a frozen :class:`Photo`.

Every failure raises a subclass of :class:`salt.InputFileError` whose message names
the file and the problem (see the error classes below); no other exception escapes
for a bad file.

The file may be a local path, a ``file://`` URL or an fsspec URL (``s3://``,
``gs://``, ``memory://``; see :mod:`salt.io.storage`): a URL's bytes are read through
its file system, with the same checks and errors, then decoded exactly like a local
file's.

Notes
-----
* OpenCV applies EXIF orientation itself unless ``cv2.IMREAD_IGNORE_ORIENTATION``
  is passed; we always pass it and rotate ourselves, so JPEG and the Pillow formats
  follow the same rule. Pillow applies TIFF orientation while loading and
  pillow-heif applies the HEIF transform while decoding; we read the orientation
  left pending *after* the pixel decode and apply only that, so no format is
  rotated twice.
* A JPEG is checked structurally before decoding (markers walked up to the
  end-of-image marker), because libjpeg silently fills a truncated file with grey.
  Bytes after the end-of-image marker (e.g. a motion-photo video) are allowed.
* Transparent pixels (PNG/WebP/TIFF/HEIF alpha) are composited over white.
* 16-bit grey is scaled to 8 bits (``value / 257``, rounded); Pillow reads 16-bit colour
  as its high byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import math
import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from salt.errors import BadValueError, InputFileError
from salt.io.storage import as_local, url_fs

__all__ = [
    "MAX_DECODED_PIXELS",
    "MAX_FILE_BYTES",
    "CorruptImageError",
    "EmptyFileError",
    "ImageTooLargeError",
    "ImageTooSmallError",
    "NotAFileError",
    "NotAnImageError",
    "Photo",
    "PhotoNotFoundError",
    "UnreadableFileError",
    "load_mask",
    "load_photo",
    "photo_from_array",
]

logger = logging.getLogger(__name__)

#: Largest photo file accepted, in bytes (512 MiB).
MAX_FILE_BYTES: int = 512 * 1024 * 1024
#: Largest decoded image accepted, in pixels (after the reduced decode). A 100 MP JPEG
#: decoded with ``target_side`` set stays far below this; without it, it is allowed.
MAX_DECODED_PIXELS: int = 200_000_000
#: Reduction factors libjpeg can apply while decoding (OpenCV flags below).
_REDUCTIONS: tuple[int, ...] = (8, 4, 2)


# --------------------------------------------------------------------------- errors
class PhotoNotFoundError(InputFileError):
    """The photo path does not exist, or is a symbolic link to nothing."""


class NotAFileError(InputFileError):
    """The photo path is a directory or another non-regular file (FIFO, device)."""


class UnreadableFileError(InputFileError):
    """The file exists but cannot be read (permissions, I/O error)."""


class EmptyFileError(InputFileError):
    """The file has zero bytes."""


class NotAnImageError(InputFileError):
    """The bytes are not an image format that can be decoded (e.g. text named ``.jpg``)."""


class CorruptImageError(InputFileError):
    """The file looks like an image but is truncated or damaged."""


class ImageTooSmallError(InputFileError):
    """The image's short side is below ``min_side`` pixels."""


class ImageTooLargeError(InputFileError):
    """The file or the decoded image exceeds the size limits."""


# --------------------------------------------------------------------------- Photo
@dataclass(frozen=True, eq=False)
class Photo:
    """One decoded photo, upright, in RGB.

    Attributes
    ----------
    rgb : numpy.ndarray of uint8, shape (H, W, 3)
        Pixels in RGB order, EXIF orientation applied, possibly reduced in size
        (see ``reduction``).
    path : str
        The file path as given (a ``file://`` URL as its local path; other URLs
        unchanged), or the ``name`` of an in-memory array.
    sha256 : str
        Hex SHA256 of the file's bytes (for arrays: of the pixel bytes and shape).
        Two views with the same hash are the same photo.
    original_size : tuple of int
        ``(width, height)`` in pixels at full resolution, after orientation.
    orientation : int
        EXIF orientation tag of the file (1-8) that was applied; 1 when none.
    reduction : int
        Linear reduction factor of ``rgb`` relative to ``original_size``: 1, 2, 4 or 8;
        ``rgb`` is ``ceil(width / reduction)`` x ``ceil(height / reduction)``.
    format : str
        Decoded format (``"JPEG"``, ``"PNG"``, ``"TIFF"``, ``"WEBP"``, ``"HEIF"``, ...)
        or ``"array"``.
    """

    rgb: npt.NDArray[np.uint8]
    path: str
    sha256: str
    original_size: tuple[int, int]
    orientation: int
    reduction: int
    format: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of :attr:`rgb` in pixels."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


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


# --------------------------------------------------------------------------- helpers
def _exif_orientation(im: Any, name: str) -> int:
    """EXIF orientation (1-8) of a Pillow image; 1 when absent, invalid or unreadable."""
    try:
        with _quiet_pillow():
            return _clean_orientation(im.getexif().get(0x0112, 1))
    except Exception as exc:  # damaged EXIF must not lose an otherwise good photo
        logger.warning("%s: EXIF data unreadable (%s); orientation taken as 1", name, exc)
        return 1


def _reduction_for(short_side: int, target_side: int | None) -> int:
    """Largest factor in (8, 4, 2) with ``ceil(short_side / r) >= target_side``, else 1."""
    if target_side is None or target_side <= 0:
        return 1
    for r in _REDUCTIONS:
        if math.ceil(short_side / r) >= target_side:
            return r
    return 1


def _marker_candidates(data: bytes) -> npt.NDArray[np.intp]:
    """Offsets of 0xFF bytes that start a marker if met inside entropy-coded data.

    There 0xFF is followed by 0x00 (stuffing), 0xD0-0xD7 (restart markers) or more
    0xFF fill bytes; any other byte after 0xFF is a marker code. Vectorised: a few ms
    for a 10 MB file.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    ff = np.flatnonzero(arr[:-1] == 0xFF)
    code = arr[ff + 1]
    keep = (code != 0x00) & (code != 0xFF) & ((code < 0xD0) | (code > 0xD7))
    return ff[keep]


def _jpeg_problem(data: bytes) -> str | None:
    """Walk a JPEG's markers up to EOI; return what is wrong, or None when complete."""
    n = len(data)
    truncated = "is truncated (the data ends before the JPEG end-of-image marker)"
    if not data.startswith(b"\xff\xd8"):
        return "does not start with a JPEG start-of-image marker"
    pos = 2
    candidates: npt.NDArray[np.intp] | None = None
    while True:
        if pos >= n:
            return truncated
        if data[pos] != 0xFF:
            return f"is damaged (no JPEG marker at byte {pos})"
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            return truncated
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            return None
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # stand-alone markers
            continue
        if pos + 2 > n:
            return truncated
        length = (data[pos] << 8) | data[pos + 1]
        if length < 2:
            return f"is damaged (bad JPEG segment length at byte {pos})"
        pos += length
        if pos > n:
            return truncated
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next marker
            if candidates is None:
                candidates = _marker_candidates(data)
            k = int(np.searchsorted(candidates, pos))
            if k >= candidates.size:
                return truncated
            pos = int(candidates[k])


def _to_rgb_uint8(im: Any) -> npt.NDArray[np.uint8]:
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


def _shrink(rgb: npt.NDArray[np.uint8], reduction: int) -> npt.NDArray[np.uint8]:
    if reduction == 1:
        return rgb
    import cv2

    h, w = rgb.shape[:2]
    size = (math.ceil(w / reduction), math.ceil(h / reduction))
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))


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


def _read_bytes(path: Path) -> bytes:
    name = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            target = os.readlink(path)
            raise PhotoNotFoundError(
                f"{name!r} is a broken symbolic link (it points to {target!r}, which does not "
                "exist): fix or remove the link"
            ) from None
        raise PhotoNotFoundError(f"{name!r} does not exist") from None
    except PermissionError as exc:
        raise UnreadableFileError(
            f"{name!r} cannot be read (permission denied on {exc.filename!r}): check the "
            "folder's permissions"
        ) from None
    except OSError as exc:
        raise UnreadableFileError(f"{name!r} cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise NotAFileError(f"{name!r} is a directory, not a photo file")
    if not stat.S_ISREG(st.st_mode):
        raise NotAFileError(f"{name!r} is not a regular file (a pipe, socket or device)")
    if st.st_size == 0:
        raise EmptyFileError(f"{name!r} is empty (0 bytes): the upload or copy failed")
    if st.st_size > MAX_FILE_BYTES:
        raise _too_large(name, st.st_size)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        raise UnreadableFileError(
            f"{name!r} cannot be read (permission denied): check the file's permissions"
        ) from None
    except IsADirectoryError:  # pragma: no cover - raced with the stat above
        raise NotAFileError(f"{name!r} is a directory, not a photo file") from None
    except OSError as exc:
        raise UnreadableFileError(f"{name!r} cannot be read: {exc.strerror or exc}") from None
    if not data:
        raise EmptyFileError(f"{name!r} is empty (0 bytes): the upload or copy failed")
    return data


def _too_large(name: str, size: int) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"{name!r} is {size / 2**20:.0f} MiB, more than the "
        f"{MAX_FILE_BYTES / 2**20:.0f} MiB accepted for one photo"
    )


def _read_url_bytes(url: str) -> bytes:
    """Read a photo's bytes through fsspec, with the same checks and errors as a local file."""
    fs, path = url_fs(url)  # UnsupportedURLError (an InputFileError) names the extra
    try:
        info = fs.info(path)
        if info.get("type") == "directory":
            raise NotAFileError(f"{url!r} is a directory, not a photo file")
        size = info.get("size")
        if size == 0:
            raise EmptyFileError(f"{url!r} is empty (0 bytes): the upload or copy failed")
        if size is not None and size > MAX_FILE_BYTES:
            raise _too_large(url, int(size))
        data = bytes(fs.cat_file(path, start=0, end=MAX_FILE_BYTES + 1))
    except InputFileError:
        raise
    except FileNotFoundError:
        raise PhotoNotFoundError(f"{url!r} does not exist") from None
    except IsADirectoryError:
        raise NotAFileError(f"{url!r} is a directory, not a photo file") from None
    except PermissionError:
        raise UnreadableFileError(
            f"{url!r} cannot be read (permission denied): check the credentials and the "
            "bucket's or file's permissions"
        ) from None
    except MemoryError:
        raise
    except Exception as exc:  # OSError, or a store's own errors (network, HTTP, auth)
        raise UnreadableFileError(f"{url!r} cannot be read ({type(exc).__name__}: {exc})") from None
    if not data:
        raise EmptyFileError(f"{url!r} is empty (0 bytes): the upload or copy failed")
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(url, len(data))
    return data


@contextlib.contextmanager
def _quiet_pillow() -> Iterator[None]:
    """Ignore Pillow's own warnings (damaged EXIF, decompression-bomb size) while it parses.

    They are not errors for us (the size limits are ours, a bad EXIF block means
    orientation 1), and under ``-W error`` they would abort a good photo. The filter is
    restricted to warnings issued from Pillow's modules, so the known thread-safety gap
    of :class:`warnings.catch_warnings` (a racing thread may leave the filter installed)
    can only ever silence Pillow.
    """
    from PIL import Image

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
        yield


def _open_header(data: bytes, name: str) -> Any:
    """Pillow image with header parsed, pixels not decoded."""
    from PIL import Image, JpegImagePlugin, UnidentifiedImageError

    if data[:3] == b"\xff\xd8\xff":
        # Open the JPEG plugin directly: Image.open's decompression-bomb warning would
        # fire for a 100 MP photo that we are about to decode at 1/8 scale anyway.
        try:
            with _quiet_pillow():
                return JpegImagePlugin.JpegImageFile(io.BytesIO(data))
        except Exception as exc:
            raise CorruptImageError(f"{name!r} is a damaged JPEG (header: {exc})") from None
    _register_heif()
    try:
        with _quiet_pillow():
            return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        head = data[:16]
        raise NotAnImageError(
            f"{name!r} is not an image that can be read ({len(data)} bytes starting with "
            f"{head!r}); expected JPEG, PNG, TIFF, WebP or HEIC"
        ) from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{name!r} is too large to decode: {exc}") from None
    except Exception as exc:
        raise CorruptImageError(f"{name!r} is a damaged image (header: {exc})") from None


# --------------------------------------------------------------------------- public API
def load_photo(
    path: str | os.PathLike[str], *, target_side: int | None = None, min_side: int = 256
) -> Photo:
    """Read a photo file into an upright RGB :class:`Photo`.

    Parameters
    ----------
    path : str or path-like
        A JPEG, PNG, TIFF, WebP, HEIC/HEIF (or BMP/GIF) file: a local path, a
        ``file://`` URL, or an fsspec URL such as ``"s3://bucket/P1/week0/top.jpg"``
        (read through fsspec; see :mod:`salt.io.storage`).
    target_side : int, optional
        Smallest short side, in pixels, the caller needs (e.g. the network input
        size). The photo is decoded reduced by the largest factor in (8, 4, 2) that
        keeps ``ceil(short side / factor) >= target_side`` (JPEGs during decode via
        libjpeg; other formats by area resampling after decode). ``None`` decodes
        at full resolution.
    min_side : int, default 256
        Reject images whose short side, at full resolution, is below this many pixels.

    Returns
    -------
    Photo
        ``rgb`` (H, W, 3) uint8 RGB, upright; ``sha256`` of the file bytes;
        ``original_size`` ``(width, height)`` after orientation; ``orientation``
        (1-8) applied; ``reduction`` (1, 2, 4 or 8).

    Raises
    ------
    PhotoNotFoundError
        Missing path or broken symbolic link.
    UnsupportedURLError
        A URL whose protocol is unknown or whose package (e.g. s3fs) is not
        installed; the message names what to install.
    NotAFileError
        A directory (or pipe, device) where a photo was expected.
    UnreadableFileError
        No permission to read, or an I/O error (for a URL also network and
        credential errors of its file system).
    EmptyFileError
        Zero bytes.
    NotAnImageError
        Not a readable image format (e.g. a text file named ``.jpg``).
    CorruptImageError
        Truncated or damaged image data.
    ImageTooSmallError
        Short side below ``min_side``.
    ImageTooLargeError
        File above :data:`MAX_FILE_BYTES` or decoded image above :data:`MAX_DECODED_PIXELS`.

    All derive from :class:`salt.InputFileError`; messages name the file.

    Examples
    --------
    >>> photo = load_photo("P001/week0/top.jpg", target_side=512)  # doctest: +SKIP
    >>> photo.rgb.shape, photo.reduction  # doctest: +SKIP
    ((756, 1008, 3), 4)
    """
    local = as_local(path)
    if local is not None:
        name = str(local)
        data = _read_bytes(local)
    else:
        name = str(path)
        data = _read_url_bytes(name)
    sha = hashlib.sha256(data).hexdigest()
    im = _open_header(data, name)
    try:
        return _decode(im, data, name, sha, target_side=target_side, min_side=min_side)
    except InputFileError:
        raise
    except MemoryError:
        raise ImageTooLargeError(
            f"{name!r} is too large to decode in the memory available"
        ) from None
    except Exception as exc:  # any decoder failure on a bad file becomes a salt error
        raise CorruptImageError(
            f"{name!r} cannot be decoded ({type(exc).__name__}: {exc}); the file is damaged"
        ) from None
    finally:
        im.close()


def _decode(
    im: Any, data: bytes, name: str, sha: str, *, target_side: int | None, min_side: int
) -> Photo:
    fmt = str(im.format or "unknown")
    w, h = (int(v) for v in im.size)
    if w <= 0 or h <= 0:
        raise CorruptImageError(f"{name!r} has an invalid size {w} x {h}")
    if min(w, h) < min_side:
        raise ImageTooSmallError(
            f"{name!r} is {w} x {h} pixels: the short side must be at least {min_side} px "
            "for a reliable measurement; use the original photo, not a thumbnail"
        )
    if fmt in ("JPEG", "MPO"):
        return _decode_jpeg(im, data, name, sha, w, h, target_side)

    # Pillow formats: orientation may be applied by the plugin during load (TIFF,
    # HEIF); apply only what is still pending afterwards.
    declared = _clean_orientation(im.info.get("original_orientation", _exif_orientation(im, name)))
    if w * h > MAX_DECODED_PIXELS:
        raise ImageTooLargeError(
            f"{name!r} is {w} x {h} = {w * h / 1e6:.0f} MP, above the "
            f"{MAX_DECODED_PIXELS / 1e6:.0f} MP that can be decoded for this format; "
            "save it as JPEG"
        )
    im.load()
    pending = _exif_orientation(im, name)
    rgb = apply_orientation(_to_rgb_uint8(im), pending)
    oh, ow = rgb.shape[:2]
    reduction = _reduction_for(min(ow, oh), target_side)
    rgb = _shrink(rgb, reduction)
    if pending != 1 and declared == 1:
        declared = pending
    return Photo(rgb, name, sha, (int(ow), int(oh)), declared, reduction, fmt)


def _decode_jpeg(
    im: Any, data: bytes, name: str, sha: str, w: int, h: int, target_side: int | None
) -> Photo:
    import cv2

    problem = _jpeg_problem(data)
    if problem is not None:
        raise CorruptImageError(f"{name!r} {problem}")
    orientation = _exif_orientation(im, name)
    reduction = _reduction_for(min(w, h), target_side)
    out_w, out_h = math.ceil(w / reduction), math.ceil(h / reduction)
    if out_w * out_h > MAX_DECODED_PIXELS:
        raise ImageTooLargeError(
            f"{name!r} is {w} x {h} pixels; decoding it at 1/{reduction} would need "
            f"{out_w * out_h / 1e6:.0f} MP, above {MAX_DECODED_PIXELS / 1e6:.0f} MP: "
            "pass a target_side"
        )
    flags = {
        1: cv2.IMREAD_COLOR,
        2: cv2.IMREAD_REDUCED_COLOR_2,
        4: cv2.IMREAD_REDUCED_COLOR_4,
        8: cv2.IMREAD_REDUCED_COLOR_8,
    }[reduction] | cv2.IMREAD_IGNORE_ORIENTATION
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    if bgr is None or bgr.ndim != 3 or bgr.shape[:2] != (out_h, out_w):
        # OpenCV cannot read some valid JPEGs (12-bit, arithmetic coding): let Pillow try.
        logger.debug("OpenCV could not decode %s; falling back to Pillow", name)
        if reduction > 1:
            im.draft("RGB", (out_w, out_h))
        im.load()
        rgb = _to_rgb_uint8(im)
        if rgb.shape[:2] != (out_h, out_w):
            rgb = np.ascontiguousarray(
                cv2.resize(rgb, (out_w, out_h), interpolation=cv2.INTER_AREA)
            )
    else:
        rgb = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    rgb = apply_orientation(rgb, orientation)
    size = (h, w) if orientation >= 5 else (w, h)
    return Photo(rgb, name, sha, (int(size[0]), int(size[1])), orientation, reduction, "JPEG")


def photo_from_array(rgb: npt.ArrayLike, *, name: str) -> Photo:
    """Wrap an in-memory RGB image as a :class:`Photo`.

    Parameters
    ----------
    rgb : array_like of uint8, shape (H, W, 3)
        Upright pixels in RGB order.
    name : str
        Label used in messages and outputs in place of a file path (e.g. ``"top"``).

    Returns
    -------
    Photo
        ``orientation`` 1, ``reduction`` 1, ``original_size`` ``(W, H)``, ``format``
        ``"array"``, ``sha256`` of the shape and pixel bytes (equal arrays hash equal).

    Raises
    ------
    BadValueError
        If the array is not (H, W, 3) uint8 or is empty.
    """
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise BadValueError(
            f"photo {name!r}: expected an (H, W, 3) uint8 RGB array, got shape {arr.shape} "
            f"dtype {arr.dtype}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise BadValueError(f"photo {name!r}: the array is empty (shape {arr.shape})")
    arr = np.ascontiguousarray(arr)
    digest = hashlib.sha256(f"{arr.shape}".encode())
    digest.update(arr.tobytes())
    h, w = arr.shape[:2]
    return Photo(arr, str(name), digest.hexdigest(), (int(w), int(h)), 1, 1, "array")


def load_mask(path: str | os.PathLike[str]) -> npt.NDArray[np.uint8]:
    """Read a class mask PNG (the mask convention of :mod:`salt.classmap`).

    Parameters
    ----------
    path : path-like
        A single-channel uint8 PNG with values 0 (not scalp), 1 (hair), 2 (hairless)
        and 255 (unknown).

    Returns
    -------
    ndarray of uint8, shape (H, W)

    Raises
    ------
    InputFileError
        If the file cannot be read, is not single-channel uint8, or holds other values.
    """
    import cv2

    lab = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if lab is None or lab.ndim != 2 or lab.dtype != np.uint8:
        raise InputFileError(f"mask {path} must be a single-channel uint8 PNG")
    bad = ~np.isin(lab, (0, 1, 2, 255))
    if bad.any():
        raise InputFileError(
            f"mask {path} holds values other than 0, 1, 2, 255 (e.g. {lab[bad][0]})"
        )
    return np.asarray(lab, np.uint8)
