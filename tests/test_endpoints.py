"""Trial endpoints (salt.trial.endpoints) and `salt endpoints`, on hand-computed tables."""

from __future__ import annotations

import logging
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salt.cli import main
from salt.errors import BadValueError
from salt.scoring import aa_iga, severity_band
from salt.trial.endpoints import ENDPOINT_COLUMNS, endpoints

REPO = Path(__file__).resolve().parents[1]
NA = pd.NA


def visits(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["subject", "week", "salt"])


def flags(frame: pd.DataFrame, column: str) -> list[object]:
    """A boolean column as a list with <NA> kept as pd.NA."""
    return [NA if pd.isna(v) else bool(v) for v in frame[column]]


# ---------------------------------------------------------------- endpoints()


def test_changes_and_responses_by_hand() -> None:
    # baseline 80 -> 40 is exactly -50 % (SALT50), -> 15 is -81.25 % (SALT75, SALT <= 20)
    out = endpoints(visits([("A", 0, 80.0), ("A", 12, 40.0), ("A", 24, 15.0)]))
    assert out["baseline_salt"].tolist() == [80.0, 80.0, 80.0]
    assert out["change"].tolist() == [0.0, -40.0, -65.0]
    assert out["pct_change"].tolist() == [0.0, -50.0, -81.25]
    assert flags(out, "salt50") == [False, True, True]
    assert flags(out, "salt75") == [False, False, True]
    assert flags(out, "salt90") == [False, False, False]
    assert flags(out, "salt_le_20") == [False, False, True]
    assert flags(out, "salt_le_10") == [False, False, False]
    assert flags(out, "eligible") == [True, False, False]
    assert list(out.columns) == ["subject", "week", "salt", *ENDPOINT_COLUMNS]
    assert out["baseline_time"].tolist() == [0.0, 0.0, 0.0]  # the baseline rule, per row
    for column in ENDPOINT_COLUMNS:
        if column not in (
            "baseline_salt",
            "baseline_time",
            "change",
            "pct_change",
            "reference_salt",
        ):
            assert out[column].dtype == "boolean", column


def test_salt50_exactly_fifty_percent_counts() -> None:
    # 60 -> 30 is exactly 50 %; 60 -> 30.1 is 49.83 %; 33.3 -> 16.65 is exactly 50 % in
    # decimals although binary floating point gives 49.99999999999999.
    out = endpoints(
        visits(
            [
                ("A", 0, 60.0),
                ("A", 4, 30.0),
                ("B", 0, 60.0),
                ("B", 4, 30.1),
                ("C", 0, 33.3),
                ("C", 4, 16.65),
            ]
        )
    )
    assert flags(out, "salt50") == [False, True, False, False, False, True]
    assert out["pct_change"].iloc[1] == -50.0


def test_absolute_thresholds_inclusive() -> None:
    out = endpoints(
        visits([("A", 0, 60.0), ("A", 1, 20.0), ("A", 2, 20.1), ("A", 3, 10.0), ("A", 4, 10.1)])
    )
    assert flags(out, "salt_le_20") == [False, True, False, True, True]
    assert flags(out, "salt_le_10") == [False, False, False, True, False]


def test_salt100_and_eligibility_boundary() -> None:
    out = endpoints(visits([("A", 0, 50.0), ("A", 8, 0.0), ("B", 0, 49.9), ("B", 8, 0.5)]))
    assert flags(out, "salt100") == [False, True, False, False]
    assert flags(out, "salt90") == [False, True, False, True]  # 49.9 -> 0.5 is 98.998 %
    assert flags(out, "eligible") == [True, False, False, False]


def test_baseline_zero_is_explicit(caplog: pytest.LogCaptureFixture) -> None:
    table = visits([("Z", 0, 0.0), ("Z", 12, 10.0), ("Z", 24, 0.0)])
    with caplog.at_level(logging.WARNING, logger="salt.trial.endpoints"):
        out = endpoints(table)
    assert "baseline SALT is 0" in caplog.text and "Z" in caplog.text
    # points are defined, percent change is not (no inf, no 0/0 = nan silently)
    assert out["change"].tolist() == [0.0, 10.0, 0.0]
    assert out["pct_change"].isna().all()
    assert not np.isinf(out["pct_change"].to_numpy(dtype=float)).any()
    for column in ("salt50", "salt75", "salt90", "salt100"):
        assert flags(out, column) == [NA, NA, NA]
    # absolute endpoints do not need a baseline
    assert flags(out, "salt_le_20") == [True, True, True]
    with pytest.raises(BadValueError, match=r"baseline SALT is 0 for subject\(s\) Z"):
        endpoints(table, zero_baseline="raise")


