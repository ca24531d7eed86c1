"""Training tests on a tiny network and a tiny stand-in generator (fast, no real rendering)."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import salt
from salt.model import ModelConfig, load_model
from salt.scoring import salt_score, view_loss_percent
from salt.training.train import (
    IGNORE_INDEX,
    TrainOptions,
    augment,
    find_labelled_pairs,
    segmentation_loss,
    train,
)
from salt.views import VIEWS

TINY = ModelConfig(
    encoder="tu-mobilenetv3_small_050", decoder_channels=(16, 8, 8, 8, 8), input_size=64
)


@dataclasses.dataclass
class FakeVisit:
    photos: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    percents: dict[str, float]
    salt: float
    params: dict[str, object]


def render_fake(seed: int, size: int = 64) -> FakeVisit:
    """Four views of a dark-haired ellipse "scalp" with a skin-coloured bald disc; exact labels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    photos, labels, percents = {}, {}, {}
    for view in VIEWS:
        lab = np.zeros((size, size), np.uint8)
        scalp = ((xx - 0.5) / 0.38) ** 2 + ((yy - 0.5) / 0.32) ** 2 < 1
        lab[scalp] = 1
        r = rng.uniform(0.0, 0.3)
        cx, cy = rng.uniform(0.35, 0.65, 2)
        lab[scalp & ((xx - cx) ** 2 + (yy - cy) ** 2 < r**2)] = 2
        img = np.empty((size, size, 3), np.uint8)
        img[:] = rng.integers(120, 255, 3)
        hair = rng.integers(10, 60, (size, size, 1)) + np.array([20, 10, 0])
        img[lab == 1] = hair[lab == 1]
        img[lab == 2] = (225, 175, 150)
        photos[view], labels[view] = img, lab
        percents[view] = view_loss_percent(lab > 0, lab == 2)
    return FakeVisit(photos, labels, percents, salt_score(percents), {"seed": seed})


def _opts(tmp_path: Path, **kw: object) -> TrainOptions:
    base: dict[str, object] = {
        "name": "tiny",
        "model": TINY,
        "runs_dir": tmp_path,
        "steps": 30,
        "batch_size": 8,
        "workers": 0,
        "log_every": 5,
        "val_visits": 2,
        "warmup_steps": 3,
        "threads": 1,
        "render_size": 64,
    }
    base.update(kw)
    return TrainOptions(**base)  # type: ignore[arg-type]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_tiny_network_loss_falls_and_run_resumes(tmp_path: Path) -> None:
    result = train(_opts(tmp_path), renderer=render_fake)
    run = tmp_path / "tiny"
    assert result.step == 30 and result.finished
    losses = [float(r["train_loss"]) for r in _rows(run / "metrics.csv") if r["train_loss"]]
    assert len(losses) == 6
    assert losses[-1] < 0.7 * losses[0], losses
    for name in ("checkpoint.safetensors", "state.json", "learning_curve.png", "train.log"):
        assert (run / name).is_file(), name
    best = load_model(run / "best")
    assert best.config == TINY
    # resume: continues from step 30 with a longer horizon
    with pytest.raises(salt.OutputError, match="--resume"):
        train(_opts(tmp_path, steps=40), renderer=render_fake)
    again = train(_opts(tmp_path, steps=40, resume=True), renderer=render_fake)
    assert again.step == 40
    steps = [int(r["step"]) for r in _rows(run / "metrics.csv")]
    assert steps == sorted(steps) and steps[-1] == 40


def test_labelled_folder_only_training(tmp_path: Path) -> None:
    data = tmp_path / "clinic"
    for i in range(3):
        visit = render_fake(100 + i)
        for view in VIEWS:
            p = data / "photos" / f"P{i}" / "week0" / f"{view}.jpg"
            m = data / "masks" / f"P{i}" / "week0" / f"{view}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            m.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(p), visit.photos[view][..., ::-1])
            cv2.imwrite(str(m), visit.labels[view])
    assert len(find_labelled_pairs(data)) == 12
    result = train(
        _opts(tmp_path, name="clinic", synthetic=False, data=(data,), steps=4),
        renderer=render_fake,
    )
    assert result.step == 4


