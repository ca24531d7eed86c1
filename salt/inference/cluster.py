"""Batch scoring on a Dask cluster: the inference pipeline, run by the cluster's workers.

``salt.score_folder(root, out, client=client)`` (or ``salt score ROOT -o OUT
--scheduler ADDRESS``) scores a photo folder on an existing `Dask
<https://distributed.dask.org>`_ cluster (install ``salt[distributed]``):

* **This process** (the client) discovers the visits, reads the resume journal,
  and sends visits to the cluster in tasks of ``chunk_visits`` visits, keeping
  at most two tasks per worker thread in flight (memory stays bounded for any
  folder size). It receives each task's results (table rows and the encoded
  overlay and mask files) and writes them with the same writer as a local run
  (:func:`salt.score_folder`): same tables, errors, journal, resume and
  ``run.json``.
* **Each worker** loads the model once per process (weights shipped from the
  client once, their SHA256 checked against the client's) and builds its
  backend once, then runs the local pipeline (:mod:`salt.inference.pipeline`) on its tasks:
  it reads the photos itself (local paths on shared storage, or fsspec URLs such
  as ``s3://``; see :mod:`salt.io.storage`), so photo bytes never pass through the
  client.

Fault tolerance
---------------
A worker that dies loses no visit: the scheduler re-runs its tasks on other
workers, and the client writes each visit exactly once (the first result for a
visit wins; a re-run's duplicate is dropped). A task that kills its worker again
and again (more than ``distributed.scheduler.allowed-failures`` times, 3 by
default) is split into single visits that run one at a time, and a visit that
alone still kills workers is recorded as ``failed`` (``error_type``
``WorkerDied``) while the run goes on. A bad photo
becomes an ``errors.csv`` row as in a local run. Model and configuration errors
(e.g. a backend not installed on the workers) stop the run.

Notes
-----
``backend="auto"`` is resolved on the client (so every worker runs the same
backend and the resume key is the same as a local run's; with ``device="cuda"`` it
means ``"torch"``); the device is resolved and checked on each worker, so a
CPU-only client can drive GPU workers. Worker processes should have one thread each
(``--nthreads 1``) or a few: a task's inference runs on the worker's threads
(OpenVINO / ONNX Runtime / torch intra-op threads = the worker's ``nthreads``),
and photo decoding on up to ``2 * nthreads`` loader threads per task.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import pickle
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from distributed import WorkerPlugin

from salt.errors import BadValueError, ModelError, SaltError
from salt.inference.pipeline import (
    Emit,
    Job,
    Options,
    Pipeline,
    RunStats,
    Timer,
    error_row,
    failed_entry,
)

__all__ = ["ClusterStats", "ModelPlugin", "run_on_cluster", "score_chunk"]

log = logging.getLogger(__name__)

_CACHE: dict[tuple[str, str, str], tuple[Any, Any, threading.Lock, float]] = {}
_CACHE_LOCK = threading.Lock()
#: Models received by this worker process, keyed by the client's weights SHA256.
_RECEIVED: dict[str, Any] = {}


class ModelPlugin(WorkerPlugin):
    """Hand the client's model to every worker, present and future.

    The scheduler keeps the plugin and sets it up on each worker that joins,
    including one that replaces a worker which died, so a model is never lost with
    a worker (scattered data would be). The model travels pickled and is unpickled
    in :meth:`setup`, after torchvision is made importable (``salt.model.torch_compat``); the
    worker's first task checks its weights and builds its backend.
    """

    def __init__(self, model: Any, weights: str) -> None:
        self.payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        self.weights = weights

    def setup(self, worker: Any) -> None:
        """Unpickle the model into this worker process (once per process)."""
        from salt.model.torch_compat import ensure_torchvision_importable

        ensure_torchvision_importable()  # before unpickling imports smp -> timm -> torchvision

        if self.weights not in _RECEIVED:
            _RECEIVED[self.weights] = pickle.loads(self.payload)


#: What :func:`run_on_cluster` returns (its ``cluster`` filled).
ClusterStats = RunStats


def _worker_threads() -> int:
    try:
        from distributed import get_worker

        worker: Any = get_worker()
        return int(worker.state.nthreads)
    except (ImportError, ValueError):  # not running on a Dask worker
        from salt.model.backends import default_threads

        return default_threads()


def _runtime(weights: str, backend: str, device: str) -> tuple[Any, Any, threading.Lock, float]:
    """Return the worker's (model, backend, lock, set-up seconds), built once per process."""
    key = (weights, backend, device)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        t = time.perf_counter()
        model = _RECEIVED.get(weights)
        if model is None:
            raise ModelError(
                f"worker {_address()} has not received the model {weights[:16]}... "
                "(its ModelPlugin was not set up)"
            )
        import torch

        from salt.model.backends import make_backend, resolve_device
        from salt.model.registry import weights_sha256

        actual = weights_sha256(model.network)
        if actual != weights:
            raise ModelError(
                f"the model {model.name!r} received by worker {_address()} has weights SHA256 "
                f"{actual[:16]}..., not the client's {weights[:16]}...: refusing to score with it"
            )
        try:
            dev = resolve_device(device)
            if dev != "cpu":
                model = type(model)(
                    model.network, model.config, name=model.name, sha256=model.sha256, device=dev
                )
            threads = _worker_threads()
            if dev == "cpu" and backend.startswith("torch"):
                torch.set_num_threads(threads)
            be = make_backend(
                model.network, int(model.config.input_size), backend, device=dev, threads=threads
            )
        except SaltError as exc:  # e.g. no GPU on this worker: say which worker
            raise ModelError(
                f"worker {_address()} cannot run the {backend} backend: {exc}"
            ) from exc
        _CACHE[key] = (model, be, threading.Lock(), time.perf_counter() - t)
        log.info("worker loaded model %s (%s) on %s", model.name, be.name, be.device)
        return _CACHE[key]


