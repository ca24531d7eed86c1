"""Registry analysis (treatments, courses, response by drug, survival, sites, relapse rules,
eligibility as data, published rates) on small tables whose answers are worked out here."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salt.errors import BadValueError
from salt.trial import criteria, published, registry, relapse_rules, sites, survival, treatments

# A: baricitinib from week 0, responds at week 24 (SALT 15).
# B: baricitinib 0-24 without response, switched at week 24 to ritlecitinib, SALT 18 at week 36.
# C: baricitinib from week 0, SALT 10 at week 12, then no more visits.
TREATMENTS = pd.DataFrame(
    {
        "subject": ["A", "B", "B", "C"],
        "drug": ["Baricitinib", "baricitinib", "ritlecitinib", "olumiant"],
        "dose": [4, 4, 50, 4],
        "start": [0, 0, 24, 0],
        "stop": [np.nan, 24, np.nan, np.nan],
        "reason": [None, "lack of response", None, None],
    }
)
VISITS = pd.DataFrame(
    {
        "subject": ["A", "A", "A", "B", "B", "B", "B", "C", "C"],
        "week": [0, 12, 24, 0, 12, 24, 36, 0, 12],
        "salt": [80.0, 40.0, 15.0, 70.0, 60.0, 65.0, 18.0, 90.0, 10.0],
    }
)


def test_join_puts_the_switch_visit_in_the_course_that_stops() -> None:
    j = treatments.join_treatments(VISITS, TREATMENTS).set_index(["subject", "week"])
    # brand name and capitals fold to the generic name
    assert j.loc[("C", 12), "drug"] == "baricitinib"
    # week 24 of B ends the baricitinib course (its last assessment); week 36 is ritlecitinib
    assert j.loc[("B", 24), "drug"] == "baricitinib"
    assert j.loc[("B", 24), "time_on_drug"] == 24.0
    assert j.loc[("B", 36), "drug"] == "ritlecitinib"
    assert j.loc[("B", 36), "time_on_drug"] == 12.0
    assert j.loc[("B", 36), "line"] == 2 and j.loc[("A", 24), "line"] == 1
    assert j.loc[("B", 36), "dose"] == 50.0


def test_events_switch_and_taper() -> None:
    t = pd.DataFrame(
        {
            "subject": ["A", "A", "B", "B"],
            "drug": ["baricitinib", "baricitinib", "methotrexate", "baricitinib"],
            "dose": [4, 2, 15, 4],
            "start": [0, 52, 0, 26],
            "stop": [52, np.nan, 26, np.nan],
            "reason": ["taper", None, "lack of response", None],
        }
    )
    ev = treatments.treatment_events(t)
    got = list(zip(ev["subject"], ev["time"], ev["event"], strict=True))
    assert got == [
        ("A", 0.0, "start"),
        ("A", 52.0, "taper"),
        ("B", 0.0, "start"),
        ("B", 26.0, "stop"),
        ("B", 26.0, "switch"),
    ]
    taper = ev[ev["event"] == "taper"].iloc[0]
    assert (taper["from_dose"], taper["to_dose"], taper["reason"]) == (4.0, 2.0, "taper")
    assert ev[ev["event"] == "switch"].iloc[0]["from_drug"] == "methotrexate"
    # the taper does not start a new course: a visit at 60 is 60 weeks on baricitinib, at 2 mg
    j = treatments.join_treatments(pd.DataFrame({"subject": ["A"], "week": [60]}), t)
    assert (j["time_on_drug"].iloc[0], j["dose"].iloc[0], j["course"].iloc[0]) == (60.0, 2.0, 1)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"drug": ["baricitinib", "baricitinib"], "start": [0, 10], "stop": [20, 30]}, "overlap"),
        (
            {"drug": ["baricitinib", "baricitinib"], "start": [0, 10], "stop": [np.nan, 30]},
            "overlap",
        ),
        ({"drug": ["baricitinib", "ritlecitinib"], "start": [0, 30], "stop": [20, 25]}, "before"),
        (
            {"drug": ["ritlecitinib", "baricitnib"], "start": [30, 0], "stop": [40, 20]},
            "mean .baricitinib",
        ),
    ],
)
def test_bad_treatments_name_subject_and_row(rows: dict[str, list[object]], message: str) -> None:
    t = pd.DataFrame({"subject": ["P7", "P7"], **rows})
    with pytest.raises(BadValueError, match=message) as err:
        treatments.validate_treatments(t)
    assert "P7" in str(err.value)
    assert re.search(r"treatments rows? (0 and )?1\b", str(err.value))


def test_visit_outside_treatment_is_an_error_when_required() -> None:
    late = pd.DataFrame({"subject": ["B"], "week": [-8]})
    assert treatments.join_treatments(late, TREATMENTS)["drug"].isna().all()
    with pytest.raises(BadValueError, match=r"visits row 0: subject 'B'.*outside every"):
        treatments.join_treatments(late, TREATMENTS, require=True)


def test_time_to_response_censored_at_switch_and_kaplan_meier() -> None:
    tte = registry.time_to_response_by_course(VISITS, TREATMENTS).set_index(["subject", "drug"])
    assert tte.loc[("A", "baricitinib"), ["event", "weeks"]].tolist() == [True, 24.0]
    assert tte.loc[("B", "baricitinib"), ["event", "weeks", "censored_by"]].tolist() == [
        False,
        24.0,
        "switch",
    ]
    # ritlecitinib's baseline is B's week-24 visit (65); 18 at week 36 is 12 weeks on drug
    assert tte.loc[("B", "ritlecitinib"), ["event", "weeks"]].tolist() == [True, 12.0]
    assert tte.loc[("C", "baricitinib"), ["event", "weeks"]].tolist() == [True, 12.0]
    km = survival.kaplan_meier(tte.reset_index(), by="drug")
    bari = km[km["group"] == "baricitinib"].set_index("time")
    # at 12: 3 at risk, 1 response -> 1/3; at 24: 2 at risk (A, B), A responds, B censored
    # -> survival 2/3 * 1/2 = 1/3, responded 2/3
    assert bari.loc[12.0, "responded"] == pytest.approx(1 / 3)
    assert bari.loc[24.0, "responded"] == pytest.approx(2 / 3)
    assert bari.loc[24.0, ["at_risk", "events", "censored"]].tolist() == [2, 1, 1]
    assert (bari["ci_low"] <= bari["responded"]).all()
    assert (bari["responded"] <= bari["ci_high"]).all()
    # median: the curve of no response first reaches 0.5 or less at week 24 (1/3)
    med = survival.median_time_to_response(tte.reset_index(), by="drug").set_index("group")
    assert med.loc["baricitinib", ["n", "events", "median"]].tolist() == [3, 2, 24.0]


def test_response_by_drug_and_line_with_reasons() -> None:
    per = registry.course_response(VISITS, TREATMENTS, 24).set_index(["subject", "drug"])
    assert bool(per.loc[("A", "baricitinib"), "responder"])
    assert not bool(per.loc[("B", "baricitinib"), "responder"])  # 65 at 24 weeks
    assert per.loc[("C", "baricitinib"), "status"] == "no visit"  # nothing near week 24
    assert per.loc[("B", "ritlecitinib"), "status"] == "no visit"
    obs = registry.response_by_treatment(VISITS, TREATMENTS, 24).set_index("drug")
    assert obs.loc["baricitinib", ["n", "responders", "n_excluded"]].tolist() == [2, 1, 1]
    assert obs.loc["baricitinib", "line"] == 1 and obs.loc["ritlecitinib", "line"] == 2
    nri = registry.response_by_treatment(VISITS, TREATMENTS, 24, missing="nri").set_index("drug")
    assert nri.loc["baricitinib", ["n", "responders"]].tolist() == [3, 1]
    assert nri.loc["ritlecitinib", ["n", "responders"]].tolist() == [1, 0]


def test_compare_with_published_reads_the_cited_file() -> None:
    table = published.published_rates()
    assert table["source"].str.len().gt(10).all()
    bari = table[(table["drug"] == "baricitinib") & (table["week"] == 24)]
    assert bari["rate"].tolist() == [0.284]  # the file's number (BRAVE-AA, 6 months)
    rates = pd.DataFrame(
        {
            "drug": ["baricitinib"],
            "dose": [4.0],
            "endpoint": ["salt_le_20"],
            "week_on_drug": [24.0],
            "n": [10],
            "rate": [0.3],
            "ci_low": [0.1],
            "ci_high": [0.25],
        }
    )
    out = published.compare_with_published(rates)
    assert len(out) == 1 and out["published_rate"].iloc[0] == 0.284
    assert not out["within_ci"].iloc[0]  # 0.284 is above 0.25
    assert published.compare_with_published(rates.assign(dose=2.0)).empty  # other dose


def test_relapse_by_points_and_by_regrowth() -> None:
    v = pd.DataFrame(
        {
            "subject": ["A"] * 3 + ["B"] * 4 + ["C"] * 3 + ["D"] * 3,
            "week": [0, 52, 64, 0, 52, 64, 76, 0, 52, 64, 0, 52, 64],
            "salt": [80, 10, 25, 60, 30, 37, 52, 50, 55, 60, 60, 10, 20.0],
        }
    )
    # A: regrowth 70, limit 14; rise 15 -> regrowth rule yes, points rule no
    # B: regrowth 30, limit 6; rise 7 at 64 -> regrowth yes (64); rise 22 at 76 -> points yes (76)
    # C: worse at reference (no regrowth) -> undefined by regrowth; rise 5 -> no by points
    # D: regrowth 50, limit 10; rise exactly 10 -> not a relapse
    pts = relapse_rules.relapse(v, 52, rule="points").set_index("subject")
    reg = relapse_rules.relapse(v, 52, rule="regrowth").set_index("subject")
    assert pts["relapse"].tolist() == [False, True, False, False]
    assert pts.loc["B", "relapse_week"] == 76.0
    assert reg.loc[["A", "B", "D"], "relapse"].tolist() == [True, True, False]
    assert reg.loc["B", "relapse_week"] == 64.0
    assert reg.loc["A", "limit"] == pytest.approx(14.0)
    assert pd.isna(reg.loc["C", "relapse"]) and reg.loc["C", "status"] == "no regrowth at reference"
    with pytest.raises(BadValueError, match="rule"):
        relapse_rules.relapse(v, 52, rule="percent")  # type: ignore[arg-type]


def test_brow_and_lash_responder_rule() -> None:
    v = pd.DataFrame(
        {
            "subject": ["A", "A", "B", "B", "C", "C", "D", "D", "E", "E", "F", "F"],
            "week": [0, 24, 0, 24, 0, 24, 0, 24, 0, 24, 0, 12],
            # A 3->1 yes; B 2->0 yes; C 3->2 no (score 2); D 1->0 not eligible;
            # E 2->1 no (1 point); F 3 -> 1 at week 12, no week-24 rating
            "eyebrows": [3, 1, 2, 0, 3, 2, 1, 0, 2, 1, 3, 1],
        }
    )
    r = sites.site_responders(v, 24).set_index("subject")
    assert r.loc[["A", "B", "C", "E"], "responder"].tolist() == [True, True, False, False]
    assert r.loc["D", "status"] == "not eligible" and pd.isna(r.loc["D", "responder"])
    assert pd.isna(r.loc["F", "responder"])
    assert bool(
        sites.site_responders(v, 24, missing="locf").set_index("subject").loc["F", "responder"]
    )
    assert not bool(
        sites.site_responders(v, 24, missing="nri").set_index("subject").loc["F", "responder"]
    )
    rates = sites.site_response_rates(v, [24]).iloc[0]
    assert (rates["n"], rates["responders"], rates["n_not_eligible"]) == (4, 2, 1)
    bad = v.assign(eyebrows=[3, 1, 2, 0, 3, 4, 1, 0, 2, 1, 3, 1])
    with pytest.raises(BadValueError, match=r"row 5: subject 'C': eyebrows is 4"):
        sites.site_responders(bad, 24)


def test_eligibility_met_not_met_unknown() -> None:
    visits = pd.DataFrame(
        {
            "subject": ["S1", "S2", "S3", "S4"],
            "week": [30, 30, 0, 30],
            "salt": [60.0, 45.0, 80.0, 50.0],
        }
    )
    t = pd.DataFrame(
        {
            "subject": ["S1", "S2", "S4"],
            "drug": ["methotrexate", "methotrexate", "prednisone"],
            "start": [0, 0, 0],
            "stop": [26, 20, 30],
        }
    )
    subjects = pd.DataFrame({"subject": ["S1", "S2", "S4"], "episode_start": [-300, -100, -390]})
    e = criteria.check_eligibility(visits, treatments=t, subjects=subjects, at=30).pivot(
        index="subject", columns="criterion", values="status"
    )
    # S1: SALT 60; methotrexate 26 weeks = 6 months; episode 330 weeks = 6.3 years
    assert e.loc["S1"].tolist() == ["met"] * 4
    # S2: SALT 45 < 50; 20 weeks of methotrexate; episode 2.5 years
    assert e.loc["S2", "salt_at_least_50"] == "not met"
    assert e.loc["S2", "prior_oral_systemic_6_months"] == "not met"
    assert e.loc["S2", "all"] == "not met"
    # S3: last SALT 30 weeks before the date, no treatment history, not in the subjects table
    assert set(e.loc["S3"]) == {"unknown"}
    # S4: SALT exactly 50; prednisone without a route; episode 420 weeks = 8.08 years
    assert e.loc["S4", "salt_at_least_50"] == "met"
    assert e.loc["S4", "prior_oral_systemic_6_months"] == "unknown"
    assert e.loc["S4", "episode_under_8_years"] == "not met"
    oral = t.assign(route=["oral", "oral", "oral"])
    e2 = criteria.check_eligibility(visits, treatments=oral, subjects=subjects, at=30)
    s4 = e2[(e2["subject"] == "S4") & (e2["criterion"] == "prior_oral_systemic_6_months")]
    assert s4["status"].tolist() == ["met"]


def test_other_rules_load_from_a_file(tmp_path: Path) -> None:
    rules = {
        "name": "adult-severe",
        "version": "1",
        "source": "a made-up rule for the test",
        "criteria": [
            {"id": "adult", "kind": "subject_value", "column": "age", "op": ">=", "value": 18},
            {"id": "severe", "kind": "score", "column": "salt", "op": ">=", "value": 50},
        ],
    }
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    visits = pd.DataFrame({"subject": ["X", "Y"], "week": [0, 0], "salt": [70.0, 70.0]})
    people = pd.DataFrame({"subject": ["X", "Y"], "age": [17, 18]})
    e = criteria.check_eligibility(visits, criteria=path, subjects=people)
    overall = e[e["criterion"] == "all"].set_index("subject")["status"]
    assert overall.to_dict() == {"X": "not met", "Y": "met"}
    assert set(e["criteria"]) == {"adult-severe 1"}
    del rules["source"]
    with pytest.raises(BadValueError, match="source"):
        criteria.load_criteria(rules)
    assert "nl-2024-jak" in criteria.builtin_criteria()
    assert not math.isnan(criteria.load_criteria("nl-2024-jak")["criteria"][0]["value"])


def test_scores_out_of_scale_name_subject_and_row() -> None:
    bad = VISITS.copy()
    bad.loc[4, "salt"] = 120.0
    with pytest.raises(BadValueError, match=r"visits row 4: subject 'B': salt 120.0 is not a SALT"):
        registry.course_response(bad, TREATMENTS, 24)
    lashes = VISITS.assign(eyelashes=[0, 1, 2, 3, 2, 1, 0, 5, 1])
    with pytest.raises(BadValueError, match=r"visits row 7: subject 'C': eyelashes is 5"):
        registry.time_to_response_by_course(lashes, TREATMENTS)


def test_dates_use_calendar_months_and_years() -> None:
    day = pd.Timestamp
    visits = pd.DataFrame(
        {"subject": ["S1", "S2"], "date": [day("2024-07-01")] * 2, "salt": [60.0, 60.0]}
    )
    t = pd.DataFrame(
        {
            "subject": ["S1", "S2"],
            "drug": ["methotrexate", "methotrexate"],
            "start": [day("2024-01-01"), day("2024-01-01")],
            # S1: 1 January + 6 calendar months = 1 July (met); S2 stops a day short
            "stop": [day("2024-07-01"), day("2024-06-30")],
            "route": ["oral", "oral"],
        }
    )
    # S1: episode from 1 July 2016 -> exactly 8 years on 1 July 2024: not shorter than 8 years
    subjects = pd.DataFrame(
        {"subject": ["S1", "S2"], "episode_start": [day("2016-07-01"), day("2016-07-02")]}
    )
    e = criteria.check_eligibility(
        visits, treatments=t, subjects=subjects, time="date", at=day("2024-07-01")
    ).pivot(index="subject", columns="criterion", values="status")
    assert e.loc["S1", "prior_oral_systemic_6_months"] == "met"
    assert e.loc["S2", "prior_oral_systemic_6_months"] == "not met"
    assert e.loc["S1", "episode_under_8_years"] == "not met"
    assert e.loc["S2", "episode_under_8_years"] == "met"
    j = treatments.join_treatments(visits, t, time="date")
    # 1 Jan to 1 Jul 2024 is 182 days = 26 weeks on drug
    assert j.loc[0, "time_on_drug"] == pytest.approx(26.0)


def test_served_from_salt_trial() -> None:
    import salt.trial

    assert salt.trial.check_eligibility is criteria.check_eligibility
    assert salt.trial.relapse is relapse_rules.relapse
    assert "kaplan_meier" in salt.trial.__all__
