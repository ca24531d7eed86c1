"""The public calls of the inference engine: score one visit, or a whole photo folder.

:func:`score_visit` scores four photos (paths, arrays or :class:`salt.io.photo.Photo`)
and returns a :class:`salt.results.VisitResult`. :func:`score_folder` scores every
visit under a folder (see :func:`salt.discover_visits`) and writes the tables,
overlays and provenance described in :mod:`salt.io.outputs`; it runs the pipeline
(:mod:`salt.inference.pipeline`) in this process (:mod:`salt.inference.local`) or,
with ``client=``, on the workers of a Dask cluster (:mod:`salt.inference.cluster`),
and this process writes the outputs either way.

Both use the same decoder, backend defaults (``backend="auto"``, ``device="auto"``),
per-view rule (:func:`salt.classmap.view_percent`) and status rules
(:mod:`salt.results`, which lists the statuses). Each run's stages are timed in
``run.json`` ``stage_seconds``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import socket
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from salt.errors import (
    BadValueError,
    DuplicateViewError,
    EmptyScalpError,
    MissingViewError,
    OutputError,
    SaltError,
)
from salt.inference import pipeline
from salt.inference.local import run_local, shared_predictor
from salt.inference.pipeline import (
    Job,
    Options,
    PhotoInput,
    RunStats,
    Timer,
    as_photo,
    error_row,
    measure_visit,
    resolve_model,
)
from salt.io.folders import Visit, discover_visits
from salt.io.outputs import (
    Journal,
    OutputLock,
    check_output_folder,
    tables_from_entries,
    write_tables,
)
from salt.io.storage import PhotoPath, as_local, is_url
from salt.model.backends import default_threads, resolve_backend
from salt.results import SCORED_STATUSES, STATUSES, ViewResult, VisitResult
from salt.views import VIEWS, normalize_view

__all__ = ["STATUSES", "ViewResult", "VisitResult", "score_folder", "score_visit"]

log = logging.getLogger(__name__)


def score_visit(
    photos: Mapping[str, PhotoInput],
    *,
    model: Any = None,
    backend: str = "auto",
    device: str = "auto",
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
        :class:`salt.io.photo.Photo`.
    model : SaltModel or str, optional
        The model, or a registered model name; ``None`` loads ``"default"``.
    backend : str, default "auto"
        Inference backend (:mod:`salt.model.backends`), as in :func:`score_folder`.
        The model's backend is built on the first call and reused by later calls
        with the same model, backend and device.
    device : {"auto", "cpu", "cuda"}, default "auto"
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
    predictor = shared_predictor(model, backend=backend, device=device)
    loaded = {
        v: as_photo(by_view[v], v, predictor.input_size, min_side) for v in VIEWS if v in by_view
    }
    maps, unsure = predictor.classify([p.rgb for p in loaded.values()])
    result = measure_visit(
        subject=subject,
        visit=visit,
        photos=loaded,
        class_maps=dict(zip(loaded, maps, strict=True)),
        unsure_maps=dict(zip(loaded, unsure, strict=True)),
        missing=missing,
        errors=(),
        model=predictor.model,
        partial=partial,
        strict=False,
        thresholds=None,
        keep_masks=masks,
    )
    if result.status in SCORED_STATUSES:
        return result
    first = result.errors[0]
    exc_type: type[SaltError] = {
        "EmptyScalpError": EmptyScalpError,
        "DuplicateViewError": DuplicateViewError,
    }.get(first["error_type"], SaltError)
    raise exc_type(first["message"])


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
        (:mod:`salt.io.storage`). Never written.
    out : path-like, optional
        Local (or mounted) output folder for ``visits.csv``, ``visits.parquet``,
        ``views.csv``, ``errors.csv``, ``overlays/``, ``masks/`` and ``run.json``
        (see :mod:`salt.io.outputs`); a URL raises :class:`salt.OutputError`. Created
        if needed. ``None`` writes nothing and only returns the table.
    model : SaltModel or str, optional
        The model, or a registered model name; ``None`` loads ``"default"``.
    batch_size : int, default 16
        Photos per network call (photos of consecutive visits share a batch).
    device : {"auto", "cpu", "cuda"}
    backend : str, default "auto"
        ``"auto"``, ``"torch"``, ``"torch-bf16"``, ``"onnxruntime"``, ``"openvino"`` or
        ``"openvino-fp32"`` (:mod:`salt.model.backends`).
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
        Score on this Dask cluster instead of in this process (:mod:`salt.inference.cluster`):
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
        (:data:`salt.io.outputs.VISIT_COLUMNS`), sorted by subject and visit.

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
    if batch_size < 1:
        raise BadValueError(f"batch_size must be >= 1, got {batch_size}")
    quality_thresholds = pipeline.quality_thresholds(quality_thresholds)
    started = datetime.now(UTC)
    t_start = time.perf_counter()
    timer = Timer()
    root_path: PhotoPath = as_local(root) or str(root)
    out_path = _output_folder(out, root_path, allow_inside_input)
    lock = OutputLock(out_path).acquire() if out_path is not None else None
    try:
        t = time.perf_counter()
        visits = _visits(root_path, out_path)
        timer.add("discover", time.perf_counter() - t)
        m = resolve_model(model)
        n_workers = workers or min(8, default_threads())
        # on a cluster the workers, not this process, resolve and check the device
        be_name, be_device = resolve_backend(backend, device, check_device=client is None)
        settings = {
            "model": [str(m.name), str(m.sha256)],
            "backend": be_name,
            "partial": partial,
            "strict": strict,
            "thresholds": quality_thresholds,
            "min_side": min_side,
            "masks": masks,
            "overlays": overlays,
        }
        options = Options(
            batch_size=batch_size,
            workers=n_workers,
            writers=writers or n_workers,
            prefetch=prefetch or max(2 * n_workers, batch_size // 2),
            settings=json.dumps(settings, sort_keys=True, default=str),
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
            if outputs_exist(out_path, e, options.overlays, options.masks)
        }
        jobs = [_job(i, v) for i, v in enumerate(visits)]
        from tqdm import tqdm

        bar = tqdm(
            total=len(jobs), unit="visit", disable=not progress, desc="scoring", dynamic_ncols=True
        )
        writer = OutputWriter(out_path, journal, bar)
        common: dict[str, Any] = {
            "model": m,
            "backend": be_name,
            "options": options,
            "previous": previous,
            "timer": timer,
            "emit": writer,
        }
        try:
            if client is None:
                stats = run_local(jobs, device=be_device, **common)
            else:
                from salt.inference.cluster import run_on_cluster

                stats = run_on_cluster(
                    client, jobs, device=device, chunk_visits=chunk_visits, **common
                )
        finally:
            bar.close()
            if journal is not None:
                journal.close()
        visits_df = _write_tables(out_path, journal, writer.entries, timer)
        counts = _counts(visits_df, jobs, stats)
        elapsed = time.perf_counter() - t_start
        log.info(
            "scored %d visits (%d reused) in %.1f s: %s",
            len(jobs),
            counts["reused"],
            elapsed,
            ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]),
        )
        if out_path is not None:
            write_run_json(
                out_path,
                model=m,
                backend=stats.backend,
                cluster=stats.cluster,
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
                    "workers": options.workers,
                    "writers": options.writers,
                    "prefetch": options.prefetch,
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
            # a person's corrections outlive model runs; then report.html (salt.review)
            from salt.review import finish_output

            visits_df = finish_output(out_path, visits_df)
        visits_df.attrs = {}
        return visits_df
    finally:
        if lock is not None:
            lock.release()


def _output_folder(
    out: str | os.PathLike[str] | None, root: PhotoPath, allow_inside_input: bool
) -> Path | None:
    """Check the output folder before any work (a URL is refused: see the message)."""
    if out is None:
        return None
    if is_url(out):
        raise OutputError(
            f"output folder {out!r} is a URL: write to a local or mounted folder (the resume "
            "journal needs appends and the lock an exclusive create, which object stores lack), "
            "then copy it, e.g. with fsspec or `aws s3 sync`"
        )
    root_local = root if isinstance(root, Path) else None
    return check_output_folder(
        as_local(out) or out, root_local, allow_inside_input=allow_inside_input
    )


def _visits(root: PhotoPath, out: Path | None) -> list[Visit]:
    """List the visits under ``root``, without photos inside the output folder ``out``."""
    visits = discover_visits(root, on_duplicate="record")
    if out is None or not isinstance(root, Path):
        return visits
    root_abs = root.resolve()
    if out != root_abs and root_abs not in out.parents:
        return visits
    return [
        v for v in visits if not any(out in Path(p).resolve().parents for p in v.paths.values())
    ]


def _job(index: int, v: Visit) -> Job:
    """Make a pipeline job of a visit, with an error row per view that has two photos."""
    errs = [
        error_row(
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
    return Job(index, v.subject, v.visit, dict(v.paths), tuple(v.missing), errs)


def _write_tables(
    out: Path | None, journal: Any, entries: list[dict[str, Any]], timer: Timer
) -> pd.DataFrame:
    """Sort the finished visits, rewrite the journal and write the tables; return visits."""
    entries.sort(key=lambda e: e["index"])
    t = time.perf_counter()
    visits_df, views_df, errors_df = tables_from_entries(entries)
    if out is not None and journal is not None:
        journal.rewrite(
            {k: e[k] for k in ("key", "visit_id", "visit", "views", "errors")} for e in entries
        )
        write_tables(out, visits_df, views_df, errors_df)
    timer.add("tables", time.perf_counter() - t)
    visits_df.attrs["n_errors"] = len(errors_df)
    return visits_df


def _counts(visits_df: pd.DataFrame, jobs: list[Job], stats: RunStats) -> dict[str, int]:
    """Count visits, reused, scored, photos, statuses and errors for ``run.json``."""
    counts = {
        "visits": len(jobs),
        "reused": stats.reused,
        "scored": len(jobs) - stats.reused,
        "photos_scored": stats.photos_scored,
    }
    for status in STATUSES:
        counts[status] = int((visits_df["status"] == status).sum())
    counts["errors"] = int(visits_df.attrs.get("n_errors", 0))
    return counts


def write_run_json(
    out: Path,
    *,
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
    from salt.io.atomic import atomic_write_text

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
        "host": host_info(),
        "cluster": cluster,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(elapsed, 3),
        "visits_per_second": round(counts["visits"] / elapsed, 3) if elapsed > 0 else None,
        "counts": dict(counts),
        "stage_seconds": {k: round(v, 3) for k, v in sorted(stages.items())},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    atomic_write_text(out / "run.json", json.dumps(info, indent=2, default=str) + "\n")


def peak_rss_mb() -> float:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return math.nan
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


def host_info() -> dict[str, Any]:
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

    from salt.model.backends import default_threads

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


class OutputWriter:
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
        from salt.io.atomic import atomic_write_bytes

        if self.out is not None:
            for rel, data in files.items():
                path = self.out / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(path, data, fsync=False)
        if self.journal is not None and not reused:
            self.journal.append([{k: v for k, v in entry.items() if k != "index"}])
        self.entries.append(entry)
        self.bar.update(1)


def outputs_exist(out: Path | None, entry: Mapping[str, Any], overlays: bool, masks: bool) -> bool:
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
