"""Longitudinal trial analysis of SALT: responders, response rates, time to response.

Pandas in, pandas out. The input is a long table of visits, one row per
attended visit (columns ``subject``, ``week``, ``salt`` by default; names are
options), as for :func:`salt.endpoints.endpoints`, which computes the per-visit
change from baseline and the endpoint flags used here.

Missing visits
--------------
A scheduled visit that has no row (or a NaN score) is *missing*. Nothing is
filled in silently: every function that looks at a given week takes a
``missing`` policy, one of :data:`MISSING_POLICIES`:

``"observed"``
    Observed cases: subjects without a score at the week are left out of the
    numerator and the denominator.
``"locf"``
    Last observation carried forward: a missing week takes the subject's last
    scored visit at or before it (the baseline included). Subjects with no
    earlier visit are left out.
``"nri"``
    Non-responder imputation: a subject without a score at the week counts as a
    non-responder; the denominator is every subject in the table.

A response that is undefined although the visit was scored (a relative
endpoint when the baseline SALT is 0 or the baseline visit is missing) is
treated like a missing visit under the same policy. Tables returned per subject
say where each value came from in a ``status`` column: ``"observed"``,
``"carried"`` (LOCF, with the visit it came from in ``source_week``),
``"imputed"`` (NRI) or ``"missing"``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from salt.errors import BadValueError
from salt.trial.endpoints import RESPONSE_ENDPOINTS, endpoints

__all__ = [
    "MISSING_POLICIES",
    "change_from_baseline",
    "durable_response",
    "responders",
    "response_rates",
    "time_to_response",
    "wilson_interval",
]

logger = logging.getLogger(__name__)

MissingPolicy = Literal["observed", "locf", "nri"]

#: Named ways to handle a missing visit (see the module documentation).
MISSING_POLICIES: tuple[str, ...] = ("observed", "locf", "nri")


def wilson_interval(
    successes: npt.ArrayLike, n: npt.ArrayLike, *, confidence: float = 0.95
) -> tuple[Any, Any]:
    """Wilson score confidence interval for a proportion.

    Parameters
    ----------
    successes : int or array_like of int
        Number of responders, ``0 <= successes <= n``.
    n : int or array_like of int
        Number of subjects (broadcast against ``successes``).
    confidence : float, default 0.95
        Two-sided confidence level, in (0, 1).

    Returns
    -------
    low, high : float or numpy.ndarray of float64
        Bounds of the interval for the proportion (0-1, not percent); NaN where
        ``n`` is 0.

    Notes
    -----
    Computed by :meth:`scipy.stats.BinomTestResult.proportion_ci` with
    ``method="wilson"``: with ``p = successes / n`` and ``z`` the
    ``(1 + confidence) / 2`` normal quantile, ``(p + z^2/2n -/+ z sqrt(p(1-p)/n +
    z^2/4n^2)) / (1 + z^2/n)`` (Wilson 1927; Newcombe, Stat Med 1998;17:857,
    method 3).

    Examples
    --------
    >>> low, high = wilson_interval(0, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.0, 0.2775)
    """
    if not 0.0 < confidence < 1.0:
        raise BadValueError(f"confidence must be in (0, 1), got {confidence!r}")
    k, m = np.broadcast_arrays(np.asarray(successes, dtype=float), np.asarray(n, dtype=float))
    if np.any(k < 0) or np.any(k > m) or np.any(m < 0) or np.any(k != np.round(k)):
        raise BadValueError(
            f"need whole numbers 0 <= successes <= n, got successes={successes!r}, n={n!r}"
        )
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    for idx in np.ndindex(k.shape):
        if m[idx] > 0:
            ci = stats.binomtest(int(k[idx]), int(m[idx])).proportion_ci(
                confidence_level=confidence, method="wilson"
            )
            low[idx], high[idx] = ci.low, ci.high
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def _check_policy(missing: str) -> None:
    if missing not in MISSING_POLICIES:
        raise BadValueError(
            f"missing must be one of {list(MISSING_POLICIES)} (observed cases, last observation "
            f"carried forward, non-responder imputation), got {missing!r}"
        )


def _check_endpoint(endpoint: str) -> None:
    if endpoint not in RESPONSE_ENDPOINTS:
        raise BadValueError(
            f"unknown endpoint {endpoint!r}; expected one of {list(RESPONSE_ENDPOINTS)}"
        )


def change_from_baseline(
    df: pd.DataFrame,
    *,
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
    baseline: Any = None,
) -> pd.DataFrame:
    """Per-visit change from baseline in SALT points and percent.

    Parameters
    ----------
    df : pandas.DataFrame
        Long table of visits (see module documentation).
    subject, time, score : str
        Column names.
    baseline : scalar, mapping or None, default None
        Baseline visit, as in :func:`salt.endpoints.endpoints` (default: each
        subject's first visit).

    Returns
    -------
    pandas.DataFrame
        Columns ``subject``, ``time``, ``score``, ``baseline_salt``, ``change``
        (points, negative = improvement) and ``pct_change`` (percent of baseline,
        NaN when the baseline is 0 or missing), sorted by subject and time.
    """
    out = endpoints(df, subject=subject, time=time, score=score, baseline=baseline)
    cols = [subject, time, score, "baseline_salt", "change", "pct_change"]
    return out[cols].sort_values([subject, time], kind="stable").reset_index(drop=True)


def _scored(
    df: pd.DataFrame, subject: str, time: str, score: str, baseline: Any, reference: Any = None
) -> pd.DataFrame:
    """Endpoint table of the scored visits only, sorted by time."""
    ep = endpoints(
        df, subject=subject, time=time, score=score, baseline=baseline, reference=reference
    )
    ep = ep[ep[score].notna()]
    return ep.sort_values([time, subject], kind="stable").reset_index(drop=True)


def visit_at_week(
    ep: pd.DataFrame,
    subjects: Sequence[Any],
    week: float,
    *,
    subject: str,
    time: str,
    missing: str,
) -> pd.DataFrame:
    """One row per subject: the visit used for ``week`` under the missing-data policy.

    ``ep`` holds one row per subject and time (later rows of a subject and time are
    the ones kept by callers). With ``missing="locf"`` the last visit at or before
    ``week`` is used, otherwise only a visit at ``week``. Returns the grid of
    ``subjects`` with that visit's columns, its time in ``_source`` and ``_status``
    (``observed``, ``carried`` or ``missing``). Shared by SALT and the site scores
    (:mod:`salt.trial.sites`), so both follow the same rule.
    """
    grid = pd.DataFrame({subject: list(subjects)})
    right = ep.rename(columns={time: "_source"})
    right["_source"] = right["_source"].astype(float)
    if missing == "locf":
        grid["_week"] = float(week)
        used = pd.merge_asof(
            grid.sort_values("_week"),
            right.sort_values("_source"),
            left_on="_week",
            right_on="_source",
            by=subject,
            direction="backward",
        )
        used = grid[[subject]].merge(used, on=subject, how="left")
    else:
        used = grid.merge(right[right["_source"] == float(week)], on=subject, how="left")
    source = used["_source"]
    used["_status"] = np.where(
        source.isna(), "missing", np.where(source == float(week), "observed", "carried")
    )
    return used


def responders(
    df: pd.DataFrame,
    week: float,
    *,
    endpoint: str = "salt_le_20",
    missing: MissingPolicy = "observed",
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
    baseline: Any = None,
) -> pd.DataFrame:
    """Which subjects respond at a given week.

    Parameters
    ----------
    df : pandas.DataFrame
        Long table of visits.
    week : float
        The week (value of the ``time`` column) at which response is assessed.
    endpoint : str, default "salt_le_20"
        One of ``salt_le_20``, ``salt_le_10``, ``salt50``, ``salt75``, ``salt90``,
        ``salt100`` (see :mod:`salt.trial.endpoints`).
    missing : {"observed", "locf", "nri"}, default "observed"
        Missing-visit policy (module documentation).
    subject, time, score : str
        Column names.
    baseline : scalar, mapping or None
        Baseline visit, as in :func:`salt.endpoints.endpoints`.

    Returns
    -------
    pandas.DataFrame
        One row per subject of the table, in order of first appearance:
        ``subject``, ``week``, ``source_week`` (the visit the value comes from),
        ``status`` (``observed``, ``carried``, ``imputed`` or ``missing``),
        ``salt``, ``pct_change`` and ``responder`` (nullable boolean; ``<NA>``
        means left out of the rate).
    """
    _check_policy(missing)
    _check_endpoint(endpoint)
    ep = _scored(df, subject, time, score, baseline)
    subjects = list(pd.unique(df[subject]))
    used = visit_at_week(ep, subjects, week, subject=subject, time=time, missing=missing)
    flag = used[endpoint].astype("boolean")
    status = used["_status"].copy()
    undefined = flag.isna() & (status != "missing")
    if undefined.any():
        logger.info(
            "%s undefined at week %g for %d subject(s) (baseline 0 or missing); treated as missing",
            endpoint,
            week,
            int(undefined.sum()),
        )
    if missing == "nri":
        imputed = flag.isna()
        status[imputed] = "imputed"
        flag = flag.fillna(False)
    out = pd.DataFrame(
        {
            subject: used[subject],
            "week": float(week),
            "source_week": used["_source"],
            "status": status,
            "salt": used[score].astype(float),
            "pct_change": used["pct_change"].astype(float),
            "responder": flag,
        }
    )
    return out.reset_index(drop=True)


def response_rates(
    df: pd.DataFrame,
    weeks: float | Iterable[float] | None = None,
    *,
    endpoint: str | Iterable[str] = "salt_le_20",
    missing: MissingPolicy = "observed",
    confidence: float = 0.95,
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
    baseline: Any = None,
) -> pd.DataFrame:
    """Responder rates with Wilson confidence intervals, by week and endpoint.

    Parameters
    ----------
    df : pandas.DataFrame
        Long table of visits.
    weeks : float, iterable of float or None, default None
        Weeks to assess; ``None``: every distinct value of ``time`` in the table.
    endpoint : str or iterable of str, default "salt_le_20"
        Endpoint name(s), see :func:`responders`.
    missing : {"observed", "locf", "nri"}, default "observed"
        Missing-visit policy.
    confidence : float, default 0.95
        Confidence level of the Wilson interval.
    subject, time, score : str
        Column names.
    baseline : scalar, mapping or None
        Baseline visit, as in :func:`salt.endpoints.endpoints`.

    Returns
    -------
    pandas.DataFrame
        One row per (endpoint, week): ``endpoint``, ``week``, ``n`` (subjects in
        the denominator), ``responders``, ``rate`` (proportion 0-1), ``ci_low``,
        ``ci_high`` (proportions), ``n_missing`` (subjects without a value at the
        week before imputation), ``n_carried`` (LOCF only) and ``missing`` (the
        policy).

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"subject": ["A", "A", "B", "B"], "week": [0, 24, 0, 24],
    ...                   "salt": [80.0, 10.0, 60.0, 55.0]})
    >>> r = response_rates(v, 24)
    >>> int(r["n"].iloc[0]), int(r["responders"].iloc[0]), float(r["rate"].iloc[0])
    (2, 1, 0.5)
    """
    names = [endpoint] if isinstance(endpoint, str) else list(endpoint)
    for name in names:
        _check_endpoint(name)
    _check_policy(missing)
    if weeks is None:
        week_list = sorted(pd.unique(df[time]).tolist())
    elif isinstance(weeks, (int, float, np.number)):
        week_list = [weeks]
    else:
        week_list = list(weeks)
    rows = []
    for name in names:
        for week in week_list:
            per = responders(
                df,
                float(week),
                endpoint=name,
                missing=missing,
                subject=subject,
                time=time,
                score=score,
                baseline=baseline,
            )
            counted = per["responder"].notna()
            n = int(counted.sum())
            k = int(per.loc[counted, "responder"].astype(bool).sum())
            low, high = wilson_interval(k, n, confidence=confidence)
            rows.append(
                {
                    "endpoint": name,
                    "week": float(week),
                    "n": n,
                    "responders": k,
                    "rate": k / n if n else math.nan,
                    "ci_low": low,
                    "ci_high": high,
                    "n_missing": int((per["status"].isin(["missing", "imputed"])).sum()),
                    "n_carried": int((per["status"] == "carried").sum()),
                    "missing": missing,
                }
            )
    return pd.DataFrame(rows)


def time_to_response(
    df: pd.DataFrame,
    *,
    endpoint: str = "salt_le_20",
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
    baseline: Any = None,
) -> pd.DataFrame:
    """Time to first response, with censoring at the last scored visit.

    Only observed visits are used (no imputation: a subject who never responds
    is censored at the last visit with a score).

    Parameters
    ----------
    df : pandas.DataFrame
        Long table of visits.
    endpoint : str, default "salt_le_20"
        Endpoint name, see :func:`responders`.
    subject, time, score : str
        Column names.
    baseline : scalar, mapping or None
        Baseline visit; visits before it are ignored.

    Returns
    -------
    pandas.DataFrame
        One row per subject (order of first appearance): ``subject``,
        ``event`` (bool, responded at some visit after baseline), ``week`` (the
        first week of response, or of censoring when ``event`` is False) and
        ``last_week`` (last scored visit). Baseline visits never count as a
        response.
    """
    _check_endpoint(endpoint)
    ep = _scored(df, subject, time, score, baseline)
    base_time = _baseline_time(df, subject, time, baseline)
    ep = ep[ep[time] > ep[subject].map(base_time)]
    rows = []
    for sid in pd.unique(df[subject]):
        visits = ep[ep[subject] == sid].sort_values(time)
        hits = visits[visits[endpoint].fillna(False).astype(bool)]
        last = float(visits[time].max()) if len(visits) else math.nan
        if len(hits):
            rows.append(
                {subject: sid, "event": True, "week": float(hits[time].iloc[0]), "last_week": last}
            )
        else:
            rows.append({subject: sid, "event": False, "week": last, "last_week": last})
    return pd.DataFrame(rows)


def _baseline_time(df: pd.DataFrame, subject: str, time: str, baseline: Any) -> pd.Series:
    """Baseline time per subject (index: subject)."""
    subjects = pd.unique(df[subject])
    if baseline is None:
        return df.groupby(subject, sort=False)[time].min().astype(float)
    if isinstance(baseline, Mapping):
        return pd.Series({s: float(baseline.get(s, math.nan)) for s in subjects})
    return pd.Series(float(baseline), index=subjects)


def durable_response(
    df: pd.DataFrame,
    weeks: Iterable[float],
    *,
    endpoint: str = "salt_le_20",
    missing: MissingPolicy = "observed",
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
    baseline: Any = None,
) -> pd.DataFrame:
    """Durable response: response at every one of a set of scheduled weeks.

    Parameters
    ----------
    df : pandas.DataFrame
        Long table of visits.
    weeks : iterable of float
        Scheduled weeks over which the response must hold (e.g. ``[24, 36, 52]``).
    endpoint : str, default "salt_le_20"
        Endpoint name, see :func:`responders`.
    missing : {"observed", "locf", "nri"}, default "observed"
        ``"observed"``: durable if the subject responds at every week it was
        scored among ``weeks`` (``<NA>`` if scored at none); ``"locf"``: missing
        weeks carry the last score; ``"nri"``: any missing week makes the subject
        a non-responder.
    subject, time, score : str
        Column names.
    baseline : scalar, mapping or None
        Baseline visit.

    Returns
    -------
    pandas.DataFrame
        One row per subject: ``subject``, ``n_weeks`` (weeks with a value under the
        policy), ``n_responding`` and ``durable`` (nullable boolean).
    """
    week_list = [float(w) for w in weeks]
    if not week_list:
        raise BadValueError("durable_response needs at least one week")
    per = [
        responders(
            df,
            w,
            endpoint=endpoint,
            missing=missing,
            subject=subject,
            time=time,
            score=score,
            baseline=baseline,
        ).set_index(subject)["responder"]
        for w in week_list
    ]
    table = pd.concat(per, axis=1)
    n_weeks = table.notna().sum(axis=1)
    n_resp = table.fillna(False).astype(bool).sum(axis=1)
    durable = pd.Series(n_resp == n_weeks, dtype="boolean")
    durable[n_weeks == 0] = pd.NA
    out = pd.DataFrame(
        {
            subject: table.index,
            "n_weeks": n_weeks.to_numpy(),
            "n_responding": n_resp.to_numpy(),
            "durable": durable.to_numpy(),
        }
    )
    out["durable"] = out["durable"].astype("boolean")
    return out