def test_find_labelled_pairs_errors(tmp_path: Path) -> None:
    with pytest.raises(salt.InputFileError, match="no photos/ folder"):
        find_labelled_pairs(tmp_path)
    (tmp_path / "photos").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(salt.InputFileError, match="no photo with a matching mask"):
        find_labelled_pairs(tmp_path)


def test_budget_is_required(tmp_path: Path) -> None:
    with pytest.raises(salt.BadValueError, match="budget"):
        TrainOptions(name="x")


def test_augment_keeps_labels_consistent() -> None:
    visit = render_fake(7, size=96)
    rng = np.random.default_rng(0)
    for _ in range(20):
        img, lab = augment(rng, visit.photos["top"], visit.labels["top"], 64)
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
        assert lab.shape == (64, 64) and lab.dtype == np.uint8
        assert set(np.unique(lab)) <= {0, 1, 2}
    # strength 0 is a plain resize: the class map matches a nearest-neighbour resize
    img, lab = augment(rng, visit.photos["top"], visit.labels["top"], 64, strength=0)
    expected = cv2.resize(visit.labels["top"], (64, 64), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(lab, expected)


def test_loss_ignores_unknown_pixels() -> None:
    logits = torch.zeros(1, 3, 2, 2)
    logits[0, 1] = 5.0  # confident "hair" everywhere
    target = torch.full((1, 2, 2), IGNORE_INDEX, dtype=torch.long)
    target[0, 0, 0] = 1
    # one valid pixel, predicted right: CE = -log softmax = log(1 + 2 e^-5)
    ce = float(segmentation_loss(logits, target, dice_weight=0))
    assert ce == pytest.approx(np.log(1 + 2 * np.exp(-5.0)), rel=1e-5)
    target[0, 0, 0] = 2
    assert float(segmentation_loss(logits, target, dice_weight=0)) > 5.0


def _rated_and_pseudo(tmp_path: Path) -> tuple[Path, Path]:
    """Three people at 256 px: a rated folder (raters = exact truth) and their pseudo-labels."""
    import pandas as pd

    rated, pseudo = tmp_path / "rated", tmp_path / "pseudo"
    rows = []
    for i in range(3):
        visit = render_fake(200 + i, size=256)
        for view in VIEWS:
            name = f"images/{i + 1}-{view}.png"
            (rated / "images").mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(rated / name), visit.photos[view][..., ::-1])
            p = pseudo / "photos" / f"S{i + 1:02d}" / "visit1" / f"{view}.png"
            m = pseudo / "masks" / f"S{i + 1:02d}" / "visit1" / f"{view}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            m.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(p), visit.photos[view][..., ::-1])
            cv2.imwrite(str(m), visit.labels[view])
            pct = visit.percents[view]
            rows.append([name, i + 1, view, pct, pct, "no", "no"])
    pd.DataFrame(
        rows, columns=["file", "subject", "view", "rater_a", "rater_b", "rotated_a", "rotated_b"]
    ).to_csv(rated / "ratings.csv", index=False)
    return rated, pseudo


def test_rated_photos_choose_the_best_checkpoint_with_real_augmentations(tmp_path: Path) -> None:
    rated, pseudo = _rated_and_pseudo(tmp_path)
    opts = _opts(
        tmp_path,
        name="real",
        steps=6,
        pseudo=(pseudo,),
        real_fraction=0.7,
        rotate90=0.5,
        bald_patches=0.5,
        real_val=rated,
        real_val_subjects=("S01", "S02"),
        select_on="real",
    )
    train(opts, renderer=render_fake)
    rows = _rows(tmp_path / "real" / "metrics.csv")
    last = rows[-1]
    assert 0.0 <= float(last["real_view_mae"]) <= 100.0
    assert 0.0 <= float(last["real_salt_mae"]) <= 100.0
    from safetensors import safe_open

    with safe_open(str(tmp_path / "real" / "best" / "model.safetensors"), "pt") as fh:
        meta = fh.metadata()
    # best/ was chosen on the rated photos' SALT error, which it records
    assert float(meta["real_salt_mae"]) == pytest.approx(
        min(float(r["real_salt_mae"]) for r in rows if r["real_salt_mae"]), abs=1e-3
    )


