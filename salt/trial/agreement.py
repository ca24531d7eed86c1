"""Agreement between raters (or a model and raters): ICC, Bland-Altman, weighted kappa on bands.

- :func:`icc`: the six intraclass correlations of Shrout & Fleiss (1979) with
  F tests and confidence intervals (McGraw & Wong 1996), from the two-way ANOVA
  mean squares. ``ICC(2,1)`` is two-way random, absolute agreement, single
  rater; ``ICC(3,1)`` is two-way mixed, consistency, single rater.
- :func:`bland_altman`: bias, limits of agreement and their confidence
  intervals (Bland & Altman, Lancet 1986; 1999).
- :func:`band_kappa`: Cohen's weighted kappa on SALT severity bands
  (scikit-learn's :func:`~sklearn.metrics.cohen_kappa_score`).

Implemented with numpy and scipy's F and t distributions rather than a
statistics package: the formulas are short, and the result is tested against the
published worked example of Shrout & Fleiss (6 targets x 4 judges: ICC(1,1) 0.17,
ICC(2,1) 0.29, ICC(3,1) 0.71) and the intervals R's ``psych::ICC`` reports for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from salt.errors import BadValueError
from salt.scoring import severity_band

__all__ = [
    "BAND_ORDER",
    "BlandAltman",
    "agreement_summary",
    "band_kappa",
    "bland_altman",
    "icc",
]

#: Severity bands in order, the categories of :func:`band_kappa` (Olsen 2004).
BAND_ORDER: tuple[str, ...] = ("S0", "S1", "S2", "S3", "S4", "S5")
_BAND_ORDER_SPLIT: tuple[str, ...] = ("S0", "S1", "S2", "S3", "S4a", "S4b", "S5")


def _ratings_matrix(
    ratings: pd.DataFrame | npt.ArrayLike,
    targets: str | None,
    raters: str | None,
    values: str | None,
    nan_policy: str,
) -> npt.NDArray[np.float64]:
    if targets is not None or raters is not None or values is not None:
        if not isinstance(ratings, pd.DataFrame) or None in (targets, raters, values):
            raise BadValueError(
                "a long table needs a DataFrame and all of targets=, raters= and values="
            )
        missing = [c for c in (targets, raters, values) if c not in ratings.columns]
        if missing:
            raise BadValueError(f"ratings table lacks column(s) {missing}")
        if ratings.duplicated([targets, raters]).any():
            raise BadValueError("a rater rates the same target more than once")
        wide = ratings.pivot(index=targets, columns=raters, values=values)
        x = wide.to_numpy(dtype=float)
    else:
        try:
            x = np.asarray(ratings, dtype=float)
        except (TypeError, ValueError):
            raise BadValueError(
                "ratings must be numbers (targets in rows, raters in columns)"
            ) from None
    if x.ndim != 2:
        raise BadValueError(f"ratings must be 2-D (targets x raters), got shape {x.shape}")
    if np.isinf(x).any():
        raise BadValueError("ratings contain an infinite value")
    incomplete = np.isnan(x).any(axis=1)
    if incomplete.any():
        if nan_policy != "omit":
            raise BadValueError(
                f"{int(incomplete.sum())} target(s) lack a rating from some rater; "
                "use nan_policy='omit' to drop them"
            )
        x = x[~incomplete]
    n, k = x.shape
    if n < 2 or k < 2:
        raise BadValueError(f"need at least 2 targets and 2 raters, got {n} x {k}")
    return x


def icc(
    ratings: pd.DataFrame | npt.ArrayLike,
    *,
    targets: str | None = None,
    raters: str | None = None,
    values: str | None = None,
    confidence: float = 0.95,
    nan_policy: Literal["raise", "omit"] = "raise",
) -> pd.DataFrame:
    """Intraclass correlation coefficients with F tests and confidence intervals.

    Parameters
    ----------
    ratings : pandas.DataFrame or array_like, shape (n_targets, n_raters)
        Wide ratings (one row per target, e.g. a visit; one column per rater or
        model), in any unit (SALT points). Or a long table with ``targets``,
        ``raters`` and ``values`` naming its columns.
    targets, raters, values : str, optional
        Column names of a long table.
    confidence : float, default 0.95
        Two-sided confidence level of the intervals.
    nan_policy : {"raise", "omit"}, default "raise"
        Targets missing a rating: raise, or drop them (complete cases).

    Returns
    -------
    pandas.DataFrame
        Index ``ICC(1,1)``, ``ICC(2,1)``, ``ICC(3,1)``, ``ICC(1,k)``,
        ``ICC(2,k)``, ``ICC(3,k)``; columns ``description``, ``icc``, ``F``,
        ``df1``, ``df2``, ``p`` (test of ICC = 0), ``ci_low``, ``ci_high``.
        The ``n_targets`` and ``n_raters`` are in ``.attrs``.

    Raises
    ------
    BadValueError
        If fewer than 2 targets or raters, non-numeric ratings, or missing ratings
        with ``nan_policy="raise"``.

    Notes
    -----
    With ``n`` targets, ``k`` raters and the mean squares of targets (MSR),
    raters (MSC), residual (MSE) and within targets (MSW):
    ICC(1,1) = (MSR - MSW) / (MSR + (k-1) MSW),
    ICC(2,1) = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n),
    ICC(3,1) = (MSR - MSE) / (MSR + (k-1) MSE) (Shrout & Fleiss 1979, table 2).
    Intervals: exact F intervals for ICC(1) and ICC(3); for ICC(2) the
    Satterthwaite approximation of McGraw & Wong (1996, table 7).

    Examples
    --------
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> icc(sf)["icc"].round(2).tolist()
    [0.17, 0.29, 0.71, 0.44, 0.62, 0.91]
    """
    if not 0.0 < confidence < 1.0:
        raise BadValueError(f"confidence must be in (0, 1), got {confidence!r}")
    x = _ratings_matrix(ratings, targets, raters, values, nan_policy)
    n, k = x.shape
    grand = x.mean()
    ss_total = float(((x - grand) ** 2).sum())
    ss_rows = float(k * ((x.mean(axis=1) - grand) ** 2).sum())
    ss_cols = float(n * ((x.mean(axis=0) - grand) ** 2).sum())
    ss_err = ss_total - ss_rows - ss_cols
    # numpy scalars: a zero mean square gives inf/nan (perfect agreement), not an exception
    ms_r = np.float64(ss_rows / (n - 1))
    ms_c = np.float64(ss_cols / (k - 1))
    ms_e = np.float64(max(ss_err, 0.0) / ((n - 1) * (k - 1)))
    ms_w = np.float64(max(ss_total - ss_rows, 0.0) / (n * (k - 1)))
    alpha = 1.0 - confidence
    q = 1.0 - alpha / 2.0

    def f_bounds(f: float, df1: float, df2: float) -> tuple[float, float]:
        return f / stats.f.ppf(q, df1, df2), f * stats.f.ppf(q, df2, df1)

    with np.errstate(divide="ignore", invalid="ignore"):
        icc1 = (ms_r - ms_w) / (ms_r + (k - 1) * ms_w)
        icc2 = (ms_r - ms_e) / (ms_r + (k - 1) * ms_e + k * (ms_c - ms_e) / n)
        icc3 = (ms_r - ms_e) / (ms_r + (k - 1) * ms_e)
        icc1k = (ms_r - ms_w) / ms_r
        icc2k = (ms_r - ms_e) / (ms_r + (ms_c - ms_e) / n)
        icc3k = (ms_r - ms_e) / ms_r

        df1_w, df2_w = n - 1, n * (k - 1)
        df1_e, df2_e = n - 1, (n - 1) * (k - 1)
        f1 = ms_r / ms_w
        f3 = ms_r / ms_e
        fl1, fu1 = f_bounds(f1, df1_w, df2_w)
        fl3, fu3 = f_bounds(f3, df1_e, df2_e)
        ci1 = ((fl1 - 1) / (fl1 + k - 1), (fu1 - 1) / (fu1 + k - 1))
        ci3 = ((fl3 - 1) / (fl3 + k - 1), (fu3 - 1) / (fu3 + k - 1))
        ci1k = (1 - 1 / fl1, 1 - 1 / fu1)
        ci3k = (1 - 1 / fl3, 1 - 1 / fu3)
        ci2 = _icc2_interval(icc2, ms_r, ms_c, ms_e, n, k, q)
        ci2k = tuple(r * k / (1 + r * (k - 1)) for r in ci2)

    p1 = float(stats.f.sf(f1, df1_w, df2_w))
    p3 = float(stats.f.sf(f3, df1_e, df2_e))
    rows = [
        ("ICC(1,1)", "one-way random, single rater", icc1, f1, df1_w, df2_w, p1, ci1),
        ("ICC(2,1)", "two-way random, absolute agreement, single", icc2, f3, df1_e, df2_e, p3, ci2),
        ("ICC(3,1)", "two-way mixed, consistency, single", icc3, f3, df1_e, df2_e, p3, ci3),
        ("ICC(1,k)", "one-way random, mean of k raters", icc1k, f1, df1_w, df2_w, p1, ci1k),
        ("ICC(2,k)", "two-way random, absolute agreement, mean", icc2k, f3, df1_e, df2_e, p3, ci2k),
        ("ICC(3,k)", "two-way mixed, consistency, mean of k", icc3k, f3, df1_e, df2_e, p3, ci3k),
    ]
    out = _icc_table(rows)
    out.attrs.update(n_targets=n, n_raters=k, confidence=confidence)
    return out


def _icc2_interval(
    icc2: Any, ms_r: Any, ms_c: Any, ms_e: Any, n: int, k: int, q: float
) -> tuple[Any, Any]:
    """Confidence interval of ICC(2,1) with Satterthwaite degrees of freedom.

    McGraw & Wong 1996, table 7, case 2A.
    """
    a = k * icc2 / (n * (1 - icc2))
    b = 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
    v = (a * ms_c + b * ms_e) ** 2 / (
        (a * ms_c) ** 2 / (k - 1) + (b * ms_e) ** 2 / ((n - 1) * (k - 1))
    )
    f_star = stats.f.ppf(q, n - 1, v)
    f_star2 = stats.f.ppf(q, v, n - 1)
    c = k * ms_c + (k * n - k - n) * ms_e
    return (
        n * (ms_r - f_star * ms_e) / (f_star * c + n * ms_r),
        n * (f_star2 * ms_r - ms_e) / (c + n * f_star2 * ms_r),
    )


def _icc_table(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """One row per ICC form, indexed by its name."""
    return pd.DataFrame(
        [
            {
                "type": name,
                "description": desc,
                "icc": float(value),
                "F": float(f),
                "df1": float(d1),
                "df2": float(d2),
                "p": p,
                "ci_low": float(ci[0]),
                "ci_high": float(ci[1]),
            }
            for name, desc, value, f, d1, d2, p, ci in rows
        ]
    ).set_index("type")


@dataclass(frozen=True)
class BlandAltman:
    """Bland-Altman agreement of two methods, in the unit of the inputs (SALT points).

    Attributes
    ----------
    n : int
        Number of pairs.
    bias : float
        Mean difference ``a - b``.
    sd : float
        Standard deviation of the differences (ddof = 1).
    loa_low, loa_high : float
        Limits of agreement, ``bias -/+ limits * sd``.
    bias_ci : tuple of float
        Confidence interval of the bias (t distribution, n - 1 df).
    loa_low_ci, loa_high_ci : tuple of float
        Confidence intervals of the limits, with standard error
        ``sqrt(3 sd^2 / n)`` (Bland & Altman 1986).
    limits : float
        Multiple of ``sd`` used for the limits (1.96 for 95 %).
    """

    n: int
    bias: float
    sd: float
    loa_low: float
    loa_high: float
    bias_ci: tuple[float, float]
    loa_low_ci: tuple[float, float]
    loa_high_ci: tuple[float, float]
    limits: float

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict."""
        return asdict(self)


