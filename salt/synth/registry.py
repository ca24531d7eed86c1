"""A synthetic registry: people on systemic treatments followed for two years (tables only).

Extends the trial-like subjects of :func:`salt.synth.write_longitudinal` (the
same SALT trajectories, :func:`salt.synth.trajectory`) with what a registry
records: treatment courses with switches and tapers, eyebrow, eyelash,
body-hair and nail scores, and the episode start. No photos are rendered: the
tables are what :mod:`salt.trial` analyses, and they are made in milliseconds.

The story of each subject (week 0 = start of the first systemic treatment,
visits every ``every`` weeks):

* first line: methotrexate (15 mg weekly, oral) or ciclosporin (200 mg daily,
  oral), some with oral prednisone for the first 12 weeks; a few respond and stay
  on it;
* the others switch, at a visit 24 or 36 weeks in, to a JAK inhibitor:
  baricitinib 4 mg or ritlecitinib 50 mg, with a responder, partial or
  non-responder trajectory;
* some non-responders switch to the other JAK inhibitor after 36 weeks;
* some baricitinib responders taper to 2 mg after 48 weeks on the drug, and some
  of them lose part of their regrowth.

The numbers are made up for demonstration; they are not estimates of any drug's
effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salt.synth.dataset import trajectory

__all__ = ["SyntheticRegistry", "synthetic_registry"]

_FIRST_LINE = {"methotrexate": 15.0, "ciclosporin": 200.0}
_JAK = {"baricitinib": 4.0, "ritlecitinib": 50.0}
_JAK_KINDS = {"responder": 0.45, "partial": 0.25, "non-responder": 0.3}


@dataclass(frozen=True)
class SyntheticRegistry:
    """The tables of a synthetic registry.

    Attributes
    ----------
    visits : pandas.DataFrame
        ``subject``, ``week``, ``salt`` and the 0-3 scores ``eyebrows``,
        ``eyelashes``, ``body_hair``, ``nails``.
    treatments : pandas.DataFrame
        ``subject``, ``drug``, ``dose`` (mg), ``start``, ``stop`` (weeks; NaN while
        ongoing), ``reason`` and ``route``.
    subjects : pandas.DataFrame
        ``subject``, ``age`` (years) and ``episode_start`` (week of the start of the
        current episode, before week 0).
    """

    visits: pd.DataFrame
    treatments: pd.DataFrame
    subjects: pd.DataFrame


def _site_score(salt: float, offset: float, rng: np.random.Generator) -> int:
    """Draw a 0-3 score that follows scalp SALT (0 -> 0, 100 -> 3) with a per-subject offset."""
    return int(np.clip(round(3.0 * salt / 100.0 + offset + rng.normal(0.0, 0.3)), 0, 3))


def _segment(kind: str, start_salt: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """SALT at ``n`` visits (the first being the segment start) following ``kind``."""
    if kind == "relapse":
        gain = rng.uniform(15.0, 60.0)
        steps = np.arange(n, dtype=float)
        return np.clip(start_salt + gain * (1 - np.exp(-steps / 1.5)), 0.0, 100.0)
    if kind == "hold":
        return np.clip(start_salt + rng.normal(0.0, 1.5, n) * (np.arange(n) > 0), 0.0, 100.0)
    weeks = [12 * i for i in range(n)]
    return trajectory(kind, start_salt, weeks, rng)


def _subject_story(
    sid: str, rng: np.random.Generator, n_visits: int, every: int
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Treatment rows and SALT at each visit for one subject."""
    salt = np.full(n_visits, np.nan)
    salt[0] = rng.uniform(50.0, 100.0)
    rows: list[dict[str, Any]] = []
    first = str(rng.choice(list(_FIRST_LINE), p=[0.7, 0.3]))
    k1 = int(rng.choice([2, 3]))  # first line lasts 24 or 36 weeks (2 or 3 visit gaps)
    if rng.random() < 0.3:
        rows.append(_row(sid, "prednisone", 20.0, 0, 12, "planned end", "oral"))
    if rng.random() < 0.15:  # responds to first line and stays on it
        salt[:] = _segment("responder", salt[0], n_visits, rng)
        rows.append(_row(sid, first, _FIRST_LINE[first], 0, None, None, "oral"))
        return rows, salt
    salt[: k1 + 1] = _segment("hold", salt[0], k1 + 1, rng)
    switch_week = k1 * every
    rows.append(_row(sid, first, _FIRST_LINE[first], 0, switch_week, "lack of response", "oral"))
    jak = str(rng.choice(list(_JAK), p=[0.6, 0.4]))
    kind = str(rng.choice(list(_JAK_KINDS), p=list(_JAK_KINDS.values())))
    rest = n_visits - k1
    salt[k1:] = _segment(kind, salt[k1], rest, rng)
    if kind == "non-responder" and rest > 4 and rng.random() < 0.6:
        other = next(d for d in _JAK if d != jak)
        k2 = k1 + 3  # 36 weeks on the first JAK inhibitor
        rows.append(_row(sid, jak, _JAK[jak], switch_week, k2 * every, "lack of response", "oral"))
        second = str(rng.choice(["responder", "partial", "non-responder"], p=[0.35, 0.3, 0.35]))
        salt[k2:] = _segment(second, salt[k2], n_visits - k2, rng)
        rows.append(_row(sid, other, _JAK[other], k2 * every, None, None, "oral"))
        return rows, salt
    k3 = k1 + 4  # 48 weeks on the drug
    if jak == "baricitinib" and kind == "responder" and k3 < n_visits - 1 and rng.random() < 0.9:
        rows.append(_row(sid, jak, 4.0, switch_week, k3 * every, "taper", "oral"))
        rows.append(_row(sid, jak, 2.0, k3 * every, None, None, "oral"))
        after = "relapse" if rng.random() < 0.4 else "hold"
        salt[k3:] = _segment(after, salt[k3], n_visits - k3, rng)
        return rows, salt
    rows.append(_row(sid, jak, _JAK[jak], switch_week, None, None, "oral"))
    return rows, salt


