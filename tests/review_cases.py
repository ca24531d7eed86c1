"""A small output folder for the review tests: painted photos scored by the colour model.

The colour model of ``test_engine`` makes blue pixels "not scalp", green "hair" and red
"hairless", so every percentage is known from the drawing. A scalp painted a muted
yellow-green (G a little above R) is still "hair" but the network is unsure of it, so
that view's confidence is low and its visit needs review.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from test_engine import H, W, colour_model, good_visit, painted, write

import salt

#: Width of the bald block per view (in 5-pixel columns; see ``test_engine.painted``),
#: different for every view of a visit so that no two photos are the same file.
VISITS: dict[tuple[str, str], dict[str, int]] = {
    ("P01", "week0"): {"top": 16, "back": 32, "left": 8, "right": 0},
    ("P01", "week4"): {"top": 8, "back": 16, "left": 4, "right": 0},
    ("P01", "week12"): {"top": 2, "back": 4, "left": 1, "right": 0},
    ("P02", "week0"): {"top": 40, "back": 38, "left": 20, "right": 22},
}
UNSURE_VISIT = ("P03", "week0")


def unsure_painted(k: int) -> np.ndarray:
    """Like ``painted(k)``, but the hair is a colour the network is unsure of."""
    img = painted(k)
    hair = np.all(img == (0, 255, 0), axis=-1)
    img[hair] = (118, 128, 0)
    return img


def build_photos(root: Path) -> Path:
    """Photos of the visits above, one needing review and one that fails."""
    for (subject, visit), k in VISITS.items():
        good_visit(root / subject / visit, k=k)
    folder = root / UNSURE_VISIT[0] / UNSURE_VISIT[1]
    good_visit(folder)
    write(folder / "left.png", unsure_painted(8))
    good_visit(root / "Q_bad" / "week0")
    (root / "Q_bad" / "week0" / "top.png").write_bytes(b"not a photo")
    return root


def score(root: Path, out: Path, **kw: object) -> object:
    """Score ``root`` into ``out`` with the colour model (masks kept)."""
    return salt.score_folder(
        root, out, model=colour_model(), backend="torch", progress=False, masks=True, **kw
    )


class Page(HTMLParser):
    """The parts of report.html the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.rows: list[list[str]] = []
        self.lines: list[dict[str, str | None]] = []
        self.svgs = 0
        self.scripts: list[str] = []
        self._table = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._script = False
        self.text = text
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img":
            self.images.append(a)
        elif tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        elif tag == "svg":
            self.svgs += 1
        elif tag == "line" and a.get("class") == "threshold":
            self.lines.append(a)
        elif tag == "table" and a.get("id") == "visits":
            self._table = True
        elif tag == "tr" and self._table:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "script":
            self._script = True
            if a.get("src"):
                self.scripts.append(str(a["src"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = False
        elif tag == "script":
            self._script = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


__all__ = ["UNSURE_VISIT", "VISITS", "H", "Page", "W", "build_photos", "score", "unsure_painted"]
