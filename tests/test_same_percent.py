"""What evaluation measures is what users get: `salt evaluate`, `salt score` and training
validation give the same per-view % for the same photos and model.

The shipped model scores a small synthetic labelled folder three ways; all decode with
the engine's decoder, run the same backend and turn class maps into % with
:func:`salt.classmap.view_percent`, so the numbers must be equal, not merely close.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salt.classmap import view_percent
from salt.cli import main
from salt.inference.pipeline import decode
from salt.io.photo import load_mask
from salt.model import load_model
from salt.synth import write_dataset
from salt.training.metrics import ValidationSet, segmentation_loss
from salt.views import VIEWS


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labelled") / "data"
    write_dataset(root, 3, seed=11, size=320, salt_uniform=True)
    return root


def _score(data: Path, out: Path, backend: str) -> pd.DataFrame:
    argv = ["score", str(data / "photos"), "-o", str(out), "--backend", backend, "-q"]
    assert main([*argv, "--no-overlays"]) == 0
    # round_trip: pandas' default float parser may miss the last digit of a written float
    views = pd.read_csv(
        out / "views.csv", dtype={"subject": str, "visit": str}, float_precision="round_trip"
    )
    return views.set_index(["subject", "visit", "view"])["loss_pct"]


def _evaluate(data: Path, out: Path, backend: str) -> pd.Series:
    argv = ["evaluate", "--data", str(data), "-o", str(out), "--backend", backend]
    assert main([*argv, "--no-progress"]) == 0
    visits = pd.read_csv(out / "visits.csv")
    rows = {}
    for _, r in visits.iterrows():
        subject, visit = str(r["visit"]).split("/")
        for v in VIEWS:
            rows[(subject, visit, v)] = r[f"pred_{v}"]
    return pd.Series(rows).sort_index()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_evaluate_gives_the_per_view_percent_of_score(
    data: Path, tmp_path: Path, backend: str
) -> None:
    scored = _score(data, tmp_path / "scored", backend).sort_index()
    evaluated = _evaluate(data, tmp_path / "report", backend)
    assert len(scored) == 12 and scored.notna().all()
    assert list(evaluated.index) == list(scored.index)
    # the report rounds to 4 decimals; one pixel of a view is worth ~1e-3 %, so a single
    # pixel decoded or classified differently would show
    np.testing.assert_array_equal(evaluated.to_numpy(float), scored.round(4).to_numpy(float))
    # the model is not perfect: equal numbers are not equal to the truth
    truth = pd.read_csv(data / "truth.csv", dtype={"subject": str, "visit": str})
    assert not np.allclose(scored.xs("top", level="view").to_numpy(), truth["top"].to_numpy())


@pytest.mark.slow
def test_training_validation_gives_the_per_view_percent_of_score(
    data: Path, tmp_path: Path
) -> None:
    model = load_model()
    scored = _score(data, tmp_path / "scored", "torch")
    size = model.config.input_size
    keys, visits = [], []
    for folder in sorted((data / "photos").glob("*/*")):
        labels = {
            v: load_mask(data / "masks" / folder.relative_to(data / "photos") / f"{v}.png")
            for v in VIEWS
        }
        truth = {v: view_percent(labels[v]) for v in VIEWS}
        visits.append(
            types.SimpleNamespace(
                photos={v: decode(folder / f"{v}.jpg", size, 256).rgb for v in VIEWS},
                labels=labels,
                percents=truth,
                salt=0.0,
            )
        )
        keys.append((folder.parent.name, folder.name))
    val = ValidationSet(visits)
    metrics = val.evaluate(model, segmentation_loss)
    assert metrics["val_no_scalp_views"] == 0
    for (subject, visit), pcts in zip(keys, val.percents, strict=True):
        for v in VIEWS:
            assert pcts[v] == scored[(subject, visit, v)], (subject, visit, v)
