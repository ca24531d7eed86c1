"""Longitudinal analysis (salt.trial.response) on hand-made tables with hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salt.errors import BadValueError
from salt.trial import criteria, relapse_rules
from salt.trial import response as trial

# A: 80 -> 40 -> 10        responder at 24 (SALT 10, -87.5 %)
# B: 60 -> 50 -> (absent)  week-24 visit missing (no row)
# C: 90 -> 15 -> NaN       week-24 visit has no score
# D: 0 -> 0 -> 5           baseline 0: relative endpoints undefined
TABLE = pd.DataFrame(
    {
        "subject": ["A", "A", "A", "B", "B", "C", "C", "C", "D", "D", "D"],
        "week": [0, 12, 24, 0, 12, 0, 12, 24, 0, 12, 24],
        "salt": [80.0, 40.0, 10.0, 60.0, 50.0, 90.0, 15.0, np.nan, 0.0, 0.0, 5.0],
    }
)


def rate(missing: str, endpoint: str) -> tuple[int, int]:
    r = trial.response_rates(TABLE, 24, endpoint=endpoint, missing=missing)  # type: ignore[arg-type]
    assert len(r) == 1
    return int(r["n"].iloc[0]), int(r["responders"].iloc[0])


@pytest.mark.parametrize(
    ("missing", "endpoint", "expected"),
    [
        ("observed", "salt_le_20", (2, 2)),  # A, D scored; B, C left out
        ("locf", "salt_le_20", (4, 3)),  # B carries 50 (no), C carries 15 (yes)
        ("nri", "salt_le_20", (4, 2)),  # B, C non-responders
        ("observed", "salt50", (1, 1)),  # D undefined (baseline 0), left out
        ("locf", "salt50", (3, 2)),  # B -16.7 % no, C -83.3 % yes, D left out
        ("nri", "salt50", (4, 1)),  # B, C, D non-responders
    ],
)
def test_response_rates_under_each_missing_policy(
    missing: str, endpoint: str, expected: tuple[int, int]
) -> None:
    assert rate(missing, endpoint) == expected


def test_responders_say_where_values_come_from() -> None:
    locf = trial.responders(TABLE, 24, missing="locf").set_index("subject")
    assert locf["status"].tolist() == ["observed", "carried", "carried", "observed"]
    assert locf.loc["B", "source_week"] == 12.0 and locf.loc["B", "salt"] == 50.0
    assert locf.loc["C", "salt"] == 15.0 and bool(locf.loc["C", "responder"])
    nri = trial.responders(TABLE, 24, missing="nri").set_index("subject")
    assert nri["status"].tolist() == ["observed", "imputed", "imputed", "observed"]
    assert nri["responder"].tolist() == [True, False, False, True]
    observed = trial.responders(TABLE, 24).set_index("subject")
    assert observed["status"].tolist() == ["observed", "missing", "missing", "observed"]
    assert observed["responder"].isna().tolist() == [False, True, True, False]


def test_rates_table_counts_missing_and_carried() -> None:
    r = trial.response_rates(TABLE, [12, 24], endpoint=["salt_le_20", "salt75"], missing="locf")
    assert list(zip(r["endpoint"], r["week"], strict=True)) == [
        ("salt_le_20", 12.0),
        ("salt_le_20", 24.0),
        ("salt75", 12.0),
        ("salt75", 24.0),
    ]
    # week 12: all scored; SALT <= 20 for C (15) and D (0)
    assert r["n"].tolist()[:2] == [4, 4]
    assert r["responders"].tolist()[0] == 2
    assert r["n_carried"].tolist() == [0, 2, 0, 2]
    assert set(r["missing"]) == {"locf"}
    # SALT75 at 24 (LOCF): A -87.5 % yes, B no, C -83.3 % yes; D undefined -> n = 3
    assert (r["n"].iloc[3], r["responders"].iloc[3]) == (3, 2)


def test_wilson_interval_published_values() -> None:
    # Newcombe, Stat Med 1998;17:857, table II, method 3 (Wilson score): 0/10 -> 0 to 0.2775,
    # 81/263 -> 0.2553 to 0.3662.
    low, high = trial.wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=5e-5)
    low, high = trial.wilson_interval(81, 263)
    assert (low, high) == (pytest.approx(0.2553, abs=5e-5), pytest.approx(0.3662, abs=5e-5))
    # 2/2 by hand: z^2 = 3.8415, (1 + z^2/4 - z sqrt(z^2/16)) / (1 + z^2/2) = 0.3424
    low, high = trial.wilson_interval(2, 2)
    assert low == pytest.approx(0.3424, abs=5e-5) and high == 1.0
    low_arr, high_arr = trial.wilson_interval([0, 81], [10, 263])
    assert np.allclose(low_arr, [0.0, 0.2553], atol=5e-5)
    assert np.allclose(high_arr, [0.2775, 0.3662], atol=5e-5)
    assert all(math.isnan(v) for v in trial.wilson_interval(0, 0))
    with pytest.raises(BadValueError):
        trial.wilson_interval(3, 2)
    with pytest.raises(BadValueError):
        trial.wilson_interval(1, 2, confidence=1.5)


def test_rate_ci_matches_wilson() -> None:
    r = trial.response_rates(TABLE, 24, missing="nri")
    assert r["rate"].iloc[0] == 0.5
    low, high = trial.wilson_interval(2, 4)
    assert (r["ci_low"].iloc[0], r["ci_high"].iloc[0]) == (low, high)


def test_time_to_first_response() -> None:
    t = trial.time_to_response(TABLE).set_index("subject")
    # A first <= 20 at 24; B never (censored at its last scored visit, 12); C at 12;
    # D's baseline 0 does not count as a response, its week-12 visit does.
    assert t["event"].tolist() == [True, False, True, True]
    assert t["week"].tolist() == [24.0, 12.0, 12.0, 12.0]
    assert t["last_week"].tolist() == [24.0, 12.0, 12.0, 24.0]
    t50 = trial.time_to_response(TABLE, endpoint="salt50").set_index("subject")
    assert t50["event"].tolist() == [True, False, True, False]  # A at 12 (-50 % exactly)
    assert t50.loc["A", "week"] == 12.0


@pytest.mark.parametrize(
    ("missing", "durable", "n_weeks"),
    [
        ("observed", [False, False, True, True], [2, 1, 1, 2]),
        ("locf", [False, False, True, True], [2, 2, 2, 2]),
        ("nri", [False, False, False, True], [2, 2, 2, 2]),
    ],
)
def test_durable_response(missing: str, durable: list[bool], n_weeks: list[int]) -> None:
    d = trial.durable_response(TABLE, [12, 24], missing=missing)  # type: ignore[arg-type]
    assert d["durable"].tolist() == durable
    assert d["n_weeks"].tolist() == n_weeks


def test_durable_response_undefined_without_any_visit() -> None:
    d = trial.durable_response(TABLE, [36]).set_index("subject")
    assert d["durable"].isna().all()
    with pytest.raises(BadValueError):
        trial.durable_response(TABLE, [])


def test_relapse_after_reference() -> None:
    table = pd.DataFrame(
        {
            "subject": ["E", "E", "E", "E", "F", "F", "F", "G", "H", "H"],
            "week": [0, 12, 24, 36, 0, 12, 24, 0, 0, 24],
            # E: 10.1 at 12 -> 30.1 (20 points, no) -> 30.2 (20.1 points, relapse at 36)
            # F: 10 at 12 -> 30.5 at 24 (20.5 points, relapse at 24)
            # G: no reference visit; H: no visit at 12
            "salt": [70.0, 10.1, 30.1, 30.2, 70.0, 10.0, 30.5, 70.0, 70.0, 60.0],
        }
    )
    r = relapse_rules.relapse(table, 12).set_index("subject")
    assert r["relapse"].tolist()[:2] == [True, True]
    assert r["relapse"].isna().tolist() == [False, False, True, True]
    assert r.loc["E", "relapse_week"] == 36.0 and r.loc["F", "relapse_week"] == 24.0
    assert r.loc["E", "max_rise"] == pytest.approx(20.1)
    assert r.loc["E", "n_after"] == 2
    assert math.isnan(r.loc["G", "reference_salt"])
    # a per-subject reference: E measured from week 24 (30.1 -> 30.2) does not relapse
    r2 = relapse_rules.relapse(table, {"E": 24, "F": 12}).set_index("subject")
    assert r2["relapse"].tolist()[:2] == [False, True]


def test_eligibility_at_screening() -> None:
    table = pd.DataFrame(
        {
            "subject": ["A", "A", "B", "C", "D", "D"],
            "week": [-4, 0, -4, -4, 0, 4],
            "salt": [50.0, 45.0, 49.9, np.nan, 80.0, 10.0],
        }
    )
    e = criteria.eligibility(table).set_index("subject")
    assert e["eligible"].tolist()[:2] == [True, False]  # 50 is eligible, 49.9 is not
    assert pd.isna(e.loc["C", "eligible"])  # screening visit without a score
    assert bool(e.loc["D", "eligible"])  # first visit is week 0
    assert e["screening_week"].tolist() == [-4.0, -4.0, -4.0, 0.0]
    e0 = criteria.eligibility(table, screening=0).set_index("subject")
    assert e0["eligible"].isna().tolist() == [False, True, True, False]
    assert not bool(e0.loc["A", "eligible"])  # 45 at week 0


def test_change_from_baseline() -> None:
    c = trial.change_from_baseline(TABLE)
    a = c[c["subject"] == "A"]
    assert a["change"].tolist() == [0.0, -40.0, -70.0]
    assert a["pct_change"].tolist() == [0.0, -50.0, -87.5]
    assert c[c["subject"] == "D"]["pct_change"].isna().all()


def test_bad_policy_and_endpoint() -> None:
    with pytest.raises(BadValueError, match="missing must be one of"):
        trial.responders(TABLE, 24, missing="bocf")  # type: ignore[arg-type]
    with pytest.raises(BadValueError, match="unknown endpoint"):
        trial.response_rates(TABLE, 24, endpoint="salt60")
