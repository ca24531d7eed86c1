"""Write ``data/example_visits.csv``: a small made-up trial table for ``salt endpoints``.

Six subjects, scheduled visits at weeks 0, 4, 8, 12, 16, 24 and 36, per-view
hair-loss percentages (top, back, left, right, 0-100, one decimal). Each subject
follows a chosen course so that every endpoint occurs at least once:

- P01 complete responder (SALT 100 at baseline -> 0 by week 36)
- P02 partial responder (reaches SALT50 but not SALT <= 20)
- P03 non-responder (stays above 80)
- P04 responder who misses the week 16 visit (missing visit, absent row)
- P05 responder who relapses after week 24 (rise of more than 20 points)
- P06 not eligible (baseline SALT below 50), responds

The values are deterministic (fixed seed). Run from the repository root:
``python data/make_example_visits.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

WEEKS = (0, 4, 8, 12, 16, 24, 36)
VIEWS = ("top", "back", "left", "right")

# Fraction of the baseline per-view loss remaining at each scheduled week.
COURSES: dict[str, tuple[tuple[float, float, float, float], tuple[float, ...]]] = {
    # subject: (baseline % per view (top, back, left, right), remaining fraction per week)
    "P01": ((100.0, 100.0, 100.0, 100.0), (1.0, 0.95, 0.8, 0.55, 0.35, 0.12, 0.0)),
    "P02": ((90.0, 70.0, 60.0, 65.0), (1.0, 0.97, 0.9, 0.8, 0.7, 0.55, 0.45)),
    "P03": ((98.0, 90.0, 85.0, 88.0), (1.0, 1.0, 0.99, 0.98, 0.97, 0.96, 0.95)),
    "P04": ((80.0, 60.0, 50.0, 55.0), (1.0, 0.9, 0.7, 0.5, np.nan, 0.2, 0.1)),
    "P05": ((85.0, 75.0, 70.0, 72.0), (1.0, 0.8, 0.5, 0.3, 0.15, 0.1, 0.5)),
    "P06": ((55.0, 35.0, 20.0, 30.0), (1.0, 0.9, 0.7, 0.5, 0.3, 0.2, 0.1)),
}


def make_table(seed: int = 20240) -> pd.DataFrame:
    """Build the example table (one row per attended visit)."""
    rng = np.random.default_rng(seed)
    rows = []
    for subject, (base, remaining) in COURSES.items():
        for week, frac in zip(WEEKS, remaining, strict=True):
            if np.isnan(frac):
                continue  # missed visit: no row
            noise = rng.normal(0.0, 1.5, size=4) if 0.0 < frac < 1.0 else np.zeros(4)
            values = np.clip(np.asarray(base) * frac + noise, 0.0, 100.0).round(1)
            rows.append({"subject": subject, "week": week, **dict(zip(VIEWS, values, strict=True))})
    return pd.DataFrame(rows, columns=["subject", "week", *VIEWS])


def main() -> None:
    """Write the table next to this script."""
    out = Path(__file__).with_name("example_visits.csv")
    make_table().to_csv(out, index=False)


if __name__ == "__main__":
    main()
