"""Every inference backend gives the same class maps (and so the same per-view %)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from salt.errors import BadValueError
from salt.model import ModelConfig, random_model
from salt.model.backends import BACKENDS, available_backends, make_backend
from salt.scoring import view_loss_percent

TINY = ModelConfig(
    encoder="tu-mobilenetv3_small_050", decoder_channels=(16, 8, 8, 8, 8), input_size=64
)


def photos(n: int = 6) -> list[np.ndarray]:
    """Smooth random images (blobs), so the random network's output is not pure noise."""
    rng = np.random.default_rng(1)
    out = []
    for _ in range(n):
        small = rng.integers(0, 256, size=(6, 8, 3)).astype(np.uint8)
        out.append(cv2.resize(small, (320, 256), interpolation=cv2.INTER_CUBIC))
    return out


def loss_pct(cmap: np.ndarray) -> float:
    scalp = cmap >= 1
    return view_loss_percent(scalp, cmap == 2) if scalp.any() else -1.0


@pytest.fixture(scope="module")
def model_and_batch():
    model = random_model(TINY, seed=3)
    batch = model.preprocess(photos()).numpy()
    ref = model.predict(photos())
    return model, batch, ref


def test_torch_backend_equals_model_predict(model_and_batch) -> None:
    model, batch, ref = model_and_batch
    be = make_backend(model.network, 64, "torch", device="cpu")
    np.testing.assert_array_equal(be(batch), ref)


@pytest.mark.parametrize("name", ["onnxruntime", "openvino-fp32"])
def test_fp32_exported_backends_agree_within_0_1_point(model_and_batch, name: str) -> None:
    if name not in available_backends():
        pytest.skip(f"{name} not installed")
    model, batch, ref = model_and_batch
    be = make_backend(model.network, 64, name, device="cpu")
    try:
        maps = be(batch)
        again = be(batch[:1])  # a batch of another size (dynamic batch axis)
    finally:
        be.close()
    assert maps.shape == ref.shape and maps.dtype == np.uint8
    assert (maps == ref).mean() > 0.999
    for a, b in zip(maps, ref, strict=True):
        assert abs(loss_pct(a) - loss_pct(b)) < 0.1
    np.testing.assert_array_equal(again[0], maps[0])


@pytest.mark.parametrize("name", ["torch-bf16", "openvino"])
def test_reduced_precision_backends_on_a_confident_network(name: str) -> None:
    """bf16 backends: identical class maps where the logits are well separated."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_engine import PCT, K, colour_model, painted

    if name not in available_backends():
        pytest.skip(f"{name} not installed")
    model = colour_model(64)
    batch = model.preprocess([painted(k) for k in K.values()]).numpy()
    be = make_backend(model.network, 64, name, device="cpu")
    try:
        maps = be(batch)
    finally:
        be.close()
    np.testing.assert_array_equal(maps, model.predict([painted(k) for k in K.values()]))
    for cmap, view in zip(maps, K, strict=True):
        assert loss_pct(cmap) == pytest.approx(PCT[view], abs=0.1)


def test_auto_and_unknown_backends(model_and_batch) -> None:
    model, _, _ = model_and_batch
    be = make_backend(model.network, 64, "auto", device="cpu")
    expected = "openvino-fp32" if "openvino" in available_backends() else "onnxruntime"
    assert be.name == expected and be.versions
    be.close()
    with pytest.raises(BadValueError, match="unknown backend"):
        make_backend(model.network, 64, "tensorrt")
    with pytest.raises(BadValueError, match="device"):
        make_backend(model.network, 64, "torch", device="tpu")
    assert set(available_backends()) <= set(BACKENDS)
