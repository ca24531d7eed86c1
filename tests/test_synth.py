"""Tests of the synthetic visit generator: exact truth, determinism, coverage, geometry."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from salt.errors import BadValueError
from salt.synth import HAIR_COLOURS, SKIN_TONES, SUBTYPES, Patch, render_visit, trajectory
from salt.views import VIEWS

# SALT view weights written out by hand (Olsen 2004), independent of salt.views.
WEIGHTS = {"top": 0.40, "back": 0.24, "left": 0.18, "right": 0.18}


def _percent(label: np.ndarray) -> float:
    return 100.0 * np.count_nonzero(label == 2) / np.count_nonzero(label > 0)


def test_truth_agrees_with_labels_exactly() -> None:
    for seed in range(4):
        v = render_visit(seed, size=64)
        for view in VIEWS:
            assert v.percents[view] == pytest.approx(_percent(v.labels[view]), abs=1e-12)
        expected = sum(WEIGHTS[w] * _percent(v.labels[w]) for w in VIEWS)
        assert v.salt == pytest.approx(expected, abs=1e-9)


def test_same_seed_same_output_and_different_seed_differs() -> None:
    a = render_visit(11, size=64)
    b = render_visit(11, size=64)
    c = render_visit(12, size=64)
    for view in VIEWS:
        np.testing.assert_array_equal(a.photos[view], b.photos[view])
        np.testing.assert_array_equal(a.labels[view], b.labels[view])
    assert a.params == b.params
    assert any(not np.array_equal(a.photos[w], c.photos[w]) for w in VIEWS)


def test_same_subject_at_every_size() -> None:
    small, large = render_visit(5, size=48), render_visit(5, size=96)
    for key in ("subtype", "skin_tone", "hair_colour", "hair_length_cm", "lossmap"):
        assert small.params[key] == large.params[key]
    assert abs(small.salt - large.salt) < 10


def _check_valid(v, size: int) -> None:  # type: ignore[no-untyped-def]
    for view in VIEWS:
        photo, label = v.photos[view], v.labels[view]
        assert photo.shape == (size, size, 3) and photo.dtype == np.uint8
        assert label.shape == (size, size) and label.dtype == np.uint8
        assert set(np.unique(label)) <= {0, 1, 2}
        assert np.count_nonzero(label > 0) > 0, f"{view}: empty scalp"
        assert np.count_nonzero(label == 0) > 0, f"{view}: no background/face"
        assert 0.0 <= v.percents[view] <= 100.0
    assert 0.0 <= v.salt <= 100.0


@pytest.mark.parametrize("subtype", list(SUBTYPES))
def test_every_subtype_gives_valid_masks(subtype: str) -> None:
    salts = []
    for seed in range(3):
        v = render_visit(seed, size=48, subtype=subtype)
        _check_valid(v, 48)
        assert v.subtype == subtype
        salts.append(v.salt)
    if subtype == "totalis":
        assert salts == [100.0] * 3
    elif subtype == "none":
        assert salts == [0.0] * 3
    else:
        assert max(salts) > 0.0


def test_every_skin_tone_and_hair_colour() -> None:
    combos = itertools.product(SKIN_TONES, HAIR_COLOURS)
    for i, (tone, colour) in enumerate(combos):
        if i % 3:  # a third of the 36 combinations, each tone and colour at least once
            continue
        v = render_visit(100 + i, size=32, skin_tone=tone, hair_colour=colour)
        _check_valid(v, 32)
        assert (v.params["skin_tone"], v.params["hair_colour"]) == (tone, colour)


@pytest.mark.parametrize("length", [0.5, 5.0, 30.0])
def test_hair_lengths(length: float) -> None:
    _check_valid(render_visit(3, size=48, hair_length=length), 48)


def test_darker_skin_is_darker() -> None:
    light = render_visit(4, size=64, subtype="totalis", skin_tone="I", hair_colour="black")
    dark = render_visit(4, size=64, subtype="totalis", skin_tone="VI", hair_colour="black")
    bald_light = light.photos["top"][light.labels["top"] == 2].mean()
    bald_dark = dark.photos["top"][dark.labels["top"] == 2].mean()
    assert bald_light > bald_dark + 40


def test_vertex_patch_in_top_view_not_in_back_view() -> None:
    patch = Patch(lat=72.0, lon=0.0, radius=14.0)  # crown top, towards the front
    for seed in range(4):
        v = render_visit(seed, size=96, patches=[patch])
        assert v.percents["top"] > 2.0
        assert v.percents["back"] == 0.0


def test_occiput_patch_in_back_view_not_in_top_view() -> None:
    patch = Patch(lat=-20.0, lon=180.0, radius=15.0)
    for seed in range(4):
        v = render_visit(seed, size=96, patches=[patch])
        assert v.percents["back"] > 2.0
        assert v.percents["top"] == 0.0


def test_left_patch_in_left_view_not_in_right_view() -> None:
    patch = Patch(lat=25.0, lon=-90.0, radius=15.0)  # lon -90: the subject's left side
    for seed in range(3):
        v = render_visit(seed, size=96, patches=[patch])
        assert v.percents["left"] > 2.0
        assert v.percents["right"] == 0.0


@pytest.mark.parametrize("target", [5.0, 40.0, 80.0])
def test_target_salt_is_reached(target: float) -> None:
    v = render_visit(21, size=96, subtype="patchy", target_salt=target)
    assert v.salt == pytest.approx(target, abs=1.0)


def test_salt_uniform_spreads_over_range() -> None:
    salts = [render_visit(s, size=32, salt_uniform=True).salt for s in range(16)]
    assert min(salts) < 30 and max(salts) > 70


def test_bad_options_raise() -> None:
    with pytest.raises(BadValueError, match="subtype"):
        render_visit(0, size=32, subtype="areata-x")
    with pytest.raises(BadValueError, match="size"):
        render_visit(0, size=8)
    with pytest.raises(BadValueError, match="skin tone"):
        render_visit(0, size=32, skin_tone="VII")
    with pytest.raises(BadValueError, match="target_salt"):
        render_visit(0, size=32, subtype="patchy", target_salt=120.0)


def test_trajectories() -> None:
    weeks = list(range(0, 37, 4))
    rng = np.random.default_rng(0)
    for _ in range(5):
        y = trajectory("responder", 80.0, weeks, rng)
        assert y[0] == 80.0 and y[-1] <= 25.0
        y = trajectory("relapse", 70.0, weeks, rng)
        low = int(np.argmin(y))
        assert y[0] == 70.0 and y[low] < 35.0 and y[low:].max() - y[low] > 20.0
        y = trajectory("non-responder", 60.0, weeks, rng)
        assert np.all(np.abs(y - 60.0) < 25.0)
    with pytest.raises(BadValueError):
        trajectory("miracle", 60.0, weeks, rng)


@pytest.mark.parametrize(
    "photo",
    [
        {"hand": True},
        {"ruler": True},
        {"rot90": 1},
        {"hand": True, "ruler": True, "rot90": 2, "flash": 1.0, "motion": 6.0, "shadow": True},
        {"noise": 0.0, "blur": 0.0, "jpeg": 95, "hand": False, "ruler": False},
    ],
)
def test_photo_extras_keep_masks_valid(photo: dict) -> None:
    for seed in range(3):
        v = render_visit(seed, size=64, photo=photo)
        _check_valid(v, 64)
        for view in VIEWS:
            assert v.percents[view] == pytest.approx(_percent(v.labels[view]), abs=1e-12)


def test_ruler_hides_scalp_under_it() -> None:
    plain = render_visit(8, size=96, subtype="totalis", photo={"ruler": False, "hand": False})
    ruled = render_visit(8, size=96, subtype="totalis", photo={"ruler": True, "hand": False})
    for view in VIEWS:
        assert np.count_nonzero(ruled.labels[view]) <= np.count_nonzero(plain.labels[view])
    assert any(np.count_nonzero(ruled.labels[w]) < np.count_nonzero(plain.labels[w]) for w in VIEWS)


def test_rot90_rotates_photo_and_mask_together() -> None:
    up = render_visit(9, size=64, photo={"rot90": 0, "hand": False, "ruler": False})
    turned = render_visit(9, size=64, photo={"rot90": 1, "hand": False, "ruler": False})
    for view in VIEWS:
        np.testing.assert_array_equal(turned.labels[view], np.rot90(up.labels[view], 1))
        assert turned.percents[view] == up.percents[view]


def test_unknown_photo_option() -> None:
    with pytest.raises(BadValueError, match="photo option"):
        render_visit(0, size=32, photo={"sepia": True})


def test_threshold_for_target_by_hand() -> None:
    from salt.synth.visit import threshold_for_target

    # top has 4 scalp pixels, back/left/right 2 each; loss-field values below
    fields = {
        "top": np.array([0.1, 0.2, 0.3, 0.4], np.float32),
        "back": np.array([0.15, 0.35], np.float32),
        "left": np.array([0.0, 0.0], np.float32),
        "right": np.array([0.0, 0.0], np.float32),
    }

    def salt_at(q: float) -> float:
        return sum(WEIGHTS[v] * 100.0 * float(np.mean(f > q)) for v, f in fields.items())

    # top 1 of 4 bald (the 0.4): 0.40 * 25 = 10
    assert salt_at(threshold_for_target(fields, 10.0)) == pytest.approx(10.0)
    # top 25 % and back 50 % (the 0.35): 10 + 0.24 * 50 = 22
    assert salt_at(threshold_for_target(fields, 22.0)) == pytest.approx(22.0)
    # 21 is not reachable: the nearest reachable SALT is 22 (20 would need top 50 %: 20.0)
    assert salt_at(threshold_for_target(fields, 21.5)) == pytest.approx(22.0)
    assert salt_at(threshold_for_target(fields, 0.0)) == 0.0
    assert salt_at(threshold_for_target(fields, 100.0)) == pytest.approx(100.0)