def _paired(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=float).ravel()
    y = np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise BadValueError(
            f"the two methods have different numbers of values: {x.size} vs {y.size}"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise BadValueError("values must be finite numbers (drop missing pairs first)")
    return x, y


def bland_altman(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    limits: float = 1.96,
    confidence: float = 0.95,
) -> BlandAltman:
    """Bias and limits of agreement between two measurements of the same targets.

    Parameters
    ----------
    a, b : array_like of float, shape (n,)
        Paired measurements (e.g. model and rater SALT, in points), ``n >= 2``.
    limits : float, default 1.96
        Limits of agreement at ``bias -/+ limits * sd``.
    confidence : float, default 0.95
        Level of the confidence intervals of the bias and the limits.

    Returns
    -------
    BlandAltman
        Bias (mean of ``a - b``), SD of the differences, limits and their
        confidence intervals.

    Examples
    --------
    >>> r = bland_altman([1, 2, 3, 4], [0, 2, 2, 5])
    >>> round(r.bias, 4), round(r.loa_low, 4), round(r.loa_high, 4)
    (0.25, -1.6266, 2.1266)
    """
    x, y = _paired(a, b)
    if x.size < 2:
        raise BadValueError("Bland-Altman needs at least 2 pairs")
    d = x - y
    n = int(d.size)
    bias = float(d.mean())
    sd = float(d.std(ddof=1))
    t = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
    se_bias = sd / math.sqrt(n)
    se_loa = math.sqrt(3.0 * sd * sd / n)
    low, high = bias - limits * sd, bias + limits * sd
    return BlandAltman(
        n=n,
        bias=bias,
        sd=sd,
        loa_low=low,
        loa_high=high,
        bias_ci=(bias - t * se_bias, bias + t * se_bias),
        loa_low_ci=(low - t * se_loa, low + t * se_loa),
        loa_high_ci=(high - t * se_loa, high + t * se_loa),
        limits=limits,
    )


def band_kappa(
    a: Sequence[float] | npt.ArrayLike,
    b: Sequence[float] | npt.ArrayLike,
    *,
    weights: Literal["linear", "quadratic"] | None = "quadratic",
    split_s4: bool = False,
) -> float:
    """Cohen's weighted kappa between two raters' SALT severity bands.

    Parameters
    ----------
    a, b : array_like of float, shape (n,)
        SALT scores (0-100) of the same targets by two raters (or model and
        rater); each is mapped to its band with :func:`salt.severity_band`.
    weights : {"linear", "quadratic", None}, default "quadratic"
        Disagreement weights between ordered bands (``None``: unweighted kappa).
    split_s4 : bool, default False
        Use the bands S4a/S4b instead of S4 (seven categories).

    Returns
    -------
    float
        Kappa in [-1, 1]; 1 is perfect agreement on bands.

    Examples
    --------
    >>> round(band_kappa([0, 10, 30, 60], [0, 10, 55, 60], weights="linear"), 4)
    0.8182
    """
    from sklearn.metrics import cohen_kappa_score

    x, y = _paired(a, b)
    order = _BAND_ORDER_SPLIT if split_s4 else BAND_ORDER
    code = {band: i for i, band in enumerate(order)}
    ca = [code[severity_band(v, split_s4=split_s4)] for v in x]
    cb = [code[severity_band(v, split_s4=split_s4)] for v in y]
    if len(set(ca) | set(cb)) < 2:
        raise BadValueError("kappa is undefined when every score falls in one band")
    return float(cohen_kappa_score(ca, cb, labels=list(range(len(order))), weights=weights))


def agreement_summary(
    a: npt.ArrayLike, b: npt.ArrayLike, *, confidence: float = 0.95
) -> dict[str, float]:
    """ICC(2,1), ICC(3,1), Bland-Altman and band kappa of two paired score vectors.

    Parameters
    ----------
    a, b : array_like of float, shape (n,)
        Paired SALT scores (e.g. model and rater), in points.
    confidence : float, default 0.95
        Level of the intervals.

    Returns
    -------
    dict of str to float
        ``n``, ``icc21``, ``icc21_low``, ``icc21_high``, ``icc31``, ``icc31_low``,
        ``icc31_high``, ``bias``, ``loa_low``, ``loa_high``, ``mae`` (mean absolute
        difference, points) and ``kappa_quadratic`` (bands).
    """
    x, y = _paired(a, b)
    table = icc(np.column_stack([x, y]), confidence=confidence)
    ba = bland_altman(x, y, confidence=confidence)
    try:
        kappa = band_kappa(x, y)
    except BadValueError:
        kappa = math.nan
    return {
        "n": float(x.size),
        "icc21": float(table.loc["ICC(2,1)", "icc"]),
        "icc21_low": float(table.loc["ICC(2,1)", "ci_low"]),
        "icc21_high": float(table.loc["ICC(2,1)", "ci_high"]),
        "icc31": float(table.loc["ICC(3,1)", "icc"]),
        "icc31_low": float(table.loc["ICC(3,1)", "ci_low"]),
        "icc31_high": float(table.loc["ICC(3,1)", "ci_high"]),
        "bias": ba.bias,
        "loa_low": ba.loa_low,
        "loa_high": ba.loa_high,
        "mae": float(np.abs(x - y).mean()),
        "kappa_quadratic": kappa,
    }