def _row(
    sid: str, drug: str, dose: float, start: int, stop: int | None, reason: str | None, route: str
) -> dict[str, Any]:
    return {
        "subject": sid,
        "drug": drug,
        "dose": dose,
        "start": float(start),
        "stop": np.nan if stop is None else float(stop),
        "reason": reason,
        "route": route,
    }


def synthetic_registry(
    n_subjects: int = 60, seed: int = 0, *, weeks: int = 108, every: int = 12
) -> SyntheticRegistry:
    """Make a synthetic registry (module documentation).

    Parameters
    ----------
    n_subjects : int, default 60
        Number of subjects (``R000``, ``R001``, ...).
    seed : int, default 0
        Seed; the same seed gives the same tables.
    weeks : int, default 108
        Last visit week.
    every : int, default 12
        Weeks between visits.

    Returns
    -------
    SyntheticRegistry
        The visit, treatment and subject tables.
    """
    visit_weeks = list(range(0, weeks + 1, every))
    n_visits = len(visit_weeks)
    visits, treatments, subjects = [], [], []
    for j in range(n_subjects):
        rng = np.random.default_rng([seed, j, 17])
        sid = f"R{j:03d}"
        rows, salt = _subject_story(sid, rng, n_visits, every)
        treatments.extend(rows)
        offsets = {s: rng.normal(0.0, 0.4) for s in ("eyebrows", "eyelashes", "body_hair")}
        nail_base = int(rng.choice([0, 1, 2, 3], p=[0.5, 0.25, 0.15, 0.1]))
        for i, week in enumerate(visit_weeks):
            if i > 0 and rng.random() < 0.05:
                continue  # a missed visit
            row: dict[str, Any] = {"subject": sid, "week": week, "salt": round(float(salt[i]), 1)}
            row |= {s: _site_score(salt[i], o, rng) for s, o in offsets.items()}
            row["nails"] = int(max(0, nail_base - (salt[i] < 30) * int(rng.random() < 0.5)))
            visits.append(row)
        subjects.append(
            {
                "subject": sid,
                "age": int(rng.integers(18, 70)),
                "episode_start": -float(rng.integers(20, 600)),
            }
        )
    return SyntheticRegistry(
        visits=pd.DataFrame(visits),
        treatments=pd.DataFrame(treatments),
        subjects=pd.DataFrame(subjects),
    )
