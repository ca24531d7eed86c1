"""Tests of the synthetic data-set writers and the ``salt synth`` command."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import salt
from salt.cli import main
from salt.errors import OutputError
from salt.synth import render_visit, visit_seed, write_dataset, write_longitudinal
from salt.views import VIEWS

WEIGHTS = {"top": 0.40, "back": 0.24, "left": 0.18, "right": 0.18}


def _recompute(root: Path, subject: str, visit: str) -> tuple[dict[str, float], float]:
    percents = {}
    for view in VIEWS:
        with Image.open(root / "masks" / subject / visit / f"{view}.png") as png:
            assert png.mode == "P"  # a palette PNG: classes coloured in a viewer, values kept
            mask = np.asarray(png)
        assert mask.dtype == np.uint8 and mask.ndim == 2
        assert set(np.unique(mask)) <= {0, 1, 2}
        percents[view] = 100.0 * np.count_nonzero(mask == 2) / np.count_nonzero(mask > 0)
    return percents, sum(WEIGHTS[v] * percents[v] for v in VIEWS)


def test_write_dataset_truth_recomputes_from_masks(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    table = write_dataset(out, 3, seed=4, size=48)
    truth = pd.read_csv(out / "truth.csv")
    assert len(truth) == 3 == len(table)
    for row in truth.itertuples():
        percents, score = _recompute(out, row.subject, row.visit)
        for view in VIEWS:
            assert getattr(row, view) == pytest.approx(percents[view], abs=1e-9)
        assert row.salt == pytest.approx(score, abs=1e-9)
    # each row can be regenerated from its seed
    first = truth.iloc[0]
    assert int(first["seed"]) == visit_seed(4, 0)
    again = render_visit(int(first["seed"]), size=48)
    assert again.salt == pytest.approx(first["salt"], abs=1e-9)
    assert (out / "params.jsonl").read_text().count("\n") == 3


def test_written_photos_are_discovered(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    write_dataset(out, 2, seed=1, size=40)
    visits = salt.discover_visits(out / "photos")
    assert sorted(v.key for v in visits) == ["S0000/week0", "S0001/week0"]
    for v in visits:
        assert v.complete
        for view, path in v.paths.items():
            img = cv2.imread(str(path))
            assert img.shape == (40, 40, 3), view


def test_write_dataset_refuses_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not empty"):
        write_dataset(tmp_path, 1, size=32)
    assert (tmp_path / "x.txt").read_text() == "keep me"


def test_longitudinal(tmp_path: Path) -> None:
    out = tmp_path / "trial"
    table = write_longitudinal(out, 2, seed=3, weeks=[0, 4, 8], size=48)
    assert len(table) == 6
    assert set(table["visit"]) == {"week0", "week4", "week8"}
    base = table[table["week"] == 0]
    assert (base["salt"] >= 50.0).all()
    for row in table.itertuples():
        _, score = _recompute(out, row.subject, row.visit)
        assert row.salt == pytest.approx(score, abs=1e-9)
        assert abs(row.salt - row.target_salt) < 3.0
    # one subject keeps one head: same skin tone and hair colour at every visit
    assert (
        (table.groupby("subject")[["skin_tone", "hair_colour", "subtype"]].nunique() == 1)
        .all()
        .all()
    )
    assert len(salt.discover_visits(out / "photos")) == 6


def test_cli_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert (
        main(["synth", str(out), "--visits", "2", "--seed", "7", "--size", "40", "--no-progress"])
        == 0
    )
    truth = pd.read_csv(out / "truth.csv")
    assert list(truth["subject"]) == ["S0000", "S0001"]
    for row in truth.itertuples():
        _, score = _recompute(out, row.subject, row.visit)
        assert row.salt == pytest.approx(score, abs=1e-9)
    # a second run into the same folder is refused with exit code 2 and a one-line message
    assert main(["synth", str(out), "--visits", "1", "--size", "40", "--no-progress"]) == 2
    assert "not empty" in capsys.readouterr().err


def test_cli_synth_longitudinal(tmp_path: Path) -> None:
    out = tmp_path / "long"
    code = main(
        [
            "synth",
            str(out),
            "--longitudinal",
            "--subjects",
            "1",
            "--weeks",
            "2",
            "--every",
            "1",
            "--size",
            "40",
            "--no-progress",
        ]
    )
    assert code == 0
    truth = pd.read_csv(out / "truth.csv")
    assert list(truth["week"]) == [0, 1, 2]
    assert truth["salt"].iloc[0] >= 50.0