def test_missing_visits_absent_rows_and_nan_scores() -> None:
    table = pd.DataFrame(
        {
            "subject": ["A", "A", "A", "B", "B"],
            "week": [0, 12, 24, 12, 24],  # A misses nothing but has a NaN score; B misses week 0
            "salt": [80.0, np.nan, 20.0, 60.0, 30.0],
        }
    )
    out = endpoints(table, baseline=0)
    # A at week 12: no score -> every flag undefined
    row = out.iloc[1]
    assert math.isnan(row["change"]) and math.isnan(row["pct_change"])
    assert all(pd.isna(row[c]) for c in ("salt_le_20", "salt50", "relapse", "eligible"))
    assert out["pct_change"].iloc[2] == -75.0
    # B has no week-0 visit: relative endpoints undefined, absolute ones defined
    assert out["baseline_salt"].iloc[3:].isna().all()
    assert flags(out, "salt50")[3:] == [NA, NA]
    assert flags(out, "salt_le_20")[3:] == [False, False]
    assert flags(out, "eligible")[3:] == [True, False]
    # default baseline (first visit): B's baseline is its week-12 visit
    default = endpoints(table)
    assert default["baseline_salt"].iloc[3:].tolist() == [60.0, 60.0]
    assert flags(default, "salt50")[3:] == [False, True]


def test_relapse_boundary_exactly_20_points_is_not_relapse() -> None:
    # Reference at week 24 (e.g. treatment stopped): 10.1 -> 30.1 is a rise of exactly 20
    # points (not a relapse; 30.1 - 10.1 is 20.000000000000004 in binary floating point),
    # 10.1 -> 30.2 is 20.1 points (relapse).
    table = visits(
        [
            ("A", 0, 80.0),
            ("A", 24, 10.1),
            ("A", 36, 30.1),
            ("B", 0, 80.0),
            ("B", 24, 10.1),
            ("B", 36, 30.2),
        ]
    )
    out = endpoints(table, reference=24)
    assert out["reference_salt"].tolist() == [10.1] * 6
    # undefined at and before the reference visit
    assert flags(out, "relapse") == [NA, NA, False, NA, NA, True]


def test_relapse_default_reference_is_baseline() -> None:
    out = endpoints(visits([("A", 0, 10.0), ("A", 4, 30.0), ("A", 8, 30.5)]))
    assert out["reference_salt"].tolist() == [10.0, 10.0, 10.0]
    assert flags(out, "relapse") == [NA, False, True]


def test_baseline_and_reference_per_subject_mapping() -> None:
    table = visits(
        [("A", -2, 70.0), ("A", 0, 60.0), ("A", 12, 30.0), ("B", 0, 90.0), ("B", 12, 9.0)]
    )
    out = endpoints(table, baseline={"A": 0, "B": 0}, reference={"A": 12})
    assert out["baseline_salt"].tolist() == [60.0, 60.0, 60.0, 90.0, 90.0]
    assert out["pct_change"].tolist()[2] == -50.0
    assert flags(out, "salt90") == [False, False, False, False, True]
    assert out["reference_salt"].iloc[:3].tolist() == [30.0, 30.0, 30.0]
    assert out["reference_salt"].iloc[3:].isna().all()
    assert flags(out, "relapse") == [NA, NA, NA, NA, NA]


def test_row_order_and_index_are_kept() -> None:
    table = visits([("A", 24, 15.0), ("B", 0, 50.0), ("A", 0, 60.0), ("B", 24, 25.0)])
    table.index = [10, 11, 12, 13]
    out = endpoints(table)
    assert list(out.index) == [10, 11, 12, 13]
    assert out["week"].tolist() == [24, 0, 0, 24]
    assert out["pct_change"].tolist() == [-75.0, 0.0, 0.0, -50.0]
    assert "baseline_salt" not in table.columns  # the input is not modified


