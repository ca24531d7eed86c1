"""Plots (salt.trial.plots): each returns Axes/Figure with the expected lines, bars and images."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from salt.errors import BadValueError
from salt.trial import plots
from salt.trial import response as trial

VIEWS = ("top", "back", "left", "right")

TABLE = pd.DataFrame(
    {
        "subject": ["A", "A", "A", "B", "B", "C", "C", "C", "D", "D"],
        "week": [0, 12, 24, 0, 24, 0, 12, 24, 0, 24],
        # C's week-12 score is missing; D has baseline 0 (no percent change)
        "salt": [80.0, 40.0, 10.0, 60.0, 66.0, 90.0, np.nan, 45.0, 0.0, 5.0],
    }
)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def test_spaghetti_one_line_per_subject_plus_thresholds() -> None:
    ax = plots.spaghetti_plot(TABLE)
    assert isinstance(ax, Axes)
    assert len(ax.lines) == 4 + 2
    assert [line.get_label() for line in ax.lines[:4]] == ["A", "B", "C", "D"]
    c = ax.lines[2]
    assert list(c.get_xdata()) == [0, 24] and list(c.get_ydata()) == [90.0, 45.0]  # NaN dropped
    assert [line.get_ydata()[0] for line in ax.lines[4:]] == [20.0, 50.0]


def test_spaghetti_draws_into_given_axes() -> None:
    _, ax = plt.subplots()
    assert plots.spaghetti_plot(TABLE, ax=ax, thresholds=(20,)) is ax
    assert len(ax.lines) == 5


def test_waterfall_bars_sorted_with_hand_values() -> None:
    ax = plots.waterfall_plot(TABLE, 24)
    heights = [p.get_height() for p in ax.patches]
    # B +10 %, C -50 %, A -87.5 %; D left out (baseline 0)
    assert heights == pytest.approx([10.0, -50.0, -87.5])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["B", "C", "A"]
    assert "1 subject(s) without a value left out" in ax.get_title()
    colours = [p.get_facecolor() for p in ax.patches]
    assert colours[0] != colours[1] and colours[1] == colours[2]  # SALT50 bars coloured


def test_response_plot_one_container_per_endpoint() -> None:
    rates = trial.response_rates(TABLE, [12, 24], endpoint=["salt_le_20", "salt50"], missing="nri")
    ax = plots.response_plot(rates)
    assert len(ax.containers) == 2
    first = ax.containers[0].lines[0]
    # SALT <= 20 with NRI: week 12: A no (40), C missing -> 0 of 4; week 24: A and D -> 2 of 4
    assert list(first.get_ydata()) == pytest.approx([0.0, 50.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["salt_le_20", "salt50"]
    with pytest.raises(BadValueError, match="response_rates"):
        plots.response_plot(pd.DataFrame({"week": [1]}))


def test_bland_altman_plot_lines_at_bias_and_limits() -> None:
    ax = plots.bland_altman_plot([1, 2, 3, 4], [0, 2, 2, 5])
    assert len(ax.collections) == 1
    offsets = ax.collections[0].get_offsets()
    assert np.allclose(offsets, [[0.5, 1], [2, 0], [2.5, 1], [4.5, -1]])
    sd = np.sqrt(2.75 / 3)
    ys = [line.get_ydata()[0] for line in ax.lines]
    assert ys == pytest.approx([0.25 - 1.96 * sd, 0.25, 0.25 + 1.96 * sd])


def _visit(h: int = 20, w: int = 30) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    photo = np.full((h, w, 3), 100, np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[5:15, 5:25] = 1
    mask[8:12, 10:20] = 2
    return {v: photo for v in VIEWS}, {v: mask for v in VIEWS}


def test_overlay_sheet_four_panels_and_tint() -> None:
    photos, masks = _visit()
    fig = plots.overlay_sheet(photos, masks, percents=dict.fromkeys(VIEWS, 20.0), title="P1 week 0")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes] == [f"{v}: 20.0 % hair loss" for v in VIEWS]
    image = fig.axes[0].images[0].get_array()
    grey = 100 / 255
    # background untouched; hairless pixel: (1 - 0.45) grey + 0.45 red colour (0.95, 0.1, 0.1)
    assert np.allclose(image[0, 0], [grey] * 3, atol=1e-6)
    assert np.allclose(
        image[10, 15],
        [0.55 * grey + 0.45 * 0.95, 0.55 * grey + 0.045, 0.55 * grey + 0.045],
        atol=1e-6,
    )
    assert fig._suptitle is not None and fig._suptitle.get_text() == "P1 week 0"


def test_overlay_sheet_resizes_masks_by_nearest_neighbour() -> None:
    photos, _ = _visit(20, 30)
    # a 2 x 3 class map: hairless in the middle column only -> columns 10-19 of the photo
    small = np.array([[0, 2, 0], [0, 2, 0]], np.uint8)
    fig = plots.overlay_sheet(photos, dict.fromkeys(VIEWS, small))
    image = fig.axes[0].images[0].get_array()
    red = image[..., 0] > image[..., 1] + 0.1
    assert red[:, 10:20].all() and not red[:, :10].any() and not red[:, 20:].any()


def test_overlay_sheet_accepts_bool_masks_and_rejects_bad_input() -> None:
    photos, masks = _visit()
    plots.overlay_sheet(photos, {v: m == 2 for v, m in masks.items()})
    with pytest.raises(BadValueError, match="'right' view"):
        plots.overlay_sheet(photos, {v: masks[v] for v in VIEWS[:3]})
    with pytest.raises(BadValueError, match="'top' mask must be 2-D"):
        plots.overlay_sheet(photos, {**masks, "top": np.zeros((5, 5, 3), np.uint8)})
    with pytest.raises(BadValueError, match="uint8"):
        plots.overlay_sheet({**photos, "top": photos["top"].astype(float)}, masks)
    assert plt.get_fignums() == [1]  # figures of failed calls are closed


def test_km_plot_steps_at_event_times_in_percent() -> None:
    from salt.trial.survival import kaplan_meier

    # 4 events of 4 at weeks 4, 8, 12, 16: the curve rises by 25 points at each
    t = pd.DataFrame({"weeks": [4, 8, 12, 16], "event": [True] * 4, "drug": ["X"] * 4})
    ax = plots.km_plot(kaplan_meier(t, by="drug"))
    (line,) = ax.get_lines()
    assert line.get_ydata().tolist() == pytest.approx([0.0, 25.0, 50.0, 75.0, 100.0])
    assert line.get_label() == "X (n=4)"
    assert len(ax.collections) == 1  # the confidence band
    with pytest.raises(BadValueError, match="kaplan_meier"):
        plots.km_plot(t)


def test_published_plot_one_row_per_comparison() -> None:
    comparison = pd.DataFrame(
        {
            "drug": ["baricitinib", "ritlecitinib"],
            "dose_mg": [4.0, 50.0],
            "regimen": ["once daily", "once daily"],
            "endpoint": ["salt_le_20", "salt_le_20"],
            "week": [24.0, 24.0],
            "rate": [0.2, 0.3],
            "ci_low": [0.1, 0.2],
            "ci_high": [0.3, 0.4],
            "trial": ["T1", "T2"],
            "published_rate": [0.28, 0.23],
        }
    )
    ax = plots.published_plot(comparison)
    crosses = [ln for ln in ax.get_lines() if ln.get_marker() == "x"]
    assert crosses[0].get_xdata().tolist() == pytest.approx([28.0, 23.0])
    assert len(ax.get_yticklabels()) == 2
    top = max(ax.get_yticklabels(), key=lambda label: label.get_position()[1])
    assert "vs T1" in top.get_text()  # the first row is drawn at the top
