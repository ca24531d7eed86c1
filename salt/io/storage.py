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
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from salt.errors import InputFileError

__all__ = [
    "PhotoPath",
    "UnsupportedURLError",
    "as_local",
    "is_url",
    "iter_bytes",
    "join",
    "list_folder",
    "sha256",
    "url_fs",
]

#: A photo's location: a local :class:`~pathlib.Path` or a URL string.
PhotoPath = Path | str

_CHUNK = 1 << 20

# "s3", "gs", "simplecache::s3", ... (RFC 3986 scheme characters; one letter is a
# Windows drive, never a scheme).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]+(?:::[A-Za-z][A-Za-z0-9+.\-]+)*")
_LOCAL_SCHEMES = ("file", "local")
# Protocol -> the extra of ``salt`` that installs its file system.
_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}


class UnsupportedURLError(InputFileError, ValueError):
    """A URL whose protocol fsspec does not know, or whose package is not installed."""


def _scheme(text: str) -> str | None:
    scheme, sep, _ = text.partition("://")
    if not sep or _SCHEME.fullmatch(scheme) is None:
        return None
    return scheme.lower()


def is_url(path: str | os.PathLike[str]) -> bool:
    r"""Return True when ``path`` is a URL of a non-local file system.

    Parameters
    ----------
    path : str or path-like
        A location as given by the user.

    Returns
    -------
    bool
        True for ``s3://bucket/x``, ``gs://...``, ``memory://...``; False for
        path-like objects, plain paths (also Windows ``C:\x``) and ``file://`` URLs.

    Examples
    --------
    >>> is_url("s3://bucket/photos"), is_url("file:///data"), is_url("C:\\photos")
    (True, False, False)
    """
    if isinstance(path, os.PathLike):
        return False
    scheme = _scheme(str(path))
    return scheme is not None and scheme not in _LOCAL_SCHEMES


def as_local(path: str | os.PathLike[str]) -> Path | None:
    """Return the local :class:`~pathlib.Path` of a path or ``file://`` URL, else None.

    Parameters
    ----------
    path : str or path-like
        A plain path, a ``file://`` (or fsspec ``local://``) URL, or another URL.

    Returns
    -------
    Path or None
        The local path; ``%xx`` escapes of a ``file://`` URL are decoded (so
        ``Path.as_uri()`` round-trips). None for a non-local URL.

    Examples
    --------
    >>> as_local("file:///data/my%20photos").as_posix(), as_local("s3://b/x")
    ('/data/my photos', None)
    """
    if isinstance(path, os.PathLike):
        return Path(path)
    text = str(path)
    scheme = _scheme(text)
    if scheme is None:
        return Path(text)
    if scheme == "local":
        return Path(text[len("local://") :])
    if scheme == "file":
        parts = urlsplit(text)
        local = url2pathname(parts.path)
        if parts.netloc and parts.netloc.lower() != "localhost":
            local = f"//{parts.netloc}{local}"  # a UNC share: file://server/share/x
        return Path(local)
    return None


def url_fs(url: str) -> tuple[Any, str]:
    """Return ``(filesystem, path)`` for a URL (``fsspec.core.url_to_fs``).

    Parameters
    ----------
    url : str
        A URL such as ``"s3://bucket/photos"``.

    Returns
    -------
    tuple
        The fsspec file system and the path within it.

    Raises
    ------
    UnsupportedURLError
        Unknown protocol, or its package is not installed; the message names the URL
        and what to install. (Also a :class:`ValueError`.)
    """
    import fsspec.core

    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        scheme = (_scheme(url) or "").rpartition("::")[2]
        extra = _EXTRAS.get(scheme)
        how = (
            f"pip install 'salt[{extra}]'"
            if extra
            else f"install the fsspec file system for {scheme}://"
        )
        raise UnsupportedURLError(f"cannot open {url!r}: {exc}; {how}") from None
    except ValueError as exc:
        raise UnsupportedURLError(
            f"cannot open {url!r}: {exc}. Give a local path, a file:// URL, s3:// "
            "(pip install 'salt[s3]'), gs:// (pip install 'salt[gcs]') or another "
            "protocol fsspec knows"
        ) from None


def join(base: PhotoPath, *parts: str) -> PhotoPath:
    """Join path components, keeping the kind (Path or URL) of ``base``.

    Examples
    --------
    >>> join("s3://b/photos/", "P1", "week0")
    's3://b/photos/P1/week0'
    """
    if isinstance(base, Path):
        return base.joinpath(*parts)
    return "/".join([base.rstrip("/"), *parts])


def list_folder(folder: PhotoPath, *, hidden: bool = False) -> list[tuple[str, bool, PhotoPath]]:
    """List a folder as ``(name, is_folder, location)`` entries, sorted by name.

    Parameters
    ----------
    folder : Path or str
        A local folder (a :class:`~pathlib.Path`) or the URL of one. A URL string is
        listed through fsspec; use :func:`as_local` first for plain path strings.
    hidden : bool, default False
        Also list entries whose names start with ".".

    Returns
    -------
    list of tuple
        ``(name, is_folder, location)``; ``location`` is ``folder`` joined with
        ``name`` (same kind as ``folder``). ``is_folder`` follows symbolic links.
        Hidden entries (names starting with ".") are left out unless ``hidden``.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If ``folder`` does not exist or is not a folder.
    UnsupportedURLError
        If the URL's file system is unknown or not installed.
    OSError, Exception
        Whatever the file system raises when it cannot list (permissions, network).
    """
    entries: list[tuple[str, bool, PhotoPath]] = []
    if isinstance(folder, Path):
        with os.scandir(folder) as it:  # raises FileNotFoundError / NotADirectoryError
            entries = [(e.name, _is_dir(e), folder / e.name) for e in it]
    else:
        fs, root = url_fs(folder)
        here = root.rstrip("/")
        infos = fs.ls(root, detail=True)  # one listing call; FileNotFoundError if absent
        if (
            len(infos) == 1
            and str(infos[0]["name"]).rstrip("/") == here
            and infos[0].get("type") != "directory"
        ):
            raise NotADirectoryError(f"{folder} is a file, not a folder")
        if not infos and not fs.isdir(root):  # some stores list a missing path as empty
            raise FileNotFoundError(folder)
        for info in infos:
            full = str(info["name"]).rstrip("/")
            if full == here:
                continue  # some stores list the folder itself
            name = full.rsplit("/", 1)[-1]
            entries.append((name, info.get("type") == "directory", join(folder, name)))
    return sorted((e for e in entries if hidden or not e[0].startswith(".")), key=lambda e: e[0])


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """``entry.is_dir()``, False for a link that cannot be followed (a loop)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def iter_bytes(url: str, chunk: int = _CHUNK) -> Iterator[bytes]:
    """Yield the bytes of a file at ``url`` in chunks (the file is not held whole).

    Parameters
    ----------
    url : str
        A URL that fsspec can open.
    chunk : int, default 1 MiB
        Bytes per block.
    """
    fs, path = url_fs(url)
    with fs.open(path, "rb") as fh:
        while block := fh.read(chunk):
            yield block


def sha256(location: PhotoPath) -> str:
    """SHA256 (hex) of a file's bytes, local or URL.

    Parameters
    ----------
    location : Path or str
        A local path, ``file://`` URL or fsspec URL.

    Returns
    -------
    str
        64 hex digits.

    Raises
    ------
    OSError
        If a local file cannot be read (a URL may raise its store's own errors).
    """
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
