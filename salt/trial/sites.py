"""Eyebrows, eyelashes, body hair and nails: clinician-rated 0-3 scores and responders.

Optional columns of a visit table, each a clinician-reported outcome on a 0-3
scale where higher is worse:

==============  ===============================================================
column          scale (0 = normal, 3 = worst)
==============  ===============================================================
``eyebrows``    ClinRO Measure for Eyebrow Hair Loss: 0 full eyebrows on both
                sides ... 3 no notable eyebrows (Wyrwich et al., Am J Clin
                Dermatol 2020;21:725-732)
``eyelashes``   ClinRO Measure for Eyelash Hair Loss: 0 full eyelashes ... 3 no
                notable eyelashes (same source)
``nails``       ClinRO Measure for Nail Appearance: 0 normal ... 3 severe nail
                involvement (same source)
``body_hair``   a 0-3 body-hair loss score of the registry (no published
                responder definition; the rule below is applied by analogy)
==============  ===============================================================

Responder rule (:func:`site_responders`): a score of 0 or 1 **and** an
improvement of at least 2 points from baseline, among subjects whose baseline
score is 2 or more. This is the eyebrow and eyelash endpoint of BRAVE-AA1 and
BRAVE-AA2 (King et al., N Engl J Med 2022;386:1687-1699, key secondary
endpoints) and of ALLEGRO phase 2b/3 (King et al., Lancet 2023;401:1518-1529).
Subjects with a baseline below 2 are not in the denominator (``status``
``"not eligible"``). Missing visits follow the SALT policies of
:mod:`salt.trial.response` (``observed``, ``locf``, ``nri``).
"""

from __future__ import annotations

import math
import numbers
import types
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from salt.errors import BadValueError
from salt.trial.response import MissingPolicy, visit_at_week, wilson_interval

__all__ = ["SITES", "check_site_scores", "site_responders", "site_response_rates"]

#: Optional 0-3 site columns and the top of their scale.
SITES: Mapping[str, int] = types.MappingProxyType(
    {"eyebrows": 3, "eyelashes": 3, "body_hair": 3, "nails": 3}
)
#: Responder: score <= RESPONDER_MAX, improved by >= IMPROVEMENT points, baseline >= ELIGIBLE.
RESPONDER_MAX, IMPROVEMENT, ELIGIBLE = 1, 2, 2


def check_site_scores(
    df: pd.DataFrame, *, sites: Iterable[str] | None = None, subject: str = "subject"
) -> list[str]:
    """Check the site columns present and return their names.

    Parameters
    ----------
    df : pandas.DataFrame
        Visit table.
    sites : iterable of str, optional
        Columns to check; default every column of :data:`SITES` present.
    subject : str
        Subject column, for messages.

    Returns
    -------
    list of str
        The site columns checked.

    Raises
    ------
    BadValueError
        Naming the subject and row of a score that is not a whole number on the
        site's 0-3 scale.
    """
    names = [s for s in SITES if s in df.columns] if sites is None else list(sites)
    for name in names:
        if name not in df.columns:
            raise BadValueError(f"visit table has no {name!r} column")
        top = SITES.get(name, 3)
        values = pd.to_numeric(df[name], errors="coerce")
        bad = df[name].notna() & ~(values.isin(range(top + 1)))
        for i in df.index[bad.to_numpy()]:
            raise BadValueError(
                f"visits row {i}: subject {df.loc[i, subject]!r}: {name} is "
                f"{_show(df.loc[i, name])}, outside its 0-{top} scale (whole numbers)"
            )
    return names


def _show(value: Any) -> str:
    """Show a cell as the user typed it: numbers plain, text quoted."""
    return f"{value}" if isinstance(value, numbers.Number) else repr(value)


