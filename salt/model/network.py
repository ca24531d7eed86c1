"""The segmentation network: its configuration, building it, and running it on photos.

torch is imported only where a network is built or run: a :class:`SaltModel` loaded
from a file holds its weights on disk until its network is first needed, so a
backend whose compiled network is cached (:mod:`salt.model.backends`) never imports
torch.

The network predicts three classes per pixel (the mask convention of ``data/README.md``
and :mod:`salt.classmap`): 0 not scalp (face, ears, neck, background, clothing),
1 scalp with terminal hair, 2 hairless scalp. Encoders are built with
``encoder_weights=None``: nothing is fetched from the network. Saving, loading and
the registry of shipped models are in :mod:`salt.model.registry`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from salt.errors import BadValueError, ModelError

if TYPE_CHECKING:
    import torch

__all__ = ["CLASSES", "ModelConfig", "SaltModel", "build_network", "random_model"]

logger = logging.getLogger(__name__)

#: Class names in index order: 0 not scalp, 1 scalp with hair, 2 hairless scalp.
CLASSES: tuple[str, str, str] = ("not_scalp", "hair", "hairless")

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
    import torch

    from salt.model.torch_compat import ensure_torchvision_importable

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


class SaltModel:
    """A network in eval mode with its configuration and provenance.

    Parameters
    ----------
    network : torch.nn.Module or None
        Maps (N, 3, S, S) float32 to (N, C, S, S) logits. Put in eval mode when first
        used. None with ``loader``.
    config : ModelConfig
        How inputs are sized and normalised.
    name : str
        Model name (``"untrained"`` for a random network).
    sha256 : str
        SHA256 of the weights file (``"untrained"`` for a random network).
    device : str or torch.device
        Where the network runs.
    loader : callable, optional
        Builds the network on first use of :attr:`network` (:func:`salt.load_model`
        passes one that reads the verified weights file), so that a model whose
        network is never run (a cached compiled backend) costs no torch import.
    folder : path, optional
        The model folder it was loaded from (:func:`salt.load_model`), where a shipped
        ONNX export may lie (:func:`salt.model.export.ship_export`).

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
        network: torch.nn.Module | None,
        config: ModelConfig,
        *,
        name: str = "untrained",
        sha256: str = "untrained",
        device: str | torch.device = "cpu",
        loader: Callable[[], torch.nn.Module] | None = None,
        folder: Path | None = None,
    ) -> None:
        if network is None and loader is None:
            raise BadValueError("SaltModel needs a network or a loader")
        self._device = str(device)
        self._network = network
        self._loader = None if network is not None else loader
        if network is not None:
            self._network = network.to(self.device).eval()
        self.config = config
        self.name = name
        self.sha256 = sha256
        self.folder = folder
        self._mean = np.asarray(config.mean, np.float32).reshape(1, 1, 3)
        self._std = np.asarray(config.std, np.float32).reshape(1, 1, 3)

    @property
    def device(self) -> torch.device:
        """Where the network runs (imports torch)."""
        import torch

        return torch.device(self._device)

    @property
    def network(self) -> torch.nn.Module:
        """The network in eval mode, built (and torch imported) on first use.

        Raises
        ------
        ModelError
            If the loader cannot build it (weights unreadable or for another network).
        """
        if self._network is None:
            if self._loader is None:  # pragma: no cover - __init__ requires one of the two
                raise ModelError(f"model {self.name!r} has neither a network nor a loader")
            self._network = self._loader().to(self.device).eval()
            self._loader = None
        return self._network

    @property
    def weights_file_sha256(self) -> str | None:
        """SHA256 of the weights file while the network has not been built, else None.

        Until the network exists its weights can only be the verified file's, so the
        file's SHA256 identifies them (the key of a cached backend); once it exists
        it may have been changed in memory, and only its own digest
        (:func:`salt.model.weights_sha256`) does.
        """
        return self.sha256 if self._network is None else None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_network"] = self.network  # pickled with its weights (cluster workers)
        state["_loader"] = None
        return state

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
        """Resize and normalise RGB photos into a network batch (a torch tensor).

        :meth:`preprocess_array` as a tensor; see there.
        """
        import torch

        return torch.from_numpy(self.preprocess_array(images))

    def preprocess_array(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        """Resize and normalise RGB photos into a network batch (numpy, no torch).

        Parameters
        ----------
        images : sequence of ndarray, each (H, W, 3) uint8 RGB
            Photos of any size; each is resized to S x S (S = ``config.input_size``)
            with ``cv2.INTER_AREA`` (aspect ratio is not kept, as in training).

        Returns
        -------
        ndarray of float32, shape (N, 3, S, S)
            ``(pixel / 255 - mean) / std``, C-contiguous.

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
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Run the network on a batch (N, 3, S, S); return (N, C, S, S) float32 logits."""
        import torch

        with torch.inference_mode():
            return self.network(batch.to(self.device)).float()

    def predict_proba(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        """Return per-class softmax probabilities (N, C, S, S) float32 for RGB photos."""
        import torch

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
        import torch

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
    import torch

    config = config or ModelConfig()
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        network = build_network(config)
    finally:
        torch.random.set_rng_state(state)
    return SaltModel(network, config)
