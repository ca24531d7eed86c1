"""The issue-7 folder through ``salt score``: exact output rows, exit codes, resume.

Complements ``tests/test_engine_robust.py`` (API, per-case checks): here the command
line is run on the whole folder built by :func:`robust_cases.build_robust_folder`
and the tables are compared row by row with what the folder's construction implies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from robust_cases import VIEWS, build_robust_folder
from test_engine import KILL_SCRIPT, colour_model, kill_after_journal_lines, read_tables

from salt.io.outputs import JOURNAL_NAME
from salt.quality import FLAG_NAMES


@pytest.fixture(scope="module")
def model():
    # A 1x1-conv model with known behaviour (classes from colour channels): a random
    # network could predict no scalp at all on some photo, which would change statuses.
    return colour_model()


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory, model):
    import salt.model
    from salt.cli import main

    base = tmp_path_factory.mktemp("robust_cli")
    folder = build_robust_folder(base / "photos")
    out = base / "out"
    mp = pytest.MonkeyPatch()
    mp.setattr(salt.model, "load_model", lambda name="default", **kw: model)
    try:
        code = main(["score", str(folder.root), "-o", str(out), "-q", "--backend", "torch"])
    finally:
        mp.undo()
    tables = {
        name: pd.read_csv(out / f"{name}.csv", keep_default_na=False, dtype=str)
        for name in ("visits", "views", "errors", "skipped")
    }
    return folder, out, code, tables


def _key(subject: str, visit: str) -> str:
    return f"{subject}/{visit}"


def _scored(status: str) -> str:
    """The cases' ``ok`` is a scored visit: the colour model is unsure of the blended
    colours of these test pictures, so the engine asks for review but gives SALT."""
    return "ok" if status == "needs_review" else status


def test_exit_code_is_1_when_any_visit_failed(cli_run) -> None:
    _, _, code, _ = cli_run
    assert code == 1


def test_visits_csv_rows(cli_run) -> None:
    folder, _, _, tables = cli_run
    visits = tables["visits"]
    got = {
        _key(r.subject, r.visit): (_scored(r.status), r.views_missing) for r in visits.itertuples()
    }
    expected = {
        key: (status, ",".join(folder.missing.get(key, ())))
        for key, status in folder.expected_status.items()
    }
    assert got == expected
    for r in visits.itertuples():
        scored = _scored(r.status) == "ok"
        assert (r.salt != "") == scored, (r.subject, r.visit)
        assert (r.band != "") == scored and (r.aa_iga != "") == scored
        if scored:
            pcts = [float(getattr(r, f"{v}_pct")) for v in VIEWS]
            assert all(0.0 <= p <= 100.0 for p in pcts)
        assert r.model_name == "colour-test"


def test_errors_csv_rows(cli_run) -> None:
    folder, _, _, tables = cli_run
    errors = tables["errors"]
    got = sorted(
        (r.file, _key(r.subject, r.visit), r.view, r.error_type) for r in errors.itertuples()
    )
    expected = [(str(path), key, "top", err.__name__) for key, (path, err) in folder.errors.items()]
    for key, views in folder.missing.items():
        expected.append(("", key, ",".join(views), "MissingViewError"))
    for key, (a, b) in folder.duplicates.items():
        expected.append((f"{a}, {b}", key, "top", "DuplicateViewError"))  # both files
    left, right = folder.same_photo["same_photo/v1"]
    expected.append((str(left), "same_photo/v1", "left,right", "DuplicateViewError"))
    assert got == sorted(expected)
    same = errors[errors["view"] == "left,right"].iloc[0]
    assert str(right) in same["message"]
    # every message names its file(s) (or, for a missing view, the visit and the view)
    for r in errors.itertuples():
        if r.file:
            for f in r.file.split(", "):
                assert f in r.message or Path(f).name in r.message, r.message
        else:
            assert f"{r.subject}/{r.visit}" in r.message and r.view.split(",")[0] in r.message
    for key in folder.duplicates:
        subject, visit = key.split("/")
        row = errors[(errors["subject"] == subject) & (errors["visit"] == visit)].iloc[0]
        assert "keep one" in row["message"]  # says how to fix it


def test_skipped_csv_rows(cli_run) -> None:
    folder, _, _, tables = cli_run
    skipped = tables["skipped"]
    assert list(skipped.columns) == ["path", "reason"]
    got = dict(zip(skipped["path"], skipped["reason"], strict=True))
    assert len(got) == len(skipped)
    assert set(got) == {str(p) for p in folder.skipped}
    for path, part in folder.skipped.items():
        assert part in got[str(path)], (path, got[str(path)])


def test_overlays_of_odd_visit_names_stay_apart(cli_run) -> None:
    _, out, _, tables = cli_run
    views = tables["views"]
    odd = views[views["subject"] == "X"]
    folders = {r.visit: str(Path(r.overlay).parent) for r in odd.itertuples()}
    assert folders == {"..": "overlays/X/%2E.", ".": "overlays/X/%2E"}
    assert not list((out / "overlays").glob("*.jpg"))  # nothing at the top of overlays/


def test_views_csv_every_good_photo_once_with_quality_columns(cli_run) -> None:
    folder, _, _, tables = cli_run
    views = tables["views"]
    paths = list(views["path"])
    assert len(paths) == len(set(paths))
    for p in folder.good_photos:
        assert paths.count(str(p)) == 1, p
    bad = {str(path) for path, _ in folder.errors.values()}
    assert not bad & set(paths)
    for flag in FLAG_NAMES:
        assert f"q_{flag}" in views.columns
    # EXIF orientation recorded for the rotated visit: top 6, back 3, left 8, right 2
    rot = views[(views["subject"] == "good") & (views["visit"] == "rotated")]
    assert dict(zip(rot["view"], rot["orientation"].astype(int), strict=True)) == {
        "top": 6,
        "back": 3,
        "left": 8,
        "right": 2,
    }
    # displayed size: orientation 6 and 8 swap the stored 352 x 288 back to 288 x 352
    sizes = {r.view: (int(r.width), int(r.height)) for r in rot.itertuples()}
    assert sizes == {v: (352, 288) for v in VIEWS}


def test_rerun_reuses_good_visits_and_retries_failed(cli_run, model, tmp_path: Path) -> None:
    import salt

    folder, out, _, tables = cli_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    salt.score_folder(folder.root, copy, model=model, backend="torch", progress=False)
    for name in ("visits", "views", "errors"):
        again = pd.read_csv(copy / f"{name}.csv", keep_default_na=False, dtype=str)
        pd.testing.assert_frame_equal(again, tables[name])


def test_exit_code_0_on_the_good_visits_only(cli_run, model, tmp_path: Path) -> None:
    import salt.model
    from salt.cli import main

    folder, _, _, _ = cli_run
    good = tmp_path / "good"
    for key, status in folder.expected_status.items():
        if status == "ok" and key in folder.flat:
            good.mkdir(exist_ok=True)
            for path in folder.flat[key]:
                shutil.copy(path, good / path.name)
        elif status == "ok":
            shutil.copytree(folder.root / key, good / key)
    mp = pytest.MonkeyPatch()
    mp.setattr(salt.model, "load_model", lambda name="default", **kw: model)
    try:
        code = main(["score", str(good), "-o", str(tmp_path / "o"), "-q", "--backend", "torch"])
    finally:
        mp.undo()
    assert code == 0
    visits = pd.read_csv(tmp_path / "o" / "visits.csv", keep_default_na=False, dtype=str)
    assert {_scored(s) for s in visits["status"]} == {"ok"}
    assert len(visits) == sum(s == "ok" for s in folder.expected_status.values())


def test_kill_9_with_bad_files_then_rerun_gives_the_same_tables(model, tmp_path: Path) -> None:
    # The engine's kill -9 test (tests/test_engine.py), on the folder with every bad case.
    import salt

    folder = build_robust_folder(tmp_path / "photos")
    n_visits = len(folder.expected_status)
    ref = tmp_path / "ref"
    salt.score_folder(folder.root, ref, model=model, backend="torch", progress=False)
    out = tmp_path / "out"
    script = KILL_SCRIPT.format(
        tests=str(Path(__file__).parent), root=str(folder.root), out=str(out)
    )
    journal = out / JOURNAL_NAME
    done = kill_after_journal_lines(script, journal, 3)
    assert 3 <= done < n_visits  # killed in the middle
    assert not (out / "visits.csv").exists()
    salt.score_folder(folder.root, out, model=model, backend="torch", progress=False)
    for a, b in zip(read_tables(ref), read_tables(out), strict=True):
        pd.testing.assert_frame_equal(a, b)
    views = pd.read_csv(out / "views.csv", keep_default_na=False, dtype=str)
    paths = list(views["path"])
    assert all(paths.count(str(p)) == 1 for p in folder.good_photos)
    assert len(paths) == len(set(paths))


@pytest.mark.slow
def test_with_a_random_network(tmp_path: Path) -> None:
    # The real architecture, randomly initialised (salt.model.random_model): only what does
    # not depend on the network's output is asserted (a random network may see no scalp).
    import salt
    from salt.model import random_model

    folder = build_robust_folder(tmp_path / "photos")
    out = tmp_path / "out"
    visits = salt.score_folder(
        folder.root, out, model=random_model(), backend="torch", progress=False
    )
    status = {_key(r.subject, r.visit): r.status for r in visits.itertuples()}
    for key, expected in folder.expected_status.items():
        if expected != "ok":
            assert status[key] == expected, key
    errors = pd.read_csv(out / "errors.csv", keep_default_na=False, dtype=str)
    for key, (path, err) in folder.errors.items():
        subject, visit = key.split("/")
        rows = errors[(errors["subject"] == subject) & (errors["visit"] == visit)]
        assert list(zip(rows["file"], rows["error_type"], strict=True)) == [
            (str(path), err.__name__)
        ]
    views = pd.read_csv(out / "views.csv", keep_default_na=False, dtype=str)
    paths = list(views["path"])
    assert all(paths.count(str(p)) == 1 for p in folder.good_photos)
    assert set(visits["model_sha256"]) == {"untrained"}
