"""salt score-visit: the one-visit table on screen and the sheet (PNG, PDF) for the record."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_engine import PCT, SALT, K, colour_model, good_visit

import salt
from salt.quality import FLAG_NAMES
from salt.review import sheet


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("visit")
    good_visit(folder)
    return {v: folder / f"{v}.png" for v in K}


def test_table_lists_each_view_and_salt(photos: dict[str, Path]) -> None:
    result = salt.score_visit(photos, model=colour_model(), backend="torch")
    lines = sheet.result_table(result).splitlines()
    for view in salt.VIEWS:
        (line,) = [x for x in lines if x.startswith(view + " ")]
        assert line.split()[1] == f"{PCT[view]:.1f}"
    assert f"SALT {SALT:.1f}" in lines[-1] and "status ok" in lines[-1]


def test_sheet_carries_numbers_model_and_date(photos: dict[str, Path]) -> None:
    when = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
    result, image = sheet.score_and_draw(
        photos, model=colour_model(), backend="torch", subject="P01", visit="week0", when=when
    )
    text = "\n".join(" ".join(row) for row in sheet._panel_rows(result, when))
    assert "colour-test" in text and result.model_sha256[:16] in text
    assert "2026-03-14 09:30 UTC" in text and f"SALT {SALT:.1f}" in text
    # the 2x2 overlay sheet (720 x 760) above a white panel with the text
    assert image.shape[1] == 720 and image.shape[0] > 760
    panel = image[770:]
    assert (panel == 255).mean() > 0.8 and (panel < 128).any()


def test_cli_prints_the_table_and_writes_png_and_pdf(
    photos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from salt.cli import main

    real = sheet.score_and_draw

    def with_colour_model(p, **kw):  # the CLI takes a model name; use the test model instead
        return real(p, **{**kw, "model": colour_model(), "backend": "torch"})

    monkeypatch.setattr(sheet, "score_and_draw", with_colour_model)
    args = ["score-visit", *(str(photos[v]) for v in salt.VIEWS), "-o", str(tmp_path / "o")]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"SALT {SALT:.1f}" in printed and "hair loss %" in printed
    png = np.asarray(Image.open(tmp_path / "o" / "sheet.png"))
    assert png.shape[1] == 720
    assert (tmp_path / "o" / "sheet.pdf").read_bytes().startswith(b"%PDF")


def test_quality_flags_are_shown_on_the_table_and_the_sheet(photos: dict[str, Path]) -> None:
    result = salt.score_visit(photos, model=colour_model(), backend="torch")
    for view in salt.VIEWS:  # the test photos are not real views: start from no flag at all
        result.views[view].flags.update(dict.fromkeys(FLAG_NAMES, False))
    assert not any("view mismatch" in x for x in sheet.result_table(result).splitlines())
    result.views["top"].flags["view_mismatch"] = True  # e.g. the back photo given as top
    (top,) = [x for x in sheet.result_table(result).splitlines() if x.startswith("top ")]
    assert top.endswith("view mismatch")
    rows = sheet._panel_rows(result, datetime(2026, 3, 14, tzinfo=UTC))
    assert next(r for r in rows if r[0] == "top")[3] == "view mismatch"
