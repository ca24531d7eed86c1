"""Make ``import segmentation_models_pytorch`` work beside the CPU build of torch.

The CPU wheel ``torch==2.13.0`` is paired by pip with ``torchvision==0.28.0``, whose
compiled extension links the CUDA build of torch and fails to load. torchvision then
registers fake kernels for two operators that were never defined and the import dies
with "operator torchvision::nms does not exist". timm (and so smp) import torchvision
but our networks never call these detection operators, so we define their schemas
(no kernels) before the first import. Calling them would raise a clear "no kernel"
error. Where torchvision's extension loads normally, this module does nothing.
See README "Why the CPU torch and a torchvision shim".
"""

from __future__ import annotations

import importlib.util

import torch

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_lib: torch.library.Library | None = None


def ensure_torchvision_importable() -> None:
    """Define the torchvision operator schemas if torchvision's extension cannot provide them."""
    global _lib
    if _lib is not None or importlib.util.find_spec("torchvision") is None:
        return
    if hasattr(torch.ops, "torchvision") and all(
        _has_op(name) for name in _SCHEMAS
    ):
        return
    lib = torch.library.Library("torchvision", "FRAGMENT")
    for name, schema in _SCHEMAS.items():
        if not _has_op(name):
            lib.define(schema)
    _lib = lib


def _has_op(name: str) -> bool:
    try:
        return torch._C._dispatch_has_kernel(f"torchvision::{name}") or bool(
            torch._C._jit_get_schemas_for_operator(f"torchvision::{name}")
        )
    except RuntimeError:
        return False
