"""Treatments of a registry: periods on a drug, joined to the visits.

A treatments table has one row per period on one drug at one dose:

============  ========================================================================
column        meaning
============  ========================================================================
``subject``   who
``drug``      generic name (:data:`DRUGS`: methotrexate, ciclosporin, baricitinib, ...)
``dose``      optional, mg (a dose change is a new row of the same drug)
``start``     week number or date the period started
``stop``      week number or date it stopped; empty while ongoing
``reason``    optional, why it stopped (``lack of response``, ``taper``, ...)
``route``     optional (``oral``, ``intramuscular``, ...), used by eligibility criteria
============  ========================================================================

``start``, ``stop`` and the visits' time column are on one axis: all numbers
(weeks) or all dates. A period runs from ``start`` to ``stop`` inclusive.

A **course** is an uninterrupted run of periods of one drug (dose changes inside
it are taper or escalation events). Courses of the main drugs (not systemic
corticosteroids, which are given with a first-line drug) are numbered per
subject in order of start: the treatment **line**. A course that starts when
another main drug's course has just stopped is a **switch**.

Every bad row is an error naming the subject and the row: a stop before its
start, overlapping periods of one drug, an unknown drug name (with the closest
known names), a dose that is not a positive number.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from salt.errors import BadValueError

__all__ = [
    "DRUGS",
    "courses",
    "join_treatments",
    "treatment_events",
    "validate_treatments",
    "weeks_between",
]

#: Days per week (dates to weeks). On a week axis a year is 52 weeks and a month 52 / 12
#: weeks (6 months = 26 weeks, 18 months = 78 weeks); on a date axis calendar months are used.
DAYS_PER_WEEK = 7.0
WEEKS_PER_YEAR = 52.0
WEEKS_PER_MONTH = WEEKS_PER_YEAR / 12.0


def _load_drugs() -> pd.DataFrame:
    with resources.files("salt.trial").joinpath("data/drugs.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


_DRUG_TABLE = _load_drugs()

#: Known drugs: generic name -> kind (``conventional``, ``corticosteroid``, ``jak``, ``none``),
#: read from ``salt/trial/data/drugs.csv`` (each row cites where the drug is used in AA).
DRUGS: dict[str, str] = dict(zip(_DRUG_TABLE["drug"], _DRUG_TABLE["kind"], strict=True))

_ALIASES: dict[str, str] = {
    alias.strip(): row.drug
    for row in _DRUG_TABLE.itertuples()
    for alias in str(row.aliases).split(";")
    if alias.strip()
}


def weeks_between(start: Any, end: Any) -> Any:
    """Weeks from ``start`` to ``end``: a difference of week numbers, or of dates in days / 7.

    Parameters
    ----------
    start, end : scalar, array-like or pandas.Series
        Week numbers or dates (``datetime64``), both of the same kind.

    Returns
    -------
    float or pandas.Series of float
        ``end - start`` in weeks.
    """
    delta = end - start
    if isinstance(delta, pd.Series) and pd.api.types.is_timedelta64_dtype(delta):
        return delta.dt.total_seconds() / 86400.0 / DAYS_PER_WEEK
    if isinstance(delta, pd.Timedelta):
        return delta.total_seconds() / 86400.0 / DAYS_PER_WEEK
    return delta


def _time_kind(values: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    return "number"


def _as_time(raw: pd.Series, kind: str, column: str, rows: pd.Series) -> pd.Series:
    """Put a start or stop column on the time axis (NaN/NaT where empty); errors name the row."""
    if kind == "date":
        values = pd.to_datetime(raw, errors="coerce")
    else:
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
    bad = raw.notna() & values.isna()
    if bad.any():
        i = raw.index[bad.to_numpy()][0]
        raise BadValueError(
            f"treatments row {i}: subject {rows[i]!r}: {column} {raw[i]!r} is not a "
            f"{'date' if kind == 'date' else 'week number'}"
        )
    return values


def normalise_drug(name: Any, *, where: str = "", known: Iterable[str] = ()) -> str:
    """Return the generic name of ``name`` (case, spaces and brand names folded).

    Parameters
    ----------
    name : str
        A drug name as typed (``Baricitinib``, ``MTX``, ``Olumiant``).
    where : str
        Row description for the message.
    known : iterable of str
        Extra generic names accepted as they are.

    Returns
    -------
    str
        A key of :data:`DRUGS` or one of ``known``.

    Raises
    ------
    BadValueError
        For an unknown name, with the closest known names.
    """
    text = " ".join(str(name).split()).lower()
    extra = {k.lower() for k in known}
    if text in DRUGS or text in extra:
        return text
    if text in _ALIASES:
        return _ALIASES[text]
    choices = sorted({*DRUGS, *_ALIASES, *extra})
    close = difflib.get_close_matches(text, choices, n=3, cutoff=0.6)
    hint = (
        f"; did you mean {' or '.join(repr(_ALIASES.get(c, c)) for c in close)}?" if close else ""
    )
    raise BadValueError(
        f"{where}unknown drug {name!r}{hint} (known: {', '.join(DRUGS)}; pass "
        "extra names with drugs=...)"
    )


def validate_treatments(
    treatments: pd.DataFrame, *, subject: str = "subject", drugs: Iterable[str] = ()
) -> pd.DataFrame:
    """Check a treatments table and return it cleaned, sorted by subject and start.

    Parameters
    ----------
    treatments : pandas.DataFrame
        Columns ``subject``, ``drug``, ``start``, ``stop`` (optional ``dose``,
        ``reason``, ``route``); see the module documentation.
    subject : str, default "subject"
        Subject column.
    drugs : iterable of str
        Extra generic drug names to accept besides :data:`DRUGS`.

    Returns
    -------
    pandas.DataFrame
        A copy with ``drug`` as generic names, ``dose`` float (NaN if absent),
        ``start``/``stop`` on one time axis, ``row`` (the input's index) and ``kind``
        (the drug's kind, ``other`` for extra names), sorted by subject and start.

    Raises
    ------
    BadValueError
        Naming the subject and the row: a missing column or start, a stop before its
        start, overlapping periods of one drug, an unknown drug, a dose that is not a
        positive number.
    """
    need = [subject, "drug", "start"]
    missing = [c for c in need if c not in treatments.columns]
    if missing:
        raise BadValueError(
            f"treatments table lacks column(s) {missing}; "
            f"it has {list(map(str, treatments.columns))}"
        )
    t = treatments.copy()
    for optional in ("stop", "reason", "route"):
        if optional not in t.columns:
            t[optional] = np.nan
    who = t[subject]
    for i in t.index[t["start"].isna().to_numpy()]:
        raise BadValueError(f"treatments row {i}: subject {who[i]!r}: start is empty")
    kind = _time_kind(t["start"])
    t["start"] = _as_time(t["start"], kind, "start", who)
    t["stop"] = _as_time(t["stop"], kind, "stop", who)
    t["drug"] = [
        normalise_drug(d, where=f"treatments row {i}: subject {who[i]!r}: ", known=drugs)
        for i, d in t["drug"].items()
    ]
    t["kind"] = t["drug"].map(lambda d: DRUGS.get(d, "other"))
    dose = pd.to_numeric(t["dose"], errors="coerce") if "dose" in t else pd.Series(np.nan, t.index)
    if "dose" in t:
        for i in t.index[(t["dose"].notna() & ~(dose > 0)).to_numpy()]:
            raise BadValueError(
                f"treatments row {i}: subject {who[i]!r}: dose {t.loc[i, 'dose']!r} is not a "
                "positive number (mg)"
            )
    t["dose"] = dose.astype("float64")
    backwards = t["stop"].notna() & (t["stop"] < t["start"])
    for i in t.index[backwards.to_numpy()]:
        raise BadValueError(
            f"treatments row {i}: subject {who[i]!r}: {t.loc[i, 'drug']} stops "
            f"({t.loc[i, 'stop']}) before it starts ({t.loc[i, 'start']})"
        )
    t["row"] = t.index
    t = t.sort_values([subject, "start", "row"], kind="stable").reset_index(drop=True)
    _check_overlaps(t, subject)
    return t


def _check_overlaps(t: pd.DataFrame, subject: str) -> None:
    """Periods of one drug for one subject may touch (a dose change) but not overlap."""
    s = t.sort_values([subject, "drug", "start", "row"], kind="stable")
    same = (s[subject].shift() == s[subject]) & (s["drug"].shift() == s["drug"])
    prev_stop, prev_row = s["stop"].shift(), s["row"].shift().astype("Int64")
    prev_start = s["start"].shift()
    clash = same & (prev_stop.isna() | (s["start"] < prev_stop))
    if clash.any():
        i = s.index[clash.to_numpy()][0]
        stop = "ongoing" if pd.isna(prev_stop[i]) else prev_stop[i]
        raise BadValueError(
            f"treatments rows {prev_row[i]} and {s.loc[i, 'row']}: subject {s.loc[i, subject]!r}: "
            f"two periods of {s.loc[i, 'drug']} overlap (one from {prev_start[i]} to {stop}, one "
            f"from {s.loc[i, 'start']}); a dose change is a new row starting when the previous "
            "one stops"
        )


def courses(treatments: pd.DataFrame, *, subject: str = "subject") -> pd.DataFrame:
    """Courses (uninterrupted runs of one drug) with their line and how they ended.

    Parameters
    ----------
    treatments : pandas.DataFrame
        A treatments table (validated here).
    subject : str, default "subject"
        Subject column.

    Returns
    -------
    pandas.DataFrame
        One row per course: ``subject``, ``course`` (1, 2, ... per subject),
        ``drug``, ``kind``, ``line`` (Int64: 1, 2, ... over the main drugs in order of
        start; ``<NA>`` for corticosteroids and placebo), ``start``, ``stop`` (NaN
        while ongoing), ``start_dose``, ``last_dose``, ``n_periods``, ``reason`` (of
        the last period, if given) and ``rows`` (the input rows, as a list).
    """
    t = validate_treatments(treatments, subject=subject, drugs=_extra(treatments))
    s = t.sort_values([subject, "drug", "start"], kind="stable")
    same = (s[subject].shift() == s[subject]) & (s["drug"].shift() == s["drug"])
    touching = same & (s["stop"].shift() == s["start"])
    s = s.assign(_run=(~touching).cumsum())
    first = s.drop_duplicates("_run", keep="first").set_index("_run")
    last = s.drop_duplicates("_run", keep="last").set_index("_run")
    reason = last["reason"].astype(object)
    c = pd.DataFrame(
        {
            subject: first[subject],
            "drug": first["drug"],
            "kind": first["kind"],
            "start": first["start"],
            "stop": last["stop"],
            "start_dose": first["dose"],
            "last_dose": last["dose"],
            "n_periods": s.groupby("_run").size(),
            "reason": reason.where(reason.notna(), None),
            "rows": s.groupby("_run")["row"].agg(list),
        }
    )
    c = c.sort_values([subject, "start"], kind="stable").reset_index(drop=True)
    c.insert(1, "course", c.groupby(subject, sort=False).cumcount() + 1)
    main = ~c["kind"].isin(["corticosteroid", "none"])
    line = c[main].groupby(subject, sort=False).cumcount() + 1
    c["line"] = pd.array([pd.NA] * len(c), dtype="Int64")
    c.loc[main, "line"] = line.astype("Int64")
    return c


def _extra(treatments: pd.DataFrame) -> list[str]:
    return list(treatments.attrs.get("extra_drugs", ()))


def treatment_events(treatments: pd.DataFrame, *, subject: str = "subject") -> pd.DataFrame:
    """Start, stop, switch, taper and escalation events of each subject.

    Parameters
    ----------
    treatments : pandas.DataFrame
        A treatments table.
    subject : str, default "subject"
        Subject column.

    Returns
    -------
    pandas.DataFrame
        One row per event, in time order per subject: ``subject``, ``time``,
        ``event`` (``start``, ``switch`` (a main drug starts when another main drug's
        course stopped at the same time or earlier with nothing in between),
        ``taper`` (same drug, lower dose), ``escalation`` (same drug, higher dose),
        ``stop``), ``drug``, ``from_drug``, ``from_dose``, ``to_dose`` and ``reason``.
    """
    t = validate_treatments(treatments, subject=subject, drugs=_extra(treatments))
    c = courses(treatments, subject=subject)
    main = c[c["line"].notna()].sort_values([subject, "start"], kind="stable")
    prev = main.groupby(subject, sort=False)[["drug", "stop", "last_dose"]].shift()
    switch = prev["stop"].notna() & (prev["stop"] <= main["start"])
    starts = pd.DataFrame(
        {
            subject: c[subject],
            "time": c["start"],
            "event": "start",
            "drug": c["drug"],
            "from_drug": None,
            "from_dose": np.nan,
            "to_dose": c["start_dose"],
            "reason": None,
        }
    )
    hit = switch.index[switch.to_numpy()]
    starts.loc[hit, "event"] = "switch"
    starts.loc[hit, "from_drug"] = prev.loc[hit, "drug"]
    starts.loc[hit, "from_dose"] = prev.loc[hit, "last_dose"]
    ended = c[c["stop"].notna()]
    stops = pd.DataFrame(
        {
            subject: ended[subject],
            "time": ended["stop"],
            "event": "stop",
            "drug": ended["drug"],
            "from_drug": None,
            "from_dose": ended["last_dose"],
            "to_dose": np.nan,
            "reason": ended["reason"],
        }
    )
    s = t.sort_values([subject, "drug", "start"], kind="stable")
    before = s.groupby([subject, "drug"], sort=False)[["stop", "dose", "reason"]].shift()
    change = (before["stop"] == s["start"]) & before["dose"].notna() & s["dose"].notna()
    change &= before["dose"] != s["dose"]
    d = s[change]
    doses = pd.DataFrame(
        {
            subject: d[subject],
            "time": d["start"],
            "event": np.where(d["dose"] < before.loc[change, "dose"], "taper", "escalation"),
            "drug": d["drug"],
            "from_drug": None,
            "from_dose": before.loc[change, "dose"],
            "to_dose": d["dose"],
            "reason": before.loc[change, "reason"],
        }
    )
    ev = pd.concat([x for x in (stops, starts, doses) if len(x)], ignore_index=True)
    order = ev["event"].map({"stop": 0, "switch": 1, "start": 1, "taper": 2, "escalation": 2})
    ev = ev.assign(_o=order).sort_values([subject, "time", "_o"], kind="stable")
    return ev.drop(columns="_o").reset_index(drop=True)


def join_treatments(
    visits: pd.DataFrame,
    treatments: pd.DataFrame,
    *,
    subject: str = "subject",
    time: str = "week",
    require: bool = False,
) -> pd.DataFrame:
    """Add the drug in use, its dose, time on drug and line to every visit.

    At a visit inside several courses, the main drug is the one whose course
    started most recently *before* the visit (at a switch visit, where one course
    stops and the next starts, the visit belongs to the course that stops: it is
    that course's last assessment); corticosteroids given alongside are listed in
    ``co_medication``.

    Parameters
    ----------
    visits : pandas.DataFrame
        Long table of visits (``subject``, ``time`` columns).
    treatments : pandas.DataFrame
        Treatments table (module documentation).
    subject, time : str
        Column names; ``time`` is on the same axis as the treatments' start and stop.
    require : bool, default False
        Raise for a visit outside every course (naming subject and row) instead of
        leaving its treatment columns empty.

    Returns
    -------
    pandas.DataFrame
        A copy of ``visits`` with ``drug``, ``dose`` (the dose of the period in use),
        ``line``, ``course``, ``course_start``, ``time_on_drug`` (weeks since the
        course started) and ``co_medication`` (other drugs in use, ``;``-separated).
    """
    c = courses(treatments, subject=subject)
    periods = validate_treatments(treatments, subject=subject, drugs=_extra(treatments))
    v = visits[[subject, time]].copy()
    v["_visit"] = np.arange(len(v))
    m = v.merge(c.drop(columns=["rows"]), on=subject, how="inner")
    inside = m[(m["start"] <= m[time]) & (m["stop"].isna() | (m["stop"] >= m[time]))].copy()
    inside["_main"] = ~inside["kind"].isin(["corticosteroid", "none"])
    inside["_before"] = inside["start"] < inside[time]
    ordered = inside.sort_values(["_visit", "_main", "_before", "start"], kind="stable")
    pick = ordered.groupby("_visit").tail(1).set_index("_visit")
    picked = pick["drug"].rename("_picked").reset_index()
    co = inside.merge(picked, on="_visit")
    co = (
        co[co["drug"] != co["_picked"]]
        .groupby("_visit")["drug"]
        .agg(lambda d: ";".join(sorted(set(d))))
    )
    course_of = c[[subject, "course", "rows"]].explode("rows").rename(columns={"rows": "row"})
    dosed = periods[["row", "start", "dose"]].merge(course_of, on="row")
    dose = (
        pick.reset_index()[["_visit", subject, "course", time]]
        .merge(dosed.rename(columns={"start": "_pstart"}), on=[subject, "course"])
        .query(f"_pstart <= `{time}`")
        .sort_values(["_visit", "_pstart"], kind="stable")
        .groupby("_visit")
        .tail(1)
        .set_index("_visit")["dose"]
    )
    missing = np.setdiff1d(v["_visit"].to_numpy(), pick.index.to_numpy())
    if require and len(missing):
        i = visits.index[missing[0]]
        raise BadValueError(
            f"visits row {i}: subject {visits.loc[i, subject]!r}: the visit at {time} "
            f"{visits.loc[i, time]} is outside every treatment course, and this analysis "
            "requires one"
        )
    idx = pd.RangeIndex(len(v))
    out = visits.copy()
    out["drug"] = pick["drug"].reindex(idx).to_numpy()
    out["dose"] = dose.reindex(idx).to_numpy(dtype="float64")
    out["line"] = pd.array(pick["line"].reindex(idx).tolist(), dtype="Int64")
    out["course"] = pd.array(pick["course"].reindex(idx).tolist(), dtype="Int64")
    out["course_start"] = pick["start"].reindex(idx).to_numpy()
    out["time_on_drug"] = pd.to_numeric(
        pd.Series(weeks_between(pick["start"], pick[time])).reindex(idx)
    ).to_numpy(dtype="float64")
    out["co_medication"] = co.reindex(idx).to_numpy()
    return out
