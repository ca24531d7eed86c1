"""The stages of the inference pipeline, shared by every runner.

A visit travels as a :class:`Job` through three stages (:class:`Pipeline`):

1. **load** (worker threads, bounded prefetch): read each photo once, hash it,
   decode it at reduced size (:func:`decode`: :func:`salt.io.photo.load_photo` with
   ``target_side`` = the network input) and resize/normalise it (:func:`prepare`).
2. **infer** (the calling thread): photos of consecutive visits are batched together
   (``batch_size`` photos per call) and run by a backend (:mod:`salt.model.backends`).
3. **finish** (writer threads): per-view percentages, SALT, status and quality flags
   (:func:`measure_visit`), overlays and mask PNGs (:func:`render_images`), then the
   visit's entry (:func:`visit_entry`) goes to ``emit``.

At most ``prefetch`` visits are loaded ahead and at most ``2 * prefetch`` wait for
the writer, so memory does not grow with the size of the folder. The local runner
(:mod:`salt.inference.local`) and the cluster runner (:mod:`salt.inference.cluster`)
both run this pipeline; :func:`salt.score_visit` and evaluation use :func:`decode`,
:func:`prepare` and :func:`measure_visit` directly.

Resume
------
Each finished visit is keyed (:func:`visit_key`) by the SHA256 of its photo files,
the model's name and SHA256, the backend and the options that change results. A
re-run into the same output folder reuses a visit whose key is unchanged.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import json
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salt.classmap import view_confidence, view_percent, view_pixels
from salt.errors import (
    BadValueError,
    DuplicateViewError,
    EmptyScalpError,
    MissingViewError,
    SaltError,
)
from salt.io.storage import PhotoPath
from salt.results import (
    REVIEW_CONFIDENCE,
    ViewResult,
    VisitResult,
    partial_salt,
    visit_status,
)
from salt.scoring import aa_iga, salt_score, severity_band
from salt.views import VIEWS

__all__ = [
    "Emit",
    "Job",
    "Options",
    "Pipeline",
    "RunStats",
    "Timer",
    "as_photo",
    "decode",
    "error_row",
    "failed_entry",
    "measure_visit",
    "prepare",
    "resolve_model",
    "visit_entry",
    "visit_key",
]

log = logging.getLogger(__name__)

PhotoInput = Any  # str | os.PathLike | ndarray | salt.io.photo.Photo

#: ``emit(entry, files, reused)``: a finished visit, the files to write for it
#: (path relative to the output folder -> bytes), and whether it was reused.
Emit = Callable[[dict[str, Any], dict[str, bytes], bool], None]


def error_row(
    exc: BaseException | str,
    *,
    file: str = "",
    subject: str = "",
    visit: str = "",
    view: str = "",
    error_type: str | None = None,
) -> dict[str, str]:
    """Build a row of ``errors.csv`` for an exception or a message."""
    return {
        "file": file,
        "subject": subject,
        "visit": visit,
        "view": view,
        "error_type": error_type or type(exc).__name__,
        "message": str(exc),
    }


def resolve_model(model: Any) -> Any:
    """Return a model given as a SaltModel, a registered name or path, or None (``"default"``)."""
    from salt.model import SaltModel, load_model

    # lazy: the network is built only if the backend needs it (not from a warm cache)
    if model is None:
        return load_model("default", lazy=True)
    if isinstance(model, (str, os.PathLike)):
        return load_model(model, lazy=True)
    if isinstance(model, SaltModel) or hasattr(model, "network"):
        return model
    raise BadValueError(
        f"model must be a SaltModel, a model name or None, got {type(model).__name__}"
    )


def decode(path: PhotoPath | os.PathLike[str], input_size: int, min_side: int) -> Any:
    """Decode a photo file for a network of input side ``input_size`` (the one decoder).

    :func:`salt.io.photo.load_photo` with ``target_side=input_size``: the reduced JPEG
    decode that ``salt score``, :func:`salt.score_visit` and evaluation all use.
    """
    from salt.io.photo import load_photo

    return load_photo(path, target_side=input_size, min_side=min_side)


def prepare(model: Any, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """(3, S, S) float32 network input for one photo (thread-safe; no torch)."""
    if hasattr(model, "preprocess_array"):
        return model.preprocess_array([rgb])[0]
    return model.preprocess([rgb])[0].numpy()


def as_photo(value: PhotoInput, view: str, target_side: int, min_side: int) -> Any:
    """Return a decoded photo from a path, an RGB array or a Photo (as score_visit takes)."""
    from salt.io.photo import Photo, photo_from_array

    if isinstance(value, Photo):
        return value
    if isinstance(value, np.ndarray):
        return photo_from_array(value, name=view)
    if isinstance(value, (str, os.PathLike)):
        return decode(value, target_side, min_side)
    raise BadValueError(
        f"view {view!r}: expected a path, an (H, W, 3) uint8 array or a Photo, "
        f"got {type(value).__name__}"
    )


def quality(
    rgb: npt.NDArray[np.uint8],
    class_map: npt.NDArray[np.uint8],
    view: str,
    thresholds: Mapping[str, Any] | None,
) -> dict[str, float | bool]:
    """Quality measures and flags of one photo (:func:`salt.quality.quality_flags`)."""
    try:
        from salt.quality import quality_flags
    except ImportError:  # the quality module is optional
        return {}
    return dict(quality_flags(rgb, class_map, view, thresholds=quality_thresholds(thresholds)))


def quality_thresholds(thresholds: Any) -> Any:
    """Build QualityThresholds from a mapping of some of its fields (others pass through)."""
    if not isinstance(thresholds, Mapping):
        return thresholds
    from salt.quality import QualityThresholds

    try:
        return QualityThresholds(**thresholds)
    except TypeError as exc:
        raise BadValueError(f"bad quality thresholds {dict(thresholds)}: {exc}") from None


def _same_photo_errors(photos: Mapping[str, Any], subject: str, visit: str) -> list[dict[str, str]]:
    """Error rows for one photo (equal SHA256) used for two or more views."""
    by_hash: dict[str, list[str]] = {}
    for view in VIEWS:
        if view in photos:
            by_hash.setdefault(photos[view].sha256, []).append(view)
    rows = []
    for same in by_hash.values():
        if len(same) > 1:
            files = ", ".join(f"{v!r} ({photos[v].path})" for v in same)
            exc = DuplicateViewError(
                f"visit {subject}/{visit}: the same photo (identical content) is used for "
                f"the views {files}; give each view its own photo"
            )
            rows.append(
                error_row(
                    exc,
                    file=photos[same[0]].path,
                    subject=subject,
                    visit=visit,
                    view=",".join(same),
                )
            )
    return rows


def _measure_view(
    view: str,
    photo: Any,
    cmap: npt.NDArray[np.uint8],
    thresholds: Any,
    keep_mask: bool,
    unsure: npt.NDArray[np.bool_] | None = None,
) -> ViewResult:
    """Measure one photo: its loss % (:func:`salt.classmap.view_percent`) and quality flags."""
    n_scalp, n_bald = view_pixels(cmap)
    return ViewResult(
        view=view,
        path=photo.path,
        sha256=photo.sha256,
        loss_pct=view_percent(cmap),
        scalp_pixels=n_scalp,
        hairless_pixels=n_bald,
        mask_pixels=int(cmap.size),
        size=(int(photo.original_size[0]), int(photo.original_size[1])),
        decoded_size=photo.size,
        orientation=int(photo.orientation),
        flags=quality(photo.rgb, cmap, view, thresholds),
        class_map=cmap if keep_mask else None,
        confidence=None if unsure is None else view_confidence(cmap, unsure),
    )


def _flag_names(flags: Mapping[str, Any]) -> list[str]:
    return [k for k, v in flags.items() if isinstance(v, (bool, np.bool_)) and bool(v)]


def measure_visit(
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
    unsure_maps: Mapping[str, npt.NDArray[np.bool_]] | None = None,
) -> VisitResult:
    """Turn class maps into per-view percentages, SALT and a status.

    Per-view % by :func:`salt.classmap.view_percent` (a view without scalp fails the
    visit), status by :func:`salt.results.visit_status`, SALT by
    :func:`salt.salt_score` or, for a partial visit, :func:`salt.results.partial_salt`.
    ``errors`` are rows already found (load failures, duplicate files).
    ``unsure_maps`` (the backend's unsure masks) give each view a confidence; a
    complete visit with a view below :data:`salt.results.REVIEW_CONFIDENCE` gets the
    status ``needs_review``.
    """
    errs = [dict(e) for e in errors]
    dup = any(e["error_type"] == "DuplicateViewError" for e in errs)
    failed = any(e["error_type"] != "DuplicateViewError" for e in errs)
    same = _same_photo_errors(photos, subject, visit)
    errs += same
    views = {
        v: _measure_view(
            v, photos[v], class_maps[v], thresholds, keep_masks, (unsure_maps or {}).get(v)
        )
        for v in VIEWS
        if v in class_maps
    }
    percents = {v: r.loss_pct for v, r in views.items() if r.loss_pct is not None}
    for v, r in views.items():
        if r.loss_pct is None:
            failed = True
            exc = EmptyScalpError(f"{r.path}: the view shows no scalp (no hair, no hairless scalp)")
            errs.append(error_row(exc, file=r.path, subject=subject, visit=visit, view=v))
    missing = tuple(v for v in VIEWS if v in missing)
    if missing:
        names = ", ".join(repr(v) for v in missing)
        exc_m = MissingViewError(
            f"visit {subject}/{visit} has no photo of the {names} view"
            + ("s" if len(missing) > 1 else "")
            + ("" if partial else "; SALT left empty (use partial mode for an estimate)")
        )
        errs.append(error_row(exc_m, subject=subject, visit=visit, view=",".join(missing)))
    flagged = [v for v, r in views.items() if _flag_names(r.flags)]
    status = visit_status(
        failed=failed,
        duplicate=dup,
        same_photo=bool(same),
        missing=bool(missing),
        partial=partial,
        measured=bool(percents),
        flagged=bool(flagged),
        strict=strict,
        review=any(
            r.confidence is not None and r.confidence < REVIEW_CONFIDENCE for r in views.values()
        ),
    )
    if status == "flagged":
        for v in flagged:
            errs.append(
                error_row(
                    f"{views[v].path}: quality flags set "
                    f"({', '.join(_flag_names(views[v].flags))}); SALT left empty (strict mode)",
                    file=views[v].path,
                    subject=subject,
                    visit=visit,
                    view=v,
                    error_type="QualityFlag",
                )
            )
    salt = {"ok": salt_score, "needs_review": salt_score, "partial": partial_salt}.get(
        status, lambda _: None
    )(percents)
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


@dataclasses.dataclass
class Job:
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
    unsure_maps: dict[str, npt.NDArray[np.bool_]] = dataclasses.field(default_factory=dict)

    @property
    def visit_id(self) -> str:
        """``subject/visit``, the visit's name in the journal."""
        return f"{self.subject}/{self.visit}"


class Timer:
    """Thread-safe accumulator of seconds per stage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        """Add ``seconds`` to ``stage``."""
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


@dataclasses.dataclass(frozen=True)
class Options:
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


def photo_sha256(path: PhotoPath) -> str | None:
    """SHA256 of a file (local or URL), or None when it cannot be read (the load stage says why)."""
    from salt.io.storage import sha256

    try:
        return sha256(path)
    except Exception:
        return None


def visit_key(settings: str, hashes: Mapping[str, str | None], job: Job) -> str | None:
    """Return the resume key of a visit (settings, photo hashes, missing views, errors).

    None when a photo could not be hashed: the visit is then re-scored on every run.
    """
    if any(h is None for h in hashes.values()):
        return None
    digest = hashlib.sha256(settings.encode())
    for view in VIEWS:
        digest.update(f"|{view}={hashes.get(view) or '-'}".encode())
    digest.update(f"|missing={','.join(job.missing)}".encode())
    digest.update(f"|errors={json.dumps(job.errors, sort_keys=True)}".encode())
    return digest.hexdigest()


def visit_entry(job: Job, result: VisitResult, overlay_paths: Mapping[str, str]) -> dict[str, Any]:
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
            "confidence": math.nan if vr.confidence is None else vr.confidence,
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


def failed_entry(
    job: Job, error: Mapping[str, str], model: Any, options: Options
) -> dict[str, Any]:
    """Build the entry of a visit that could not be scored (e.g. its worker kept dying)."""
    job.key = None
    result = measure_visit(
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
    return visit_entry(job, result, {})


class Pipeline:
    """Load (threads) -> batched inference (this thread) -> finish (writer threads).

    Finished visits go to ``emit`` (see :data:`Emit`): the output writer in a local
    run, a list returned to the client on a cluster worker.
    """

    def __init__(
        self,
        *,
        model: Any,
        backend: Callable[
            [npt.NDArray[np.float32]], tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]
        ],
        options: Options,
        previous: Mapping[str, dict[str, Any]],
        timer: Timer,
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
    def _load(self, job: Job) -> Job:
        prev = self.previous.get(job.visit_id)
        if prev is not None:
            t = time.perf_counter()
            hashes = {v: photo_sha256(p) for v, p in job.paths.items()}
            key = visit_key(self.options.settings, hashes, job)
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
                photo = decode(path, self.size, self.options.min_side)
                self.timer.add("decode", time.perf_counter() - t)
                t = time.perf_counter()
                job.inputs[view] = prepare(self.model, photo.rgb)
                self.timer.add("preprocess", time.perf_counter() - t)
            except SaltError as exc:  # one bad photo fails its visit, not the batch
                job.errors.append(
                    error_row(exc, file=str(path), subject=job.subject, visit=job.visit, view=view)
                )
                failed = True
                continue
            job.photos[view] = photo
            hashes_loaded[view] = photo.sha256
        # a visit with a photo that failed gets no key: it is re-scored on every run
        job.key = None if failed else visit_key(self.options.settings, hashes_loaded, job)
        return job

    # -- stage 3: finish (writer thread)
    def _finish(self, job: Job) -> None:
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
            result = measure_visit(
                photos=job.photos,
                class_maps=job.class_maps,
                unsure_maps=job.unsure_maps,
                errors=job.errors,
                **kwargs,
            )
        except SaltError as exc:  # e.g. a quality check that rejects the photo: fail the visit
            log.warning("visit %s failed: %s", job.visit_id, exc)
            job.errors.append(error_row(exc, subject=job.subject, visit=job.visit))
            job.key = None
            job.class_maps.clear()
            job.unsure_maps.clear()
            result = measure_visit(photos={}, class_maps={}, errors=job.errors, **kwargs)
        self.timer.add("score", time.perf_counter() - t)
        t = time.perf_counter()
        overlay_paths, files = (
            render_images(job, result, overlays=opts.overlays, masks=opts.masks)
            if (opts.overlays or opts.masks)
            else ({}, {})
        )
        self.timer.add("overlays", time.perf_counter() - t)
        entry = visit_entry(job, result, overlay_paths)
        with self._done_lock:
            self.photos_scored += len(job.class_maps)
        job.photos.clear()
        job.inputs.clear()
        job.class_maps.clear()
        job.unsure_maps.clear()
        t = time.perf_counter()
        self.emit(entry, files, False)
        self.timer.add("write", time.perf_counter() - t)

    # -- the loop (stage 2 runs here)
    def run(self, jobs: Sequence[Job]) -> None:
        """Score ``jobs`` in order; each finished visit goes to ``emit``."""
        opts = self.options
        loader = cf.ThreadPoolExecutor(opts.workers, thread_name_prefix="salt-load")
        writer = cf.ThreadPoolExecutor(opts.writers, thread_name_prefix="salt-write")
        writes: deque[cf.Future[None]] = deque()
        try:
            pending: list[tuple[Job, str]] = []
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
                    maps, unsure = self.backend(batch)
                    self.timer.add("infer", time.perf_counter() - t)
                    for (job, view), cmap, uns in zip(chunk, maps, unsure, strict=True):
                        job.class_maps[view] = np.ascontiguousarray(cmap)
                        job.unsure_maps[view] = np.ascontiguousarray(uns)
                        del job.inputs[view]
                        waiting[job.index] -= 1
                        if waiting[job.index] == 0:
                            del waiting[job.index]
                            writes.append(writer.submit(self._finish, job))
                    drain_writes(2 * opts.prefetch)

            for job in bounded_map(loader, self._load, jobs, opts.prefetch):
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


def render_images(
    job: Job, result: VisitResult, *, overlays: bool, masks: bool
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

    from salt.io.outputs import encode_mask_png, visit_folder
    from salt.io.overlay import contact_sheet, draw_overlay, encode_jpeg

    folder = visit_folder(job.subject, job.visit)  # names made safe for paths
    rel_dir = f"overlays/{folder}"
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
            files[f"masks/{folder}/{view}.png"] = encode_mask_png(big)
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


def bounded_map(
    executor: cf.Executor, fn: Callable[[Job], Job], items: Sequence[Job], ahead: int
) -> Iterator[Job]:
    """``executor.map`` that keeps at most ``ahead`` items in flight, results in order."""
    futures: deque[cf.Future[Job]] = deque()
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


@dataclasses.dataclass(frozen=True)
class RunStats:
    """What a runner (local or cluster) reports back to :func:`salt.score_folder`.

    Attributes
    ----------
    reused : int
        Visits reused from the journal.
    photos_scored : int
        Photos run through the network.
    backend : dict
        ``name``, ``device`` and ``versions`` of the backend that ran.
    cluster : dict or None
        For ``run.json`` (cluster runs only): scheduler address, workers and their
        threads, tasks submitted and re-submitted, visits each worker scored, model
        set-up seconds per worker.
    """

    reused: int
    photos_scored: int
    backend: dict[str, Any]
    cluster: dict[str, Any] | None = None
