"""Speed as a user feels it: whole ``salt score`` processes, cold and warm, against the naive loop.

Run by hand, on a quiet machine if you can (it reports the load average)::

    python benchmarks/bench_process.py                       # 24 visits of 4 x 12 MP JPEGs
    python benchmarks/bench_process.py --memory 100,1000     # + peak RSS of 100 and 1,000 visits

Writes ``benchmarks/results/process.json`` and ``process.txt``. Every number is a
whole process (start-up, imports, model, backend, scoring, tables, overlays), timed
from outside with its peak RSS (``wait4``), all in one run:

- **one visit, cold**: ``salt score`` on a folder of one visit with an empty backend
  cache (``SALT_CACHE_DIR``): exports and compiles the network.
- **one visit, warm**: the same again: the cached compiled network, no torch import.
- **folder, warm**: ``salt score`` on the whole folder (default backend, overlays on).
- **naive loop**: the script a user would write with the public API, as one process:
  ``cv2.imread`` at full size, one photo at a time, ``SaltModel.predict``, SALT.
- **decode**: in one process, ms per photo of the reduced decode ``load_photo(target_side=
  network input)``, of the bare libjpeg-turbo decode at the same scale, and of a plain
  full-size ``cv2.imread``; the reduced decode's share of the full one.
- **memory** (``--memory``): peak RSS of ``salt score`` on N visits of 640 x 480 JPEGs.

The 12 MP visits are those of ``bench_engine.py`` (synthetic visits upscaled to
4000 x 3000 with sensor-like noise, JPEG quality 90), made once in ``--cache``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_engine import cpu_description, make_12mp, make_small  # noqa: E402

NAIVE = """
import sys, cv2, salt
from salt.classmap import view_percent
model = salt.load_model(sys.argv[2])
root = __import__("pathlib").Path(sys.argv[1])
for d in sorted(p for p in root.glob("*/*") if p.is_dir()):
    pct = {}
    for v in ("top", "back", "left", "right"):
        rgb = cv2.cvtColor(cv2.imread(str(d / f"{v}.jpg")), cv2.COLOR_BGR2RGB)
        pct[v] = view_percent(model.predict([rgb])[0]) or 0.0
    salt.salt_score(pct)
"""

DECODE = """
import json, sys, time, cv2, numpy as np, simplejpeg
from pathlib import Path
from salt.io.photo import load_photo
paths, side = sorted(Path(sys.argv[1]).glob("*/*/*.jpg")), int(sys.argv[2])
def per_photo(fn):
    fn(paths[0]); t = time.perf_counter(); c = time.process_time()
    for p in paths: fn(p)
    n = len(paths)
    return {"wall_ms": 1e3 * (time.perf_counter() - t) / n,
            "cpu_ms": 1e3 * (time.process_time() - c) / n}
def bare(p):
    simplejpeg.decode_jpeg(p.read_bytes(), min_height=side, min_width=side, strict=True)
out = {"photos": len(paths),
       "load_photo": per_photo(lambda p: load_photo(p, target_side=side)),
       "libjpeg_reduced": per_photo(bare),
       "cv2_full": per_photo(lambda p: cv2.imread(str(p))),
       "shape": list(load_photo(paths[0], target_side=side).rgb.shape)}
