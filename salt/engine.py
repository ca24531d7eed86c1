"""The inference engine: score one visit, or a whole photo folder, fast and resumably.

:func:`score_visit` scores four photos (paths, arrays or :class:`salt.photo.Photo`)
and returns a :class:`VisitResult`. :func:`score_folder` scores every visit under a
folder (see :func:`salt.discover_visits`) and writes the tables, overlays and
provenance described in :mod:`salt.outputs`; with ``client=`` the same pipeline runs
on the workers of a Dask cluster and this process writes the outputs
(:mod:`salt.distributed`).

The batch pipeline has three stages, each measured (``run.json`` ``stage_seconds``):

1. **load** (worker threads, bounded prefetch): read each photo once, hash it,
   decode it at reduced size (:func:`salt.photo.load_photo` with ``target_side`` =
   the network input) and resize/normalise it for the network.
2. **infer** (main thread): photos of consecutive visits are batched together
   (``batch_size`` photos per call) and run by a backend (:mod:`salt.backends`).
3. **finish** (writer threads): per-view percentages, SALT, quality flags,
   overlays and mask PNGs, then the visit is appended to the journal.

At most ``prefetch`` visits are loaded ahead and at most ``2 * prefetch`` wait for
the writer, so memory does not grow with the size of the folder.

Visit status (``visits.csv`` ``status``)
----------------------------------------
``ok``
    All four views scored; SALT, band and AA-IGA filled.
``incomplete``
    A view has no photo (``views_missing`` names it); SALT empty.
``partial``
    Only with ``partial=True``: a view is missing, and SALT is computed from the
    views present with their weights rescaled to sum to 1 (an estimate, not SALT).
``failed``
    A photo could not be read or decoded, or a view shows no scalp; SALT empty.
``duplicate``
    A view has two photos (``errors.csv`` names both); SALT empty.
``same_photo``
    The same photo (identical SHA256) is used for two views (``errors.csv`` names
    both); the views are measured but SALT is left empty.
``flagged``
    Only with ``strict=True``: a quality flag is set on a view; SALT empty.

Resume
------
Each finished visit is keyed by the SHA256 of its photo files, the model's name and
SHA256, the backend and the options that change results. A re-run into the same output folder
reuses a visit whose key is unchanged and re-scores the others, so a run killed at
any point and started again ends with the same tables as one uninterrupted run.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import json
import logging
import math
import os
import platform
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from salt.errors import (
    BadValueError,
    DuplicateViewError,
    EmptyScalpError,
    MissingViewError,
    OutputError,
    SaltError,
)
from salt.scoring import aa_iga, salt_score, severity_band, view_loss_percent
from salt.storage import PhotoPath, as_local, is_url
from salt.views import VIEW_WEIGHTS, VIEWS, normalize_view

__all__ = ["STATUSES", "ViewResult", "VisitResult", "score_folder", "score_visit"]

log = logging.getLogger(__name__)

#: Values of the ``status`` column of ``visits.csv`` (see module notes).
STATUSES: tuple[str, ...] = (
    "ok",
    "partial",
    "incomplete",
    "failed",
    "duplicate",
    "same_photo",
    "flagged",
)

PhotoInput = Any  # str | os.PathLike | ndarray | salt.photo.Photo


# ----------------------------------------------------------------------------- results
@dataclasses.dataclass(frozen=True)
class ViewResult:
    """The measurement of one photo.

    Attributes
    ----------
    view : str
        One of :data:`salt.VIEWS`.
    path : str
        The photo's path (or name, for an array).
    sha256 : str
        SHA256 of the file bytes.
    loss_pct : float or None
        Hairless share of the view's scalp, percent in [0, 100]; None when the view
        shows no scalp.
    scalp_pixels, hairless_pixels : int
        Pixels of scalp (classes 1 and 2) and hairless scalp (class 2) in the class
        map at network resolution.
    mask_pixels : int
        Pixels in the class map (S * S).
    size : tuple of int
        ``(width, height)`` of the photo at full resolution, upright.
    decoded_size : tuple of int
        ``(width, height)`` of the decoded (possibly reduced) photo.
    orientation : int
        EXIF orientation applied (1-8).
    flags : dict
        Quality measures and flags (:func:`salt.quality.quality_flags`).
    class_map : ndarray of uint8, shape (S, S), or None
        The class map (0 not scalp, 1 hair, 2 hairless), when asked for.
    """

    view: str
    path: str
    sha256: str
    loss_pct: float | None
    scalp_pixels: int
    hairless_pixels: int
    mask_pixels: int
    size: tuple[int, int]
    decoded_size: tuple[int, int]
    orientation: int
    flags: Mapping[str, float | bool] = dataclasses.field(default_factory=dict)
    class_map: npt.NDArray[np.uint8] | None = None


@dataclasses.dataclass(frozen=True)
class VisitResult:
    """The measurement of one visit.

    Attributes
    ----------
    subject, visit : str
        Identifiers ("" when scored from loose photos).
    views : Mapping[str, ViewResult]
        Each scored photo, by view.
    percents : Mapping[str, float]
        Hair-loss percent of each view with a measurement.
    salt : float or None
        SALT, percent of the scalp (None unless ``status`` is ``ok`` or ``partial``).
    band : str or None
        Severity band (:func:`salt.severity_band`).
    aa_iga : int or None
        AA-IGA grade (:func:`salt.aa_iga`).
    status : str
        One of :data:`STATUSES`.
    missing : tuple of str
        Views without a photo.
    errors : tuple of dict
        Rows for ``errors.csv`` (file, subject, visit, view, error_type, message).
    model_name, model_sha256 : str
        The model that measured.
    """

    subject: str
    visit: str
    views: Mapping[str, ViewResult]
    percents: Mapping[str, float]
    salt: float | None
    band: str | None
    aa_iga: int | None
    status: str
    missing: tuple[str, ...] = ()
    errors: tuple[Mapping[str, str], ...] = ()
    model_name: str = ""
    model_sha256: str = ""

    @property
    def message(self) -> str:
        """The problems of this visit in one line ("" when none)."""
        return "; ".join(e["message"] for e in self.errors)

    def row(self) -> dict[str, Any]:
        """Return the visit as a row of ``visits.csv`` (without ``visit_key``)."""
        return {
            "subject": self.subject,
            "visit": self.visit,
            **{f"{v}_pct": self.percents.get(v, math.nan) for v in VIEWS},
            "salt": math.nan if self.salt is None else self.salt,
            "band": self.band,
            "aa_iga": self.aa_iga,
            "status": self.status,
            "views_missing": ",".join(self.missing),
            "message": self.message,
            "model_name": self.model_name,
            "model_sha256": self.model_sha256,
        }


def _error(
    exc: BaseException | str,
    *,
    file: str = "",
    subject: str = "",
    visit: str = "",
    view: str = "",
    error_type: str | None = None,
) -> dict[str, str]:
    return {
        "file": file,
        "subject": subject,
        "visit": visit,
        "view": view,
        "error_type": error_type or type(exc).__name__,
        "message": str(exc),
    }


# ----------------------------------------------------------------------------- model
def _resolve_model(model: Any) -> Any:
    from salt.model import SaltModel, load_model

    if model is None:
        return load_model("default")
    if isinstance(model, (str, os.PathLike)):
        return load_model(model)
    if isinstance(model, SaltModel) or hasattr(model, "network"):
        return model
    raise BadValueError(
        f"model must be a SaltModel, a model name or None, got {type(model).__name__}"
    )


def _preprocess_one(model: Any, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """(3, S, S) float32 network input for one photo (thread-safe)."""
    return model.preprocess([rgb])[0].numpy()


# ----------------------------------------------------------------------------- one visit
def _quality(
    rgb: npt.NDArray[np.uint8],
    class_map: npt.NDArray[np.uint8],
    view: str,
    thresholds: Mapping[str, Any] | None,
) -> dict[str, float | bool]:
    try:
        from salt.quality import quality_flags
    except ImportError:  # the quality module is optional
        return {}
    return dict(quality_flags(rgb, class_map, view, thresholds=_thresholds(thresholds)))


def _thresholds(thresholds: Any) -> Any:
    """Build QualityThresholds from a mapping of some of its fields (others pass through)."""
    if not isinstance(thresholds, Mapping):
        return thresholds
    from salt.quality import QualityThresholds

    try:
        return QualityThresholds(**thresholds)
    except TypeError as exc:
        raise BadValueError(f"bad quality thresholds {dict(thresholds)}: {exc}") from None


def _assemble(
    *,
    subject: str,
    visit: str,
    photos: Mapping[str, Any],
    class_maps: Mapping[str, npt.NDArray[np.uint8]],
    missing: Sequence[str],
    errors: Sequence[Mapping[str, str]],
    model: Any,
    partial: bool,
    strict: bool,
    thresholds: Mapping[str, Any] | None,
    keep_masks: bool,
) -> VisitResult:
    """Turn class maps into per-view percentages, SALT and a status."""
    errs = [dict(e) for e in errors]
    views: dict[str, ViewResult] = {}
    percents: dict[str, float] = {}
    # the same photo (equal SHA256) used for two views
    by_hash: dict[str, list[str]] = {}
    for view in VIEWS:
        if view in photos:
            by_hash.setdefault(photos[view].sha256, []).append(view)
    for same in by_hash.values():
        if len(same) > 1:
            files = ", ".join(f"{v!r} ({photos[v].path})" for v in same)
            errs.append(
                _error(
                    DuplicateViewError(
                        f"visit {subject}/{visit}: the same photo (identical content) is used for "
                        f"the views {files}; give each view its own photo"
                    ),
                    file=photos[same[0]].path,
                    subject=subject,
                    visit=visit,
                    view=",".join(same),
                )
                | {"kind": "same_photo"}
            )
    flagged: list[str] = []
    for view in VIEWS:
        if view not in class_maps:
            continue
        photo, cmap = photos[view], class_maps[view]
        scalp = (cmap == 1) | (cmap == 2)
        bald = cmap == 2
        n_scalp, n_bald = int(np.count_nonzero(scalp)), int(np.count_nonzero(bald))
        pct: float | None
        try:
            pct = view_loss_percent(scalp, bald)
            percents[view] = pct
        except EmptyScalpError as exc:
            pct = None
            errs.append(
                _error(
                    EmptyScalpError(f"{photo.path}: {exc}"),
                    file=photo.path,
                    subject=subject,
                    visit=visit,
                    view=view,
                )
            )
        flags = _quality(photo.rgb, cmap, view, thresholds)
        if any(isinstance(v, (bool, np.bool_)) and bool(v) for v in flags.values()):
            flagged.append(view)
        views[view] = ViewResult(
            view=view,
            path=photo.path,
            sha256=photo.sha256,
            loss_pct=pct,
            scalp_pixels=n_scalp,
            hairless_pixels=n_bald,
            mask_pixels=int(cmap.size),
            size=tuple(int(x) for x in photo.original_size),  # type: ignore[arg-type]
            decoded_size=photo.size,
            orientation=int(photo.orientation),
            flags=flags,
            class_map=cmap if keep_masks else None,
        )
    missing = tuple(v for v in VIEWS if v in missing)
    salt: float | None = None
    same_ids = {id(e) for e in errs if e.pop("kind", None) == "same_photo"}
    dup = any(e["error_type"] == "DuplicateViewError" and id(e) not in same_ids for e in errs)
    failed = any(e["error_type"] != "DuplicateViewError" for e in errs)
    if missing:
        names = ", ".join(repr(v) for v in missing)
        errs.append(
            _error(
                MissingViewError(
                    f"visit {subject}/{visit} has no photo of the {names} view"
                    + ("s" if len(missing) > 1 else "")
                    + ("" if partial else "; SALT left empty (use partial mode for an estimate)")
                ),
                subject=subject,
                visit=visit,
                view=",".join(missing),
            )
        )
    if failed:
        status = "failed"
    elif dup:
        status = "duplicate"
    elif same_ids:
        status = "same_photo"
    elif missing:
        status = "incomplete"
        if partial and percents:
            status = "partial"
            weight = math.fsum(VIEW_WEIGHTS[v] for v in percents)
            total = math.fsum(VIEW_WEIGHTS[v] * p for v, p in percents.items())
            salt = min(100.0, max(0.0, total / weight))
    elif strict and flagged:
        status = "flagged"
        for view in flagged:
            names = ", ".join(
                k
                for k, v in views[view].flags.items()
                if bool(v) is True and isinstance(v, (bool, np.bool_))
            )
            errs.append(
                _error(
                    f"{views[view].path}: quality flags set ({names}); "
                    "SALT left empty (strict mode)",
                    file=views[view].path,
                    subject=subject,
                    visit=visit,
                    view=view,
                    error_type="QualityFlag",
                )
            )
    else:
        status = "ok"
        salt = salt_score(percents)
    return VisitResult(
        subject=subject,
        visit=visit,
        views=views,
        percents=percents,
        salt=salt,
        band=None if salt is None else severity_band(salt),
        aa_iga=None if salt is None else aa_iga(salt),
        status=status,
        missing=missing,
        errors=tuple(errs),
        model_name=str(model.name),
        model_sha256=str(model.sha256),
    )


def _as_photo(value: PhotoInput, view: str, target_side: int, min_side: int) -> Any:
    from salt.photo import Photo, load_photo, photo_from_array

    if isinstance(value, Photo):
        return value
    if isinstance(value, np.ndarray):
        return photo_from_array(value, name=view)
    if isinstance(value, (str, os.PathLike)):
        return load_photo(value, target_side=target_side, min_side=min_side)
    raise BadValueError(
        f"view {view!r}: expected a path, an (H, W, 3) uint8 array or a Photo, "
        f"got {type(value).__name__}"
    )


def score_visit(
    photos: Mapping[str, PhotoInput],
    *,
    model: Any = None,
    backend: str = "torch",
    device: str = "cpu",
    masks: bool = False,
    partial: bool = False,
    min_side: int = 256,
    subject: str = "",
    visit: str = "",
) -> VisitResult:
    """Score one visit from its four photos.

    Parameters
    ----------
    photos : Mapping[str, path or ndarray or Photo]
        One photo per view, keyed by view name or alias (``"top"``, ``"vertex"``,
        ...): a file path, an (H, W, 3) uint8 RGB array, or a decoded
        :class:`salt.photo.Photo`.
    model : SaltModel or str, optional
        The model, or a registered model name; ``None`` loads ``"default"``.
    backend : str, default "torch"
        Inference backend (:mod:`salt.backends`).
    device : {"cpu", "cuda", "auto"}, default "cpu"
    masks : bool, default False
        Keep each view's class map in :attr:`ViewResult.class_map`.
    partial : bool, default False
        Allow missing views: SALT is then estimated from the views present, their
        weights rescaled to sum to 1, and ``status`` is ``"partial"``.
    min_side : int, default 256
        Smallest short side, pixels, accepted for a photo file.
    subject, visit : str
        Labels copied into the result.

    Returns
    -------
    VisitResult
        ``status`` ``"ok"`` (or ``"partial"``), per-view percentages, SALT, band and
        AA-IGA.

    Raises
    ------
    MissingViewError
        If a view is missing and ``partial`` is False (the message names it).
    DuplicateViewError
        If two views name the same view, or the same photo is given for two views.
    InputFileError
        If a photo cannot be read (the message names the file).
    EmptyScalpError
        If a view shows no scalp.
    BadValueError
        For an unknown view name or a bad array.
    """
    from salt.backends import make_backend

    by_view: dict[str, PhotoInput] = {}
    for name, value in photos.items():
        view = normalize_view(str(name))
        if view in by_view:
            raise DuplicateViewError(
                f"two photos were given for the {view!r} view (keys include {name!r})"
            )
        by_view[view] = value
    missing = [v for v in VIEWS if v not in by_view]
    if missing and not partial:
        raise MissingViewError(
            f"no photo for the {', '.join(repr(v) for v in missing)} view(s): SALT needs "
            f"all of {list(VIEWS)} (or pass partial=True for an estimate)"
        )
    if not by_view:
        raise MissingViewError("no photos were given")
    m = _resolve_model(model)
    size = int(m.config.input_size)
    loaded = {v: _as_photo(p, v, size, min_side) for v, p in by_view.items()}
    batch = np.stack([_preprocess_one(m, loaded[v].rgb) for v in VIEWS if v in loaded])
    be = make_backend(m.network, size, backend, device=device)
    try:
        maps = be(batch)
    finally:
        be.close()
    class_maps = dict(zip([v for v in VIEWS if v in loaded], maps, strict=True))
    result = _assemble(
        subject=subject,
        visit=visit,
        photos=loaded,
        class_maps=class_maps,
        missing=missing,
        errors=(),
        model=m,
        partial=partial,
        strict=False,
        thresholds=None,
        keep_masks=masks,
    )
    if result.status in ("ok", "partial"):
        return result
    first = result.errors[0]
    exc_type: type[SaltError] = {
        "EmptyScalpError": EmptyScalpError,
        "DuplicateViewError": DuplicateViewError,
    }.get(first["error_type"], SaltError)
    raise exc_type(first["message"])


# ----------------------------------------------------------------------------- folder
@dataclasses.dataclass
class _Job:
    """A visit travelling through the pipeline."""

    index: int
    subject: str
    visit: str
    paths: Mapping[str, PhotoPath]
    missing: tuple[str, ...]
    errors: list[dict[str, str]]
    key: str | None = None
    reuse: dict[str, Any] | None = None
    photos: dict[str, Any] = dataclasses.field(default_factory=dict)
    inputs: dict[str, npt.NDArray[np.float32]] = dataclasses.field(default_factory=dict)
    class_maps: dict[str, npt.NDArray[np.uint8]] = dataclasses.field(default_factory=dict)

    @property
    def visit_id(self) -> str:
        return f"{self.subject}/{self.visit}"


class _Timer:
    """Thread-safe accumulator of seconds per stage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


