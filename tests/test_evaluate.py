"""Evaluation tests: metrics by hand, and end to end with an exact colour-coded network."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from salt.model import ModelConfig, SaltModel
from salt.training.evaluate import _icc_fallback, evaluate_folder, summarize, write_report
from salt.views import VIEWS

CONFIG = ModelConfig(input_size=64)


class ColourCoded(torch.nn.Module):
    """Reads the class from the red channel (0, 100, 200 -> class 0, 1, 2): an exact 'model'."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        red = x[:, 0] * CONFIG.std[0] + CONFIG.mean[0]  # back to [0, 1]
        cls = torch.round(red * 255 / 100).clamp(0, 2).long()
        return torch.nn.functional.one_hot(cls, 3).permute(0, 3, 1, 2).float() * 10


def _table(true: list[float], pred: list[float]) -> pd.DataFrame:
    rows = []
    for i, (t, p) in enumerate(zip(true, pred, strict=True)):
        row = {"visit": f"v{i}", "true_salt": t, "pred_salt": p, "subtype": "a" if i % 2 else "b"}
        for v in VIEWS:
            row[f"true_{v}"] = t
            row[f"pred_{v}"] = p
        rows.append(row)
    return pd.DataFrame(rows)


def test_summary_by_hand() -> None:
    true = [10.0, 30.0, 60.0, 90.0]
    pred = [12.0, 28.0, 49.0, 90.0]
    m = summarize(_table(true, pred))
    assert m["salt_mae"] == pytest.approx((2 + 2 + 11 + 0) / 4)
    assert m["salt_bias"] == pytest.approx((2 - 2 - 11 + 0) / 4)
    assert m["view_mae"]["all"] == pytest.approx(m["salt_mae"])
    # <= 20 call: all four agree; >= 50 call: visit 3 (60 vs 49) disagrees
    assert m["call_le20_agreement"] == 1.0
    assert m["call_ge50_agreement"] == 0.75
    # bands: S1/S1, S2/S2, S3/S2 (wrong), S4/S4
    assert m["band_accuracy"] == 0.75
    assert m["groups"]["subtype"]["a"]["mae"] == pytest.approx((2 + 0) / 2)
    assert m["targets"]["call_ge50_agreement"]["met"] is False


def test_icc_fallback_matches_agreement_module() -> None:
    from salt.trial.agreement import icc

    rng = np.random.default_rng(1)
    t = rng.uniform(0, 100, 30)
    p = t + rng.normal(2, 5, 30)
    expected = icc(np.column_stack([p, t])).loc["ICC(2,1)", "icc"]
    assert _icc_fallback(p, t) == pytest.approx(expected, rel=1e-9)


def _write_folder(root: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    truth = []
    for s in range(3):
        row: dict[str, object] = {"subject": f"P{s}", "visit": "week0", "subtype": "patchy"}
        for view in VIEWS:
            lab = np.zeros((64, 64), np.uint8)
            lab[8:56, 8:56] = 1
            k = int(rng.integers(0, 40))
            lab[8 : 8 + k, 8:56] = 2
            img = np.zeros((64, 64, 3), np.uint8)
            img[..., 0] = lab * 100
            img[..., 1] = 50
            for sub, arr, ext in (("photos", img[..., ::-1], "png"), ("masks", lab, "png")):
                path = root / sub / f"P{s}" / "week0" / f"{view}.{ext}"
                path.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(path), arr)
            row[view] = 100.0 * k / 48  # hairless rows of 48 scalp rows
        truth.append(row)
    return pd.DataFrame(truth)


def test_folder_evaluation_with_exact_model_is_perfect(tmp_path: Path) -> None:
    truth = _write_folder(tmp_path / "data")
    model = SaltModel(ColourCoded(), CONFIG, name="exact")
    result = evaluate_folder(model, tmp_path / "data", backend="torch", min_side=32)
    m = result.metrics
    assert m["n_visits"] == 3
    assert m["salt_mae"] == pytest.approx(0.0, abs=1e-9)
    assert m["iou"]["hairless"] == pytest.approx(1.0)
    merged = result.visits.sort_values("visit")
    np.testing.assert_allclose(merged["true_top"], truth["top"], atol=1e-9)
    paths = write_report(result, tmp_path / "report", model=model)
    report = json.loads(paths["report"].read_text())
    assert report["model"]["name"] == "exact"
    assert len(pd.read_csv(paths["visits"])) == 3


def test_folder_truth_table_overrides_masks(tmp_path: Path) -> None:
    truth = _write_folder(tmp_path / "data")
    truth["top"] = truth["top"] + 10.0  # the table says 10 points more on top
    truth.to_csv(tmp_path / "data" / "truth.csv", index=False)
    model = SaltModel(ColourCoded(), CONFIG, name="exact")
    m = evaluate_folder(model, tmp_path / "data", backend="torch", min_side=32).metrics
    assert m["view_mae"]["top"] == pytest.approx(10.0)
    assert m["salt_bias"] == pytest.approx(-0.4 * 10.0)


def test_cli_evaluate_folder_writes_report(tmp_path: Path) -> None:
    from salt.cli import main
    from salt.model import random_model, save_model

    _write_folder(tmp_path / "data")
    tiny = ModelConfig(
        encoder="tu-mobilenetv3_small_050", decoder_channels=(16, 8, 8, 8, 8), input_size=64
    )
    save_model(random_model(tiny), tmp_path / "models" / "tiny")
    code = main(
        [
            "evaluate",
            "--min-side",
            "32",
            "--data",
            str(tmp_path / "data"),
            "--model",
            str(tmp_path / "models" / "tiny"),
            "-o",
            str(tmp_path / "out"),
            "--no-progress",
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["metrics"]["n_visits"] == 3
    assert set(report["metrics"]["targets"]) >= {"salt_mae", "icc21", "call_ge50_agreement"}


def test_cli_errors_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from salt.cli import main

    assert main(["train", "--name", "x", "--runs", str(tmp_path)]) == 2
    assert "budget" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(tmp_path), "--model", "nope", "-o", str(tmp_path)]) == 2
    assert "registry" in capsys.readouterr().err
    code = main(["finetune", "--name", "x", "--steps", "1", "--runs", str(tmp_path)])
    assert code == 2
    assert "--data" in capsys.readouterr().err
