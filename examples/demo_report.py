"""Print what ``make demo`` produced: SALT against the exact truth, then trial endpoints.

Usage::

    python examples/demo_report.py out/demo

reads ``out/demo/synth/truth.csv`` (written by ``salt synth``: the exact SALT of each
synthetic visit, from the generator's label maps), ``out/demo/scored/visits.csv``
(written by ``salt score``) and ``out/demo/endpoints.csv`` (written by ``salt
endpoints``), and prints two small tables. It only reads and prints: the numbers come
from the commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from salt import severity_band


def salt_against_truth(folder: Path) -> pd.DataFrame:
    """Join the scored visits with the synthetic truth, one row per visit.

    Parameters
    ----------
    folder : pathlib.Path
        The demo folder holding ``synth/truth.csv`` and ``scored/visits.csv``.

    Returns
    -------
    pandas.DataFrame
        ``subject``, ``visit``, ``truth``, ``model``, ``error`` (model - truth, SALT
        points), ``band_truth`` and ``band_model``.
    """
    truth = pd.read_csv(folder / "synth" / "truth.csv", dtype={"subject": str, "visit": str})
    scored = pd.read_csv(folder / "scored" / "visits.csv", dtype={"subject": str, "visit": str})
    both = truth.merge(scored, on=["subject", "visit"], suffixes=("_truth", "_model"))
    out = pd.DataFrame(
        {
            "subject": both["subject"],
            "visit": both["visit"],
            "truth": both["salt_truth"],
            "model": both["salt_model"],
        }
    )
    out["error"] = out["model"] - out["truth"]
    out["band_truth"] = [severity_band(s) for s in out["truth"]]
    out["band_model"] = [severity_band(s) for s in out["model"]]
    return out


def last_visits(endpoints_csv: Path) -> pd.DataFrame:
    """Each subject's last visit with its endpoint flags.

    Parameters
    ----------
    endpoints_csv : pathlib.Path
        The table written by ``salt endpoints``.

    Returns
    -------
    pandas.DataFrame
        One row per subject: week, baseline and current SALT, percent change and the
        response and relapse flags.
    """
    ep = pd.read_csv(endpoints_csv)
    last = ep.sort_values("week").groupby("subject", sort=True).tail(1).sort_values("subject")
    columns = ["subject", "week", "baseline_salt", "salt", "pct_change"]
    return last[[*columns, "salt_le_20", "salt50", "salt75", "relapse"]]


def main() -> None:
    """Print the two tables of the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the demo folder (out/demo)")
    args = parser.parse_args()
    table = salt_against_truth(args.folder)
    with pd.option_context("display.float_format", "{:.1f}".format, "display.width", 120):
        print(f"SALT of {len(table)} synthetic visits: the shipped model against the exact truth")
        print(table.to_string(index=False))
        print(f"mean absolute error {table['error'].abs().mean():.1f} SALT points\n")
        print("Trial endpoints of data/example_visits.csv, each subject's last visit")
        print(last_visits(args.folder / "endpoints.csv").to_string(index=False))


if __name__ == "__main__":
    main()
