"""Why a photo file could not be turned into pixels: one exception class per kind of problem.

All derive from :class:`salt.InputFileError`; :func:`salt.io.photo.load_photo` raises
them with a message that names the file and the problem, and the batch engine writes
the class name into ``errors.csv``. They are re-exported by :mod:`salt.io.photo`.
"""

from __future__ import annotations

from salt.errors import InputFileError

__all__ = [
    "CorruptImageError",
    "EmptyFileError",
    "ImageTooLargeError",
    "ImageTooSmallError",
    "NotAFileError",
    "NotAnImageError",
    "PhotoNotFoundError",
    "UnreadableFileError",
]


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
    """The file is an image format but is truncated or damaged.

    Raised for every warning or error of the format's decoder (libjpeg's "Corrupt JPEG
    data", a PNG checksum, a broken TIFF directory, ...) and for image data with a
    zero-filled block: the photo is not scored, whatever part of it is damaged.
    """


class ImageTooSmallError(InputFileError):
    """The image's short side is below ``min_side`` pixels."""


class ImageTooLargeError(InputFileError):
    """The file or the image size its header declares exceeds the limits."""
