"""The photo-folder convention: find the visits and their four views under a root folder.

Three layouts are read (see ``docs/folders.md``); the first two may be mixed under one root:

- nested: ``ROOT/<subject>/<visit>/<view>.<ext>``
- flat: ``ROOT/<subject>_<visit>_<view>.<ext>`` (:func:`salt.io.names.parse_flat_name`)
- one visit: ``ROOT/<view>.<ext>`` and no folder in ROOT; the subject and visit are
  the names of ROOT's parent and of ROOT (``.../P012/week0``).

Any other files go through a manifest (:mod:`salt.io.manifest`). View names are
matched by :func:`salt.io.names.view_of` (default aliases in five languages, plus a
user's view-alias file), extensions against :data:`PHOTO_EXTENSIONS`. An entry is
taken as a photo by its name, whatever it is on disk (a directory or broken link
named ``top.jpg`` is still the visit's top photo, and fails clearly when it is read).

Nothing disappears: every entry under the root is a photo of a visit, or a
:class:`Skipped` row saying why it was not used (not a photo, a name that names no
view, hidden, a folder that cannot be listed, a symbolic-link loop, ...).

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
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from salt.errors import BadValueError, DuplicateViewError, InputFileError
from salt.io.names import PHOTO_EXTENSIONS, parse_flat_name, photo_stem, view_of
from salt.io.storage import PhotoPath, as_local, list_folder
from salt.views import VIEWS, normalize_view

__all__ = [
    "PHOTO_EXTENSIONS",
    "FolderScan",
    "LabelledPhoto",
    "Skipped",
    "Visit",
    "discover_visits",
    "duplicate_message",
    "find_labelled_pairs",
    "labelled_photos",
    "natural_key",
    "parse_flat_name",
    "scan_folder",
]

log = logging.getLogger(__name__)


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
        Entries in the visit's folder that are not photos of a SALT view (each also
        a :class:`Skipped` row of the scan).
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


@dataclass(frozen=True)
class Skipped:
    """An entry under the root that is not a photo of a visit, and why.

    Attributes
    ----------
    path : str
        The file or folder (a local path or URL).
    reason : str
        Why it was not used, and what to do if it should be.
    """

    path: str
    reason: str


@dataclass(frozen=True)
class FolderScan:
    """What :func:`scan_folder` (or a manifest) found.

    Attributes
    ----------
    visits : tuple of Visit
        Sorted by subject then visit (numbers in names compare as numbers).
    skipped : tuple of Skipped
        Every other entry, sorted by path.
    """

    visits: tuple[Visit, ...]
    skipped: tuple[Skipped, ...] = ()


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


def duplicate_message(subject: str, visit: str, view: str, paths: Collection[PhotoPath]) -> str:
    """Name the photos of a visit with several of one view, and say how to fix it."""
    return (
        f"visit {subject}/{visit} has {len(paths)} photos of the {view!r} view: "
        f"{', '.join(str(p) for p in sorted(paths, key=str))}; keep one (move the others out "
        "of the folder, or list the photos to score in a manifest)"
    )


_Entry = tuple[str, bool, PhotoPath]

# Reasons of skipped entries.
_NOT_PHOTO = "not a photo (extensions read: " + "/".join(sorted(PHOTO_EXTENSIONS)) + ")"
_HIDDEN = "hidden (name starts with '.')"
_LOOSE_PHOTO = (
    "photo at the top of the folder whose name is not <subject>_<visit>_<view>.<ext>; "
    "move it into <subject>/<visit>/ or list it in a manifest"
)
_NO_VIEW = (
    "photo whose name names no view: name it top/back/left/right (or an alias, or add "
    "the name with --view-aliases), or list it in a manifest"
)


def _list(folder: PhotoPath, shown: object, what: str) -> list[_Entry]:
    """:func:`salt.io.storage.list_folder` (hidden entries too), failures as InputFileError."""
    try:
        return list_folder(folder, hidden=True)
    except InputFileError:
        raise
    except FileNotFoundError:
        raise InputFileError(f"{what} {shown} does not exist") from None
    except NotADirectoryError:
        raise InputFileError(f"{what} {shown} is not a folder") from None
    except OSError as exc:
        raise InputFileError(
            f"{what} {shown} cannot be listed ({type(exc).__name__}: {exc.strerror or exc}); check "
            "that it is readable (permissions, symbolic-link loops)"
        ) from None
    except Exception as exc:  # network, a store's own errors
        raise InputFileError(
            f"{what} {shown} cannot be listed ({type(exc).__name__}: {exc}); check that it "
            "is readable (permissions, credentials)"
        ) from None


def _link_problem(location: PhotoPath) -> str | None:
    """Why a local symbolic link cannot be followed (dangling, a loop), or None."""
    if not isinstance(location, Path) or not os.path.islink(location):
        return None
    if not os.path.exists(location):
        return "symbolic link that points nowhere or loops; not followed"
    real = os.path.realpath(location)
    parent = os.path.realpath(location.parent)
    if os.path.isdir(real) and (parent == real or parent.startswith(real.rstrip(os.sep) + os.sep)):
        return "symbolic link to a folder that holds it (a loop); not followed"
    return None


class _Scan:
    """The state of one walk of a root folder."""

    def __init__(self, aliases: Mapping[str, str] | None, exclude: Collection[Path]) -> None:
        self.aliases = aliases
        self.exclude = {os.path.realpath(p) for p in exclude}
        self.found: dict[tuple[str, str], dict[str, list[PhotoPath]]] = {}
        self.ignored: dict[tuple[str, str], list[PhotoPath]] = {}
        self.skipped: list[Skipped] = []

    def skip(self, location: PhotoPath, reason: str) -> None:
        self.skipped.append(Skipped(str(location), reason))

    def add(self, key: tuple[str, str], view: str, location: PhotoPath) -> None:
        self.found.setdefault(key, {}).setdefault(view, []).append(location)

    def excluded(self, location: PhotoPath) -> bool:
        if isinstance(location, Path) and os.path.realpath(location) in self.exclude:
            self.skip(location, "the output folder of this run; not read")
            return True
        return False

    def unusable(self, name: str, location: PhotoPath, is_folder: bool) -> bool:
        """Skip hidden entries, bad links and the output folder; True when skipped."""
        if name.startswith("."):
            self.skip(location, _HIDDEN)
            return True
        problem = _link_problem(location)
        if problem is not None:
            self.skip(location, problem)
            return True
        return is_folder and self.excluded(location)

    def visit_folder(self, key: tuple[str, str], folder: PhotoPath) -> None:
        """Read one visit folder: photos by view name; anything else skipped."""
        try:
            entries = _list(folder, folder, "folder")
        except InputFileError as exc:
            self.skip(folder, str(exc))
            return
        self.found.setdefault(key, {})
        if not entries:
            self.skip(folder, "empty folder")
        for name, is_folder, item in entries:
            stem = photo_stem(name)
            named = view_of(stem, self.aliases) if stem is not None else None
            if named is not None:  # a photo by its name, whatever it is on disk
                self.add(key, named.view, item)
            elif self.unusable(name, item, is_folder):
                continue
            elif is_folder:
                self.skip(
                    item,
                    "folder inside a visit folder; not read (photos go directly in "
                    "ROOT/<subject>/<visit>/)",
                )
            else:
                self.ignored.setdefault(key, []).append(item)
                self.skip(item, _NO_VIEW if stem is not None else _NOT_PHOTO)

    def subject_folder(self, subject: str, folder: PhotoPath) -> None:
        """Read one subject folder: each folder in it is a visit."""
        try:
            entries = _list(folder, folder, "folder")
        except InputFileError as exc:
            self.skip(folder, str(exc))
            return
        if not entries:
            self.skip(folder, "empty folder")
        for name, is_folder, item in entries:
            if self.unusable(name, item, is_folder):
                continue
            if is_folder:
                self.visit_folder((subject, name), item)
            else:
                self.skip(item, "file in a subject folder; photos go in ROOT/<subject>/<visit>/")

    def visits(self, on_duplicate: str) -> list[Visit]:
        """Turn what was found into visits (a folder without any photo is skipped)."""
        out = []
        for (subject, visit), views in self.found.items():
            extra = tuple(self.ignored.get((subject, visit), ()))
            if not views and not any(photo_stem(Path(str(p)).name) for p in extra):
                continue  # no photo at all: its entries are skipped rows already
            dups = {v: tuple(sorted(p, key=str)) for v, p in views.items() if len(p) > 1}
            if dups and on_duplicate == "raise":
                view, paths = next(iter(sorted(dups.items())))
                raise DuplicateViewError(duplicate_message(subject, visit, view, paths))
            out.append(
                Visit(
                    subject=subject,
                    visit=visit,
                    paths=MappingProxyType(
                        {v: views[v][0] for v in VIEWS if len(views.get(v, ())) == 1}
                    ),
                    missing=tuple(v for v in VIEWS if v not in views),
                    duplicates=MappingProxyType(dict(sorted(dups.items()))),
                    ignored=extra,
                )
            )
        return out


def _single_visit(top: list[_Entry], aliases: Mapping[str, str] | None) -> bool:
    """Whether the root itself is one visit's folder.

    It is when it holds a photo named after a view and no folder (a study folder with a
    stray ``top.jpg`` beside its subject folders stays a study folder).
    """
    if any(is_folder and not name.startswith(".") for name, is_folder, _ in top):
        return False
    for name, _, _ in top:
        stem = photo_stem(name)
        if stem is not None and parse_flat_name(name, aliases) is None:
            if view_of(stem, aliases) is not None:
                return True
    return False


def _names_of(base: PhotoPath) -> tuple[str, str]:
    """(subject, visit) of a root that is one visit: its parent's name and its own."""
    if isinstance(base, Path):
        resolved = base.resolve()
        return resolved.parent.name or resolved.name, resolved.name
    parts = [p for p in str(base).split("://", 1)[-1].split("/") if p]
    return (parts[-2] if len(parts) > 1 else parts[-1]), parts[-1]


