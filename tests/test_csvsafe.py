"""CSV cells escaped against formula injection (OWASP rule), in one place."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from salt.io.csvsafe import csv_text, escape_cell, unescape_cell, write_csv


@pytest.mark.parametrize(
    "cell", ["=1+1", "+A1", "-A1+1", "@SUM(A1)", "\tx", "\rx", "=cmd|' /C calc'!A0"]
)
def test_formula_cells_get_a_quote(cell: str) -> None:
    assert escape_cell(cell) == "'" + cell
    assert unescape_cell(escape_cell(cell)) == cell


@pytest.mark.parametrize(
    "cell", ["P01", "week-4", "-2", "+1.5", "-0.25e3", "", "'x", 3.0, -2.5, None]
)
def test_harmless_cells_unchanged(cell: object) -> None:
    assert escape_cell(cell) == cell


def test_write_csv_escapes_text_keeps_numbers(tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "subject": pd.Series(['=HYPERLINK("http://evil","x")', "@P2", "P3"], dtype="string"),
            "visit": ["-1+2", "week 4", "+week"],
            "salt": [-1.5, 2.0, float("nan")],
            "band": pd.Categorical(["=S1", "S2", "S2"]),
        }
    )
    path = tmp_path / "t.csv"
    write_csv(path, frame)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["subject", "visit", "salt", "band"]
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("http://evil","x")', "'@P2", "P3"]
    assert [r[1] for r in rows[1:]] == ["'-1+2", "week 4", "'+week"]
    assert [r[2] for r in rows[1:]] == ["-1.5", "2.0", ""]
    assert [r[3] for r in rows[1:]] == ["'=S1", "S2", "S2"]
    assert frame.loc[0, "subject"].startswith("=")  # the caller's frame is not changed
    assert list(tmp_path.iterdir()) == [path]


def test_column_names_are_escaped() -> None:
    text = csv_text(pd.DataFrame({"=x": [1]}))
    assert text.splitlines()[0] == "'=x"
