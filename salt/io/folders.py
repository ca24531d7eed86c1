"""The photo-folder convention: find the visits and their four views under a root folder.

Two layouts are read, and may be mixed under one root (see ``data/README.md``):

- nested: ``ROOT/<subject>/<visit>/<view>.<ext>``
- flat: ``ROOT/<subject>_<visit>_<view>.<ext>``; the view is the longest view alias
  at the end of the name, the visit is the ``_``-separated token before it and the
  subject is everything before that (so subjects may contain ``_``, visits may not).

View names are matched case-insensitively against :data:`salt.views.VIEW_ALIASES`
and extensions against :data:`PHOTO_EXTENSIONS`. An entry is taken as a photo by
its name, whatever it is on disk (a directory or broken link named ``top.jpg`` is
still the visit's top photo, and fails clearly when it is read). Hidden entries
(``.name``) are skipped; other entries that are not photos of a SALT view are kept in
:attr:`Visit.ignored` or logged, never silently dropped.

The root may be a local path, a ``file://`` URL or any fsspec URL (``s3://``,
``gs://``, ``memory://``; see :mod:`salt.io.storage`). Local roots give
:class:`pathlib.Path` photo locations, other URLs give URL strings such as
``"s3://bucket/study/P1/week0/top.jpg"``; the rules are the same for both.

Labelled folders (training and evaluation) hold ``DATA/photos/<rel>/<name>.<ext>`` and
masks ``DATA/masks/<rel>/<name>.png``; :func:`labelled_photos` is their one reader.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from salt.errors import BadValueError, DuplicateViewError, InputFileError
from salt.io.storage import PhotoPath, as_local, join, list_folder
from salt.views import VIEW_ALIASES, VIEWS, normalize_view

__all__ = [
    "PHOTO_EXTENSIONS",
    "LabelledPhoto",
    "Visit",
    "discover_visits",
    "find_labelled_pairs",
    "labelled_photos",
    "natural_key",
    "parse_flat_name",
]

log = logging.getLogger(__name__)

#: File extensions read as photos (lower case, without the dot).
PHOTO_EXTENSIONS: frozenset[str] = frozenset(
    {"jpg", "jpeg", "png", "tif", "tiff", "webp", "heic", "heif"}
)

# Longest aliases first so that "left-side" wins over "side"-like shorter matches.
_ALIASES_BY_LENGTH = sorted(VIEW_ALIASES, key=len, reverse=True)


@dataclass(frozen=True)
class Visit:
    """One visit of one subject: up to four photos, one per SALT view.

    Attributes
    ----------
    subject, visit : str
        Identifiers taken from the folder or file names.
    paths : Mapping[str, Path or str]
        The photo of each view found exactly once, keyed by canonical view name: a
        :class:`~pathlib.Path` under a local root, a URL string under a URL root.
    missing : tuple of str
        Views with no photo, in :data:`salt.VIEWS` order.
    duplicates : Mapping[str, tuple of (Path or str)]
        Views with more than one photo (only with ``on_duplicate="record"``); such a
        view is in neither ``paths`` nor ``missing``.
    ignored : tuple of (Path or str)
        Entries in the visit's folder that are not photos of a SALT view.
    """

    subject: str
    visit: str
    paths: Mapping[str, PhotoPath]
    missing: tuple[str, ...] = ()
    duplicates: Mapping[str, tuple[PhotoPath, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    ignored: tuple[PhotoPath, ...] = ()

    @property
    def key(self) -> str:
        """``"<subject>/<visit>"``, unique within a root."""
        return f"{self.subject}/{self.visit}"

    @property
    def complete(self) -> bool:
        """True when every view has exactly one photo."""
        return not self.missing and not self.duplicates


def _view_and_ext(name: str) -> tuple[str, str] | None:
    """Split ``"<stem>.<ext>"`` into (stem, ext) if ext is a photo extension."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or ext.lower() not in PHOTO_EXTENSIONS:
        return None
    return stem, ext.lower()


def parse_flat_name(name: str) -> tuple[str, str, str] | None:
    """Parse a flat-layout file name into (subject, visit, view).

    Parameters
    ----------
    name : str
        File name such as ``"P012_week24_vertex.JPG"``.

    Returns
    -------
    tuple of str or None
        ``(subject, visit, canonical view)``, or None if the name does not follow
        the flat convention.

    Examples
    --------
    >>> parse_flat_name("P_012_week24_Left-Side.jpg")
    ('P_012', 'week24', 'left')
    >>> parse_flat_name("notes.txt") is None
    True
    """
    split = _view_and_ext(name)
    if split is None:
        return None
    stem = split[0]
    low = stem.lower()
    for alias in _ALIASES_BY_LENGTH:
        if low.endswith("_" + alias):
            rest = stem[: -len(alias) - 1]
            subject, sep, visit = rest.rpartition("_")
            if sep and subject and visit:
                return subject, visit, VIEW_ALIASES[alias]
            return None
    return None


