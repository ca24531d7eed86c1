"""Response by treatment course: a registry's visits read per drug, dose and line.

A registry follows each person through several treatments (see
:mod:`salt.trial.treatments`). Here each **course** of a main drug is analysed
like a small trial of its own:

* its **baseline** is the subject's last scored visit at or before the course
  start, no more than ``baseline_window`` weeks before it;
* response is assessed at a time **on drug** (weeks since the course started),
  at the scored visit nearest to it within ``window`` weeks, while the course
  lasts (visits after its stop or switch belong to the next course);
* time to response is the first visit on the drug with the endpoint met,
  **censored** at the last assessment on the drug when the course stopped, was
  switched or is still going without a response.

The endpoints are those of :mod:`salt.trial.endpoints` (SALT <= 20 and <= 10,
SALT50/75/90/100, BRAVE-AA and ALLEGRO definitions), computed against the
course baseline. Courses that cannot be assessed are listed with the reason,
never dropped silently.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from salt.errors import BadValueError
from salt.scoring import at_most
from salt.trial.endpoints import RESPONSE_ENDPOINTS
from salt.trial.response import wilson_interval
from salt.trial.sites import check_site_scores
from salt.trial.treatments import courses, join_treatments, weeks_between

__all__ = ["check_scores", "course_response", "response_by_treatment", "time_to_response_by_course"]

logger = logging.getLogger(__name__)


def _met(endpoint: str, salt: float, base: float) -> Any:
    """Endpoint met (bool), or ``pd.NA`` when undefined (relative endpoint, baseline 0)."""
    kind, threshold = RESPONSE_ENDPOINTS[endpoint]
    if kind == "absolute":
        return bool(at_most(salt, threshold))
    if not base > 0:
        return pd.NA
    return bool(at_most(100.0 * (salt - base) / base, -threshold))


def check_scores(visits: pd.DataFrame, *, score: str = "salt", subject: str = "subject") -> None:
    """Check that every SALT is a number in [0, 100] (empty allowed).

    Parameters
    ----------
    visits : pandas.DataFrame
        Visit table.
    score, subject : str
        Column names.

    Raises
    ------
    BadValueError
        Naming the subject and row of the first score outside the scale.
    """
    values = pd.to_numeric(visits[score], errors="coerce")
    bad = visits[score].notna() & ~values.between(0.0, 100.0)
    for i in visits.index[bad.to_numpy()]:
        raise BadValueError(
            f"visits row {i}: subject {visits.loc[i, subject]!r}: {score} "
            f"{visits.loc[i, score]} is not a SALT score in [0, 100]"
        )


def _course_visits(
    visits: pd.DataFrame, treatments: pd.DataFrame, subject: str, time: str, score: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Visits with a score, joined to their course; the courses of main drugs."""
    if endpoint_missing := [c for c in (subject, time, score) if c not in visits.columns]:
        raise BadValueError(f"visit table lacks column(s) {endpoint_missing}")
    check_scores(visits, score=score, subject=subject)
    check_site_scores(visits, subject=subject)
    joined = join_treatments(visits, treatments, subject=subject, time=time)
    outside = joined[joined["drug"].isna()]
    if len(outside):
        logger.info(
            "%d visit(s) outside every treatment course are used only as baselines: %s",
            len(outside),
            ", ".join(f"row {i} ({s}, {time} {w})" for i, s, w in
                      zip(outside.index[:8], outside[subject], outside[time], strict=False)),
        )  # fmt: skip
    joined = joined[pd.to_numeric(joined[score], errors="coerce").notna()]
    joined = joined.sort_values([subject, time], kind="stable")
    c = courses(treatments, subject=subject)
    return joined, c[c["line"].notna()].reset_index(drop=True)


def _by_subject(joined: pd.DataFrame, c: pd.DataFrame, subject: str) -> dict[Any, pd.DataFrame]:
    """Scored visits per subject, an empty table for subjects without any."""
    groups = dict(tuple(joined.groupby(subject, sort=False)))
    return {sid: groups.get(sid, joined.iloc[:0]) for sid in pd.unique(c[subject])}


def _baseline(
    scored: dict[Any, pd.DataFrame], course: Any, subject: str, time: str, score: str, window: float
) -> tuple[float, Any]:
    """SALT and time of the course baseline (NaN, None when absent)."""
    mine = scored[course.subject_]
    mine = mine[mine[time] <= course.start]
    if len(mine):
        last = mine.iloc[-1]
        if weeks_between(last[time], course.start) <= window:
            return float(last[score]), last[time]
    return math.nan, None


