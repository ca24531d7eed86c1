import math

import numpy as np
import pytest

import salt
from salt import aa_iga, salt2_score, salt_score, severity_band, view_loss_percent
from salt.scoring import at_least, at_most

WEIGHTS = {"top": 0.40, "back": 0.24, "left": 0.18, "right": 0.18}


# --- view_loss_percent -------------------------------------------------------------------------


def test_disk_in_square_matches_pixel_count():
    yy, xx = np.mgrid[:200, :200]
    scalp = np.ones((200, 200), bool)
    disk = (yy - 100) ** 2 + (xx - 100) ** 2 <= 50**2
    expected = 100.0 * disk.sum() / 200**2
    assert view_loss_percent(scalp, disk) == pytest.approx(expected, rel=1e-12)
    # and close to the continuous area pi r^2 / side^2
    assert view_loss_percent(scalp, disk) == pytest.approx(100 * math.pi * 50**2 / 200**2, abs=0.1)


def test_hairless_outside_scalp_is_ignored():
    scalp = np.zeros((10, 10), bool)
    scalp[:, :5] = True  # 50 px of scalp
    bald = np.zeros((10, 10), bool)
    bald[:2, :] = True  # 20 px, 10 of them on scalp
    assert view_loss_percent(scalp, bald) == 20.0


def test_accepts_zero_one_integer_masks():
    scalp = np.array([[1, 1], [1, 1]], np.uint8)
    bald = np.array([[1, 0], [0, 0]], np.int64)
    assert view_loss_percent(scalp, bald) == 25.0


def test_empty_scalp_raises_not_nan():
    with pytest.raises(salt.EmptyScalpError, match="no scalp"):
        view_loss_percent(np.zeros((4, 4), bool), np.zeros((4, 4), bool))


def test_shape_mismatch_raises():
    with pytest.raises(salt.BadValueError, match="shape"):
        view_loss_percent(np.ones((4, 4), bool), np.ones((4, 5), bool))


def test_non_binary_mask_raises():
    with pytest.raises(salt.BadValueError, match="0 and 1"):
        view_loss_percent(np.full((2, 2), 2), np.zeros((2, 2)))
    with pytest.raises(salt.BadValueError, match="dtype"):
        view_loss_percent(np.array([["a"]]), np.array([["b"]]))


# --- salt_score --------------------------------------------------------------------------------


@pytest.mark.parametrize("view", list(WEIGHTS))
def test_one_view_at_100_gives_its_weight(view):
    percents = dict.fromkeys(WEIGHTS, 0.0)
    percents[view] = 100.0
    assert salt_score(percents) == pytest.approx(100 * WEIGHTS[view], abs=1e-12)


@pytest.mark.parametrize("p", [0.0, 0.5, 20.0, 33.3, 50.0, 99.9, 100.0])
def test_all_views_at_p_gives_p(p):
    assert salt_score(dict.fromkeys(WEIGHTS, p)) == pytest.approx(p, abs=1e-12)


def test_random_cases_against_independent_implementation():
    rng = np.random.default_rng(0)
    table = rng.uniform(0, 100, size=(500, 4))
    # independent: a matrix product with the weights written out here
    expected = table @ np.array([0.40, 0.24, 0.18, 0.18])
    for row, exp in zip(table, expected, strict=True):
        got = salt_score({"top": row[0], "back": row[1], "left": row[2], "right": row[3]})
        assert got == pytest.approx(exp, abs=1e-9)


def test_missing_view_is_named():
    with pytest.raises(salt.MissingViewError, match="'back'"):
        salt_score({"top": 1, "left": 1, "right": 1})


@pytest.mark.parametrize("bad", [-0.1, 100.1, float("nan"), float("inf"), "x", "50", True, None])
def test_out_of_range_names_the_view(bad):
    with pytest.raises(salt.BadValueError, match="'left'"):
        salt_score({"top": 1, "back": 1, "left": bad, "right": 1})


def test_unknown_view_raises():
    with pytest.raises(salt.BadValueError, match="front"):
        salt_score({"top": 1, "back": 1, "left": 1, "right": 1, "front": 1})


def test_errors_share_one_base_class():
    for exc in (
        salt.MissingViewError,
        salt.BadValueError,
        salt.EmptyScalpError,
        salt.InputFileError,
        salt.DuplicateViewError,
        salt.ModelError,
        salt.OutputError,
    ):
        assert issubclass(exc, salt.SaltError)


# --- SALT II -----------------------------------------------------------------------------------


