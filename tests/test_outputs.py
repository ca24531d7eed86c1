"""Output-folder safety: atomic writes, the journal, the lock and the folder checks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from salt.errors import OutputError
from salt.io.outputs import (
    Journal,
    OutputLock,
    atomic_write,
    atomic_write_text,
    check_output_folder,
)


def test_atomic_write_keeps_old_file_on_error(tmp_path) -> None:
    target = tmp_path / "a.csv"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as fh:
        fh.write("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


def test_journal_last_line_wins_and_torn_line_dropped(tmp_path) -> None:
    j = Journal(tmp_path)
    j.append(
        [
            {
                "key": "k1",
                "visit_id": "A/1",
                "visit": {"salt": float("nan")},
                "views": [],
                "errors": [],
            }
        ]
    )
    j.append([{"key": "k2", "visit_id": "A/1", "visit": {"salt": 3.0}, "views": [], "errors": []}])
    j.close()
    with open(j.path, "a", encoding="utf-8") as fh:
        fh.write('{"key": "k3", "visit_id": "B/1", "vis')
    entries = Journal(tmp_path).read()
    assert list(entries) == ["A/1"] and entries["A/1"]["key"] == "k2"
    assert entries["A/1"]["visit"]["salt"] == 3.0
    Journal(tmp_path).rewrite(entries.values())
    assert j.path.read_text().count("\n") == 1


def test_nan_is_written_as_null(tmp_path) -> None:
    j = Journal(tmp_path)
    j.append(
        [
            {
                "key": "k",
                "visit_id": "A/1",
                "visit": {"salt": float("nan")},
                "views": [],
                "errors": [],
            }
        ]
    )
    j.close()
    assert '"salt": null' in j.path.read_text()


def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path) -> None:
    with OutputLock(tmp_path):
        with pytest.raises(OutputError, match=r"in use by another salt run \(pid \d+"):
            OutputLock(tmp_path).acquire()
        # another process is refused too
        code = (
            "import sys\nfrom salt.io.outputs import OutputLock\n"
            "from salt.errors import OutputError\n"
            f"try:\n    OutputLock({str(tmp_path)!r}).acquire()\n"
            "except OutputError:\n    sys.exit(3)\n"
        )
        assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 3
    OutputLock(tmp_path).acquire().release()  # free again


def test_lock_dies_with_its_process(tmp_path) -> None:
    """A process that ends without releasing (as after kill -9) leaves no stale lock."""
    code = (
        "import os; from salt.io.outputs import OutputLock; "
        f"OutputLock({str(tmp_path)!r}).acquire(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    OutputLock(tmp_path).acquire().release()


def test_check_output_folder(tmp_path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    assert check_output_folder(tmp_path / "new" / "deep", root).is_dir()
    with pytest.raises(OutputError, match="inside the input folder"):
        check_output_folder(root / "x", root)
    with pytest.raises(OutputError, match="inside the input folder"):
        check_output_folder(root, root)
    assert check_output_folder(root / "x", root, allow_inside_input=True).is_dir()
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputError):
        check_output_folder(tmp_path / "f" / "sub")


def test_tables_sort_visits_like_discover_visits() -> None:
    from salt.io.outputs import tables_from_entries

    order = [
        ("S10", "week2"),
        ("S1", "week36"),
        ("S2", "week10"),
        ("S1", "week4"),
        ("S1", "baseline"),
    ]
    entries = [{"visit": {"subject": s, "visit": v}, "views": [], "errors": []} for s, v in order]
    visits, _, _ = tables_from_entries(entries)
    got = list(zip(visits["subject"], visits["visit"], strict=True))
    assert got == [
        ("S1", "baseline"),
        ("S1", "week4"),
        ("S1", "week36"),
        ("S2", "week10"),
        ("S10", "week2"),
    ]


def test_safe_names_cannot_climb_or_collide() -> None:
    from salt.io.outputs import safe_name, visit_folder

    names = ["..", ".", "", "a/b", "a%2Fb", "a\\b", "P01", "%", "..a", "%2E."]
    safe = [safe_name(n) for n in names]
    assert len(set(safe)) == len(names)  # different names stay different
    for s in safe:
        assert s and "/" not in s and "\\" not in s and not s.startswith(".")
    assert visit_folder("..", "..") == "%2E./%2E."


def test_mask_png_is_a_palette_keeping_the_classes() -> None:
    import io

    import numpy as np
    from PIL import Image

    from salt.io.outputs import encode_mask_png

    cmap = np.array([[0, 1], [2, 255]], np.uint8)
    with Image.open(io.BytesIO(encode_mask_png(cmap))) as png:
        assert png.mode == "P"
        assert np.array_equal(np.asarray(png), cmap)
        palette = png.getpalette()
    assert palette[3:6] != palette[6:9] != [0, 0, 0]  # hair and hairless are coloured