def _address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):  # not running on a Dask worker
        return "local"


def score_chunk(
    jobs: Sequence[Job],
    weights: str,
    backend: str,
    device: str,
    options: Options,
    previous: Mapping[str, dict[str, Any]],
) -> dict[str, Any]:
    """Score a few visits on a worker (the task that :func:`run_on_cluster` submits).

    Parameters
    ----------
    jobs : sequence of salt.inference.pipeline.Job
        The visits.
    weights : str
        :func:`salt.model.weights_sha256` of the client's model, which
        :class:`ModelPlugin` delivered to this worker; checked here.
    backend, device : str
        Backend name (resolved), device (``"auto"`` resolved here).
    options : salt.inference.pipeline.Options
        Pipeline options of the run.
    previous : Mapping
        Journal entries of these visits from an earlier run (resume).

    Returns
    -------
    dict
        ``results``: list of ``(entry, files, reused)`` per visit (as the pipeline
        emits them); ``seconds`` per stage; ``reused``; ``photos``; ``worker``;
        ``backend``; ``setup_seconds``.
    """
    model, be, lock, setup = _runtime(weights, backend, device)
    results: list[tuple[dict[str, Any], dict[str, bytes], bool]] = []

    def infer(batch: Any) -> Any:
        with lock:  # one backend per process, shared by the worker's threads
            return be.classify(batch)

    threads = max(2, 2 * _worker_threads())
    opts = dataclasses.replace(
        options,
        workers=min(options.workers, threads),
        writers=min(options.writers, threads),
        prefetch=max(1, len(jobs)),
    )
    timer = Timer()
    pipeline = Pipeline(
        model=model,
        backend=infer,
        options=opts,
        previous=previous,
        timer=timer,
        emit=lambda entry, files, reused: results.append((entry, files, reused)),
    )
    pipeline.run(jobs)
    return {
        "results": results,
        "seconds": dict(timer.seconds),
        "reused": pipeline.reused,
        "photos": pipeline.photos_scored,
        "worker": _address(),
        "backend": {"name": be.name, "device": be.device, "versions": be.versions},
        "setup_seconds": setup,
    }