def _file_sha256(path: PhotoPath) -> str | None:
    """SHA256 of a file (local or URL), or None when it cannot be read (the load stage says why)."""
    from salt.storage import sha256

    try:
        return sha256(path)
    except Exception:
        return None


def _visit_key(settings: str, hashes: Mapping[str, str | None], job: _Job) -> str | None:
    if any(h is None for h in hashes.values()):
        return None
    digest = hashlib.sha256(settings.encode())
    for view in VIEWS:
        digest.update(f"|{view}={hashes.get(view) or '-'}".encode())
    digest.update(f"|missing={','.join(job.missing)}".encode())
    digest.update(f"|errors={json.dumps(job.errors, sort_keys=True)}".encode())
    return digest.hexdigest()


def _peak_rss_mb() -> float:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return math.nan
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


def _host() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import torch

    from salt.backends import default_threads

    gpu = (
        [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if torch.cuda.is_available()
        else []
    )
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_cores": default_threads(),
        "gpu": gpu,
    }


def score_folder(
    root: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    model: Any = None,
    batch_size: int = 16,
    device: str = "auto",
    backend: str = "auto",
    overlays: bool = True,
    masks: bool = False,
    resume: bool = True,
    progress: bool = True,
    workers: int | None = None,
    writers: int | None = None,
    prefetch: int | None = None,
    partial: bool = False,
    strict: bool = False,
    quality_thresholds: Mapping[str, Any] | None = None,
    min_side: int = 256,
    allow_inside_input: bool = False,
    arguments: Mapping[str, Any] | None = None,
    client: Any = None,
    chunk_visits: int = 4,
) -> pd.DataFrame:
    """Score every visit under a photo folder.

    Parameters
    ----------
    root : path-like or str
        The photo folder (layouts of :func:`salt.discover_visits`): a local path, a
        ``file://`` URL or an fsspec URL such as ``s3://bucket/study``
        (:mod:`salt.storage`). Never written.
    out : path-like, optional
        Local (or mounted) output folder for ``visits.csv``, ``visits.parquet``,
        ``views.csv``, ``errors.csv``, ``overlays/``, ``masks/`` and ``run.json``
        (see :mod:`salt.outputs`); a URL raises :class:`salt.OutputError`. Created
        if needed. ``None`` writes nothing and only returns the table.
    model : SaltModel or str, optional
        The model, or a registered model name; ``None`` loads ``"default"``.
    batch_size : int, default 16
        Photos per network call (photos of consecutive visits share a batch).
    device : {"auto", "cpu", "cuda"}
    backend : str, default "auto"
        ``"auto"``, ``"torch"``, ``"torch-bf16"``, ``"onnxruntime"``, ``"openvino"`` or
        ``"openvino-fp32"`` (:mod:`salt.backends`).
    overlays : bool, default True
        Write ``overlays/<subject>/<visit>/<view>.jpg`` (outlines and % on the
        decoded photo) and ``sheet.jpg`` (2x2) per visit.
    masks : bool, default False
        Write ``masks/<subject>/<visit>/<view>.png``: the class map (0 not scalp,
        1 hair, 2 hairless) at the decoded photo's size.
    resume : bool, default True
        Reuse visits already scored in ``out`` with the same photos, model and
        options (see module notes); False re-scores everything.
    progress : bool, default True
        Show a tqdm progress bar (visits/s and ETA) on stderr.
    workers : int, optional
        Loader threads (default: the number of CPU cores, at most 8).
    writers : int, optional
        Threads that finish visits (quality flags, overlays, journal); default
        ``workers``.
    prefetch : int, optional
        Visits loaded ahead of inference (default ``max(2 * workers, batch_size // 2)``).
    partial : bool, default False
        Estimate SALT for visits with missing views (status ``partial``).
    strict : bool, default False
        Leave SALT empty for visits with a quality flag (status ``flagged``).
    quality_thresholds : Mapping or salt.quality.QualityThresholds, optional
        Cut-offs of the quality flags (:class:`salt.quality.QualityThresholds`; a
        mapping gives some of its fields).
    min_side : int, default 256
        Smallest short side, pixels, accepted for a photo.
    allow_inside_input : bool, default False
        Allow ``out`` inside ``root``.
    arguments : Mapping, optional
        Extra arguments to record in ``run.json`` (e.g. the command line).
    client : dask.distributed.Client, optional
        Score on this Dask cluster instead of in this process (:mod:`salt.distributed`):
        visits go to the workers in tasks of ``chunk_visits`` visits, each worker
        loads the model once (its SHA256 checked) and runs this same pipeline, and
        the results come back to this process, which writes every output as a local
        run does (same tables, resume and errors). ``backend="auto"`` is resolved
        here, ``device="auto"`` on each worker; ``workers`` and ``prefetch`` then
        apply within each task.
    chunk_visits : int, default 4
        Visits per cluster task (with ``client``); 4 visits = 16 photos = one
        default batch.

    Returns
    -------
    pandas.DataFrame
        One row per visit, the columns of ``visits.csv``
        (:data:`salt.outputs.VISIT_COLUMNS`), sorted by subject and visit.

    Raises
    ------
    OutputError
        Before any work, if ``out`` cannot be written, is inside ``root``, or is in
        use by another run.
    InputFileError
        If ``root`` holds no photos.
    ModelError
        If the model cannot be loaded.
    """
    from salt.backends import default_threads, make_backend, resolve_backend
    from salt.folders import discover_visits
    from salt.outputs import (
        Journal,
        OutputLock,
        check_output_folder,
        tables_from_entries,
        write_tables,
    )

    if batch_size < 1:
        raise BadValueError(f"batch_size must be >= 1, got {batch_size}")
    quality_thresholds = _thresholds(quality_thresholds)
    started = datetime.now(UTC)
    t_start = time.perf_counter()
    timer = _Timer()
    root_path: PhotoPath = as_local(root) or str(root)
    root_local = root_path if isinstance(root_path, Path) else None
    if out is not None and is_url(out):
        raise OutputError(
            f"output folder {out!r} is a URL: write to a local or mounted folder (the resume "
            "journal needs appends and the lock an exclusive create, which object stores lack), "
            "then copy it, e.g. with fsspec or `aws s3 sync`"
        )
    out_path = (
        check_output_folder(as_local(out) or out, root_local, allow_inside_input=allow_inside_input)
        if out is not None
        else None
    )
    lock = OutputLock(out_path).acquire() if out_path is not None else None
    try:
        t = time.perf_counter()
        visits = discover_visits(root_path, on_duplicate="record")
        root_abs = root_local.resolve() if root_local is not None else None
        if (
            out_path is not None
            and root_abs is not None
            and (out_path == root_abs or root_abs in out_path.parents)
        ):
            visits = [
                v
                for v in visits
                if not any(out_path in Path(p).resolve().parents for p in v.paths.values())
            ]
        timer.add("discover", time.perf_counter() - t)
        m = _resolve_model(model)
        n_workers = workers or min(8, default_threads())
        n_writers = writers or n_workers
        n_prefetch = prefetch or max(2 * n_workers, batch_size // 2)
        # on a cluster the workers, not this process, resolve and check the device
        be_name, be_device = resolve_backend(backend, device, check_device=client is None)
        settings = json.dumps(
            {
                "model": [str(m.name), str(m.sha256)],
                "backend": be_name,
                "partial": partial,
                "strict": strict,
                "thresholds": quality_thresholds,
                "min_side": min_side,
                "masks": masks,
                "overlays": overlays,
            },
            sort_keys=True,
            default=str,
        )
        options = _Options(
            batch_size=batch_size,
            workers=n_workers,
            writers=n_writers,
            prefetch=n_prefetch,
            settings=settings,
            partial=partial,
            strict=strict,
            thresholds=quality_thresholds,
            min_side=min_side,
            overlays=overlays and out_path is not None,
            masks=masks and out_path is not None,
        )
        journal = Journal(out_path) if out_path is not None else None
        previous = journal.read() if (journal is not None and resume) else {}
        # a finished visit is reused only if the files it refers to are still there
        previous = {
            k: e
            for k, e in previous.items()
            if _outputs_exist(out_path, e, options.overlays, options.masks)
        }
        jobs = []
        for i, v in enumerate(visits):
            errs = [
                _error(
                    DuplicateViewError(
                        f"visit {v.subject}/{v.visit} has {len(ps)} photos of the {view!r} view: "
                        f"{', '.join(str(p) for p in ps)}; keep one"
                    ),
                    file=", ".join(str(p) for p in ps),
                    subject=v.subject,
                    visit=v.visit,
                    view=view,
                )
                for view, ps in v.duplicates.items()
            ]
            jobs.append(_Job(i, v.subject, v.visit, dict(v.paths), tuple(v.missing), errs))
        counts = {"visits": len(jobs), "reused": 0, "scored": 0, "photos_scored": 0}
        from tqdm import tqdm

        bar = tqdm(
            total=len(jobs), unit="visit", disable=not progress, desc="scoring", dynamic_ncols=True
        )
        writer = _OutputWriter(out_path, journal, bar)
        cluster_info: dict[str, Any] | None = None
        try:
            if client is None:
                t = time.perf_counter()
                be = make_backend(m.network, int(m.config.input_size), be_name, device=be_device)
                timer.add("backend_setup", time.perf_counter() - t)
                backend_info = {"name": be.name, "device": be.device, "versions": be.versions}
                pipeline = _Pipeline(
                    model=m,
                    backend=be,
                    options=options,
                    previous=previous,
                    timer=timer,
                    emit=writer,
                )
                try:
                    pipeline.run(jobs)
                finally:
                    be.close()
                reused, photos_scored = pipeline.reused, pipeline.photos_scored
            else:
                from salt.distributed import run_on_cluster

                stats = run_on_cluster(
                    client,
                    jobs,
                    model=m,
                    backend=be_name,
                    device=device,
                    options=options,
                    previous=previous,
                    timer=timer,
                    emit=writer,
                    chunk_visits=chunk_visits,
                )
                reused, photos_scored = stats.reused, stats.photos_scored
                backend_info = stats.backend
                cluster_info = stats.cluster
        finally:
            bar.close()
            if journal is not None:
                journal.close()
        entries = writer.entries
        counts["reused"] = reused
        counts["scored"] = len(jobs) - reused
        counts["photos_scored"] = photos_scored
        entries.sort(key=lambda e: e["index"])
        t = time.perf_counter()
        visits_df, views_df, errors_df = tables_from_entries(entries)
        if out_path is not None and journal is not None:
            journal.rewrite(
                {k: e[k] for k in ("key", "visit_id", "visit", "views", "errors")} for e in entries
            )
            write_tables(out_path, visits_df, views_df, errors_df)
        timer.add("tables", time.perf_counter() - t)
        for status in STATUSES:
            counts[status] = int((visits_df["status"] == status).sum())
        counts["errors"] = len(errors_df)
        elapsed = time.perf_counter() - t_start
        log.info(
            "scored %d visits (%d reused) in %.1f s: %s",
            len(jobs),
            counts["reused"],
            elapsed,
            ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]),
        )
        if out_path is not None:
            _write_run_json(
                out_path,
                root=root_path,
                model=m,
                backend=backend_info,
                cluster=cluster_info,
                started=started,
                elapsed=elapsed,
                counts=counts,
                stages=timer.seconds,
                arguments={
                    "root": str(root_path),
                    "out": str(out_path),
                    "batch_size": batch_size,
                    "device": device,
                    "backend": backend,
                    "overlays": overlays,
                    "masks": masks,
                    "resume": resume,
                    "workers": n_workers,
                    "writers": n_writers,
                    "prefetch": n_prefetch,
                    "partial": partial,
                    "strict": strict,
                    "quality_thresholds": quality_thresholds,
                    "min_side": min_side,
                    "allow_inside_input": allow_inside_input,
                    "scheduler": None if client is None else str(client.scheduler.address),
                    "chunk_visits": chunk_visits,
                    **(arguments or {}),
                },
            )
        visits_df.attrs = {}
        return visits_df
    finally:
        if lock is not None:
            lock.release()


