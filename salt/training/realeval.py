"""Accuracy on real photos against a panel of raters, measured through the user's own path.

A rated folder holds photos and ``ratings.csv`` (two raters' by-eye hair-loss % per
photo; see :func:`salt.training.realdata.read_ratings`). The photos are laid out as
a photo folder (``<subject>/visit1/<view>.jpg``, symbolic links) and scored by
:func:`salt.score_folder`, the function behind ``salt score``: same decoder, same
backend, same post-processing as a user's batch. Results are compared with the
raters' mean (the reference panel), and the raters with each other (the floor).

Person-wise cross-validation: when the rated people were also used to train (e.g.
with teacher pseudo-labels), each person must be scored by a model that never saw
them. :func:`evaluate_rated` takes one model per fold of
:func:`salt.training.realdata.person_folds`; the model for fold ``f`` was trained on
the people of fold ``f`` and scores the people of every other fold (with two
folds: each half is scored by the model trained on the other half).

Some folders of the development set mix photos of different people; per-person
SALT is then a weighted sum over photos of up to four people. It is reported with
that caveat; per-view errors are exact.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salt.errors import BadValueError
from salt.io.csvsafe import write_csv
from salt.results import REVIEW_CONFIDENCE
from salt.training.realdata import RatedPhoto, person_folds, person_salt, read_ratings

__all__ = ["evaluate_rated", "format_rated_summary", "rated_metrics", "review_catch"]

logger = logging.getLogger(__name__)


def _layout(photos: Sequence[RatedPhoto], root: Path) -> None:
    """Link the rated photos into a photo folder ``root/<subject>/visit1/<view>.<ext>``."""
    for p in photos:
        dst = root / p.subject / "visit1" / f"{p.view}{p.path.suffix.lower()}"
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            os.symlink(p.path.resolve(), dst)


def rated_metrics(views: pd.DataFrame) -> dict[str, Any]:
    """Agreement of model and raters from a per-photo table.

    Parameters
    ----------
    views : pandas.DataFrame
        One row per photo with ``subject``, ``view``, ``rater_a``, ``rater_b`` and
        ``model`` (hair-loss %, 0-100; NaN where the model gave no value).

    Returns
    -------
    dict
        ``view``: per-view MAE and bias of the model against the raters' mean, the
        raters' own mean absolute difference, by view and overall; ``salt``: per-person
        SALT MAE, bias, ICC(2,1) with its 95 % interval, Bland-Altman limits, and
        the same for rater A against rater B (the floor); ``low``: people the raters
        put under SALT 10 and how many of them the model scores under 15;
        ``unscored``: photos without a model value.
    """
    from salt.trial.agreement import bland_altman, icc

    v = views.copy()
    v["reference"] = (v["rater_a"] + v["rater_b"]) / 2
    v["error"] = v["model"] - v["reference"]
    if "confidence" not in v.columns:
        v["confidence"] = np.nan
    scored = v.dropna(subset=["model"])
    by_view: dict[str, Any] = {}
    for name, g in [*scored.groupby("view"), ("all", scored)]:
        by_view[str(name)] = {
            "n": len(g),
            "mae": float(g["error"].abs().mean()),
            "bias": float(g["error"].mean()),
            "raters_differ": float((g["rater_a"] - g["rater_b"]).abs().mean()),
        }
    p = person_salt(scored, ("model", "reference", "rater_a", "rater_b"))
    out: dict[str, Any] = {"view": by_view, "unscored": int(v["model"].isna().sum())}
    if len(p) >= 3:
        err = p["model"] - p["reference"]
        ic = icc(p[["model", "reference"]].to_numpy())
        ic_r = icc(p[["rater_a", "rater_b"]].to_numpy())
        ba = bland_altman(p["model"], p["reference"])
        out["salt"] = {
            "n_people": len(p),
            "mae": float(err.abs().mean()),
            "bias": float(err.mean()),
            "icc21": float(ic.loc["ICC(2,1)", "icc"]),
            "icc21_ci": [float(ic.loc["ICC(2,1)", "ci_low"]), float(ic.loc["ICC(2,1)", "ci_high"])],
            "loa": [ba.loa_low, ba.loa_high],
            "raters_differ": float((p["rater_a"] - p["rater_b"]).abs().mean()),
            "raters_icc21": float(ic_r.loc["ICC(2,1)", "icc"]),
        }
        low = p[p["reference"] < 10]
        out["low"] = {
            "n_people": len(low),
            "scored_under_15": int((low["model"] < 15).sum()),
        }
    if "confidence" in scored.columns and scored["confidence"].notna().any():
        out["review"] = review_catch(scored, REVIEW_CONFIDENCE)
    out["people"] = p.to_dict(orient="records")
    return out


def review_catch(
    views: pd.DataFrame, cutoff: float, *, error_points: float = 10.0
) -> dict[str, float]:
    """How well a confidence cut-off picks out the views that are badly wrong.

    Parameters
    ----------
    views : pandas.DataFrame
        ``error`` (model minus reference, points) and ``confidence`` per photo.
    cutoff : float
        Views with ``confidence < cutoff`` are sent to review.
    error_points : float
        A view is badly wrong when ``|error| > error_points``.

    Returns
    -------
    dict
        ``cutoff``, ``n_wrong`` (badly wrong views), ``n_review`` (sent to review),
        ``recall`` (share of the wrong views sent to review), ``precision`` (share
        of the reviewed views that are wrong), ``share_reviewed``.
    """
    wrong = views["error"].abs() > error_points
    review = views["confidence"] < cutoff
    n_wrong, n_review = int(wrong.sum()), int(review.sum())
    return {
        "cutoff": float(cutoff),
        "error_points": float(error_points),
        "n_wrong": n_wrong,
        "n_review": n_review,
        "recall": float((wrong & review).sum() / n_wrong) if n_wrong else float("nan"),
        "precision": float((wrong & review).sum() / n_review) if n_review else float("nan"),
        "share_reviewed": float(review.mean()),
    }


def evaluate_rated(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    models: Sequence[Any] | Mapping[int, Any] = ("default",),
    backend: str = "auto",
    device: str = "auto",
    seed: int = 0,
    people: Collection[str] | None = None,
    progress: bool = False,
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Score a rated real-photo folder with ``salt score``'s engine and compare with the raters.

    Parameters
    ----------
    folder : path
        Rated folder (``ratings.csv`` and the photos it names).
    out : path
        Report folder: ``rated_views.csv`` (one row per photo), ``rated_people.csv``,
        ``report.json``, and per model ``score_<i>/`` (the batch outputs, with overlays).
    models : sequence of model, optional
        One model (name, folder or :class:`SaltModel`): every person is scored by it.
        Two or more: person-wise cross-validation; ``models[f]`` was trained on the
        people of fold ``f`` of ``person_folds(subjects, k=len(models), seed=seed)``
        and scores everyone else; a person is scored by the model of the next fold.
    backend, device : str
        As in ``salt score`` (default ``auto``).
    seed : int
        Seed of the person folds (as used for training).
    people : collection of str, optional
        Score only these people (``S<nn>``), e.g. those a single model was not trained on.
    progress : bool
        Show the engine's progress bar.
    command : sequence of str, optional
        The command line, recorded in ``report.json``.

    Returns
    -------
    dict
        :func:`rated_metrics` plus ``models`` (name and SHA256 of each) and ``folds``.

    Raises
    ------
    salt.InputFileError
        If the rated folder or ``ratings.csv`` is malformed.
    salt.BadValueError
        If no model is given.
    """
    from salt.inference.engine import score_folder
    from salt.model import SaltModel, load_model

    if not models:
        raise BadValueError("give at least one model")
    rated = read_ratings(folder)
    if people is not None:
        rated = [p for p in rated if p.subject in set(people)]
        if not rated:
            raise BadValueError(f"none of the people {sorted(people)} is in {folder}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    k = len(models)
    folds = person_folds([p.subject for p in rated], k=k, seed=seed) if k > 1 else {}
    rows = []
    model_info = []
    for i in range(k):
        m = models[i]
        model = m if isinstance(m, SaltModel) else load_model(m)
        model_info.append({"fold": i, "name": model.name, "sha256": model.sha256})
        # with one model: everyone; with k: the people of fold i-1 (trained on fold i)
        mine = [p for p in rated if k == 1 or folds[p.subject] == (i - 1) % k]
        photos_dir = out / f"photos_{i}"
        _layout(mine, photos_dir)
        score_dir = out / f"score_{i}"
        score_folder(
            photos_dir,
            score_dir,
            model=model,
            backend=backend,
            device=device,
            progress=progress,
            resume=False,
            partial=True,
        )
        views = pd.read_csv(score_dir / "views.csv", dtype={"subject": str})
        got = {(str(r.subject), str(r.view)): r for r in views.itertuples(index=False)}
        for p in mine:
            r = got.get((p.subject, p.view))
            pct = getattr(r, "loss_pct", np.nan) if r is not None else np.nan
            conf = getattr(r, "confidence", np.nan) if r is not None else np.nan
            rows.append(
                {
                    "file": p.path.name,
                    "subject": p.subject,
                    "view": p.view,
                    "rater_a": p.rater_a,
                    "rater_b": p.rater_b,
                    "reference": p.reference,
                    "model": float(pct) if pct is not None else np.nan,
                    "confidence": float(conf) if conf is not None else np.nan,
                    "scored_by": i,
                    "turned": p.turned,
                    "overlay": str(getattr(r, "overlay", "")) if r is not None else "",
                }
            )
    table = pd.DataFrame(rows)
    metrics = rated_metrics(table)
    metrics["models"] = model_info
    metrics["folds"] = {s: int(f) for s, f in sorted(folds.items())}
    metrics["backend"] = backend
    metrics["command"] = list(command or [])
    table["error"] = table["model"] - table["reference"]
    write_csv(out / "rated_views.csv", table.round(3))  # escaped like every CSV
    write_csv(out / "rated_people.csv", pd.DataFrame(metrics.get("people", [])).round(3))
    (out / "report.json").write_text(json.dumps(metrics, indent=2, default=float) + "\n")
    return metrics


def format_rated_summary(m: Mapping[str, Any]) -> str:
    """Format :func:`evaluate_rated`'s result as a few lines of text."""
    lines = ["view    n  model MAE   bias  raters differ"]
    for name, r in m["view"].items():
        lines.append(
            f"{name:6s} {r['n']:3d} {r['mae']:10.1f} {r['bias']:+6.1f} {r['raters_differ']:14.1f}"
        )
    s = m.get("salt")
    if s:
        lines.append(
            f"per-person SALT ({s['n_people']} people): MAE {s['mae']:.1f}, bias {s['bias']:+.1f}, "
            f"ICC(2,1) {s['icc21']:.2f} ({s['icc21_ci'][0]:.2f} to {s['icc21_ci'][1]:.2f}), "
            f"limits of agreement {s['loa'][0]:+.1f} to {s['loa'][1]:+.1f}; raters differ by "
            f"{s['raters_differ']:.1f} (ICC {s['raters_icc21']:.2f})"
        )
    low = m.get("low")
    if low:
        lines.append(
            f"people the raters put under 10: {low['n_people']}, scored under 15: "
            f"{low['scored_under_15']}"
        )
    rv = m.get("review")
    if rv:
        lines.append(
            f"needs review (confidence < {rv['cutoff']:.2f}): {rv['n_review']} views "
            f"({100 * rv['share_reviewed']:.0f} %); catches {rv['recall'] * 100:.0f} % of the "
            f"{rv['n_wrong']} views off by more than {rv['error_points']:.0f} points "
            f"(precision {rv['precision'] * 100:.0f} %)"
        )
    if m.get("unscored"):
        lines.append(f"{m['unscored']} photos unscored")
    return "\n".join(lines)
