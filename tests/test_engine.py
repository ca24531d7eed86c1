"""End-to-end tests of the batch engine on photos whose hair loss is known by construction.

The model here is a 1x1 convolution whose class logits are the photo's own R, G and B
(see :func:`colour_model`): blue pixels are "not scalp", green "hair", red "hairless".
A photo painted with aligned blocks therefore has a hair-loss percentage computed by
hand, so every expected number below comes from the drawing, not from the code.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

import salt
from salt.errors import DuplicateViewError, EmptyScalpError, MissingViewError, OutputError
from salt.io.outputs import ERROR_COLUMNS, JOURNAL_NAME, VIEW_COLUMNS, VISIT_COLUMNS, OutputLock
from salt.model import ModelConfig, SaltModel

H, W = 256, 320  # photo size; the scalp band is rows 64..191 (half the photo)
# bald columns [0, 5k) of the scalp band -> k/64 of the scalp -> percent below
K = {"top": 16, "back": 32, "left": 8, "right": 0}
PCT = {v: 100.0 * k / 64 for v, k in K.items()}  # 25, 50, 12.5, 0
SALT = 0.40 * PCT["top"] + 0.24 * PCT["back"] + 0.18 * PCT["left"] + 0.18 * PCT["right"]


def colour_model(input_size: int = 256) -> SaltModel:
    """A SaltModel whose logits are 16 x the (unnormalised) B, G, R channels in [0, 1].

    Pure colours give one class a probability of about 1 (sure pixels); the factor
    ``sharpness`` scales the logits (a small one makes every pixel unsure).
    """
    # a power of two scales every logit exactly: classes (and float ties) stay as at 1
    return _colour_model(input_size, 16.0)


def _colour_model(input_size: int, sharpness: float) -> SaltModel:
    cfg = ModelConfig(input_size=input_size)
    net = torch.nn.Conv2d(3, 3, 1)
    with torch.no_grad():
        net.weight.zero_()
        for cls, chan in enumerate((2, 1, 0)):  # class 0 <- blue, 1 <- green, 2 <- red
            net.weight[cls, chan] = sharpness * cfg.std[chan]
            net.bias[cls] = sharpness * cfg.mean[chan]
    return SaltModel(net, cfg, name="colour-test", sha256="0" * 63 + "c")


def painted(k: int, *, scalp: bool = True) -> np.ndarray:
    """(H, W, 3) RGB: blue background, green scalp band, red hairless block of width 5k."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = (0, 0, 255)
    if scalp:
        img[64:192] = (0, 255, 0)
        img[64:192, : 5 * k] = (255, 0, 0)
    return img


def write(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def good_visit(folder: Path, ext: str = "png", k: dict[str, int] | None = None) -> None:
    for view, kk in (k or K).items():
        write(folder / f"{view}.{ext}", painted(kk))


def build_folder(root: Path, n_good: int = 3) -> Path:
    """``n_good`` good visits plus one visit for each problem."""
    for i in range(n_good):
        good_visit(root / f"P{i:02d}" / "w0")
    good_visit(root / "Q_missing" / "w0")
    (root / "Q_missing" / "w0" / "right.png").unlink()
    good_visit(root / "Q_bad" / "w0")
    (root / "Q_bad" / "w0" / "top.png").write_bytes(b"this is not a photo")
    good_visit(root / "Q_dup" / "w0")
    write(root / "Q_dup" / "w0" / "vertex.png", painted(4))
    good_visit(root / "Q_same" / "w0")
    (root / "Q_same" / "w0" / "right.png").write_bytes(
        (root / "Q_same" / "w0" / "left.png").read_bytes()
    )
    good_visit(root / "Q_noscalp" / "w0")
    write(root / "Q_noscalp" / "w0" / "back.png", painted(0, scalp=False))
    return root


@pytest.fixture(scope="module")
def model() -> SaltModel:
    return colour_model()


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, model: SaltModel):
    base = tmp_path_factory.mktemp("engine")
    root = build_folder(base / "photos")
    out = base / "out"
    df = salt.score_folder(root, out, model=model, backend="torch", batch_size=3, progress=False)
    return root, out, df


