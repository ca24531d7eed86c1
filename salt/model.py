"""The segmentation network: configuration, building, loading and saving.

A model is a folder ``models/<name>/`` holding ``model.safetensors`` (weights,
stored as float16), ``config.json`` (a :class:`ModelConfig`) and a ``README.md``
model card. ``models/registry.json`` lists, for every model, the SHA256 of each of
its files; :func:`load_model` checks all of them before building the network, so a
changed, truncated or missing file is a clear :class:`salt.ModelError` naming the
file. Weights are read with :mod:`safetensors` only (never ``torch.load``) and
nothing is fetched from the network: encoders are built with
``encoder_weights=None``.

The network predicts three classes per pixel (the mask convention of ``data/README.md``):
0 not scalp (face, ears, neck, background, clothing), 1 scalp with terminal hair,
2 hairless scalp.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch

from salt.atomic import atomic_write_bytes
from salt.errors import BadValueError, ModelError

__all__ = [
    "CLASSES",
    "ModelConfig",
    "SaltModel",
    "build_network",
    "default_models_dir",
    "file_sha256",
    "iter_registered",
    "load_model",
    "load_network_weights",
    "random_model",
    "save_model",
    "update_registry",
    "weights_sha256",
]

logger = logging.getLogger(__name__)

#: Class names in index order: 0 not scalp, 1 scalp with hair, 2 hairless scalp.
CLASSES: tuple[str, str, str] = ("not_scalp", "hair", "hairless")

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
REGISTRY_FILE = "registry.json"

# Architectures whose decoder takes a ``decoder_channels`` tuple (one entry per encoder stage).
_UNET_LIKE = ("Unet", "UnetPlusPlus")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a network and feed it photos.

    Parameters
    ----------
    architecture : str
        Name of a segmentation-models-pytorch class, e.g. ``"Unet"``.
    encoder : str
        smp encoder name, e.g. ``"tu-mobilenetv3_large_100"`` (a timm encoder).
    decoder_channels : tuple of int
        Channels of the decoder stages (Unet-like architectures; one entry per
        encoder stage, so its length is the encoder depth).
    input_size : int
        Side S, in pixels, of the square network input; photos are resized to S x S.
    mean, std : tuple of 3 float
        Per-channel RGB normalisation applied to pixel values scaled to [0, 1].
    classes : tuple of str
        Class names in output-channel order (3: not scalp, hair, hairless).
    """

    architecture: str = "Unet"
    encoder: str = "tu-mobilenetv3_large_100"
    decoder_channels: tuple[int, ...] = (128, 64, 32, 16, 8)
    input_size: int = 256
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    classes: tuple[str, ...] = CLASSES

    def __post_init__(self) -> None:
        if self.input_size < 32 or self.input_size % 32:
            raise BadValueError(
                f"input_size must be a multiple of 32 and >= 32 pixels, got {self.input_size}"
            )
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise BadValueError(
                f"mean and std need 3 values each (std > 0), got {self.mean}, {self.std}"
            )
        if len(self.classes) < 2:
            raise BadValueError(f"a segmentation model needs >= 2 classes, got {self.classes}")
        if self.architecture in _UNET_LIKE and not 1 <= len(self.decoder_channels) <= 5:
            raise BadValueError(
                "decoder_channels needs 1 to 5 entries (one per encoder stage), got "
                f"{self.decoder_channels}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (tuples become lists)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Build a config from :meth:`to_dict` output; unknown keys are an error.

        Raises
        ------
        ModelError
            If a key is unknown or a value is invalid.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ModelError(
                f"unknown model config keys {sorted(unknown)}; expected some of {sorted(names)}"
            )
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        try:
            return cls(**kwargs)  # type: ignore[arg-type]
        except (TypeError, BadValueError) as exc:
            raise ModelError(f"invalid model config: {exc}") from exc


def build_network(config: ModelConfig) -> torch.nn.Module:
    """Build an untrained network (random weights, nothing downloaded) for ``config``.

    Parameters
    ----------
    config : ModelConfig
        Architecture, encoder, decoder channels and number of classes.

    Returns
    -------
    torch.nn.Module
        Maps a float32 tensor (N, 3, S, S) to logits (N, len(classes), S, S).
        In training mode, as built.

    Raises
    ------
    ModelError
        If the architecture or encoder is unknown to segmentation-models-pytorch.
    """
    from salt._torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import segmentation_models_pytorch as smp

    cls = getattr(smp, config.architecture, None)
    if not isinstance(cls, type) or not issubclass(cls, torch.nn.Module):
        raise ModelError(
            f"unknown architecture {config.architecture!r}; expected an smp class such as 'Unet'"
        )
    kwargs: dict[str, Any] = {
        "encoder_name": config.encoder,
        "encoder_weights": None,
        "in_channels": 3,
        "classes": len(config.classes),
    }
    if config.architecture in _UNET_LIKE:
        kwargs["decoder_channels"] = tuple(config.decoder_channels)
        kwargs["encoder_depth"] = len(config.decoder_channels)
    try:
        return cls(**kwargs)
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise ModelError(
            f"cannot build {config.architecture} with encoder {config.encoder!r}: {exc}"
        ) from exc


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA256 of a file's bytes, read in 1 MiB chunks (:func:`salt.storage.sha256`)."""
    from salt.storage import sha256

    return sha256(Path(path))


def default_models_dir() -> Path:
    """Return ``$SALT_MODELS_DIR`` if set, else the ``models/`` folder beside the package."""
    env = os.environ.get("SALT_MODELS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "models"


class SaltModel:
    """A network in eval mode with its configuration and provenance.

    Parameters
    ----------
    network : torch.nn.Module
        Maps (N, 3, S, S) float32 to (N, C, S, S) logits. Put in eval mode here.
    config : ModelConfig
        How inputs are sized and normalised.
    name : str
        Model name (``"untrained"`` for a random network).
    sha256 : str
        SHA256 of the weights file (``"untrained"`` for a random network).
    device : str or torch.device
        Where the network runs.

    Examples
    --------
    >>> import numpy as np, salt
    >>> model = salt.random_model(ModelConfig(encoder="tu-mobilenetv3_small_050",
    ...                                       decoder_channels=(16, 8, 8, 8, 8), input_size=64))
    >>> model.predict([np.zeros((100, 120, 3), np.uint8)]).shape
    (1, 64, 64)
    """

    def __init__(
        self,
        network: torch.nn.Module,
        config: ModelConfig,
        *,
        name: str = "untrained",
        sha256: str = "untrained",
        device: str | torch.device = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.network = network.to(self.device).eval()
        self.config = config
        self.name = name
        self.sha256 = sha256
        self._mean = np.asarray(config.mean, np.float32).reshape(1, 1, 3)
        self._std = np.asarray(config.std, np.float32).reshape(1, 1, 3)

    def __repr__(self) -> str:
        return (
            f"SaltModel(name={self.name!r}, sha256={self.sha256[:12]!r}, "
            f"{self.config.architecture}/"
            f"{self.config.encoder} @ {self.config.input_size}px, device={self.device})"
        )

    @property
    def input_size(self) -> int:
        """Side S of the square network input, in pixels."""
        return self.config.input_size

    def preprocess(self, images: Sequence[npt.NDArray[np.uint8]]) -> torch.Tensor:
        """Resize and normalise RGB photos into a network batch.

        Parameters
        ----------
        images : sequence of ndarray, each (H, W, 3) uint8 RGB
            Photos of any size; each is resized to S x S (S = ``config.input_size``)
            with ``cv2.INTER_AREA`` (aspect ratio is not kept, as in training).

        Returns
        -------
        torch.Tensor
            (N, 3, S, S) float32 on the CPU: ``(pixel / 255 - mean) / std``.

        Raises
        ------
        BadValueError
            If an image is not (H, W, 3) uint8 or the sequence is empty.
        """
        if len(images) == 0:
            raise BadValueError("preprocess needs at least one image")
        size = self.config.input_size
        batch = np.empty((len(images), size, size, 3), np.float32)
        for i, img in enumerate(images):
            arr: Any = np.asarray(img)
            if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
                raise BadValueError(
                    f"image {i} must be an (H, W, 3) uint8 RGB array, got shape {arr.shape} "
                    f"dtype {arr.dtype}"
                )
            if arr.shape[:2] != (size, size):
                arr = cv2.resize(arr, (size, size), interpolation=cv2.INTER_AREA)
            batch[i] = arr
        batch *= 1.0 / 255.0
        batch -= self._mean
        batch /= self._std
        return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Run the network on a batch (N, 3, S, S); return (N, C, S, S) float32 logits."""
        with torch.inference_mode():
            return self.network(batch.to(self.device)).float()

    def predict_proba(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        """Return per-class softmax probabilities (N, C, S, S) float32 for RGB photos."""
        return torch.softmax(self.logits(self.preprocess(images)), dim=1).cpu().numpy()

    def predict(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.uint8]:
        """Class map per photo.

        Parameters
        ----------
        images : sequence of ndarray, each (H, W, 3) uint8 RGB

        Returns
        -------
        ndarray
            (N, S, S) uint8 with 0 not scalp, 1 scalp with hair, 2 hairless scalp,
            at the network resolution S = ``config.input_size``.
        """
        out = self.logits(self.preprocess(images)).argmax(dim=1)
        return out.to(torch.uint8).cpu().numpy()


def random_model(config: ModelConfig | None = None, *, seed: int = 0) -> SaltModel:
    """Build an untrained model with reproducible random weights (tests, benchmarks).

    Parameters
    ----------
    config : ModelConfig, optional
        Defaults to ``ModelConfig()``.
    seed : int
        Seed for torch's weight initialisation.
    """
    config = config or ModelConfig()
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        network = build_network(config)
    finally:
        torch.random.set_rng_state(state)
    return SaltModel(network, config)


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
    dtype: torch.dtype = torch.float16,
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
    dtype : torch.dtype
        Storage type of floating-point tensors (float16 halves the file; weights
        are cast back to float32 when loaded).
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
    from safetensors.torch import save as st_save

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
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

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
    weights_path = folder / WEIGHTS_FILE
    try:
        tensors = st_load(weights_path.read_bytes())
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"model weights {weights_path} cannot be read: {exc}") from exc
    network = build_network(config)
    _load_state(network, tensors, weights_path)
    logger.info("loaded model %s (sha256 %s) from %s", model_name, weights_sha[:12], folder)
    return SaltModel(network, config, name=model_name, sha256=weights_sha, device=device)


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
