"""The demo's report (examples/demo_report.py) and the data the repository holds."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif", ".bmp"}


def _report() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_report", REPO / "examples/demo_report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_data_folder_holds_no_photo() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "data"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    assert not [f for f in tracked if Path(f).suffix.lower() in PHOTO_SUFFIXES]


def test_salt_against_truth_joins_by_visit_and_signs_the_error(tmp_path: Path) -> None:
    (tmp_path / "synth").mkdir()
    (tmp_path / "scored").mkdir()
    # truth and scores in different row orders; the subject "007" must stay a string
    pd.DataFrame(
        {"subject": ["007", "S1"], "visit": ["week0", "week0"], "salt": [20.0, 50.0]}
    ).to_csv(tmp_path / "synth" / "truth.csv", index=False)
    pd.DataFrame(
        {"subject": ["S1", "007"], "visit": ["week0", "week0"], "salt": [45.5, 24.0]}
    ).to_csv(tmp_path / "scored" / "visits.csv", index=False)
    table = _report().salt_against_truth(tmp_path).set_index("subject")
    assert table.loc["007", "error"] == pytest.approx(4.0)
    assert table.loc["S1", "error"] == pytest.approx(-4.5)
    assert table.loc["007", "band_truth"] == "S1" and table.loc["007", "band_model"] == "S1"
    assert table.loc["S1", "band_truth"] == "S3" and table.loc["S1", "band_model"] == "S2"


def test_last_visits_takes_each_subjects_latest_week(tmp_path: Path) -> None:
    from salt.cli import main

    out = tmp_path / "endpoints.csv"
    assert main(["endpoints", str(REPO / "data/example_visits.csv"), "-o", str(out)]) == 0
    last = _report().last_visits(out)
    table = pd.read_csv(REPO / "data/example_visits.csv")
    assert sorted(last["subject"]) == sorted(table["subject"].unique())
    for subject, week in zip(last["subject"], last["week"], strict=True):
        assert week == table.loc[table["subject"] == subject, "week"].max()