def site_responders(
    df: pd.DataFrame,
    week: float,
    *,
    site: str = "eyebrows",
    missing: MissingPolicy = "observed",
    subject: str = "subject",
    time: str = "week",
    baseline: Any = None,
) -> pd.DataFrame:
    """Eyebrow, eyelash, body-hair or nail responders at a week (rule in the module doc).

    Parameters
    ----------
    df : pandas.DataFrame
        Visit table with the ``site`` column (0-3, NaN where not rated).
    week : float
        Week of the assessment.
    site : str, default "eyebrows"
        One of :data:`SITES`.
    missing : {"observed", "locf", "nri"}
        Missing-visit policy, as for SALT.
    subject, time : str
        Column names.
    baseline : scalar, mapping or None
        Baseline visit time; ``None``: each subject's first visit with a rating.

    Returns
    -------
    pandas.DataFrame
        One row per subject: ``subject``, ``baseline_score``, ``score``,
        ``source_week``, ``status`` (``observed``, ``carried``, ``imputed``,
        ``missing``, ``no baseline`` or ``not eligible``) and ``responder``
        (nullable boolean, ``<NA>`` outside the denominator).
    """
    if missing not in ("observed", "locf", "nri"):
        raise BadValueError(f"missing must be 'observed', 'locf' or 'nri', got {missing!r}")
    check_site_scores(df, sites=[site], subject=subject)
    rated = df.loc[df[site].notna(), [subject, time, site]].sort_values(time, kind="stable")
    if baseline is None:
        base = rated.groupby(subject, sort=False).head(1)
    else:
        wanted = rated[subject].map(baseline.get) if isinstance(baseline, Mapping) else baseline
        base = rated[rated[time] == wanted]
    base = base.drop_duplicates(subject).set_index(subject)
    later = rated.join(base[[time]].rename(columns={time: "_bt"}), on=subject, how="inner")
    later = later[later[time] > later["_bt"]].drop(columns="_bt")
    # one visit per subject and week (the last one, as listed), chosen by SALT's rule
    later = later.drop_duplicates([subject, time], keep="last")
    subjects = list(pd.unique(df[subject]))
    used = visit_at_week(later, subjects, week, subject=subject, time=time, missing=missing)
    used = used.set_index(subject)
    rows = []
    for sid in subjects:
        base_score = float(base.loc[sid, site]) if sid in base.index else math.nan
        status = str(used.loc[sid, "_status"])
        found = status != "missing"
        score = float(used.loc[sid, site]) if found else math.nan
        source_week = float(used.loc[sid, "_source"]) if found else math.nan
        if math.isnan(base_score):
            status, flag = "no baseline", pd.NA
        elif base_score < ELIGIBLE:
            status, flag = "not eligible", pd.NA
        elif not found:
            flag = False if missing == "nri" else pd.NA
            status = "imputed" if missing == "nri" else "missing"
        else:
            flag = score <= RESPONDER_MAX and base_score - score >= IMPROVEMENT
        rows.append(
            {
                subject: sid,
                "baseline_score": base_score,
                "score": score,
                "source_week": source_week,
                "status": status,
                "responder": flag,
            }
        )
    out = pd.DataFrame(rows)
    out["responder"] = out["responder"].astype("boolean")
    return out


def site_response_rates(
    df: pd.DataFrame,
    weeks: Iterable[float],
    *,
    sites: Iterable[str] | None = None,
    missing: MissingPolicy = "observed",
    confidence: float = 0.95,
    **kwargs: Any,
) -> pd.DataFrame:
    """Site responder rates with Wilson intervals, per site and week.

    Parameters
    ----------
    df : pandas.DataFrame
        Visit table.
    weeks : iterable of float
        Weeks to assess.
    sites : iterable of str, optional
        Site columns; default every column of :data:`SITES` present.
    missing : {"observed", "locf", "nri"}
        Missing-visit policy.
    confidence : float, default 0.95
        Level of the Wilson interval.
    **kwargs
        Passed to :func:`site_responders` (column names, ``baseline``).

    Returns
    -------
    pandas.DataFrame
        One row per (site, week): ``site``, ``week``, ``n`` (subjects with a baseline
        of 2 or more counted under the policy), ``responders``, ``rate``, ``ci_low``,
        ``ci_high``, ``n_not_eligible``, ``n_missing`` and ``missing``.
    """
    names = check_site_scores(df, sites=sites, subject=kwargs.get("subject", "subject"))
    rows = []
    for site in names:
        for week in weeks:
            per = site_responders(df, week, site=site, missing=missing, **kwargs)
            counted = per["responder"].notna()
            n = int(counted.sum())
            k = int(per.loc[counted, "responder"].astype(bool).sum())
            low, high = wilson_interval(k, n, confidence=confidence)
            rows.append(
                {
                    "site": site,
                    "week": float(week),
                    "n": n,
                    "responders": k,
                    "rate": k / n if n else math.nan,
                    "ci_low": low,
                    "ci_high": high,
                    "n_not_eligible": int((per["status"] == "not eligible").sum()),
                    "n_missing": int(per["status"].isin(["missing", "imputed"]).sum()),
                    "missing": missing,
                }
            )
    return pd.DataFrame(rows)
