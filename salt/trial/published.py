"""Published phase-3 responder rates, read from a cited data file, beside a registry's rates.

The numbers live in ``salt/trial/data/published_rates.csv`` (one row per drug,
dose, regimen, trial, endpoint and week, each with its source), not in code.
Shipped rows: baricitinib 4 mg (BRAVE-AA1 and BRAVE-AA2, King et al., N Engl J
Med 2022;386:1687-1699; week 24 from the pooled 52-week report, Kwon et al.
2023) and ritlecitinib 50 mg with and without a 200 mg loading dose (ALLEGRO
phase 2b/3, King et al., Lancet 2023;401:1518-1529). A user may pass another
table of the same columns.
"""

from __future__ import annotations

import os
from importlib import resources

import pandas as pd

from salt.errors import BadValueError

__all__ = ["PUBLISHED_COLUMNS", "compare_with_published", "published_rates"]

#: Columns of a published-rates table.
PUBLISHED_COLUMNS: tuple[str, ...] = (
    "drug",
    "dose_mg",
    "regimen",
    "trial",
    "endpoint",
    "week",
    "rate",
    "n",
    "source",
)


def published_rates(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Read the published responder rates (shipped file, or another file of the same columns).

    Parameters
    ----------
    path : path-like, optional
        A CSV with :data:`PUBLISHED_COLUMNS`; default the shipped file.

    Returns
    -------
    pandas.DataFrame
        One row per published rate (``rate`` as a proportion 0-1).
    """
    if path is None:
        ref = resources.files("salt.trial").joinpath("data/published_rates.csv")
        with ref.open(encoding="utf-8") as fh:
            table = pd.read_csv(fh)
    else:
        table = pd.read_csv(path)
    missing = [c for c in PUBLISHED_COLUMNS if c not in table.columns]
    if missing:
        raise BadValueError(f"published rates lack column(s) {missing}")
    if not table["rate"].between(0.0, 1.0).all():
        raise BadValueError("published rates must be proportions in [0, 1]")
    if table["source"].isna().any():
        raise BadValueError("every published rate needs a source")
    return table


def compare_with_published(
    rates: pd.DataFrame, published: pd.DataFrame | None = None, *, week: str = "week_on_drug"
) -> pd.DataFrame:
    """Put a registry's rates beside the published rates of the same drug, endpoint and week.

    Parameters
    ----------
    rates : pandas.DataFrame
        Rates with ``drug``, ``endpoint``, a week column, ``n``, ``rate``, ``ci_low``
        and ``ci_high`` (e.g. :func:`salt.trial.registry.response_by_treatment`
        with ``by=("drug",)`` or ``("drug", "dose")``). With a ``dose`` column, a
        published row matches only the same dose in mg.
    published : pandas.DataFrame, optional
        Default :func:`published_rates`.
    week : str, default "week_on_drug"
        The week column of ``rates``.

    Returns
    -------
    pandas.DataFrame
        One row per published row with a matching registry rate: the registry's
        ``drug``, ``endpoint``, ``week``, ``n``, ``rate``, ``ci_low``, ``ci_high``,
        then ``trial``, ``dose_mg``, ``regimen``, ``published_rate``, ``published_n``, ``within_ci``
        (the published rate inside the registry's interval) and ``source``.
    """
    pub = published_rates() if published is None else published
    left = rates.rename(columns={week: "week"})
    keys = ["drug", "endpoint", "week"]
    right = pub.rename(columns={"rate": "published_rate", "n": "published_n"})
    if "dose" in left.columns:
        left = left.assign(dose_mg=left["dose"].astype(float))
        keys.append("dose_mg")
    right = right.astype({"week": float, "dose_mg": float})
    merged = left.astype({"week": float}).merge(right, on=keys, how="inner")
    merged["within_ci"] = (merged["ci_low"] <= merged["published_rate"]) & (
        merged["published_rate"] <= merged["ci_high"]
    )
    cols = [
        "drug", "endpoint", "week", "n", "rate", "ci_low", "ci_high",
        "trial", "dose_mg", "regimen", "published_rate", "published_n", "within_ci", "source",
    ]  # fmt: skip
    return merged[cols].reset_index(drop=True)
