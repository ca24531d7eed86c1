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
import logging
from pathlib import Path

import torch

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_lib: torch.library.Library | None = None
_checked = False
log = logging.getLogger(__name__)


def ensure_torchvision_importable() -> None:
    """Define the torchvision operator schemas if torchvision's extension cannot provide them.

    Loads torchvision's compiled extension the way torchvision does; only where that
    fails (the CPU torch 2.13.0 + torchvision 0.28.0 pair) are the two schemas defined.
    Safe to call more than once.
    """
    global _lib, _checked
    if _checked:
        return
    _checked = True
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return
    ext = sorted(Path(next(iter(spec.submodule_search_locations))).glob("_C*.so"))
    if ext:
        try:
            torch.ops.load_library(str(ext[0]))
            return  # the extension registers the real operators
        except (OSError, RuntimeError) as exc:
            log.debug(
                "torchvision extension %s does not load (%s); defining op schemas", ext[0], exc
            )
    lib = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _SCHEMAS.values():
        lib.define(schema)
    _lib = lib
