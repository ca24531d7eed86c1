"""Batch size and network threads of the engine, in alternating whole-folder runs.

Run by hand (about 3 minutes on the 2-core development machine)::

    python benchmarks/bench_batch_threads.py --rounds 3

Scores the 24 synthetic visits of 12 MP JPEGs of ``bench_engine.py`` (cached in
``/tmp/salt-bench``) with :func:`salt.score_folder`, overlays on, the shipped model and the
default backend, in a fresh process per run, alternating:

- **new**: the engine's defaults (batches of 4 photos, the network on half the cores);
- **old**: batches of 16 and the runtime's own thread count (all cores).

Writes ``benchmarks/results/batch_threads.txt`` with visits/s and CPU seconds per visit of
every run (the model's export is cached before the first timed run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_engine import cpu_description, make_12mp  # noqa: E402

CHILD = """
import json, os, shutil, sys, time
import salt
import salt.model.backends as backends
old = sys.argv[3] == "old"
if old:  # the runtime's own thread count (all cores), as before the change
    real = backends.make_backend
    def make(*args, **kwargs):
        kwargs["threads"] = None
        return real(*args, **kwargs)
    backends.make_backend = make
out = sys.argv[2]
shutil.rmtree(out, ignore_errors=True)
model = salt.load_model("default")
t, c = time.perf_counter(), time.process_time()
df = salt.score_folder(sys.argv[1], out, model=model, batch_size=16 if old else None,
                       resume=False, progress=False)
wall, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"visits": len(df), "ok": int((df["status"] != "error").sum()),
                  "wall": wall, "cpu": cpu}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cache", default="/tmp/salt-bench")
    args = ap.parse_args()
    root = make_12mp(Path(args.cache) / "12mp-noisy", 24)
    out = Path(args.cache) / "out-batch-threads"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = [sys.executable, "-c", CHILD, str(root), str(out)]
    subprocess.run([*run, "new"], check=True, env=env, capture_output=True)  # cache the export
    rows = []
    for r in range(args.rounds):
        for config in ("new", "old"):
            res = subprocess.run([*run, config], check=True, env=env, capture_output=True)
            m = json.loads(res.stdout.decode().strip().splitlines()[-1])
            rows.append((r, config, m["visits"] / m["wall"], m["cpu"] / m["visits"]))
            print(rows[-1], flush=True)
    lines = [
        f"bench_batch_threads.py  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  "
        f"(python benchmarks/bench_batch_threads.py --rounds {args.rounds})",
        f"24 visits of 4 x 12 MP JPEGs, default model and backend, overlays on; "
        f"{os.cpu_count()} cores, {cpu_description()}; "
        f"load average {os.getloadavg()[0]:.1f} at end",
        "new: batches of 4, network on half the cores (the engine's default); "
        "old: batches of 16, the runtime's thread count",
        "",
        f"{'round':>5} {'config':>6} {'visits/s':>9} {'CPU s/visit':>12}",
        *(f"{r:>5} {c:>6} {v:>9.2f} {cpu:>12.3f}" for r, c, v, cpu in rows),
    ]
    for config in ("new", "old"):
        v = [x[2] for x in rows if x[1] == config]
        cpu = [x[3] for x in rows if x[1] == config]
        lines.append(
            f"{config}: visits/s {min(v):.2f}-{max(v):.2f}, "
            f"CPU s/visit {min(cpu):.3f}-{max(cpu):.3f}"
        )
    (HERE / "results" / "batch_threads.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
