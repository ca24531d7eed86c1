"""Read one photo file into an upright RGB array, safely and at a useful size.

:func:`load_photo` is the single entry point from a file to pixels. It

* reads the file once (so the SHA256 and the pixels come from the same bytes),
* decodes it (:mod:`salt.io.decode_jpeg` for JPEG, :mod:`salt.io.decode` for the
  other formats): the format is told from the bytes, the size the header declares
  is checked before any pixel is allocated, JPEGs are decoded by libjpeg-turbo at a
  reduced DCT scale chosen from the header (1/2, 1/4 or 1/8, the smallest that keeps
  the short side >= ``target_side``), so a 100 MP photo never exists at full
  resolution in memory, and the other formats
  (PNG 8/16-bit, grey, alpha; TIFF; WebP; HEIC/HEIF via pillow-heif; BMP, GIF first
  frame) are decoded by Pillow and area-resized by the same factor,
* applies the EXIF orientation (1-8) exactly once, and
* returns an (H, W, 3) uint8 **RGB** array in a frozen :class:`Photo`.

Every failure raises a subclass of :class:`salt.InputFileError` whose message names
the file and the problem (:mod:`salt.io.photo_errors`, re-exported here); no other
exception escapes for a bad file. A *damaged* photo fails, whatever part is damaged:
every warning or error of the decoder (libjpeg's "Corrupt JPEG data", a PNG
checksum, a broken TIFF directory, a HEIF box cut short) and a zero-filled block in
the image data (:mod:`salt.io.damage`) raise :class:`CorruptImageError`, so a photo
that only *seems* to decode is never scored.

The file may be a local path, a ``file://`` URL or an fsspec URL (``s3://``,
``gs://``, ``memory://``; see :mod:`salt.io.storage`): a URL's bytes are read through
its file system, with the same checks and errors, then decoded exactly like a local
file's.

Notes
-----
* Pillow applies TIFF orientation while loading and pillow-heif applies the HEIF
  transform while decoding; the orientation left pending *after* the pixel decode is
  the one applied, so no format is rotated twice.
* Transparent pixels (PNG/WebP/TIFF/HEIF alpha) are composited over white.
* 16-bit grey is scaled to 8 bits (``value / 257``, rounded); Pillow reads 16-bit colour
  as its high byte.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from salt.errors import BadValueError, InputFileError
from salt.io.decode import MAX_PIXELS, Decoded, apply_orientation, decode_pillow, sniff_format
from salt.io.decode_jpeg import decode_jpeg
from salt.io.photo_errors import (
    CorruptImageError,
    EmptyFileError,
    ImageTooLargeError,
    ImageTooSmallError,
    NotAFileError,
    NotAnImageError,
    PhotoNotFoundError,
    UnreadableFileError,
)
from salt.io.storage import as_local, url_fs

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "CorruptImageError",
    "EmptyFileError",
    "ImageTooLargeError",
    "ImageTooSmallError",
    "NotAFileError",
    "NotAnImageError",
    "Photo",
    "PhotoNotFoundError",
    "UnreadableFileError",
    "apply_orientation",
    "load_mask",
    "load_photo",
    "photo_from_array",
]

logger = logging.getLogger(__name__)

#: Largest photo file accepted, in bytes (512 MiB).
MAX_FILE_BYTES: int = 512 * 1024 * 1024


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


# --------------------------------------------------------------------------- reading
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
        keeps ``ceil(short side / factor) >= target_side`` (JPEGs during decode by
        libjpeg's DCT scaling, chosen from the header; other formats by area
        resampling after decode). ``None`` decodes at full resolution.
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
        Truncated or damaged: any warning or error of the decoder, a damaged
        container, a zero-filled block in the image data.
    ImageTooSmallError
        Short side below ``min_side``.
    ImageTooLargeError
        File above :data:`MAX_FILE_BYTES`, or a header that declares more than
        :data:`MAX_PIXELS` (checked before decoding).

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
    d = _decode(data, name, target_side=target_side, min_side=min_side)
    return Photo(d.rgb, name, sha, d.original_size, d.orientation, d.reduction, d.format)


def _decode(
    data: bytes, name: str, *, target_side: int | None = None, min_side: int = 256
) -> Decoded:
    """Decode an image file's bytes into upright RGB (JPEG or Pillow path; see module notes).

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        The file's name, for messages.
    target_side : int, optional
        Smallest short side needed (the network input); the decode is reduced by the
        largest factor in (8, 4, 2) that keeps the short side >= it. None: full size.
    min_side : int, default 256
        Smallest short side accepted at full resolution.

    Returns
    -------
    Decoded
        ``rgb`` (H, W, 3) uint8, upright; ``original_size`` (width, height) at full
        resolution after orientation; ``orientation`` applied (1-8); ``reduction``.

    Raises
    ------
    NotAnImageError
        The bytes are no image format.
    CorruptImageError
        A damaged or truncated file: every decoder warning or error, a damaged
        container, a zero-filled block in the image data.
    ImageTooLargeError
        The header declares more than :data:`salt.io.decode.MAX_PIXELS`.
    ImageTooSmallError
        The short side is below ``min_side``.
    """
    fmt = sniff_format(data)
    try:
        if fmt == "JPEG":
            return decode_jpeg(data, name, target_side=target_side, min_side=min_side)
        return decode_pillow(data, name, fmt, target_side=target_side, min_side=min_side)
    except (CorruptImageError, NotAnImageError, ImageTooLargeError, ImageTooSmallError):
        raise
    except MemoryError:
        raise ImageTooLargeError(
            f"{name!r} is too large to decode in the memory available"
        ) from None
    except Exception as exc:  # any other decoder failure on a bad file is damage
        raise CorruptImageError(
            f"{name!r} is a damaged {fmt or 'image'} file ({type(exc).__name__}: {exc})"
        ) from None


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
    """Read a class-map PNG: grey (labelled folders) or palette (``salt score --masks``).

    The mask convention of :mod:`salt.classmap`: pixel values (grey levels or palette
    indices) 0 (not scalp), 1 (hair), 2 (hairless) and 255 (unknown).

    Parameters
    ----------
    path : path-like
        The PNG file.

    Returns
    -------
    ndarray of uint8, shape (H, W)

    Raises
    ------
    InputFileError
        If the file cannot be read, is not single-channel (grey or palette), or holds
        other values.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P"):
                raise InputFileError(
                    f"mask {path} is a {im.mode} image: expected a grey or palette PNG of classes"
                )
            lab = np.asarray(im, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise InputFileError(f"cannot read the mask {path}: {exc}") from None
    bad = ~np.isin(lab, (0, 1, 2, 255))
    if bad.any():
        raise InputFileError(
            f"mask {path} holds values other than 0, 1, 2, 255 (e.g. {lab[bad][0]})"
        )
    return np.asarray(lab, np.uint8)
