"""Would post-training int8 quantization keep the measurement? (run by hand; needs NNCF).

NNCF is not a dependency of salt; install it into the environment first::

    pip install nncf
    python benchmarks/int8_probe.py --real ../shared/data/scalp-views/images

Quantizes the shipped model's ONNX export (``salt/weights/default/network.onnx``) with
NNCF's post-training quantization (preset MIXED, 64 synthetic photos from
:func:`salt.synth.render_visit` for calibration), whole network, encoder only and decoder
only, and compares each with the float32 network on the real photos under ``--real``
(decoded and prepared as ``salt score`` does): the change of the per-view hair-loss %.
Times each network's CPU per photo (OpenVINO, 2 threads, batches of 4, best of 4
rounds). Writes ``benchmarks/results/int8.txt``.
"""

from __future__ import annotations

import argparse
import glob
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    import nncf
    import openvino as ov

    import salt
    from salt.classmap import split_packed, view_percent
    from salt.inference.pipeline import decode, prepare
    from salt.model import default_models_dir
    from salt.synth import render_visit

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", required=True, help="folder of real scalp photos (JPEG)")
    args = ap.parse_args()
    model = salt.load_model("default", lazy=True)
    onnx = default_models_dir() / "default" / "network.onnx"
    core = ov.Core()
    cfg = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": 2}
    calib_imgs = []
    for s in range(16):
        v = render_visit(5000 + s, size=320)
        calib_imgs += [v.photos[k] for k in ("top", "back", "left", "right")]
    calib = model.preprocess_array(calib_imgs)
    files = sorted(glob.glob(str(Path(args.real) / "**" / "*.jpg"), recursive=True))
    x_real = np.stack([prepare(model, decode(f, 256, 64).rgb) for f in files])

    def percents(compiled: object) -> np.ndarray:
        req = compiled.create_infer_request()  # type: ignore[attr-defined]
        out = []
        for i in range(0, len(x_real), 4):
            for packed in req.infer({0: x_real[i : i + 4]})[0]:
                p = view_percent(split_packed(packed)[0])
                out.append(np.nan if p is None else p)
        return np.array(out)

    def cpu_ms(compiled: object) -> float:
        req = compiled.create_infer_request()  # type: ignore[attr-defined]
        x = x_real[:4]
        req.infer({0: x})
        best = []
        for _ in range(4):
            t = time.process_time()
            for _ in range(5):
                req.infer({0: x})
            best.append((time.process_time() - t) / 20 * 1000)
        return min(best)

    fp32 = core.compile_model(str(onnx), "CPU", cfg)
    base = percents(fp32)
    lines = [
        f"int8_probe.py  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  "
        f"(python benchmarks/int8_probe.py --real REAL; nncf {nncf.__version__})",
        f"{len(files)} real photos; change of per-view hair loss % against float32; "
        "CPU ms per photo (2 threads, batch 4)",
        "",
        f"{'network':<22}{'mean':>7}{'MAE':>7}{'max':>7}{'CPU ms':>8}",
        f"{'float32':<22}{0:>7.2f}{0:>7.2f}{0:>7.1f}{cpu_ms(fp32):>8.1f}",
    ]
    variants = {
        "int8 whole network": [".*segmentation_head.*"],
        "int8 encoder only": [".*decoder.*", ".*segmentation_head.*"],
        "int8 decoder only": [".*encoder.*", ".*segmentation_head.*"],
    }
    for name, ignored in variants.items():
        quantized = nncf.quantize(
            core.read_model(str(onnx)),
            nncf.Dataset([calib[i : i + 1] for i in range(len(calib))]),
            subset_size=len(calib),
            preset=nncf.QuantizationPreset.MIXED,
            ignored_scope=nncf.IgnoredScope(patterns=ignored, validate=False),
        )
        compiled = core.compile_model(quantized, "CPU", cfg)
        d = percents(compiled) - base
        d = d[~np.isnan(d)]
        lines.append(
            f"{name:<22}{d.mean():>+7.2f}{np.abs(d).mean():>7.2f}{np.abs(d).max():>7.1f}"
            f"{cpu_ms(compiled):>8.1f}"
        )
        print(lines[-1], flush=True)
    (HERE / "results" / "int8.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
