"""COCO round trip: export the masks of visits needing review, edit a polygon, import.

The colour model's masks are the drawing itself: on the ``top`` photo of the visit
that needs review, the scalp is rows 64..191 and the hairless block columns 0..79
(``test_engine.painted``). The test moves the right edge of that block from column
80 to column 120 in the COCO file, as a clinician would in CVAT, and the imported
mask must change exactly in rows 64..191, columns 80..119, from hair to hairless.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from review_cases import UNSURE_VISIT, build_photos, score
from test_engine import W

from salt.classmap import HAIR, HAIRLESS
from salt.errors import BadValueError, InputFileError
from salt.io.folders import labelled_photos
from salt.io.photo import load_mask
from salt.io.storage import sha256
from salt.review.coco import export_coco, import_coco

SUBJECT, VISIT = UNSURE_VISIT
NEW_EDGE = 120  # the edited hairless block ends before this column (was 80)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("coco")
    photos = build_photos(base / "photos")
    score(photos, base / "out")
    return photos, base / "out"


def edit_top(coco: dict) -> dict:
    """Move the right edge of the top photo's hairless polygon to NEW_EDGE."""
    edited = json.loads(json.dumps(coco))
    top = next(i["id"] for i in edited["images"] if i["salt_view"] == "top")
    (poly,) = [
        a
        for a in edited["annotations"]
        if a["image_id"] == top and a["category_id"] == 2  # hairless
    ]
    xy = poly["segmentation"][0]
    right = max(xy[0::2])
    assert 79 < right < 80  # the block's last column is 79
    for i in range(0, len(xy), 2):
        if xy[i] == right:
            xy[i] = NEW_EDGE - 1 + (right - 79)
    return edited


def test_export_chooses_visits_needing_review(scored: tuple[Path, Path]) -> None:
    _, out = scored
    coco = export_coco(out)
    names = sorted(i["file_name"] for i in coco["images"])
    assert names == sorted(f"{SUBJECT}/{VISIT}/{v}.png" for v in ("top", "back", "left", "right"))
    assert {c["name"] for c in coco["categories"]} == {"scalp", "hairless", "hair"}
    assert all(i["width"] == W for i in coco["images"])
    right = next(i["id"] for i in coco["images"] if i["salt_view"] == "right")
    # the right view has no hairless scalp: a scalp polygon only
    assert {a["category_id"] for a in coco["annotations"] if a["image_id"] == right} == {1}


def test_round_trip_changes_the_mask_exactly_where_the_polygon_moved(
    scored: tuple[Path, Path], tmp_path: Path
) -> None:
    photos, out = scored
    coco = export_coco(out)
    (tmp_path / "as_exported.json").write_text(json.dumps(coco))
    (tmp_path / "edited.json").write_text(json.dumps(edit_top(coco)))
    import_coco(tmp_path / "as_exported.json", photos, tmp_path / "same")
    import_coco(tmp_path / "edited.json", photos, tmp_path / "edited", by="Dr Test")

    for view in ("top", "back", "left", "right"):
        rel = Path(SUBJECT) / VISIT / f"{view}.png"
        model = load_mask(out / "masks" / rel)  # palette PNG of salt score --masks
        same = load_mask(tmp_path / "same" / "masks" / rel)
        edited = load_mask(tmp_path / "edited" / "masks" / rel)
        assert np.array_equal(same, model), view  # no edit: the model's mask comes back
        changed = edited != same
        if view != "top":
            assert not changed.any(), view
            continue
        expected = np.zeros_like(changed)
        expected[64:192, 80:NEW_EDGE] = True
        assert np.array_equal(changed, expected)
        assert (same[expected] == HAIR).all() and (edited[expected] == HAIRLESS).all()


def test_import_writes_the_labelled_folder_layout(
    scored: tuple[Path, Path], tmp_path: Path
) -> None:
    photos, out = scored
    (tmp_path / "c.json").write_text(json.dumps(export_coco(out)))
    import_coco(tmp_path / "c.json", photos, tmp_path / "lab", by="Dr Test")
    pairs = labelled_photos(tmp_path / "lab")
    assert sorted(p.view or "" for p in pairs) == ["back", "left", "right", "top"]
    for p in pairs:
        assert p.parts == (SUBJECT, VISIT)
        assert sha256(p.photo) == sha256(photos / SUBJECT / VISIT / p.photo.name)
    record = json.loads((tmp_path / "lab" / "annotations.json").read_text())
    assert record["images"][f"{SUBJECT}/{VISIT}/top"]["by"] == "Dr Test"


