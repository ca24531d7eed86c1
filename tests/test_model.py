"""Model tests: build, preprocess, save/load round trip, hash checks, the shipped model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import salt
from salt.model import (
    ModelConfig,
    SaltModel,
    default_models_dir,
    file_sha256,
    load_model,
    random_model,
    save_model,
)

TINY = ModelConfig(
    encoder="tu-mobilenetv3_small_050", decoder_channels=(16, 8, 8, 8, 8), input_size=64
)


def _round_to_fp16(model: SaltModel) -> None:
    """Make the in-memory weights exactly what a float16 file stores."""
    with torch.no_grad():
        for t in [*model.network.parameters(), *model.network.buffers()]:
            if t.is_floating_point():
                t.copy_(t.half().float())


@pytest.fixture(scope="module")
def tiny() -> SaltModel:
    model = random_model(TINY, seed=3)
    _round_to_fp16(model)
    return model


@pytest.fixture
def photos() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (90, 120, 3), dtype=np.uint8) for _ in range(3)]


def test_lazy_names_do_not_import_torch_until_used() -> None:
    assert salt.load_model is load_model
    assert salt.ModelConfig is ModelConfig


def test_predict_shape_and_classes(tiny: SaltModel, photos: list[np.ndarray]) -> None:
    out = tiny.predict(photos)
    assert out.shape == (3, 64, 64)
    assert out.dtype == np.uint8
    assert set(np.unique(out)) <= {0, 1, 2}
    assert not tiny.network.training


def test_preprocess_normalises_by_hand() -> None:
    model = random_model(TINY)
    # a photo whose every pixel equals 255 * mean normalises to 0; 255 * (mean + std) to 1
    mean = np.array(TINY.mean)
    std = np.array(TINY.std)
    zero = np.broadcast_to(np.round(255 * mean).astype(np.uint8), (64, 64, 3)).copy()
    one = np.broadcast_to(np.round(255 * (mean + std)).astype(np.uint8), (64, 64, 3)).copy()
    batch = model.preprocess([zero, one]).numpy()
    assert batch.shape == (2, 3, 64, 64)
    assert batch.dtype == np.float32
    np.testing.assert_allclose(batch[0], 0, atol=0.5 / 255 / min(TINY.std))
    np.testing.assert_allclose(batch[1], 1, atol=0.5 / 255 / min(TINY.std))


def test_preprocess_rejects_bad_input(tiny: SaltModel) -> None:
    with pytest.raises(salt.BadValueError, match="image 0"):
        tiny.preprocess([np.zeros((10, 10), np.uint8)])
    with pytest.raises(salt.BadValueError):
        tiny.preprocess([])


def test_random_model_is_reproducible(photos: list[np.ndarray]) -> None:
    a = random_model(TINY, seed=5).predict_proba(photos)
    b = random_model(TINY, seed=5).predict_proba(photos)
    np.testing.assert_array_equal(a, b)


def test_config_round_trip_and_validation() -> None:
    assert ModelConfig.from_dict(TINY.to_dict()) == TINY
    with pytest.raises(salt.ModelError, match="unknown model config keys"):
        ModelConfig.from_dict({**TINY.to_dict(), "bogus": 1})
    with pytest.raises(salt.BadValueError, match="multiple of 32"):
        ModelConfig(input_size=100)


def test_save_load_round_trip_identical(
    tiny: SaltModel, photos: list[np.ndarray], tmp_path: Path
) -> None:
    weights = save_model(tiny, tmp_path / "tiny")
    loaded = load_model("tiny", models_dir=tmp_path)
    assert loaded.sha256 == file_sha256(weights)
    assert loaded.config == TINY
    np.testing.assert_array_equal(tiny.predict_proba(photos), loaded.predict_proba(photos))
    # a folder path works too and gives the same model
    again = load_model(tmp_path / "tiny")
    assert again.sha256 == loaded.sha256
    registry = json.loads((tmp_path / "registry.json").read_text())
    assert set(registry["models"]["tiny"]["files"]) == {"model.safetensors", "config.json"}


def test_weights_are_stored_as_float16(tiny: SaltModel, tmp_path: Path) -> None:
    from safetensors import safe_open

    save_model(tiny, tmp_path / "m")
    with safe_open(str(tmp_path / "m" / "model.safetensors"), framework="pt") as fh:
        dtypes = {fh.get_tensor(k).dtype for k in fh.keys()}
    assert torch.float16 in dtypes
    assert torch.float32 not in dtypes


def test_corrupted_weights_raise_clear_error(tiny: SaltModel, tmp_path: Path) -> None:
    save_model(tiny, tmp_path / "m")
    path = tmp_path / "m" / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(salt.ModelError, match=r"model\.safetensors is corrupt or modified"):
        load_model("m", models_dir=tmp_path)


def test_missing_file_and_unknown_model(tiny: SaltModel, tmp_path: Path) -> None:
    save_model(tiny, tmp_path / "m")
    with pytest.raises(salt.ModelError, match="'nope' is not in"):
        load_model("nope", models_dir=tmp_path)
    (tmp_path / "m" / "config.json").unlink()
    with pytest.raises(salt.ModelError, match=r"config\.json is missing"):
        load_model("m", models_dir=tmp_path)
    with pytest.raises(salt.ModelError, match="no model registry"):
        load_model("m", models_dir=tmp_path / "elsewhere")


def test_truncated_but_registered_weights_raise_model_error(
    tiny: SaltModel, tmp_path: Path
) -> None:
    from salt.model import update_registry

    save_model(tiny, tmp_path / "m")
    path = tmp_path / "m" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    update_registry(tmp_path / "m")  # hashes now match: the file itself is broken
    with pytest.raises(salt.ModelError, match="cannot be read"):
        load_model("m", models_dir=tmp_path)


def test_weights_for_another_network_raise(tiny: SaltModel, tmp_path: Path) -> None:
    save_model(tiny, tmp_path / "m")
    other = ModelConfig(encoder=TINY.encoder, decoder_channels=(16, 16, 8, 8, 8), input_size=64)
    (tmp_path / "m" / "config.json").write_text(json.dumps(other.to_dict()))
    from salt.model import update_registry

    update_registry(tmp_path / "m")
    with pytest.raises(salt.ModelError, match=r"shape|do not match"):
        load_model("m", models_dir=tmp_path)


def test_load_never_uses_torch_load(
    tiny: SaltModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_model(tiny, tmp_path / "m")

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load must not be used")

    monkeypatch.setattr(torch, "load", forbidden)
    load_model("m", models_dir=tmp_path)


# ---------------------------------------------------------------- the shipped model

SHIPPED = default_models_dir()


def test_shipped_model_matches_registry() -> None:
    registry = json.loads((SHIPPED / "registry.json").read_text())
    files = registry["models"]["default"]["files"]
    assert {"model.safetensors", "config.json", "README.md"} <= set(files)
    for name, sha in files.items():
        assert file_sha256(SHIPPED / "default" / name) == sha, name
    assert (SHIPPED / "default" / "model.safetensors").stat().st_size <= 15 * 1024 * 1024


def test_shipped_model_copy_with_one_changed_byte_is_refused(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED / "default", tmp_path / "default")
    shutil.copy(SHIPPED / "registry.json", tmp_path / "registry.json")
    path = tmp_path / "default" / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(salt.ModelError, match=r"default/model\.safetensors is corrupt"):
        load_model("default", models_dir=tmp_path)


@pytest.mark.slow
def test_shipped_model_scores_fixed_synthetic_visits_within_card_error() -> None:
    """Four held-out visits (seeds never used in training) against their exact SALT.

    The bound is the 95th percentile absolute SALT error stated in the model card
    (``salt/weights/default/metrics.json``, from ``salt evaluate``); the truth comes from the
    generator's label maps, not from the model.
    """
    from salt.classmap import view_percent
    from salt.scoring import salt_score
    from salt.synth import render_visit
    from salt.training.data import HELDOUT_SEED_START
    from salt.views import VIEWS

    card = json.loads((SHIPPED / "default" / "metrics.json").read_text())
    bound = card["synthetic_heldout"]["salt_p95_abs_error"]
    model = load_model("default")
    errors = []
    for i in range(4):
        visit = render_visit(HELDOUT_SEED_START + i, size=320, salt_uniform=True)
        pred = model.predict([visit.photos[v] for v in VIEWS])
        pcts = {v: view_percent(pred[k]) for k, v in enumerate(VIEWS)}
        assert None not in pcts.values()  # every view of a rendered visit shows scalp
        errors.append(abs(salt_score(pcts) - visit.salt))
    assert np.mean(errors) <= bound, (errors, bound)
