"""salt rescore: a corrected mask changes exactly that view's %, and survives later model runs.

The visit needing review (``review_cases.UNSURE_VISIT``) has, on its top photo, a
hairless block of columns 0..79 on a scalp band 320 columns wide: 25 %. The clinician
widens the block to columns 0..119 (``test_review_coco.edit_top``): 120 / 320 = 37.5 %.
The other views keep the model's 50, 12.5 and 0 %, so SALT is
0.40 * 37.5 + 0.24 * 50 + 0.18 * 12.5 + 0.18 * 0 = 29.25.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from review_cases import UNSURE_VISIT, build_photos, score
from test_engine import write
from test_review_coco import edit_top

from salt.cli import main
from salt.errors import InputFileError, OutputError
from salt.review.coco import export_coco, import_coco
from salt.review.rescore import rescore

CORRECTED = {"top": 37.5, "back": 50.0, "left": 12.5, "right": 0.0}
CORRECTED_SALT = 0.40 * 37.5 + 0.24 * 50.0 + 0.18 * 12.5 + 0.18 * 0.0


def visits(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "visits.csv", dtype={"subject": str, "visit": str}).set_index(
        ["subject", "visit"]
    )


@pytest.fixture
def corrected(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    """A scored folder, its visit needing review corrected through COCO and salt rescore."""
    photos = build_photos(tmp_path / "photos")
    out = tmp_path / "out"
    score(photos, out)
    before = visits(out)
    exported = export_coco(out)
    (out / "review-coco.json").write_text(json.dumps(exported))  # as export-annotations writes it
    (tmp_path / "edited.json").write_text(json.dumps(edit_top(json.loads(json.dumps(exported)))))
    import_coco(tmp_path / "edited.json", photos, tmp_path / "labelled")
    args = ["rescore", str(out), "--from", str(tmp_path / "labelled"), "--by", "Dr Test"]
    assert main([*args, "--at", "2026-11-30"]) == 0
    return photos, out, before


def assert_corrected(out: Path, before: pd.DataFrame) -> None:
    after = visits(out)
    row = after.loc[UNSURE_VISIT]
    assert row["status"] == "corrected"
    for view, pct in CORRECTED.items():
        assert row[f"{view}_pct"] == pytest.approx(pct)
    assert row["salt"] == pytest.approx(CORRECTED_SALT)
    assert "Dr Test" in row["message"] and "2026-11-30" in row["message"]
    others = after.drop(index=UNSURE_VISIT)
    pd.testing.assert_frame_equal(others, before.drop(index=UNSURE_VISIT))


def test_corrected_mask_changes_exactly_that_view(corrected) -> None:
    _, out, before = corrected
    assert before.loc[UNSURE_VISIT, "status"] == "needs_review"
    assert before.loc[UNSURE_VISIT, "top_pct"] == pytest.approx(25.0)
    assert_corrected(out, before)
    # only the edited view is a correction: the other three masks equal the exported ones
    table = pd.read_csv(out / "corrections.csv").set_index("view")
    assert list(table.index) == ["top"] and set(table["by"]) == {"Dr Test"}
    assert table.loc["top", "model_loss_pct"] == pytest.approx(25.0)
    assert table.loc["top", "corrected_loss_pct"] == pytest.approx(CORRECTED["top"])
    assert "corrected top " in visits(out).loc[UNSURE_VISIT, "message"]
    views = pd.read_csv(out / "views.csv", dtype={"subject": str, "visit": str})
    top = views[(views["subject"] == UNSURE_VISIT[0]) & (views["view"] == "top")].iloc[0]
    assert top["overlay"].endswith("top-corrected.jpg") and (out / top["overlay"]).is_file()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "/".join(UNSURE_VISIT) + "/sheet-corrected.jpg" in page  # the corrected sheet is shown
    assert (out / "overlays" / UNSURE_VISIT[0] / UNSURE_VISIT[1] / "sheet-corrected.jpg").is_file()


def test_corrections_survive_later_model_runs(corrected) -> None:
    photos, out, before = corrected
    score(photos, out)  # resumed: the visit is reused
    assert_corrected(out, before)
    score(photos, out, resume=False)  # every visit scored again by the model
    assert_corrected(out, before)


def test_a_replaced_photo_drops_its_correction(corrected) -> None:
    from test_engine import painted

    photos, out, _ = corrected
    write(photos / UNSURE_VISIT[0] / UNSURE_VISIT[1] / "top.png", painted(4))
    score(photos, out)
    row = visits(out).loc[UNSURE_VISIT]
    assert row["top_pct"] == pytest.approx(100.0 * 4 / 64)  # the model's, on the new photo
    # top was the visit's only correction: the visit is the model's again, nothing listed
    assert row["status"] != "corrected" and "corrected" not in str(row["message"])
    table = out / "corrections.csv"
    assert not table.exists() or "top" not in set(pd.read_csv(table)["view"])


def test_rescore_needs_corrections(tmp_path: Path) -> None:
    photos = build_photos(tmp_path / "photos")
    score(photos, tmp_path / "out")
    with pytest.raises(OutputError, match="no corrected masks"):
        rescore(tmp_path / "out")
    with pytest.raises(InputFileError, match="visits"):
        rescore(tmp_path / "nothing")


def test_a_folder_without_journal_is_refused_not_emptied(corrected) -> None:
    from salt.io.outputs import JOURNAL_NAME

    _, out, _ = corrected
    (out / JOURNAL_NAME).unlink()
    table = (out / "visits.csv").read_text()
    with pytest.raises(InputFileError, match="journal"):
        rescore(out)
    assert (out / "visits.csv").read_text() == table
