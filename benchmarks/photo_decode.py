"""Photo decoding cost: reduced JPEG decode time and peak memory, 12 MP and 100 MP.

For a 12 MP (4032 x 3024) and a 100.8 MP (12000 x 8400) JPEG, each decoded in a fresh
process by :func:`salt.io.photo.load_photo` at full resolution (``target_side=None``) and
reduced (``target_side=512``), reports the median decode time and the peak resident
memory (VmHWM) above a process that only imports the same modules.

Usage::

    python benchmarks/photo_decode.py      # writes benchmarks/results/photo_decode.txt
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import cv2
import numpy as np

RESULTS = Path(__file__).parent / "results" / "photo_decode.txt"

CHILD = textwrap.dedent(
    """
    import sys, time
    import cv2, numpy, PIL.Image
    import salt.io.photo
    path, target, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    times, raw = [], []
    shape = ""
    if target != "none":
        t = None if target == "full" else int(target)
        for _ in range(repeats):
            t0 = time.perf_counter()
            p = salt.io.photo.load_photo(path, target_side=t)
            times.append(time.perf_counter() - t0)
            shape = f"{p.rgb.shape[1]}x{p.rgb.shape[0]}(1/{p.reduction})"
            flag = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
                    4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}[p.reduction]
            del p
    hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
    if target != "none":
        for _ in range(repeats):  # the bare OpenCV decode, same file and scale
            t0 = time.perf_counter()
            data = numpy.fromfile(path, dtype=numpy.uint8)
            cv2.imdecode(data, flag | cv2.IMREAD_IGNORE_ORIENTATION)
            raw.append(time.perf_counter() - t0)
    times.sort()
    raw.sort()
    med = lambda x: x[len(x) // 2] if x else 0.0
    print(med(times), med(raw), hwm, shape)
    """
)


def make_jpeg(path: Path, w: int, h: int) -> None:
    """Photo-like content: smooth gradients plus fine texture (so it compresses realistically)."""
    rng = np.random.default_rng(0)
    yy = np.linspace(0, 200, h, dtype=np.float32)[:, None]
    xx = np.linspace(0, 200, w, dtype=np.float32)[None, :]
    img = np.empty((h, w, 3), np.uint8)
    tex = rng.integers(0, 40, (h, 1), dtype=np.uint8) + rng.integers(0, 15, (1, w), dtype=np.uint8)
    img[..., 0] = (yy * 0.5 + xx * 0.5).astype(np.uint8) + tex
    img[..., 1] = (yy * 0.8).astype(np.uint8) + tex
    img[..., 2] = (xx * 0.8).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    path.write_bytes(buf.tobytes())


def child(path: Path, target: str, repeats: int) -> tuple[float, float, float, str]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), target, str(repeats)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]), (out[3] if len(out) > 3 else "")


def main() -> int:
    lines = [
        "salt.io.photo.load_photo: decode time (median) and peak RSS above imports, "
        "fresh process each",
        "command: python benchmarks/photo_decode.py",
        "",
        "ms: median load_photo time; cv2 ms: bare cv2.imdecode of the same file at the same",
        "scale in the same process (no hash, checks or orientation); peak: VmHWM above imports",
        "",
        f"{'image':<21}{'MiB':>6}{'mode':>12}{'decoded':>20}{'ms':>7}{'cv2 ms':>8}{'peak MiB':>9}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for label, w, h, repeats in (
            ("12 MP 4032x3024", 4032, 3024, 7),
            ("100.8 MP 12000x8400", 12000, 8400, 3),
        ):
            path = Path(tmp) / f"{w}x{h}.jpg"
            make_jpeg(path, w, h)
            size_mib = path.stat().st_size / 2**20
            _, _, base, _ = child(path, "none", 1)
            for mode in ("full", "512"):
                sec, raw, hwm, shape = child(path, mode, repeats)
                name = "full" if mode == "full" else "target 512"
                lines.append(
                    f"{label:<21}{size_mib:>6.1f}{name:>12}{shape:>20}"
                    f"{sec * 1000:>7.0f}{raw * 1000:>8.0f}{hwm - base:>9.0f}"
                )
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
