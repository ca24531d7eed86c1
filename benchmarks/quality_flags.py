"""Precision and recall of the photo-quality flags on synthetic photos with known problems.

Every view of every synthetic visit (``salt.synth.render_visit``) is used six times:
as rendered ("clean") and with one known degradation each:

- ``blur``: Gaussian blur (sigma 2-5 px) or linear motion blur (8-20 px), at 512 px;
- ``overexposed``: pixel values x 1.8-3.0, clipped to 255;
- ``underexposed``: pixel values x 0.06-0.15 (3-4 stops darker);
- ``too_little_scalp``: the photo zoomed out to 25-40 % of the frame (padded with the
  border colour), or shifted so that 60-75 % of it leaves the frame;
- ``view_swap``: another view's photo of the same visit put in this view's slot.

The class map given to :func:`salt.quality.quality_flags` is the synthetic label map,
transformed with the photo (so the scalp and view checks are measured on true masks;
a model's predicted masks are noisier). A flag's *recall* is the fraction of photos
with its degradation that it flags; its *precision* is the fraction of the photos it
flags (over all six kinds, in equal numbers) that carry its degradation.

Thresholds are chosen on one set of seeds (``--fit``: prints values to paste into
``salt/quality.py``) and measured on disjoint seeds (the default run), which writes
``benchmarks/results/quality.txt``.

Usage::

    python benchmarks/quality_flags.py --fit --seeds 0:40      # choose thresholds
    python benchmarks/quality_flags.py --seeds 1000:1060       # measure, write results
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from salt.quality import (
    FLAG_NAMES,
    GEOMETRY_FEATURES,
    QualityThresholds,
    mask_geometry,
    quality_flags,
    view_log_likelihoods,
)
from salt.synth import render_visit
from salt.views import VIEWS

KINDS = ("clean", "blur", "overexposed", "underexposed", "too_little_scalp", "view_swap")
FLAG_OF_KIND = {
    "blur": "blurry",
    "overexposed": "overexposed",
    "underexposed": "underexposed",
    "too_little_scalp": "too_little_scalp",
    "view_swap": "view_mismatch",
}
SD_FLOOR = 0.05
RESULTS = Path(__file__).parent / "results" / "quality.txt"


def _motion_kernel(length: int, angle_deg: float) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    a = math.radians(angle_deg)
    dx, dy = math.cos(a) * c, math.sin(a) * c
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
    return k / k.sum()


def degrade(
    kind: str,
    photos: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
    view: str,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Return (rgb, class_map, description) of ``view`` with degradation ``kind``."""
    rgb, lab = photos[view], labels[view]
    h, w = lab.shape
    if kind == "clean":
        return rgb, lab, "clean"
    if kind == "blur":
        if rng.random() < 0.5:
            sigma = float(rng.uniform(2.0, 5.0))
            return cv2.GaussianBlur(rgb, (0, 0), sigma), lab, f"gaussian sigma {sigma:.1f}"
        length = int(rng.integers(8, 21))
        kern = _motion_kernel(length, float(rng.uniform(0, 180)))
        return cv2.filter2D(rgb, -1, kern), lab, f"motion {length} px"
    if kind == "overexposed":
        gain = float(rng.uniform(1.8, 3.0))
        return np.clip(rgb.astype(np.float32) * gain, 0, 255).astype(np.uint8), lab, f"x{gain:.2f}"
    if kind == "underexposed":
        gain = float(rng.uniform(0.06, 0.15))
        out = np.rint(rgb.astype(np.float32) * gain).astype(np.uint8)
        return out, lab, f"x{gain:.3f}"
    if kind == "too_little_scalp":
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).mean(axis=0)
        canvas = np.empty_like(rgb)
        canvas[:] = border.astype(np.uint8)
        cmap = np.zeros_like(lab)
        if rng.random() < 0.5:
            s = float(rng.uniform(0.25, 0.40))
            sw, sh = max(1, round(w * s)), max(1, round(h * s))
            x0, y0 = int(rng.integers(0, w - sw + 1)), int(rng.integers(0, h - sh + 1))
            canvas[y0 : y0 + sh, x0 : x0 + sw] = cv2.resize(
                rgb, (sw, sh), interpolation=cv2.INTER_AREA
            )
            cmap[y0 : y0 + sh, x0 : x0 + sw] = cv2.resize(
                lab, (sw, sh), interpolation=cv2.INTER_NEAREST
            )
            return canvas, cmap, f"zoomed out to {s:.2f}"
        f = float(rng.uniform(0.60, 0.75))
        dx, dy = [round(d * f) * int(rng.choice([-1, 1])) for d in (w, h)]
        if rng.random() < 0.5:
            dy = 0
        else:
            dx = 0
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        canvas = cv2.warpAffine(
            rgb, m, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=border.tolist()
        )
        cmap = cv2.warpAffine(lab, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        return canvas, cmap, f"shifted {f:.2f} out of frame"
    if kind == "view_swap":
        other = str(rng.choice([v for v in VIEWS if v != view]))
        return photos[other], labels[other], f"{other} photo in the {view} slot"
    raise ValueError(kind)


def collect(
    seeds: range,
    size: int,
    thresholds: QualityThresholds,
    view_model=None,
    model=None,
) -> list[dict]:
    """Measure every (visit, view, kind); ``model`` (a SaltModel) predicts the class maps."""
    rows = []
    for seed in seeds:
        visit = render_visit(seed, size=size)
        rng = np.random.default_rng(10_000 + seed)
        for view in VIEWS:
            cases = [degrade(kind, visit.photos, visit.labels, view, rng) for kind in KINDS]
            if model is not None:
                predicted = model.predict([rgb for rgb, _, _ in cases])
                cases = [(rgb, predicted[i], desc) for i, (rgb, _, desc) in enumerate(cases)]
            for kind, (rgb, cmap, desc) in zip(KINDS, cases, strict=True):
                flags = quality_flags(rgb, cmap, view, thresholds=thresholds)
                feats = mask_geometry(cmap > 0)
                if view_model is not None:
                    ll = view_log_likelihoods(feats, view_model)
                    margin = max(v for k, v in ll.items() if k != view) - ll[view]
                    if feats["scalp_fraction"] < thresholds.min_scalp_fraction_for_view:
                        margin = float("nan")
                    flags["view_margin"] = margin
                rows.append(
                    {
                        "seed": seed,
                        "view": view,
                        "kind": kind,
                        "desc": desc,
                        "subtype": visit.params.get("subtype"),
                        **flags,
                        **feats,
                    }
                )
    return rows


def fit_view_model(rows: list[dict]) -> dict[str, dict[str, tuple[float, float]]]:
    model: dict[str, dict[str, tuple[float, float]]] = {}
    for view in VIEWS:
        sel = [r for r in rows if r["kind"] == "clean" and r["view"] == view]
        model[view] = {}
        for name in GEOMETRY_FEATURES:
            vals = np.array([r[name] for r in sel])
            # floor: a feature that never varies in synthetic photos (e.g. scalp
            # touching the bottom edge of a back view) must not veto a real photo.
            sd = max(float(vals.std(ddof=1)), SD_FLOOR)
            model[view][name] = (round(float(vals.mean()), 4), round(sd, 4))
    return model


def best_threshold(pos: np.ndarray, neg: np.ndarray, *, below: bool) -> tuple[float, float]:
    """Threshold maximising F1 for 'flag when value < t' (below) or '> t'."""
    pos, neg = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    cands = np.unique(np.concatenate([pos, neg]))
    best = (-1.0, 0.0)
    for a, b in itertools.pairwise(cands):
        t = (a + b) / 2
        tp = np.sum(pos < t) if below else np.sum(pos > t)
        fp = np.sum(neg < t) if below else np.sum(neg > t)
        f1 = 2 * tp / (2 * tp + fp + (len(pos) - tp)) if tp else 0.0
        if f1 > best[0]:
            best = (float(f1), float(t))
    return best[1], best[0]


REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "scalp-views" / "images"


def real_photo_rates() -> str:
    """Flag rates on the real phone photos of shared/data (no masks: image flags only)."""
    from salt.io.photo import load_photo

    files = sorted(REAL.glob("*.jpg")) if REAL.is_dir() else []
    if not files:
        return ""
    rows = []
    for f in files:
        photo = load_photo(f, target_side=256)
        rows.append(quality_flags(photo.rgb, None, "top"))
    rates = "  ".join(
        f"{name} {np.mean([r[name] for r in rows]):.3f}"
        for name in ("blurry", "overexposed", "underexposed")
    )
    return (
        f"real phone photos (shared/data/scalp-views, {len(rows)} JPEGs, 640 px, no ground truth "
        f"of quality; image flags only):\n  {rates}"
    )


def report(
    rows: list[dict], thresholds: QualityThresholds, seeds: range, size: int, seconds: float
) -> str:
    lines = [
        "Photo-quality flags on synthetic photos with known degradations",
        "command: python benchmarks/quality_flags.py "
        f"--seeds {seeds.start}:{seeds.stop} --size {size}",
        f"visits: {len(seeds)} (seeds {seeds.start}-{seeds.stop - 1}), {len(seeds) * 4} views, "
        f"{len(rows)} photos ({len(rows) // len(KINDS)} per kind), "
        "class map = true synthetic labels",
        f"thresholds: {dataclasses.asdict(thresholds)}",
        f"time: {seconds:.0f} s",
        "",
        "rate of each flag (rows: what was done to the photo; columns: flags)",
        f"{'kind':<18}" + "".join(f"{f:>18}" for f in FLAG_NAMES),
    ]
    for kind in KINDS:
        sel = [r for r in rows if r["kind"] == kind]
        lines.append(
            f"{kind:<18}" + "".join(f"{np.mean([r[f] for r in sel]):>18.3f}" for f in FLAG_NAMES)
        )
    lines += ["", f"{'flag':<18}{'precision':>10}{'recall':>10}{'TP':>6}{'FP':>6}{'FN':>6}"]
    for kind, flag in FLAG_OF_KIND.items():
        tp = sum(1 for r in rows if r["kind"] == kind and r[flag])
        fp = sum(1 for r in rows if r["kind"] != kind and r[flag])
        fn = sum(1 for r in rows if r["kind"] == kind and not r[flag])
        prec = tp / (tp + fp) if tp + fp else float("nan")
        rec = tp / (tp + fn)
        lines.append(f"{flag:<18}{prec:>10.3f}{rec:>10.3f}{tp:>6}{fp:>6}{fn:>6}")
    lines += ["", "recall by type of degradation"]
    for kind, flag in FLAG_OF_KIND.items():
        types: dict[str, list[bool]] = {}
        for r in rows:
            if r["kind"] == kind:
                words = r["desc"].split()
                if kind == "view_swap":
                    label = f"{words[0]} as {words[-2]}"
                elif kind in ("overexposed", "underexposed"):
                    gain = float(words[0][1:])
                    mid = 2.4 if kind == "overexposed" else 0.105
                    label = f"gain {'<' if gain < mid else '>='} {mid}"
                else:
                    label = words[0]
                types.setdefault(label, []).append(bool(r[flag]))
        for label, hits in sorted(types.items()):
            lines.append(f"  {flag:<18}{label:<22}{np.mean(hits):>7.3f}  (n={len(hits)})")
    clean = [r for r in rows if r["kind"] == "clean"]
    real = real_photo_rates()
    if real:
        lines += ["", real]
    lines += [
        "",
        f"clean photos with any flag: {np.mean([r['flagged'] for r in clean]):.3f}",
    ]
    for flag in FLAG_NAMES:
        hits = [r for r in clean if r[flag]]
        if hits:
            ex = ", ".join(f"seed {r['seed']} {r['view']} ({r['subtype']})" for r in hits[:4])
            lines.append(f"  clean flagged {flag}: {len(hits)}, e.g. {ex}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1000:1060", help="start:stop of synthetic visit seeds")
    ap.add_argument("--size", type=int, default=512, help="rendered photo side (px)")
    ap.add_argument(
        "--fit", action="store_true", help="choose thresholds and the view model; print them"
    )
    ap.add_argument("--dump", type=Path, help="also write every row to this CSV")
    ap.add_argument(
        "--model",
        help="use this model's predicted class maps instead of the true masks, to measure "
        "(writes results/quality_predicted.txt) or to --fit (a name in --models-dir)",
    )
    ap.add_argument("--models-dir", type=Path, help="registry folder for --model")
    args = ap.parse_args(argv)
    a, b = (int(x) for x in args.seeds.split(":"))
    seeds = range(a, b)
    t0 = time.perf_counter()
    net = None
    if args.model:
        from salt.model.torch_compat import ensure_torchvision_importable

        ensure_torchvision_importable()
        from salt.model import load_model

        net = load_model(args.model, models_dir=args.models_dir)
    if args.fit:
        base = QualityThresholds()
        rows = collect(seeds, args.size, base, model=net)
        model = fit_view_model(rows)
        rows = collect(seeds, args.size, base, view_model=model, model=net)
        if args.dump:
            import pandas as pd

            pd.DataFrame(rows).to_csv(args.dump, index=False)
        out = {}
        for measure, kind, below in (
            ("laplacian_var", "blur", True),
            ("highlight_fraction", "overexposed", False),
            ("shadow_fraction", "underexposed", False),
            ("scalp_fraction", "too_little_scalp", True),
            ("view_margin", "view_swap", False),
        ):
            pos = np.array([r[measure] for r in rows if r["kind"] == kind], float)
            neg = np.array([r[measure] for r in rows if r["kind"] != kind], float)
            t, f1 = best_threshold(pos, neg, below=below)
            out[measure] = (t, f1)
            print(
                f"{measure}: threshold {t:.4g} (train F1 {f1:.3f}); "
                f"pos median {np.nanmedian(pos):.4g}, neg median {np.nanmedian(neg):.4g}"
            )
        # blur: the two cut-offs of "laplacian_var < t or detail_isotropy < r", jointly
        is_blur = np.array([r["kind"] == "blur" for r in rows])
        lap = np.array([r["laplacian_var"] for r in rows])
        iso = np.array([r["detail_isotropy"] for r in rows])
        best = (0.0, 0.0, 0.0)
        for t_lap in np.unique(np.round(np.quantile(lap, np.linspace(0.01, 0.5, 50)), 0)):
            for cut in np.round(np.arange(0.0, 0.31, 0.01), 2):
                flag = (lap < t_lap) | (iso < cut)
                tp = int(np.sum(flag & is_blur))
                err = int(np.sum(flag != is_blur))
                f1 = 2 * tp / (2 * tp + err)
                if f1 > best[2] + 1e-9:
                    best = (float(t_lap), float(cut), f1)
        print(
            f"blur, jointly: laplacian_var < {best[0]:.0f} or detail_isotropy < {best[1]:.2f} "
            f"(train F1 {best[2]:.3f})"
        )
        print("VIEW_MODEL (paste into salt/quality.py):")
        for view, params in model.items():
            print(f"    {view!r}: MappingProxyType({params}),")
        return 0
    t = QualityThresholds()
    model = net
    results = RESULTS if net is None else RESULTS.with_name("quality_predicted.txt")
    rows = collect(seeds, args.size, t, model=model)
    text = report(rows, t, seeds, args.size, time.perf_counter() - t0)
    if model is not None:
        text = text.replace(
            "class map = true synthetic labels",
            f"class map = predicted by model {args.model!r} from {args.models_dir} "
            f"(sha256 {model.sha256[:12]})",
        ).replace(
            f"--size {args.size}",
            f"--size {args.size} --model {args.model} --models-dir {args.models_dir}",
        )
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
