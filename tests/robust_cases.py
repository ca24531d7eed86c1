"""Build the issue-7 test inputs on disk: good photos in every format and one of each bad case.

Nothing here is a committed binary: every file is generated in a temporary folder by
the test that needs it. Import it from a test module (``tests/`` is on ``sys.path``
under pytest's default rootdir-relative import mode)::

    from robust_cases import build_bad_files, build_robust_folder, write_photo

API
---
``asymmetric_rgb(height, width, *, seed=0) -> ndarray``
    (H, W, 3) uint8 RGB test pattern with no symmetry (coloured quadrant blocks, a
    bar near the left edge, mild noise), so any flip or rotation is detectable.

``write_photo(path, rgb=None, *, fmt=None, orientation=1, size=(288, 352), seed=0,
quality=92, progressive=False, cmyk=False, bits=8, alpha=False, grey=False) -> ndarray``
    Write a photo file and return the **upright** RGB the file shows (what
    :func:`salt.io.photo.load_photo` should return, up to compression loss). The stored
    pixels are the upright image pre-rotated by the inverse of ``orientation`` and the
    EXIF tag is set, so a decoder that ignores the tag (or applies it twice) fails.
    ``fmt`` defaults from the suffix: JPEG, PNG, TIFF, WEBP, HEIF.

``build_bad_files(folder) -> dict[str, BadCase]``
    One file (or directory, or link) per bad case, keyed by case name:
    ``zero_bytes``, ``truncated_jpeg``, ``text_as_jpg``, ``directory_as_jpg``,
    ``unreadable`` (mode 000; its ``skip_reason`` is set when running as root, where
    permissions do not stop reading), ``broken_symlink``, ``tiny_image``,
    ``non_ascii_truncated`` (a truncated JPEG with a non-ASCII name). Each
    :class:`BadCase` holds ``path``, the expected ``error`` class (a subclass of
    ``salt.InputFileError``) and ``message_part``, a substring the message must hold
    besides the file's path.

``build_robust_folder(root, *, photo_factory=None, size=(288, 352),
include_unreadable=None) -> RobustFolder``
    A nested photo folder (``root/<subject>/<visit>/<view>.<ext>``) with one visit
    per situation of issue 7 and the expected outcome of each:

    ============================  ====================================================
    visit key                     content -> expected status
    ============================  ====================================================
    ``good/baseline``             4 baseline JPEGs -> ``"ok"``
    ``good/formats``              progressive JPEG, 16-bit PNG, WebP, HEIC -> ``"ok"``
    ``good/more_formats``         CMYK JPEG, grey+alpha PNG, TIFF, grey 16-bit PNG -> ``"ok"``
    ``good/rotated``              JPEGs with EXIF orientation 6, 3, 8, 2 -> ``"ok"``
    ``sujet_é/visite_ü``          non-ASCII folder names, 4 JPEGs -> ``"ok"``
    ``bad/<case>``                top is the bad file of ``<case>``, the other 3 good ->
                                  ``"failed"`` (one error row naming the top file)
    ``missing/v1``                no ``right`` photo -> ``"incomplete"``
    ``duplicate/v1``              ``top.jpg`` and ``vertex.png`` -> ``"duplicate"``
    ``same_photo/v1``             ``left.jpg`` and ``right.jpg`` byte-identical ->
                                  scored but flagged: ``"same_photo"``
    ``names/german``              ``oben/hinten/links/rechts.jpg`` -> ``"ok"``
    ``names/english``             ``Crown.jpg``, ``Back.JPG``, ``Left Side.jpg``,
                                  ``right.jpeg`` -> ``"ok"``
    ``names/extensions``          ``top.jpg.jpg``, ``back.jfif``, ``left.jpe``,
                                  ``right.jpg`` -> ``"ok"``
    ``names/copy``                ``top.jpg`` and ``top (1).jpg`` -> ``"duplicate"``
    ``names/phone``               ``IMG_0001.jpg`` ... (no view in the names) ->
                                  ``"incomplete"``, every view missing, each file skipped
    ``P01/week_4``                flat ``P01_week_4_<view>.jpg`` -> ``"ok"``
    ``X/..``, ``X/.``             flat ``X_.._<view>.jpg``, ``X_._<view>.jpg`` -> ``"ok"``
                                  (overlays under names made safe, not at the top)
    ============================  ====================================================

    Entries that are no photo of a visit are in ``skipped`` (path -> a fragment of the
    reason): ``README.txt`` at the top, ``notes/readme.txt`` and a symbolic-link loop
    ``notes/loop``, a hidden ``.DS_Store``, the phone files, and a folder that cannot be
    listed (``locked/``; when running as root, where permissions do not stop listing,
    an empty folder ``empty/`` instead). ``flat`` maps the flat visits to their files.

    :class:`RobustFolder` gives ``root``, ``expected_status`` (visit key -> status
    above), ``errors`` (visit key -> ``(path, error class)`` of the bad file),
    ``missing`` (visit key -> missing views), ``duplicates`` (visit key -> the two
    paths), ``same_photo`` (visit key -> the two identical paths), ``good_photos``
    (every readable photo in visits whose status is ``"ok"`` or ``"same_photo"``: each
    must be scored exactly once), ``other_good_photos`` (readable photos inside
    failed / incomplete / duplicate visits, which a batch run may or may not score),
    and ``upright`` (path -> upright RGB written). ``photo_factory(view, seed) -> rgb``
    supplies the pictures (e.g. from ``salt.synth.render_visit``); by default
    :func:`asymmetric_rgb`. The status names are semantic: map them to the engine's
    own spelling in the test that uses them.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from salt.errors import InputFileError
from salt.io.photo import (
    CorruptImageError,
    EmptyFileError,
    ImageTooSmallError,
    NotAFileError,
    NotAnImageError,
    PhotoNotFoundError,
    UnreadableFileError,
)

VIEWS = ("top", "back", "left", "right")

_FORMAT_BY_SUFFIX = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".heic": "HEIF",
    ".heif": "HEIF",
}

# Inverse of each EXIF orientation's display transform: stored = inverse(upright).
_INVERSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # display = 90 deg clockwise, so store 90 deg counter-clockwise
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def asymmetric_rgb(height: int, width: int, *, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 RGB pattern without any mirror or rotational symmetry."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 90, np.uint8)
    h2, w3 = height // 3, width // 3
    img[:h2, :w3] = (230, 40, 40)  # red block top-left
    img[height - h2 :, width - w3 :] = (40, 40, 230)  # blue block bottom-right
    img[:, w3 // 3 : w3 // 3 + max(2, width // 20)] = (40, 220, 40)  # green bar near left
    img[height - h2 :, : w3 // 2] = (240, 240, 60)  # yellow block bottom-left
    noise = rng.integers(-4, 5, size=img.shape)
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def write_photo(
    path: str | os.PathLike[str],
    rgb: np.ndarray | None = None,
    *,
    fmt: str | None = None,
    orientation: int = 1,
    size: tuple[int, int] = (288, 352),
    seed: int = 0,
    quality: int = 92,
    progressive: bool = False,
    cmyk: bool = False,
    bits: int = 8,
    alpha: bool = False,
    grey: bool = False,
) -> np.ndarray:
    """Write ``rgb`` (or a pattern of ``size`` = (height, width)); return the upright RGB shown."""
    path = Path(path)
    if rgb is None:
        rgb = asymmetric_rgb(*size, seed=seed)
    fmt = fmt or _FORMAT_BY_SUFFIX[path.suffix.lower()]
    upright = rgb
    if grey:
        g = np.rint(rgb @ np.array([0.299, 0.587, 0.114])).clip(0, 255).astype(np.uint8)
        upright = np.repeat(g[:, :, None], 3, axis=2)
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    if bits == 16:
        # 16-bit via OpenCV (Pillow cannot write 16-bit RGB); value*257 maps back exactly.
        import cv2

        if orientation != 1:
            raise ValueError("16-bit test photos are written upright only")
        data16 = upright.astype(np.uint16) * 257
        arr = data16[..., 0] if grey else data16[..., ::-1]
        ok, buf = cv2.imencode(path.suffix, arr)
        assert ok
        path.write_bytes(buf.tobytes())
        return upright
    im = Image.fromarray(upright)
    if grey:
        im = im.convert("L")
    if alpha:
        a = np.full(upright.shape[:2], 255, np.uint8)
        a[:8, :8] = 0  # a transparent corner: composited over white
        im = im.convert("LA" if grey else "RGBA")
        im.putalpha(Image.fromarray(a))
        upright = upright.copy()
        upright[:8, :8] = 255
    if _INVERSE[orientation] is not None:
        im = im.transpose(_INVERSE[orientation])
    kwargs: dict[str, object] = {}
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    if fmt in ("JPEG", "WEBP", "HEIF"):
        kwargs["quality"] = quality
    if fmt == "JPEG":
        kwargs["progressive"] = progressive
        if cmyk:
            im = im.convert("CMYK")
    im.save(path, fmt, **kwargs)
    return upright


def _jpeg_bytes(rgb: np.ndarray, quality: int = 92) -> bytes:
    bio = io.BytesIO()
    Image.fromarray(rgb).save(bio, "JPEG", quality=quality)
    return bio.getvalue()


@dataclass(frozen=True)
class BadCase:
    """One bad input: where it is, the error it must raise, and a message fragment."""

    name: str
    path: Path
    error: type[InputFileError]
    message_part: str
    skip_reason: str | None = None


def build_bad_files(
    folder: str | os.PathLike[str], *, size: tuple[int, int] = (288, 352)
) -> dict[str, BadCase]:
    """Create one example of each bad case inside ``folder`` (created if needed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, BadCase] = {}

    def add(
        name: str, path: Path, error: type[InputFileError], part: str, skip: str | None = None
    ) -> None:
        cases[name] = BadCase(name, path, error, part, skip)

    p = folder / "zero_bytes.jpg"
    p.write_bytes(b"")
    add("zero_bytes", p, EmptyFileError, "empty")

    good = _jpeg_bytes(asymmetric_rgb(*size, seed=1))
    p = folder / "truncated.jpg"
    p.write_bytes(good[: len(good) * 2 // 3])
    add("truncated_jpeg", p, CorruptImageError, "truncated")

    p = folder / "text.jpg"
    p.write_text("this is not a photo, just notes about visit week 24\n", encoding="utf-8")
    add("text_as_jpg", p, NotAnImageError, "not an image")

    p = folder / "directory.jpg"
    p.mkdir(exist_ok=True)
    add("directory_as_jpg", p, NotAFileError, "directory")

    p = folder / "unreadable.jpg"
    p.write_bytes(good)
    p.chmod(0)
    skip = "running as root: file permissions do not stop root from reading" if IS_ROOT else None
    add("unreadable", p, UnreadableFileError, "permission denied", skip)

    p = folder / "broken_link.jpg"
    if p.is_symlink():
        p.unlink()
    p.symlink_to(folder / "no_such_target.jpg")
    add("broken_symlink", p, PhotoNotFoundError, "broken symbolic link")

    p = folder / "tiny.jpg"
    p.write_bytes(_jpeg_bytes(asymmetric_rgb(120, 160, seed=2)))
    add("tiny_image", p, ImageTooSmallError, "at least")

    p = folder / "tête_ü_頭.jpg"
    p.write_bytes(good[: len(good) // 2])
    add("non_ascii_truncated", p, CorruptImageError, "truncated")
    return cases


@dataclass
class RobustFolder:
    """A generated photo folder and what a batch run must report for it (see module docs)."""

    root: Path
    expected_status: dict[str, str] = field(default_factory=dict)
    errors: dict[str, tuple[Path, type[InputFileError]]] = field(default_factory=dict)
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)
    duplicates: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    same_photo: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    good_photos: list[Path] = field(default_factory=list)
    other_good_photos: list[Path] = field(default_factory=list)
    upright: dict[Path, np.ndarray] = field(default_factory=dict)
    skipped: dict[Path, str] = field(default_factory=dict)
    flat: dict[str, list[Path]] = field(default_factory=dict)


def build_robust_folder(
    root: str | os.PathLike[str],
    *,
    photo_factory: Callable[[str, int], np.ndarray] | None = None,
    size: tuple[int, int] = (288, 352),
    include_unreadable: bool | None = None,
) -> RobustFolder:
    """Create the issue-7 test folder under ``root`` and return its expected outcome."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    out = RobustFolder(root=root)
    counter = iter(range(10_000))
    if include_unreadable is None:
        include_unreadable = not IS_ROOT

    def picture(view: str) -> np.ndarray:
        seed = next(counter)
        if photo_factory is not None:
            return np.asarray(photo_factory(view, seed), dtype=np.uint8)
        return asymmetric_rgb(*size, seed=seed)

    def visit_dir(key: str) -> Path:
        d = root / key
        d.mkdir(parents=True, exist_ok=True)
        return d

    def good(path: Path, view: str, bucket: list[Path], **kw: object) -> None:
        out.upright[path] = write_photo(path, picture(view), **kw)  # type: ignore[arg-type]
        bucket.append(path)

    def simple_visit(key: str, names: dict[str, dict[str, object]], bucket: list[Path]) -> Path:
        d = visit_dir(key)
        for view, (fname, kw) in zip(VIEWS, names.items(), strict=False):
            good(d / fname, view, bucket, **kw)
        return d

    ok = out.good_photos
    simple_visit("good/baseline", {f"{v}.jpg": {} for v in VIEWS}, ok)
    simple_visit(
        "good/formats",
        {
            "top.jpg": {"progressive": True},
            "back.png": {"bits": 16},
            "left.webp": {},
            "right.heic": {},
        },
        ok,
    )
    simple_visit(
        "good/more_formats",
        {
            "top.jpg": {"cmyk": True},
            "back.png": {"grey": True, "alpha": True},
            "left.tif": {},
            "right.png": {"grey": True, "bits": 16},
        },
        ok,
    )
    simple_visit(
        "good/rotated",
        {
            "top.jpg": {"orientation": 6},
            "back.jpg": {"orientation": 3},
            "left.jpg": {"orientation": 8},
            "right.jpg": {"orientation": 2},
        },
        ok,
    )
    simple_visit("sujet_é/visite_ü", {f"{v}.jpg": {} for v in VIEWS}, ok)
    for key in (
        "good/baseline",
        "good/formats",
        "good/more_formats",
        "good/rotated",
        "sujet_é/visite_ü",
    ):
        out.expected_status[key] = "ok"

    # One failed visit per bad case: the bad file is the top view.
    scratch = root / ".scratch_bad"  # hidden: discover_visits skips it
    cases = build_bad_files(scratch, size=size)
    for name, case in cases.items():
        if name == "unreadable" and not include_unreadable:
            continue
        key = f"bad/{name}"
        d = visit_dir(key)
        suffix = ".jpg"
        top = d / f"top{suffix}"
        if case.path.is_symlink():
            top.symlink_to(d / "no_such_target.jpg")
        elif case.path.is_dir():
            top.mkdir()
        elif name == "unreadable":
            case.path.chmod(0o600)
            shutil.copyfile(case.path, top)
            top.chmod(0)
        else:
            shutil.copyfile(case.path, top)
        for view in VIEWS[1:]:
            good(d / f"{view}.jpg", view, out.other_good_photos)
        out.expected_status[key] = "failed"
        out.errors[key] = (top, case.error)
    shutil.rmtree(scratch, ignore_errors=True)
    if scratch.exists():  # the mode-000 file: make it removable
        for p in scratch.iterdir():
            p.chmod(0o600)
        shutil.rmtree(scratch)

    d = visit_dir("missing/v1")
    for view in VIEWS[:3]:
        good(d / f"{view}.jpg", view, out.other_good_photos)
    out.expected_status["missing/v1"] = "incomplete"
    out.missing["missing/v1"] = ("right",)

    d = visit_dir("duplicate/v1")
    good(d / "top.jpg", "top", out.other_good_photos)
    good(d / "vertex.png", "top", out.other_good_photos)
    for view in VIEWS[1:]:
        good(d / f"{view}.jpg", view, out.other_good_photos)
    out.expected_status["duplicate/v1"] = "duplicate"
    out.duplicates["duplicate/v1"] = (d / "top.jpg", d / "vertex.png")

    d = visit_dir("same_photo/v1")
    for view in ("top", "back", "left"):
        good(d / f"{view}.jpg", view, ok)
    shutil.copyfile(d / "left.jpg", d / "right.jpg")
    out.upright[d / "right.jpg"] = out.upright[d / "left.jpg"]
    ok.append(d / "right.jpg")
    out.expected_status["same_photo/v1"] = "same_photo"
    out.same_photo["same_photo/v1"] = (d / "left.jpg", d / "right.jpg")
    _naming_cases(out, simple_visit, good, include_unreadable)
    return out


def _naming_cases(
    out: RobustFolder,
    simple_visit: Callable[[str, dict[str, dict[str, object]], list[Path]], Path],
    good: Callable[..., None],
    include_unreadable: bool,
) -> None:
    """Add the names and layouts clinics use, and the entries that must be skipped."""
    root, ok = out.root, out.good_photos
    names = {
        "names/german": ("oben.jpg", "hinten.jpg", "links.jpg", "rechts.jpg"),
        "names/english": ("Crown.jpg", "Back.JPG", "Left Side.jpg", "right.jpeg"),
        "names/extensions": ("top.jpg.jpg", "back.jfif", "left.jpe", "right.jpg"),
    }
    for key, files in names.items():
        simple_visit(key, {f: {"fmt": "JPEG"} for f in files}, ok)
        out.expected_status[key] = "ok"
    d = simple_visit("names/copy", {f"{v}.jpg": {} for v in VIEWS}, out.other_good_photos)
    good(d / "top (1).jpg", "top", out.other_good_photos)
    out.expected_status["names/copy"] = "duplicate"
    out.duplicates["names/copy"] = (d / "top (1).jpg", d / "top.jpg")  # sorted as text
    d = simple_visit("names/phone", {f"IMG_000{i}.jpg": {} for i in range(1, 5)}, [])
    out.expected_status["names/phone"] = "incomplete"
    out.missing["names/phone"] = VIEWS
    for i in range(1, 5):
        out.skipped[d / f"IMG_000{i}.jpg"] = "names no view"
    for subject, visit in (("P01", "week_4"), ("X", ".."), ("X", ".")):
        files = []
        for view in VIEWS:
            good(root / f"{subject}_{visit}_{view}.jpg", view, ok)
            files.append(root / f"{subject}_{visit}_{view}.jpg")
        out.expected_status[f"{subject}/{visit}"] = "ok"
        out.flat[f"{subject}/{visit}"] = files
    (root / "README.txt").write_text("study notes\n", encoding="utf-8")
    out.skipped[root / "README.txt"] = "not a photo"
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("x", encoding="utf-8")
    out.skipped[root / "notes" / "readme.txt"] = "subject folder"
    (root / "notes" / "loop").symlink_to(root / "notes")
    out.skipped[root / "notes" / "loop"] = "loop"
    (root / "good" / "baseline" / ".DS_Store").write_bytes(b"\0\1")
    out.skipped[root / "good" / "baseline" / ".DS_Store"] = "hidden"
    if include_unreadable:
        (root / "locked").mkdir()
        (root / "locked" / "P9").mkdir()
        (root / "locked").chmod(0)
        out.skipped[root / "locked"] = "cannot be listed"
    else:
        (root / "empty").mkdir()
        out.skipped[root / "empty"] = "empty folder"
