"""The ONNX export of a network, and its cache on disk.

The exported backends of :mod:`salt.model.backends` (ONNX Runtime, OpenVINO) run an
ONNX export of the network followed by the packed class head (:func:`argmax_head`).
Exporting needs torch and takes seconds, so the export is kept in :func:`cache_dir`
under a key made of what determines it (:func:`export_key`): the weights (the SHA256
of the model's verified weights file while its network has not been built, else the
digest of the weights in memory), the model's configuration and input size, the
exported head, and the versions of salt, torch, onnx and the runtime. Next to it,
``manifest.json`` repeats those fields and the export's SHA256; an entry whose
manifest does not match, or whose file does not hash to it, is rebuilt, never used.
The entry's ``openvino/`` folder holds OpenVINO's compiled blob (its ``CACHE_DIR``).

A shipped model folder may carry its export, ``network.onnx`` with ``network.json``
(:func:`ship_export`), so that its first use needs neither torch nor an export: on a
cache miss it is used instead of exporting when ``network.json`` names the same weights
(SHA256 of ``model.safetensors``), configuration, input size and head, and the file
hashes to the SHA256 recorded there. Anything else is ignored with a log line and the
network exported anew. (``salt.load_model`` also checks every file of a registered
folder against ``registry.json``.)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salt.classmap import UNSURE_BIT, UNSURE_PROB
from salt.errors import ModelError

if TYPE_CHECKING:
    import torch

__all__ = [
    "argmax_head",
    "cache_dir",
    "export",
    "export_key",
    "export_onnx",
    "library_version",
    "ship_export",
]

log = logging.getLogger(__name__)


#: Version of what the exported network computes (the packed head below); part of
#: the cache key, so that a change of the head never reuses an older export.
_HEAD = f"packed-unsure-{UNSURE_PROB}-{UNSURE_BIT}"

#: A model folder's own export and its record (:func:`ship_export`).
SHIPPED_ONNX, SHIPPED_RECORD = "network.onnx", "network.json"
#: The key fields that determine what an export computes (the versions only say who built it).
_PORTABLE = ("layout", "head", "weights", "network", "input_size")


def argmax_head(network: torch.nn.Module) -> torch.nn.Module:
    """Wrap a network so that it returns the packed class map instead of the logits.

    Each pixel is ``argmax + UNSURE_BIT * (max softmax probability < UNSURE_PROB)``.
    """
    import torch

    class ArgmaxHead(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.network = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            prob = torch.softmax(self.network(x).float(), dim=1)
            top, cls = prob.max(dim=1)
            return (cls + UNSURE_BIT * (top < UNSURE_PROB).to(cls.dtype)).to(torch.uint8)

    return ArgmaxHead(network)


def library_version(dist: str) -> str:
    """Installed version of a distribution, or ``"not installed"``."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


# --------------------------------------------------------------------------- export cache
def cache_dir() -> Path | None:
    """Folder for exported networks: ``$SALT_CACHE_DIR``, else ``~/.cache/salt``.

    Set ``SALT_CACHE_DIR`` to an empty string to turn the cache off. Returns None
    when the folder cannot be created.
    """
    env = os.environ.get("SALT_CACHE_DIR")
    if env == "":
        return None
    base = (
        Path(env)
        if env
        else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "salt"
    )
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return base


def export_key(model: Any, input_size: int, runtime: str) -> dict[str, Any]:
    """Return what determines an exported network: its cache key's fields (module notes).

    Parameters
    ----------
    model : SaltModel or torch.nn.Module
        A model not yet built is identified by its weights file's SHA256 (no torch
        import); a built one, or a bare network, by the digest of its weights in memory.
    input_size : int
        Side of the square input, pixels.
    runtime : {"openvino", "onnxruntime"}
        The runtime that will read the export (its version is part of the key).

    Returns
    -------
    dict
        JSON-serialisable fields; equal fields mean an interchangeable export.
    """
    import salt
    from salt.model.network import SaltModel

    is_model = isinstance(model, SaltModel)
    file_sha = model.weights_file_sha256 if is_model else None
    config = model.config if is_model else None
    if file_sha:
        weights = f"file:{file_sha}"
    else:
        from salt.model.registry import weights_sha256

        network = model.network if config is not None else model
        weights = f"memory:{weights_sha256(network)}"
    return {
        "layout": 1,
        "head": _HEAD,
        "weights": weights,
        "network": config.to_dict() if config is not None else repr(model),
        "input_size": int(input_size),
        "salt": salt.__version__,
        "torch": library_version("torch"),
        "onnx": library_version("onnx"),
        runtime: library_version(runtime),
    }