def _write_run_json(
    out: Path,
    *,
    root: PhotoPath,
    model: Any,
    backend: Mapping[str, Any],
    cluster: Mapping[str, Any] | None,
    started: datetime,
    elapsed: float,
    counts: Mapping[str, int],
    stages: Mapping[str, float],
    arguments: Mapping[str, Any],
) -> None:
    import salt
    from salt.outputs import atomic_write_text

    info = {
        "salt_version": salt.__version__,
        "arguments": dict(arguments),
        "model": {
            "name": str(model.name),
            "sha256": str(model.sha256),
            "config": model.config.to_dict()
            if hasattr(model.config, "to_dict")
            else str(model.config),
        },
        "backend": dict(backend),
        "host": _host(),
        "cluster": cluster,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(elapsed, 3),
        "visits_per_second": round(counts["visits"] / elapsed, 3) if elapsed > 0 else None,
        "counts": dict(counts),
        "stage_seconds": {k: round(v, 3) for k, v in sorted(stages.items())},
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    atomic_write_text(out / "run.json", json.dumps(info, indent=2, default=str) + "\n")


@dataclasses.dataclass(frozen=True)
class _Options:
    """What the pipeline needs besides the model and backend (pickled to cluster workers)."""

    batch_size: int
    workers: int
    writers: int
    prefetch: int
    settings: str
    partial: bool
    strict: bool
    thresholds: Any
    min_side: int
    overlays: bool
    masks: bool


#: ``emit(entry, files, reused)``: a finished visit, the files to write for it
#: (path relative to the output folder -> bytes), and whether it was reused.
Emit = Callable[[dict[str, Any], dict[str, bytes], bool], None]


class _OutputWriter:
    """Write finished visits: their files (atomically), then their journal line.

    The single writer of an output folder, for local and cluster runs alike: a
    visit's journal line is written only after its overlays and masks, so a visit
    in the journal always has its files.
    """

    def __init__(self, out: Path | None, journal: Any, bar: Any) -> None:
        self.out = out
        self.journal = journal
        self.bar = bar
        self.entries: list[dict[str, Any]] = []

    def __call__(self, entry: dict[str, Any], files: dict[str, bytes], reused: bool) -> None:
        from salt.atomic import atomic_write_bytes

        if self.out is not None:
            for rel, data in files.items():
                path = self.out / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(path, data, fsync=False)
        if self.journal is not None and not reused:
            self.journal.append([{k: v for k, v in entry.items() if k != "index"}])
        self.entries.append(entry)
        self.bar.update(1)


def _outputs_exist(out: Path | None, entry: Mapping[str, Any], overlays: bool, masks: bool) -> bool:
    """Whether the files a journal entry refers to (and the run asks for) exist."""
    if out is None:
        return True
    for row in entry.get("views", []):
        rel = row.get("overlay")
        if overlays and not rel:
            return False
        if rel and not (out / rel).exists():
            return False
        mask = out / "masks" / str(row["subject"]) / str(row["visit"])
        if masks and not (mask / f"{row['view']}.png").exists():
            return False
    return True


def _visit_entry(
    job: _Job, result: VisitResult, overlay_paths: Mapping[str, str]
) -> dict[str, Any]:
    """Build the journal entry of a scored visit: its rows of visits, views and errors."""
    view_rows = []
    for view, vr in result.views.items():
        row: dict[str, Any] = {
            "subject": job.subject,
            "visit": job.visit,
            "view": view,
            "path": vr.path,
            "sha256": vr.sha256,
            "loss_pct": math.nan if vr.loss_pct is None else vr.loss_pct,
            "scalp_pixels": vr.scalp_pixels,
            "hairless_pixels": vr.hairless_pixels,
            "mask_pixels": vr.mask_pixels,
            "width": vr.size[0],
            "height": vr.size[1],
            "decoded_width": vr.decoded_size[0],
            "decoded_height": vr.decoded_size[1],
            "orientation": vr.orientation,
            "overlay": overlay_paths.get(view, ""),
        }
        row.update({f"q_{k}": v for k, v in vr.flags.items()})
        view_rows.append(row)
    visit_row = result.row()
    visit_row["visit_key"] = job.key or ""
    return {
        "key": job.key,
        "visit_id": job.visit_id,
        "visit": visit_row,
        "views": view_rows,
        "errors": list(result.errors),
        "index": job.index,
    }


def _failed_entry(
    job: _Job, error: Mapping[str, str], model: Any, options: _Options
) -> dict[str, Any]:
    """Build the entry of a visit that could not be scored (e.g. its worker kept dying)."""
    job.key = None
    result = _assemble(
        subject=job.subject,
        visit=job.visit,
        photos={},
        class_maps={},
        missing=job.missing,
        errors=[*job.errors, dict(error)],
        model=model,
        partial=options.partial,
        strict=options.strict,
        thresholds=options.thresholds,
        keep_masks=False,
    )
    return _visit_entry(job, result, {})


class _Pipeline:
    """Load (threads) -> batched inference (this thread) -> finish (writer threads).

    Finished visits go to ``emit`` (see :data:`Emit`): the output writer in a local
    run, a list returned to the client on a cluster worker.
    """

    def __init__(
        self,
        *,
        model: Any,
        backend: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.uint8]],
        options: _Options,
        previous: Mapping[str, dict[str, Any]],
        timer: _Timer,
        emit: Emit,
    ) -> None:
        self.model = model
        self.backend = backend
        self.options = options
        self.previous = previous
        self.timer = timer
        self.emit = emit
        self.size = int(model.config.input_size)
        self.reused = 0
        self.photos_scored = 0
        self._done_lock = threading.Lock()

    # -- stage 1: load (worker threads)
    def _load(self, job: _Job) -> _Job:
        from salt.photo import load_photo

        prev = self.previous.get(job.visit_id)
        if prev is not None:
            t = time.perf_counter()
            hashes = {v: _file_sha256(p) for v, p in job.paths.items()}
            key = _visit_key(self.options.settings, hashes, job)
            self.timer.add("hash", time.perf_counter() - t)
            if key is not None and key == prev.get("key"):
                job.key = key
                job.reuse = prev
                return job
        hashes_loaded: dict[str, str | None] = {}
        failed = False
        for view in VIEWS:
            path = job.paths.get(view)
            if path is None:
                continue
            t = time.perf_counter()
            try:
                photo = load_photo(path, target_side=self.size, min_side=self.options.min_side)
                self.timer.add("decode", time.perf_counter() - t)
                t = time.perf_counter()
                job.inputs[view] = _preprocess_one(self.model, photo.rgb)
                self.timer.add("preprocess", time.perf_counter() - t)
            except SaltError as exc:  # one bad photo fails its visit, not the batch
                job.errors.append(
                    _error(exc, file=str(path), subject=job.subject, visit=job.visit, view=view)
                )
                failed = True
                continue
            job.photos[view] = photo
            hashes_loaded[view] = photo.sha256
        # a visit with a photo that failed gets no key: it is re-scored on every run
        job.key = None if failed else _visit_key(self.options.settings, hashes_loaded, job)
        return job

    # -- stage 3: finish (writer thread)
    def _finish(self, job: _Job) -> None:
        if job.reuse is not None:
            entry = dict(job.reuse)
            entry["index"] = job.index
            with self._done_lock:
                self.reused += 1
            self.emit(entry, {}, True)
            return
        opts = self.options
        t = time.perf_counter()
        kwargs: dict[str, Any] = {
            "subject": job.subject,
            "visit": job.visit,
            "missing": job.missing,
            "model": self.model,
            "partial": opts.partial,
            "strict": opts.strict,
            "thresholds": opts.thresholds,
            "keep_masks": False,
        }
        try:
            result = _assemble(
                photos=job.photos, class_maps=job.class_maps, errors=job.errors, **kwargs
            )
        except SaltError as exc:  # e.g. a quality check that rejects the photo: fail the visit
            log.warning("visit %s failed: %s", job.visit_id, exc)
            job.errors.append(_error(exc, subject=job.subject, visit=job.visit))
            job.key = None
            job.class_maps.clear()
            result = _assemble(photos={}, class_maps={}, errors=job.errors, **kwargs)
        self.timer.add("score", time.perf_counter() - t)
        t = time.perf_counter()
        overlay_paths, files = (
            _render_images(job, result, overlays=opts.overlays, masks=opts.masks)
            if (opts.overlays or opts.masks)
            else ({}, {})
        )
        self.timer.add("overlays", time.perf_counter() - t)
        entry = _visit_entry(job, result, overlay_paths)
        with self._done_lock:
            self.photos_scored += len(job.class_maps)
        job.photos.clear()
        job.inputs.clear()
        job.class_maps.clear()
        t = time.perf_counter()
        self.emit(entry, files, False)
        self.timer.add("write", time.perf_counter() - t)

    # -- the loop (stage 2 runs here)
    def run(self, jobs: Sequence[_Job]) -> None:
        opts = self.options
        loader = cf.ThreadPoolExecutor(opts.workers, thread_name_prefix="salt-load")
        writer = cf.ThreadPoolExecutor(opts.writers, thread_name_prefix="salt-write")
        writes: deque[cf.Future[None]] = deque()
        try:
            pending: list[tuple[_Job, str]] = []
            waiting: dict[int, int] = {}  # job index -> photos still to infer

            def drain_writes(limit: int) -> None:
                while len(writes) > limit:
                    writes.popleft().result()

            def flush(final: bool) -> None:
                while pending and (final or len(pending) >= opts.batch_size):
                    chunk = pending[: opts.batch_size]
                    del pending[: opts.batch_size]
                    t = time.perf_counter()
                    batch = np.stack([job.inputs[view] for job, view in chunk])
                    self.timer.add("batch", time.perf_counter() - t)
                    t = time.perf_counter()
                    maps = self.backend(batch)
                    self.timer.add("infer", time.perf_counter() - t)
                    for (job, view), cmap in zip(chunk, maps, strict=True):
                        job.class_maps[view] = np.ascontiguousarray(cmap)
                        del job.inputs[view]
                        waiting[job.index] -= 1
                        if waiting[job.index] == 0:
                            del waiting[job.index]
                            writes.append(writer.submit(self._finish, job))
                    drain_writes(2 * opts.prefetch)

            for job in _bounded_map(loader, self._load, jobs, opts.prefetch):
                if job.reuse is not None or not job.inputs:
                    writes.append(writer.submit(self._finish, job))
                    continue
                waiting[job.index] = len(job.inputs)
                pending.extend((job, view) for view in VIEWS if view in job.inputs)
                flush(final=False)
            flush(final=True)
            drain_writes(0)
        finally:
            loader.shutdown(wait=True, cancel_futures=True)
            writer.shutdown(wait=True, cancel_futures=True)


