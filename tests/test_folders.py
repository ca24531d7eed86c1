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


# --------------------------------------------------------- names clinics use
@pytest.mark.parametrize(
    ("names", "language"),
    [
        (("top", "back", "left", "right"), "English"),
        (("Crown", "Occiput", "Left Side", "RIGHT_SIDE"), "English, other spellings"),
        (("oben", "hinten", "links", "rechts"), "German"),
        (("dessus", "arrière", "gauche", "droite"), "French"),
        (("boven", "achter", "links", "rechts"), "Dutch"),
        (("arriba", "atrás", "izquierda", "derecha"), "Spanish"),
    ],
)
def test_view_names_in_five_languages(tmp_path, names, language):
    for name in names:
        touch(tmp_path / "P1" / "w0" / f"{name}.jpg")
    (visit,) = salt.discover_visits(tmp_path)
    assert visit.complete, language
    assert [visit.paths[v].stem for v in salt.VIEWS] == list(names)


def test_no_alias_names_two_views():
    from salt.views import _ALIASES_BY_VIEW, alias_key

    seen: dict[str, str] = {}
    for view, names in _ALIASES_BY_VIEW.items():
        for name in names:
            assert seen.setdefault(alias_key(name), view) == view, name


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_view_alias_file_adds_names(tmp_path, kind):
    from salt.io.names import load_view_aliases

    if kind == "json":
        f = tmp_path / "aliases.json"
        f.write_text('{"Scheitelansicht": "top", "Nacken": "occiput"}', encoding="utf-8")
    else:
        f = tmp_path / "aliases.csv"
        f.write_text("Alias;View\nScheitelansicht;top\nNacken;occiput\n", encoding="utf-8")
    aliases = load_view_aliases(f)
    root = tmp_path / "photos"
    for name in ("Scheitelansicht", "Nacken", "left", "right"):
        touch(root / "P1" / "w0" / f"{name}.png")
    (plain,) = salt.discover_visits(root)
    assert plain.missing == ("top", "back")
    (visit,) = salt.discover_visits(root, aliases=aliases)
    assert visit.complete and visit.paths["back"].stem == "Nacken"


def test_bad_view_alias_file_names_the_entry(tmp_path):
    from salt.io.names import load_view_aliases

    f = tmp_path / "aliases.json"
    f.write_text('{"vorne": "front"}', encoding="utf-8")
    with pytest.raises(salt.InputFileError, match=r"aliases.json: 'vorne' -> 'front'"):
        load_view_aliases(f)
    f.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(salt.InputFileError, match="one JSON object"):
        load_view_aliases(f)


def test_extensions_and_double_extensions(tmp_path):
    for name in ("top.jpg.jpg", "back.JFIF", "left.jpe", "right.JPG.jpeg"):
        touch(tmp_path / "P1" / "w0" / name)
    (visit,) = salt.discover_visits(tmp_path)
    assert visit.complete
    assert visit.paths["back"].name == "back.JFIF"


def test_a_copy_makes_the_view_ambiguous_and_the_message_says_how_to_fix(tmp_path):
    a = touch(tmp_path / "P1" / "w0" / "top.jpg")
    b = touch(tmp_path / "P1" / "w0" / "top (1).jpg")
    c = touch(tmp_path / "P1" / "w0" / "back - Copy.jpg")
    d = touch(tmp_path / "P1" / "w0" / "back.jpg")
    with pytest.raises(salt.DuplicateViewError, match="keep one") as info:
        salt.discover_visits(tmp_path)
    assert str(c) in str(info.value) and str(d) in str(info.value)
    (visit,) = salt.discover_visits(tmp_path, on_duplicate="record")
    assert set(visit.duplicates) == {"top", "back"}
    assert set(visit.duplicates["top"]) == {a, b}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("P01_week_4_top.jpg", ("P01", "week_4", "top")),
        ("P_01_week_4_top.jpg", ("P_01", "week_4", "top")),
        ("P01_Month_18_left_side.png", ("P01", "Month_18", "left")),
        ("P01_week4_Left Side.jpg", ("P01", "week4", "left")),
        ("P01_2024_top.jpg", ("P01", "2024", "top")),  # a bare number after no unit
        ("P01_.._top.jpg", ("P01", "..", "top")),
        ("P01_w0_hinten.jpg.jpg", ("P01", "w0", "back")),
        ("week_4_top.jpg", ("week", "4", "top")),
    ],
)
def test_flat_names_with_unit_and_number(name, expected):
    assert parse_flat_name(name) == expected


def test_root_may_be_one_visit_folder(tmp_path):
    visit_dir = tmp_path / "P012" / "week24"
    for view in salt.VIEWS:
        touch(visit_dir / f"{view}.jpg")
    touch(visit_dir / "IMG_1.jpg")
    scan = scan_folder(visit_dir)
    (visit,) = scan.visits
    assert (visit.subject, visit.visit) == ("P012", "week24") and visit.complete
    assert [Path(s.path).name for s in scan.skipped] == ["IMG_1.jpg"]