print(json.dumps(out))
"""


def timed(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a whole process; return its wall seconds, CPU seconds and peak RSS."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    out, err = proc.communicate()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{err[-3000:]}")
    return {
        "seconds": wall,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "exit_code": code,
        "loadavg": os.getloadavg()[0],
        "stdout": out,
    }


def salt_score(root: Path, out: Path, cache: Path, *extra: str) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "SALT_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"}
    exe = Path(sys.executable).with_name("salt")  # the console script a user runs
    cmd = [str(exe), "score", str(root), "-o", str(out), "-q", *extra]
    res = timed(cmd, env)
    run = json.loads((out / "run.json").read_text())
    res["visits"] = run["counts"]["visits"]
    res["visits_per_s"] = res["visits"] / res["seconds"]
    res["stage_seconds"] = run["stage_seconds"]
    res["backend"] = run["backend"]
    res.pop("stdout")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--visits", type=int, default=24)
    ap.add_argument("--model", default="default")
    ap.add_argument("--memory", default="", help="visit counts for peak RSS, e.g. 100,1000")
    ap.add_argument("--cache", default="/tmp/salt-bench")
    args = ap.parse_args()

    cache = Path(args.cache)
    big = make_12mp(cache / "12mp-noisy", args.visits)
    one = cache / "one-visit"
    if not one.exists():
        shutil.copytree(big / "S000", one / "S000")
    backend_cache = cache / "backend-cache"
    shutil.rmtree(backend_cache, ignore_errors=True)
    res: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": {"cpu": cpu_description(), "cores": os.cpu_count()},
        "loadavg_start": os.getloadavg(),
        "visits": args.visits,
        "model": args.model,
        "command": "python " + " ".join(sys.argv),
    }
    model_args = ("--model", args.model)
    res["one_cold"] = salt_score(one, cache / "out-one", backend_cache, *model_args)
    res["one_warm"] = salt_score(one, cache / "out-one", backend_cache, *model_args)
    print("one visit: cold", res["one_cold"]["seconds"], "warm", res["one_warm"]["seconds"])
    res["folder"] = salt_score(big, cache / "out-folder", backend_cache, *model_args)
    print("folder", res["folder"]["visits_per_s"], "visits/s", flush=True)
    res["naive"] = timed([sys.executable, "-c", NAIVE, str(big), args.model])
    res["naive"].pop("stdout")
    res["naive"]["visits_per_s"] = args.visits / res["naive"]["seconds"]
    print("naive", res["naive"]["visits_per_s"], "visits/s", flush=True)
    res["folder_no_overlays"] = salt_score(
        big, cache / "out-plain", backend_cache, "--no-overlays", *model_args
    )
    dec = timed([sys.executable, "-c", DECODE, str(big), "256"])
    res["decode"] = json.loads(dec["stdout"].strip().splitlines()[-1])
    if args.memory:
        res["memory"] = {}
        for n in (int(x) for x in args.memory.split(",")):
            small = make_small(cache / f"small{n}", n)
            r = salt_score(small, cache / f"mem-out{n}", backend_cache, *model_args)
            res["memory"][n] = {k: r[k] for k in ("peak_rss_mb", "visits_per_s", "seconds")}
            print("memory", n, res["memory"][n], flush=True)
    res["loadavg_end"] = os.getloadavg()
    write(res)


def write(res: dict) -> None:
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "process.json").write_text(json.dumps(res, indent=2, default=str) + "\n")
    f, n, d = res["folder"], res["naive"], res["decode"]
    ratio = f["visits_per_s"] / n["visits_per_s"]
    share = d["load_photo"]["cpu_ms"] / d["cv2_full"]["cpu_ms"]
    st = f["stage_seconds"]
    v = f["visits"]
    lines = [
        f"bench_process.py  {res['date']}  model={res['model']}  ({res['command']})",
        f"{res['visits']} visits of 4 x 12 MP JPEGs (4000 x 3000); whole processes; load average "
        f"{res['loadavg_start'][0]:.1f} at start, {res['loadavg_end'][0]:.1f} at end "
        f"({res['host']['cores']} shared cores, {res['host']['cpu'] or 'CPU'})",
        f"backend {f['backend']['name']} "
        f"({f['backend']['versions'].get('openvino_precision', '')})",
        "",
        f"{'run':<34}{'seconds':>9}{'visits/s':>10}{'CPU s':>8}{'peak MB':>9}{'load':>6}",
    ]
    rows = [
        ("one visit, cold (empty cache)", res["one_cold"]),
        ("one visit, warm (cached backend)", res["one_warm"]),
        (f"salt score, {v} visits (overlays)", f),
        (f"salt score, {v} visits, --no-overlays", res["folder_no_overlays"]),
        (f"naive loop, {res['visits']} visits", n),
    ]
    for name, r in rows:
        vps = r.get("visits_per_s", r.get("visits", 1) / r["seconds"])
        lines.append(
            f"{name:<34}{r['seconds']:>9.2f}{vps:>10.2f}{r['cpu_seconds']:>8.1f}"
            f"{r['peak_rss_mb']:>9.0f}{r['loadavg']:>6.1f}"
        )
    lines += [
        "",
        f"salt score / naive loop: {ratio:.2f}x (visits/s, whole processes)",
        f"stage seconds of the {v}-visit run, summed over threads (per visit): "
        + ", ".join(f"{k} {s:.2f} ({s / v * 1000:.0f} ms)" for k, s in sorted(st.items())),
        "",
        f"decode of the {d['photos']} photos in one process, per photo (wall / CPU ms): "
        f"load_photo at 1/8 ({d['shape'][1]} x {d['shape'][0]}) "
        f"{d['load_photo']['wall_ms']:.1f} / {d['load_photo']['cpu_ms']:.1f}; bare libjpeg-turbo "
        f"at the same scale {d['libjpeg_reduced']['wall_ms']:.1f} / "
        f"{d['libjpeg_reduced']['cpu_ms']:.1f}; cv2.imread full size "
        f"{d['cv2_full']['wall_ms']:.1f} / {d['cv2_full']['cpu_ms']:.1f}",
        f"reduced decode = {share:.0%} of a full decode's CPU time",
    ]
    if "memory" in res:
        lines.append("")
        for k, m in res["memory"].items():
            lines.append(
                f"peak RSS, salt score on {k} visits of 640 x 480 JPEGs (overlays on): "
                f"{m['peak_rss_mb']:.0f} MB ({m['visits_per_s']:.1f} visits/s)"
            )
    (out / "process.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