def test_pretrained_encoder_weights_load_by_position(tmp_path: Path) -> None:
    import timm

    from salt.model import build_network
    from salt.training.realdata import load_pretrained_encoder

    src = timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict()
    # the package's file names its tensors differently, in the same order
    renamed = {
        f"t{i:03d}": (v + 0.5 if v.is_floating_point() else v) for i, v in enumerate(src.values())
    }
    torch.save(renamed, tmp_path / "efficientnet-lite0-test.pth")
    net = build_network(ModelConfig(encoder="tu-tf_efficientnet_lite0"))
    n = load_pretrained_encoder(net, tmp_path / "efficientnet-lite0-test.pth")
    own = net.encoder.model.state_dict()
    assert n == len(own)
    assert torch.equal(own["conv_stem.weight"], src["conv_stem.weight"] + 0.5)
    bad = dict(list(renamed.items())[:-1])
    torch.save(bad, tmp_path / "efficientnet-lite0-bad.pth")
    with pytest.raises(salt.InputFileError, match="tensors"):
        load_pretrained_encoder(net, tmp_path / "efficientnet-lite0-bad.pth")


def test_a_student_starts_from_the_teachers_encoder_with_its_own_decoder(tmp_path: Path) -> None:
    teacher = train(_opts(tmp_path, name="teacher", steps=4), renderer=render_fake)
    student_config = dataclasses.replace(TINY, decoder_channels=(8, 8, 8, 8, 4))
    # lr 0: the weights stay where they started, so the saved student shows its start
    opts = _opts(
        tmp_path,
        name="student",
        model=student_config,
        steps=1,
        lr=0.0,
        min_lr=0.0,
        val_visits=0,
        encoder_from=str(teacher.run_dir / "last"),
    )
    train(opts, renderer=render_fake)
    source = load_model(teacher.run_dir / "last").network
    student = load_model(tmp_path / "student" / "last")
    assert student.config.decoder_channels == (8, 8, 8, 8, 4)
    weights = dict(source.encoder.named_parameters())
    for name, value in student.network.encoder.named_parameters():
        torch.testing.assert_close(value, weights[name], rtol=0, atol=0)
    # a fresh encoder would not match: the copy is what made them equal
    fresh = train(
        _opts(
            tmp_path, name="fresh", model=student_config, steps=1, lr=0.0, min_lr=0.0, val_visits=0
        ),
        renderer=render_fake,
    )
    other = load_model(fresh.run_dir / "last").network
    assert any(not torch.equal(v, weights[n]) for n, v in other.encoder.named_parameters())


def test_copy_encoder_refuses_another_encoder() -> None:
    from salt.errors import ModelError
    from salt.model import build_network
    from salt.training.train import copy_encoder

    small = build_network(TINY)
    other = build_network(dataclasses.replace(TINY, encoder="tu-mobilenetv3_small_100"))
    with pytest.raises(ModelError, match="encoder differs"):
        copy_encoder(other, small)


def test_ema_weights_are_saved_and_resumed(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    train(_opts(tmp_path, steps=12, ema=0.9, checkpoint_minutes=1e6), renderer=render_fake)
    run = tmp_path / "tiny"
    ckpt = load_file(str(run / "checkpoint.safetensors"))
    raw = {k[6:]: v for k, v in ckpt.items() if k.startswith("model/")}
    avg = {k[11:]: v for k, v in ckpt.items() if k.startswith("ema/module.")}
    assert int(ckpt["ema/n_averaged"]) == 12
    last = load_model(run / "last").network.state_dict()
    name = next(k for k, v in raw.items() if v.is_floating_point() and v.ndim == 4)
    # last/ holds the average (stored as float16), not the raw weights
    assert torch.equal(last[name], avg[name].half().float())
    assert not torch.equal(last[name], raw[name].half().float())
    # resume restores the average and keeps averaging
    train(_opts(tmp_path, steps=14, ema=0.9, resume=True), renderer=render_fake)
    again = load_file(str(run / "checkpoint.safetensors"))
    assert int(again["ema/n_averaged"]) == 14
    # a run without an average cannot be resumed as one with an average
    train(_opts(tmp_path, name="plain", steps=2), renderer=render_fake)
    with pytest.raises(salt.ModelError, match="moving average"):
        train(_opts(tmp_path, name="plain", steps=4, ema=0.9, resume=True), renderer=render_fake)


def test_ema_outside_zero_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(salt.BadValueError, match="ema"):
        _opts(tmp_path, ema=1.0)