def scan_folder(
    root: str | os.PathLike[str],
    *,
    aliases: Mapping[str, str] | None = None,
    exclude: Collection[Path] = (),
    on_duplicate: Literal["raise", "record"] = "record",
) -> FolderScan:
    """Find every visit under ``root``, and every entry that is not a photo of one.

    Parameters
    ----------
    root : str or Path
        A photo folder in one of the layouts of the module notes: a local path, a
        ``file://`` URL or an fsspec URL such as ``"s3://bucket/study"``.
    aliases : Mapping[str, str], optional
        View aliases (:func:`salt.io.names.load_view_aliases`); default
        :data:`salt.views.VIEW_ALIASES`.
    exclude : collection of Path
        Local folders not to read (the output folder of a run); each is a skipped row.
    on_duplicate : {"record", "raise"}, default "record"
        Record a view with two photos in :attr:`Visit.duplicates`, or raise
        :class:`salt.DuplicateViewError` (:func:`duplicate_message`).

    Returns
    -------
    FolderScan
        The visits (a visit with photos none of whose names names a view is kept, with
        every view missing, so it is reported) and the skipped entries.

    Raises
    ------
    InputFileError
        If ``root`` does not exist, is not a folder, cannot be listed, holds no photo
        of any view, or is a URL whose file system is not installed.
    """
    local = as_local(root)
    base: PhotoPath = local if local is not None else str(root)
    shown = root if isinstance(root, str) and "://" in root else base  # as the user wrote it
    top = _list(base, shown, "photo folder")
    scan = _Scan(aliases, exclude)
    if _single_visit(top, aliases):
        scan.visit_folder(_names_of(base), base)
    else:
        for name, is_folder, entry in top:
            flat = parse_flat_name(name, aliases) if not is_folder else None
            if flat is not None:
                scan.add(flat[:2], flat[2], entry)
            elif scan.unusable(name, entry, is_folder):
                continue
            elif is_folder:
                scan.subject_folder(name, entry)
            else:
                scan.skip(
                    entry,
                    _NOT_PHOTO if photo_stem(name) is None else _LOOSE_PHOTO,
                )
    visits = scan.visits(on_duplicate)
    if not visits:
        raise InputFileError(
            f"no photos found in {shown}: expected <subject>/<visit>/<view>.<ext>, "
            f"<subject>_<visit>_<view>.<ext> or one visit's <view>.<ext>, with view in "
            f"{'/'.join(VIEWS)} (or an alias) and ext in {'/'.join(sorted(PHOTO_EXTENSIONS))}; "
            f"{len(scan.skipped)} entries were not photos of a view"
        )
    visits.sort(key=lambda v: (natural_key(v.subject), natural_key(v.visit)))
    skipped = sorted(scan.skipped, key=lambda s: s.path)
    return FolderScan(tuple(visits), tuple(skipped))