def _nested_view(name: str) -> str | None:
    split = _view_and_ext(name)
    if split is None:
        return None
    return VIEW_ALIASES.get(split[0].strip().lower())


def natural_key(text: str) -> tuple[tuple[int, object], ...]:
    """Sort key that orders ``week2`` before ``week10`` (numbers in a name compare as numbers).

    Parameters
    ----------
    text : str
        A subject or visit name.

    Returns
    -------
    tuple
        Key for :func:`sorted`.
    """
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", text)
        if part
    )


_Entry = tuple[str, bool, PhotoPath]


def _list(folder: PhotoPath, shown: object, what: str) -> list[_Entry]:
    """:func:`salt.io.storage.list_folder`, with failures as :class:`InputFileError`."""
    try:
        return list_folder(folder)
    except InputFileError:
        raise
    except FileNotFoundError:
        raise InputFileError(f"{what} {shown} does not exist") from None
    except NotADirectoryError:
        raise InputFileError(f"{what} {shown} is not a folder") from None
    except Exception as exc:  # permissions, network, a store's own errors
        raise InputFileError(
            f"{what} {shown} cannot be listed ({type(exc).__name__}: {exc}); check that it "
            "is readable (permissions, credentials)"
        ) from None


def discover_visits(
    root: str | Path,
    *,
    on_duplicate: Literal["raise", "record"] = "raise",
) -> list[Visit]:
    """Find every visit under ``root`` in the photo-folder convention.

    Parameters
    ----------
    root : str or Path
        Folder holding ``<subject>/<visit>/<view>.<ext>`` and/or
        ``<subject>_<visit>_<view>.<ext>`` entries: a local path, a ``file://`` URL
        or an fsspec URL such as ``"s3://bucket/study"`` (see :mod:`salt.io.storage`).
    on_duplicate : {"raise", "record"}, default "raise"
        What to do when a visit has two photos of one view: raise
        :class:`salt.DuplicateViewError` naming both files, or record them in
        :attr:`Visit.duplicates` (what a batch run does, so other visits go on).

    Returns
    -------
    list of Visit
        Sorted by subject then visit (numbers in names compare as numbers).
        Visits with missing views are included, with :attr:`Visit.missing` set.
        Photo locations are :class:`~pathlib.Path` for a local root or ``file://``
        URL, and URL strings (``root`` joined with the names) otherwise.

    Raises
    ------
    InputFileError
        If ``root`` does not exist, is not a folder, cannot be listed, holds no photo
        of any view, or is a URL whose file system is not installed
        (:class:`salt.io.storage.UnsupportedURLError`).
    DuplicateViewError
        If a view has two photos and ``on_duplicate="raise"``.
    """
    local = as_local(root)
    base: PhotoPath = local if local is not None else str(root)
    shown = root if isinstance(root, str) and "://" in root else base  # as the user wrote it
    top = _list(base, shown, "photo folder")

    found: dict[tuple[str, str], dict[str, list[PhotoPath]]] = {}
    ignored: dict[tuple[str, str], list[PhotoPath]] = {}
    stray: list[PhotoPath] = []

    def add(subject: str, visit: str, view: str, path: PhotoPath) -> None:
        found.setdefault((subject, visit), {}).setdefault(view, []).append(path)

    for name, is_folder, entry in top:
        flat = parse_flat_name(name)
        if flat is not None:
            add(*flat, entry)
        elif is_folder:
            for visit_name, visit_is_folder, visit_dir in _list(entry, entry, "folder"):
                if not visit_is_folder:
                    stray.append(visit_dir)
                    continue
                key = (name, visit_name)
                for item_name, _, item in _list(visit_dir, visit_dir, "folder"):
                    view = _nested_view(item_name)
                    if view is None:
                        ignored.setdefault(key, []).append(item)
                    else:
                        add(name, visit_name, view, item)
                found.setdefault(key, {})
        else:
            stray.append(entry)

    for path in stray:
        log.warning("ignored %s: not a <subject>/<visit>/<view> photo or folder", path)

    visits = []
    for (subject, visit), views in found.items():
        extra = tuple(ignored.get((subject, visit), ()))
        if not views:
            log.warning(
                "ignored folder %s: no photo named after a view (%s)",
                join(base, subject, visit),
                "/".join(VIEWS),
            )
            continue
        dups = {v: tuple(sorted(p)) for v, p in views.items() if len(p) > 1}
        if dups and on_duplicate == "raise":
            view, dup_paths = next(iter(sorted(dups.items())))
            raise DuplicateViewError(
                f"visit {subject}/{visit} has {len(dup_paths)} photos of the {view!r} view: "
                f"{', '.join(str(p) for p in dup_paths)}; keep one"
            )
        single = {v: p[0] for v, p in views.items() if len(p) == 1}
        missing = tuple(v for v in VIEWS if v not in views)
        for path in extra:
            log.warning(
                "visit %s/%s: ignored %s (not a photo of a SALT view)", subject, visit, path
            )
        visits.append(
            Visit(
                subject=subject,
                visit=visit,
                paths=MappingProxyType({v: single[v] for v in VIEWS if v in single}),
                missing=missing,
                duplicates=MappingProxyType(dict(sorted(dups.items()))),
                ignored=extra,
            )
        )
    if not visits:
        raise InputFileError(
            f"no photos found in {shown}: expected <subject>/<visit>/<view>.<ext> or "
            f"<subject>_<visit>_<view>.<ext> with view in {'/'.join(VIEWS)} and ext in "
            f"{'/'.join(sorted(PHOTO_EXTENSIONS))}"
        )
    visits.sort(key=lambda v: (natural_key(v.subject), natural_key(v.visit)))
    return visits


