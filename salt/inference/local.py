"""Run the inference pipeline in this process, with a model and backend built once.

* :func:`run_local`: the local runner of :func:`salt.score_folder` (the Dask runner
  is :mod:`salt.inference.cluster`).
* :class:`Predictor`: a model with its backend, for callers that hold photos rather
  than a folder (:func:`salt.score_visit`, evaluation). It decodes with
  :func:`salt.inference.pipeline.decode` and prepares with
  :func:`salt.inference.pipeline.prepare`, exactly as the pipeline does, so the
  same photo gives the same class map whichever way it is scored.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salt.inference.pipeline import (
    Emit,
    Job,
    Options,
    Pipeline,
    RunStats,
    Timer,
    decode,
    prepare,
    resolve_model,
)
from salt.io.storage import PhotoPath
from salt.model.backends import default_threads

__all__ = ["Predictor", "run_local", "shared_predictor"]


class Predictor:
    """A model and its inference backend, built once: photos -> class maps.

    Parameters
    ----------
    model : SaltModel or str, optional
        The model, or a registered model name or folder; ``None`` loads ``"default"``.
    backend : str, default "auto"
        Inference backend (:mod:`salt.model.backends`), as in :func:`salt.score_folder`.
    device : {"auto", "cpu", "cuda"}, default "auto"

    Notes
    -----
    Thread-safe: calls to :meth:`class_maps` from several threads take turns on the
    backend. Close it (or use it as a context manager) to free the backend.
    """

    def __init__(self, model: Any = None, *, backend: str = "auto", device: str = "auto") -> None:
        from salt.model.backends import make_backend, resolve_backend

        self.model = resolve_model(model)
        name, dev = resolve_backend(backend, device)
        self.backend = make_backend(self.model, self.input_size, name, device=dev)
        self._lock = threading.Lock()

    @property
    def input_size(self) -> int:
        """Side S of the square network input, pixels."""
        return int(self.model.config.input_size)

    @property
    def info(self) -> dict[str, Any]:
        """``name``, ``device`` and ``versions`` of the backend (as in ``run.json``)."""
        return {
            "name": self.backend.name,
            "device": self.backend.device,
            "versions": self.backend.versions,
        }

    def decode(self, path: PhotoPath, *, min_side: int = 256) -> Any:
        """Decode a photo file as the pipeline does (:func:`salt.inference.pipeline.decode`)."""
        return decode(path, self.input_size, min_side)

    def class_maps(
        self, images: Sequence[npt.NDArray[np.uint8]], *, batch_size: int = 16
    ) -> npt.NDArray[np.uint8]:
        """Class maps of decoded RGB photos.

        Parameters
        ----------
        images : sequence of ndarray, each (H, W, 3) uint8 RGB
            Decoded photos (e.g. ``Photo.rgb``).
        batch_size : int, default 16
            Photos per backend call.

        Returns
        -------
        ndarray of uint8, shape (N, S, S)
            0 not scalp, 1 hair, 2 hairless (:mod:`salt.classmap`).
        """
        return self.classify(images, batch_size=batch_size)[0]

    def classify(
        self, images: Sequence[npt.NDArray[np.uint8]], *, batch_size: int = 16
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
        """Class maps and unsure masks of decoded RGB photos.

        Parameters
        ----------
        images : sequence of ndarray, each (H, W, 3) uint8 RGB
            Decoded photos (e.g. ``Photo.rgb``).
        batch_size : int, default 16
            Photos per backend call.

        Returns
        -------
        class_maps : ndarray of uint8, shape (N, S, S)
            0 not scalp, 1 hair, 2 hairless (:mod:`salt.classmap`).
        unsure : ndarray of bool, shape (N, S, S)
            Pixels the network is unsure of (:data:`salt.classmap.UNSURE_PROB`).
        """
        inputs = [prepare(self.model, rgb) for rgb in images]
        maps, unsure = [], []
        with self._lock:
            for i in range(0, len(inputs), batch_size):
                m, u = self.backend.classify(np.stack(inputs[i : i + batch_size]))
                maps.append(m)
                unsure.append(u)
        size = self.input_size
        if not maps:
            return np.empty((0, size, size), np.uint8), np.empty((0, size, size), bool)
        return np.concatenate(maps), np.concatenate(unsure)

    def close(self) -> None:
        """Free the backend."""
        self.backend.close()

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Predictors kept for :func:`shared_predictor`, least recently used first.
_SHARED: collections.OrderedDict[tuple[Any, str, str], Predictor] = collections.OrderedDict()
_SHARED_LOCK = threading.Lock()
_SHARED_MAX = 4


def shared_predictor(
    model: Any = None, *, backend: str = "auto", device: str = "auto"
) -> Predictor:
    """Return a :class:`Predictor` for this model, backend and device, built on first use.

    Used by :func:`salt.score_visit` so that scoring visit after visit builds the
    backend once. A model object is keyed by identity (the cached predictor holds it,
    so the identity is not reused); a name or path by its text. At most four
    predictors are kept; the least recently used is closed.
    """
    if model is None or isinstance(model, (str, os.PathLike)):
        model_key: Any = ("name", os.fspath(model) if model is not None else "default")
    else:
        model_key = ("object", id(model))
    key = (model_key, backend, device)
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is not None:
            _SHARED.move_to_end(key)
            return found
        predictor = Predictor(model, backend=backend, device=device)
        _SHARED[key] = predictor
        while len(_SHARED) > _SHARED_MAX:
            _, old = _SHARED.popitem(last=False)
            old.close()
        return predictor


def network_threads(n_visits: int) -> int:
    """Threads of an exported CPU backend in the batch engine.

    With several visits, half of this process's cores: the other half decodes, scores
    and draws overlays at the same time. On the 2-core development machine one network
    thread (batches of 4) cost 0.43-0.45 CPU s per visit against 0.49-0.52 with the
    runtime's default of all cores (batches of 16), which contend with the decoders
    (``benchmarks/results/batch_threads.txt``). A run of
    one or two visits has nothing to overlap with, so its network gets every core.
    """
    cores = default_threads()
    return cores if n_visits <= 2 else max(1, cores // 2)


def run_local(
    jobs: Sequence[Job],
    *,
    model: Any,
    backend: str,
    device: str,
    options: Options,
    previous: Mapping[str, dict[str, Any]],
    timer: Timer,
    emit: Emit,
) -> RunStats:
    """Score ``jobs`` in this process; hand each finished visit to ``emit``.

    Parameters
    ----------
    jobs : sequence of Job
        The visits, in order.
    model : SaltModel
    backend, device : str
        Resolved backend name and device (:func:`salt.model.backends.resolve_backend`).
    options : Options
        Pipeline options of the run.
    previous : Mapping
        Journal entries of an earlier run, by visit id (resume).
    timer : Timer
        Receives seconds per stage (``backend_setup`` included).
    emit : Emit
        Receives each finished visit.

    Returns
    -------
    RunStats
    """
    from salt.model.backends import make_backend

    def build() -> Any:
        t = time.perf_counter()
        built = make_backend(
            model,
            int(model.config.input_size),
            backend,
            device=device,
            threads=network_threads(len(jobs)),
        )
        timer.add("backend_setup", time.perf_counter() - t)
        return built

    # The backend is built (read from the cache, or exported and compiled) while the
    # loader threads decode the first visits; the first batch waits for it.
    setup = cf.ThreadPoolExecutor(1, thread_name_prefix="salt-backend")
    pending = setup.submit(build)
    setup.shutdown(wait=False)
    pipeline = Pipeline(
        model=model,
        backend=lambda batch: pending.result().classify(batch),
        options=options,
        previous=previous,
        timer=timer,
        emit=emit,
    )
    try:
        pipeline.run(jobs)
    finally:
        be = pending.result()  # raises the backend's error if it could not be built
        be.close()
    return RunStats(
        reused=pipeline.reused,
        photos_scored=pipeline.photos_scored,
        backend={"name": be.name, "device": be.device, "versions": be.versions},
    )
