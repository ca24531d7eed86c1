"""Trial endpoints of SALT, vectorised over a long pandas table of visits.

One row per visit (subject, time, SALT). :func:`endpoints` adds, for every row,
the change from baseline and the response, relapse and eligibility flags that
alopecia areata trials report (BRAVE-AA, ALLEGRO):

=================  ==========  ==============================================================
column             dtype       meaning
=================  ==========  ==============================================================
``baseline_salt``  float64     the subject's SALT at the baseline visit
``baseline_time``  float64     the time of that visit (NaN if the subject has none): the
                               baseline rule, stated per row
``change``         float64     ``salt - baseline_salt``, SALT points (negative = improvement)
``pct_change``     float64     ``100 * (salt - baseline_salt) / baseline_salt``, percent of
                               baseline (negative = improvement; -100 = full regrowth)
``salt_le_20``     boolean     absolute response, SALT <= 20 (primary endpoint)
``salt_le_10``     boolean     absolute response, SALT <= 10
``salt50``         boolean     at least 50 % improvement from baseline (``pct_change <= -50``)
``salt75``         boolean     at least 75 % improvement
``salt90``         boolean     at least 90 % improvement
``salt100``        boolean     100 % improvement (SALT 0 after a baseline above 0)
``reference_salt`` float64     the subject's SALT at the reference visit (for relapse)
``relapse``        boolean     SALT rose by **more than** 20 points above ``reference_salt``
``eligible``       boolean     SALT >= 50 (severe disease; eligibility threshold)
=================  ==========  ==============================================================

Missing values are explicit
---------------------------
The flags use pandas' nullable ``boolean`` dtype: ``<NA>`` means *undefined*,
never *no*. A flag is ``<NA>`` when the row's SALT is missing (NaN), when the
subject has no baseline (or reference) visit, and, for the relative endpoints,
when the baseline SALT is 0.

Baseline 0
----------
A relative change from a baseline of 0 is undefined (0/0 or x/0). With
``zero_baseline="na"`` (default) ``pct_change`` is NaN and ``salt50`` ..
``salt100`` are ``<NA>`` for that subject, and one warning naming the subjects is
logged; ``change`` (points) and the absolute endpoints are still computed. With
``zero_baseline="raise"`` a :class:`~salt.errors.BadValueError` names the
subjects. No division by zero ever produces ``inf``.

Thresholds
----------
All thresholds are inclusive except relapse (``> 20``). Every comparison goes
through :func:`salt.scoring.at_most` / :func:`salt.scoring.at_least`, the rule the
severity bands and AA-IGA grades use too, so the flags and the bands never
disagree: ``salt_le_20`` is true exactly when AA-IGA <= 1, ``eligible`` exactly
when the band is S3 or worse. A value within :data:`TOLERANCE` (1e-9 SALT points
or percent) of a threshold counts as at it: ``30.1 - 10.1`` is
``20.000000000000004`` in floating point but is a rise of exactly 20 points, not a
relapse.
"""

from __future__ import annotations

import logging
import sys
import types
import unicodedata
from collections.abc import Hashable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from salt.errors import BadValueError
from salt.scoring import ELIGIBILITY_SALT, RESPONSE_SALT, TOLERANCE, at_least, at_most

__all__ = [
    "ELIGIBILITY_SALT",
    "ENDPOINT_COLUMNS",
    "RELAPSE_POINTS",
    "RESPONSE_ENDPOINTS",
    "TOLERANCE",
    "endpoints",
]

logger = logging.getLogger(__name__)

#: Relapse: a rise of more than this many SALT points above the reference visit.
RELAPSE_POINTS = 20.0

#: Response endpoints: name -> ("absolute", max SALT) or ("relative", min % improvement).
RESPONSE_ENDPOINTS: Mapping[str, tuple[str, float]] = types.MappingProxyType(
    {
        "salt_le_20": ("absolute", RESPONSE_SALT),
        "salt_le_10": ("absolute", 10.0),
        "salt50": ("relative", 50.0),
        "salt75": ("relative", 75.0),
        "salt90": ("relative", 90.0),
        "salt100": ("relative", 100.0),
    }
)

