import math

import pytest

import salt
from salt.views import SALT2_SECTOR_WEIGHTS, VIEW_WEIGHTS, VIEWS, normalize_view


def test_views_in_salt_order():
    assert salt.VIEWS == ("top", "back", "left", "right")


def test_weights_are_olsen_2004_and_sum_to_one():
    assert dict(VIEW_WEIGHTS) == {"top": 0.40, "back": 0.24, "left": 0.18, "right": 0.18}
    assert math.fsum(VIEW_WEIGHTS.values()) == pytest.approx(1.0, abs=1e-15)
    assert tuple(VIEW_WEIGHTS) == VIEWS


def test_weights_cannot_be_mutated():
    with pytest.raises(TypeError):
        VIEW_WEIGHTS["top"] = 0.5  # type: ignore[index]
    with pytest.raises(TypeError):
        SALT2_SECTOR_WEIGHTS["top"]["front-left"] = 0.5  # type: ignore[index]


@pytest.mark.parametrize("view", VIEWS)
def test_salt2_sectors_sum_to_view_weight(view):
    assert math.fsum(SALT2_SECTOR_WEIGHTS[view].values()) == pytest.approx(VIEW_WEIGHTS[view])
    assert len(SALT2_SECTOR_WEIGHTS[view]) == 4


@pytest.mark.parametrize(
    ("alias", "view"),
    [
        ("top", "top"),
        ("Vertex", "top"),
        ("SUPERIOR", "top"),
        ("Top-Down", "top"),
        ("back", "back"),
        ("occiput", "back"),
        ("Posterior", "back"),
        ("left", "left"),
        ("left-side", "left"),
        ("L", "left"),
        ("right", "right"),
        ("Right-Side", "right"),
        ("r", "right"),
    ],
)
def test_aliases(alias, view):
    assert normalize_view(alias) == view


def test_unknown_view_names_the_input():
    with pytest.raises(salt.BadValueError, match="'front'"):
        normalize_view("front")
