"""Where photos live: local paths, ``file://`` URLs and any fsspec file system.

Photo folders may be given as a local path, a ``file://`` URL, or the URL of any
file system `fsspec <https://filesystem-spec.readthedocs.io>`_ knows: ``s3://``
(install ``salt[s3]``, i.e. s3fs), ``gs://`` (``salt[gcs]``, i.e. gcsfs),
``az://`` (adlfs), ``memory://`` (in this process only; used by the tests), ...
Credentials come from the file system's usual sources (environment variables,
``~/.aws``, instance roles); ``salt`` stores none.

Local paths and ``file://`` URLs become :class:`pathlib.Path` and keep the local
code paths (``os.stat`` checks, reduced JPEG decode); every other URL is read
through fsspec. Output folders are local (see :func:`salt.score_folder`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["PhotoPath", "as_local", "is_url", "iter_bytes", "join", "list_folder", "url_fs"]

#: A photo's location: a local :class:`~pathlib.Path` or a URL string.
PhotoPath = Path | str

_CHUNK = 1 << 20


def is_url(path: str | os.PathLike[str]) -> bool:
    """Return True when ``path`` is a URL of a non-local file system (``s3://...``).

    ``file://`` URLs and plain paths (also Windows ``C:\\...``) are local.
    """
    if isinstance(path, os.PathLike):
        return False
    text = str(path)
    scheme, sep, _ = text.partition("://")
    if not sep or len(scheme) < 2:
        return False
    return scheme.lower() not in ("file", "local")


def as_local(path: str | os.PathLike[str]) -> Path | None:
    """Return the local :class:`~pathlib.Path` of a path or ``file://`` URL, else None."""
    if isinstance(path, os.PathLike):
        return Path(path)
    text = str(path)
    if is_url(text):
        return None
    for prefix in ("file://", "local://"):
        if text.lower().startswith(prefix):
            return Path(text[len(prefix) :])
    return Path(text)


def url_fs(url: str) -> tuple[Any, str]:
    """Return ``(filesystem, path)`` for a URL (``fsspec.core.url_to_fs``).

    Raises
    ------
    ValueError
        Unknown protocol, or its package is not installed (the message names it).
    """
    import fsspec.core

    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        raise ValueError(
            f"cannot open {url!r}: {exc} (e.g. pip install 'salt[s3]' for s3://, "
            "'salt[gcs]' for gs://)"
        ) from None


def join(base: PhotoPath, *parts: str) -> PhotoPath:
    """Join path components, keeping the kind (Path or URL) of ``base``."""
    if isinstance(base, Path):
        return base.joinpath(*parts)
    return "/".join([base.rstrip("/"), *parts])


def list_folder(folder: PhotoPath) -> list[tuple[str, bool, PhotoPath]]:
    """List a folder as ``(name, is_folder, location)`` entries, sorted by name.

    Hidden entries (names starting with ".") are left out.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If ``folder`` does not exist or is not a folder.
    """
    if isinstance(folder, Path):
        if not folder.exists():
            raise FileNotFoundError(str(folder))
        if not folder.is_dir():
            raise NotADirectoryError(str(folder))
        entries = [(p.name, p.is_dir(), p) for p in folder.iterdir()]
    else:
        fs, root = url_fs(folder)
        if not fs.exists(root):
            raise FileNotFoundError(folder)
        if not fs.isdir(root):
            raise NotADirectoryError(folder)
        entries = []
        for info in fs.ls(root, detail=True):
            name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
            if str(info["name"]).rstrip("/") == root.rstrip("/"):
                continue  # some stores list the folder itself
            entries.append((name, info.get("type") == "directory", join(folder, name)))
    return sorted((e for e in entries if not e[0].startswith(".")), key=lambda e: e[0])


def iter_bytes(url: str, chunk: int = _CHUNK) -> Iterator[bytes]:
    """Yield the bytes of a file at ``url`` in chunks (the file is not held whole)."""
    fs, path = url_fs(url)
    with fs.open(path, "rb") as fh:
        while block := fh.read(chunk):
            yield block


def sha256(location: PhotoPath) -> str:
    """SHA256 (hex) of a file's bytes, local or URL; raises OSError if unreadable."""
    local = as_local(location)
    digest = hashlib.sha256()
    if local is not None:
        with open(local, "rb") as fh:
            while block := fh.read(_CHUNK):
                digest.update(block)
    else:
        for block in iter_bytes(str(location)):
            digest.update(block)
    return digest.hexdigest()
