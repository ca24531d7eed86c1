"""Output folders that belong to someone, and the names and layouts clinics use, end to end."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from test_engine import K, colour_model, good_visit, painted, write

import salt
from salt.cli import main
from salt.errors import OutputError
from salt.io.ownership import OWNER_NAME


@pytest.fixture(scope="module")
def model():
    return colour_model()


def score(root: Path, out: Path, model, **kw):
    return salt.score_folder(root, out, model=model, backend="torch", progress=False, **kw)


def tables(out: Path) -> dict[str, pd.DataFrame]:
    return {
        n: pd.read_csv(out / f"{n}.csv", keep_default_na=False, dtype=str)
        for n in ("visits", "errors", "skipped")
    }


# ----------------------------------------------------------------- ownership
def test_user_files_are_never_overwritten(tmp_path: Path, model) -> None:
    good_visit(tmp_path / "A" / "P1" / "w0")
    out = tmp_path / "out"
    out.mkdir()
    (out / "visits.csv").write_text("my own table\n")
    (out / "run.json").write_text('{"mine": 1}\n')
    with pytest.raises(OutputError, match=r"visits\.csv, run\.json, which salt did not write"):
        score(tmp_path / "A", out, model)
    assert (out / "visits.csv").read_text() == "my own table\n"
    assert (out / "run.json").read_text() == '{"mine": 1}\n'


def test_other_input_refused_then_replaced_only_salts_files(tmp_path: Path, model) -> None:
    good_visit(tmp_path / "A" / "PA" / "w0")
    good_visit(tmp_path / "B" / "PB" / "w0")
    out = tmp_path / "out"
    score(tmp_path / "A", out, model)
    record = json.loads((out / OWNER_NAME).read_text())
    assert record["input"] == str((tmp_path / "A").resolve())
    assert record["model_sha256"] == model.sha256
    mine = out / "overlays" / "notes.txt"
    mine.write_text("kept")
    with pytest.raises(OutputError, match=r"holds the results of .*A.*--replace-output"):
        score(tmp_path / "B", out, model)
    assert list(tables(out)["visits"]["subject"]) == ["PA"]  # nothing changed
    score(tmp_path / "B", out, model, replace_output=True)
    assert list(tables(out)["visits"]["subject"]) == ["PB"]
    assert not (out / "overlays" / "PA").exists()  # A's overlays are gone
    assert mine.read_text() == "kept"  # a file salt did not write stays
    journal = (out / ".salt-journal.jsonl").read_text()
    assert "PA" not in journal and "PB" in journal


def test_same_input_resumes(tmp_path: Path, model) -> None:
    good_visit(tmp_path / "A" / "P1" / "w0")
    out = tmp_path / "out"
    score(tmp_path / "A", out, model)
    good_visit(tmp_path / "A" / "P2" / "w0")
    score(tmp_path / "A", out, model)
    assert list(tables(out)["visits"]["subject"]) == ["P1", "P2"]
    info = json.loads((out / "run.json").read_text())
    assert info["counts"]["reused"] == 1


def test_out_equal_to_root_is_refused_and_out_inside_a_subject_is_skipped(
    tmp_path: Path, model
) -> None:
    root = tmp_path / "photos"
    good_visit(root / "P1" / "w0")
    good_visit(root / "P2" / "w0")
    with pytest.raises(OutputError, match="is the photo folder itself"):
        score(root, root, model, allow_inside_input=True)
    out = root / "P1" / "out"
    visits = score(root, out, model, allow_inside_input=True)
    assert list(visits["subject"]) == ["P1", "P2"]  # the subject did not disappear
    skipped = tables(out)["skipped"]
    assert list(skipped["path"]) == [str(out)]
    assert "output folder" in skipped["reason"][0]


def test_modes_follow_the_umask(tmp_path: Path, model) -> None:
    good_visit(tmp_path / "A" / "P1" / "w0")
    old = os.umask(0o022)
    try:
        from salt.io import atomic

        atomic._umask.cache_clear()
        score(tmp_path / "A", tmp_path / "out", model)
    finally:
        os.umask(old)
        atomic._umask.cache_clear()
    for name in ("visits.csv", "views.csv", "run.json", "overlays/P1/w0/top.jpg"):
        assert stat.S_IMODE((tmp_path / "out" / name).stat().st_mode) == 0o644, name


def test_killed_runs_temporary_files_are_removed(tmp_path: Path, model) -> None:
    good_visit(tmp_path / "A" / "P1" / "w0")
    out = tmp_path / "out"
    score(tmp_path / "A", out, model)
    left = [
        out / ".salt-tmp.visits.csv.x1y2",
        out / "overlays" / "P1" / "w0" / ".salt-tmp.top.jpg.z",
    ]
    for path in left:
        path.write_bytes(b"")
    user = out / ".my-notes.tmp"
    user.write_text("mine")
    score(tmp_path / "A", out, model)
    assert not any(p.exists() for p in left)
    assert user.exists()


@pytest.mark.parametrize("where", ["claim", "overlay"])
def test_full_disk_is_one_line_and_exit_code_2(
    tmp_path: Path,
    model,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    where: str,
) -> None:
    root = tmp_path / "A"
    good_visit(root / "P1" / "w0")
    good_visit(root / "P2" / "w0")
    out = tmp_path / "out"
    import salt.io.atomic
    import salt.model

    monkeypatch.setattr(salt.model, "load_model", lambda *a, **k: model)
    replace = os.replace

    def full(src, dst):  # the disk fills up when this file is written
        if (where == "claim" and OWNER_NAME in str(dst)) or (
            where == "overlay" and "P2" in str(dst)
        ):
            raise OSError(errno.ENOSPC, "No space left on device")
        return replace(src, dst)

    monkeypatch.setattr(salt.io.atomic.os, "replace", full)
    argv = ["score", str(root), "-o", str(out), "-q", "--backend", "torch", "--workers", "1"]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("salt score: error")]
    assert len(lines) == 1 and "no space left on the device" in lines[0]
    assert ("P2" if where == "overlay" else OWNER_NAME) in lines[0]  # names the file
    assert "Traceback" not in err
    assert not list(out.rglob(".salt-tmp.*"))
    monkeypatch.setattr(salt.io.atomic.os, "replace", replace)  # space freed
    assert main(argv) == 0
    info = json.loads((out / "run.json").read_text())
    assert info["counts"]["visits"] == 2
    assert info["counts"]["reused"] == (1 if where == "overlay" else 0)  # P1 was kept


# ------------------------------------------------------------- names and layouts
def test_one_visit_folder_and_manifest(tmp_path: Path, model) -> None:
    visit = tmp_path / "P012" / "week0"
    good_visit(visit)
    df = score(visit, tmp_path / "out1", model)
    assert list(zip(df["subject"], df["visit"], df["status"], strict=True)) == [
        ("P012", "week0", "ok")
    ]
    phone = tmp_path / "phone"
    rows = []
    for i, (view, k) in enumerate(K.items()):
        write(phone / f"IMG_{1000 + i}.JPG", painted(k))
        rows.append(
            {"Path": f"phone/IMG_{1000 + i}.JPG", "Subject": "P9", "Visit": "w4", "View": view}
        )
    rows.append({"Path": "phone/x.jpg", "Subject": "P9", "Visit": "w4", "View": "front"})
    pd.DataFrame(rows).to_csv(tmp_path / "list.csv", index=False)
    df = score(tmp_path / "list.csv", tmp_path / "out2", model)
    assert list(zip(df["subject"], df["visit"], df["status"], strict=True)) == [("P9", "w4", "ok")]
    skipped = tables(tmp_path / "out2")["skipped"]
    assert list(skipped["path"]) == [f"{tmp_path / 'list.csv'}:6"]
    assert "'front'" in skipped["reason"][0]


def test_every_naming_kind_gives_exact_tables(tmp_path: Path, model) -> None:
    """One example of every kind of name and layout: exact visits, errors and skipped rows."""
    root = tmp_path / "photos"
    names = {"top": "oben", "back": "hinten", "left": "links", "right": "rechts"}
    for view, k in K.items():  # German names
        write(root / "DE" / "w0" / f"{names[view]}.jpg", painted(k))
    for view, name in zip(K, ("Crown", "Back", "Left Side", "right"), strict=True):
        write(root / "EN" / "w0" / f"{name}.jpg", painted(K[view]))
    for view, ext in zip(K, ("jpg.jpg", "jfif", "jpe", "png"), strict=True):
        write(root / "EXT" / "w0" / f"{view}.png", painted(K[view]))
        (root / "EXT" / "w0" / f"{view}.png").rename(root / "EXT" / "w0" / f"{view}.{ext}")
    good_visit(root / "DUP" / "w0")
    write(root / "DUP" / "w0" / "top (1).png", painted(K["top"]))
    for view, k in K.items():
        write(root / f"P01_week_4_{view}.png", painted(k))
    for i in range(4):  # phone names: no view
        write(root / "PHONE" / "w0" / f"IMG_{i}.jpg", painted(0))
    (root / "notes").mkdir()
    (root / "notes" / "loop").symlink_to(root / "notes")
    (root / "notes" / "readme.txt").write_text("x")
    (root / "README.txt").write_text("x")
    locked = root / "LOCKED"
    locked.mkdir()
    if os.geteuid() != 0:
        locked.chmod(0)
    try:
        score(root, tmp_path / "out", model)
    finally:
        locked.chmod(0o755)
    t = tables(tmp_path / "out")
    visits = list(
        zip(t["visits"]["subject"], t["visits"]["visit"], t["visits"]["status"], strict=True)
    )
    ok = {"ok", "needs_review"}
    assert [(s, v) for s, v, _ in visits] == [
        ("DE", "w0"),
        ("DUP", "w0"),
        ("EN", "w0"),
        ("EXT", "w0"),
        ("P01", "week_4"),
        ("PHONE", "w0"),
    ]
    status = {f"{s}/{v}": st for s, v, st in visits}
    assert status["DE/w0"] in ok and status["EN/w0"] in ok and status["EXT/w0"] in ok
    assert status["P01/week_4"] in ok
    assert status["DUP/w0"] == "duplicate" and status["PHONE/w0"] == "incomplete"
    errors = t["errors"]
    dup = errors[errors["error_type"] == "DuplicateViewError"]
    assert (
        len(dup) == 1
        and "top (1).png" in dup["message"].iloc[0]
        and "keep one" in dup["message"].iloc[0]
    )
    assert set(errors["error_type"]) == {"DuplicateViewError", "MissingViewError"}
    skipped = dict(zip(t["skipped"]["path"], t["skipped"]["reason"], strict=True))
    rel = {str(Path(p).relative_to(root)): r for p, r in skipped.items()}
    assert set(rel) >= {
        "README.txt",
        "notes/readme.txt",
        "notes/loop",
        *(f"PHONE/w0/IMG_{i}.jpg" for i in range(4)),
    }
    assert "loop" in rel["notes/loop"] and "subject folder" in rel["notes/readme.txt"]
    assert rel["README.txt"].startswith("not a photo")
    assert all("names no view" in rel[f"PHONE/w0/IMG_{i}.jpg"] for i in range(4))
    if os.geteuid() != 0:
        assert "cannot be listed" in rel["LOCKED"]


# ------------------------------------------------------------ smaller findings
def test_quality_flags_in_tables_and_summary_line(
    tmp_path: Path, model, caplog: pytest.LogCaptureFixture
) -> None:
    good_visit(tmp_path / "A" / "P1" / "w0")
    good_visit(tmp_path / "A" / "P2" / "w0")
    out = tmp_path / "out"
    with caplog.at_level("INFO", logger="salt.inference.engine"):
        # every photo shows less scalp than this cut-off: each gets too_little_scalp
        df = score(tmp_path / "A", out, model, quality_thresholds={"min_scalp_fraction": 0.99})
    from salt.quality import FLAG_NAMES

    views = pd.read_csv(out / "views.csv", keep_default_na=False, dtype=str)
    assert (views["q_too_little_scalp"] == "True").all()
    for r in views.to_dict("records"):  # the column names exactly the flags set
        assert r["quality_flags"] == ", ".join(f for f in FLAG_NAMES if r[f"q_{f}"] == "True")
        assert "too_little_scalp" in r["quality_flags"]
    for subject, got in zip(df["subject"], df["quality_flags"], strict=True):
        rows = views[views["subject"] == subject]
        assert got == "; ".join(f"{r.view}: {r.quality_flags}" for r in rows.itertuples())
    assert list(tables(out)["visits"]["quality_flags"]) == list(df["quality_flags"])
    (line,) = [
        r.getMessage() for r in caplog.records if "reused from an earlier run" in r.getMessage()
    ]
    assert "8 photos in 2 visits with quality flags" in line
    info = json.loads((out / "run.json").read_text())
    assert info["counts"]["photos_flagged"] == 8 and info["counts"]["visits_flagged"] == 2


def test_formula_cells_are_escaped_in_the_tables(tmp_path: Path, model) -> None:
    good_visit(tmp_path / "A" / "=HYPERLINK(1)" / "@w0")
    out = tmp_path / "out"
    df = score(tmp_path / "A", out, model)
    assert list(df["subject"]) == ["=HYPERLINK(1)"]  # the library keeps the name
    t = tables(out)
    assert list(t["visits"]["subject"]) == ["'=HYPERLINK(1)"]
    assert list(t["visits"]["visit"]) == ["'@w0"]
    parquet = pd.read_parquet(out / "visits.parquet")
    assert list(parquet["subject"]) == ["=HYPERLINK(1)"]


def test_synth_has_quiet_flag() -> None:
    from salt.cli import build_parser

    args = build_parser(only="synth").parse_args(["synth", "OUT", "-q"])
    assert args.no_progress is True


def test_folder_of_an_earlier_version_is_recognised(tmp_path: Path, model) -> None:
    good_visit(tmp_path / "A" / "P1" / "w0")
    good_visit(tmp_path / "B" / "P2" / "w0")
    out = tmp_path / "out"
    score(tmp_path / "A", out, model)
    (out / OWNER_NAME).unlink()  # as an earlier version left it: run.json names the input
    score(tmp_path / "A", out, model)  # same input: resumes
    (out / OWNER_NAME).unlink()
    (out / "run.json").unlink()  # killed before its run.json: only the journal is left
    with pytest.raises(OutputError, match="input is not recorded"):
        score(tmp_path / "A", out, model)
    score(tmp_path / "B", out, model, replace_output=True)
    assert list(tables(out)["visits"]["subject"]) == ["P2"]
    assert not (out / "overlays" / "P1").exists()