def read_tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (
        pd.read_csv(out / "visits.csv", keep_default_na=False),
        pd.read_csv(out / "views.csv", keep_default_na=False),
        pd.read_csv(out / "errors.csv", keep_default_na=False),
    )


def test_good_visits_match_hand_computed_values(scored) -> None:
    _, _, df = scored
    good = df[df["subject"].str.startswith("P")]
    assert len(good) == 3
    for v in salt.VIEWS:
        assert np.allclose(good[f"{v}_pct"], PCT[v])
    assert np.allclose(good["salt"], SALT)  # 24.25
    assert (
        set(good["band"]) == {"S1"} and set(good["aa_iga"]) == {2} and set(good["status"]) == {"ok"}
    )
    assert set(good["model_sha256"]) == {"0" * 63 + "c"}


def test_folder_scores_equal_score_visit(scored, model: SaltModel) -> None:
    root, _, df = scored
    for _, row in df[df["status"] == "ok"].iterrows():
        folder = root / row["subject"] / row["visit"]
        res = salt.score_visit({v: folder / f"{v}.png" for v in salt.VIEWS}, model=model)
        assert res.status == "ok"
        assert res.salt == pytest.approx(row["salt"], abs=1e-9)
        for v in salt.VIEWS:
            assert res.percents[v] == pytest.approx(row[f"{v}_pct"], abs=1e-9)
        assert res.band == row["band"] and res.aa_iga == row["aa_iga"]


def test_statuses_and_error_rows(scored) -> None:
    root, out, df = scored
    status = dict(zip(df["subject"], df["status"], strict=True))
    assert status == {
        "P00": "ok",
        "P01": "ok",
        "P02": "ok",
        "Q_bad": "failed",
        "Q_dup": "duplicate",
        "Q_missing": "incomplete",
        "Q_noscalp": "failed",
        "Q_same": "same_photo",
    }
    not_ok = df[df["status"] != "ok"]
    assert not_ok["salt"].isna().all() and not_ok["band"].isna().all()
    missing = df.set_index("subject").loc["Q_missing"]
    assert missing["views_missing"] == "right" and "'right'" in missing["message"]
    # the good views of a visit with a problem are still measured
    assert missing["top_pct"] == pytest.approx(PCT["top"])
    _, _, errors = read_tables(out)
    rows = {(r.subject, r.error_type): r for r in errors.itertuples()}
    assert set(rows) == {
        ("Q_bad", "NotAnImageError"),
        ("Q_dup", "DuplicateViewError"),
        ("Q_missing", "MissingViewError"),
        ("Q_noscalp", "EmptyScalpError"),
        ("Q_same", "DuplicateViewError"),
    }
    bad = rows[("Q_bad", "NotAnImageError")]
    assert bad.file == str(root / "Q_bad" / "w0" / "top.png") and bad.view == "top"
    assert str(root / "Q_bad" / "w0" / "top.png") in bad.message
    dup = rows[("Q_dup", "DuplicateViewError")].message
    assert "top.png" in dup and "vertex.png" in dup
    same = rows[("Q_same", "DuplicateViewError")]
    assert "left.png" in same.message and "right.png" in same.message and same.view == "left,right"
    assert rows[("Q_noscalp", "EmptyScalpError")].view == "back"


def test_every_good_photo_scored_exactly_once(scored) -> None:
    root, out, _ = scored
    _, views, _ = read_tables(out)
    assert not views.duplicated(["subject", "visit", "view"]).any()
    readable = {
        str(p)
        for p in root.rglob("*.png")
        if p.read_bytes()[:4] == b"\x89PNG"
        and not (p.parent.parent.name == "Q_dup" and p.stem in ("top", "vertex"))
    }
    assert set(views["path"]) == readable


