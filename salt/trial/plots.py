"""Trial and agreement plots with matplotlib; each returns its Axes or Figure to restyle.

Every function takes an optional ``ax`` to draw into (a new figure is made with
:func:`matplotlib.pyplot.subplots` otherwise) and returns the Axes, except
:func:`overlay_sheet`, which returns its Figure. Nothing is shown or saved here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from salt.errors import BadValueError
from salt.trial.agreement import bland_altman
from salt.trial.endpoints import endpoints
from salt.views import VIEWS

__all__ = [
    "bland_altman_plot",
    "km_plot",
    "overlay_sheet",
    "published_plot",
    "response_plot",
    "spaghetti_plot",
    "waterfall_plot",
]

#: Colours of the overlay classes: 1 scalp with hair, 2 hairless scalp (RGB 0-1).
OVERLAY_COLOURS: Mapping[int, tuple[float, float, float]] = {
    1: (0.0, 0.75, 0.3),
    2: (0.95, 0.1, 0.1),
}


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def spaghetti_plot(
    df: pd.DataFrame,
    *,
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
    thresholds: Iterable[float] = (20.0, 50.0),
    ax: Axes | None = None,
    **line_kwargs: Any,
) -> Axes:
    """SALT over time, one line per subject, with horizontal threshold lines.

    Parameters
    ----------
    df : pandas.DataFrame
        Long table of visits (``subject``, ``time``, ``score`` columns).
    subject, time, score : str
        Column names.
    thresholds : iterable of float, default (20, 50)
        SALT values drawn as dashed horizontal lines (20: response; 50: eligibility).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    **line_kwargs
        Passed to :meth:`~matplotlib.axes.Axes.plot` for the subject lines.

    Returns
    -------
    matplotlib.axes.Axes
        With one line per subject (label = subject) followed by one line per threshold.
    """
    ax = _axes(ax)
    style = {"marker": "o", "markersize": 3, "linewidth": 1.2, "alpha": 0.8, **line_kwargs}
    for sid, visits in df.sort_values(time).groupby(subject, sort=False):
        scored = visits[visits[score].notna()]
        ax.plot(scored[time], scored[score], label=str(sid), **style)
    for value in thresholds:
        ax.axhline(value, color="0.3", linestyle="--", linewidth=1.0)
        ax.annotate(
            f"SALT {value:g}",
            (1.0, value),
            xycoords=("axes fraction", "data"),
            ha="right",
            va="bottom",
            fontsize=8,
            color="0.3",
        )
    ax.set_ylim(-2, 102)
    ax.set_xlabel(time)
    ax.set_ylabel("SALT (% scalp hair loss)")
    return ax


def waterfall_plot(
    df: pd.DataFrame,
    week: float,
    *,
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
    baseline: Any = None,
    lines: Iterable[float] = (-50.0, -75.0, -90.0),
    ax: Axes | None = None,
) -> Axes:
    """Waterfall of percent change from baseline at one week, one bar per subject.

    Subjects without a defined change at the week (visit missing, baseline 0 or
    missing) get no bar; their number is given in the title.

    Parameters
    ----------
    df : pandas.DataFrame
        Long table of visits.
    week : float
        Week (value of ``time``) to show.
    subject, time, score : str
        Column names.
    baseline : scalar, mapping or None
        Baseline visit, as in :func:`salt.endpoints.endpoints`.
    lines : iterable of float, default (-50, -75, -90)
        Percent changes drawn as dashed lines (SALT50, SALT75, SALT90).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.axes.Axes
        Bars sorted from the largest increase to the largest decrease of SALT;
        bars that reach SALT50 are blue, the others grey.
    """
    ax = _axes(ax)
    ep = endpoints(df, subject=subject, time=time, score=score, baseline=baseline)
    at = ep[ep[time] == week]
    shown = at[at["pct_change"].notna()].sort_values("pct_change", ascending=False)
    n_left_out = int(df[subject].nunique() - len(shown))
    colours = ["tab:blue" if v <= -50.0 + 1e-9 else "0.6" for v in shown["pct_change"]]
    ax.bar(np.arange(len(shown)), shown["pct_change"].to_numpy(), color=colours)
    ax.set_xticks(np.arange(len(shown)), [str(s) for s in shown[subject]], rotation=90, fontsize=7)
    for value in lines:
        ax.axhline(value, color="0.3", linestyle="--", linewidth=0.8)
    ax.axhline(0.0, color="black", linewidth=0.8)
    lowest = float(np.min(shown["pct_change"].to_numpy(dtype=float), initial=0.0))
    ax.set_ylim(min(-105.0, lowest - 5.0), None)
    ax.set_ylabel("% change in SALT from baseline")
    title = f"{time} {week:g}"
    if n_left_out:
        title += f" ({n_left_out} subject(s) without a value left out)"
    ax.set_title(title, fontsize=9)
    return ax


def response_plot(
    rates: pd.DataFrame,
    *,
    percent: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Responder rate over time with confidence bands, one line per endpoint.

    Parameters
    ----------
    rates : pandas.DataFrame
        Output of :func:`salt.trial.response.response_rates` (columns ``endpoint``,
        ``week``, ``rate``, ``ci_low``, ``ci_high``).
    percent : bool, default True
        Show rates in percent rather than as proportions.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.axes.Axes
        One error-bar container per endpoint (points at the rates, bars at the
        interval), the endpoints shifted sideways by a few percent of the
        spacing between weeks so that their intervals stay visible.
    """
    need = {"endpoint", "week", "rate", "ci_low", "ci_high"}
    if not need <= set(rates.columns):
        raise BadValueError(
            f"rates table lacks column(s) {sorted(need - set(rates.columns))}; "
            "pass the output of salt.trial.response.response_rates"
        )
    ax = _axes(ax)
    scale = 100.0 if percent else 1.0
    groups = list(rates.groupby("endpoint", sort=False))
    weeks = np.unique(rates["week"].to_numpy(dtype=float))
    step = float(np.min(np.diff(weeks))) if len(weeks) > 1 else 1.0
    for i, (name, group) in enumerate(groups):
        g = group.sort_values("week")
        # dodge the endpoints sideways so that their intervals do not hide each other
        dodge = (i - (len(groups) - 1) / 2.0) * 0.08 * step
        y = g["rate"].to_numpy(dtype=float) * scale
        err = np.vstack(
            [
                y - g["ci_low"].to_numpy(dtype=float) * scale,
                g["ci_high"].to_numpy(dtype=float) * scale - y,
            ]
        )
        x = g["week"].to_numpy(dtype=float) + dodge
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=str(name))
    ax.set_ylim(0.0, scale)
    ax.set_xlabel("week")
    ax.set_ylabel("responders (%)" if percent else "responders (proportion)")
    ax.legend(fontsize=8)
    return ax


