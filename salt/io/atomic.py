"""Atomic file writes: write a temporary file beside the target, then rename it over.

A killed process leaves either the old file or the new one, never half a file; its
temporary file (``.salt-tmp.<name>.<random>``, :data:`TEMP_PREFIX`) is removed by the
next run (:func:`salt.io.ownership.remove_temporaries`). Files get the mode a plain
``open`` would give them (``0o666`` less the umask), so colleagues who share a
folder can read the results. A write that fails (disk full, quota, read-only, no
permission) raises :class:`salt.OutputError` naming the file and the cause.
Used by every writer in :mod:`salt` (batch outputs, models, synthetic data sets).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from salt.errors import OutputError

__all__ = [
    "TEMP_PREFIX",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "file_mode",
    "write_error",
]

#: Names of temporary files start with this (hidden; removed by the next run).
TEMP_PREFIX = ".salt-tmp."

_CAUSES = {
    errno.ENOSPC: "no space left on the device: free some space",
    errno.EDQUOT: "disk quota exceeded: free some space or ask for a larger quota",
    errno.EROFS: "the file system is read-only: choose a writable folder",
    errno.EACCES: "permission denied: choose a folder you can write",
    errno.EPERM: "operation not permitted: choose a folder you can write",
    errno.EIO: "input/output error: check the disk",
}


def write_error(path: str | os.PathLike[str], exc: OSError) -> OutputError:
    """Turn an ``OSError`` of a write into an :class:`OutputError` naming the file and cause.

    Parameters
    ----------
    path : path-like
        The file being written.
    exc : OSError
        What the operating system raised.

    Returns
    -------
    OutputError
        ``"cannot write <path>: <cause>; ..."``; raise it ``from exc``.
    """
    cause = _CAUSES.get(exc.errno or -1, exc.strerror or str(exc))
    return OutputError(
        f"cannot write {path}: {cause} (finished visits are kept; run the same command "
        "again to go on)"
    )


@functools.cache
def _umask() -> int:
    """Return the process umask, read without changing it where /proc allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # pragma: no cover - not Linux
    os.umask(mask)  # pragma: no cover
    return mask  # pragma: no cover


def file_mode() -> int:
    """Mode of a new file: ``0o666`` less the umask (what ``open`` gives)."""
    return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "wb", *, fsync: bool = True
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it over ``path`` on success.

    Parameters
    ----------
    path : path-like
        The file to write.
    mode : {"wb", "w"}
        Binary or text (UTF-8) mode.
    fsync : bool, default True
        Flush the file to disk before the rename (survives a power cut, not only a
        killed process); overlays skip it for speed.

    Yields
    ------
    file object
        Write the content to it. On an exception the temporary file is removed and
        ``path`` is left untouched.

    Raises
    ------
    OutputError
        If the file cannot be written (disk full, quota, read-only, permissions).
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", dir=target.parent)
    except OSError as exc:
        raise write_error(target, exc) from exc
    try:
        os.fchmod(fd, file_mode())
        text: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with open(fd, mode, **text) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise write_error(target, exc) from exc
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb", fsync=fsync) as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w") as fh:
        fh.write(text)
