"""report.html: written by every scored output folder, self-contained, relative images.

The folder is scored by the colour model (``review_cases``), so which visit needs review,
which fails and every SALT are known from the drawing. The page is read with
``html.parser``; ``test_report_browser.py`` opens it in Chromium.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest
from review_cases import UNSURE_VISIT, VISITS, Page, build_photos, score

import salt
from salt.errors import InputFileError
from salt.review.report import write_report


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("report")
    out = base / "out"
    score(build_photos(base / "photos"), out)
    return out


@pytest.fixture(scope="module")
def page(scored: Path) -> Page:
    return Page((scored / "report.html").read_text(encoding="utf-8"))


def test_score_writes_the_report(scored: Path) -> None:
    assert (scored / "report.html").is_file()


def test_visit_needing_review_comes_first_and_failed_next(page: Page) -> None:
    first, second = page.rows[0], page.rows[1]
    assert first[1:3] == list(UNSURE_VISIT) and "needs_review" in first[6]
    assert second[1] == "Q_bad" and "failed" in second[6]
    assert len(page.rows) == len(VISITS) + 2


def test_salt_is_shown_to_one_decimal(page: Page, scored: Path) -> None:
    table = pd.read_csv(scored / "visits.csv", dtype={"subject": str, "visit": str})
    shown = {(r[1], r[2]): r[3] for r in page.rows}
    for row in table.itertuples():
        if pd.notna(row.salt):
            assert shown[(row.subject, row.visit)] == f"{row.salt:.1f}"
    assert shown[("Q_bad", "week0")] == "–"


def test_every_image_is_relative_lazy_and_exists(page: Page, scored: Path) -> None:
    # the 2x2 sheet of every visit (the failed one too: three views and a grey tile)
    assert len(page.images) == len(VISITS) + 2 == len(list(scored.glob("overlays/*/*/sheet.jpg")))
    for img in page.images:
        src = str(img["src"])
        assert not re.match(r"^[a-z]+:", src) and not src.startswith("/")
        assert img["loading"] == "lazy"
        assert (scored / unquote(src)).is_file()
    assert not page.scripts  # no external script: one self-contained file


def test_links_to_the_tables_resolve(page: Page, scored: Path) -> None:
    files = [h for h in page.links if not h.startswith("#")]
    for name in ("visits.csv", "views.csv", "errors.csv", "run.json"):
        assert name in files
    for href in files:
        assert (scored / unquote(href)).is_file(), href
    anchors = {h[1:] for h in page.links if h.startswith("#")}
    text = (scored / "report.html").read_text(encoding="utf-8")
    for a in anchors:
        assert f'id="{a}"' in text


def test_one_plot_per_subject_with_several_visits_and_the_20_50_lines(page: Page) -> None:
    subjects = {s for s, _ in VISITS} | {UNSURE_VISIT[0]}
    several = [s for s in subjects if sum(1 for k in VISITS if k[0] == s) >= 2]
    assert page.svgs == len(several) == 1  # P01 only
    levels = {line["data-salt"]: float(str(line["y1"])) for line in page.lines}
    assert set(levels) == {"20", "50"}
    # the plot's y axis runs from 100 (top) to 0 (bottom): the 50 line is above the 20 line,
    # and 0 lies as far below 20 as 50 lies above it, times 20/30
    ticks = re.findall(r'<text x="[\d.]+" y="([\d.]+)" text-anchor="end">0</text>', page.text)
    y0 = float(ticks[0]) - 3
    assert levels["50"] < levels["20"] < y0
    assert (y0 - levels["20"]) / (levels["20"] - levels["50"]) == pytest.approx(20 / 30, abs=0.02)


def test_summary_counts_and_model(page: Page, scored: Path) -> None:
    text = page.text
    run = json.loads((scored / "run.json").read_text())
    assert run["model"]["sha256"] in text and run["model"]["name"] in text
    cards = dict(re.findall(r'<div class="card">([a-z ]+)<b>(\d+)</b>', text))
    assert cards["visits"] == str(len(VISITS) + 2)
    assert cards["needing review"] == "1" and cards["failed"] == "1"
    assert cards["scored"] == str(len(VISITS) + 1)


def test_names_are_escaped_and_unescaped_from_csv(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    pd.DataFrame(
        {
            "subject": ["<script>alert(1)</script>", "'=HYPERLINK(1)"],
            "visit": ["w0", "w0"],
            "salt": [10.0, 20.0],
            "status": ["ok", "ok"],
        }
    ).to_csv(out / "visits.csv", index=False)
    pd.DataFrame(columns=["subject", "visit", "view", "loss_pct", "confidence"]).to_csv(
        out / "views.csv", index=False
    )
    text = write_report(out).read_text(encoding="utf-8")
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)" in text
    # the CSV escaping of a formula-like name is undone for display
    assert "=HYPERLINK(1)" in text and "&#39;=HYPERLINK" not in text


def test_public_call_and_missing_tables(scored: Path, tmp_path: Path) -> None:
    (scored / "report.html").unlink()
    assert salt.report(scored) == scored / "report.html"
    assert (scored / "report.html").is_file()
    with pytest.raises(InputFileError, match=r"visits\.csv"):
        salt.report(tmp_path)


def test_cli_report(scored: Path) -> None:
    from salt.cli import main

    (scored / "report.html").unlink()
    assert main(["report", str(scored)]) == 0
    assert (scored / "report.html").is_file()