def test_output_schema(scored) -> None:
    _, out, df = scored
    visits, views, errors = read_tables(out)
    assert tuple(visits.columns) == VISIT_COLUMNS
    assert tuple(views.columns[: len(VIEW_COLUMNS)]) == VIEW_COLUMNS
    assert all(c.startswith("q_") for c in views.columns[len(VIEW_COLUMNS) :])
    assert tuple(errors.columns) == ERROR_COLUMNS
    assert tuple(df.columns) == VISIT_COLUMNS
    parquet = pd.read_parquet(out / "visits.parquet")
    pd.testing.assert_frame_equal(parquet, df, check_dtype=False)
    assert df["salt"].dtype == np.float64 and str(df["aa_iga"].dtype) == "Int64"
    good = views[views["subject"] == "P00"].set_index("view")
    assert (good["scalp_pixels"] == 256 * 256 // 2).all()  # half of the 256 x 256 class map
    assert good.loc["top", "hairless_pixels"] == 256 * 256 // 2 // 4
    assert (
        (good["width"] == W).all()
        and (good["height"] == H).all()
        and (good["orientation"] == 1).all()
    )
    assert not any(p.name.endswith(".tmp") for p in out.rglob("*"))


def test_overlays_have_the_photo_size(scored) -> None:
    _, out, _ = scored
    _, views, _ = read_tables(out)
    for r in views.itertuples():
        img = cv2.imread(str(out / r.overlay))
        assert img is not None and img.shape[:2] == (H, W), r.overlay
    for subject in ("P00", "Q_missing"):
        sheet = cv2.imread(str(out / "overlays" / subject / "w0" / "sheet.jpg"))
        assert sheet is not None and sheet.shape[1] == 2 * 360
    # the overlay outlines the hairless block: red appears inside it, not outside the scalp
    ov = cv2.cvtColor(
        cv2.imread(str(out / "overlays" / "P00" / "w0" / "back.jpg")), cv2.COLOR_BGR2RGB
    )
    assert ov[100:180, 40:120, 1].mean() < 100  # tinted red inside the bald block (no green)


def test_run_json_records_model_and_counts(scored, model: SaltModel) -> None:
    _, out, _ = scored
    info = json.loads((out / "run.json").read_text())
    assert info["model"]["sha256"] == model.sha256 and info["model"]["name"] == "colour-test"
    assert info["salt_version"] == salt.__version__
    assert info["backend"]["name"] == "torch" and "torch" in info["backend"]["versions"]
    assert (
        info["counts"]["visits"] == 8
        and info["counts"]["ok"] == 3
        and info["counts"]["errors"] == 5
    )
    assert info["arguments"]["batch_size"] == 3
    assert {"decode", "infer", "overlays"} <= set(info["stage_seconds"])
    assert info["host"]["cpu_cores"] >= 1 and info["peak_rss_mb"] > 0


def test_input_folder_untouched(scored) -> None:
    root, _, _ = scored
    names = {p.name for p in root.rglob("*") if p.is_file()}
    assert names <= {"top.png", "back.png", "left.png", "right.png", "vertex.png"}


def test_resume_reuses_and_rescores_changed(tmp_path: Path, model: SaltModel) -> None:
    root = build_folder(tmp_path / "photos", n_good=2)
    out = tmp_path / "out"
    first = salt.score_folder(root, out, model=model, backend="torch", progress=False)
    again = salt.score_folder(root, out, model=model, backend="torch", progress=False)
    pd.testing.assert_frame_equal(first, again)
    counts = json.loads((out / "run.json").read_text())["counts"]
    # 7 visits: the one with an unreadable photo is re-tried, the 6 others are reused
    assert counts["reused"] == 6 and counts["scored"] == 1
    write(root / "P01" / "w0" / "top.png", painted(24))  # top now 37.5 % hairless
    third = salt.score_folder(root, out, model=model, backend="torch", progress=False)
    counts = json.loads((out / "run.json").read_text())["counts"]
    assert counts["reused"] == 5
    row = third.set_index("subject").loc["P01"]
    assert row["top_pct"] == pytest.approx(37.5)
    assert row["salt"] == pytest.approx(SALT + 0.40 * 12.5)
    # another model sha256 re-scores everything
    other = colour_model()
    other.sha256 = "f" * 64
    salt.score_folder(root, out, model=other, backend="torch", progress=False)
    assert json.loads((out / "run.json").read_text())["counts"]["reused"] == 0
    # so does another backend
    salt.score_folder(root, out, model=other, backend="onnxruntime", progress=False)
    assert json.loads((out / "run.json").read_text())["counts"]["reused"] == 0
    journal = (out / JOURNAL_NAME).read_text().splitlines()
    assert len(journal) == 7  # compacted: one line per visit


KILL_SCRIPT = """
import sys, time
sys.path.insert(0, {tests!r})
import salt.model.backends as B
orig = B.make_backend
def slow(*a, **k):
    be = orig(*a, **k)
    fn = be._fn
    def run(x):
        time.sleep(0.25)
        return fn(x)
    be._fn = run
    return be
B.make_backend = slow
from test_engine import colour_model
from salt.inference.engine import score_folder
score_folder({root!r}, {out!r}, model=colour_model(), backend="torch", batch_size=2, progress=False)
"""


def kill_after_journal_lines(script: str, journal: Path, lines: int) -> int:
    """Run ``script`` in a subprocess, SIGKILL it once ``journal`` has ``lines`` lines.

    Returns the number of journal lines left after the kill.
    """
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text(encoding="utf-8").count("\n") >= lines:
            break
        if proc.poll() is not None:
            pytest.fail(f"scoring subprocess ended early: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    return journal.read_text(encoding="utf-8").count("\n")


def test_kill_9_then_resume_gives_the_same_tables(tmp_path: Path, model: SaltModel) -> None:
    root = build_folder(tmp_path / "photos", n_good=6)
    ref = tmp_path / "ref"
    salt.score_folder(root, ref, model=model, backend="torch", progress=False)
    out = tmp_path / "out"
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), root=str(root), out=str(out))
    journal = out / JOURNAL_NAME
    done_before = kill_after_journal_lines(script, journal, 3)
    assert 3 <= done_before < 11
    assert not (out / "visits.csv").exists()
    # a torn last line, as if killed in the middle of a write
    with open(journal, "a", encoding="utf-8") as fh:
        fh.write('{"key": "abc", "visit_id": "P0')
    salt.score_folder(root, out, model=model, backend="torch", progress=False)
    for a, b in zip(read_tables(ref), read_tables(out), strict=True):
        pd.testing.assert_frame_equal(a, b)
    counts = json.loads((out / "run.json").read_text())["counts"]
    assert counts["reused"] >= done_before - 2  # visits with an unreadable photo are re-tried
    assert counts["visits"] == 11
    assert len(journal.read_text().splitlines()) == 11


