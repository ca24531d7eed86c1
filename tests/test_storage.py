"""Photo folders and photos through fsspec: memory:// and file:// URLs behave like local paths."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import cv2
import fsspec
import numpy as np
import pandas as pd
import pytest
from robust_cases import asymmetric_rgb, write_photo

import salt
import salt.io.photo
from salt.io import storage
from salt.io.folders import Visit, scan_folder
from salt.io.photo import (
    CorruptImageError,
    EmptyFileError,
    ImageTooLargeError,
    NotAFileError,
    NotAnImageError,
    PhotoNotFoundError,
    UnreadableFileError,
    load_photo,
)
from salt.io.storage import UnsupportedURLError

MEMORY = fsspec.filesystem("memory")


def _encode(ext: str, seed: int) -> bytes:
    """A small synthetic photo (RGB pattern of 300 x 400 px) encoded by OpenCV."""
    rgb = asymmetric_rgb(300, 400, seed=seed)
    ok, buf = cv2.imencode(ext, rgb[:, :, ::-1])
    assert ok
    return buf.tobytes()


# One study in both layouts: a complete visit, a visit with a duplicate and a missing
# view and a non-photo file, a flat visit, a hidden file and folder, stray files, and a
# visit folder without any photo of a view.
STUDY: Mapping[str, bytes] = {
    "P1/week0/top.jpg": _encode(".jpg", 1),
    "P1/week0/back.png": _encode(".png", 2),
    "P1/week0/Left.JPG": _encode(".jpg", 3),
    "P1/week0/right-side.jpeg": _encode(".jpg", 4),
    "P1/week12/vertex.jpg": _encode(".jpg", 5),
    "P1/week12/top.png": _encode(".png", 6),
    "P1/week12/left.jpg": _encode(".jpg", 7),
    "P1/week12/notes.txt": b"taken in clinic B",
    "P1/week12/.DS_Store": b"\x00\x01",
    "P1/consent.pdf": b"%PDF-1.4",
    "P2_week2_top.jpg": _encode(".jpg", 8),
    "P2_week2_occiput.png": _encode(".png", 9),
    "README.txt": b"study photos",
    ".cache/P9/week1/top.jpg": _encode(".jpg", 10),
    "P3/week1/notes.md": b"no photos yet",
}

# Written out by hand from STUDY and the convention in salt.io.folders:
# (subject, visit, {view: file}, missing, {view: files}, ignored files)
EXPECTED = [
    (
        "P1",
        "week0",
        {
            "top": "P1/week0/top.jpg",
            "back": "P1/week0/back.png",
            "left": "P1/week0/Left.JPG",
            "right": "P1/week0/right-side.jpeg",
        },
        (),
        {},
        (),
    ),
    (
        "P1",
        "week12",
        {"left": "P1/week12/left.jpg"},
        ("back", "right"),
        {"top": ("P1/week12/top.png", "P1/week12/vertex.jpg")},
        ("P1/week12/notes.txt",),
    ),
    (
        "P2",
        "week2",
        {"top": "P2_week2_top.jpg", "back": "P2_week2_occiput.png"},
        ("left", "right"),
        {},
        (),
    ),
]


@pytest.fixture
def mem_root() -> Iterator[str]:
    """A fresh ``memory://`` folder URL, removed after the test."""
    name = f"salt-test-{uuid.uuid4().hex}"
    yield f"memory://{name}"
    if MEMORY.exists(f"/{name}"):
        MEMORY.rm(f"/{name}", recursive=True)


