"""Saved models: the folder format, the registry of SHA256 digests, saving and loading.

A model is a folder ``<models_dir>/<name>/`` holding ``model.safetensors`` (weights,
stored as float16), ``config.json`` (a :class:`ModelConfig`) and a ``README.md``
model card. ``<models_dir>/registry.json`` lists, for every model, the SHA256 of each of
its files; :func:`load_model` checks all of them before building the network, so a
changed, truncated or missing file is a clear :class:`salt.ModelError` naming the
file. Weights are read with :mod:`safetensors` only (never ``torch.load``) and
nothing is fetched from the network: encoders are built with
``encoder_weights=None``. The shipped models live in the package, ``salt/weights/``
(:func:`default_models_dir`); the registry holds any number of models, loaded by name.

The network predicts three classes per pixel (the mask convention of ``data/README.md``):
0 not scalp (face, ears, neck, background, clothing), 1 scalp with terminal hair,
2 hairless scalp.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salt.errors import ModelError
from salt.io.atomic import atomic_write_bytes
from salt.model.network import ModelConfig, SaltModel, build_network

if TYPE_CHECKING:
    import torch

__all__ = [
    "default_models_dir",
    "file_sha256",
    "iter_registered",
    "load_model",
    "load_network_weights",
    "save_model",
    "update_registry",
    "weights_sha256",
]

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
REGISTRY_FILE = "registry.json"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA256 of a file's bytes, read in 1 MiB chunks (:func:`salt.io.storage.sha256`)."""
    from salt.io.storage import sha256

    return sha256(Path(path))


def default_models_dir() -> Path:
    """Folder of the shipped models: ``$SALT_MODELS_DIR`` if set, else ``salt/weights``.

    The shipped weights and ``registry.json`` are package data, so an installed
    wheel finds them wherever it is installed and whatever the working directory.

    Returns
    -------
    pathlib.Path
        Folder holding ``registry.json`` and one sub-folder per model.
    """
    env = os.environ.get("SALT_MODELS_DIR")
    if env:
        return Path(env)
    return Path(str(importlib.resources.files("salt"))) / "weights"


def _hashable_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def update_registry(
    folder: str | os.PathLike[str], *, description: str | None = None
) -> dict[str, str]:
    """Record the SHA256 of every file of a model folder in ``<parent>/registry.json``.

    Parameters
    ----------
    folder : path
        A model folder ``<models_dir>/<name>/``; the entry is keyed by ``<name>``.
    description : str, optional
        One line kept in the registry entry (the previous one is kept if omitted).

    Returns
    -------
    dict
        File name -> hex SHA256 as written.
    """
    folder = Path(folder)
    registry_path = folder.parent / REGISTRY_FILE
    registry: dict[str, Any] = {"models": {}}
    if registry_path.exists():
        registry = _read_registry(registry_path)
    entry = dict(registry["models"].get(folder.name, {}))
    files = {p.name: file_sha256(p) for p in _hashable_files(folder)}
    entry["files"] = files
    if description is not None:
        entry["description"] = description
    registry["models"][folder.name] = entry
    registry["models"] = dict(sorted(registry["models"].items()))
    atomic_write_bytes(registry_path, (json.dumps(registry, indent=2) + "\n").encode())
    return files


def _read_registry(path: Path) -> dict[str, Any]:
    try:
        registry = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(
            f"model registry {path} is unreadable ({exc}); restore it from the repository"
        ) from exc
    if not isinstance(registry, dict) or not isinstance(registry.get("models"), dict):
        raise ModelError(
            f"model registry {path} has no 'models' table; restore it from the repository"
        )
    return registry


