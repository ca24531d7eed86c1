"""A manifest: a CSV file that lists photos to score, whatever their names.

Columns (headers in any case): ``path``, ``subject``, ``visit``, ``view``. ``path``
is a local path (relative paths are taken from the manifest's folder) or a URL;
``view`` is a view name or alias (:func:`salt.io.names.load_view_aliases`). Phone
files such as ``IMG_1234.JPG`` are scored this way. A line that cannot be used
(empty subject, a ``/`` in a name, unknown view, ...) becomes a :class:`salt.io.folders.Skipped` row
naming the line; two lines for one view of a visit make a duplicate, as in a folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from salt.errors import InputFileError
from salt.io.folders import FolderScan, Skipped, Visit, natural_key
from salt.io.storage import PhotoPath, as_local, is_url
from salt.views import VIEW_ALIASES, VIEWS, alias_key

__all__ = ["MANIFEST_COLUMNS", "is_manifest", "read_manifest"]

#: The columns a manifest must have.
MANIFEST_COLUMNS: tuple[str, ...] = ("path", "subject", "visit", "view")


def is_manifest(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` names a manifest (a local ``.csv`` file) rather than a photo folder."""
    local = as_local(root)
    return local is not None and local.suffix.lower() == ".csv" and local.is_file()


def read_manifest(
    path: str | os.PathLike[str], *, aliases: Mapping[str, str] | None = None
) -> FolderScan:
    """Read a manifest into visits.

    Parameters
    ----------
    path : path-like
        The CSV file (UTF-8, with or without a byte-order mark; ``,`` or ``;``).
    aliases : Mapping[str, str], optional
        View aliases; default :data:`salt.views.VIEW_ALIASES`.

    Returns
    -------
    FolderScan
        The visits in natural order (duplicates recorded), and one skipped row per
        line that cannot be used.

    Raises
    ------
    InputFileError
        If the file cannot be read, lacks a column, or lists no usable photo.
    """
    import pandas as pd

    path = Path(path)
    try:
        table = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=None, engine="python"
        )
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(f"cannot read the manifest {path}: {exc}") from None
    table.columns = [alias_key(str(c)) for c in table.columns]
    lacking = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if lacking:
        raise InputFileError(
            f"manifest {path} lacks the column(s) {', '.join(lacking)}: it needs "
            f"{', '.join(MANIFEST_COLUMNS)} (found {', '.join(table.columns)})"
        )
    table_aliases = VIEW_ALIASES if aliases is None else aliases
    found: dict[tuple[str, str], dict[str, list[PhotoPath]]] = {}
    skipped: list[Skipped] = []
    for line, row in enumerate(table.itertuples(index=False), start=2):
        cells = {c: str(getattr(row, c)).strip() for c in MANIFEST_COLUMNS}
        where = f"{path}:{line}"
        if not cells["path"] or not cells["subject"] or not cells["visit"]:
            skipped.append(Skipped(where, "manifest line with an empty path, subject or visit"))
            continue
        if "/" in cells["subject"] + cells["visit"]:  # "a/b" + "c" would meet "a" + "b/c"
            skipped.append(Skipped(where, "a subject or visit name holds '/'; use another mark"))
            continue
        view = table_aliases.get(alias_key(cells["view"]))
        if view is None:
            skipped.append(
                Skipped(
                    where, f"view {cells['view']!r} is not one of {'/'.join(VIEWS)} or an alias"
                )
            )
            continue
        location: PhotoPath = (
            cells["path"] if is_url(cells["path"]) else _local(path, cells["path"])
        )
        key = (cells["subject"], cells["visit"])
        found.setdefault(key, {}).setdefault(view, []).append(location)
    visits = [
        Visit(
            subject=subject,
            visit=visit,
            paths=MappingProxyType({v: views[v][0] for v in VIEWS if len(views.get(v, ())) == 1}),
            missing=tuple(v for v in VIEWS if v not in views),
            duplicates=MappingProxyType(
                {v: tuple(views[v]) for v in VIEWS if len(views.get(v, ())) > 1}
            ),
        )
        for (subject, visit), views in found.items()
    ]
    if not visits:
        raise InputFileError(
            f"manifest {path} lists no usable photo ({len(skipped)} lines skipped)"
        )
    visits.sort(key=lambda v: (natural_key(v.subject), natural_key(v.visit)))
    return FolderScan(tuple(visits), tuple(skipped))


def _local(manifest: Path, text: str) -> Path:
    """Return a manifest's local path: absolute, or relative to the manifest's folder."""
    local = as_local(text) or Path(text)
    return local if local.is_absolute() else manifest.parent / local