def log_skipped(skipped: Collection[Skipped], where: str) -> None:
    """Log one line for the skipped entries of a scan (never one per file)."""
    if skipped:
        first = next((s for s in skipped if s.reason != _HIDDEN), next(iter(skipped)))
        log.warning(
            "skipped %d entries that are not photos of a visit (e.g. %s: %s); see %s",
            len(skipped),
            first.path,
            first.reason,
            where,
        )


def discover_visits(
    root: str | os.PathLike[str],
    *,
    on_duplicate: Literal["raise", "record"] = "raise",
    aliases: Mapping[str, str] | None = None,
) -> list[Visit]:
    """Find every visit under ``root`` in the photo-folder convention.

    Parameters
    ----------
    root : str or Path
        Folder holding ``<subject>/<visit>/<view>.<ext>`` and/or
        ``<subject>_<visit>_<view>.<ext>`` entries, or one visit's ``<view>.<ext>``
        photos: a local path, a ``file://`` URL or an fsspec URL such as
        ``"s3://bucket/study"`` (see :mod:`salt.io.storage`).
    on_duplicate : {"raise", "record"}, default "raise"
        What to do when a visit has two photos of one view: raise
        :class:`salt.DuplicateViewError` naming both files, or record them in
        :attr:`Visit.duplicates` (what a batch run does, so other visits go on).
    aliases : Mapping[str, str], optional
        View aliases (:func:`salt.io.names.load_view_aliases`).

    Returns
    -------
    list of Visit
        Sorted by subject then visit (numbers in names compare as numbers).
        Visits with missing views are included, with :attr:`Visit.missing` set.
        Photo locations are :class:`~pathlib.Path` for a local root or ``file://``
        URL, and URL strings (``root`` joined with the names) otherwise. Entries
        that are not photos of a visit are logged in one line
        (:func:`scan_folder` lists them).

    Raises
    ------
    InputFileError
        If ``root`` does not exist, is not a folder, cannot be listed, holds no photo
        of any view, or is a URL whose file system is not installed
        (:class:`salt.io.storage.UnsupportedURLError`).
    DuplicateViewError
        If a view has two photos and ``on_duplicate="raise"``.
    """
    scan = scan_folder(root, aliases=aliases, on_duplicate=on_duplicate)
    log_skipped(scan.skipped, "salt.io.folders.scan_folder")
    return list(scan.visits)


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