def _digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _valid_entry(entry: Path, fields: dict[str, Any]) -> bool:
    """Whether a cache entry was built for exactly ``fields`` and its export is intact."""
    try:
        manifest = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))
        return bool(
            manifest.get("fields") == fields
            and manifest.get("onnx_sha256") == _file_sha256(entry / "network.onnx")
        )
    except (OSError, ValueError, AttributeError):
        return False


def export(
    model: Any, input_size: int, runtime: str, scratch: Path
) -> tuple[Path, Path | None, bool]:
    """Return (ONNX file, OpenVINO cache folder or None, cache hit) for ``model``.

    A valid cache entry is used as it is; anything else in its place (another
    version's, a foreign or damaged file) is removed and the network exported again.
    """
    fields = export_key(model, input_size, runtime)
    cache = cache_dir()
    entry = cache / "exports" / _digest(fields) if cache is not None else None
    if entry is not None and _valid_entry(entry, fields):
        log.debug("using the cached export %s", entry)
        return entry / "network.onnx", entry / "openvino", True
    from salt.model.network import SaltModel

    shipped = _shipped(model, fields)
    if shipped is not None:
        onnx_path = shipped
    else:
        network = model.network if isinstance(model, SaltModel) else model
        onnx_path = scratch / "network.onnx"
        export_onnx(network.eval(), input_size, onnx_path)
    if entry is None:
        return onnx_path, None, False
    try:
        if entry.exists():
            log.info("rebuilding the cached export %s: it does not match this model", entry)
            shutil.rmtree(entry)
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=entry.parent))
        shutil.copyfile(onnx_path, staging / "network.onnx")
        manifest = {"fields": fields, "onnx_sha256": _file_sha256(onnx_path)}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.replace(staging, entry)  # a whole entry appears at once, or none
    except OSError as exc:  # a failure only costs the cache
        log.debug("could not cache the export in %s: %s", entry, exc)
        return onnx_path, None, False
    return entry / "network.onnx", entry / "openvino", False


def _shipped(model: Any, fields: dict[str, Any]) -> Path | None:
    """Return the model folder's own export if made for exactly these weights, else None."""
    folder = getattr(model, "folder", None)
    if folder is None or not str(fields["weights"]).startswith("file:"):
        return None
    onnx_path, record_path = Path(folder) / SHIPPED_ONNX, Path(folder) / SHIPPED_RECORD
    if not onnx_path.is_file():
        return None
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        same = record.get("fields") == {k: fields[k] for k in _PORTABLE}
        intact = same and record.get("onnx_sha256") == _file_sha256(onnx_path)
    except (OSError, ValueError, AttributeError):
        same = intact = False
    if not intact:
        log.info(
            "not using %s: %s",
            onnx_path,
            "it was exported for other weights or settings" if not same else "its SHA256 differs",
        )
        return None
    log.debug("using the shipped export %s", onnx_path)
    return onnx_path


def ship_export(folder: str | os.PathLike[str]) -> Path:
    """Export a model folder's network into the folder, for a first use without torch.

    Writes ``network.onnx`` (:func:`export_onnx` at the model's input size) and
    ``network.json`` (the weights' SHA256, configuration, input size and head it was
    made for, the export's SHA256 and the versions that made it). Run at release, before
    :func:`salt.model.update_registry` records the folder's files.

    Parameters
    ----------
    folder : path
        A model folder (``config.json``, ``model.safetensors``) under a registry.

    Returns
    -------
    Path
        The ONNX file.

    Raises
    ------
    ModelError
        If the model cannot be loaded or exported.
    """
    from salt.model.registry import load_model

    folder = Path(folder)
    model = load_model(folder, lazy=True)  # keyed by the weights file, built below from it
    size = int(model.config.input_size)
    fields = export_key(model, size, "onnx")
    onnx_path = folder / SHIPPED_ONNX
    export_onnx(model.network, size, onnx_path)
    record = {
        "fields": {k: fields[k] for k in _PORTABLE},
        "onnx_sha256": _file_sha256(onnx_path),
        "made_by": {k: fields[k] for k in ("salt", "torch", "onnx")},
    }
    (folder / SHIPPED_RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return onnx_path


def export_onnx(network: torch.nn.Module, input_size: int, path: Path) -> None:
    """Write the network with the packed class head (:func:`argmax_head`) as ONNX to ``path``.

    The batch axis is dynamic; opset 17.

    Raises
    ------
    ModelError
        If the exporter fails.
    """
    import torch

    head = argmax_head(network).cpu().eval()
    example = torch.zeros(1, 3, input_size, input_size)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                head,
                (example,),
                str(path),
                dynamo=False,
                input_names=["image"],
                output_names=["classes"],
                dynamic_axes={"image": {0: "batch"}, "classes": {0: "batch"}},
                opset_version=17,
            )
    except Exception as exc:  # the exporter raises many types
        raise ModelError(f"could not export the network to ONNX: {exc}") from exc
