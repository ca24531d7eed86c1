"""How far are synthetic visits from real scalp photos?

Run: ``python benchmarks/realism.py [--visits 60] [--size 512]``.

1. A domain classifier: logistic regression on simple image features (colour
   moments, saturation, luminance percentiles, gradient and Laplacian energy,
   edge density, LBP texture histogram), 5-fold cross-validation grouped by
   person, balanced classes. 50 % accuracy means the features cannot tell
   synthetic from real.
2. Colour and texture statistics of hair and skin regions, where both kinds of
   photo are segmented the same way by the pretrained skin/clothes/hair network
   in ``shared/data/skin-hair-onnx`` (MIT).
3. The largest per-feature gaps (standardised mean differences), to guide work
   on the generator.

Real photos: ``shared/data/scalp-views`` (CC BY 4.0, Roboflow Universe user
"uze", via the Multilabel-Baldness-Classification repository by R. Valverde
Romero); the SALT views Top-Down, Back, Left and Right. Results go to
``benchmarks/results/realism.txt``; ``--grid`` also writes
``out/synth_vs_real.png`` (not committed: it shows real photos).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
from skimage.feature import local_binary_pattern
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from salt.synth import render_visit
from salt.views import VIEWS

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "scalp-views" / "images"
ONNX = ROOT.parent / "shared" / "data" / "skin-hair-onnx" / "pan_mnv3small_skin_clothes_hair.onnx"
REAL_VIEWS = {"top": "Top-Down", "back": "Back", "left": "Left", "right": "Right"}
SIDE = 256  # features are computed at this side (both kinds resized with INTER_AREA)


def real_photos() -> list[tuple[str, str, np.ndarray]]:
    out = []
    for path in sorted(REAL.glob("*-*.jpg")):
        subject, _, view = path.stem.partition("-")
        for ours, theirs in REAL_VIEWS.items():
            if view == theirs:
                rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
                out.append((f"real{subject}", ours, rgb))
    return out


SHOWCASE: list[int] = []  # synthetic visits with visible patches, for the grid
LABELS: dict[tuple[str, str], np.ndarray] = {}  # (subject, view) -> synthetic label map


def synthetic_photos(n: int, size: int, seed0: int) -> list[tuple[str, str, np.ndarray]]:
    out = []
    for i in range(n):
        v = render_visit(seed0 + i, size=size)
        for view in VIEWS:
            out.append((f"synth{i}", view, v.photos[view]))
            LABELS[(f"synth{i}", view)] = v.labels[view]
        if 5 < v.salt < 90 and v.subtype in ("patchy", "ophiasis") and len(SHOWCASE) < 3:
            SHOWCASE.append(i)
    return out


FEATURE_NAMES: list[str] = []


def features(rgb: np.ndarray) -> np.ndarray:
    img = cv2.resize(rgb, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    f = img.astype(np.float32) / 255.0
    names, vals = [], []

    def add(name: str, value: float) -> None:
        names.append(name)
        vals.append(float(value))

    for c, ch in enumerate("RGB"):
        add(f"mean_{ch}", f[..., c].mean())
        add(f"std_{ch}", f[..., c].std())
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.float32)
    add("sat_mean", hsv[..., 1].mean() / 255)
    add("sat_std", hsv[..., 1].std() / 255)
    lum = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    for p in (5, 25, 50, 75, 95):
        add(f"lum_p{p}", np.percentile(lum, p))
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1)
    mag = np.hypot(gx, gy)
    add("grad_mean", mag.mean())
    add("grad_p90", np.percentile(mag, 90))
    add("lap_var", cv2.Laplacian(lum, cv2.CV_32F).var())
    edges = cv2.Canny((lum * 255).astype(np.uint8), 50, 150)
    add("edge_density", (edges > 0).mean())
    small = cv2.resize(lum, (SIDE // 4, SIDE // 4), interpolation=cv2.INTER_AREA)
    up = cv2.resize(small, (SIDE, SIDE), interpolation=cv2.INTER_LINEAR)
    add("hf_energy", np.mean((lum - up) ** 2))
    lbp = local_binary_pattern((lum * 255).astype(np.uint8), 8, 1, method="uniform")
    hist = np.bincount(lbp.astype(np.int64).ravel(), minlength=10)[:10] / lbp.size
    for i, h in enumerate(hist):
        add(f"lbp{i}", h)
    if not FEATURE_NAMES:
        FEATURE_NAMES.extend(names)
    return np.array(vals, dtype=np.float64)


class Segmenter:
    """The pretrained skin/clothes/hair PAN (ONNX), 512 x 512 input."""

    def __init__(self) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(ONNX), opts, providers=["CPUExecutionProvider"])
        self.name = self.session.get_inputs()[0].name

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        img = cv2.resize(rgb, (512, 512)).astype(np.float32) / 255.0
        img = (img - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
        x = img.transpose(2, 0, 1)[None].astype(np.float32)
        prob = self.session.run(None, {self.name: x})[0][0]
        small = cv2.resize(rgb, (512, 512), interpolation=cv2.INTER_AREA)
        return small, prob[0] > 0.5, prob[2] > 0.5  # image, skin, hair


def region_stats(seg: Segmenter, photos: list[tuple[str, str, np.ndarray]]) -> dict[str, float]:
    acc: dict[str, list[float]] = {}
    for _, _, rgb in photos:
        img, skin, hair = seg(rgb)
        lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)
        lab[..., 0] *= 100 / 255
        lab[..., 1:] -= 128
        lum = lab[..., 0]
        gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0)
        gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1)
        mag = np.hypot(gx, gy)
        acc.setdefault("hair_fraction", []).append(hair.mean())
        acc.setdefault("skin_fraction", []).append(skin.mean())
        for name, m in (("hair", hair), ("skin", skin)):
            if m.sum() < 200:
                continue
            for c, ch in enumerate("Lab"):
                acc.setdefault(f"{name}_{ch}_mean", []).append(lab[..., c][m].mean())
            acc.setdefault(f"{name}_L_std", []).append(lum[m].std())
            acc.setdefault(f"{name}_grad", []).append(mag[m].mean())
    return {k: float(np.mean(v)) for k, v in acc.items()}


def label_agreement(seg: Segmenter, photos: list[tuple[str, str, np.ndarray]]) -> dict[str, float]:
    """How the pretrained hair/skin segmenter reads our labelled regions (pixels pooled)."""
    counts = {"hair_px": 0, "hair_as_hair": 0, "bald_px": 0, "bald_as_skin": 0, "bald_as_hair": 0}
    for subject, view, rgb in photos:
        _, skin, hair = seg(rgb)
        lab = cv2.resize(LABELS[(subject, view)], (512, 512), interpolation=cv2.INTER_NEAREST)
        counts["hair_px"] += int((lab == 1).sum())
        counts["hair_as_hair"] += int((hair & (lab == 1)).sum())
        counts["bald_px"] += int((lab == 2).sum())
        counts["bald_as_skin"] += int((skin & (lab == 2)).sum())
        counts["bald_as_hair"] += int((hair & (lab == 2)).sum())
    return {
        "haired scalp read as hair": counts["hair_as_hair"] / max(counts["hair_px"], 1),
        "hairless scalp read as skin": counts["bald_as_skin"] / max(counts["bald_px"], 1),
        "hairless scalp read as hair": counts["bald_as_hair"] / max(counts["bald_px"], 1),
    }


def grid(real: list, synth: list, path: Path, tile: int = 192) -> None:
    def row(items: list) -> np.ndarray:
        return np.hstack(
            [cv2.resize(rgb, (tile, tile), interpolation=cv2.INTER_AREA) for _, _, rgb in items]
        )

    by_subject: dict[str, dict[str, np.ndarray]] = {}
    for subject, view, rgb in real:
        by_subject.setdefault(subject, {})[view] = rgb
    real_rows = [
        row([(s, v, d[v]) for v in VIEWS])
        for s, d in list(by_subject.items())[:12]
        if all(v in d for v in VIEWS)
    ][:3]
    picks = (SHOWCASE + [i for i in range(len(synth) // 4) if i not in SHOWCASE])[:3]
    synth_rows = [row(synth[i * 4 : i * 4 + 4]) for i in picks]
    gap = np.full((8, tile * 4, 3), 255, np.uint8)
    head = np.full((28, tile * 4, 3), 255, np.uint8)
    for i, v in enumerate(VIEWS):
        cv2.putText(head, v, (i * tile + 8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    left = np.vstack([head, *real_rows, gap, *synth_rows])
    label = np.full((left.shape[0], 28, 3), 255, np.uint8)
    h = 28 + tile * len(real_rows)
    cv2.putText(label, "R", (6, 28 + h // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    cv2.putText(label, "S", (6, h + 8 + tile * 3 // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    out = np.hstack([label, left])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(out, cv2.COLOR_RGB2BGR))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=60)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--seed", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=5, help="repeated shuffled CV runs")
    ap.add_argument("--grid", action="store_true", help="write out/synth_vs_real.png")
    ap.add_argument("--no-regions", action="store_true", help="skip the ONNX region statistics")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "realism.txt"))
    args = ap.parse_args()
    t0 = time.time()
    real = real_photos()
    synth = synthetic_photos(args.visits, args.size, args.seed)
    items = real + synth
    x = np.stack([features(rgb) for _, _, rgb in items])
    y = np.array([0] * len(real) + [1] * len(synth))
    groups = np.array([s for s, _, _ in items])
    clf = make_pipeline(
        StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    )
    pred = cross_val_predict(clf, x, y, groups=groups, cv=GroupKFold(n_splits=5))
    acc = float((pred == y).mean())
    bal = float(0.5 * ((pred[y == 0] == 0).mean() + (pred[y == 1] == 1).mean()))
    # the split matters at this sample size: repeat with shuffled, stratified group folds
    reps = []
    for r in range(args.repeats):
        cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=r)
        p = cross_val_predict(clf, x, y, groups=groups, cv=cv)
        reps.append(float((p == y).mean()))
    per_view = {}
    views = np.array([v for _, v, _ in items])
    for view in VIEWS:
        sel = views == view
        per_view[view] = float((pred[sel] == y[sel]).mean())
    mu_r, mu_s = x[y == 0].mean(0), x[y == 1].mean(0)
    sd = x.std(0) + 1e-9
    smd = (mu_s - mu_r) / sd
    order = np.argsort(-np.abs(smd))
    lines = [
        "Realism of salt.synth against shared/data/scalp-views (CC BY 4.0)",
        f"command: python benchmarks/realism.py --visits {args.visits} --size {args.size} "
        f"--seed {args.seed}" + (" --grid" if args.grid else ""),
        f"photos: {len(real)} real (46 people x top/back/left/right), {len(synth)} synthetic "
        f"({args.visits} visits x 4 views, rendered at {args.size} px); features at {SIDE} px",
        "",
        f"Domain classifier: logistic regression on {len(FEATURE_NAMES)} simple image features, "
        "5-fold GroupKFold by person, balanced class weights",
        f"  accuracy {acc:.3f}, balanced accuracy {bal:.3f} (0.5 = indistinguishable)",
        f"  {args.repeats} repeats of shuffled StratifiedGroupKFold: accuracy "
        f"{np.mean(reps):.3f} +- {np.std(reps):.3f} (min {min(reps):.3f}, max {max(reps):.3f})",
        "  per view: " + ", ".join(f"{v} {a:.3f}" for v, a in per_view.items()),
        "",
        "Largest feature gaps (synthetic - real, in pooled standard deviations):",
    ]
    for i in order[:10]:
        lines.append(
            f"  {FEATURE_NAMES[i]:14s} {smd[i]:+.2f}  (real {mu_r[i]:.4f}, synthetic {mu_s[i]:.4f})"
        )
    if not args.no_regions and ONNX.exists():
        seg = Segmenter()
        rs = region_stats(seg, real)
        ss = region_stats(seg, synth)
        lines += [
            "",
            "Hair and skin regions (segmented alike by shared/data/skin-hair-onnx, CIELAB):",
            f"  {'statistic':16s} {'real':>8s} {'synthetic':>10s}",
        ]
        for k in rs:
            lines.append(f"  {k:16s} {rs[k]:8.3f} {ss.get(k, float('nan')):10.3f}")
        agree = label_agreement(seg, synth)
        lines += ["", "The same segmenter on synthetic photos vs their labels (pixels pooled):"]
        lines += [f"  {k}: {v:.3f}" for k, v in agree.items()]
    lines.append("")
    lines.append(f"elapsed {time.time() - t0:.0f} s")
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text, end="")
    if args.grid:
        grid(real, synth, ROOT / "out" / "synth_vs_real.png")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