def test_partial_mode(tmp_path: Path, model: SaltModel) -> None:
    root = tmp_path / "photos"
    good_visit(root / "A" / "w0")
    (root / "A" / "w0" / "right.png").unlink()
    df = salt.score_folder(root, None, model=model, backend="torch", progress=False, partial=True)
    expected = (0.40 * PCT["top"] + 0.24 * PCT["back"] + 0.18 * PCT["left"]) / 0.82
    assert df.loc[0, "status"] == "partial" and df.loc[0, "salt"] == pytest.approx(expected)
    res = salt.score_visit(
        {v: root / "A" / "w0" / f"{v}.png" for v in ("top", "back", "left")},
        model=model,
        partial=True,
    )
    assert res.status == "partial" and res.salt == pytest.approx(expected)


def test_score_visit_arrays_aliases_and_errors(model: SaltModel) -> None:
    photos = {
        "vertex": painted(K["top"]),
        "occiput": painted(K["back"]),
        "L": painted(K["left"]),
        "R": painted(0),
    }
    res = salt.score_visit(photos, model=model, masks=True)
    assert res.salt == pytest.approx(SALT)
    assert res.views["top"].class_map is not None and res.views["top"].class_map.shape == (256, 256)
    with pytest.raises(MissingViewError, match="'right'"):
        salt.score_visit({k: v for k, v in photos.items() if k != "R"}, model=model)
    with pytest.raises(DuplicateViewError):
        salt.score_visit({**photos, "R": photos["L"]}, model=model)
    with pytest.raises(EmptyScalpError):
        salt.score_visit({**photos, "R": painted(0, scalp=False)}, model=model)
    with pytest.raises(salt.BadValueError, match=r"map each view to its photo.*got a list"):
        salt.score_visit(list(photos.values()), model=model)  # type: ignore[arg-type]