#: Columns added by :func:`endpoints`, in order.
ENDPOINT_COLUMNS: tuple[str, ...] = (
    "baseline_salt",
    "baseline_time",
    "change",
    "pct_change",
    *RESPONSE_ENDPOINTS,
    "reference_salt",
    "relapse",
    "eligible",
)


def _visit_values(
    table: pd.DataFrame,
    *,
    subject: str,
    time: str,
    score: str,
    at: Any,
    what: str,
) -> pd.Series:
    """SALT of each row's subject at the visit chosen by ``at`` (float, NaN where absent)."""
    if at is None:
        # Each subject's first visit (smallest time value), whatever its SALT.
        first_time = table.groupby(subject, sort=False)[time].transform("min")
        is_visit = table[time] == first_time
    elif isinstance(at, Mapping):
        wanted = table[subject].map(lambda s: at.get(s, np.nan))
        is_visit = table[time] == wanted
    else:
        is_visit = table[time] == at
    chosen = table.loc[is_visit, [subject, score]]
    per_subject = chosen.set_index(subject)[score]
    values = table[subject].map(per_subject).astype("float64")
    missing = sorted(set(table[subject]) - set(per_subject.index), key=str)
    if missing:
        logger.warning(
            "%d subject(s) have no %s visit (%s); their %s-based endpoints are missing: %s",
            len(missing),
            what,
            "at the time given for each" if isinstance(at, Mapping) else f"at {at!r}",
            what,
            ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else ""),
        )
    return values


def _flag(condition: pd.Series | np.ndarray, defined: pd.Series) -> pd.Series:
    """Nullable boolean: ``condition`` where ``defined``, else ``<NA>`` (index of ``defined``)."""
    out = pd.Series(np.asarray(condition, dtype=bool), index=defined.index, dtype="boolean")
    out[~defined.to_numpy(dtype=bool)] = pd.NA
    return out


def endpoints(
    df: pd.DataFrame,
    *,
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
    baseline: Any = None,
    reference: Any = None,
    zero_baseline: Literal["na", "raise"] = "na",
) -> pd.DataFrame:
    """Add change-from-baseline, response, relapse and eligibility columns to a visit table.

    Parameters
    ----------
    df : pandas.DataFrame
        Long table, one row per visit, with at least the ``subject``, ``time`` and
        ``score`` columns. Rows may come in any order; missing visits are simply
        absent rows (or rows with a NaN score).
    subject : str, default "subject"
        Column identifying the subject.
    time : str, default "week"
        Column with the visit time, numeric (e.g. weeks since randomisation). Each
        (subject, time) pair may appear once.
    score : str, default "salt"
        Column with SALT in [0, 100] (NaN allowed: a visit without a score).
    baseline : scalar, mapping or None, default None
        Which visit is the baseline, as a value of the ``time`` column. ``None``:
        each subject's first visit (smallest ``time``). A scalar (e.g. ``0``): the
        visit at that time for every subject; subjects without it get NaN baseline
        and ``<NA>`` relative endpoints (logged as a warning). A mapping
        ``{subject: time}``: a baseline time per subject.
    reference : scalar, mapping or None, default None
        Which visit relapse is measured from (e.g. the week treatment was stopped
        or tapered), in the same forms as ``baseline``; ``None`` uses the baseline
        visit. ``relapse`` is defined only at visits strictly after the reference
        visit and is ``<NA>`` at and before it.
    zero_baseline : {"na", "raise"}, default "na"
        What to do when a subject's baseline SALT is 0 (relative change undefined):
        ``"na"`` leaves ``pct_change`` NaN and ``salt50`` .. ``salt100`` ``<NA>`` and
        logs a warning; ``"raise"`` raises :class:`~salt.errors.BadValueError`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` (same index and row order) with the columns of
        :data:`ENDPOINT_COLUMNS` added (replaced if present); see the module
        documentation for their meaning and dtypes.

    Raises
    ------
    BadValueError
        If a column is missing, ``time`` is not numeric, a (subject, time) pair is
        repeated, a score is not a number in [0, 100], or the baseline is 0 and
        ``zero_baseline="raise"``.

    Examples
    --------
    >>> import pandas as pd
    >>> visits = pd.DataFrame({"subject": ["A", "A", "A"], "week": [0, 12, 24],
    ...                        "salt": [80.0, 40.0, 15.0]})
    >>> out = endpoints(visits)
    >>> out["pct_change"].tolist()
    [0.0, -50.0, -81.25]
    >>> out["salt50"].tolist(), out["salt_le_20"].tolist()
    ([False, True, True], [False, False, True])
    """
    scores = _checked_scores(df, subject, time, score, zero_baseline)
    table = df[[subject, time]].copy()
    table[score] = scores
    base = _visit_values(
        table, subject=subject, time=time, score=score, at=baseline, what="baseline"
    )
    ref = base
    if reference is not None:
        ref = _visit_values(
            table, subject=subject, time=time, score=score, at=reference, what="reference"
        )
    _zero_baselines(table, base, subject, zero_baseline)
    _warn_similar_ids(table[subject])
    base_time = _visit_times(table, subject, time, baseline)
    if baseline is None:
        _warn_no_time_zero(table, base_time, subject, time)

    out = df.copy()
    change = scores - base
    safe_base = base.where(base > 0.0)  # NaN where baseline is 0 or missing: no inf
    pct = 100.0 * change / safe_base
    out["baseline_salt"] = base
    out["baseline_time"] = base_time
    out["change"] = change
    out["pct_change"] = pct

    for name, flag in _response_flags(scores, pct).items():
        out[name] = flag

    # Relapse only at visits strictly after the reference visit.
    ref_time = base_time if reference is None else _visit_times(table, subject, time, reference)
    after = table[time] > ref_time
    out["reference_salt"] = ref
    rise = (scores - ref).to_numpy(dtype=float)
    has_score = scores.notna()
    out["relapse"] = _flag(
        ~at_most(rise, RELAPSE_POINTS) & ~np.isnan(rise), has_score & ref.notna() & after
    )
    out["eligible"] = _flag(at_least(scores.to_numpy(dtype=float), ELIGIBILITY_SALT), has_score)
    return out


def _response_flags(scores: pd.Series, pct: pd.Series) -> dict[str, pd.Series]:
    """Compute the response endpoints of :data:`RESPONSE_ENDPOINTS` as nullable booleans."""
    values = scores.to_numpy(dtype=float)
    flags = {}
    for name, (kind, threshold) in RESPONSE_ENDPOINTS.items():
        if kind == "absolute":
            flags[name] = _flag(at_most(values, threshold), scores.notna())
        else:
            flags[name] = _flag(at_most(pct.to_numpy(dtype=float), -threshold), pct.notna())
    return flags


def _checked_scores(
    df: pd.DataFrame, subject: str, time: str, score: str, zero_baseline: str
) -> pd.Series:
    """Check the visit table (module rules) and return the scores as float64."""
    if not isinstance(df, pd.DataFrame):
        raise BadValueError(f"expected a pandas DataFrame of visits, got {type(df).__name__}")
    missing_cols = [c for c in (subject, time, score) if c not in df.columns]
    if missing_cols:
        raise BadValueError(
            f"visit table lacks column(s) {missing_cols}; it has {list(map(str, df.columns))}"
        )
    if zero_baseline not in ("na", "raise"):
        raise BadValueError(f"zero_baseline must be 'na' or 'raise', got {zero_baseline!r}")
    if not pd.api.types.is_numeric_dtype(df[time]) or pd.api.types.is_bool_dtype(df[time]):
        raise BadValueError(
            f"column {time!r} must be numeric (e.g. weeks since baseline), got dtype "
            f"{df[time].dtype}; convert visit labels to numbers first"
        )
    if df[time].isna().any():
        row = df.index[df[time].isna().to_numpy()][0]
        raise BadValueError(f"row {row}: column {time!r} is missing")
    if df[subject].isna().any():
        row = df.index[df[subject].isna().to_numpy()][0]
        raise BadValueError(f"row {row}: column {subject!r} is missing")
    scores = pd.to_numeric(df[score], errors="coerce").astype("float64")
    bad = df[score].notna() & (scores.isna() | ~scores.between(0.0, 100.0))
    if bad.any():
        row = df.index[bad.to_numpy()][0]
        raise BadValueError(
            f"row {row}: column {score!r} must be a SALT score in [0, 100], "
            f"got {df.loc[row, score]!r}"
        )
    dup = df.duplicated([subject, time], keep=False)
    if dup.any():
        rows = df.index[dup.to_numpy()]
        s, t = df.loc[rows[0], subject], df.loc[rows[0], time]
        raise BadValueError(
            f"subject {s} has more than one visit at {time}={t} (rows {list(map(str, rows[:5]))}); "
            "each (subject, time) pair may appear once"
        )
    return scores