def run_on_cluster(
    client: Any,
    jobs: Sequence[Job],
    *,
    model: Any,
    backend: str,
    device: str,
    options: Options,
    previous: Mapping[str, dict[str, Any]],
    timer: Timer,
    emit: Emit,
    chunk_visits: int = 4,
) -> RunStats:
    """Score ``jobs`` on the cluster behind ``client``; hand each visit to ``emit`` once.

    Called by :func:`salt.score_folder` with ``client=``; see the module notes.

    Raises
    ------
    BadValueError
        If ``chunk_visits`` < 1, or the photos are in this process's memory
        (``memory://``), which workers in other processes cannot read.
    ModelError
        If a worker cannot load the model or build the backend.
    """
    from salt.model.registry import weights_sha256

    if chunk_visits < 1:
        raise BadValueError(f"chunk_visits must be >= 1, got {chunk_visits}")
    for job in jobs[:1]:
        for path in job.paths.values():
            if str(path).startswith("memory://"):
                raise BadValueError(
                    f"{path}: memory:// holds files in this process only; cluster workers "
                    "cannot read them (use a shared folder or an object store)"
                )
    weights = weights_sha256(model.network)
    run_id = uuid.uuid4().hex[:8]
    plugin_name = f"salt-model-{run_id}"
    t = time.perf_counter()
    try:
        client.register_plugin(ModelPlugin(model, weights), name=plugin_name)
    except Exception as exc:  # raised on a worker while unpickling the model
        raise ModelError(
            f"the cluster's workers could not load the model {model.name!r}: "
            f"{type(exc).__name__}: {exc} (are salt and its dependencies installed there?)"
        ) from exc
    timer.add("model_broadcast", time.perf_counter() - t)
    chunks = [list(jobs[i : i + chunk_visits]) for i in range(0, len(jobs), chunk_visits)]
    run = _Dispatch(client, run_id, weights, (backend, device), options, previous)
    try:
        run.run(
            chunks,
            lambda job, err: emit(failed_entry(job, err, model, options), {}, False),
            emit,
            timer,
        )
    finally:
        with contextlib.suppress(Exception):  # the cluster may be gone already
            client.unregister_worker_plugin(plugin_name)
    stats = run.stats
    return RunStats(
        reused=stats["reused"],
        photos_scored=stats["photos"],
        backend=run.backend_info,
        cluster={
            "scheduler": str(client.scheduler.address),
            "workers": {str(k): int(v) for k, v in sorted(run.nthreads.items())},
            "chunk_visits": chunk_visits,
            "tasks": stats["tasks"],
            "tasks_split_after_worker_deaths": stats["split"],
            "visits_failed_worker_died": stats["died"],
            "visits_by_worker": dict(sorted(stats["visits_by_worker"].items())),
            "model_setup_seconds_by_worker": dict(sorted(stats["setup_seconds"].items())),
        },
    )


