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
import os
import time
from collections.abc import Mapping, Sequence
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
from salt.inference.outfolder import (
    OutputWriter,
    outputs_exist,
    warn_shared_photos,
    write_run_json,
)
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
from salt.io.folders import FolderScan, Skipped, Visit, duplicate_message, log_skipped, scan_folder
from salt.io.manifest import is_manifest, read_manifest
from salt.io.names import load_view_aliases
from salt.io.outputs import (
    SKIPPED_COLUMNS,
    Journal,
    OutputLock,
    check_output_folder,
    tables_from_entries,
    write_tables,
)
from salt.io.ownership import claim_output_folder, remove_temporaries
from salt.io.storage import PhotoPath, as_local, is_url
from salt.model.backends import default_threads, resolve_backend
from salt.results import SCORED_STATUSES, STATUSES, ViewResult, VisitResult
from salt.views import VIEW_ALIASES, VIEWS, alias_key, normalize_view

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
        For an unknown view name or a bad array, or ``photos`` not a mapping.
    """
    if not isinstance(photos, Mapping):
        raise BadValueError(
            "photos must map each view to its photo, e.g. {'top': 'top.jpg', 'back': 'back.jpg', "
            f"'left': 'left.jpg', 'right': 'right.jpg'}}, got a {type(photos).__name__}"
        )
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
    batch_size: int | None = None,
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
    view_aliases: str | os.PathLike[str] | Mapping[str, str] | None = None,
    replace_output: bool = False,
) -> pd.DataFrame:
    """Score every visit under a photo folder, or of a manifest.

    Parameters
    ----------
    root : path-like or str
        The photo folder (layouts of :func:`salt.io.folders.scan_folder`, including one
        visit's folder): a local path, a ``file://`` URL or an fsspec URL such as
        ``s3://bucket/study`` (:mod:`salt.io.storage`); or a manifest, a ``.csv`` file
        with the columns path, subject, visit, view (:mod:`salt.io.manifest`). Never
        written. Entries that are not photos of a visit are listed in ``skipped.csv``.
    out : path-like, optional
        Local (or mounted) output folder for ``visits.csv``, ``visits.parquet``,
        ``views.csv``, ``errors.csv``, ``overlays/``, ``masks/`` and ``run.json``
        (see :mod:`salt.io.outputs`); a URL raises :class:`salt.OutputError`. Created
        if needed. It records the input and model it belongs to
        (:mod:`salt.io.ownership`): the same input resumes, another is refused unless
        ``replace_output``, and files salt did not write are never overwritten.
        ``None`` writes nothing and only returns the table.
    model : SaltModel or str, optional
        The model, or a registered model name; ``None`` loads ``"default"``.
    batch_size : int, optional
        Photos per network call (photos of consecutive visits share a batch). Default:
        4 (one visit) on the CPU, 16 on a GPU. On the 2-core development machine, 24
        visits of 12 MP JPEGs, batches of 4 with the network on one core made 3.70-3.95
        visits/s at 0.43-0.45 CPU s per visit, against 3.46-3.63 and 0.49-0.52 for
        batches of 16 on both cores, three alternating runs each
        (``benchmarks/results/batch_threads.txt``).
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
    view_aliases : path-like or Mapping, optional
        More view names: a view-alias file (JSON or CSV,
        :func:`salt.io.names.load_view_aliases`) or a mapping name -> view, added to
        the defaults.
    replace_output : bool, default False
        Replace the results of another input in ``out`` (only the files salt wrote
        for it are removed).

    Returns
    -------
    pandas.DataFrame
        One row per visit, the columns of ``visits.csv``
        (:data:`salt.io.outputs.VISIT_COLUMNS`), sorted by subject and visit.

    Raises
    ------
    OutputError
        Before any work, if ``out`` cannot be written, is ``root`` or inside it, is in
        use by another run, or holds files salt did not write or the results of another
        input; during the run, if a write fails (disk full), naming the file.
    InputFileError
        If ``root`` holds no photos.
    ModelError
        If the model cannot be loaded.
    """
    call = dict(locals())  # the arguments as given, for run.json
    if batch_size is not None and batch_size < 1:
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
        scan = _scan(root_path, out_path, view_aliases)
        timer.add("discover", time.perf_counter() - t)
        m = resolve_model(model)
        if out_path is not None:
            _claim(out_path, root_path, m, replace_output)
        # on a cluster the workers, not this process, resolve and check the device
        be_name, be_device = resolve_backend(backend, device, check_device=client is None)
        if batch_size is None:
            call["batch_size"] = 16 if be_device == "cuda" else 4
        options = _options(call, quality_thresholds, m, be_name, writes=out_path is not None)
        jobs = [_job(i, v) for i, v in enumerate(scan.visits)]
        entries, stats = _run(
            jobs, out_path, call, be_device, model=m, backend=be_name, options=options, timer=timer
        )
        visits_df = _write_tables(out_path, entries, scan.skipped, timer)
        counts = _counts(visits_df, jobs, stats, len(scan.skipped))
        elapsed = time.perf_counter() - t_start
        _log_summary(counts, elapsed, out_path)
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
                arguments=_recorded(call, root_path, out_path, options),
            )
            # a person's corrections outlive model runs; then report.html (salt.review)
            from salt.review import finish_output

            visits_df = finish_output(out_path, visits_df)
        visits_df.attrs = {}
        return visits_df
    finally:
        if lock is not None:
            lock.release()


def _options(
    call: Mapping[str, Any], thresholds: Any, model: Any, backend: str, *, writes: bool
) -> Options:
    """Return the pipeline options of a run (``call``: the arguments of :func:`score_folder`)."""
    n_workers = call["workers"] or min(8, default_threads())
    settings = {  # what makes a visit's result: part of its resume key
        "model": [str(model.name), str(model.sha256)],
        "backend": backend,
        "thresholds": thresholds,
        **{k: call[k] for k in ("partial", "strict", "min_side", "masks", "overlays")},
    }
    return Options(
        batch_size=call["batch_size"],
        workers=n_workers,
        writers=call["writers"] or n_workers,
        prefetch=call["prefetch"] or max(2 * n_workers, call["batch_size"] // 2),
        settings=json.dumps(settings, sort_keys=True, default=str),
        partial=call["partial"],
        strict=call["strict"],
        thresholds=thresholds,
        min_side=call["min_side"],
        overlays=call["overlays"] and writes,
        masks=call["masks"] and writes,
    )


def _run(
    jobs: list[Job], out: Path | None, call: Mapping[str, Any], be_device: str, **common: Any
) -> tuple[list[dict[str, Any]], RunStats]:
    """Score ``jobs`` here or on the cluster, writing each visit as it finishes.

    ``call`` holds the arguments of :func:`score_folder`; ``common`` the model,
    backend name, options and timer.
    """
    options, client = common["options"], call["client"]
    journal = Journal(out) if out is not None else None
    previous = journal.read() if (journal is not None and call["resume"]) else {}
    # a finished visit is reused only if the files it refers to are still there
    previous = {
        k: e for k, e in previous.items() if outputs_exist(out, e, options.overlays, options.masks)
    }
    from tqdm import tqdm

    bar = tqdm(
        total=len(jobs),
        unit="visit",
        disable=not call["progress"],
        desc="scoring",
        dynamic_ncols=True,
    )
    writer = OutputWriter(out, journal, bar)
    try:
        if client is None:
            stats = run_local(jobs, device=be_device, previous=previous, emit=writer, **common)
        else:
            from salt.inference.cluster import run_on_cluster

            stats = run_on_cluster(
                client,
                jobs,
                device=call["device"],
                chunk_visits=call["chunk_visits"],
                previous=previous,
                emit=writer,
                **common,
            )
    finally:
        bar.close()
        if journal is not None:
            journal.close()
    if journal is not None:
        writer.entries.sort(key=lambda e: e["index"])
        journal.rewrite(
            {k: e[k] for k in ("key", "visit_id", "visit", "views", "errors")}
            for e in writer.entries
        )
    return writer.entries, stats


def _claim(out: Path, root: PhotoPath, model: Any, replace: bool) -> None:
    """Claim ``out`` for this input and model (:mod:`salt.io.ownership`); clear temporaries."""
    claim_output_folder(
        out,
        source=str(root.resolve()) if isinstance(root, Path) else root,
        model_name=str(model.name),
        model_sha256=str(model.sha256),
        replace=replace,
    )
    remove_temporaries(out)


def _recorded(
    call: Mapping[str, Any], root: PhotoPath, out: Path | None, options: Options
) -> dict[str, Any]:
    """Return the arguments of a run as ``run.json`` records them (JSON-ready)."""
    recorded = {
        k: v for k, v in call.items() if k not in ("model", "client", "arguments", "root", "out")
    }
    aliases = call["view_aliases"]
    client = call["client"]
    recorded.update(
        root=str(root),
        out=str(out),
        workers=options.workers,
        writers=options.writers,
        prefetch=options.prefetch,
        quality_thresholds=options.thresholds,
        view_aliases=aliases if aliases is None or isinstance(aliases, Mapping) else str(aliases),
        scheduler=None if client is None else str(client.scheduler.address),
    )
    return {**recorded, **(call["arguments"] or {})}


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
    out_local = as_local(out) or Path(out)
    if root_local is not None and out_local.resolve() == root_local.resolve():
        raise OutputError(
            f"output folder {out_local} is the photo folder itself: choose a folder outside it"
        )
    if root_local is not None and is_manifest(root_local):
        root_local = None  # a manifest's photos may be anywhere
    return check_output_folder(out_local, root_local, allow_inside_input=allow_inside_input)


def _scan(root: PhotoPath, out: Path | None, view_aliases: Any) -> FolderScan:
    """List the visits of a photo folder or manifest; the output folder is not read."""
    aliases: Mapping[str, str] | None
    if view_aliases is None:
        aliases = None
    elif isinstance(view_aliases, Mapping):
        aliases = {
            **VIEW_ALIASES,
            **{alias_key(str(k)): normalize_view(str(v)) for k, v in view_aliases.items()},
        }
    else:
        aliases = load_view_aliases(view_aliases)
    if is_manifest(root):
        scan = read_manifest(root, aliases=aliases)
    else:
        scan = scan_folder(root, aliases=aliases, exclude=() if out is None else (out,))
    log_skipped(scan.skipped, "skipped.csv" if out is not None else "salt.io.folders.scan_folder")
    return scan


def _job(index: int, v: Visit) -> Job:
    """Make a pipeline job of a visit, with an error row per view that has two photos."""
    errs = [
        error_row(
            DuplicateViewError(duplicate_message(v.subject, v.visit, view, ps)),
            file=", ".join(str(p) for p in ps),
            subject=v.subject,
            visit=v.visit,
            view=view,
        )
        for view, ps in v.duplicates.items()
    ]
    return Job(index, v.subject, v.visit, dict(v.paths), tuple(v.missing), errs)


def _write_tables(
    out: Path | None,
    entries: list[dict[str, Any]],
    skipped: Sequence[Skipped],
    timer: Timer,
) -> pd.DataFrame:
    """Write the tables from the finished visits (sorted); return the visits table."""
    t = time.perf_counter()
    visits_df, views_df, errors_df = tables_from_entries(entries)
    if out is not None:
        skipped_df = pd.DataFrame(
            [(s.path, s.reason) for s in skipped], columns=list(SKIPPED_COLUMNS)
        )
        write_tables(out, visits_df, views_df, errors_df, skipped_df)
    timer.add("tables", time.perf_counter() - t)
    visits_df.attrs["n_errors"] = len(errors_df)
    visits_df.attrs["photos_flagged"] = int((views_df["quality_flags"].fillna("") != "").sum())
    warn_shared_photos(views_df)
    return visits_df


def _counts(
    visits_df: pd.DataFrame, jobs: list[Job], stats: RunStats, n_skipped: int
) -> dict[str, int]:
    """Count visits, reused, scored, photos, statuses, flags, errors and skipped entries."""
    counts = {
        "visits": len(jobs),
        "reused": stats.reused,
        "scored": len(jobs) - stats.reused,
        "photos_scored": stats.photos_scored,
    }
    for status in STATUSES:
        counts[status] = int((visits_df["status"] == status).sum())
    counts["photos_flagged"] = int(visits_df.attrs.get("photos_flagged", 0))
    counts["visits_flagged"] = int((visits_df["quality_flags"].fillna("") != "").sum())
    counts["errors"] = int(visits_df.attrs.get("n_errors", 0))
    counts["skipped"] = n_skipped
    return counts


def _log_summary(counts: Mapping[str, int], elapsed: float, out: Path | None) -> None:
    """Log the one summary line of a run: statuses, quality flags, skipped entries."""
    where = f" (see {out})" if out is not None else ""
    parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
    if counts["photos_flagged"]:
        parts.append(
            f"{counts['photos_flagged']} photos in {counts['visits_flagged']} visits with quality "
            "flags (column quality_flags)"
        )
    if counts["skipped"]:
        parts.append(f"{counts['skipped']} entries skipped (skipped.csv)")
    log.info(
        "%d visits in %.1f s (%d reused from an earlier run): %s%s",
        counts["visits"],
        elapsed,
        counts["reused"],
        ", ".join(parts),
        where,
    )
