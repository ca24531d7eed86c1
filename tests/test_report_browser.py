"""report.html in a real headless Chromium: no console error, every image loads, the table sorts.

Needs Chromium from the system packages (Debian: ``apt-get install chromium``); skipped
without it. The browser is driven over the DevTools protocol (``headless.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from headless import Browser, find_chromium
from review_cases import UNSURE_VISIT, build_photos, score

pytestmark = pytest.mark.skipif(
    find_chromium() is None, reason="no Chromium (apt-get install chromium)"
)

ROWS = "Array.from(document.querySelectorAll('#visits tbody tr'))"


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("browser")
    out = base / "out"
    score(build_photos(base / "photos"), out)
    with Browser(width=1200, height=900) as b:
        b.open(out / "report.html")
        yield b, out


def test_page_loads_without_console_errors(browser_page) -> None:
    b, _ = browser_page
    assert b.evaluate("document.readyState") == "complete"
    assert b.evaluate(f"{ROWS}.length") == 6
    assert b.errors == []


def test_every_image_resolves(browser_page) -> None:
    b, _ = browser_page
    # lazy images load when near the viewport: make them eager and wait for each
    sizes = b.evaluate(
        "Promise.all(Array.from(document.images).map(i => { i.loading = 'eager';"
        " return i.decode().then(() => i.naturalWidth, () => 0); }))"
    )
    assert len(sizes) == 6 and all(s > 0 for s in sizes)
    assert b.errors == []


def test_table_sorts_by_salt_both_ways(browser_page) -> None:
    b, _ = browser_page
    first = b.evaluate(f"{ROWS}.map(r => r.cells[1].textContent + '/' + r.cells[2].textContent)")
    assert first[0] == "/".join(UNSURE_VISIT)  # review order
    salt_of = f"{ROWS}.map(r => r.cells[3].textContent)"
    b.click("#visits thead th:nth-child(4)")
    up = b.evaluate(salt_of)
    values = [float(v) for v in up if v != "–"]
    assert values == sorted(values) and up[-1] == "–"  # no SALT last
    b.click("#visits thead th:nth-child(4)")
    down = [float(v) for v in b.evaluate(salt_of) if v != "–"]
    assert down == sorted(values, reverse=True)
    b.click("#visits thead th:nth-child(1)")  # back to the review order
    assert b.evaluate(f"{ROWS}.map(r => r.cells[0].textContent)") == [str(i) for i in range(1, 7)]
    assert b.errors == []


def test_screenshot(browser_page, tmp_path: Path) -> None:
    b, _ = browser_page
    b.evaluate("window.scrollTo(0, 0)")
    b.screenshot(tmp_path / "report.png")
    data = (tmp_path / "report.png").read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000


def test_the_demo_report_opens_with_every_image(tmp_path: Path) -> None:
    """The steps of ``make demo`` (synthetic visits, shipped model), then its report.html."""
    from salt.cli import main

    synth, out = tmp_path / "synth", tmp_path / "scored"
    args = ["synth", str(synth), "--visits", "4", "--seed", "1", "--size", "512", "--salt-uniform"]
    assert main([*args, "-q"]) == 0
    assert main(["score", str(synth / "photos"), "-o", str(out), "-q"]) == 0
    with Browser(width=1200, height=900) as b:
        b.open(out / "report.html")
        assert b.evaluate(f"{ROWS}.length") == 4
        sizes = b.evaluate(
            "Promise.all(Array.from(document.images).map(i => { i.loading = 'eager';"
            " return i.decode().then(() => i.naturalWidth, () => 0); }))"
        )
        assert len(sizes) == 4 and all(s > 0 for s in sizes)
        assert b.errors == []