def test_custom_column_names() -> None:
    table = pd.DataFrame({"id": ["A", "A"], "day": [1, 169], "score": [90.0, 9.0]})
    out = endpoints(table, subject="id", time="day", score="score")
    assert flags(out, "salt90") == [False, True]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pd.DataFrame({"subject": ["A"], "week": [0]}), r"lacks column\(s\) \['salt'\]"),
        (pd.DataFrame({"subject": ["A"], "week": ["w0"], "salt": [1.0]}), "must be numeric"),
        (pd.DataFrame({"subject": ["A"], "week": [0], "salt": [100.5]}), r"row 0: .*\[0, 100\]"),
        (pd.DataFrame({"subject": ["A"], "week": [0], "salt": ["x"]}), r"row 0: .*got 'x'"),
        (pd.DataFrame({"subject": ["A"], "week": [0], "salt": [-1.0]}), r"\[0, 100\]"),
        (
            pd.DataFrame({"subject": ["A", "A"], "week": [4, 4], "salt": [1.0, 2.0]}),
            "more than one visit at week=4",
        ),
        (pd.DataFrame({"subject": [None], "week": [0], "salt": [1.0]}), "'subject' is missing"),
    ],
)
def test_bad_tables_raise(table: pd.DataFrame, message: str) -> None:
    with pytest.raises(BadValueError, match=message):
        endpoints(table)


def test_not_a_dataframe_raises() -> None:
    with pytest.raises(BadValueError, match="DataFrame"):
        endpoints([1, 2, 3])  # type: ignore[arg-type]


def test_salt_endpoints_callable_even_after_submodule_import() -> None:
    import salt.trial.endpoints  # binds the submodule to the package attribute

    out = salt.endpoints(visits([("A", 0, 60.0), ("A", 4, 30.0)]))
    assert flags(out, "salt50") == [False, True]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 200), min_size=1, max_size=5),  # SALT in half points
        min_size=1,
        max_size=4,
    )
)
def test_endpoints_match_exact_rational_implementation(courses: list[list[int]]) -> None:
    # Independent implementation with exact fractions: SALT = h / 2 for integers h.
    rows = [(f"S{i}", w, h / 2) for i, course in enumerate(courses) for w, h in enumerate(course)]
    out = endpoints(visits(rows))
    for (sid, week, value), (_, got) in zip(rows, out.iterrows(), strict=True):
        i = int(sid[1:])
        base = Fraction(courses[i][0], 2)
        cur = Fraction(value)
        assert got["change"] == float(cur - base)
        assert got["salt_le_20"] == (cur <= 20) and got["salt_le_10"] == (cur <= 10)
        assert got["eligible"] == (cur >= 50)
        if base == 0:
            assert all(pd.isna(got[c]) for c in ("pct_change", "salt50", "salt100"))
        else:
            improvement = (base - cur) / base
            for name, level in (("salt50", 50), ("salt75", 75), ("salt90", 90), ("salt100", 100)):
                assert got[name] == (improvement >= Fraction(level, 100)), (name, base, cur)
        if week == 0:
            assert pd.isna(got["relapse"])
        else:
            assert got["relapse"] == (cur - base > 20)


# ---------------------------------------------------------------- CLI


