"""The synthetic registry (salt.synth.registry): reproducible, valid, with its promised events."""

from __future__ import annotations

from salt.synth.registry import synthetic_registry
from salt.trial import sites, treatments


def test_same_seed_same_tables_and_valid_input() -> None:
    a, b = synthetic_registry(30, seed=3), synthetic_registry(30, seed=3)
    assert a.visits.equals(b.visits) and a.treatments.equals(b.treatments)
    assert not a.visits.equals(synthetic_registry(30, seed=4).visits)
    treatments.validate_treatments(a.treatments)  # no overlap, no stop before start
    sites.check_site_scores(a.visits)  # every 0-3 score on its scale
    assert a.visits["salt"].between(0, 100).all()
    assert set(a.subjects.columns) == {"subject", "age", "episode_start"}
    assert (a.subjects["episode_start"] < 0).all()


def test_switches_and_tapers_happen() -> None:
    reg = synthetic_registry(120, seed=0)
    events = treatments.treatment_events(reg.treatments)
    kinds = set(events["event"])
    assert {"start", "stop", "switch", "taper"} <= kinds
    tapers = events[events["event"] == "taper"]
    assert set(tapers["drug"]) == {"baricitinib"}
    assert (tapers["from_dose"] == 4.0).all() and (tapers["to_dose"] == 2.0).all()
    jak_switch = events[(events["event"] == "switch") & (events["from_drug"] == "baricitinib")]
    assert len(jak_switch) > 0  # some switch from one JAK inhibitor to another


def test_cli_writes_three_tables_that_read_back(tmp_path) -> None:
    import pandas as pd

    from salt.cli import main

    out = tmp_path / "reg"
    assert main(["synth-registry", str(out), "--subjects", "5", "--seed", "1"]) == 0
    visits = pd.read_csv(out / "visits.csv")
    t = pd.read_csv(out / "treatments.csv")
    assert visits["subject"].nunique() == 5 and set(t["subject"]) <= set(visits["subject"])
    treatments.validate_treatments(t)
    assert main(["synth-registry", str(out)]) == 2  # tables already there
    assert main(["synth-registry", str(out), "--overwrite"]) == 0