def course_response(
    visits: pd.DataFrame,
    treatments: pd.DataFrame,
    week_on_drug: float,
    *,
    endpoint: str = "salt_le_20",
    window: float = 4.0,
    baseline_window: float = 4.0,
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
) -> pd.DataFrame:
    """Response of every course of a main drug at a given time on drug.

    Parameters
    ----------
    visits : pandas.DataFrame
        Long table of scored visits.
    treatments : pandas.DataFrame
        Treatments table (:mod:`salt.trial.treatments`).
    week_on_drug : float
        Weeks since the course started at which response is assessed (e.g. 24).
    endpoint : str, default "salt_le_20"
        One of :data:`salt.trial.endpoints.RESPONSE_ENDPOINTS`.
    window : float, default 4
        A visit counts for ``week_on_drug`` if within this many weeks of it.
    baseline_window : float, default 4
        The baseline visit may be at most this many weeks before the course start.
    subject, time, score : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        One row per course: ``subject``, ``course``, ``drug``, ``line``,
        ``dose`` (at the assessment), ``baseline_salt``, ``salt``, ``assessed_at``
        (time on drug of the visit used), ``responder`` (nullable boolean) and
        ``status``: ``assessed``, or why not: ``no baseline``, ``stopped before``
        (the course ended before the assessment window: censored),
        ``no visit`` (no scored visit in the window), ``undefined`` (relative
        endpoint with a baseline of 0).
    """
    if endpoint not in RESPONSE_ENDPOINTS:
        raise BadValueError(
            f"unknown endpoint {endpoint!r}; expected one of {list(RESPONSE_ENDPOINTS)}"
        )
    rows = _assessments(
        visits, treatments, week_on_drug, window, baseline_window, subject, time, score
    )
    return _with_endpoint(rows, endpoint)


