"""Inference backends: run a segmentation network on a batch of preprocessed photos.

A backend turns a batch of normalised images, float32 of shape (N, 3, S, S), into
class maps, uint8 of shape (N, S, S) with 0 = not scalp, 1 = scalp with hair and
2 = hairless scalp, and (:meth:`Backend.classify`) an *unsure* mask: pixels whose
class has a softmax probability below :data:`salt.classmap.UNSURE_PROB`. The network
head packs both into one uint8 per pixel (``class + UNSURE_BIT * unsure``), so every
backend returns them from one call. All backends share the network's weights; the exported ones
(ONNX Runtime, OpenVINO) are built from an ONNX export of the network followed by
an ``argmax`` over the class axis.

Start-up
--------
torch is imported only by the backends that run it (``torch``, ``torch-bf16``) and
to export a network that is not in the cache (:mod:`salt.model.export`: keyed by
the weights, configuration, head and library versions, checked against its manifest
on every use, rebuilt when it does not match). OpenVINO also keeps its compiled
network in the cache entry (``CACHE_DIR``), so a warm start neither exports nor
compiles, and loading the model costs no torch import.

Backends (``name`` argument of :func:`make_backend`):

``"torch"``
    PyTorch, float32, eager, under :func:`torch.inference_mode`. Always available.
    On CUDA: pinned host memory and non-blocking copies.
``"torch-bf16"``
    PyTorch with bfloat16 autocast and channels-last memory (CPUs with AVX-512 BF16
    or AMX; on CUDA, bfloat16 autocast).
``"onnxruntime"``
    ONNX Runtime, CPU execution provider, float32.
``"openvino"``
    OpenVINO CPU plugin with its default inference precision (bfloat16 on CPUs with
    AMX or AVX-512 BF16, float32 elsewhere).
``"openvino-fp32"``
    OpenVINO with float32 inference precision.
``"auto"``
    ``"torch"`` on CUDA; on CPU ``"openvino-fp32"`` when OpenVINO is installed,
    else ``"onnxruntime"``, else ``"torch"`` (the order of the speeds measured in
    ``benchmarks/bench_engine.py``). The bfloat16 backends are faster still but
    change per-view percentages by up to a few tenths of a point (measured: see
    README "Batch scoring"), so they are opt-in.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from salt.classmap import split_packed
from salt.errors import BadValueError, ModelError
from salt.model.export import argmax_head, export, library_version

if TYPE_CHECKING:
    import torch

__all__ = [
    "BACKENDS",
    "Backend",
    "available_backends",
    "gpu_names",
    "make_backend",
    "resolve_backend",
    "resolve_device",
]

log = logging.getLogger(__name__)

#: Backend names accepted by :func:`make_backend` (besides ``"auto"``).
BACKENDS: tuple[str, ...] = ("torch", "torch-bf16", "onnxruntime", "openvino", "openvino-fp32")


class Backend:
    """A callable that maps normalised images to class maps.

    Attributes
    ----------
    name : str
        The backend's name (one of :data:`BACKENDS`).
    device : str
        ``"cpu"`` or ``"cuda"``.
    input_size : int
        The side S of the square network input, pixels.
    versions : dict[str, str]
        Versions of the runtime libraries used (for ``run.json``).
    """

    def __init__(
        self,
        name: str,
        device: str,
        input_size: int,
        fn: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.uint8]],
        versions: dict[str, str],
        *,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.device = device
        self.input_size = input_size
        self._fn = fn
        self.versions = versions
        self._cleanup = cleanup

    def __call__(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
        """Class maps of a batch.

        Parameters
        ----------
        batch : ndarray of float32, shape (N, 3, S, S)
            Normalised images (as from ``SaltModel.preprocess``).

        Returns
        -------
        ndarray of uint8, shape (N, S, S)
            Class of each pixel: 0 not scalp, 1 scalp with hair, 2 hairless scalp.
        """
        return self.classify(batch)[0]

    def classify(
        self, batch: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
        """Class maps and unsure masks of a batch.

        Parameters
        ----------
        batch : ndarray of float32, shape (N, 3, S, S)
            Normalised images (as from ``SaltModel.preprocess``).

        Returns
        -------
        class_maps : ndarray of uint8, shape (N, S, S)
            0 not scalp, 1 scalp with hair, 2 hairless scalp.
        unsure : ndarray of bool, shape (N, S, S)
            Pixels whose class probability is below :data:`salt.classmap.UNSURE_PROB`.

        Raises
        ------
        BadValueError
            If the batch does not have shape (N, 3, S, S).
        """
        x = np.ascontiguousarray(batch, dtype=np.float32)
        if x.ndim != 4 or x.shape[1] != 3:
            raise BadValueError(f"a batch must have shape (N, 3, S, S), got {x.shape}")
        out = np.asarray(self._fn(x), dtype=np.uint8).reshape(x.shape[0], x.shape[2], x.shape[3])
        return split_packed(out)

    def close(self) -> None:
        """Free the backend's temporary files."""
        if self._cleanup is not None:
            self._cleanup()
            self._cleanup = None

    def __repr__(self) -> str:
        return f"Backend({self.name!r}, device={self.device!r}, input_size={self.input_size})"


