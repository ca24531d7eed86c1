"""Every inference backend gives the same class maps (and so the same per-view %)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

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


# ----------------------------------------------------------------- the export cache
# A cached export is used only when it was built for the same weights, network, input
# size, head and library versions, and is intact; anything else is rebuilt.


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SALT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def exports(monkeypatch):
    """Count the ONNX exports (each one means the cache was not used)."""
    from salt.model import export

    calls: list[int] = []
    original = export.export_onnx

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(export, "export_onnx", counting)
    return calls


def _run(model, batch):
    be = make_backend(model.network, 64, "openvino-fp32", device="cpu")
    try:
        return be(batch), be.versions["export_cache"]
    finally:
        be.close()


def _entry(cache):
    (entry,) = (cache / "exports").iterdir()
    return entry


needs_openvino = pytest.mark.skipif(
    "openvino-fp32" not in available_backends(), reason="openvino not installed"
)


@needs_openvino
def test_export_is_cached_and_reused(model_and_batch, cache, exports) -> None:
    model, batch, ref = model_and_batch
    first, state = _run(model, batch)
    assert state == "stored" and len(exports) == 1
    again, state = _run(model, batch)
    assert state == "hit" and len(exports) == 1  # not exported again
    np.testing.assert_array_equal(again, first)
    assert (first == ref).mean() > 0.999


@needs_openvino
def test_foreign_export_in_the_cache_is_rebuilt_not_used(model_and_batch, cache, exports) -> None:
    import shutil

    model, batch, ref = model_and_batch
    _run(model, batch)
    entry = _entry(cache)
    # Another network's export copied over this entry's file: its hash no longer
    # matches the manifest.
    other = random_model(TINY, seed=99)
    be = make_backend(other.network, 64, "openvino-fp32", device="cpu")
    be.close()
    foreign = next(e for e in (cache / "exports").iterdir() if e != entry)
    shutil.copyfile(foreign / "network.onnx", entry / "network.onnx")
    shutil.rmtree(entry / "openvino")
    before = len(exports)
    maps, state = _run(model, batch)
    assert state == "stored" and len(exports) == before + 1
    assert (maps == ref).mean() > 0.999
    other_maps = other.predict(photos())
    assert (other_maps != ref).mean() > 0.01  # the foreign network would have shown


@needs_openvino
def test_stale_manifest_from_another_version_is_rebuilt(
    model_and_batch, cache, exports, monkeypatch
) -> None:
    import json

    from salt.model import export

    model, batch, ref = model_and_batch
    _run(model, batch)
    entry = _entry(cache)
    manifest = json.loads((entry / "manifest.json").read_text())
    manifest["fields"]["openvino"] = "2020.1"  # an entry left by another version
    (entry / "manifest.json").write_text(json.dumps(manifest))
    maps, state = _run(model, batch)
    assert state == "stored" and len(exports) == 2
    assert (maps == ref).mean() > 0.999
    # A new library version gives a new key: a new entry, the old one untouched.
    real = export.library_version
    monkeypatch.setattr(
        export, "library_version", lambda d: "9999.0" if d == "openvino" else real(d)
    )
    _, state = _run(model, batch)
    assert state == "stored" and len(exports) == 3
    assert len(list((cache / "exports").iterdir())) == 2


@needs_openvino
def test_damaged_openvino_blob_is_recompiled(model_and_batch, cache, exports) -> None:
    model, batch, ref = model_and_batch
    _run(model, batch)
    blobs = [p for p in (_entry(cache) / "openvino").iterdir() if p.is_file()]
    assert blobs
    for blob in blobs:
        blob.write_bytes(b"\x00garbage" * 10)
    maps, state = _run(model, batch)
    assert state == "hit" and len(exports) == 1  # the export is fine, the blob is rebuilt
    assert (maps == ref).mean() > 0.999


def test_cache_key_follows_the_weights(tmp_path, model_and_batch) -> None:
    from salt.model import load_model, save_model
    from salt.model.export import export_key

    model, _, _ = model_and_batch
    save_model(model, tmp_path / "m")
    lazy = load_model("m", models_dir=tmp_path, lazy=True)
    key = export_key(lazy, 64, "openvino")
    assert key["weights"] == f"file:{lazy.sha256}"  # known without building the network
    network = lazy.network  # built: from now on its weights in memory are the identity
    built = export_key(lazy, 64, "openvino")
    assert built["weights"].startswith("memory:") and built != key
    with torch.no_grad():
        next(network.parameters()).add_(1.0)  # changed in memory (fine-tuning)
    assert export_key(lazy, 64, "openvino")["weights"] != built["weights"]
    assert export_key(lazy, 64, "openvino") != export_key(lazy, 96, "openvino")


@needs_openvino
def test_warm_start_does_not_import_torch(tmp_path, model_and_batch) -> None:
    import os
    import subprocess
    import sys
    import textwrap

    from salt.model import save_model

    model, batch, _ = model_and_batch
    save_model(model, tmp_path / "m")
    np.save(tmp_path / "batch.npy", batch)
    script = textwrap.dedent(
        """
        import sys, numpy as np
        from salt.model import load_model
        from salt.model.backends import make_backend
        model = load_model("m", models_dir=sys.argv[1], lazy=True)
        be = make_backend(model, name="openvino-fp32", device="cpu")
        np.save(sys.argv[2], be(np.load(sys.argv[3])))
        print(be.versions["export_cache"], "torch" in sys.modules)
        """
    )
    env = {**os.environ, "SALT_CACHE_DIR": str(tmp_path / "cache")}
    outs = []
    for i in range(2):
        out = tmp_path / f"maps{i}.npy"
        res = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path), str(out), str(tmp_path / "batch.npy")],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        outs.append(res.stdout.split())
    assert outs[0] == ["stored", "True"]  # cold: exported with torch
    assert outs[1] == ["hit", "False"]  # warm: torch never imported
    np.testing.assert_array_equal(np.load(tmp_path / "maps0.npy"), np.load(tmp_path / "maps1.npy"))


_COLD_SCRIPT = """
import sys, numpy as np
from salt.model import load_model
from salt.model.backends import make_backend
model = load_model(sys.argv[4], models_dir=sys.argv[1], lazy=True)
be = make_backend(model, name="openvino-fp32", device="cpu")
np.save(sys.argv[2], be(np.load(sys.argv[3])))
print(be.versions["export_cache"], "torch" in sys.modules)
"""


def _cold_run(tmp_path, name: str, cache_name: str) -> tuple[list[str], np.ndarray]:
    import os
    import subprocess
    import sys

    out = tmp_path / f"{name}-{cache_name}.npy"
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            _COLD_SCRIPT,
            str(tmp_path),
            str(out),
            str(tmp_path / "b.npy"),
            name,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SALT_CACHE_DIR": str(tmp_path / cache_name)},
        check=True,
    )
    return res.stdout.split(), np.load(out)


@needs_openvino
def test_shipped_export_gives_a_cold_start_without_torch(tmp_path, model_and_batch) -> None:
    from salt.model import save_model, update_registry
    from salt.model.export import ship_export

    model, batch, _ = model_and_batch
    np.save(tmp_path / "b.npy", batch)
    save_model(model, tmp_path / "plain")
    save_model(model, tmp_path / "shipped")
    ship_export(tmp_path / "shipped")
    update_registry(tmp_path / "shipped")
    plain_out, plain_maps = _cold_run(tmp_path, "plain", "cache1")
    shipped_out, shipped_maps = _cold_run(tmp_path, "shipped", "cache2")
    assert plain_out == ["stored", "True"]  # empty cache, no shipped export: torch exports
    assert shipped_out == ["stored", "False"]  # empty cache, shipped export: no torch at all
    np.testing.assert_array_equal(shipped_maps, plain_maps)


@needs_openvino
def test_shipped_export_of_other_weights_is_not_used(
    tmp_path, model_and_batch, cache, exports
) -> None:
    from salt.model import load_model, random_model, save_model, update_registry
    from salt.model.export import ship_export

    old, batch, old_ref = model_and_batch
    new = random_model(TINY, seed=4)
    save_model(old, tmp_path / "m")
    ship_export(tmp_path / "m")  # the export of the old weights ...
    save_model(new, tmp_path / "new")
    (tmp_path / "m" / "model.safetensors").write_bytes(
        (tmp_path / "new" / "model.safetensors").read_bytes()
    )
    update_registry(tmp_path / "m")  # ... left beside retrained weights
    exports.clear()
    lazy = load_model("m", models_dir=tmp_path, lazy=True)
    be = make_backend(lazy, name="openvino-fp32", device="cpu")
    try:
        maps = be(batch)
    finally:
        be.close()
    assert len(exports) == 1  # exported anew from the new weights, the shipped file ignored
    new_ref = new.predict(photos())
    assert not np.array_equal(new_ref, old_ref)
    agree = (maps == new_ref).mean()
    assert agree > 0.99, agree
