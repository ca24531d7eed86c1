import logging
from pathlib import Path

import pytest

import salt
from salt.io.folders import parse_flat_name, scan_folder


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_nested_layout_with_aliases(tmp_path):
    for name in ("Vertex.JPG", "occiput.png", "L.jpeg", "right-side.webp"):
        touch(tmp_path / "P1" / "week0" / name)
    (visit,) = salt.discover_visits(tmp_path)
    assert (visit.subject, visit.visit, visit.key) == ("P1", "week0", "P1/week0")
    assert visit.complete and visit.missing == ()
    assert dict(visit.paths) == {
        "top": tmp_path / "P1/week0/Vertex.JPG",
        "back": tmp_path / "P1/week0/occiput.png",
        "left": tmp_path / "P1/week0/L.jpeg",
        "right": tmp_path / "P1/week0/right-side.webp",
    }
    assert tuple(visit.paths) == salt.VIEWS


def test_flat_layout_and_subject_with_underscore(tmp_path):
    for view in ("top", "back", "left_side", "R"):
        touch(tmp_path / f"P_01_week12_{view}.tif")
    (visit,) = salt.discover_visits(tmp_path)
    assert (visit.subject, visit.visit) == ("P_01", "week12")
    assert visit.paths["left"].name == "P_01_week12_left_side.tif"
    assert visit.complete


def test_parse_flat_name():
    assert parse_flat_name("S1_v2_top-down.HEIC") == ("S1", "v2", "top")
    assert parse_flat_name("S1_top.jpg") is None  # no visit token
    assert parse_flat_name("S1_v2_front.jpg") is None
    assert parse_flat_name("S1_v2_top.gif") is None


def test_missing_views_are_recorded_in_order(tmp_path):
    touch(tmp_path / "A" / "v1" / "left.jpg")
    touch(tmp_path / "A" / "v1" / "top.jpg")
    (visit,) = salt.discover_visits(tmp_path)
    assert visit.missing == ("back", "right")
    assert not visit.complete


def test_duplicate_view_raises_naming_both_files(tmp_path):
    a = touch(tmp_path / "A" / "v1" / "top.jpg")
    b = touch(tmp_path / "A" / "v1" / "vertex.png")
    with pytest.raises(salt.DuplicateViewError) as info:
        salt.discover_visits(tmp_path)
    assert str(a) in str(info.value) and str(b) in str(info.value)
    assert "'top'" in str(info.value)


def test_duplicate_view_recorded_on_request(tmp_path):
    touch(tmp_path / "A" / "v1" / "top.jpg")
    touch(tmp_path / "A_v1_top.png")  # same visit through the flat layout
    for view in ("back", "left", "right"):
        touch(tmp_path / "A" / "v1" / f"{view}.jpg")
    (visit,) = salt.discover_visits(tmp_path, on_duplicate="record")
    assert "top" not in visit.paths and visit.missing == ()
    assert len(visit.duplicates["top"]) == 2
    assert not visit.complete


def test_natural_deterministic_order(tmp_path):
    for subject, visit in [("S10", "week2"), ("S2", "week10"), ("S2", "week2"), ("S1", "baseline")]:
        touch(tmp_path / subject / visit / "top.jpg")
    keys = [v.key for v in salt.discover_visits(tmp_path)]
    assert keys == ["S1/baseline", "S2/week2", "S2/week10", "S10/week2"]


def test_entry_named_like_photo_is_kept_whatever_it_is(tmp_path):
    (tmp_path / "A" / "v1" / "top.jpg").mkdir(parents=True)
    (tmp_path / "A" / "v1" / "back.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (visit,) = salt.discover_visits(tmp_path)
    assert set(visit.paths) == {"top", "back"}


def test_other_files_are_skipped_with_a_reason_in_one_log_line(tmp_path, caplog):
    touch(tmp_path / "A" / "v1" / "top.jpg")
    notes = touch(tmp_path / "A" / "v1" / "front.jpg")
    touch(tmp_path / "A" / "v1" / ".DS_Store")
    touch(tmp_path / "README.txt")
    with caplog.at_level(logging.WARNING, logger="salt.io.folders"):
        (visit,) = salt.discover_visits(tmp_path)
    assert visit.ignored == (notes,)
    assert len(caplog.records) == 1 and "skipped 3 entries" in caplog.text
    scan = scan_folder(tmp_path)
    reasons = {Path(s.path).name: s.reason for s in scan.skipped}
    assert set(reasons) == {"front.jpg", ".DS_Store", "README.txt"}
    assert "names no view" in reasons["front.jpg"] and "hidden" in reasons[".DS_Store"]
    assert "not a photo" in reasons["README.txt"]


def test_non_ascii_names(tmp_path):
    touch(tmp_path / "Пациент" / "неделя1" / "top.jpg")
    (visit,) = salt.discover_visits(tmp_path)
    assert visit.subject == "Пациент"


@pytest.mark.parametrize("kind", ["missing", "file", "empty"])
def test_bad_roots(tmp_path, kind):
    root = tmp_path / "photos"
    if kind == "file":
        root.write_text("x")
    elif kind == "empty":
        root.mkdir()
    with pytest.raises(salt.InputFileError, match="photos"):
        salt.discover_visits(root)