def km_plot(km: pd.DataFrame, *, percent: bool = True, ax: Axes | None = None) -> Axes:
    """Kaplan-Meier curves of the cumulative probability of response, with confidence bands.

    Parameters
    ----------
    km : pandas.DataFrame
        Output of :func:`salt.trial.survival.kaplan_meier` (columns ``group``,
        ``time``, ``responded``, ``ci_low``, ``ci_high``, ``at_risk``).
    percent : bool, default True
        Show percent rather than proportions.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.axes.Axes
        One step line per group (label: group and number at the start), its
        pointwise interval shaded.
    """
    need = {"group", "time", "responded", "ci_low", "ci_high", "at_risk"}
    if not need <= set(km.columns):
        raise BadValueError(
            f"table lacks column(s) {sorted(need - set(km.columns))}; "
            "pass the output of salt.trial.survival.kaplan_meier"
        )
    ax = _axes(ax)
    scale = 100.0 if percent else 1.0
    for name, g in km.groupby("group", sort=True):
        g = g.sort_values("time")
        x = g["time"].to_numpy(dtype=float)
        (line,) = ax.step(
            x,
            g["responded"].to_numpy(dtype=float) * scale,
            where="post",
            label=f"{name} (n={int(g['at_risk'].iloc[0])})",
        )
        ax.fill_between(
            x,
            g["ci_low"].to_numpy(dtype=float) * scale,
            g["ci_high"].to_numpy(dtype=float) * scale,
            step="post",
            alpha=0.15,
            color=line.get_color(),
        )
    ax.set_ylim(0.0, scale)
    ax.set_xlabel("weeks on drug")
    ax.set_ylabel("responded (%)" if percent else "responded (proportion)")
    ax.legend(fontsize=8)
    return ax


