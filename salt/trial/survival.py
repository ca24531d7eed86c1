"""Kaplan-Meier curves of time to response, through :mod:`lifelines`.

The estimator and its confidence intervals are lifelines' (``KaplanMeierFitter``,
exponential Greenwood intervals, Kaplan & Meier 1958; Greenwood 1926), not our
own. The input is a table of times and events such as
:func:`salt.trial.response.time_to_response` or
:func:`salt.trial.registry.time_to_response_by_course` return.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salt.errors import BadValueError

__all__ = ["kaplan_meier", "median_time_to_response"]


def kaplan_meier(
    table: pd.DataFrame,
    *,
    by: str | None = "drug",
    duration: str = "weeks",
    event: str = "event",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Cumulative probability of response over time, per group, with confidence intervals.

    Rows whose duration is missing (courses left out, with their reason, by the
    function that made ``table``) are not used.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per subject or course with a ``duration`` and a boolean ``event``
        column (``False`` = censored at that time).
    by : str or None, default "drug"
        Column to group by; ``None`` for one curve.
    duration, event : str
        Column names.
    confidence : float, default 0.95
        Level of the pointwise intervals.

    Returns
    -------
    pandas.DataFrame
        One row per group and event-table time: ``group``, ``time``, ``at_risk``,
        ``events``, ``censored``, ``survival`` (probability of no response yet),
        ``responded`` (``1 - survival``) and ``ci_low`` / ``ci_high`` (the interval
        of ``responded``).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"weeks": [4, 8, 8, 12], "event": [True, False, True, True]})
    >>> km = kaplan_meier(t, by=None)
    >>> km["responded"].round(3).tolist()
    [0.0, 0.25, 0.5, 1.0]
    """
    from lifelines import KaplanMeierFitter

    for column in [duration, event, *([by] if by else [])]:
        if column not in table.columns:
            raise BadValueError(f"table lacks column {column!r}; it has {list(table.columns)}")
    used = table[table[duration].notna()]
    if (used[duration] < 0).any():
        raise BadValueError(f"column {duration!r} has negative times")
    groups: list[tuple[Any, pd.DataFrame]] = (
        list(used.groupby(by, sort=True)) if by else [("all", used)]
    )
    frames = []
    for name, g in groups:
        kmf = KaplanMeierFitter(alpha=1.0 - confidence)
        kmf.fit(g[duration].astype(float), g[event].astype(bool), label="km")
        et = kmf.event_table
        ci = kmf.confidence_interval_survival_function_
        s = kmf.survival_function_["km"].to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "group": name,
                    "time": et.index.to_numpy(dtype=float),
                    "at_risk": et["at_risk"].to_numpy(),
                    "events": et["observed"].to_numpy(),
                    "censored": et["censored"].to_numpy(),
                    "survival": s,
                    "responded": 1.0 - s,
                    "ci_low": 1.0 - ci.iloc[:, 1].to_numpy(),
                    "ci_high": 1.0 - ci.iloc[:, 0].to_numpy(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out[["ci_low", "ci_high"]] = np.clip(out[["ci_low", "ci_high"]].to_numpy(), 0.0, 1.0)
    return out


def median_time_to_response(
    table: pd.DataFrame,
    *,
    by: str | None = "drug",
    duration: str = "weeks",
    event: str = "event",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Median time to response per group, with its confidence interval (lifelines).

    Parameters
    ----------
    table : pandas.DataFrame
        As for :func:`kaplan_meier`.
    by : str or None, default "drug"
        Column to group by; ``None`` for one group.
    duration, event : str
        Column names.
    confidence : float, default 0.95
        Level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group``, ``n``, ``events``, ``median`` (the first time
        the Kaplan-Meier probability of no response is at most 0.5; ``inf`` when
        fewer than half respond) and ``ci_low`` / ``ci_high`` (lifelines'
        ``median_survival_times`` of the pointwise band; ``inf`` when unbounded).
    """
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    used = table[table[duration].notna()]
    groups: list[tuple[Any, pd.DataFrame]] = (
        list(used.groupby(by, sort=True)) if by else [("all", used)]
    )
    rows = []
    for name, g in groups:
        kmf = KaplanMeierFitter(alpha=1.0 - confidence)
        kmf.fit(g[duration].astype(float), g[event].astype(bool), label="km")
        ci = median_survival_times(kmf.confidence_interval_)
        rows.append(
            {
                "group": name,
                "n": len(g),
                "events": int(g[event].astype(bool).sum()),
                "median": float(kmf.median_survival_time_),
                "ci_low": float(ci.iloc[0, 0]),
                "ci_high": float(ci.iloc[0, 1]),
            }
        )
    return pd.DataFrame(rows)
