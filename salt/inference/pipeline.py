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

from salt.errors import BadValueError, SaltError
from salt.inference.measure import error_row, measure_visit, quality, quality_thresholds
from salt.io.storage import PhotoPath
from salt.results import VisitResult
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
    "quality",
    "quality_thresholds",
    "resolve_model",
    "visit_entry",
    "visit_key",
]

log = logging.getLogger(__name__)

PhotoInput = Any  # str | os.PathLike | ndarray | salt.io.photo.Photo

#: ``emit(entry, files, reused)``: a finished visit, the files to write for it
#: (path relative to the output folder -> bytes), and whether it was reused.
Emit = Callable[[dict[str, Any], dict[str, bytes], bool], None]


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

    Overlays and sheet by :func:`salt.io.overlay.visit_overlays`, drawn at sheet size
    from the reduced decode; mask PNGs at the decoded photo's size.

    Returns
    -------
    overlay_paths : dict
        View -> overlay path relative to the output folder (POSIX).
    files : dict
        Path relative to the output folder -> encoded bytes (JPEG or PNG).
    """
    import cv2

    from salt.io.outputs import encode_mask_png, visit_folder
    from salt.io.overlay import visit_overlays

    folder = visit_folder(job.subject, job.visit)  # names made safe for paths
    rel_dir = f"overlays/{folder}"
    files: dict[str, bytes] = {}
    drawn = {v: (job.photos[v], job.class_maps[v]) for v in VIEWS if v in job.class_maps}
    if masks:
        for view, (photo, cmap) in drawn.items():
            h, w = photo.rgb.shape[:2]
            big = cv2.resize(cmap, (w, h), interpolation=cv2.INTER_NEAREST)
            files[f"masks/{folder}/{view}.png"] = encode_mask_png(big)
    if not overlays:
        return {}, files
    salt_txt = (
        f"SALT {result.salt:.1f}" if result.salt is not None else f"SALT -- ({result.status})"
    )
    views = {}
    for view, (photo, cmap) in drawn.items():
        pct = result.percents.get(view)
        label = f"{view}: {pct:.1f} % hair loss" if pct is not None else f"{view}: no scalp found"
        views[view] = (photo.rgb, cmap, label)
    jpegs, sheet = visit_overlays(views, f"{job.subject} / {job.visit}   {salt_txt}")
    written = {view: f"{rel_dir}/{view}.jpg" for view in jpegs}
    files.update({written[view]: data for view, data in jpegs.items()})
    files[f"{rel_dir}/sheet.jpg"] = sheet
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
