"""Per-view confidence and the ``needs_review`` status, from the network's unsure pixels.

Painted photos and a colour "network" whose softmax is known: with sharp logits every
pixel is sure, with soft ones every pixel is unsure (the largest of three softmax
probabilities of logits in [0, 1] is at most e / (e + 2) = 0.58 < UNSURE_PROB).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import salt
from salt.classmap import UNSURE_BIT, UNSURE_PROB, split_packed, view_confidence
from salt.errors import BadValueError
from salt.model.backends import available_backends, make_backend
from salt.results import REVIEW_CONFIDENCE, visit_status

sys.path.insert(0, str(Path(__file__).parent))
from test_engine import SALT, K, _colour_model, colour_model, good_visit, painted


def test_split_packed_and_confidence_by_hand() -> None:
    packed = np.array([[0, 1, 2, 0 + UNSURE_BIT], [1 + UNSURE_BIT, 2 + UNSURE_BIT, 1, 1]], np.uint8)
    cmap, unsure = split_packed(packed)
    assert cmap.tolist() == [[0, 1, 2, 0], [1, 2, 1, 1]]
    assert unsure.tolist() == [[False, False, False, True], [True, True, False, False]]
    # scalp pixels 6, unsure 3 of which 1 is called not scalp -> 1 - 3 / (6 + 1)
    assert view_confidence(cmap, unsure) == pytest.approx(1 - 3 / 7)
    assert view_confidence(np.zeros((2, 2), np.uint8), np.zeros((2, 2), bool)) is None
    with pytest.raises(BadValueError, match="shape"):
        view_confidence(cmap, unsure[:1])


def test_needs_review_only_for_complete_visits() -> None:
    base = {
        "failed": False,
        "duplicate": False,
        "same_photo": False,
        "missing": False,
        "partial": False,
        "measured": True,
        "flagged": False,
        "strict": False,
    }
    assert visit_status(**base, review=True) == "needs_review"
    assert visit_status(**base, review=False) == "ok"
    assert visit_status(**{**base, "failed": True}, review=True) == "failed"
    assert visit_status(**{**base, "missing": True}, review=True) == "incomplete"


@pytest.mark.parametrize("name", ["torch", "onnxruntime", "openvino-fp32"])
def test_backends_agree_on_unsure_pixels(name: str) -> None:
    if name not in available_backends():
        pytest.skip(f"{name} not installed")
    model = _colour_model(64, 3.0)
    # greens and reds of several strengths: some pixels sure, some not
    rng = np.random.default_rng(0)
    img = np.zeros((64, 64, 3), np.uint8)
    img[..., 0] = rng.integers(0, 256, (64, 64))
    img[..., 1] = rng.integers(0, 256, (64, 64))
    batch = model.preprocess([img]).numpy()
    be = make_backend(model.network, 64, name, device="cpu")
    try:
        cmap, unsure = be.classify(batch)
    finally:
        be.close()
    prob = np.asarray(model.predict_proba([img]))[0]
    sure_ref = prob.max(axis=0) >= UNSURE_PROB
    far = np.abs(prob.max(axis=0) - UNSURE_PROB) > 1e-3  # leave float ties aside
    assert 0.05 < sure_ref.mean() < 0.95
    np.testing.assert_array_equal(unsure[0][far], ~sure_ref[far])
    np.testing.assert_array_equal(cmap[0], prob.argmax(axis=0))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("visits")
    good_visit(root / "P01" / "w0")
    return root


def test_sure_network_gives_confidence_one_and_ok(folder: Path, tmp_path: Path) -> None:
    visits = salt.score_folder(
        folder, tmp_path / "out", model=colour_model(), backend="torch", progress=False
    )
    views = pd.read_csv(tmp_path / "out" / "views.csv")
    assert (views["confidence"] == 1.0).all()
    assert visits["status"].tolist() == ["ok"]


def test_unsure_network_asks_for_review_but_keeps_salt(folder: Path, tmp_path: Path) -> None:
    visits = salt.score_folder(
        folder, tmp_path / "out", model=_colour_model(256, 1.0), backend="torch", progress=False
    )
    views = pd.read_csv(tmp_path / "out" / "views.csv")
    assert (views["confidence"] < REVIEW_CONFIDENCE).all()
    assert views["confidence"].max() == pytest.approx(0.0)
    assert visits["status"].tolist() == ["needs_review"]
    assert visits["salt"].iloc[0] == pytest.approx(SALT, abs=0.05)


def test_score_visit_reports_confidence() -> None:
    result = salt.score_visit(
        {v: painted(k) for v, k in K.items()}, model=colour_model(), backend="torch"
    )
    assert result.status == "ok"
    assert all(r.confidence == 1.0 for r in result.views.values())