@dataclass(frozen=True)
class LabelledPhoto:
    """A photo of a labelled folder and its mask.

    Attributes
    ----------
    photo : Path
        ``DATA/photos/<rel>/<name>.<ext>``.
    mask : Path or None
        ``DATA/masks/<rel>/<name>.png`` when it exists.
    parts : tuple of str
        The folders of ``<rel>`` (e.g. ``("P01", "week0")``).
    """

    photo: Path
    mask: Path | None
    parts: tuple[str, ...]

    @property
    def view(self) -> str | None:
        """The SALT view named by the file (``top.jpg`` -> ``"top"``), or None."""
        try:
            return normalize_view(self.photo.stem)
        except BadValueError:  # not a view name (e.g. a pseudo-labelled crop)
            return None


def labelled_photos(
    root: str | os.PathLike[str], *, require_masks: bool = True
) -> list[LabelledPhoto]:
    """List the photos of a labelled folder with their masks.

    Parameters
    ----------
    root : path
        Folder with ``photos/`` and (required when ``require_masks``) ``masks/``; a photo
        ``photos/<rel>/<name>.<ext>`` (an extension of :data:`PHOTO_EXTENSIONS`) pairs
        with ``masks/<rel>/<name>.png``.
    require_masks : bool, default True
        Keep only photos with a mask (those without are logged); False keeps every
        photo (``mask`` None where there is none).

    Returns
    -------
    list of LabelledPhoto
        In path order.

    Raises
    ------
    InputFileError
        If ``photos/`` (or, with ``require_masks``, ``masks/``) is missing, or no
        photo (with a mask) is found.
    """
    root = Path(root)
    photos, masks = root / "photos", root / "masks"
    for sub in (photos, masks) if require_masks else (photos,):
        if not sub.is_dir():
            raise InputFileError(
                f"labelled folder {root} has no {sub.name}/ folder: expected "
                "photos/<subject>/<visit>/<view>.jpg with masks/<subject>/<visit>/<view>.png"
            )
    found, skipped = [], 0
    for photo in sorted(photos.rglob("*")):
        if photo.suffix.lower().lstrip(".") not in PHOTO_EXTENSIONS or not photo.is_file():
            continue
        rel = photo.relative_to(photos)
        mask: Path | None = (masks / rel).with_suffix(".png")
        if not mask.is_file():  # type: ignore[union-attr]
            mask = None
            if require_masks:
                skipped += 1
                continue
        found.append(LabelledPhoto(photo, mask, tuple(rel.parent.parts)))
    if skipped:
        log.warning("%s: %d photos have no mask and are skipped", root, skipped)
    if not found:
        what = "photo with a matching mask under masks/" if require_masks else "photo"
        raise InputFileError(f"labelled folder {root} has no {what}")
    return found


def find_labelled_pairs(root: str | os.PathLike[str]) -> list[tuple[Path, Path]]:
    """List the (photo, mask) pairs of a labelled folder (:func:`labelled_photos`)."""
    return [(p.photo, p.mask) for p in labelled_photos(root) if p.mask is not None]