def test_salt2_equals_salt_when_sectors_are_uniform():
    rng = np.random.default_rng(1)
    for _ in range(50):
        per_view = {v: float(rng.uniform(0, 100)) for v in WEIGHTS}
        sectors = {v: dict.fromkeys(salt.SALT2_SECTOR_WEIGHTS[v], per_view[v]) for v in WEIGHTS}
        assert salt2_score(sectors) == pytest.approx(salt_score(per_view), abs=1e-9)


def test_salt2_single_sector():
    sectors = {v: dict.fromkeys(salt.SALT2_SECTOR_WEIGHTS[v], 0.0) for v in WEIGHTS}
    sectors["left"]["upper-front"] = 100.0
    assert salt2_score(sectors) == pytest.approx(5.0)
    del sectors["right"]["lower-back"]
    with pytest.raises(salt.MissingViewError, match="lower-back"):
        salt2_score(sectors)


# --- bands ----------------------------------------------------------------------------------
# The published bands are written on integers; the package decides on the unrounded score with
# continuous intervals (S0 = 0, S1 (0, 25), S2 [25, 50), S3 [50, 75), S4 [75, 100) with S4a
# [75, 96) and S4b [96, 100), S5 = 100; AA-IGA 0 = 0, 1 (0, 20], 2 (20, 50), 3 [50, 95),
# 4 [95, 100]). Every boundary is tested from both sides, a hundredth of a point away.


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (0, 0),
        (0.01, 1),
        (1, 1),
        (19.99, 1),
        (20, 1),
        (20.01, 2),
        (20.4, 2),  # was grade 1 when bands rounded the score; salt_le_20 is False here
        (49.99, 2),
        (50, 3),
        (94.99, 3),
        (95, 4),
        (99.99, 4),
        (100, 4),
    ],
)
def test_aa_iga_boundaries(score, grade):
    assert aa_iga(score) == grade


@pytest.mark.parametrize(
    ("score", "band", "band_split"),
    [
        (0, "S0", "S0"),
        (0.01, "S1", "S1"),
        (0.4, "S1", "S1"),  # any loss at all is S1
        (24.99, "S1", "S1"),
        (25, "S2", "S2"),
        (49.6, "S2", "S2"),  # was S3 when bands rounded the score; not eligible
        (49.99, "S2", "S2"),
        (50, "S3", "S3"),
        (74.99, "S3", "S3"),
        (75, "S4", "S4a"),
        (95.99, "S4", "S4a"),
        (96, "S4", "S4b"),
        (99.99, "S4", "S4b"),
        (100, "S5", "S5"),
    ],
)
def test_severity_band_boundaries(score, band, band_split):
    assert severity_band(score) == band
    assert severity_band(score, split_s4=True) == band_split


@pytest.mark.parametrize("threshold", [0.0, 20.0, 25.0, 50.0, 75.0, 95.0, 96.0, 100.0])
def test_binary_rounding_at_a_boundary_counts_as_at_it(threshold):
    # 0.1 + 0.2 - 0.3 is 5.55e-17 in binary floating point, 0 in decimal.
    noise = 0.1 + 0.2 - 0.3
    assert noise != 0.0
    above, below = min(100.0, threshold + noise), max(0.0, threshold - noise)
    assert severity_band(above) == severity_band(below) == severity_band(threshold)
    assert aa_iga(above) == aa_iga(below) == aa_iga(threshold)


def test_at_most_and_at_least_on_arrays_match_scalars():
    values = np.array([0.0, 19.999, 20.0, 20.0 + 1e-12, 20.001, np.nan])
    assert at_most(values, 20.0).tolist() == [True, True, True, True, False, False]
    assert at_least(values, 20.0).tolist() == [False, False, True, True, True, False]
    for v in values[:-1]:
        assert at_most(float(v), 20.0) == at_most(np.array([v]), 20.0)[0]


@pytest.mark.parametrize("bad", [-1, 101, float("nan")])
def test_bands_reject_out_of_range(bad):
    with pytest.raises(salt.BadValueError):
        aa_iga(bad)
    with pytest.raises(salt.BadValueError):
        severity_band(bad)


@pytest.mark.parametrize(
    "bad", [10**400, 10**5000, complex(1, 1), b"1"], ids=["1e400", "1e5000", "complex", "bytes"]
)
def test_unconvertible_numbers_are_bad_values(bad):
    with pytest.raises(salt.BadValueError):
        salt_score({"top": bad, "back": 0, "left": 0, "right": 0})
    with pytest.raises(salt.BadValueError):
        aa_iga(bad)


@pytest.mark.parametrize("bad", [None, 3.0, [("top", 1.0)]])
def test_salt_score_needs_a_mapping(bad):
    with pytest.raises(salt.BadValueError, match="mapping"):
        salt_score(bad)
    with pytest.raises(salt.BadValueError, match="mapping"):
        salt2_score(bad)
