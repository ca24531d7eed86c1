"""Speed of the synthetic visit generator on one core.

Run: ``python benchmarks/bench_synth.py [--visits N] [--sizes 256 512]``.
Writes ``benchmarks/results/synth.txt``. Threads are pinned to one (OpenCV,
BLAS) and both wall-clock and CPU time are reported: the development machine is
shared, so CPU time is the fairer measure of one core's throughput.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import platform
import time
from pathlib import Path

import cv2

from salt.synth import render_visit


def bench(size: int, visits: int, **kw: object) -> tuple[float, float]:
    render_visit(10_000, size=size, **kw)  # warm-up (caches, imports)
    w0, c0 = time.perf_counter(), time.process_time()
    for seed in range(visits):
        render_visit(seed, size=size, **kw)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    photos = 4 * visits
    return photos / wall, photos / cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=20)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "synth.txt"))
    args = ap.parse_args()
    cv2.setNumThreads(1)
    lines = [
        "salt.synth.render_visit throughput, one thread "
        f"(python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} logical CPUs shared with other jobs, load {os.getloadavg()[0]:.2f})",
        f"command: python benchmarks/bench_synth.py --visits {args.visits} --sizes "
        + " ".join(map(str, args.sizes)),
    ]
    for size in args.sizes:
        for label, kw in (("default", {}), ("salt_uniform", {"salt_uniform": True})):
            wall, cpu = bench(size, args.visits, **kw)
            lines.append(
                f"size {size:4d} {label:12s}: {wall:6.1f} photos/s wall-clock, "
                f"{cpu:6.1f} photos/s per CPU-second ({args.visits} visits x 4 photos)"
            )
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
