"""The one rule from a class map to a view's %, partial SALT and visit status, by hand."""

from __future__ import annotations

import numpy as np
import pytest

import salt
from salt.classmap import IGNORE_INDEX, view_percent, view_pixels
from salt.results import partial_salt, visit_status


def test_view_percent_by_hand() -> None:
    cm = np.zeros((4, 4), np.uint8)
    cm[:2] = 1
    cm[0, :2] = 2  # 2 hairless of 8 scalp pixels
    assert view_percent(cm) == pytest.approx(25.0)
    assert view_pixels(cm) == (8, 2)


def test_unknown_pixels_are_neither_scalp_nor_hairless() -> None:
    cm = np.array([[2, 1], [IGNORE_INDEX, IGNORE_INDEX]], np.uint8)
    assert view_percent(cm) == pytest.approx(50.0)


def test_a_view_without_scalp_has_no_measurement() -> None:
    assert view_percent(np.zeros((3, 3), np.uint8)) is None
    assert view_percent(np.full((3, 3), IGNORE_INDEX, np.uint8)) is None


def test_view_percent_rejects_a_non_class_map() -> None:
    with pytest.raises(salt.BadValueError):
        view_percent(np.zeros((2, 2, 3), np.uint8))


def test_partial_salt_rescales_the_weights_of_the_views_present() -> None:
    # top 0.40, back 0.24 (Olsen 2004): (0.40 * 50 + 0.24 * 10) / 0.64 = 35
    assert partial_salt({"top": 50.0, "back": 10.0}) == pytest.approx(35.0)
    full = {"top": 10.0, "back": 20.0, "left": 30.0, "right": 40.0}
    assert partial_salt(full) == pytest.approx(salt.salt_score(full))
    with pytest.raises(salt.BadValueError):
        partial_salt({})


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"failed": True, "duplicate": True}, "failed"),
        ({"duplicate": True, "same_photo": True}, "duplicate"),
        ({"same_photo": True, "missing": True}, "same_photo"),
        ({"missing": True}, "incomplete"),
        ({"missing": True, "partial": True, "measured": True}, "partial"),
        ({"missing": True, "partial": True}, "incomplete"),
        ({"flagged": True}, "ok"),
        ({"flagged": True, "strict": True}, "flagged"),
        ({}, "ok"),
    ],
)
def test_visit_status_precedence(flags: dict[str, bool], expected: str) -> None:
    args = dict.fromkeys(
        (
            "failed",
            "duplicate",
            "same_photo",
            "missing",
            "partial",
            "measured",
            "flagged",
            "strict",
        ),
        False,
    )
    assert visit_status(**(args | flags)) == expected