def test_out_inside_input_and_unwritable_out_fail_before_work(
    tmp_path: Path, model: SaltModel
) -> None:
    root = tmp_path / "photos"
    good_visit(root / "A" / "w0")
    before = sorted(p for p in root.rglob("*"))
    with pytest.raises(OutputError, match="inside the input folder"):
        salt.score_folder(root, root / "results", model=model, progress=False)
    assert sorted(p for p in root.rglob("*")) == before
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        salt.score_folder(root, blocker, model=model, progress=False)
    with pytest.raises(OutputError, match="cannot write"):
        salt.score_folder(root, blocker / "sub", model=model, progress=False)
    # allowed explicitly: the outputs are not read back as photos
    df = salt.score_folder(
        root, root / "results", model=model, progress=False, allow_inside_input=True
    )
    again = salt.score_folder(
        root, root / "results", model=model, progress=False, allow_inside_input=True
    )
    assert len(df) == len(again) == 1


def test_concurrent_run_is_refused(tmp_path: Path, model: SaltModel) -> None:
    root = tmp_path / "photos"
    good_visit(root / "A" / "w0")
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out), pytest.raises(OutputError, match="in use by another salt run"):
        salt.score_folder(root, out, model=model, progress=False)
    assert not (out / "visits.csv").exists()
    salt.score_folder(root, out, model=model, progress=False)  # the lock was released
    assert (out / "visits.csv").exists()


def test_masks_written(tmp_path: Path, model: SaltModel) -> None:
    root = tmp_path / "photos"
    good_visit(root / "A" / "w0")
    out = tmp_path / "out"
    salt.score_folder(root, out, model=model, progress=False, masks=True, overlays=False)
    from PIL import Image

    with Image.open(out / "masks" / "A" / "w0" / "back.png") as png:
        assert png.mode == "P"  # a palette PNG: coloured in a viewer, values kept
        mask = np.asarray(png)
    assert mask.shape == (H, W) and set(np.unique(mask)) == {0, 1, 2}
    assert math.isclose(100 * (mask == 2).sum() / (mask >= 1).sum(), PCT["back"], abs_tol=1.0)
    assert not (out / "overlays").exists()


def test_cli_exit_codes(tmp_path: Path, model: SaltModel, monkeypatch: pytest.MonkeyPatch) -> None:
    import salt.model
    from salt.cli import main

    monkeypatch.setattr(salt.model, "load_model", lambda name="default", **kw: model)
    good = tmp_path / "good"
    good_visit(good / "A" / "w0")
    assert main(["score", str(good), "-o", str(tmp_path / "o1"), "-q", "--backend", "torch"]) == 0
    assert pd.read_csv(tmp_path / "o1" / "visits.csv").loc[0, "status"] == "ok"
    mixed = build_folder(tmp_path / "mixed", n_good=1)
    assert main(["score", str(mixed), "-o", str(tmp_path / "o2"), "-q", "--backend", "torch"]) == 1
    assert main(["score", str(good), "-o", str(good / "out"), "-q"]) == 2
    with OutputLock(tmp_path / "o1"):
        assert main(["score", str(good), "-o", str(tmp_path / "o1"), "-q"]) == 2
    bad_json = tmp_path / "thresholds.json"
    bad_json.write_text('{"no_such_cut_off": 1}')
    args = ["score", str(good), "-o", str(tmp_path / "o3"), "-q", "--quality-thresholds"]
    assert main([*args, str(bad_json)]) == 2
    assert main([*args, str(tmp_path / "missing.json")]) == 2


