"""Real-photo training data and evaluation: folds, augmentations, teacher rules, rated metrics.

Everything here runs on made-up arrays and painted photos whose answer is known by
construction; nothing reads the development photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salt.errors import InputFileError
from salt.training.realdata import (
    paste_bald_patches,
    person_folds,
    read_ratings,
    rotate_quarter,
)
from salt.training.realeval import evaluate_rated, rated_metrics
from salt.training.teachers import (
    HAIR,
    HAIRLESS,
    NOT_SCALP,
    UNKNOWN,
    pseudo_label_rules,
    upright_rotation,
)

# --------------------------------------------------------------------------- folds


def test_person_folds_are_balanced_reproducible_and_cover_everyone() -> None:
    people = [f"S{i:02d}" for i in range(11)] * 4  # four photos per person
    folds = person_folds(people, k=2, seed=0)
    assert set(folds) == set(people)
    sizes = np.bincount(list(folds.values()))
    assert sorted(sizes) == [5, 6]
    assert person_folds(people, k=2, seed=0) == folds
    assert person_folds(people, k=2, seed=1) != folds


# --------------------------------------------------------------------------- augmentations


def test_rotate_quarter_turns_image_and_mask_together() -> None:
    img = np.zeros((40, 60, 3), np.uint8)
    mask = np.zeros((40, 60), np.uint8)
    img[2, 50] = 255  # a marker near the top-right corner
    mask[2, 50] = 2
    rng = np.random.default_rng(0)
    turned = 0
    for _ in range(30):
        i2, m2 = rotate_quarter(rng, img, mask, p=0.7)
        ys, xs = np.nonzero(i2[..., 0])
        my, mx = np.nonzero(m2)
        assert (ys.tolist(), xs.tolist()) == (my.tolist(), mx.tolist())
        turned += i2.shape[:2] != img.shape[:2] or not np.array_equal(i2, img)
    assert 10 <= turned <= 29  # p = 0.7: some turned, some not


def test_bald_patches_only_relabel_hair_and_only_change_scalp_pixels() -> None:
    rng = np.random.default_rng(3)
    h = w = 128
    img = np.full((h, w, 3), 40, np.uint8)  # dark "hair"
    mask = np.zeros((h, w), np.uint8)
    mask[20:110, 20:110] = 1
    mask[20:40, 20:40] = 2
    img[20:40, 20:40] = (220, 180, 160)  # the photo's own bare skin
    for _ in range(10):
        out, lab = paste_bald_patches(rng, img, mask)
        outside = mask == 0
        assert np.array_equal(out[outside], img[outside])
        assert np.array_equal(lab[outside], mask[outside])
        assert np.array_equal(lab[mask == 2], mask[mask == 2])
        new = (lab == 2) & (mask == 1)
        assert new.any()
        # pasted pixels take the skin tone: much brighter than the hair they cover
        assert out[new].mean() > 100
        assert set(np.unique(lab[mask == 1])) <= {1, 2, 255}


def test_bald_patches_leave_photos_without_hair_alone() -> None:
    img = np.full((64, 64, 3), 90, np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    out, lab = paste_bald_patches(np.random.default_rng(0), img, mask)
    assert out is img and lab is mask


# --------------------------------------------------------------------------- teacher rules


def _teacher_maps(h: int = 100, w: int = 100):
    """A back view seen upright: bald crown (rows 10-30), hair (30-60), neck skin (60-90)."""
    hair = np.zeros((h, w), np.float32)
    skin = np.zeros((h, w), np.float32)
    person = np.zeros((h, w), np.float32)
    clothes = np.zeros((h, w), np.float32)
    person[10:100, 20:80] = 1
    skin[10:30, 20:80] = 1
    hair[30:60, 20:80] = 1
    skin[60:90, 20:80] = 1
    clothes[90:100, 20:80] = 1
    return hair, skin, person, clothes


def test_back_view_rules_bald_above_hair_neck_below_background_outside() -> None:
    hair, skin, person, clothes = _teacher_maps()
    lab = pseudo_label_rules("back", hair, hair, skin, person, clothes)
    assert (lab[35:55, 30:70] == HAIR).all()
    assert (lab[12:26, 30:70] == HAIRLESS).all()
    assert (lab[66:88, 30:70] == NOT_SCALP).all()
    assert (lab[:, :15] == NOT_SCALP).all()  # background
    assert (lab[92:, 30:70] == NOT_SCALP).all()  # clothes


def test_teachers_that_disagree_on_hair_leave_it_unknown() -> None:
    hair, skin, person, clothes = _teacher_maps()
    other = hair.copy()
    other[30:60, 50:80] = 0  # the second teacher sees no hair on the right half
    lab = pseudo_label_rules("back", hair, other, skin, person, clothes)
    assert (lab[35:55, 55:80] == UNKNOWN).all()
    assert (lab[35:55, 25:45] == HAIR).all()


def test_side_view_hair_in_the_lower_half_is_unknown_beards_are_not_scalp() -> None:
    hair, skin, person, clothes = _teacher_maps()
    hair[70:90, 20:40] = 1  # a beard low on the face
    skin[70:90, 20:40] = 0
    lab = pseudo_label_rules("left", hair, hair, skin, person, clothes)
    assert (lab[72:88, 22:38] == UNKNOWN).all()
    assert (lab[35:50, 30:70] == HAIR).all()


def test_upright_rotation_puts_the_covered_edge_at_the_bottom() -> None:
    person = np.zeros((60, 60), np.float32)
    person[:, :25] = 1  # the person leaves the frame on the left
    k = upright_rotation(person)
    turned = np.rot90(person, k)
    assert turned[-2:].mean() > 0.9
    assert upright_rotation(person, turned="no") == 0
    assert upright_rotation(person, turned="180") == 2
    assert upright_rotation(person, turned="90") == k


# --------------------------------------------------------------------------- rated folders


def _rated_folder(root: Path, rows: list[dict]) -> Path:
    from test_engine import painted, write

    for r in rows:
        write(root / r["file"], painted(r["k"]))
    pd.DataFrame(
        [
            {
                "file": r["file"],
                "subject": r["subject"],
                "view": r["view"],
                "rater_a": r["a"],
                "rater_b": r["b"],
                "rotated_a": "no",
                "rotated_b": "no",
            }
            for r in rows
        ]
    ).to_csv(root / "ratings.csv", index=False)
    return root


def _rows(offsets: dict[int, float]) -> list[dict]:
    """Three people; rater A = truth + offset, rater B = truth - offset + 2 (painted truth K)."""
    from test_engine import PCT, K

    rows = []
    for s, off in offsets.items():
        for v, k in K.items():
            rows.append(
                {
                    "file": f"images/{s}-{v}.png",
                    "subject": s,
                    "view": v,
                    "k": k,
                    "a": PCT[v] + off,
                    "b": PCT[v] - off + 2,
                }
            )
    return rows


def test_evaluate_rated_scores_through_the_engine_against_the_raters(tmp_path: Path) -> None:
    from test_engine import colour_model

    # offsets keep every rating inside 0-100 (truth per view is 25, 50, 12.5, 0)
    root = _rated_folder(tmp_path / "rated", _rows({1: 0.0, 2: 0.0, 3: 0.0}))
    m = evaluate_rated(root, tmp_path / "out", models=[colour_model()], backend="torch")
    # raters' mean = truth + 1 on every view -> the painted-colour model is 1 point low
    assert m["view"]["all"]["mae"] == pytest.approx(1.0, abs=1e-6)
    assert m["view"]["all"]["bias"] == pytest.approx(-1.0, abs=1e-6)
    assert m["salt"]["mae"] == pytest.approx(1.0, abs=1e-6)  # view weights sum to 1
    assert m["salt"]["n_people"] == 3
    assert m["salt"]["raters_differ"] == pytest.approx(2.0, abs=1e-6)
    table = pd.read_csv(tmp_path / "out" / "rated_views.csv")
    assert len(table) == 12 and table["model"].notna().all()


def test_evaluate_rated_cross_validation_scores_each_person_once(tmp_path: Path) -> None:
    from test_engine import colour_model

    root = _rated_folder(tmp_path / "rated", _rows({1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}))
    m = evaluate_rated(
        root, tmp_path / "out", models=[colour_model(), colour_model()], backend="torch"
    )
    table = pd.read_csv(tmp_path / "out" / "rated_views.csv")
    assert len(table) == 16
    folds = m["folds"]
    assert sorted(set(folds.values())) == [0, 1]
    for r in table.itertuples():
        # scored by the model trained on the other fold, never by one that saw the person
        assert r.scored_by == (folds[r.subject] + 1) % 2


def test_rated_metrics_by_hand() -> None:
    rows = []
    for s, err in (("S1", 10.0), ("S2", -10.0), ("S3", 4.0)):
        for v in ("top", "back", "left", "right"):
            rows.append(
                {"subject": s, "view": v, "rater_a": 20.0, "rater_b": 30.0, "model": 25.0 + err}
            )
    m = rated_metrics(pd.DataFrame(rows))
    assert m["view"]["all"]["mae"] == pytest.approx(8.0)
    assert m["view"]["all"]["bias"] == pytest.approx(4.0 / 3)
    assert m["view"]["all"]["raters_differ"] == pytest.approx(10.0)
    assert m["salt"]["mae"] == pytest.approx(8.0)
    assert m["low"]["n_people"] == 0


def test_read_ratings_names_the_problem(tmp_path: Path) -> None:
    root = _rated_folder(tmp_path / "ok", _rows({1: 0.0}))
    photos = read_ratings(root)
    assert len(photos) == 4 and photos[0].subject == "S01"
    bad = pd.read_csv(root / "ratings.csv")
    bad.loc[0, "rater_a"] = 130
    bad.to_csv(root / "ratings.csv", index=False)
    with pytest.raises(InputFileError, match=r"line 2.*outside 0-100"):
        read_ratings(root)
    bad.loc[0, "rater_a"] = 10
    bad.loc[1, "view"] = "front"
    bad.to_csv(root / "ratings.csv", index=False)
    with pytest.raises(InputFileError, match=r"line 3.*'front'"):
        read_ratings(root)
    bad.drop(columns=["rater_b"]).to_csv(root / "ratings.csv", index=False)
    with pytest.raises(InputFileError, match="missing columns"):
        read_ratings(root)
    with pytest.raises(InputFileError, match="not found"):
        read_ratings(tmp_path / "nowhere")


# -------------------------------------------------------------- teachers on a real photo

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.skipif(
    not (SHARED / "teachers" / "mediapipe").is_dir(), reason="teacher models not available"
)
def test_teachers_label_a_full_head_of_hair_as_hair(tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    from salt.io.photo import load_photo
    from salt.training.teachers import Teachers

    # person 1's top view: both raters saw full hair (0 and 3 %)
    rgb = load_photo(SHARED / "scalp-views" / "images" / "1-Top-Down.jpg").rgb
    pl = Teachers(SHARED).label(rgb, "top", "no")
    assert pl.label.shape == rgb.shape[:2]
    assert set(np.unique(pl.label)) <= {0, 1, 2, 255}
    hair, hairless = (pl.label == 1).sum(), (pl.label == 2).sum()
    assert hair > 5 * hairless
    # the same photo turned a quarter: labels turn with it
    turned = Teachers(SHARED).label(np.ascontiguousarray(np.rot90(rgb)), "top", "90")
    assert turned.rotation in (1, 3)
    assert (turned.label == 1).sum() > 5 * (turned.label == 2).sum()


def test_rough_bare_skin_is_not_called_hairless_buzz_cuts_are_unknown() -> None:
    hair, skin, person, clothes = _teacher_maps()
    texture = np.zeros_like(skin)
    texture[10:30, 50:80] = 5.0  # stubble on the right half of the crown
    lab = pseudo_label_rules("back", hair, hair, skin, person, clothes, texture)
    assert (lab[12:26, 25:45] == HAIRLESS).all()
    assert (lab[12:26, 55:78] == UNKNOWN).all()


def test_fine_texture_separates_stubble_from_smooth_skin() -> None:
    from salt.training.teachers import SMOOTH_SKIN, fine_texture

    rng = np.random.default_rng(0)
    skin = np.full((128, 128, 3), (200, 160, 140), np.uint8)
    stubble = skin.copy()
    dots = rng.random((128, 128)) < 0.15  # dense dark hair stumps
    stubble[dots] = (40, 30, 25)
    assert float(np.median(fine_texture(skin))) < SMOOTH_SKIN
    assert float(np.median(fine_texture(stubble))) > SMOOTH_SKIN


def test_side_view_lower_half_skin_is_face_not_scalp() -> None:
    hair, skin, person, clothes = _teacher_maps()
    hair[:] = 0
    hair[10:40, 50:80] = 1  # hair at the back of the head only
    skin[10:100, 20:50] = 1  # a bald profile: dome and face in front
    lab = pseudo_label_rules("left", hair, hair, skin, person, clothes)
    assert (lab[70:88, 22:48] == NOT_SCALP).all()  # cheek and jaw
    assert not (lab[12:40, 22:48] == NOT_SCALP).any()  # the dome is not called face