def published_plot(comparison: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Registry responder rates (with intervals) beside the published trial rates.

    Parameters
    ----------
    comparison : pandas.DataFrame
        Output of :func:`salt.trial.published.compare_with_published`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.axes.Axes
        One row per comparison: the registry rate as a dot with its interval, the
        published rate as a cross, in percent.
    """
    need = {"drug", "dose_mg", "regimen", "endpoint", "week", "rate", "ci_low", "ci_high"}
    need |= {"trial", "published_rate"}
    if not need <= set(comparison.columns):
        raise BadValueError(
            f"table lacks column(s) {sorted(need - set(comparison.columns))}; "
            "pass the output of salt.trial.published.compare_with_published"
        )
    ax = _axes(ax, (7.0, 0.8 + 0.7 * max(len(comparison), 1)))
    y = np.arange(len(comparison), dtype=float)[::-1]
    rate = comparison["rate"].to_numpy(dtype=float) * 100.0
    err = np.vstack(
        [
            rate - comparison["ci_low"].to_numpy(dtype=float) * 100.0,
            comparison["ci_high"].to_numpy(dtype=float) * 100.0 - rate,
        ]
    )
    ax.errorbar(rate, y, xerr=err, fmt="o", capsize=3, label="registry (95 % CI)")
    ax.plot(comparison["published_rate"].to_numpy(dtype=float) * 100.0, y, "x", ms=9,
            color="black", label="published")  # fmt: skip
    labels = [
        f"{r.drug} {r.dose_mg:g} mg, {r.endpoint}, week {r.week:g}\nvs {r.trial} ({r.regimen})"
        for r in comparison.itertuples()
    ]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0.0, 100.0)
    ax.set_xlabel("responders (%)")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def bland_altman_plot(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    labels: tuple[str, str] = ("model", "rater"),
    ax: Axes | None = None,
) -> Axes:
    """Bland-Altman plot: difference against mean, with the bias and limits of agreement.

    Parameters
    ----------
    a, b : array_like of float, shape (n,)
        Paired SALT scores (points).
    labels : tuple of str, default ("model", "rater")
        Names of the two methods, for the axis labels.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.axes.Axes
        One scatter of the pairs and three horizontal lines (lower limit, bias,
        upper limit).
    """
    result = bland_altman(a, b)
    x = np.asarray(a, dtype=float).ravel()
    y = np.asarray(b, dtype=float).ravel()
    ax = _axes(ax)
    ax.scatter((x + y) / 2.0, x - y, s=12, alpha=0.7)
    for value, name in (
        (result.loa_low, f"-{result.limits:g} SD"),
        (result.bias, "bias"),
        (result.loa_high, f"+{result.limits:g} SD"),
    ):
        ax.axhline(value, color="0.2" if name == "bias" else "0.5", linestyle="--", linewidth=1.0)
        ax.annotate(
            f"{name} {value:+.1f}",
            (1.0, value),
            xycoords=("axes fraction", "data"),
            ha="right",
            va="bottom",
            fontsize=8,
        )
    ax.set_xlabel(f"mean of {labels[0]} and {labels[1]} (SALT)")
    ax.set_ylabel(f"{labels[0]} - {labels[1]} (SALT points)")
    return ax


def _resize_nearest(classes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Resize a class map to ``shape`` (H, W) by nearest neighbour (pixel centres)."""
    h, w = classes.shape
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * h / shape[0]).astype(int), h - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * w / shape[1]).astype(int), w - 1)
    return classes[rows[:, None], cols[None, :]]


def _blend(rgb: np.ndarray, classes: np.ndarray, alpha: float) -> np.ndarray:
    out = rgb.astype(np.float32) / 255.0
    for value, colour in OVERLAY_COLOURS.items():
        where = classes == value
        a = alpha if value == 2 else alpha / 2.0
        out[where] = (1.0 - a) * out[where] + a * np.asarray(colour, dtype=np.float32)
    return out


def overlay_sheet(
    photos: Mapping[str, npt.ArrayLike],
    masks: Mapping[str, npt.ArrayLike],
    *,
    percents: Mapping[str, float] | None = None,
    title: str | None = None,
    alpha: float = 0.45,
    figsize: tuple[float, float] = (8.0, 8.0),
) -> Figure:
    """2 x 2 sheet of one visit: the four views with the segmentation overlaid.

    Parameters
    ----------
    photos : Mapping[str, array_like]
        View name (``top``, ``back``, ``left``, ``right``) -> RGB photo,
        shape (H, W, 3), uint8.
    masks : Mapping[str, array_like]
        View -> class map, uint8 with 0 not scalp, 1 scalp with hair (tinted
        green), 2 hairless scalp (tinted red), or a bool hairless mask; shape
        (h, w), resized to the photo's (H, W) by nearest neighbour when it differs
        (e.g. a class map at network resolution).
    percents : Mapping[str, float], optional
        View -> percent hair loss, shown in each panel's title.
    title : str, optional
        Figure title (e.g. ``"P012 week 24: SALT 37.2"``).
    alpha : float, default 0.45
        Opacity of the hairless tint (the hair tint uses half of it).
    figsize : tuple of float, default (8, 8)
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        A figure with four image axes, in the order top, back, left, right.

    Raises
    ------
    BadValueError
        If a view is missing, a photo is not (H, W, 3) uint8, or a mask is not 2-D.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=figsize, layout="constrained")
    for ax, view in zip(axes.ravel(), VIEWS, strict=True):
        if view not in photos or view not in masks:
            plt.close(fig)
            raise BadValueError(f"overlay sheet: the {view!r} view has no photo or no mask")
        rgb = np.asarray(photos[view])
        classes = np.asarray(masks[view])
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            plt.close(fig)
            raise BadValueError(
                f"overlay sheet: the {view!r} photo must be (H, W, 3) uint8, "
                f"got {rgb.shape} {rgb.dtype}"
            )
        if classes.ndim != 2:
            plt.close(fig)
            raise BadValueError(
                f"overlay sheet: the {view!r} mask must be 2-D (H, W), got shape {classes.shape}"
            )
        if classes.dtype == np.bool_:
            classes = np.where(classes, 2, 0).astype(np.uint8)
        if classes.shape != rgb.shape[:2]:
            classes = _resize_nearest(classes, rgb.shape[:2])
        ax.imshow(_blend(rgb, classes, alpha))
        label = view if percents is None else f"{view}: {percents[view]:.1f} % hair loss"
        ax.set_title(label, fontsize=10)
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig
