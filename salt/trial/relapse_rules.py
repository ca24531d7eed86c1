"""Relapse after a reference visit (a taper, a stop, a switch), by one of two named rules.

:data:`RELAPSE_RULES`:

``"points"``
    A rise of **more than 20 SALT points** above the SALT at the reference visit
    (the relapse flag of :func:`salt.trial.endpoints.endpoints`).
``"regrowth"``
    Loss of **more than 20 % of the regrowth achieved** at the reference visit:
    ``salt - reference_salt > 0.20 * (baseline_salt - reference_salt)``. This is
    how the baricitinib down-titration and withdrawal analyses of BRAVE-AA count
    a loss of response after week-52 responders moved from 4 mg to placebo or
    2 mg; about 80 % of those moved to placebo met it (BRAVE-AA1 and -2
    randomised withdrawal, Eli Lilly; summarised in the Dutch clinical overview
    of alopecia areata care, 2024-2025). It is undefined when there was no
    regrowth (reference SALT not below baseline).

Both compare with the tolerance of :func:`salt.scoring.at_most`: a rise exactly at
the limit is not a relapse.
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from salt.errors import BadValueError
from salt.scoring import at_most
from salt.trial.endpoints import RELAPSE_POINTS, endpoints

__all__ = ["RELAPSE_REGROWTH_SHARE", "RELAPSE_RULES", "relapse"]

#: Share of the regrowth whose loss is a relapse under the ``"regrowth"`` rule.
RELAPSE_REGROWTH_SHARE = 0.20

#: The relapse rules, by name.
RELAPSE_RULES: Mapping[str, str] = types.MappingProxyType(
    {
        "points": f"rise of more than {RELAPSE_POINTS:g} SALT points above the reference visit",
        "regrowth": (
            f"loss of more than {100 * RELAPSE_REGROWTH_SHARE:g} % of the regrowth achieved "
            "at the reference visit (baseline SALT - reference SALT)"
        ),
    }
)


def relapse(
    df: pd.DataFrame,
    reference: Any,
    *,
    rule: Literal["points", "regrowth"] = "points",
    baseline: Any = None,
    subject: str = "subject",
    time: str = "week",
    score: str = "salt",
) -> pd.DataFrame:
    """Relapse after a reference visit, by the rule named in ``rule``.

    Only scored visits strictly after the reference are used.

    Parameters
    ----------
    df : pandas.DataFrame
        Long table of visits.
    reference : scalar or mapping
        The reference visit (e.g. the week treatment was stopped or tapered), as a
        value of ``time`` or a ``{subject: time}`` mapping.
    rule : {"points", "regrowth"}, default "points"
        A key of :data:`RELAPSE_RULES` (module documentation).
    baseline : scalar, mapping or None, default None
        The baseline visit that regrowth is measured from (``"regrowth"`` rule);
        ``None``: each subject's first visit.
    subject, time, score : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        One row per subject: ``subject``, ``rule``, ``baseline_salt``,
        ``reference_salt`` (NaN without a reference visit), ``regrowth``
        (``baseline_salt - reference_salt``, points), ``limit`` (the rise above the
        reference that is allowed: 20 points, or 20 % of ``regrowth``), ``n_after``
        (scored visits after the reference), ``max_rise``, ``relapse`` (nullable
        boolean) and ``relapse_week`` (first visit over the limit), and ``status``
        (``ok``, ``no reference visit``, ``no visit after reference`` or, for the
        regrowth rule, ``no baseline visit`` or ``no regrowth at reference``).

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"subject": ["A"] * 3, "week": [0, 52, 64],
    ...                   "salt": [80.0, 10.0, 25.0]})
    >>> relapse(v, 52, rule="points")["relapse"].tolist()   # rise 15 <= 20
    [False]
    >>> relapse(v, 52, rule="regrowth")["relapse"].tolist() # 15 > 0.2 * 70 = 14
    [True]
    """
    if rule not in RELAPSE_RULES:
        raise BadValueError(f"rule must be one of {list(RELAPSE_RULES)}, got {rule!r}")
    ep = endpoints(
        df, subject=subject, time=time, score=score, baseline=baseline, reference=reference
    )
    ep = ep[ep[score].notna()].sort_values([subject, time], kind="stable")
    groups = dict(tuple(ep.groupby(subject, sort=False)))
    rows = [
        {subject: sid, "rule": rule}
        | _subject_relapse(groups.get(sid, ep.iloc[:0]), rule, time=time, score=score)
        for sid in pd.unique(df[subject])
    ]
    out = pd.DataFrame(rows)
    out["relapse"] = out["relapse"].astype("boolean")
    return out


def _subject_relapse(visits: pd.DataFrame, rule: str, *, time: str, score: str) -> dict[str, Any]:
    """Relapse of one subject's scored visits (with endpoint columns) under ``rule``."""
    after = visits[visits["relapse"].notna()]
    ref = float(visits["reference_salt"].iloc[0]) if len(visits) else math.nan
    base = float(visits["baseline_salt"].iloc[0]) if len(visits) else math.nan
    regrowth = base - ref
    limit = RELAPSE_POINTS if rule == "points" else RELAPSE_REGROWTH_SHARE * regrowth
    rise = (after[score] - ref).to_numpy(dtype=float)
    over = ~at_most(rise, limit) if len(rise) and not math.isnan(limit) else np.zeros(0, bool)
    if math.isnan(ref):
        status = "no reference visit"
    elif rule == "regrowth" and math.isnan(base):
        status = "no baseline visit"
    elif rule == "regrowth" and not regrowth > 0:
        status = "no regrowth at reference"
    elif not len(after):
        status = "no visit after reference"
    else:
        status = "ok"
    hits = after[time].to_numpy()[over] if status == "ok" else []
    return {
        "baseline_salt": base,
        "reference_salt": ref,
        "regrowth": regrowth,
        "limit": limit if status == "ok" or rule == "points" else math.nan,
        "n_after": len(after),
        "max_rise": float(rise.max()) if len(rise) else math.nan,
        "relapse": bool(len(hits)) if status == "ok" else pd.NA,
        "relapse_week": float(hits[0]) if len(hits) else math.nan,
        "status": status,
    }