def write(tmp_path: Path, text: str, name: str = "visits.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = """subject,week,top,back,left,right
P1,0,50,50,50,50
P1,12,100,0,0,0
P1,24,0,0,0,0
P2,0,0,0,0,0
P2,12,10,10,10,10
"""


def test_cli_writes_salt_band_iga_and_endpoints(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    assert main(["endpoints", str(write(tmp_path, GOOD)), "-o", str(out)]) == 0
    result = pd.read_csv(out)
    # all views 50 -> SALT 50; top 100 only -> 40 (its weight); all 0 -> 0; all 10 -> 10
    assert result["salt"].tolist() == [50.0, 40.0, 0.0, 0.0, 10.0]
    assert result["band"].tolist() == ["S3", "S2", "S0", "S0", "S1"]
    assert result["aa_iga"].tolist() == [3, 2, 0, 0, 1]
    assert result["pct_change"].iloc[:3].tolist() == [0.0, -20.0, -100.0]
    assert result["salt100"].iloc[:3].tolist() == [False, False, True]
    assert result["pct_change"].iloc[3:].isna().all()  # P2's baseline is 0
    assert result["relapse"].iloc[4] == False  # noqa: E712  (rise of 10 points)
    assert result["eligible"].tolist() == [True, False, False, False, False]
    assert not list(tmp_path.glob(".out.csv.*"))  # no temporary file left behind


def test_cli_visit_labels_and_reference(tmp_path: Path) -> None:
    text = (
        "subject,visit,top,back,left,right\n"
        "A,week0,80,80,80,80\nA,week24,10,10,10,10\nA,week36,31,31,31,31\n"
    )
    out = tmp_path / "out.csv"
    assert main(["endpoints", str(write(tmp_path, text)), "-o", str(out), "--reference", "24"]) == 0
    result = pd.read_csv(out)
    assert result["visit_week"].tolist() == [0.0, 24.0, 36.0]
    assert result["visit"].tolist() == ["week0", "week24", "week36"]
    assert result["relapse"].iloc[2] == True  # noqa: E712  (10 -> 31 is 21 points)


def test_cli_reads_engine_visits_csv(tmp_path: Path) -> None:
    # the columns of salt score's visits.csv; P1/week4 failed (no SALT)
    text = (
        "subject,visit,top_pct,back_pct,left_pct,right_pct,salt,band,aa_iga,status\n"
        "P1,week0,80,80,80,80,80.0,S4,3,ok\n"
        "P1,week4,,,,,,,,failed\n"
        "P1,week12,40,40,40,40,40.0,S2,2,ok\n"
    )
    out = tmp_path / "out.csv"
    assert main(["endpoints", str(write(tmp_path, text)), "-o", str(out)]) == 0
    result = pd.read_csv(out)
    assert result["visit_week"].tolist() == [0.0, 4.0, 12.0]
    assert result["pct_change"].iloc[[0, 2]].tolist() == [0.0, -50.0]
    assert result["salt50"].iloc[[0, 2]].tolist() == [False, True]
    assert result.iloc[1][["salt", "band", "aa_iga", "salt50", "salt_le_20"]].isna().all()
    assert result["status"].tolist() == ["ok", "failed", "ok"]  # other columns kept
    bad = write(tmp_path, text.replace("40.0,S2", "140.0,S2"), "bad.csv")
    assert main(["endpoints", str(bad), "-o", str(out)]) == 2


def test_cli_stdout_when_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["endpoints", str(write(tmp_path, GOOD))]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("subject,week,top,back,left,right,salt,band,aa_iga,baseline_salt")
    assert len(lines) == 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subject,week,top,left,right\nA,0,1,2,3\n", "missing column(s) ['back']"),
        (
            "subject,week,top,back,left,right\nA,0,1,2,3,4\nA,4,101,2,3,4\n",
            "line 3: column 'top' is 101",
        ),
        (
            "subject,week,top,back,left,right\nA,0,1,2,abc,4\n",
            "line 2: column 'left' is 'abc', not a number",
        ),
        ("subject,week,top,back,left,right\nA,0,1,,3,4\n", "line 2: column 'back' is empty"),
        ("subject,week,top,back,left,right\nA,0,1,2,3,-4\n", "line 2: column 'right' is -4"),
        ("subject,week,top,back,left,right\nA,x,1,2,3,4\n", "(line 2: 'x')"),
        ("subject,week,top,back,left,right\nA,0,1,2,3,4\nA,0,1,2,3,4\n", "lines [2, 3]"),
        (
            "subject,visit,top,back,left,right\nA,follow-up,1,2,3,4\nA,V2,1,2,3,4\n",
            "column 'visit' has label(s) that cannot be read (line 2: 'follow-up', line 3: 'V2')",
        ),
        ("subject,week,top,back,left,right\n", "no rows"),
    ],
)
def test_cli_bad_input_exit_2_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    out = tmp_path / "out.csv"
    assert main(["endpoints", str(write(tmp_path, text)), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("salt endpoints: error: ")
    assert expected in err
    assert not out.exists()


def test_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["endpoints", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err


def test_cli_creates_output_folder(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    out = tmp_path / "new" / "sub" / "out.csv"
    assert main(["endpoints", str(path), "-o", str(out)]) == 0
    assert len(pd.read_csv(out)) == 5


def test_cli_unwritable_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["endpoints", str(path), "-o", str(blocker / "out.csv")]) == 2
    assert "cannot create folder" in capsys.readouterr().err


def test_cli_subprocess_exit_code_and_message(tmp_path: Path) -> None:
    path = write(tmp_path, "subject,week,top,back,left,right\nA,0,1,2,3,400\n")
    proc = subprocess.run(
        [sys.executable, "-m", "salt.cli", "endpoints", str(path), "-o", str(tmp_path / "o.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"salt endpoints: error: {path}: line 2: column 'right' is 400, "
        "outside the percentage range [0, 100]"
    ]


# ---------------------------------------------------------------- example table


def test_example_table_is_reproducible_and_scores(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "data"))
    try:
        import make_example_visits
    finally:
        sys.path.remove(str(REPO / "data"))
    shipped = pd.read_csv(REPO / "data" / "example_visits.csv")
    pd.testing.assert_frame_equal(shipped, make_example_visits.make_table(), check_dtype=False)
    out = tmp_path / "out.csv"
    assert main(["endpoints", str(REPO / "data" / "example_visits.csv"), "-o", str(out)]) == 0
    result = pd.read_csv(out)
    assert len(result) == 41  # 6 subjects x 7 visits, P04 missed week 16
    assert result.loc[(result.subject == "P01") & (result.week == 36), "salt100"].item()
    assert not result.loc[(result.subject == "P06") & (result.week == 0), "eligible"].item()


# Scores that sit on, or a rounding error or a hair away from, every band and endpoint boundary,
# mixed with any score in [0, 100].
_BOUNDARIES = [0.0, 10.0, 20.0, 25.0, 50.0, 75.0, 95.0, 96.0, 100.0]
_NEAR = st.sampled_from(_BOUNDARIES).flatmap(
    lambda b: st.sampled_from([-0.5, -1e-6, -1e-12, 0.0, 1e-12, 1e-6, 0.5]).map(
        lambda d: min(100.0, max(0.0, b + d))
    )
)
_SCORES = st.one_of(st.floats(min_value=0.0, max_value=100.0), _NEAR)


@settings(max_examples=200, deadline=None)
@given(st.lists(_SCORES, min_size=1, max_size=20))
def test_bands_and_grades_agree_with_endpoint_flags(scores: list[float]) -> None:
    # One subject per score, each seen once: the flags of endpoints() against the band and grade
    # of the same unrounded score.
    table = pd.DataFrame({"subject": range(len(scores)), "week": 0, "salt": scores})
    out = endpoints(table)
    for s, le20, eligible in zip(scores, out["salt_le_20"], out["eligible"], strict=True):
        assert bool(le20) == (aa_iga(s) <= 1), s
        assert bool(eligible) == (severity_band(s) in {"S3", "S4", "S5"}), s
        assert bool(eligible) == (aa_iga(s) >= 3), s


def test_the_two_cases_that_used_to_disagree() -> None:
    out = endpoints(pd.DataFrame({"subject": [1, 2], "week": 0, "salt": [20.4, 49.6]}))
    assert out["salt_le_20"].tolist() == [False, False]
    assert out["eligible"].tolist() == [False, False]
    assert aa_iga(20.4) == 2
    assert severity_band(49.6) == "S2"


def test_baseline_time_states_the_rule_and_warns_without_time_zero(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = visits([("A", 0, 80.0), ("A", 12, 40.0), ("B", 4, 60.0), ("B", 12, 30.0)])
    with caplog.at_level(logging.WARNING, logger="salt.trial.endpoints"):
        out = endpoints(table)
    # B has no week-0 visit: its first visit (week 4) is its baseline, and that is said
    assert out["baseline_time"].tolist() == [0.0, 0.0, 4.0, 4.0]
    assert "1 subject(s) have no visit at week 0" in caplog.text and "B (week 4)" in caplog.text
    at0 = endpoints(table, baseline=0)
    assert at0["baseline_time"].isna().tolist() == [False, False, True, True]
    per = endpoints(table, baseline={"A": 12})
    assert per["baseline_time"].fillna(-1).tolist() == [12.0, 12.0, -1.0, -1.0]
    assert per["baseline_salt"].fillna(-1).tolist() == [40.0, 40.0, -1.0, -1.0]


def test_ids_differing_in_case_or_spaces_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    table = visits([("P01", 0, 80.0), ("p01", 12, 40.0), ("P02 ", 0, 60.0), ("P02", 4, 50.0)])
    with caplog.at_level(logging.WARNING, logger="salt.trial.endpoints"):
        out = endpoints(table)
    # kept apart (each its own baseline), but said
    assert out["baseline_salt"].tolist() == [80.0, 40.0, 60.0, 50.0]
    assert "'P01' / 'p01'" in caplog.text and "'P02' / 'P02 '" in caplog.text
