"""Write synthetic visits to disk in the project's labelled-data convention.

Layout (see ``data/README.md``)::

    OUT/photos/<subject>/<visit>/<view>.jpg    RGB photos
    OUT/masks/<subject>/<visit>/<view>.png     uint8 labels: 0 not scalp, 1 scalp with hair,
                                               2 hairless scalp
    OUT/truth.csv                              one row per visit: subject, visit, top, back,
                                               left, right (percent), salt, subtype, ...
    OUT/params.jsonl                           every parameter of every visit

The ``photos`` folder is a photo root that :func:`salt.discover_visits` reads.
Every file is written atomically (temporary file, then rename).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pandas as pd

from salt.errors import BadValueError, OutputError
from salt.io.atomic import atomic_write_bytes
from salt.io.csvsafe import csv_text
from salt.io.outputs import encode_mask_png
from salt.synth.visit import SyntheticVisit, random_subject, render_subject, render_visit
from salt.views import VIEWS

__all__ = [
    "TRAJECTORIES",
    "trajectory",
    "visit_seed",
    "write_dataset",
    "write_longitudinal",
    "write_visit",
]

log = logging.getLogger(__name__)

#: Longitudinal trajectories and their default shares.
TRAJECTORIES: dict[str, float] = {
    "responder": 0.35,
    "partial": 0.2,
    "non-responder": 0.25,
    "relapse": 0.2,
}


def visit_seed(seed: int, index: int) -> int:
    """Seed of the ``index``-th visit of a data set drawn with ``seed``.

    Parameters
    ----------
    seed : int
        Data-set seed.
    index : int
        0-based visit (or subject) number.

    Returns
    -------
    int
        A 31-bit seed; ``render_visit(visit_seed(seed, i), size=...)`` regenerates visit ``i``.
    """
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] >> 1)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data, fsync=False)


def write_visit(
    out: str | os.PathLike[str],
    subject: str,
    visit: str,
    sv: SyntheticVisit,
    *,
    jpeg_quality: int = 95,
) -> None:
    """Write one visit's four photos and masks.

    Parameters
    ----------
    out : path-like
        Data-set root.
    subject, visit : str
        Folder names.
    sv : SyntheticVisit
        The rendered visit.
    jpeg_quality : int, default 95
        JPEG quality of the photos (the masks are lossless palette PNGs).
    """
    root = Path(out)
    for view in VIEWS:
        ok, jpg = cv2.imencode(
            ".jpg",
            cv2.cvtColor(sv.photos[view], cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)],
        )
        if not ok:
            raise OutputError(f"could not encode {subject}/{visit}/{view}")
        _atomic_write(root / "photos" / subject / visit / f"{view}.jpg", jpg.tobytes())
        # a palette PNG: the values 0/1/2 kept, the classes coloured in an image viewer
        _atomic_write(
            root / "masks" / subject / visit / f"{view}.png", encode_mask_png(sv.labels[view])
        )


def _prepare(out: str | os.PathLike[str], overwrite: bool) -> Path:
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root} exists and is not a folder: choose another output folder")
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise OutputError(
            f"{root} is not empty: choose a new folder or pass overwrite=True (--overwrite)"
        )
    root.mkdir(parents=True, exist_ok=True)
    return root


def _row(subject: str, visit: str, sv: SyntheticVisit, seed: int) -> dict[str, Any]:
    p = sv.params
    return {
        "subject": subject,
        "visit": visit,
        **{v: sv.percents[v] for v in VIEWS},
        "salt": sv.salt,
        "subtype": sv.subtype,
        "skin_tone": p["skin_tone"],
        "hair_colour": p["hair_colour"],
        "hair_length_cm": round(float(p["hair_length_cm"]), 2),
        "seed": seed,
        "size": p["size"],
    }


def _finish(root: Path, rows: list[dict[str, Any]], params: list[dict[str, Any]]) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    _atomic_write(root / "truth.csv", csv_text(table).encode())  # escaped like every CSV
    lines = "".join(json.dumps(p, sort_keys=True) + "\n" for p in params)
    _atomic_write(root / "params.jsonl", lines.encode())
    return table


def _progress(items: Iterable[int], total: int, progress: bool, desc: str) -> Iterable[int]:
    """Wrap ``items`` in a tqdm bar when ``progress`` is set."""
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc=desc, unit="visit")


def write_dataset(
    out: str | os.PathLike[str],
    n_visits: int,
    seed: int = 0,
    *,
    size: int = 512,
    subtype: str | None = None,
    salt_uniform: bool = False,
    jpeg_quality: int = 95,
    overwrite: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """Write ``n_visits`` independent synthetic visits (one per subject).

    Parameters
    ----------
    out : path-like
        Output folder; must be empty or new unless ``overwrite``.
    n_visits : int
        Number of visits (subjects ``S0000``, ``S0001``, ... with visit ``week0``).
    seed : int, default 0
        Data-set seed; visit ``i`` uses :func:`visit_seed` ``(seed, i)``.
    size : int, default 512
        Photo side in pixels.
    subtype : str, optional
        Force a subtype; random per visit if None.
    salt_uniform : bool, default False
        Spread SALT uniformly over 0-100.
    jpeg_quality : int, default 95
        JPEG quality of the written photos.
    overwrite : bool, default False
        Allow writing into a non-empty folder.
    progress : bool, default False
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame
        The truth table also written to ``OUT/truth.csv``.

    Raises
    ------
    OutputError
        If ``out`` is not empty (and not ``overwrite``) or cannot be written.
    BadValueError
        If ``n_visits`` < 1 or an option is invalid.
    """
    if n_visits < 1:
        raise BadValueError(f"n_visits must be at least 1, got {n_visits}")
    root = _prepare(out, overwrite)
    rows: list[dict[str, Any]] = []
    params: list[dict[str, Any]] = []
    for i in _progress(range(n_visits), n_visits, progress, "synth"):
        s = visit_seed(seed, i)
        sv = render_visit(s, size=size, subtype=subtype, salt_uniform=salt_uniform)
        subject, visit = f"S{i:04d}", "week0"
        write_visit(root, subject, visit, sv, jpeg_quality=jpeg_quality)
        rows.append(_row(subject, visit, sv, s))
        params.append({"subject": subject, "visit": visit, **sv.params})
    log.info("wrote %d synthetic visits to %s", n_visits, root)
    return _finish(root, rows, params)


def trajectory(
    kind: str, baseline: float, weeks: Sequence[int], rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Draw a SALT trajectory over the visit weeks.

    Parameters
    ----------
    kind : str
        ``responder`` (falls to about 0-20 with a time constant of 8-20 weeks),
        ``partial`` (falls by 30-60 % of baseline), ``non-responder`` (drifts
        within a few points), ``relapse`` (responds, then after a stop week
        rises by more than 20 points).
    baseline : float
        SALT at week 0 (>= 50 for trial eligibility).
    weeks : sequence of int
        Visit weeks, the first being 0.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray of float64, shape (len(weeks),)
        Target SALT at each visit, clipped to 0-100; the first is ``baseline``.
    """
    w = np.asarray(weeks, dtype=np.float64)
    if kind == "responder":
        final = rng.uniform(0.0, 18.0)
        tau = rng.uniform(6.0, 18.0)
        delay = rng.uniform(0.0, 6.0)
        frac = 1 - np.exp(-np.clip(w - delay, 0, None) / tau)
        y = baseline + (final - baseline) * frac
    elif kind == "partial":
        final = baseline * rng.uniform(0.4, 0.7)
        tau = rng.uniform(8.0, 20.0)
        y = baseline + (final - baseline) * (1 - np.exp(-w / tau))
    elif kind == "non-responder":
        y = baseline + np.cumsum(rng.normal(0.0, 1.5, size=len(w)))
        y[0] = baseline
    elif kind == "relapse":
        final = rng.uniform(0.0, 20.0)
        tau = rng.uniform(5.0, 12.0)
        stop = w[0] + (w[-1] - w[0]) * rng.uniform(0.45, 0.7)
        rise = rng.uniform(25.0, 60.0)
        y = baseline + (final - baseline) * (1 - np.exp(-w / tau))
        at_stop = baseline + (final - baseline) * (1 - math.exp(-stop / tau))
        after = w > stop
        y[after] = at_stop + rise * (1 - np.exp(-(w[after] - stop) / rng.uniform(3.0, 8.0)))
    else:
        raise BadValueError(f"unknown trajectory {kind!r}: expected one of {list(TRAJECTORIES)}")
    y = y + rng.normal(0.0, 1.0, size=len(w)) * (np.arange(len(w)) > 0)
    y[0] = baseline
    return np.clip(y, 0.0, 100.0)