def _render_images(
    job: _Job, result: VisitResult, *, overlays: bool, masks: bool
) -> tuple[dict[str, str], dict[str, bytes]]:
    """Encode a visit's overlays, contact sheet and mask PNGs.

    Returns
    -------
    overlay_paths : dict
        View -> overlay path relative to the output folder (POSIX).
    files : dict
        Path relative to the output folder -> encoded bytes (JPEG or PNG).
    """
    import cv2

    from salt.overlay import contact_sheet, draw_overlay, encode_jpeg

    rel_dir = f"overlays/{job.subject}/{job.visit}"
    written: dict[str, str] = {}
    files: dict[str, bytes] = {}
    tiles: dict[str, npt.NDArray[np.uint8] | None] = {}
    for view in VIEWS:
        photo, cmap = job.photos.get(view), job.class_maps.get(view)
        if photo is None or cmap is None:
            tiles[view] = None
            continue
        if masks:
            h, w = photo.rgb.shape[:2]
            big = cv2.resize(cmap, (w, h), interpolation=cv2.INTER_NEAREST)
            ok, buf = cv2.imencode(".png", big)
            if ok:
                files[f"masks/{job.subject}/{job.visit}/{view}.png"] = bytes(buf)
        if overlays:
            pct = result.percents.get(view)
            text = (
                f"{view}: {pct:.1f} % hair loss" if pct is not None else f"{view}: no scalp found"
            )
            img = draw_overlay(photo.rgb, cmap, text)
            written[view] = f"{rel_dir}/{view}.jpg"
            files[written[view]] = encode_jpeg(img)
            tiles[view] = img
    if overlays:
        salt_txt = (
            f"SALT {result.salt:.1f}" if result.salt is not None else f"SALT -- ({result.status})"
        )
        sheet = contact_sheet(tiles, f"{job.subject} / {job.visit}   {salt_txt}")
        files[f"{rel_dir}/sheet.jpg"] = encode_jpeg(sheet, 85)
    return written, files


def _bounded_map(
    executor: cf.Executor, fn: Callable[[_Job], _Job], items: Sequence[_Job], ahead: int
) -> Iterator[_Job]:
    """``executor.map`` that keeps at most ``ahead`` items in flight, results in order."""
    futures: deque[cf.Future[_Job]] = deque()
    it = iter(items)
    for item in it:
        futures.append(executor.submit(fn, item))
        if len(futures) >= ahead:
            break
    while futures:
        result = futures.popleft().result()
        nxt = next(it, None)
        if nxt is not None:
            futures.append(executor.submit(fn, nxt))
        yield result
