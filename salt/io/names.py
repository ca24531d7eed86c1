"""File names of photos: extensions, view names (with a user's own aliases), flat names.

The one place that decides what a file name says: whether it is a photo
(:data:`PHOTO_EXTENSIONS`), which view it shows (:data:`salt.views.VIEW_ALIASES`,
extended by a view-alias file), whether it is a copy (``top (1).jpg``), and how a
flat name ``<subject>_<visit>_<view>.<ext>`` splits. :mod:`salt.io.folders` and
:mod:`salt.io.manifest` use it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from salt.errors import InputFileError
from salt.views import VIEW_ALIASES, VIEWS, alias_key

__all__ = [
    "PHOTO_EXTENSIONS",
    "VISIT_UNITS",
    "NamedView",
    "load_view_aliases",
    "parse_flat_name",
    "photo_stem",
    "view_of",
]

#: File extensions read as photos (lower case, without the dot).
PHOTO_EXTENSIONS: frozenset[str] = frozenset(
    {"jpg", "jpeg", "jpe", "jfif", "png", "tif", "tiff", "webp", "heic", "heif"}
)

#: Words that, followed by a number, make one visit label in a flat name
#: (``P01_week_4_top.jpg`` is visit ``week_4``), in the five languages of the aliases.
VISIT_UNITS: frozenset[str] = frozenset(
    {
        *("baseline", "visit", "v", "day", "d", "week", "wk", "w", "month", "mo", "m", "year"),
        *("y", "tag", "woche", "monat", "jahr", "besuch", "jour", "semaine", "mois", "an"),
        *("visite", "dag", "week", "maand", "jaar", "bezoek", "dia", "semana", "mes", "ano"),
        *("visita",),
    }
)

# "top (1)", "top - Copy", "top copy 2", "top_Kopie", "top - copie", "top (copia)"
_COPY = re.compile(
    r"^(?P<base>.*?)(?:\s*\(\s*\d+\s*\)|[\s_-]*\(?(?:copy|kopie|copie|copia)\)?(?:[\s_-]*\d+)?)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NamedView:
    """What a file name says about its view.

    Attributes
    ----------
    view : str
        One of :data:`salt.VIEWS`.
    copy : bool
        The name is a copy's (``top (1).jpg``, ``top - Copy.jpg``).
    """

    view: str
    copy: bool = False


def photo_stem(name: str) -> str | None:
    """Return a photo file's name without its photo extension(s), or None if not a photo.

    Repeated photo extensions, as a system that hides extensions makes them
    (``top.jpg.jpg``), are all removed.

    Examples
    --------
    >>> photo_stem("top.JPG"), photo_stem("top.jpg.jpg"), photo_stem("notes.txt")
    ('top', 'top', None)
    """
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or ext.lower() not in PHOTO_EXTENSIONS:
        return None
    while True:
        inner, dot, ext = stem.rpartition(".")
        if not dot or not inner or ext.lower() not in PHOTO_EXTENSIONS:
            return stem
        stem = inner


def view_of(stem: str, aliases: Mapping[str, str] | None = None) -> NamedView | None:
    """Return the view a photo's stem names (``"Left Side"``, ``"top (1)"``), or None.

    Parameters
    ----------
    stem : str
        The name without extension (:func:`photo_stem`).
    aliases : Mapping[str, str], optional
        Alias -> view (keys as :func:`salt.views.alias_key` makes them); default
        :data:`salt.views.VIEW_ALIASES`.

    Returns
    -------
    NamedView or None
        None when the stem names no view.

    Examples
    --------
    >>> view_of("Hinten"), view_of("top (1)"), view_of("IMG_1234")
    (NamedView(view='back', copy=False), NamedView(view='top', copy=True), None)
    """
    table = VIEW_ALIASES if aliases is None else aliases
    view = table.get(alias_key(stem))
    if view is not None:
        return NamedView(view)
    match = _COPY.match(stem.strip())
    if match and match.group("base").strip():
        view = table.get(alias_key(match.group("base")))
        if view is not None:
            return NamedView(view, copy=True)
    return None


def parse_flat_name(
    name: str, aliases: Mapping[str, str] | None = None
) -> tuple[str, str, str] | None:
    """Parse a flat-layout file name into (subject, visit, view).

    The view is the longest run of ``_``-separated words at the end of the name
    that is a view alias (``Left_Side``). The visit is the word before it, joined
    with the word before that when the visit is a bare number after a time unit of
    :data:`VISIT_UNITS` (``week_4``). The subject is everything before.

    Parameters
    ----------
    name : str
        File name such as ``"P012_week24_vertex.JPG"``.
    aliases : Mapping[str, str], optional
        Alias -> view (default :data:`salt.views.VIEW_ALIASES`).

    Returns
    -------
    tuple of str or None
        ``(subject, visit, canonical view)``, or None if the name does not follow
        the flat convention.

    Examples
    --------
    >>> parse_flat_name("P_012_week24_Left-Side.jpg")
    ('P_012', 'week24', 'left')
    >>> parse_flat_name("P01_week_4_top.jpg")
    ('P01', 'week_4', 'top')
    >>> parse_flat_name("notes.txt") is None
    True
    """
    stem = photo_stem(name)
    if stem is None:
        return None
    table = VIEW_ALIASES if aliases is None else aliases
    words = stem.split("_")
    for n_view in (3, 2, 1):
        if len(words) < n_view + 2:
            continue
        view = table.get(alias_key("-".join(words[-n_view:])))
        if view is None:
            continue
        rest = words[:-n_view]
        n_visit = 1
        if len(rest) >= 3 and rest[-1].isdigit() and alias_key(rest[-2]) in VISIT_UNITS:
            n_visit = 2
        subject, visit = "_".join(rest[:-n_visit]), "_".join(rest[-n_visit:])
        if subject.strip() and visit.strip():
            return subject, visit, view
        return None
    return None


def load_view_aliases(path: str | os.PathLike[str] | None) -> Mapping[str, str]:
    """Read a view-alias file and add it to the default aliases.

    Parameters
    ----------
    path : path-like or None
        A JSON file holding one object ``{"name": "view", ...}`` or a CSV file with
        the columns ``alias`` and ``view``; ``view`` is one of :data:`salt.VIEWS` (or
        one of its default aliases). None gives the defaults.

    Returns
    -------
    Mapping[str, str]
        :data:`salt.views.VIEW_ALIASES` with the file's names added (a file's name
        may also re-map a default one), keyed by :func:`salt.views.alias_key`.

    Raises
    ------
    InputFileError
        If the file cannot be read, has the wrong shape, or maps a name to
        something that is not a view; the message names the file and the entry.
    """
    if path is None:
        return VIEW_ALIASES
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(path.read_text(encoding="utf-8-sig"))
            if not isinstance(raw, dict):
                raise InputFileError(f"view-alias file {path} must hold one JSON object")
            pairs = [(str(k), str(v)) for k, v in raw.items()]
        else:
            import pandas as pd

            table = pd.read_csv(path, dtype=str, encoding="utf-8-sig", sep=None, engine="python")
            table.columns = [alias_key(str(c)) for c in table.columns]
            if not {"alias", "view"} <= set(table.columns):
                raise InputFileError(
                    f"view-alias file {path} needs the columns alias and view "
                    f"(found {', '.join(table.columns)})"
                )
            pairs = list(zip(table["alias"].fillna(""), table["view"].fillna(""), strict=True))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read the view-alias file {path}: {exc}") from None
    merged = dict(VIEW_ALIASES)
    for alias, view in pairs:
        target = VIEW_ALIASES.get(alias_key(view))
        if not alias_key(alias) or target is None:
            raise InputFileError(
                f"view-alias file {path}: {alias!r} -> {view!r} is not a name and a view "
                f"(view must be one of {'/'.join(VIEWS)})"
            )
        merged[alias_key(alias)] = target
    return MappingProxyType(merged)