def test_strict_mode_fails_flagged_visits(tmp_path: Path, model: SaltModel) -> None:
    pytest.importorskip("salt.quality")
    root = tmp_path / "photos"
    good_visit(root / "A" / "w0")
    import dataclasses

    from salt.quality import QualityThresholds

    fields = {f.name for f in dataclasses.fields(QualityThresholds)}
    # cut-offs that flag nothing (flat painted photos look blurred to the real ones)
    calm = {"min_laplacian_var": 0.0, "view_margin": 1e9, "min_scalp_fraction": 0.0}
    calm.update({k: 0.0 for k in ("min_detail_isotropy",) if k in fields})
    blurry = {**calm, "min_laplacian_var": 1e12}  # every photo counts as blurred
    kw = {"model": model, "backend": "torch", "progress": False}
    assert (
        salt.score_folder(root, None, strict=True, quality_thresholds=calm, **kw).loc[0, "status"]
        == "ok"
    )
    lax = salt.score_folder(root, tmp_path / "lax", quality_thresholds=blurry, **kw)
    assert lax.loc[0, "status"] == "ok" and lax.loc[0, "salt"] == pytest.approx(SALT)
    assert pd.read_csv(tmp_path / "lax" / "views.csv")["q_blurry"].all()
    strict = salt.score_folder(
        root, tmp_path / "strict", strict=True, quality_thresholds=blurry, **kw
    )
    assert strict.loc[0, "status"] == "flagged" and math.isnan(strict.loc[0, "salt"])
    errors = pd.read_csv(tmp_path / "strict" / "errors.csv")
    assert list(errors["error_type"]) == ["QualityFlag"] * 4
    assert errors["message"].str.contains("blurry").all()
    with pytest.raises(salt.BadValueError, match="nope"):
        salt.score_folder(root, None, quality_thresholds={"nope": 1}, **kw)


def test_an_unexpected_salt_error_fails_one_visit_not_the_batch(
    tmp_path: Path, model: SaltModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import salt.inference.measure

    root = tmp_path / "photos"
    good_visit(root / "A" / "w0")
    good_visit(root / "B" / "w0", k={"top": 8, "back": 16, "left": 24, "right": 0})
    real = salt.inference.measure.quality

    def picky(rgb, class_map, view, thresholds):
        if (class_map == 2).sum() == 256 * 256 // 2 // 8 and view == "top":  # B's top (8/64)
            raise salt.BadValueError("quality check cannot judge this photo")
        return real(rgb, class_map, view, thresholds)

    monkeypatch.setattr(salt.inference.measure, "quality", picky)
    df = salt.score_folder(root, tmp_path / "out", model=model, backend="torch", progress=False)
    assert list(df["status"]) == ["ok", "failed"]
    errors = pd.read_csv(tmp_path / "out" / "errors.csv")
    assert list(errors["error_type"]) == ["BadValueError"] and errors.loc[0, "subject"] == "B"


def test_one_photo_in_two_visits_is_named_in_a_warning(
    tmp_path: Path, model: SaltModel, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "photos"
    good_visit(root / "P01" / "w0")
    good_visit(root / "P02" / "w0", k={**K, "top": K["top"] + 2})  # its own top photo
    good_visit(root / "P03" / "w0")  # a copy of P01's visit: a filing slip
    with caplog.at_level("WARNING", logger="salt.inference.outfolder"):
        salt.score_folder(root, tmp_path / "out", model=model, backend="torch", progress=False)
    shared = [r.getMessage() for r in caplog.records if "the same photo" in r.getMessage()]
    # P01 and P03 share all four photos; P02 shares back, left and right with both
    assert any("2 visits: P01/w0, P03/w0" in m for m in shared)
    assert any("3 visits: P01/w0, P02/w0, P03/w0" in m for m in shared)
    assert not any("P02/w0, P03/w0" in m and "2 visits" in m for m in shared)


def test_default_batch_is_one_visit_on_the_cpu_and_network_gets_half_the_cores(
    tmp_path: Path, model: SaltModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import salt.inference.local as local

    root = tmp_path / "photos"
    for i in range(3):
        good_visit(root / f"P{i:02d}" / "w0")
    good_visit(tmp_path / "one" / "P09" / "w0")
    monkeypatch.setattr(local, "default_threads", lambda: 6)
    seen: list[int | None] = []
    real = salt.model.backends.make_backend

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(kwargs.get("threads"))  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(salt.model.backends, "make_backend", spy)
    df = salt.score_folder(root, tmp_path / "out", model=model, backend="torch", progress=False)
    assert list(df["status"]) == ["ok", "ok", "ok"]
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert info["arguments"]["batch_size"] == 4
    # three visits: half the cores for the network, the rest decode and draw meanwhile
    assert seen == [3]
    # one visit: nothing to overlap with, every core for the network
    salt.score_folder(tmp_path / "one", None, model=model, backend="torch", progress=False)
    assert seen == [3, 6]
    with pytest.raises(salt.BadValueError, match="batch_size"):
        salt.score_folder(root, None, model=model, batch_size=0, progress=False)
