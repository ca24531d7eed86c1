"""Eligibility: SALT >= 50 at screening, and criteria sets read from data files.

:func:`eligibility` is the trial rule: SALT >= 50 at the screening visit
(severe disease, S3 or worse; BRAVE-AA and ALLEGRO inclusion).

:func:`check_eligibility` applies a **criteria file** (JSON, versioned and
cited) per subject and date and says, for each criterion, ``met``, ``not met``
or ``unknown`` (the data needed is absent), never guessing. The shipped file
``nl-2024-jak`` holds the Dutch reimbursement conditions of 2024 for a JAK
inhibitor in alopecia areata (SALT >= 50; at least one oral systemic treatment
for 6 months; current episode shorter than 8 years). Other rules load from a
file of the same form, without code::

    {"name": "...", "version": "...", "source": "...", "criteria": [
      {"id": "salt_50", "text": "...", "kind": "score", "column": "salt", "op": ">=", "value": 50},
      {"id": "prior", "kind": "prior_treatment", "drugs": ["methotrexate"], "min_months": 6,
       "routes": {"prednisone": ["oral"]}},
      {"id": "episode", "kind": "time_since", "column": "episode_start", "op": "<",
       "value": 8, "unit": "years"},
      {"id": "adult", "kind": "subject_value", "column": "age", "op": ">=", "value": 18}]}

Criterion kinds (:data:`CRITERION_KINDS`): ``score`` (a visit column at the
date: the latest scored visit at or before it, at most ``score_within_weeks``
earlier), ``prior_treatment`` (a course of one of ``drugs`` lasting at least
``min_months`` (or ``min_weeks``) before the date; ``routes`` restricts a drug
to some routes, and a period without a route is ``unknown`` for it),
``time_since`` (time from a subject's date column to the date, in ``weeks``,
``months`` or ``years``) and ``subject_value`` (a column of the subjects table).
"""

from __future__ import annotations

import json
import math
import operator
import os
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import pandas as pd

from salt.errors import BadValueError, InputFileError
from salt.scoring import at_least
from salt.trial.endpoints import ELIGIBILITY_SALT, endpoints
from salt.trial.treatments import (
    WEEKS_PER_MONTH,
    WEEKS_PER_YEAR,
    courses,
    normalise_drug,
    validate_treatments,
    weeks_between,
)

__all__ = [
    "CRITERION_KINDS",
    "builtin_criteria",
    "check_eligibility",
    "eligibility",
    "load_criteria",
]

#: Criterion kinds a criteria file may use.
CRITERION_KINDS: tuple[str, ...] = ("score", "prior_treatment", "time_since", "subject_value")