def test_photos_with_unknown_names_keep_their_visit(tmp_path):
    for i in range(4):
        touch(tmp_path / "P1" / "w0" / f"IMG_{i}.jpg")
    touch(tmp_path / "P2" / "w0" / "top.jpg")
    (tmp_path / "P2" / "w4").mkdir()
    scan = scan_folder(tmp_path)
    assert [(s.path, s.reason) for s in scan.skipped if "empty" in s.reason] == [
        (str(tmp_path / "P2" / "w4"), "empty folder")
    ]
    p1 = next(v for v in scan.visits if v.subject == "P1")
    assert p1.missing == salt.VIEWS and not p1.paths  # reported, not vanished
    assert sum("names no view" in s.reason for s in scan.skipped) == 4


def test_symlink_loops_and_unlistable_folders_are_skipped(tmp_path, monkeypatch):
    for view in salt.VIEWS:
        touch(tmp_path / "P1" / "w0" / f"{view}.jpg")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "loop").symlink_to(tmp_path / "notes")
    (tmp_path / "notes" / "a").symlink_to(tmp_path / "notes" / "b")
    (tmp_path / "notes" / "b").symlink_to(tmp_path / "notes" / "a")
    (tmp_path / "P1" / "up").symlink_to(tmp_path)
    (tmp_path / "SECRET" / "w0").mkdir(parents=True)
    import salt.io.folders as folders

    real = folders.list_folder

    def refuse(folder, **kw):
        if Path(folder).name == "SECRET":
            raise PermissionError(13, "Permission denied", str(folder))
        return real(folder, **kw)

    monkeypatch.setattr(folders, "list_folder", refuse)
    scan = scan_folder(tmp_path)
    assert [v.key for v in scan.visits] == ["P1/w0"]
    reasons = {str(Path(s.path).relative_to(tmp_path)): s.reason for s in scan.skipped}
    assert "loop" in reasons["notes/loop"] and "loop" in reasons["P1/up"]
    assert "points nowhere or loops" in reasons["notes/a"]
    assert "points nowhere or loops" in reasons["notes/b"]
    assert "cannot be listed" in reasons["SECRET"] and "Permission denied" in reasons["SECRET"]


def test_output_folder_inside_the_root_is_a_skipped_row(tmp_path):
    for view in salt.VIEWS:
        touch(tmp_path / "P1" / "w0" / f"{view}.jpg")
        touch(tmp_path / "P1" / "out" / f"{view}.jpg")  # looks like a visit
    scan = scan_folder(tmp_path, exclude=[tmp_path / "P1" / "out"])
    assert [v.key for v in scan.visits] == ["P1/w0"]
    assert [(Path(s.path).name, "output folder" in s.reason) for s in scan.skipped] == [
        ("out", True)
    ]


def test_manifest_scores_any_names(tmp_path):
    from salt.io.manifest import is_manifest, read_manifest

    files = [touch(tmp_path / "phone" / f"IMG_{i}.JPG") for i in range(5)]
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "\ufeffPath;Subject;Visit;View\n"
        + "".join(
            f"phone/IMG_{i}.JPG;P01;week 4;{v}\n"
            for i, v in enumerate(("top", "hinten", "Left Side", "r"))
        )
        + f"{files[4]};P01;week 4;front\n"
        + "phone/IMG_0.JPG;;week 4;top\n"
        + "phone/IMG_0.JPG;P01/a;week 4;top\n",
        encoding="utf-8",
    )
    assert is_manifest(manifest) and not is_manifest(tmp_path)
    scan = read_manifest(manifest)
    (visit,) = scan.visits
    assert (visit.subject, visit.visit) == ("P01", "week 4") and visit.complete
    assert visit.paths["back"] == tmp_path / "phone" / "IMG_1.JPG"
    assert [s.path for s in scan.skipped] == [f"{manifest}:{n}" for n in (6, 7, 8)]
    assert "'front'" in scan.skipped[0].reason and "empty" in scan.skipped[1].reason
    assert "'/'" in scan.skipped[2].reason


def test_manifest_without_a_column_names_it(tmp_path):
    from salt.io.manifest import read_manifest

    manifest = tmp_path / "m.csv"
    manifest.write_text("path,subject,view\na.jpg,P1,top\n", encoding="utf-8")
    with pytest.raises(salt.InputFileError, match=r"lacks the column.*visit"):
        read_manifest(manifest)


def test_many_stray_files_give_one_log_line(tmp_path, caplog):
    for view in salt.VIEWS:
        touch(tmp_path / "P1" / "w0" / f"{view}.jpg")
    for i in range(500):
        touch(tmp_path / f"export_{i}.xml")
    with caplog.at_level(logging.DEBUG, logger="salt.io"):
        assert len(salt.discover_visits(tmp_path)) == 1
    assert len(caplog.records) == 1 and "skipped 500 entries" in caplog.text
    assert len(scan_folder(tmp_path).skipped) == 500


def test_a_stray_view_photo_beside_subject_folders_is_skipped(tmp_path):
    for view in salt.VIEWS:
        touch(tmp_path / "P1" / "w0" / f"{view}.jpg")
    stray = touch(tmp_path / "top.jpg")
    scan = scan_folder(tmp_path)
    assert [v.key for v in scan.visits] == ["P1/w0"] and scan.visits[0].complete
    assert [(s.path, "move it into" in s.reason) for s in scan.skipped] == [(str(stray), True)]
