"""Spreadsheets as clinics export them (salt.trial.tables and `salt endpoints`), one test per kind.

Each test writes its own small file; the expected SALT is worked out by hand from the
weights 0.40 top + 0.24 back + 0.18 left + 0.18 right.
"""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from salt.cli import main
from salt.errors import BadValueError, InputFileError
from salt.trial.tables import normalise_subjects, parse_visit_label, read_table, visit_weeks


def run(tmp_path: Path, data: bytes | str, *extra: str) -> pd.DataFrame:
    src = tmp_path / "in.csv"
    src.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    out = tmp_path / "out.csv"
    assert main(["endpoints", str(src), "-o", str(out), *extra]) == 0
    return pd.read_csv(out, dtype={"subject": str})


def fails(tmp_path: Path, data: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    src = tmp_path / "in.csv"
    src.write_text(data, encoding="utf-8")
    assert main(["endpoints", str(src), "-o", str(tmp_path / "out.csv"), *extra]) == 2
    return capsys.readouterr().err


def test_trailing_commas_do_not_shift_columns(tmp_path: Path) -> None:
    # Excel exports rows ending in a comma; pandas alone would make 'subject' the index
    text = "subject,week,top,back,left,right\nA,0,100,0,0,0,\nA,12,0,100,0,0,\n"
    out = run(tmp_path, text)
    assert out["subject"].tolist() == ["A", "A"]
    assert out["salt"].tolist() == [40.0, 24.0]  # top weight, back weight


def test_extra_non_empty_cell_is_an_error_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = fails(tmp_path, "subject,week,top,back,left,right\nA,0,1,2,3,4\nA,4,1,2,3,4,99\n", capsys)
    assert "line 3: 7 cells but the header has 6 columns" in err


def test_sep_line_semicolons_and_decimal_commas(tmp_path: Path) -> None:
    text = "sep=;\nsubject;week;top;back;left;right\nA;0;12,5;12,5;12,5;12,5\nA;4;50;50;50;50\n"
    src = tmp_path / "t.csv"
    src.write_text(text)
    table, fmt = read_table(src)
    assert (fmt.delimiter, fmt.decimal, fmt.sep_line) == (";", ",", True)
    assert table.index.tolist() == [3, 4]  # the file's lines
    assert "delimiter ';', decimal comma; 'sep=' line skipped" in fmt.describe()
    out = run(tmp_path, text)
    assert out["salt"].tolist() == [12.5, 50.0]


def test_windows_1252_capitalised_headers_blank_rows(tmp_path: Path) -> None:
    text = (
        "Subject, Week ,TOP,Back,Left,Right\r\n\r\n"
        "Zoë,0,80,80,80,80\r\n,,,,,\r\nZoë,24,10,10,10,10\r\n"
    )
    data = text.encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really not UTF-8
    src = tmp_path / "t.csv"
    src.write_bytes(data)
    table, fmt = read_table(src)
    assert fmt.encoding == "cp1252" and fmt.blank_lines == (2, 4)
    assert list(table.columns) == ["subject", "week", "top", "back", "left", "right"]
    out = run(tmp_path, data)
    assert out["subject"].tolist() == ["Zoë", "Zoë"]
    assert out["salt"].tolist() == [80.0, 10.0]
    assert out["salt_le_20"].tolist() == [False, True]


def test_visit_labels_with_units_one_time_axis(tmp_path: Path) -> None:
    # week-4 is week 4 (not -4), so week 0 stays the baseline; Month 18 (78 weeks) is after Week 52
    text = (
        "subject,visit,top,back,left,right\n"
        "A,Month 18,10,10,10,10\nA,Week 52,20,20,20,20\n"
        "A,week-4,60,60,60,60\nA,baseline,80,80,80,80\n"
    )
    out = run(tmp_path, text)
    weeks = dict(zip(out["visit"], out["visit_week"], strict=True))
    assert weeks == {"Month 18": 78.0, "Week 52": 52.0, "week-4": 4.0, "baseline": 0.0}
    assert set(out["baseline_salt"]) == {80.0}
    assert parse_visit_label("day 14") == 2.0 and parse_visit_label("week -4") == -4.0


def test_unreadable_visit_labels_are_all_named() -> None:
    labels = pd.Series(["week 4", "V2", "follow-up", "month 6"], index=[2, 3, 4, 5])
    with pytest.raises(BadValueError, match=r"line 3: 'V2', line 4: 'follow-up'"):
        visit_weeks(labels)


def test_subject_ids_nfc_trimmed_and_case_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    composed, decomposed = "Zo\u00eb", unicodedata.normalize("NFD", "Zo\u00eb")
    assert composed != decomposed
    text = (
        "subject,week,top,back,left,right\n"
        f"{composed},0,80,80,80,80\n{decomposed},12,10,10,10,10\n"
        "P01,0,60,60,60,60\nP01 ,12,30,30,30,30\n"
    )
    out = run(tmp_path, text)
    assert out["subject"].nunique() == 2  # Zoë twice and P01 twice are one subject each
    assert out.loc[out["subject"] == "P01", "pct_change"].tolist() == [0.0, -50.0]
    err = fails(tmp_path, text + "p01,24,20,20,20,20\n", capsys)
    assert "differ only in case: 'P01' (lines 4, 5); 'p01' (lines 6)" in err
    assert normalise_subjects(pd.Series([" A "])).tolist() == ["A"]


def test_fractions_refused_unless_declared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # total loss given as fractions: read as percent it would be SALT 1, a responder
    text = "subject,week,top,back,left,right\nA,0,1,1,1,1\nA,24,0.9,0.9,0.9,0.9\n"
    err = fails(tmp_path, text, capsys)
    assert "lines [2, 3]: views between 0 and 1" in err and "--view-scale fraction" in err
    # one fraction row among percentages is caught too; 1 % loss of one view is not a fraction
    mixed = "subject,week,top,back,left,right\nA,0,80,70,60,60\nA,24,0.9,0.9,0.9,0.9\n"
    assert "lines [3]" in fails(tmp_path, mixed, capsys)
    regrown = "subject,week,top,back,left,right\nA,0,80,70,60,60\nA,24,1,0,0,0\n"
    assert run(tmp_path, regrown)["salt"].tolist()[1] == pytest.approx(0.4)
    out = run(tmp_path, text, "--view-scale", "fraction")
    assert out["salt"].tolist() == [100.0, 90.0]
    assert out["salt_le_20"].tolist() == [False, False]
    assert run(tmp_path, text, "--view-scale", "percent")["salt"].tolist() == [1.0, 0.9]
    assert "values above 1" in fails(
        tmp_path, text + "A,36,50,1,1,1\n", capsys, "--view-scale", "fraction"
    )


def test_baseline_rule_stated_and_warning_without_week_0(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = "subject,week,top,back,left,right\nA,0,80,80,80,80\nB,4,60,60,60,60\nB,12,30,30,30,30\n"
    with caplog.at_level(logging.INFO, logger="salt"):
        out = run(tmp_path, text)
    assert out["baseline_time"].tolist() == [0.0, 4.0, 4.0]
    assert "baseline: each subject's first visit" in caplog.text
    assert "1 subject(s) have no visit at week 0" in caplog.text and "B (week 4)" in caplog.text
    fixed = run(tmp_path, text, "--baseline", "0")
    assert fixed["baseline_time"].isna().tolist() == [False, True, True]


def test_formula_injection_escaped_in_output(tmp_path: Path) -> None:
    text = 'subject,week,top,back,left,right\n"=HYPERLINK(""http://x"")",0,50,50,50,50\n@P2,0,10,10,10,10\n'
    out = run(tmp_path, text)
    assert out["subject"].tolist() == ['\'=HYPERLINK("http://x")', "'@P2"]
    assert out["salt"].tolist() == [50.0, 10.0]


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "e.csv"
    empty.write_text("\n\n")
    with pytest.raises(InputFileError, match="empty"):
        read_table(empty)
    with pytest.raises(InputFileError, match="no such file"):
        read_table(tmp_path / "nope.csv")


def test_escaped_cells_read_back_once(tmp_path: Path) -> None:
    # a table salt wrote (escaped) goes through salt endpoints without a second quote
    text = "subject,week,top,back,left,right\n'=P1,0,50,50,50,50\n'=P1,12,10,10,10,10\n"
    out = run(tmp_path, text)
    assert out["subject"].tolist() == ["'=P1", "'=P1"]
    assert out["pct_change"].tolist() == [0.0, -80.0]
