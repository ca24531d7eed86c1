"""Overlays are drawn once, at the size they have on the contact sheet."""

from __future__ import annotations

import cv2
import numpy as np

from salt.io.overlay import TILE_SIDE, fit_tile, visit_overlays
from salt.views import VIEWS


def _decode(jpeg: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def test_large_photos_are_drawn_at_sheet_size_small_ones_at_their_own() -> None:
    grey = np.full((375, 500, 3), 128, np.uint8)  # a 12 MP photo decoded at 1/8
    small = np.full((256, 320, 3), 128, np.uint8)
    cmap = np.ones((256, 256), np.uint8)  # all scalp with hair
    views = {"top": (grey, cmap, "top"), "back": (small, cmap, "back")}
    overlays, sheet = visit_overlays(views, "P1 / w0")
    assert _decode(overlays["top"]).shape == (270, 360, 3)  # long side 360, aspect kept
    assert _decode(overlays["back"]).shape == (256, 320, 3)
    assert _decode(sheet).shape == (2 * TILE_SIDE + 40, 2 * TILE_SIDE, 3)


def test_hairless_block_lands_where_it_is_in_the_photo() -> None:
    rgb = np.full((600, 800, 3), 128, np.uint8)
    cmap = np.ones((256, 256), np.uint8)
    cmap[128:, 128:] = 2  # bottom-right quarter hairless (network resolution)
    overlays, _ = visit_overlays({v: (rgb, cmap, "") for v in VIEWS}, "t")
    img = _decode(overlays["top"]).astype(int)  # 360 x 270
    red = img[..., 0] - img[..., 1]
    assert red[200:260, 200:350].mean() > 40  # tinted red inside the block
    assert abs(red[60:120, 40:160].mean()) < 10  # grey elsewhere (away from the label)


def test_fit_tile_keeps_a_tile_that_fits() -> None:
    tile = np.zeros((270, 360, 3), np.uint8)
    assert fit_tile(tile) is tile
    assert fit_tile(np.zeros((100, 50, 3), np.uint8), 360).shape == (360, 180, 3)