def _write_local(root: Path, files: Mapping[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _write_memory(root: str, files: Mapping[str, bytes]) -> None:
    for rel, data in files.items():
        MEMORY.pipe(f"{root}/{rel}", data)


def _relative(location: storage.PhotoPath, root: Path | str) -> str:
    if isinstance(root, Path):
        assert isinstance(location, Path), location
        return location.relative_to(root).as_posix()
    assert isinstance(location, str) and location.startswith(root + "/"), location
    return location[len(root) + 1 :]


def _summary(visits: list[Visit], root: Path | str) -> list[tuple[object, ...]]:
    return [
        (
            v.subject,
            v.visit,
            {view: _relative(p, root) for view, p in v.paths.items()},
            v.missing,
            {view: tuple(_relative(p, root) for p in ps) for view, ps in v.duplicates.items()},
            tuple(_relative(p, root) for p in v.ignored),
        )
        for v in visits
    ]


# --------------------------------------------------------------------------- discovery
def test_memory_url_local_path_and_file_url_find_the_same_visits(
    tmp_path: Path, mem_root: str
) -> None:
    local = tmp_path / "study"
    _write_local(local, STUDY)
    _write_memory(mem_root, STUDY)

    on_disk = salt.discover_visits(local, on_duplicate="record")
    in_memory = salt.discover_visits(mem_root, on_duplicate="record")
    via_file_url = salt.discover_visits(local.as_uri(), on_duplicate="record")

    assert _summary(on_disk, local) == EXPECTED
    assert _summary(in_memory, mem_root) == EXPECTED
    # file:// is a local path: the very same Path objects as the plain path gives
    assert via_file_url == on_disk
    assert in_memory[0].paths["top"] == f"{mem_root}/P1/week0/top.jpg"


def test_trailing_slash_on_a_url_root_changes_nothing(mem_root: str) -> None:
    _write_memory(mem_root, STUDY)
    with_slash = salt.discover_visits(mem_root + "/", on_duplicate="record")
    assert with_slash == salt.discover_visits(mem_root, on_duplicate="record")


def test_duplicate_on_a_url_raises_naming_both_urls(mem_root: str) -> None:
    _write_memory(mem_root, STUDY)
    with pytest.raises(salt.DuplicateViewError) as info:
        salt.discover_visits(mem_root)
    message = str(info.value)
    assert f"{mem_root}/P1/week12/top.png" in message
    assert f"{mem_root}/P1/week12/vertex.jpg" in message


def test_url_strays_are_skipped_with_reasons_in_one_log_line(
    mem_root: str, caplog: pytest.LogCaptureFixture
) -> None:
    _write_memory(mem_root, STUDY)
    with caplog.at_level(logging.WARNING, logger="salt.io.folders"):
        salt.discover_visits(mem_root, on_duplicate="record")
    assert len(caplog.records) == 1 and "skipped 6 entries" in caplog.text
    scan = scan_folder(mem_root)
    reasons = {s.path[len(mem_root) + 1 :]: s.reason for s in scan.skipped}
    assert set(reasons) == {
        "README.txt",
        "P1/consent.pdf",
        "P1/week12/notes.txt",
        "P1/week12/.DS_Store",
        ".cache",
        "P3/week1/notes.md",  # a visit folder with no photo: its file is the row
    }
    assert "hidden" in reasons[".cache"] and "subject folder" in reasons["P1/consent.pdf"]


@pytest.mark.parametrize("kind", ["missing", "file", "empty"])
def test_bad_url_roots_name_the_url(mem_root: str, kind: str) -> None:
    root = f"{mem_root}/photos"
    if kind == "file":
        MEMORY.pipe(root, b"x")
    elif kind == "empty":
        MEMORY.mkdir(root)
    match = {"missing": "does not exist", "file": "is not a folder", "empty": "no photos"}[kind]
    with pytest.raises(salt.InputFileError, match=match) as info:
        salt.discover_visits(root)
    assert root in str(info.value)


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_bad_file_url_roots_name_the_url(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "photos"
    if kind == "file":
        root.write_bytes(b"x")
    url = root.as_uri()
    with pytest.raises(salt.InputFileError) as info:
        salt.discover_visits(url)
    assert url in str(info.value)


def test_unlistable_url_folder_is_an_input_error(
    mem_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_memory(mem_root, STUDY)

    def refuse(self: object, path: str, **kwargs: object) -> None:
        raise PermissionError(13, "Access Denied", path)

    monkeypatch.setattr(type(MEMORY), "ls", refuse)
    with pytest.raises(salt.InputFileError, match="cannot be listed") as info:
        salt.discover_visits(mem_root)
    assert mem_root in str(info.value) and "PermissionError" in str(info.value)


# --------------------------------------------------------------------------- photos
@pytest.mark.parametrize(
    ("name", "orientation", "target_side"),
    [("top.jpg", 6, None), ("top.jpg", 1, 64), ("back.png", 1, None), ("back.png", 1, 100)],
)
def test_load_photo_from_memory_equals_local(
    tmp_path: Path, mem_root: str, name: str, orientation: int, target_side: int | None
) -> None:
    local = tmp_path / name
    write_photo(local, orientation=orientation, size=(288, 352), seed=3)
    data = local.read_bytes()
    url = f"{mem_root}/P1/week0/{name}"
    MEMORY.pipe(url, data)

    want = load_photo(local, target_side=target_side)
    got = load_photo(url, target_side=target_side)
    assert got.path == url
    np.testing.assert_array_equal(got.rgb, want.rgb)
    assert got.sha256 == want.sha256 == hashlib.sha256(data).hexdigest()
    assert got.original_size == want.original_size
    assert (got.orientation, got.reduction, got.format) == (
        want.orientation,
        want.reduction,
        want.format,
    )
    assert got.orientation == orientation
    assert got.original_size == (352, 288)  # (width, height) upright, whatever is stored


def test_load_photo_from_file_url_is_the_local_photo(tmp_path: Path) -> None:
    local = tmp_path / "my photos" / "top.jpg"  # the space is %20 in the URL
    local.parent.mkdir()
    write_photo(local)
    url = local.as_uri()
    assert "%20" in url
    got = load_photo(url)
    assert got.path == str(local)
    np.testing.assert_array_equal(got.rgb, load_photo(local).rgb)


def test_photos_found_under_a_url_root_load(mem_root: str) -> None:
    _write_memory(mem_root, STUDY)
    visit = salt.discover_visits(mem_root, on_duplicate="record")[0]
    for view, url in visit.paths.items():
        photo = load_photo(url, min_side=32)
        assert photo.path == url, view
        assert photo.sha256 == hashlib.sha256(STUDY[_relative(url, mem_root)]).hexdigest()


def _break_memory(monkeypatch: pytest.MonkeyPatch, method: str, error: BaseException) -> None:
    def fail(self: object, *args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(type(MEMORY), method, fail)


class _StoreError(Exception):
    """Stands in for a store's own exception type (botocore, aiohttp, gcsfs)."""


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("missing", PhotoNotFoundError, "does not exist"),
        ("directory", NotAFileError, "is a directory"),
        ("empty", EmptyFileError, "0 bytes"),
        ("too_large", ImageTooLargeError, "MiB"),
        ("too_large_size_unknown", ImageTooLargeError, "MiB"),
        ("permission", UnreadableFileError, "permission denied"),
        ("io_error", UnreadableFileError, "Input/output error"),
        ("store_error", UnreadableFileError, "_StoreError: connection reset"),
        ("text", NotAnImageError, "not an image"),
        ("truncated", CorruptImageError, "truncated"),
    ],
)
def test_bad_urls_raise_typed_errors_naming_the_url(
    mem_root: str,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    error: type[salt.InputFileError],
    message: str,
) -> None:
    url = f"{mem_root}/P1/week0/top.jpg"
    jpeg = _encode(".jpg", 0)
    if case == "directory":
        MEMORY.pipe(f"{url}/inside.jpg", jpeg)
    elif case == "empty":
        MEMORY.pipe(url, b"")
    elif case == "text":
        MEMORY.pipe(url, b"this is not a photo")
    elif case == "truncated":
        MEMORY.pipe(url, jpeg[: len(jpeg) // 2])
    elif case != "missing":
        MEMORY.pipe(url, jpeg)
    if case.startswith("too_large"):
        monkeypatch.setattr(salt.io.photo, "MAX_FILE_BYTES", len(jpeg) - 1)
    if case == "too_large_size_unknown":  # a store that reports no size: the read is capped
        info = type(MEMORY).info
        monkeypatch.setattr(
            type(MEMORY),
            "info",
            lambda self, path, **kw: {
                k: v for k, v in info(self, path, **kw).items() if k != "size"
            },
        )
    if case == "permission":
        _break_memory(monkeypatch, "cat_file", PermissionError(13, "Access Denied"))
    elif case == "io_error":
        _break_memory(monkeypatch, "cat_file", OSError(5, "Input/output error"))
    elif case == "store_error":
        _break_memory(monkeypatch, "info", _StoreError("connection reset"))

    with pytest.raises(error, match=message) as info_:
        load_photo(url)
    assert url in str(info_.value)


def test_unknown_protocol_is_an_input_error_naming_the_url() -> None:
    url = "nosuchfs://bucket/P1/week0/top.jpg"
    with pytest.raises(UnsupportedURLError, match="Protocol not known") as info:
        load_photo(url)
    assert url in str(info.value)
    assert isinstance(info.value, salt.InputFileError) and isinstance(info.value, ValueError)
    with pytest.raises(UnsupportedURLError):
        salt.discover_visits("nosuchfs://bucket/study")


@pytest.mark.skipif(
    importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed (would need network)"
)
def test_s3_without_s3fs_names_the_extra() -> None:
    with pytest.raises(UnsupportedURLError, match=r"pip install 'salt\[s3\]'") as info:
        load_photo("s3://bucket/study/P1/week0/top.jpg")
    assert "s3://bucket/study/P1/week0/top.jpg" in str(info.value)
    with pytest.raises(UnsupportedURLError, match=r"salt\[s3\]") as info:
        salt.discover_visits("s3://bucket/study")
    assert "s3://bucket/study" in str(info.value)


def test_missing_package_for_gs_names_the_gcs_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(url: str, **kwargs: object) -> None:
        raise ImportError("Please install gcsfs to access Google Storage")

    monkeypatch.setattr(fsspec.core, "url_to_fs", not_installed)
    with pytest.raises(UnsupportedURLError, match=r"pip install 'salt\[gcs\]'") as info:
        load_photo("gs://bucket/P1/week0/top.jpg")
    assert "gs://bucket/P1/week0/top.jpg" in str(info.value)


# --------------------------------------------------------------------------- storage
def test_sha256_and_iter_bytes_of_a_url(mem_root: str, tmp_path: Path) -> None:
    data = _encode(".png", 11) + bytes(range(256)) * 10
    url = f"{mem_root}/a.png"
    MEMORY.pipe(url, data)
    local = tmp_path / "a.png"
    local.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    assert storage.sha256(url) == want
    assert storage.sha256(local) == want
    assert storage.sha256(local.as_uri()) == want
    blocks = list(storage.iter_bytes(url, chunk=1000))
    assert b"".join(blocks) == data
    assert len(blocks) == -(-len(data) // 1000)


def test_list_folder_of_a_url(mem_root: str) -> None:
    _write_memory(mem_root, STUDY)
    entries = storage.list_folder(mem_root)
    assert [(name, is_folder) for name, is_folder, _ in entries] == [
        ("P1", True),
        ("P2_week2_occiput.png", False),
        ("P2_week2_top.jpg", False),
        ("P3", True),
        ("README.txt", False),
    ]
    assert entries[0][2] == f"{mem_root}/P1"
    with pytest.raises(NotADirectoryError):
        storage.list_folder(f"{mem_root}/README.txt")
    with pytest.raises(FileNotFoundError):
        storage.list_folder(f"{mem_root}/nowhere")


@pytest.mark.parametrize(
    ("text", "url", "local"),
    [
        ("photos/P1", False, Path("photos/P1")),
        ("/data/photos", False, Path("/data/photos")),
        ("C:\\data\\photos", False, Path("C:\\data\\photos")),
        ("C://data/photos", False, Path("C://data/photos")),  # a drive letter, not a scheme
        ("file:///data/my%20photos", False, Path("/data/my photos")),
        ("file://localhost/data/photos", False, Path("/data/photos")),
        ("FILE:///data/photos", False, Path("/data/photos")),
        ("s3://bucket/study", True, None),
        ("gs://bucket/study", True, None),
        ("memory://study", True, None),
        ("simplecache::s3://bucket/study", True, None),
    ],
)
def test_is_url_and_as_local(text: str, url: bool, local: Path | None) -> None:
    assert storage.is_url(text) is url
    assert storage.as_local(text) == local


def test_path_objects_are_always_local(tmp_path: Path) -> None:
    assert not storage.is_url(tmp_path)
    assert storage.as_local(tmp_path) == tmp_path


def test_join_keeps_the_kind() -> None:
    assert storage.join(Path("/data"), "P1", "top.jpg") == Path("/data/P1/top.jpg")
    assert storage.join("s3://b/study/", "P1", "top.jpg") == "s3://b/study/P1/top.jpg"


def test_score_folder_on_a_memory_url_equals_the_local_folder(
    mem_root: str, tmp_path: Path
) -> None:
    """The batch engine reads a URL folder as it reads a local one; results name the URLs."""
    from test_engine import PCT, SALT, build_folder, colour_model

    local = build_folder(tmp_path / "photos", n_good=2)
    files = {
        p.relative_to(local).as_posix(): p.read_bytes() for p in local.rglob("*") if p.is_file()
    }
    _write_memory(mem_root, files)
    model = colour_model()
    ref = salt.score_folder(local, tmp_path / "ref", model=model, backend="torch", progress=False)
    out = tmp_path / "out"
    df = salt.score_folder(mem_root, out, model=model, backend="torch", progress=False)
    cols = ["subject", "visit", *(f"{v}_pct" for v in salt.VIEWS), "salt", "status"]
    assert df[cols].equals(ref[cols])
    good = df[df["status"] == "ok"]
    assert len(good) == 2 and good["salt"].tolist() == pytest.approx([SALT, SALT])
    assert good["top_pct"].tolist() == [PCT["top"]] * 2
    views = pd.read_csv(out / "views.csv")
    assert views["path"].str.startswith(f"{mem_root}/").all()
    errors = pd.read_csv(out / "errors.csv", keep_default_na=False)
    assert f"{mem_root}/Q_bad/w0/top.png" in set(errors["file"])
    # a second run reuses every visit whose photos could be read (hashes read through fsspec)
    salt.score_folder(mem_root, out, model=model, backend="torch", progress=False)
    counts = json.loads((out / "run.json").read_text())["counts"]
    assert counts["reused"] == counts["visits"] - 1  # Q_bad has an unreadable photo


def test_output_folder_url_is_refused(mem_root: str, tmp_path: Path) -> None:
    with pytest.raises(salt.OutputError, match="is a URL"):
        salt.score_folder(tmp_path, f"{mem_root}/out", progress=False)
