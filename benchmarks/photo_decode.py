"""Photo decoding cost: reduced JPEG decode time and peak memory, 12 MP and 100 MP.

For a 12 MP (4032 x 3024) and a 100.8 MP (12000 x 8400) JPEG, each decoded in a fresh
process by :func:`salt.photo.load_photo` at full resolution (``target_side=None``) and
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
    import salt.photo
    path, target, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    times = []
    shape = ""
    if target != "none":
        t = None if target == "full" else int(target)
        for _ in range(repeats):
            t0 = time.perf_counter()
            p = salt.photo.load_photo(path, target_side=t)
            times.append(time.perf_counter() - t0)
            shape = f"{p.rgb.shape[1]}x{p.rgb.shape[0]} (1/{p.reduction})"
            del p
    hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
    times.sort()
    print(times[len(times) // 2] if times else 0.0, hwm, shape)
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


def child(path: Path, target: str, repeats: int) -> tuple[float, float, str]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), target, str(repeats)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split(maxsplit=2)
    return float(out[0]), float(out[1]), (out[2].strip() if len(out) > 2 else "")


def main() -> int:
    lines = [
        "salt.photo.load_photo: decode time (median) and peak RSS above imports, "
        "fresh process each",
        "command: python benchmarks/photo_decode.py",
        "",
        f"{'image':<22}{'file MiB':>9}{'mode':>13}{'decoded':>22}{'ms':>9}{'peak MiB':>10}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for label, w, h, repeats in (
            ("12 MP 4032x3024", 4032, 3024, 7),
            ("100.8 MP 12000x8400", 12000, 8400, 3),
        ):
            path = Path(tmp) / f"{w}x{h}.jpg"
            make_jpeg(path, w, h)
            size_mib = path.stat().st_size / 2**20
            _, base, _ = child(path, "none", 1)
            for mode in ("full", "512"):
                sec, hwm, shape = child(path, mode, repeats)
                name = "full" if mode == "full" else "target 512"
                lines.append(
                    f"{label:<22}{size_mib:>9.1f}{name:>13}{shape:>22}"
                    f"{sec * 1000:>9.0f}{hwm - base:>10.0f}"
                )
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