_OPS: Mapping[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
_UNITS = {"weeks": 1.0, "months": WEEKS_PER_MONTH, "years": WEEKS_PER_YEAR}
MET, NOT_MET, UNKNOWN = "met", "not met", "unknown"


def eligibility(
    df: pd.DataFrame,
    *,
    screening: Any = None,
    threshold: float = ELIGIBILITY_SALT,
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
) -> pd.DataFrame:
    """Eligibility at screening: SALT >= 50 (severe disease).

    Parameters
    ----------
    df : pandas.DataFrame
        Long table of visits.
    screening : scalar, mapping or None, default None
        The screening visit; ``None``: each subject's first visit.
    threshold : float, default 50
        Minimum SALT for eligibility (inclusive).
    subject, time, score : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        One row per subject: ``subject``, ``screening_week``, ``screening_salt``
        and ``eligible`` (nullable boolean, ``<NA>`` without a scored screening
        visit).
    """
    ep = endpoints(df, subject=subject, time=time, score=score, baseline=screening)
    rows = []
    for sid in pd.unique(df[subject]):
        mine = df[df[subject] == sid]
        if screening is None:
            when = float(mine[time].min())
        else:
            when = float(
                screening.get(sid, math.nan) if isinstance(screening, Mapping) else screening
            )
        value = ep.loc[ep[subject] == sid, "baseline_salt"].iloc[0]
        rows.append(
            {
                subject: sid,
                "screening_week": when,
                "screening_salt": float(value),
                "eligible": pd.NA if math.isnan(value) else at_least(float(value), threshold),
            }
        )
    out = pd.DataFrame(rows)
    out["eligible"] = out["eligible"].astype("boolean")
    return out


def builtin_criteria() -> dict[str, str]:
    """Names of the criteria files shipped in ``salt/trial/data`` and their titles.

    Returns
    -------
    dict
        ``{name: title}``.
    """
    out = {}
    for entry in resources.files("salt.trial").joinpath("data").iterdir():
        if entry.name.startswith("eligibility_") and entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            out[data["name"]] = data.get("title", "")
    return out


def load_criteria(criteria: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Read and check a criteria set: a shipped name, a JSON file, or a mapping.

    Parameters
    ----------
    criteria : str, path-like or mapping
        A name of :func:`builtin_criteria` (``"nl-2024-jak"``), a path to a JSON
        file of the form in the module documentation, or that content as a mapping.

    Returns
    -------
    dict
        The criteria set, with ``name``, ``version``, ``source`` and ``criteria``.

    Raises
    ------
    InputFileError
        If the file cannot be read.
    BadValueError
        If a required field is missing or a criterion is malformed (naming it).
    """
    if isinstance(criteria, Mapping):
        data = dict(criteria)
        where = "criteria"
    else:
        text = os.fspath(criteria)
        shipped = {
            e.name: e
            for e in resources.files("salt.trial").joinpath("data").iterdir()
            if e.name.startswith("eligibility_")
        }
        by_name = {json.loads(e.read_text(encoding="utf-8"))["name"]: e for e in shipped.values()}
        try:
            if text in by_name:
                data = json.loads(by_name[text].read_text(encoding="utf-8"))
            else:
                with open(text, encoding="utf-8") as fh:
                    data = json.load(fh)
        except FileNotFoundError:
            raise InputFileError(
                f"{text}: no such criteria file, and not a shipped set ({', '.join(by_name)})"
            ) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise InputFileError(f"{text}: cannot read criteria ({exc})") from None
        where = text
    for key in ("name", "version", "source", "criteria"):
        if key not in data:
            raise BadValueError(
                f"{where}: criteria set lacks {key!r} (every set is named, versioned and cited)"
            )
    seen = set()
    for i, c in enumerate(data["criteria"]):
        cid = c.get("id", f"#{i}")
        if "id" not in c or cid in seen:
            raise BadValueError(f"{where}: criterion {cid}: needs a unique 'id'")
        seen.add(cid)
        if c.get("kind") not in CRITERION_KINDS:
            raise BadValueError(
                f"{where}: criterion {cid}: kind {c.get('kind')!r}, expected one of "
                f"{list(CRITERION_KINDS)}"
            )
        need = {
            "score": ("column", "op", "value"),
            "prior_treatment": ("drugs",),
            "time_since": ("column", "op", "value", "unit"),
            "subject_value": ("column", "op", "value"),
        }[c["kind"]]
        for key in need:
            if key not in c:
                raise BadValueError(f"{where}: criterion {cid}: lacks {key!r}")
        if "op" in c and c["op"] not in _OPS:
            raise BadValueError(f"{where}: criterion {cid}: op {c['op']!r}, expected {list(_OPS)}")
        if c["kind"] == "time_since" and c["unit"] not in _UNITS:
            raise BadValueError(
                f"{where}: criterion {cid}: unit {c['unit']!r}, expected {list(_UNITS)}"
            )
    return data


def _compare(value: float, op: str, limit: float) -> bool:
    """``value op limit`` with the SALT tolerance at the boundary (>= and <= inclusive)."""
    if op in (">=", "<"):
        ok = bool(at_least(value, limit))
        return ok if op == ">=" else not ok
    if op in ("<=", ">"):
        ok = bool(at_least(limit, value))
        return ok if op == "<=" else not ok
    return bool(_OPS[op](value, limit))


def _score_status(
    c: Mapping[str, Any], visits: pd.DataFrame, when: Any, time: str, within: float
) -> tuple[str, str]:
    col = c["column"]
    if col not in visits.columns:
        return UNKNOWN, f"no {col!r} column"
    values = pd.to_numeric(visits[col], errors="coerce")
    scored = visits[values.notna() & (visits[time] <= when)]
    if not len(scored):
        return UNKNOWN, f"no {col} at or before {when}"
    last = scored.sort_values(time).iloc[-1]
    if weeks_between(last[time], when) > within:
        return UNKNOWN, f"last {col} at {last[time]}, more than {within:g} weeks before"
    value = float(last[col])
    ok = _compare(value, c["op"], float(c["value"]))
    return (MET if ok else NOT_MET), f"{col} {value:g} at {last[time]}"


def _long_enough(start: Any, end: Any, c: Mapping[str, Any]) -> bool:
    if "min_weeks" in c:
        return bool(weeks_between(start, end) >= float(c["min_weeks"]))
    months = float(c.get("min_months", 0))
    if isinstance(start, pd.Timestamp):
        return bool(start + pd.DateOffset(months=months) <= end)
    return bool(weeks_between(start, end) >= months * WEEKS_PER_MONTH)


def _prior_status(
    c: Mapping[str, Any], history: pd.DataFrame | None, periods: pd.DataFrame | None, when: Any
) -> tuple[str, str]:
    if history is None or not len(history):
        return UNKNOWN, "no treatment history"
    drugs = {normalise_drug(d) for d in c["drugs"]}
    routes = {normalise_drug(k): set(v) for k, v in c.get("routes", {}).items()}
    unknown = []
    for course in history[history["drug"].isin(drugs) & (history["start"] <= when)].itertuples():
        end = when if pd.isna(course.stop) or course.stop > when else course.stop
        if not _long_enough(course.start, end, c):
            continue
        if course.drug in routes:
            given = set()
            if periods is not None and "route" in periods.columns:
                given = set(periods.loc[periods["row"].isin(course.rows), "route"].dropna())
            if not given:
                unknown.append(f"{course.drug} from {course.start} (route not recorded)")
                continue
            if not {str(g).lower() for g in given} <= routes[course.drug]:
                continue
        return MET, f"{course.drug} from {course.start} to {end}"
    if unknown:
        return UNKNOWN, "; ".join(unknown)
    return NOT_MET, f"no course of {', '.join(sorted(drugs))} long enough before {when}"


def _subject_status(
    c: Mapping[str, Any], subjects: pd.DataFrame | None, sid: Any, when: Any
) -> tuple[str, str]:
    col = c["column"]
    if subjects is None or col not in subjects.columns or sid not in subjects.index:
        return UNKNOWN, f"no {col} for this subject"
    value = subjects.loc[sid, col]
    if pd.isna(value):
        return UNKNOWN, f"{col} not recorded"
    if c["kind"] == "subject_value":
        ok = _compare(float(value), c["op"], float(c["value"]))
        return (MET if ok else NOT_MET), f"{col} {value}"
    if isinstance(value, pd.Timestamp) and c["unit"] in ("months", "years"):
        months = float(c["value"]) * (12 if c["unit"] == "years" else 1)
        limit = value + pd.DateOffset(months=months)
        ok = _OPS[c["op"]](when, limit)
        return (MET if ok else NOT_MET), f"{col} {value.date()}"
    elapsed = weeks_between(value, when) / _UNITS[c["unit"]]
    ok = _compare(float(elapsed), c["op"], float(c["value"]))
    return (MET if ok else NOT_MET), f"{elapsed:.2f} {c['unit']} since {col}"


def check_eligibility(
    visits: pd.DataFrame,
    *,
    criteria: str | os.PathLike[str] | Mapping[str, Any] = "nl-2024-jak",
    treatments: pd.DataFrame | None = None,
    subjects: pd.DataFrame | None = None,
    at: Any = None,
    score_within_weeks: float = 4.0,
    subject: str = "subject",
    time: str = "week",
) -> pd.DataFrame:
    """Each criterion of a criteria set, per subject and date: met, not met or unknown.

    Parameters
    ----------
    visits : pandas.DataFrame
        Long table of visits (``subject``, ``time`` and the score columns named by
        the criteria).
    criteria : str, path-like or mapping, default "nl-2024-jak"
        A criteria set (:func:`load_criteria`).
    treatments : pandas.DataFrame, optional
        Treatments table (:mod:`salt.trial.treatments`); without it treatment
        criteria are ``unknown``.
    subjects : pandas.DataFrame, optional
        One row per subject (a ``subject`` column) with the columns that
        ``time_since`` and ``subject_value`` criteria name (e.g. ``episode_start``
        on the same time axis as the visits).
    at : scalar, mapping or None, default None
        Dates to check: ``None`` every visit; a scalar for every subject; a
        ``{subject: date}`` mapping.
    score_within_weeks : float, default 4
        A score criterion uses the latest scored visit at most this many weeks
        before the date; older or none is ``unknown``.
    subject, time : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        One row per subject, date and criterion, plus one row per subject and date
        with criterion ``all`` (``met`` when every criterion is met, ``not met``
        when one is not met, else ``unknown``): ``subject``, ``time``,
        ``criterion``, ``status``, ``detail``, and ``criteria`` (the set's name and
        version).
    """
    spec = load_criteria(criteria)
    label = f"{spec['name']} {spec['version']}"
    history = periods = None
    if treatments is not None:
        history = courses(treatments, subject=subject)
        periods = validate_treatments(treatments, subject=subject)
    subj = None if subjects is None else subjects.set_index(subject)
    rows = []
    for sid, when in _dates(visits, at, subject, time):
        mine = visits[visits[subject] == sid]
        hist = None if history is None else history[history[subject] == sid]
        statuses = []
        for c in spec["criteria"]:
            if c["kind"] == "score":
                status, detail = _score_status(c, mine, when, time, score_within_weeks)
            elif c["kind"] == "prior_treatment":
                status, detail = _prior_status(c, hist, periods, when)
            else:
                status, detail = _subject_status(c, subj, sid, when)
            statuses.append(status)
            rows.append(_row(subject, sid, when, c["id"], status, detail, label))
        overall = NOT_MET if NOT_MET in statuses else UNKNOWN if UNKNOWN in statuses else MET
        rows.append(_row(subject, sid, when, "all", overall, "", label))
    return pd.DataFrame(rows)


def _row(
    subject: str, sid: Any, when: Any, cid: str, status: str, detail: str, label: str
) -> dict[str, Any]:
    return {
        subject: sid,
        "time": when,
        "criterion": cid,
        "status": status,
        "detail": detail,
        "criteria": label,
    }


def _dates(visits: pd.DataFrame, at: Any, subject: str, time: str) -> list[tuple[Any, Any]]:
    if at is None:
        pairs = visits[[subject, time]].drop_duplicates().sort_values([subject, time])
        return list(pairs.itertuples(index=False, name=None))
    ids = pd.unique(visits[subject])
    if isinstance(at, Mapping):
        return [(s, at[s]) for s in ids if s in at]
    return [(s, at) for s in ids]