def save_model(
    model_or_network: SaltModel | torch.nn.Module,
    folder: str | os.PathLike[str],
    *,
    config: ModelConfig | None = None,
    dtype: torch.dtype | None = None,
    metadata: Mapping[str, str] | None = None,
    register: bool = True,
    description: str | None = None,
) -> Path:
    """Write ``model.safetensors`` and ``config.json`` to ``folder`` and register their hashes.

    Parameters
    ----------
    model_or_network : SaltModel or torch.nn.Module
        What to save; a bare network needs ``config``.
    folder : path
        Model folder, created if needed; its name is the model name.
    config : ModelConfig, optional
        Required for a bare network; defaults to the model's own config.
    dtype : torch.dtype, optional
        Storage type of floating-point tensors (default float16, which halves the
        file; weights are cast back to float32 when loaded).
    metadata : mapping of str to str, optional
        Extra strings stored in the safetensors header (e.g. training step).
    register : bool
        If true, update ``<folder parent>/registry.json`` with the SHA256 of every
        file in ``folder`` (so :func:`load_model` can verify them).
    description : str, optional
        One-line description for the registry entry.

    Returns
    -------
    Path
        The weights file written.

    Raises
    ------
    ModelError
        If no config is known or a weight overflows the storage dtype.
    """
    import torch
    from safetensors.torch import save as st_save

    dtype = torch.float16 if dtype is None else dtype
    if isinstance(model_or_network, SaltModel):
        network = model_or_network.network
        config = config or model_or_network.config
    else:
        network = model_or_network
    if config is None:
        raise ModelError("save_model needs a config to save a bare network")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    for key, value in network.state_dict().items():
        t = value.detach().cpu()
        if t.is_floating_point():
            t = t.to(dtype)
            if not torch.isfinite(t).all():
                raise ModelError(
                    f"weight {key} is not finite when stored as {dtype}; not saving to {folder}"
                )
        tensors[key] = t.contiguous()
    meta = {"format": "pt", "salt_config": json.dumps(config.to_dict())}
    meta.update(metadata or {})
    weights_path = folder / WEIGHTS_FILE
    atomic_write_bytes(weights_path, st_save(tensors, metadata=meta))
    atomic_write_bytes(
        folder / CONFIG_FILE, (json.dumps(config.to_dict(), indent=2) + "\n").encode()
    )
    if register:
        update_registry(folder, description=description)
    logger.info("saved model to %s (%d tensors)", folder, len(tensors))
    return weights_path


def _resolve(
    name: str | os.PathLike[str], models_dir: str | os.PathLike[str] | None
) -> tuple[Path, str]:
    """(models_dir, model name) for a registered name or a model folder path."""
    if models_dir is not None:
        return Path(models_dir), str(name)
    text = os.fspath(name)
    path = Path(text)
    looks_like_path = isinstance(name, os.PathLike) or "/" in text or os.sep in text
    if looks_like_path or (path.is_dir() and not (default_models_dir() / text).is_dir()):
        resolved = path.resolve()
        return resolved.parent, resolved.name
    return default_models_dir(), text


def load_model(
    name: str | os.PathLike[str] = "default",
    *,
    models_dir: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
    lazy: bool = False,
) -> SaltModel:
    """Load a registered model after checking the SHA256 of each of its files.

    Parameters
    ----------
    name : str or path
        A model name in ``<models_dir>/registry.json`` (default ``"default"``), or
        the path of a model folder (then its parent's ``registry.json`` is used).
    models_dir : path, optional
        Folder with ``registry.json`` and one sub-folder per model; defaults to
        :func:`default_models_dir`.
    device : str or torch.device
        Where the network runs (``"cpu"``, ``"cuda"``).
    lazy : bool, default False
        Check the files and read the config now, but build the network (importing
        torch and reading the weights) only when it is first used. A backend found
        in the cache (:mod:`salt.model.backends`) then never needs it, which is
        what makes a warm ``salt score`` start fast. Errors of the weights file
        itself are then raised at first use.

    Returns
    -------
    SaltModel
        In eval mode, float32 weights, ``.sha256`` = SHA256 of ``model.safetensors``.

    Raises
    ------
    ModelError
        If the registry, the model or one of its files is missing, a file's
        SHA256 differs from the registry, or the weights do not fit the config.
    """
    root, model_name = _resolve(name, models_dir)
    registry_path = root / REGISTRY_FILE
    if not registry_path.exists():
        raise ModelError(
            f"no model registry at {registry_path}; pass models_dir= or reinstall the models folder"
        )
    registry = _read_registry(registry_path)
    entry = registry["models"].get(model_name)
    if not isinstance(entry, dict) or not isinstance(entry.get("files"), dict):
        known = ", ".join(sorted(registry["models"])) or "none"
        raise ModelError(f"model {model_name!r} is not in {registry_path} (registered: {known})")
    folder = root / model_name
    expected: dict[str, str] = entry["files"]
    for required in (WEIGHTS_FILE, CONFIG_FILE):
        if required not in expected:
            raise ModelError(
                f"registry entry {model_name!r} in {registry_path} does not list {required}"
            )
    weights_sha = ""
    for fname, sha in sorted(expected.items()):
        path = folder / fname
        if not path.is_file():
            raise ModelError(
                f"model file {path} is missing; restore it (registry {registry_path} lists it)"
            )
        actual = file_sha256(path)
        if actual != sha:
            raise ModelError(
                f"model file {path} is corrupt or modified: SHA256 {actual[:16]}... differs from "
                f"{sha[:16]}... in {registry_path}; restore the file or re-register the model"
            )
        if fname == WEIGHTS_FILE:
            weights_sha = actual
    try:
        config = ModelConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise ModelError(f"model config {folder / CONFIG_FILE} is not valid JSON: {exc}") from exc
    loader = WeightsLoader(folder / WEIGHTS_FILE, config)
    logger.info("loaded model %s (sha256 %s) from %s", model_name, weights_sha[:12], folder)
    if lazy:
        return SaltModel(
            None,
            config,
            name=model_name,
            sha256=weights_sha,
            device=device,
            loader=loader,
            folder=folder,
        )
    return SaltModel(
        loader(), config, name=model_name, sha256=weights_sha, device=device, folder=folder
    )


