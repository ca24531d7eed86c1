"""The model: network, saved models, inference backends.

The network (:mod:`~salt.model.network`), saved models and their registry
(:mod:`~salt.model.registry`), inference backends (:mod:`~salt.model.backends`) and the
torch/torchvision compatibility shim (:mod:`~salt.model.torch_compat`).

Everything here needs torch; the pure layer (:mod:`salt.scoring`, ...) does not import it.
"""

from __future__ import annotations

from salt.model.network import CLASSES, ModelConfig, SaltModel, build_network, random_model
from salt.model.registry import (
    default_models_dir,
    file_sha256,
    iter_registered,
    load_model,
    load_network_weights,
    save_model,
    update_registry,
    weights_sha256,
)

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