def test_import_finds_views_by_file_name_without_salt_fields(
    scored: tuple[Path, Path], tmp_path: Path
) -> None:
    photos, out = scored
    coco = export_coco(out)
    for img in coco["images"]:  # what a tool that drops unknown fields gives back
        for k in ("salt_subject", "salt_visit", "salt_view", "salt_sha256"):
            del img[k]
    (tmp_path / "c.json").write_text(json.dumps(coco))
    written = import_coco(tmp_path / "c.json", photos, tmp_path / "lab")
    assert len(written) == 4


def test_bad_inputs_name_the_problem(scored: tuple[Path, Path], tmp_path: Path) -> None:
    photos, out = scored
    with pytest.raises(BadValueError, match="no visit"):
        export_coco(out, statuses=("flagged",))
    coco = export_coco(out)
    coco["categories"][0]["name"] = "eyebrow"
    (tmp_path / "cat.json").write_text(json.dumps(coco))
    with pytest.raises(InputFileError, match="eyebrow"):
        import_coco(tmp_path / "cat.json", photos, tmp_path / "lab")
    with pytest.raises(InputFileError, match="is missing"):
        import_coco(tmp_path / "cat.json", tmp_path, tmp_path / "lab")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputFileError, match=r"bad\.json"):
        import_coco(tmp_path / "bad.json", photos, tmp_path / "lab")


def test_cli_export_and_import(scored: tuple[Path, Path], tmp_path: Path) -> None:
    from salt.cli import main

    photos, out = scored
    dest = tmp_path / "review.json"
    assert main(["export-annotations", str(out), "--format", "coco", "-o", str(dest)]) == 0
    assert len(json.loads(dest.read_text())["images"]) == 4
    assert main(["export-annotations", str(out), "--all", "-o", str(dest)]) == 0
    assert len(json.loads(dest.read_text())["images"]) > 4
    args = ["import-annotations", str(dest), "--photos", str(photos), "-o", str(tmp_path / "lab")]
    assert main(args) == 0
    assert len(labelled_photos(tmp_path / "lab")) == len(json.loads(dest.read_text())["images"])


def test_export_predicts_masks_a_run_did_not_keep(
    scored: tuple[Path, Path], tmp_path: Path
) -> None:
    from test_engine import colour_model

    import salt

    photos, with_masks = scored
    out = tmp_path / "out"
    salt.score_folder(photos, out, model=colour_model(), backend="torch", progress=False)
    with pytest.raises(InputFileError, match="--masks"):
        export_coco(out)

    def predict(row):
        view = str(row["view"])
        res = salt.score_visit(
            {view: row["path"]}, model=colour_model(), backend="torch", partial=True, masks=True
        )
        return res.views[view].class_map

    # the network-size class map, scaled to the photo, gives the same polygons' masks
    again, kept = export_coco(out, predict=predict), export_coco(with_masks)
    assert [a["area"] for a in again["annotations"]] == pytest.approx(
        [a["area"] for a in kept["annotations"]], rel=0.02
    )


def test_import_never_writes_outside_the_labelled_folder(
    scored: tuple[Path, Path], tmp_path: Path
) -> None:
    photos, out = scored
    coco = export_coco(out)
    for img in coco["images"]:
        img["salt_subject"] = "../../escaped"
    (tmp_path / "c.json").write_text(json.dumps(coco))
    dest = tmp_path / "a" / "b" / "lab"
    written = import_coco(tmp_path / "c.json", photos, dest)
    assert len(written) == 4 and all(dest in p.parents for p in written)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "a" / "escaped").exists()


def test_rle_masks_are_read_like_polygons(scored: tuple[Path, Path], tmp_path: Path) -> None:
    from pycocotools import mask as mask_api

    photos, out = scored
    coco = export_coco(out)
    (tmp_path / "poly.json").write_text(json.dumps(coco))
    for ann in coco["annotations"]:  # what a tool that exports masks as RLE gives back
        img = next(i for i in coco["images"] if i["id"] == ann["image_id"])
        rle = mask_api.merge(mask_api.frPyObjects(ann["segmentation"], img["height"], img["width"]))
        ann["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
        ann["iscrowd"] = 1
    (tmp_path / "rle.json").write_text(json.dumps(coco))
    import_coco(tmp_path / "poly.json", photos, tmp_path / "poly")
    import_coco(tmp_path / "rle.json", photos, tmp_path / "rle")
    for view in ("top", "back", "left", "right"):
        rel = Path(SUBJECT) / VISIT / f"{view}.png"
        assert np.array_equal(
            load_mask(tmp_path / "poly" / "masks" / rel),
            load_mask(tmp_path / "rle" / "masks" / rel),
        )