class WeightsLoader:
    """Build a network from a config and a safetensors file (picklable; torch imported on call).

    Parameters
    ----------
    path : Path
        ``model.safetensors``, whose SHA256 the caller has checked.
    config : ModelConfig
        The network it belongs to.
    """

    def __init__(self, path: Path, config: ModelConfig) -> None:
        self.path = path
        self.config = config

    def __call__(self) -> torch.nn.Module:
        """Return the network with the file's weights (float32).

        Raises
        ------
        ModelError
            If the file cannot be read or its tensors do not fit the config's network.
        """
        from safetensors import SafetensorError
        from safetensors.torch import load as st_load

        try:
            tensors = st_load(self.path.read_bytes())
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelError(f"model weights {self.path} cannot be read: {exc}") from exc
        network = build_network(self.config)
        _load_state(network, tensors, self.path)
        return network


def _load_state(
    network: torch.nn.Module, tensors: Mapping[str, torch.Tensor], where: Path | str
) -> None:
    """Copy stored tensors into ``network`` (cast to its dtypes); strict on keys and shapes."""
    state = network.state_dict()
    missing = sorted(set(state) - set(tensors))
    unexpected = sorted(set(tensors) - set(state))
    if missing or unexpected:
        raise ModelError(
            f"weights {where} do not match the config's network: {len(missing)} missing "
            f"(e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]})"
        )
    converted = {}
    for key, ref in state.items():
        t = tensors[key]
        if tuple(t.shape) != tuple(ref.shape):
            raise ModelError(
                f"weights {where}: tensor {key} has shape {tuple(t.shape)}, "
                f"expected {tuple(ref.shape)}"
            )
        converted[key] = t.to(ref.dtype)
    network.load_state_dict(converted, strict=True)


def weights_sha256(network: torch.nn.Module) -> str:
    """SHA256 of a network's weights as held in memory (names, shapes, dtypes and bytes).

    Two networks with equal weights give equal digests, whatever file or process they
    came from; used to check that cluster workers received the client's model intact.
    """
    import torch

    digest = hashlib.sha256()
    for key, value in network.state_dict().items():
        t = value.detach().cpu().contiguous()
        digest.update(f"|{key}:{tuple(t.shape)}:{t.dtype}|".encode())
        if t.numel():
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def load_network_weights(network: torch.nn.Module, path: str | os.PathLike[str]) -> dict[str, str]:
    """Load a safetensors file into ``network`` without registry checks (training checkpoints).

    Returns the file's metadata strings. Raises :class:`ModelError` on unreadable or
    mismatched files.
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load as st_load

    path = Path(path)
    try:
        tensors = st_load(path.read_bytes())
        with safe_open(str(path), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"weights {path} cannot be read: {exc}") from exc
    _load_state(network, tensors, path)
    return meta


def iter_registered(models_dir: str | os.PathLike[str] | None = None) -> Iterable[str]:
    """Names of the models registered in ``models_dir`` (default :func:`default_models_dir`)."""
    path = Path(models_dir or default_models_dir()) / REGISTRY_FILE
    if not path.exists():
        return []
    return sorted(_read_registry(path)["models"])
