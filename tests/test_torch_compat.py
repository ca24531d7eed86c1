import importlib

import torch

from salt.model.torch_compat import ensure_torchvision_importable


def test_smp_imports_with_the_pinned_torch():
    ensure_torchvision_importable()
    ensure_torchvision_importable()  # idempotent
    smp = importlib.import_module("segmentation_models_pytorch")
    net = smp.Unet(
        "resnet18", encoder_weights=None, classes=3, encoder_depth=3, decoder_channels=(16, 8, 4)
    )
    with torch.inference_mode():
        out = net(torch.zeros(1, 3, 32, 32))
    assert out.shape == (1, 3, 32, 32)
    assert hasattr(torch.ops.torchvision, "nms")