def available_backends() -> list[str]:
    """Names of the backends whose runtime is installed, in :data:`BACKENDS` order."""
    names = ["torch", "torch-bf16"]
    if library_version("onnxruntime") != "not installed":
        names.append("onnxruntime")
    if library_version("openvino") != "not installed":
        names += ["openvino", "openvino-fp32"]
    return names


def resolve_device(device: str) -> str:
    """Turn ``"auto"`` into ``"cuda"`` when a GPU is visible, else ``"cpu"``.

    Raises
    ------
    BadValueError
        If ``device`` is not ``"auto"``, ``"cpu"`` or ``"cuda"``, or CUDA is asked for
        and not available.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise BadValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cpu":
        return "cpu"
    available = _cuda_available()
    if device == "cuda" and not available:
        raise BadValueError("device='cuda' was asked for but torch sees no CUDA GPU; use 'cpu'")
    return "cuda" if available else "cpu"


def _cuda_possible() -> bool:
    """Tell, without importing torch, whether a CUDA GPU can be visible at all.

    A CPU build of torch (version ``+cpu``), or Linux without NVIDIA, WSL or ROCm
    device nodes, cannot see a GPU; elsewhere only torch can tell.
    """
    if "torch" in sys.modules:
        return True  # torch is loaded anyway: ask it
    if "+cpu" in library_version("torch"):
        return False
    if sys.platform.startswith("linux"):
        return bool(
            glob.glob("/dev/nvidia[0-9]*") or glob.glob("/dev/dxg") or glob.glob("/dev/kfd")
        )
    return True


def _cuda_available() -> bool:
    if not _cuda_possible():
        return False
    import torch

    return bool(torch.cuda.is_available())


def gpu_names() -> list[str]:
    """Names of the CUDA GPUs torch sees (``run.json``); imports torch only if one can exist."""
    if not _cuda_available():
        return []
    import torch

    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def _cpu_has_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_backend(
    name: str = "auto", device: str = "auto", *, check_device: bool = True
) -> tuple[str, str]:
    """Return the ``(backend, device)`` that :func:`make_backend` would use, without building it.

    ``"auto"`` is resolved on this machine (see module notes).

    Parameters
    ----------
    name : str
        A backend of :data:`BACKENDS` or ``"auto"``.
    device : {"auto", "cpu", "cuda"}
    check_device : bool, default True
        Resolve and check ``device`` here. False (for cluster runs, where the
        workers hold the GPU): ``"cuda"`` is taken as given and ``"auto"`` as
        ``"cpu"`` for choosing the backend; the device returned is ``device``.

    Raises
    ------
    BadValueError
        For an unknown or uninstalled backend, an exported backend with
        ``device="cuda"``, or (with ``check_device``) an unavailable device.
    """
    if check_device:
        dev = resolve_device(device)
    elif device in ("auto", "cpu", "cuda"):
        dev = "cuda" if device == "cuda" else "cpu"
    else:
        raise BadValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if name == "auto":
        if dev == "cuda":
            name = "torch"
        elif "openvino-fp32" in available_backends():
            name = "openvino-fp32"
        elif "onnxruntime" in available_backends():
            name = "onnxruntime"
        else:
            name = "torch"
    if name not in BACKENDS:
        raise BadValueError(f"unknown backend {name!r}: expected 'auto' or one of {list(BACKENDS)}")
    if name not in available_backends():
        raise BadValueError(f"backend {name!r} needs a library that is not installed")
    if device == "cuda" and not name.startswith("torch"):
        raise BadValueError(f"backend {name!r} runs on the CPU only; use 'torch' or 'torch-bf16'")
    return name, dev if check_device else device


def make_backend(
    model: Any,
    input_size: int | None = None,
    name: str = "auto",
    *,
    device: str = "auto",
    threads: int | None = None,
) -> Backend:
    """Build an inference backend for a segmentation network.

    Parameters
    ----------
    model : SaltModel or torch.nn.Module
        The model (its network is built only if the backend needs it: a torch
        backend, or an export that is not cached), or a bare network mapping
        (N, 3, S, S) float32 to (N, C, S, S) class logits, C >= 3.
    input_size : int, optional
        S, the side of the square input, pixels (default: the model's).
    name : str, default "auto"
        One of :data:`BACKENDS` or ``"auto"`` (see module notes).
    device : {"auto", "cpu", "cuda"}
        Where PyTorch runs; exported backends run on the CPU (with ``"auto"`` they do
        so even where a GPU is visible; with ``"cuda"`` they are an error).
    threads : int, optional
        Intra-op threads of ONNX Runtime / OpenVINO (their default otherwise).

    Returns
    -------
    Backend

    Raises
    ------
    BadValueError
        For an unknown backend or device, or a bare network without ``input_size``.
    ModelError
        If the network cannot be built or exported to the backend.
    """
    from salt.model.network import SaltModel

    config = model.config if isinstance(model, SaltModel) else None
    if input_size is None:
        if config is None:
            raise BadValueError("make_backend needs input_size for a bare network")
        input_size = int(config.input_size)
    name, dev = resolve_backend(name, device)
    if name.startswith("torch"):
        network = model.network if config is not None else model
        return _torch_backend(network.eval(), input_size, dev, bf16=name == "torch-bf16")
    runtime = "onnxruntime" if name == "onnxruntime" else "openvino"
    tmp = tempfile.TemporaryDirectory(prefix="salt-onnx-")
    onnx_path, ov_cache, hit = export(model, input_size, runtime, Path(tmp.name))
    try:
        if name == "onnxruntime":
            fn, versions = _ort_runner(onnx_path, threads)
        else:
            fn, versions = _openvino_runner(
                onnx_path, threads, fp32=name == "openvino-fp32", cache=ov_cache
            )
    except Exception as exc:  # runtime errors of third-party compilers
        tmp.cleanup()
        raise ModelError(f"could not build the {name} backend: {exc}") from exc
    versions["torch"] = library_version("torch")
    versions["export_cache"] = "hit" if hit else ("stored" if ov_cache else "off")
    return Backend(name, "cpu", input_size, fn, versions, cleanup=tmp.cleanup)


# --------------------------------------------------------------------------- runtimes
def _torch_backend(
    network: torch.nn.Module, input_size: int, device: str, *, bf16: bool
) -> Backend:
    import torch

    head = argmax_head(network).to(device)
    if bf16 and device == "cpu" and not _cpu_has_bf16():
        log.warning("this CPU has no fast bfloat16; backend 'torch-bf16' runs in float32")
        bf16 = False
    if bf16:
        head = head.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    def run(x: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
        t = torch.from_numpy(x)
        with torch.inference_mode():
            if device == "cuda":
                t = t.pin_memory().to(device, non_blocking=True)
            if bf16:
                t = t.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device, dtype=torch.bfloat16):
                    y = head(t)
            else:
                y = head(t)
            return y.cpu().numpy()

    versions = {"torch": str(torch.__version__)}
    if device == "cuda":
        versions["cuda"] = str(torch.version.cuda)
    return Backend("torch-bf16" if bf16 else "torch", device, input_size, run, versions)


def _ort_runner(
    path: Path, threads: int | None
) -> tuple[Callable[[npt.NDArray[np.float32]], Any], dict[str, str]]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def run(x: npt.NDArray[np.float32]) -> Any:
        return sess.run(None, {"image": x})[0]

    return run, {"onnxruntime": ort.__version__, "onnx": library_version("onnx")}


def _openvino_runner(
    path: Path, threads: int | None, *, fp32: bool, cache: Path | None = None
) -> tuple[Callable[[npt.NDArray[np.float32]], Any], dict[str, str]]:
    """Compile the ONNX file with OpenVINO; with ``cache``, its compiled blob is kept there.

    The model is compiled from its path, so that with a warm ``cache`` OpenVINO loads
    the compiled blob without reading the ONNX file. A cache OpenVINO cannot use is
    removed and the network compiled without it.
    """
    import openvino as ov

    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
    if fp32:
        config["INFERENCE_PRECISION_HINT"] = "f32"
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    core = ov.Core()
    try:
        if cache is not None:
            core.set_property({"CACHE_DIR": str(cache)})
        compiled = core.compile_model(str(path), "CPU", config)
    except Exception as exc:  # a damaged blob in the cache: compile without it
        if cache is None:
            raise
        log.warning("OpenVINO could not use its cache %s (%s); compiling anew", cache, exc)
        shutil.rmtree(cache, ignore_errors=True)
        core = ov.Core()
        compiled = core.compile_model(str(path), "CPU", config)
    precision = str(compiled.get_property("INFERENCE_PRECISION_HINT")).split("'")[-2:][0]
    request = compiled.create_infer_request()

    def run(x: npt.NDArray[np.float32]) -> Any:
        return request.infer({0: x})[0].copy()

    return run, {"openvino": ov.__version__, "openvino_precision": precision}


def default_threads() -> int:
    """Return the number of CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