def _with_endpoint(rows: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """Add ``responder`` and the final ``status`` for one endpoint to the course assessments."""
    out = rows.copy()
    met = [
        _met(endpoint, s, b) if st == "assessed" else pd.NA
        for s, b, st in zip(out["salt"], out["baseline_salt"], out["status"], strict=True)
    ]
    out["responder"] = pd.array(met, dtype="boolean")
    out.loc[(out["status"] == "assessed") & out["responder"].isna(), "status"] = "undefined"
    return out


def _assessments(
    visits: pd.DataFrame,
    treatments: pd.DataFrame,
    week_on_drug: float,
    window: float,
    baseline_window: float,
    subject: str,
    time: str,
    score: str,
) -> pd.DataFrame:
    """One row per course: its baseline and the visit used for ``week_on_drug`` (or why none)."""
    joined, c = _course_visits(visits, treatments, subject, time, score)
    scored = _by_subject(joined, c, subject)
    rows = []
    for course in c.rename(columns={subject: "subject_"}).itertuples():
        base, _ = _baseline(scored, course, subject, time, score, baseline_window)
        on = scored[course.subject_]
        on = on[on["course"] == course.course]
        near = on[(on["time_on_drug"] - week_on_drug).abs() <= window]
        row: dict[str, Any] = {
            subject: course.subject_,
            "course": course.course,
            "drug": course.drug,
            "line": course.line,
            "dose": math.nan,
            "baseline_salt": base,
            "salt": math.nan,
            "assessed_at": math.nan,
        }
        length = weeks_between(course.start, course.stop) if pd.notna(course.stop) else math.inf
        if math.isnan(base):
            row["status"] = "no baseline"
        elif len(near):
            visit = near.loc[(near["time_on_drug"] - week_on_drug).abs().idxmin()]
            row |= {
                "dose": visit["dose"],
                "salt": float(visit[score]),
                "assessed_at": float(visit["time_on_drug"]),
                "status": "assessed",
            }
        elif length < week_on_drug - window:
            row["status"] = "stopped before"
        else:
            row["status"] = "no visit"
        rows.append(row)
    out = pd.DataFrame(rows)
    out["line"] = out["line"].astype("Int64")
    return out


def response_by_treatment(
    visits: pd.DataFrame,
    treatments: pd.DataFrame,
    week_on_drug: float,
    *,
    endpoint: str | Iterable[str] = "salt_le_20",
    by: Iterable[str] = ("drug", "line"),
    missing: Literal["observed", "nri"] = "observed",
    confidence: float = 0.95,
    window: float = 4.0,
    baseline_window: float = 4.0,
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
) -> pd.DataFrame:
    """Responder rates with Wilson intervals per drug and line at a time on drug.

    Parameters
    ----------
    visits, treatments : pandas.DataFrame
        As for :func:`course_response`.
    week_on_drug : float
        Weeks on drug at which response is assessed.
    endpoint : str or iterable of str, default "salt_le_20"
        Endpoint name(s).
    by : iterable of str, default ("drug", "line")
        Columns of :func:`course_response` to group by (``dose`` is possible).
    missing : {"observed", "nri"}, default "observed"
        ``"observed"``: courses not assessed are left out (and counted in
        ``n_excluded``); ``"nri"``: courses that stopped before the assessment or
        have no visit count as non-responders (courses without a baseline are
        always left out: there is nothing to respond from).
    confidence : float, default 0.95
        Level of the Wilson interval (:func:`salt.trial.response.wilson_interval`).
    window, baseline_window : float, default 4
        As for :func:`course_response`.
    subject, time, score : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        One row per endpoint and group: ``endpoint``, the ``by`` columns,
        ``week_on_drug``, ``n``, ``responders``, ``rate``, ``ci_low``, ``ci_high``,
        ``n_excluded`` and ``missing``.
    """
    if missing not in ("observed", "nri"):
        raise BadValueError(f"missing must be 'observed' or 'nri', got {missing!r}")
    names = [endpoint] if isinstance(endpoint, str) else list(endpoint)
    keys = list(by)
    rows = []
    for name in names:
        if name not in RESPONSE_ENDPOINTS:
            raise BadValueError(
                f"unknown endpoint {name!r}; expected one of {list(RESPONSE_ENDPOINTS)}"
            )
    assessed = _assessments(
        visits, treatments, week_on_drug, window, baseline_window, subject, time, score
    )
    for name in names:
        per = _with_endpoint(assessed, name)
        if missing == "nri":
            fill = per["status"].isin(["stopped before", "no visit"])
            per.loc[fill, "responder"] = False
        for group, g in per.groupby(keys, sort=True, dropna=False):
            counted = g["responder"].notna()
            n = int(counted.sum())
            k = int(g.loc[counted, "responder"].astype(bool).sum())
            low, high = wilson_interval(k, n, confidence=confidence)
            values = group if isinstance(group, tuple) else (group,)
            rows.append(
                {"endpoint": name}
                | dict(zip(keys, values, strict=True))
                | {
                    "week_on_drug": float(week_on_drug),
                    "n": n,
                    "responders": k,
                    "rate": k / n if n else math.nan,
                    "ci_low": low,
                    "ci_high": high,
                    "n_excluded": int((~counted).sum()),
                    "missing": missing,
                }
            )
    return pd.DataFrame(rows)


def time_to_response_by_course(
    visits: pd.DataFrame,
    treatments: pd.DataFrame,
    *,
    endpoint: str = "salt_le_20",
    baseline_window: float = 4.0,
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
) -> pd.DataFrame:
    """Weeks on drug to the first response, censored at stop, switch or last visit.

    Parameters
    ----------
    visits, treatments : pandas.DataFrame
        As for :func:`course_response`.
    endpoint : str, default "salt_le_20"
        Endpoint name.
    baseline_window : float, default 4
        Longest gap in weeks between the baseline visit and the course start.
    subject, time, score : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        One row per course of a main drug: ``subject``, ``course``, ``drug``,
        ``line``, ``event`` (bool: responded on the drug), ``weeks`` (time on drug to
        the response, or to the last assessment on the drug when censored),
        ``censored_by`` (``stop``, ``switch``, ``ongoing`` or empty for events)
        and ``status`` (``ok``, or ``no baseline`` / ``no visit on drug`` for
        courses left out of survival analyses: ``weeks`` is NaN there).
    """
    if endpoint not in RESPONSE_ENDPOINTS:
        raise BadValueError(
            f"unknown endpoint {endpoint!r}; expected one of {list(RESPONSE_ENDPOINTS)}"
        )
    joined, c = _course_visits(visits, treatments, subject, time, score)
    scored = _by_subject(joined, c, subject)
    switched = _switched(c, subject)
    rows = []
    for course in c.rename(columns={subject: "subject_"}).itertuples():
        base, _ = _baseline(scored, course, subject, time, score, baseline_window)
        on = scored[course.subject_]
        on = on[(on["course"] == course.course) & (on["time_on_drug"] > 0)]
        row: dict[str, Any] = {
            subject: course.subject_,
            "course": course.course,
            "drug": course.drug,
            "line": course.line,
            "event": False,
            "weeks": math.nan,
            "censored_by": None,
            "status": "ok",
        }
        if math.isnan(base):
            row["status"] = "no baseline"
        elif not len(on):
            row["status"] = "no visit on drug"
        else:
            met = np.array([_met(endpoint, float(s), base) is True for s in on[score]])
            if met.any():
                row |= {"event": True, "weeks": float(on["time_on_drug"].to_numpy()[met][0])}
            else:
                ended = pd.notna(course.stop)
                by = "switch" if (course.subject_, course.course) in switched else "stop"
                row |= {
                    "weeks": float(on["time_on_drug"].iloc[-1]),
                    "censored_by": by if ended else "ongoing",
                }
        rows.append(row)
    out = pd.DataFrame(rows)
    out["line"] = out["line"].astype("Int64")
    return out


def _switched(c: pd.DataFrame, subject: str) -> set[tuple[Any, int]]:
    """(subject, course) of main-drug courses followed by another main drug."""
    s = c.sort_values([subject, "start"], kind="stable")
    nxt_subject, nxt_start = s[subject].shift(-1), s["start"].shift(-1)
    hit = (nxt_subject == s[subject]) & s["stop"].notna() & (s["stop"] <= nxt_start)
    return set(zip(s.loc[hit, subject], s.loc[hit, "course"].astype(int), strict=True))
