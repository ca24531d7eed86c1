"""The model: network, saved models, inference backends.

The network (:mod:`~salt.model.network`), saved models and their registry
(:mod:`~salt.model.registry`), inference backends (:mod:`~salt.model.backends`) and the
torch/torchvision compatibility shim (:mod:`~salt.model.torch_compat`).

Building or running a network needs torch, which is imported only then: loading a
model (:func:`load_model` with ``lazy=True``) and running a cached compiled backend do
not import it. The pure layer (:mod:`salt.scoring`, ...) never does.
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