def _zero_baselines(table: pd.DataFrame, base: pd.Series, subject: str, policy: str) -> None:
    """Raise or warn for subjects whose baseline SALT is 0 (percent change undefined)."""
    zero = base == 0.0
    if not zero.any():
        return
    subjects: list[Hashable] = sorted(set(table.loc[zero, subject]), key=str)
    names = ", ".join(map(str, subjects[:10])) + (" ..." if len(subjects) > 10 else "")
    if policy == "raise":
        raise BadValueError(
            f"baseline SALT is 0 for subject(s) {names}: percent change from baseline "
            "is undefined; drop them or use zero_baseline='na'"
        )
    logger.warning(
        "baseline SALT is 0 for %d subject(s) (%s): percent change and SALT50/75/90/100 "
        "are left missing for them",
        len(subjects),
        names,
    )


def _visit_times(table: pd.DataFrame, subject: str, time: str, at: Any) -> pd.Series:
    """Time of each row's subject's chosen visit (first visit for ``None``; NaN if absent)."""
    if at is None:
        return table.groupby(subject, sort=False)[time].transform("min").astype("float64")
    if isinstance(at, Mapping):
        wanted = pd.to_numeric(table[subject].map(lambda s: at.get(s, np.nan)), errors="coerce")
    else:
        wanted = pd.Series(float(at), index=table.index)
    present = (table[time] == wanted).groupby(table[subject], sort=False).transform("any")
    return wanted.astype("float64").where(present)


def _warn_similar_ids(ids: pd.Series) -> None:
    """Say which subject IDs differ only in case, spaces or Unicode form (kept apart here)."""
    text = ids[ids.map(lambda s: isinstance(s, str))]
    if text.empty:
        return
    key = text.map(lambda s: unicodedata.normalize("NFC", s).strip().casefold())
    spellings = text.groupby(key.to_numpy()).agg(lambda s: sorted(set(s)))
    similar = [names for names in spellings if len(names) > 1]
    if similar:
        logger.warning(
            "subject IDs that differ only in case, spaces or Unicode form are kept as different "
            "subjects: %s; if they are one person, normalise them first "
            "(salt.trial.tables.normalise_subjects)",
            "; ".join(" / ".join(map(repr, names)) for names in similar[:10]),
        )


def _warn_no_time_zero(table: pd.DataFrame, base_time: pd.Series, subject: str, time: str) -> None:
    """Say which subjects' first visit, used as baseline, is not at time 0."""
    late = table[[subject]].assign(_t=base_time)[(base_time != 0.0).to_numpy()]
    late = late.drop_duplicates(subject)
    if len(late):
        shown = ", ".join(
            f"{s} ({time} {t:g})" for s, t in zip(late[subject], late["_t"], strict=True)
        )
        logger.warning(
            "%d subject(s) have no visit at %s 0; their baseline is their first visit: %s",
            len(late),
            time,
            shown[:500],
        )


class _CallableModule(types.ModuleType):
    """Module type that makes ``salt.trial.endpoints`` callable as :func:`endpoints`.

    ``salt.trial.endpoints`` names both this module and the function. Python binds the
    submodule to the package attribute when ``salt.trial.endpoints`` is first imported,
    so ``salt.endpoints(df)`` must work whether the attribute holds the function
    (lazy import through ``salt.__getattr__``) or this module.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return endpoints(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
