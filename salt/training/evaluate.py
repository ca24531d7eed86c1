"""Measure a model against ground truth: synthetic hold-out sets or labelled folders.

Two sources of truth:

* **Held-out synthetic visits** (:func:`evaluate_synthetic`): rendered by
  :func:`salt.synth.render_visit` from seeds ``HELDOUT_SEED_START + i``
  (``10_000_000 + i``), a range training never draws from (training uses
  ``[0, 10_000_000)``, its validation set ``20_000_000 + i``; see :mod:`salt.training.train`).
* **A labelled folder** (:func:`evaluate_folder`): ``DATA/photos/<subject>/<visit>/<view>.<ext>``
  with masks ``DATA/masks/...png`` (0 not scalp, 1 hair, 2 hairless, 255 unknown)
  and/or ``DATA/truth.csv`` (subject, visit, top, back, left, right[, salt,
  subtype, skin_tone, hair_colour]). Per-view truth comes from ``truth.csv`` when
  it has the view columns, else from the masks.

What is measured is what ``salt score`` gives: photo files are decoded by the
engine's decoder (:func:`salt.inference.pipeline.decode`), run through the same
backend (``backend``/``device``, default ``"auto"`` as in :func:`salt.score_folder`;
:class:`salt.inference.local.Predictor`), and each view's loss % comes from
:func:`salt.classmap.view_percent`, the engine's rule: a view where no scalp is
found has no %, and its visit no SALT (counted in ``n_failed_visits``, left out of
the SALT metrics). Truth % from masks uses the same function. Segmentation IoU is
computed at the network resolution against the truth mask resized with
nearest-neighbour.

The report (:func:`write_report`) is ``report.json`` (all metrics, the accuracy
targets (:data:`TARGETS`) with pass/fail, model name and SHA256, data source, command),
``visits.csv`` (one row per visit: truth and prediction per view and SALT,
subtype, skin tone, hair colour) and ``groups.csv`` (n, MAE and bias per subtype,
skin tone and hair colour).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pandas as pd

from salt.classmap import IGNORE_INDEX, view_percent
from salt.errors import BadValueError, InputFileError
from salt.inference.local import Predictor
from salt.io.atomic import atomic_write_bytes
from salt.io.csvsafe import csv_text
from salt.io.folders import labelled_photos
from salt.io.photo import load_mask
from salt.model import SaltModel
from salt.scoring import aa_iga, salt_score, severity_band
from salt.training.data import HELDOUT_SEED_START
from salt.views import VIEWS

__all__ = [
    "GROUP_COLUMNS",
    "TARGETS",
    "EvalResult",
    "evaluate_folder",
    "evaluate_synthetic",
    "format_summary",
    "summarize",
    "write_report",
]

logger = logging.getLogger(__name__)

#: Columns by which errors are broken down.
GROUP_COLUMNS: tuple[str, ...] = ("subtype", "skin_tone", "hair_colour")
#: Smallest group whose MAE is held to the "no group over twice the overall MAE" target.
MIN_GROUP_N = 10

#: Accuracy targets of the shipped model, measured on >= 200 held-out synthetic visits:
#: (metric, comparison, value).
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("salt_mae", "<=", 3.0),
    ("abs_salt_bias", "<=", 1.0),
    ("icc21", ">=", 0.95),
    ("call_le20_agreement", ">=", 0.95),
    ("call_ge50_agreement", ">=", 0.95),
    ("worst_group_mae_ratio", "<=", 2.0),
)
_TOL = 1e-9


@dataclasses.dataclass
class EvalResult:
    """Per-visit rows, the pooled confusion matrix and the summary metrics."""

    visits: pd.DataFrame
    confusion: npt.NDArray[np.int64]
    metrics: dict[str, Any]
    source: dict[str, Any]


# --------------------------------------------------------------------------- visit sources


@dataclasses.dataclass
class _Item:
    visit_id: str
    photos: Mapping[str, npt.NDArray[np.uint8] | Path]  # arrays (rendered) or files
    labels: dict[str, npt.NDArray[np.uint8]] | None
    truth: dict[str, float]
    meta: dict[str, Any]


def _render_item(args: tuple[int, int, bool]) -> _Item:
    from salt.synth import render_visit

    seed, size, uniform = args
    v = render_visit(seed, size=size, salt_uniform=uniform)
    truth = {view: float(v.percents[view]) for view in VIEWS}
    truth["salt"] = float(v.salt)
    meta = {k: v.params.get(k) for k in GROUP_COLUMNS}
    meta["seed"] = seed
    return _Item(f"seed{seed}", dict(v.photos), dict(v.labels), truth, meta)


def _synthetic_items(
    n: int, seed_start: int, size: int, salt_uniform: bool, workers: int
) -> Iterator[_Item]:
    jobs = [(seed_start + i, size, salt_uniform) for i in range(n)]
    if workers <= 0:
        yield from map(_render_item, jobs)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        yield from pool.map(_render_item, jobs, chunksize=2)


def _folder_items(root: Path) -> tuple[list[_Item], list[str]]:
    """Visits of a labelled folder (:func:`salt.io.folders.labelled_photos`); (items, problems)."""
    truth_table = None
    if (root / "truth.csv").is_file():
        truth_table = pd.read_csv(root / "truth.csv", dtype={"subject": str, "visit": str})
        truth_table = truth_table.set_index(["subject", "visit"])
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for item in labelled_photos(root, require_masks=False):
        if item.view is not None:  # other files (e.g. notes) are not photos of a view
            groups.setdefault(item.parts, {})[item.view] = item
    items, problems = [], []
    for key, views in sorted(groups.items()):
        visit_id = "/".join(key)
        missing = [v for v in VIEWS if v not in views]
        if missing:
            problems.append(f"{visit_id}: missing views {missing}")
            continue
        labels = None
        if all(views[v].mask is not None for v in VIEWS):
            labels = {v: load_mask(views[v].mask) for v in VIEWS}
        row = None
        if truth_table is not None and len(key) >= 2 and (key[-2], key[-1]) in truth_table.index:
            row = truth_table.loc[(key[-2], key[-1])]
        meta = {c: row[c] for c in GROUP_COLUMNS if c in row.index} if row is not None else {}
        truth: dict[str, float] = {}
        if row is not None and all(v in row.index for v in VIEWS):
            truth = {v: float(row[v]) for v in VIEWS}
        elif labels is not None:
            from_masks = {v: view_percent(labels[v]) for v in VIEWS}
            empty = [v for v, pct in from_masks.items() if pct is None]
            if empty:
                problems.append(f"{visit_id}: truth masks of {empty} show no scalp; skipped")
                continue
            truth = {v: float(pct) for v, pct in from_masks.items() if pct is not None}
        else:
            problems.append(f"{visit_id}: no masks and no truth.csv row; skipped")
            continue
        truth["salt"] = (
            float(row["salt"]) if row is not None and "salt" in row.index else salt_score(truth)
        )
        photos = {v: views[v].photo for v in VIEWS}
        items.append(_Item(visit_id, photos, labels, truth, meta))
    return items, problems


# --------------------------------------------------------------------------- scoring


def _confusion(
    pred: npt.NDArray[np.uint8], truth: npt.NDArray[np.uint8], n: int
) -> npt.NDArray[np.int64]:
    valid = truth != IGNORE_INDEX
    idx = truth[valid].astype(np.int64) * n + np.minimum(pred[valid], n - 1).astype(np.int64)
    return np.bincount(idx, minlength=n * n).reshape(n, n)


def _score_items(
    predictor: Predictor, items: Iterable[_Item], *, min_side: int = 256, progress: bool = False
) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    """Score visits as ``salt score`` does; per-visit rows and the pooled confusion matrix."""
    n_cls = len(predictor.model.config.classes)
    size = predictor.input_size
    conf = np.zeros((n_cls, n_cls), np.int64)
    rows = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(unit="visit", file=sys.stderr)
    for item in items:
        rgbs = [
            predictor.decode(ph, min_side=min_side).rgb if isinstance(ph, Path) else ph
            for ph in (item.photos[v] for v in VIEWS)
        ]
        pred = predictor.class_maps(rgbs)
        pcts = {v: view_percent(pred[i]) for i, v in enumerate(VIEWS)}
        if item.labels is not None:
            for i, v in enumerate(VIEWS):
                lab = cv2.resize(item.labels[v], (size, size), interpolation=cv2.INTER_NEAREST)
                conf += _confusion(pred[i], np.asarray(lab, np.uint8), n_cls)
        row: dict[str, Any] = {"visit": item.visit_id, **item.meta}
        for v in VIEWS:
            row[f"true_{v}"] = item.truth[v]
            row[f"pred_{v}"] = math.nan if pcts[v] is None else pcts[v]
        measured = {v: p for v, p in pcts.items() if p is not None}
        row["true_salt"] = item.truth["salt"]
        row["pred_salt"] = salt_score(measured) if len(measured) == len(VIEWS) else math.nan
        rows.append(row)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    if not rows:
        raise BadValueError("no visit to evaluate")
    return pd.DataFrame(rows), conf


def _icc_fallback(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float:
    """ICC(2,1) (Shrout & Fleiss 1979) of two raters, if :mod:`salt.trial.agreement` is absent."""
    data = np.column_stack([x, y])
    n, k = data.shape
    grand = data.mean()
    msr = k * ((data.mean(1) - grand) ** 2).sum() / (n - 1)
    msc = n * ((data.mean(0) - grand) ** 2).sum() / (k - 1)
    sse = ((data - data.mean(1, keepdims=True) - data.mean(0, keepdims=True) + grand) ** 2).sum()
    mse = sse / ((n - 1) * (k - 1))
    return float((msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n))


def summarize(
    visits: pd.DataFrame, confusion: npt.NDArray[np.int64] | None = None
) -> dict[str, Any]:
    """Summary metrics of per-visit predictions against truth.

    Parameters
    ----------
    visits : pandas.DataFrame
        Columns ``true_salt``, ``pred_salt``, ``true_<view>``, ``pred_<view>``
        (percent, 0-100) and optionally the :data:`GROUP_COLUMNS`. A visit whose
        ``pred_salt`` is NaN (a view without scalp) counts in ``n_failed_visits``
        and is left out of every other metric.
    confusion : ndarray, (C, C) int64, optional
        Pixel confusion matrix (rows truth, columns prediction).

    Returns
    -------
    dict
        ``n_visits``, ``n_failed_visits``; ``salt_mae``, ``salt_rmse``, ``salt_bias``
        (pred - truth),
        ``abs_salt_bias``, ``salt_p95_abs_error`` in SALT points; ``view_mae``
        (percent, per view and ``all``); ``icc21`` (two-way random, absolute
        agreement, single measure) with its 95 % CI when :mod:`salt.trial.agreement` is
        available; ``bland_altman`` (bias, sd, loa_low, loa_high); agreement on
        the SALT <= 20 and >= 50 calls; ``band_accuracy`` (severity band),
        ``aa_iga_accuracy``; ``iou`` per class and ``miou``; ``groups`` (per
        column and value: n, mae, bias); ``worst_group_mae_ratio`` over groups
        of at least :data:`MIN_GROUP_N` visits; ``targets`` with pass/fail.
    """
    failed = visits["pred_salt"].isna()
    out: dict[str, Any] = {"n_visits": len(visits), "n_failed_visits": int(failed.sum())}
    visits = visits[~failed]
    if visits.empty:
        raise BadValueError("no visit was scored: every visit has a view without scalp")
    t = visits["true_salt"].to_numpy(float)
    p = visits["pred_salt"].to_numpy(float)
    err = p - t
    out["salt_mae"] = float(np.abs(err).mean())
    out["salt_rmse"] = float(np.sqrt((err**2).mean()))
    out["salt_bias"] = float(err.mean())
    out["abs_salt_bias"] = abs(out["salt_bias"])
    out["salt_p95_abs_error"] = float(np.percentile(np.abs(err), 95))
    out["view_mae"] = {
        v: float(np.abs(visits[f"pred_{v}"] - visits[f"true_{v}"]).mean()) for v in VIEWS
    }
    out["view_mae"]["all"] = float(np.mean([out["view_mae"][v] for v in VIEWS]))
    if len(t) >= 2:
        try:
            from salt.trial.agreement import agreement_summary

            agr = agreement_summary(p, t)
            out["icc21"] = agr["icc21"]
            out["icc21_ci"] = [agr["icc21_low"], agr["icc21_high"]]
            out["band_kappa_quadratic"] = agr["kappa_quadratic"]
        except ImportError:  # pragma: no cover - agreement ships with salt
            out["icc21"] = _icc_fallback(p, t)
        sd = float(err.std(ddof=1))
        out["bland_altman"] = {
            "bias": float(err.mean()),
            "sd": sd,
            "loa_low": float(err.mean() - 1.96 * sd),
            "loa_high": float(err.mean() + 1.96 * sd),
        }
    for name, tf, pf in (
        ("call_le20", t <= 20 + _TOL, p <= 20 + _TOL),
        ("call_ge50", t >= 50 - _TOL, p >= 50 - _TOL),
    ):
        out[f"{name}_agreement"] = float((tf == pf).mean())
        out[f"{name}_true_positive_visits"] = int(tf.sum())
        out[f"{name}_sensitivity"] = float(pf[tf].mean()) if tf.any() else math.nan
        out[f"{name}_specificity"] = float((~pf[~tf]).mean()) if (~tf).any() else math.nan
    out["band_accuracy"] = float(
        np.mean([severity_band(a) == severity_band(b) for a, b in zip(t, p, strict=True)])
    )
    out["aa_iga_accuracy"] = float(
        np.mean([aa_iga(a) == aa_iga(b) for a, b in zip(t, p, strict=True)])
    )
    if confusion is not None and confusion.sum() > 0:
        tp = np.diag(confusion).astype(float)
        denom = confusion.sum(0) + confusion.sum(1) - tp
        iou = np.where(denom > 0, tp / np.maximum(denom, 1), np.nan)
        names = ("not_scalp", "hair", "hairless")[: len(iou)]
        out["iou"] = {name: float(v) for name, v in zip(names, iou, strict=True)}
        out["miou"] = float(np.nanmean(iou))
        out["pixel_accuracy"] = float(tp.sum() / confusion.sum())
    groups: dict[str, dict[str, dict[str, float]]] = {}
    ratios = []
    for col in GROUP_COLUMNS:
        if col not in visits.columns or visits[col].isna().all():
            continue
        groups[col] = {}
        for value, sub in visits.groupby(col):
            e = (sub["pred_salt"] - sub["true_salt"]).to_numpy(float)
            mae = float(np.abs(e).mean())
            groups[col][str(value)] = {"n": len(e), "mae": mae, "bias": float(e.mean())}
            if len(e) >= MIN_GROUP_N and out["salt_mae"] > 0:
                ratios.append(mae / out["salt_mae"])
    out["groups"] = groups
    out["worst_group_mae_ratio"] = float(max(ratios)) if ratios else math.nan
    targets = {}
    for name, op, value in TARGETS:
        got = out.get(name, math.nan)
        ok = bool(got <= value) if op == "<=" else bool(got >= value)
        targets[name] = {"target": f"{op} {value}", "value": got, "met": ok and not math.isnan(got)}
    out["targets"] = targets
    return out


def evaluate_synthetic(
    model: SaltModel,
    n_visits: int = 200,
    *,
    seed_start: int = HELDOUT_SEED_START,
    size: int = 320,
    salt_uniform: bool = True,
    workers: int = 1,
    progress: bool = False,
    backend: str = "auto",
    device: str = "auto",
) -> EvalResult:
    """Score held-out synthetic visits and compare with their exact truth.

    Parameters
    ----------
    model : SaltModel
    n_visits : int
        Number of visits, seeds ``seed_start .. seed_start + n_visits - 1``.
    seed_start : int
        First seed; the default :data:`salt.training.train.HELDOUT_SEED_START` is never
        used in training.
    size : int
        Side of the rendered photos in pixels (resized to the network input).
    salt_uniform : bool
        Draw each visit's SALT uniformly over 0-100 (so the <= 20 and >= 50 calls
        and the ICC are tested over the whole range); else the generator's natural mix.
    workers : int
        Rendering processes beside the scoring one (0: render in this process).
    progress : bool
        Show a progress bar on stderr.
    backend, device : str
        Inference backend and device, as in :func:`salt.score_folder` (default
        ``"auto"``: what ``salt score`` runs).

    Returns
    -------
    EvalResult
    """
    if n_visits < 1:
        raise BadValueError(f"n_visits must be >= 1, got {n_visits}")
    if seed_start < HELDOUT_SEED_START and seed_start + n_visits > 0:
        logger.warning(
            "seeds %d..%d overlap the training range [0, %d)",
            seed_start,
            seed_start + n_visits - 1,
            HELDOUT_SEED_START,
        )
    t0 = time.monotonic()
    items = _synthetic_items(n_visits, seed_start, size, salt_uniform, workers)
    with Predictor(model, backend=backend, device=device) as predictor:
        visits, conf = _score_items(predictor, items, progress=progress)
    source = {
        "kind": "synthetic",
        "seeds": [seed_start, seed_start + n_visits - 1],
        "photo_size": size,
        "salt_uniform": salt_uniform,
        "backend": predictor.info,
        "seconds": round(time.monotonic() - t0, 1),
    }
    return EvalResult(visits, conf, summarize(visits, conf), source)


def evaluate_folder(
    model: SaltModel,
    folder: str | os.PathLike[str],
    *,
    progress: bool = False,
    backend: str = "auto",
    device: str = "auto",
    min_side: int = 256,
) -> EvalResult:
    """Score every complete visit of a labelled folder (masks and/or ``truth.csv``).

    The photos are decoded, run and measured exactly as ``salt score`` does (module
    notes): same decoder, backend (``backend``, ``device``, default ``"auto"``),
    ``min_side`` and per-view rule, so the predicted % equal ``salt score``'s.

    Raises
    ------
    InputFileError
        If the folder has no ``photos/`` or no visit with truth.
    """
    root = Path(folder)
    t0 = time.monotonic()
    items, problems = _folder_items(root)
    for msg in problems:
        logger.warning("%s", msg)
    if not items:
        raise InputFileError(f"no complete visit with masks or truth.csv rows in {root}")
    with Predictor(model, backend=backend, device=device) as predictor:
        visits, conf = _score_items(predictor, items, min_side=min_side, progress=progress)
    source = {
        "kind": "folder",
        "path": str(root),
        "backend": predictor.info,
        "skipped": problems,
        "seconds": round(time.monotonic() - t0, 1),
    }
    return EvalResult(visits, conf, summarize(visits, conf if conf.sum() else None), source)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if math.isnan(float(obj)) else float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_report(
    result: EvalResult,
    out_dir: str | os.PathLike[str],
    *,
    model: SaltModel | None = None,
    command: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write ``report.json``, ``visits.csv`` and ``groups.csv`` to ``out_dir`` (atomically).

    Returns
    -------
    dict
        Name -> path of each file written.
    """
    from salt import __version__

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "salt_version": __version__,
        "model": None
        if model is None
        else {"name": model.name, "sha256": model.sha256, "config": model.config.to_dict()},
        "source": result.source,
        "command": list(command) if command is not None else None,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "metrics": result.metrics,
        "confusion": result.confusion.tolist(),
    }
    paths = {
        "report": out / "report.json",
        "visits": out / "visits.csv",
        "groups": out / "groups.csv",
    }
    atomic_write_bytes(paths["report"], (json.dumps(_jsonable(report), indent=2) + "\n").encode())
    atomic_write_bytes(paths["visits"], csv_text(result.visits, float_format="%.4f").encode())
    rows = [
        {"column": col, "value": value, **stats}
        for col, values in result.metrics.get("groups", {}).items()
        for value, stats in values.items()
    ]
    groups = pd.DataFrame(rows, columns=["column", "value", "n", "mae", "bias"])
    atomic_write_bytes(paths["groups"], csv_text(groups, float_format="%.4f").encode())
    return paths


def format_summary(metrics: Mapping[str, Any]) -> str:
    """Return a few lines with the headline metrics and the targets (for logs and the CLI)."""
    lines = [
        f"visits {metrics['n_visits']}: SALT MAE {metrics['salt_mae']:.2f} points, bias "
        f"{metrics['salt_bias']:+.2f}, ICC(2,1) {metrics.get('icc21', math.nan):.3f}, "
        f"per-view MAE {metrics['view_mae']['all']:.2f} %",
        f"calls: SALT<=20 agreement {metrics['call_le20_agreement']:.1%}, SALT>=50 agreement "
        f"{metrics['call_ge50_agreement']:.1%}; band accuracy {metrics['band_accuracy']:.1%}",
    ]
    if "miou" in metrics:
        iou = ", ".join(f"{k} {v:.3f}" for k, v in metrics["iou"].items())
        lines.append(f"mIoU {metrics['miou']:.3f} ({iou})")
    met = [f"{k} {'met' if v['met'] else 'MISSED'}" for k, v in metrics["targets"].items()]
    lines.append("targets: " + ", ".join(met))
    return "\n".join(lines)


# --------------------------------------------------------------------------- real photos
