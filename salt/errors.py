"""Exceptions raised by :mod:`salt`.

Every error the library raises on purpose derives from :class:`SaltError`, so a
caller can catch one type. Messages name the file, visit or view concerned and
say what to do about it.
"""

from __future__ import annotations

__all__ = [
    "BadValueError",
    "DuplicateViewError",
    "EmptyScalpError",
    "InputFileError",
    "MissingViewError",
    "ModelError",
    "OutputError",
    "SaltError",
]


class SaltError(Exception):
    """Base class of every error raised on purpose by :mod:`salt`."""


class InputFileError(SaltError):
    """A photo or table cannot be used: missing, unreadable, corrupt or the wrong kind."""


class MissingViewError(SaltError):
    """A visit lacks one of the four SALT views (top, back, left, right)."""


class DuplicateViewError(InputFileError):
    """A visit has more than one photo for the same view."""


class BadValueError(SaltError, ValueError):
    """A number or array is outside what the measurement allows (range, shape, dtype, NaN)."""


class EmptyScalpError(BadValueError):
    """A view shows no scalp, so its hair-loss percentage is undefined."""


class ModelError(SaltError):
    """A model cannot be found, fails its hash check, or does not match its configuration."""


class OutputError(SaltError):
    """An output folder cannot be written, or is in use by another run."""
