"""How long report.html takes for 1,000 visits: writing it, and opening it in Chromium.

Builds an output folder of ``--visits`` visits (``--per-subject`` visits per subject, so
every subject gets a SALT-over-time plot) with the tables ``salt score`` writes and a
small JPEG sheet and four overlays per visit (the report only links them), then:

- times :func:`salt.write_report` (median of ``--repeats`` runs, in this process);
- opens the page in headless Chromium (``tests/headless.py``; skipped without it) and
  times the load event, then one sort of the whole visit table by SALT;
- counts the images the browser has loaded after the load event (lazy loading: only
  those near the first screen should be).

Usage::

    python benchmarks/bench_report.py            # writes benchmarks/results/report.txt
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

import salt
from salt.io.outputs import VIEW_COLUMNS, VISIT_COLUMNS, tables_from_entries, write_tables
from salt.views import VIEWS

RESULTS = Path(__file__).parent / "results" / "report.txt"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def build(out: Path, n_visits: int, per_subject: int, seed: int = 0) -> None:
    """Write tables and small overlay JPEGs of ``n_visits`` made-up visits into ``out``."""
    rng = np.random.default_rng(seed)
    ok, jpeg = cv2.imencode(".jpg", rng.integers(0, 255, (380, 360, 3), dtype=np.uint8))
    assert ok
    entries = []
    for i in range(n_visits):
        subject, visit = f"S{i // per_subject:04d}", f"week{4 * (i % per_subject)}"
        pct = {v: float(rng.uniform(0, 100)) for v in VIEWS}
        conf = {v: float(rng.uniform(0.4, 1.0)) for v in VIEWS}
        s = salt.salt_score(pct)
        folder = out / "overlays" / subject / visit
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("sheet", *VIEWS):
            (folder / f"{name}.jpg").write_bytes(jpeg.tobytes())
        row = dict.fromkeys(VISIT_COLUMNS, "")
        row.update(
            subject=subject,
            visit=visit,
            salt=s,
            band=salt.severity_band(s),
            aa_iga=salt.aa_iga(s),
            status="needs_review" if min(conf.values()) < 0.6 else "ok",
            model_name="bench",
            **{f"{v}_pct": pct[v] for v in VIEWS},
        )
        views = []
        for v in VIEWS:
            vr = dict.fromkeys(VIEW_COLUMNS, 0)
            vr.update(
                subject=subject,
                visit=visit,
                view=v,
                path=f"photos/{subject}/{visit}/{v}.jpg",
                sha256="0" * 64,
                loss_pct=pct[v],
                confidence=conf[v],
                overlay=f"overlays/{subject}/{visit}/{v}.jpg",
                q_blurry=bool(rng.random() < 0.1),
            )
            views.append(vr)
        entries.append({"visit": row, "views": views, "errors": []})
    write_tables(out, *tables_from_entries(entries))
    run = {"model": {"name": "bench", "sha256": "0" * 64}, "backend": {"name": "none"}}
    (out / "run.json").write_text(json.dumps(run))


def browser_times(page: Path) -> dict[str, float] | None:
    """Time the load event (first and second load) and a sort; None without Chromium."""
    from headless import Browser, find_chromium

    if find_chromium() is None:
        return None
    with Browser(width=1280, height=900, timeout=120) as b:
        loads = []
        for _ in range(2):  # the first load also starts the page's renderer
            t0 = time.perf_counter()
            b.open(page)
            loads.append(time.perf_counter() - t0)
        loaded = b.evaluate("Array.from(document.images).filter(i => i.complete).length")
        total = b.evaluate("document.images.length")
        t0 = time.perf_counter()
        b.evaluate("document.querySelectorAll('#visits thead th')[3].click(); 0")
        sort = time.perf_counter() - t0
        errors = len(b.errors)
    return {
        "load_s": loads[0],
        "reload_s": loads[1],
        "sort_s": sort,
        "images_loaded": loaded,
        "images": total,
        "errors": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=1000)
    ap.add_argument("--per-subject", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build(folder, args.visits, args.per_subject)
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            page = salt.report(folder)
            times.append(time.perf_counter() - t0)
        size_mb = page.stat().st_size / 1e6
        browser = browser_times(page)
        visits = pd.read_csv(folder / "visits.csv")
    lines = [
        f"report.html for {args.visits} visits ({len(visits['subject'].unique())} subjects, "
        f"{args.per_subject} visits each), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"command: python benchmarks/bench_report.py --visits {args.visits} "
        f"--per-subject {args.per_subject} --repeats {args.repeats}",
        f"write_report: median {statistics.median(times):.2f} s, min {min(times):.2f} s, "
        f"max {max(times):.2f} s over {args.repeats} runs; page {size_mb:.1f} MB",
    ]
    if browser is None:
        lines.append("Chromium: not installed, browser times not measured")
    else:
        lines.append(
            f"Chromium (headless): load event {browser['load_s']:.2f} s (again: "
            f"{browser['reload_s']:.2f} s); sort {args.visits} rows "
            f"by SALT {browser['sort_s']:.2f} s; images loaded at the load event "
            f"{browser['images_loaded']} of {browser['images']} (lazy); console errors "
            f"{browser['errors']}"
        )
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