def write_longitudinal(
    out: str | os.PathLike[str],
    n_subjects: int,
    seed: int = 0,
    *,
    weeks: Sequence[int] = tuple(range(0, 37, 4)),
    size: int = 512,
    jpeg_quality: int = 95,
    overwrite: bool = False,
    progress: bool = False,
    on_visit: Callable[[str, str, SyntheticVisit], None] | None = None,
) -> pd.DataFrame:
    """Write trial-like subjects: baseline SALT >= 50 and visits that follow a trajectory.

    Each subject keeps one head, hair and loss map; the loss field's threshold
    is set at every visit so that the SALT of the rendered masks follows the
    subject's trajectory (:func:`trajectory`), so patches shrink (regrowth) or
    grow (relapse) in place. Cameras and light vary between visits.

    Parameters
    ----------
    out : path-like
        Output folder; must be empty or new unless ``overwrite``.
    n_subjects : int
        Number of subjects (``P000``, ``P001``, ...).
    seed : int, default 0
        Data-set seed.
    weeks : sequence of int, default 0, 4, ..., 36
        Visit weeks; visit folders are ``week<N>``. Use ``range(0, 37)`` for weekly visits.
    size : int, default 512
        Photo side in pixels.
    jpeg_quality : int, default 95
        JPEG quality.
    overwrite : bool, default False
        Allow writing into a non-empty folder.
    progress : bool, default False
        Show a progress bar.
    on_visit : callable, optional
        Called with ``(subject, visit, SyntheticVisit)`` after each visit is written.

    Returns
    -------
    pandas.DataFrame
        The truth table (also ``OUT/truth.csv``), with extra columns ``week``,
        ``trajectory``, ``target_salt`` and ``baseline_salt``.

    Raises
    ------
    OutputError
        If ``out`` is not empty (and not ``overwrite``) or cannot be written.
    BadValueError
        If ``n_subjects`` < 1 or ``weeks`` is empty, unsorted or does not start at 0.
    """
    wk = [int(w) for w in weeks]
    if n_subjects < 1:
        raise BadValueError(f"n_subjects must be at least 1, got {n_subjects}")
    if not wk or wk[0] != 0 or any(b <= a for a, b in itertools.pairwise(wk)):
        raise BadValueError(f"weeks must be increasing and start at 0, got {wk}")
    root = _prepare(out, overwrite)
    rows: list[dict[str, Any]] = []
    params: list[dict[str, Any]] = []
    kinds = list(TRAJECTORIES)
    probs = np.array(list(TRAJECTORIES.values()))
    ticks = iter(_progress(range(n_subjects * len(wk)), n_subjects * len(wk), progress, "synth"))
    for j in range(n_subjects):
        s = visit_seed(seed, j)
        rng = np.random.default_rng([s, 2])
        subtype = str(rng.choice(["patchy", "diffuse", "ophiasis"], p=[0.7, 0.2, 0.1]))
        subject = random_subject(np.random.default_rng([s, 1]), subtype=subtype)
        hi = 75.0 if subtype == "ophiasis" else 100.0
        baseline = float(rng.uniform(52.0, hi))
        kind = str(rng.choice(kinds, p=probs))
        targets = trajectory(kind, baseline, wk, rng)
        name = f"P{j:03d}"
        base_salt = None
        for week, target in zip(wk, targets, strict=True):
            sv = render_subject(
                subject, s, size=size, target_salt=float(target), visit_key=week + 1
            )
            visit = f"week{week}"
            write_visit(root, name, visit, sv, jpeg_quality=jpeg_quality)
            if base_salt is None:
                base_salt = sv.salt
            row = _row(name, visit, sv, s)
            row.update(
                week=week,
                trajectory=kind,
                target_salt=float(target),
                baseline_salt=base_salt,
            )
            rows.append(row)
            params.append({"subject": name, "visit": visit, "trajectory": kind, **sv.params})
            if on_visit is not None:
                on_visit(name, visit, sv)
            next(ticks, None)
    log.info("wrote %d subjects x %d visits to %s", n_subjects, len(wk), root)
    return _finish(root, rows, params)