class _Dispatch:
    """The tasks of one cluster run: a window of chunks in flight, retries, quarantine.

    Chunks whose worker died are split into single visits, run one at a time, so that a
    visit which kills workers takes no other visit with it; a visit that kills its
    worker when alone fails with a ``WorkerDied`` error row.
    """

    def __init__(
        self,
        client: Any,
        run_id: str,
        weights: str,
        backend: tuple[str, str],
        options: Options,
        previous: Mapping[str, dict[str, Any]],
    ) -> None:
        from distributed import as_completed

        self.client, self.run_id, self.weights = client, run_id, weights
        self.backend, self.device = backend
        self.options, self.previous = options, previous
        self.todo: deque[list[Job]] = deque()
        self.quarantine: deque[list[Job]] = deque()
        self.in_flight: dict[str, tuple[Any, list[Job], bool]] = {}
        self.seen: set[int] = set()
        self.queue = as_completed()
        self.stats: dict[str, Any] = {
            "reused": 0,
            "photos": 0,
            "tasks": 0,
            "split": 0,
            "died": 0,
            "visits_by_worker": {},
            "setup_seconds": {},
        }
        self.backend_info: dict[str, Any] = {
            "name": self.backend,
            "device": self.device,
            "versions": {},
        }
        self.nthreads = dict(client.nthreads())
        # in flight: two tasks per worker thread, re-read every few seconds (clusters scale)
        self._window = (max(2, 2 * sum(self.nthreads.values())), time.monotonic())

    def window_size(self) -> int:
        """Tasks to keep in flight: two per worker thread, re-read every 5 s."""
        size, at = self._window
        if time.monotonic() - at > 5.0:
            self.nthreads.update(dict(self.client.nthreads()))
            size = max(2, 2 * sum(self.nthreads.values()))
            self._window = (size, time.monotonic())
        return size

    def submit(self, chunk: list[Job], isolated: bool = False) -> None:
        """Send one chunk of visits to the cluster."""
        prev = {j.visit_id: self.previous[j.visit_id] for j in chunk if j.visit_id in self.previous}
        future = self.client.submit(
            score_chunk,
            chunk,
            self.weights,
            self.backend,
            self.device,
            self.options,
            prev,
            key=f"salt-score-{self.run_id}-{self.stats['tasks']}",
            pure=False,
        )
        self.stats["tasks"] += 1
        self.in_flight[future.key] = (future, chunk, isolated)
        self.queue.add(future)

    def top_up(self) -> None:
        """Fill the window; one quarantined visit at a time, alone."""
        if self.quarantine and not any(iso for _, _, iso in self.in_flight.values()):
            self.submit(self.quarantine.popleft(), isolated=True)
        while self.todo and len(self.in_flight) < self.window_size():
            self.submit(self.todo.popleft())

    def run(
        self,
        chunks: list[list[Job]],
        fail: Callable[[Job, dict[str, Any]], None],
        emit: Emit,
        timer: Timer,
    ) -> None:
        """Score every chunk, handing each visit to ``emit`` (or ``fail``) exactly once."""
        from distributed import KilledWorker

        self.todo.extend(chunks)
        self.top_up()
        try:
            while self.in_flight:
                future = next(self.queue)
                _, chunk, isolated = self.in_flight.pop(future.key)
                try:
                    out = future.result()
                except KilledWorker as exc:
                    self._worker_died(chunk, isolated, exc, fail)
                    self.top_up()
                    continue
                finally:
                    future.release()
                self._collect(out, emit, timer)
                self.top_up()
        except BaseException:  # a model error on a worker, Ctrl-C, a lost scheduler: stop
            self.client.cancel([f for f, _, _ in self.in_flight.values()])
            raise

    def _worker_died(
        self,
        chunk: list[Job],
        isolated: bool,
        exc: BaseException,
        fail: Callable[[Job, dict[str, Any]], None],
    ) -> None:
        if not isolated:  # find the visit that kills workers: retry each one alone
            self.stats["split"] += 1
            self.quarantine.extend([j] for j in chunk)
            return
        job = chunk[0]
        self.stats["died"] += 1
        if job.index in self.seen:
            return
        self.seen.add(job.index)
        err = error_row(
            f"visit {job.visit_id}: a cluster worker died each time it scored "
            f"this visit ({exc}); see the workers' logs",
            subject=job.subject,
            visit=job.visit,
            error_type="WorkerDied",
        )
        fail(job, err)

    def _collect(self, out: dict[str, Any], emit: Emit, timer: Timer) -> None:
        for entry, files, reused in out["results"]:
            if entry["index"] in self.seen:  # a re-run task's duplicate: written once only
                continue
            self.seen.add(entry["index"])
            emit(entry, files, reused)
        for stage, seconds in out["seconds"].items():
            timer.add(stage, seconds)
        self.stats["reused"] += out["reused"]
        self.stats["photos"] += out["photos"]
        by_worker = self.stats["visits_by_worker"]
        by_worker[out["worker"]] = by_worker.get(out["worker"], 0) + len(out["results"])
        self.stats["setup_seconds"][out["worker"]] = round(out["setup_seconds"], 3)
        self.backend_info = out["backend"]
