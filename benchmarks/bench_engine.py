"""Benchmark of the batch engine against the naive loop, on 12 MP JPEG visits.

Run by hand (a few minutes on the 2-core development machine)::

    python benchmarks/bench_engine.py            # 50 visits, all backends
    python benchmarks/bench_engine.py --visits 60 --naive-visits 12 --model default

Writes ``benchmarks/results/engine.json`` and ``engine.txt``. Every number is measured in
the same run, each configuration in its own subprocess (so peak RSS is per
configuration):

- **naive**: the loop a user would write: ``cv2.imread`` at full resolution, one photo
  at a time, ``SaltModel.predict`` (eager PyTorch float32), per-view % and SALT.
- **engine / <backend>**: :func:`salt.score_folder` with overlays, for each backend.
- **roofline**: GFLOP/s of a large 3x3 convolution (float32 and bfloat16 autocast) in
  PyTorch on this CPU; the engine's network GFLOP/s (FLOPs of the network per photo x
  photos/s) is reported as a fraction of it.
- **memory**: peak RSS of the engine on 100 and 1,000 visits of small JPEGs.
- **bf16 accuracy**: largest change in per-view % and SALT between the float32 and the
  reduced-precision backends on the 12 MP visits.

The 12 MP visits are synthetic (:func:`salt.synth.render_visit` at 384 px, upscaled to
4000 x 3000, with +-6 levels of noise so the files weigh what phone photos do, saved
as JPEG quality 90), cached in ``--cache``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
VIEWS = ("top", "back", "left", "right")


def cpu_description() -> str:
    """CPU model and the vector extensions that decide convolution speed (Linux /proc/cpuinfo).

    The numbers of these benchmarks depend on them: a CPU with AMX or AVX-512 BF16 runs
    the bf16 backends several times faster than one with AVX2 only.
    """
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    model = next(
        (ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), ""
    )
    flags = next(
        (ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), []
    )
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16")
    return f"{model or 'unknown CPU'} ({' '.join(f for f in wanted if f in flags) or 'no AVX2'})"


# ----------------------------------------------------------------------------- data
def make_12mp(root: Path, n: int) -> Path:
    from salt.synth import render_visit

    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        d = root / f"S{i:03d}" / "v1"
        if all((d / f"{v}.jpg").exists() for v in VIEWS):
            continue
        d.mkdir(parents=True, exist_ok=True)
        visit = render_visit(1000 + i, size=384)
        rng = np.random.default_rng(i)
        for v in VIEWS:
            big = cv2.resize(visit.photos[v], (4000, 3000), interpolation=cv2.INTER_LINEAR)
            # sensor-like noise, so the files are the size of phone photos (about 3-5 MB)
            noise = rng.integers(-6, 7, size=(3000, 4000, 1), dtype=np.int16)
            big = np.clip(big.astype(np.int16) + noise, 0, 255).astype(np.uint8)
            cv2.imwrite(
                str(d / f"{v}.jpg"),
                cv2.cvtColor(big, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 90],
            )
    return root


def make_small(root: Path, n: int) -> Path:
    """n visits of 640 x 480 JPEGs (smooth random pictures, all different)."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        d = root / f"S{i:04d}" / "v1"
        if all((d / f"{v}.jpg").exists() for v in VIEWS):
            continue
        d.mkdir(parents=True, exist_ok=True)
        for v in VIEWS:
            small = rng.integers(0, 256, size=(6, 8, 3)).astype(np.uint8)
            img = cv2.resize(small, (640, 480), interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(d / f"{v}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return root


# ----------------------------------------------------------------------------- children
def get_model(name: str):
    from salt.model import ModelConfig, load_model, random_model

    if name == "random":
        return random_model(ModelConfig(), seed=0)
    return load_model(name)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_naive(root: Path, model_name: str, n_visits: int) -> dict:
    import torch

    from salt.scoring import salt_score, view_loss_percent

    torch.set_num_threads(os.cpu_count() or 1)
    model = get_model(model_name)
    visits = sorted(p for p in root.glob("*/*") if p.is_dir())[:n_visits]
    stages = {"decode": 0.0, "infer": 0.0, "score": 0.0}
    c0 = time.process_time()
    t0 = time.perf_counter()
    for d in visits:
        pct = {}
        for v in VIEWS:
            t = time.perf_counter()
            bgr = cv2.imread(str(d / f"{v}.jpg"))
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            stages["decode"] += time.perf_counter() - t
            t = time.perf_counter()
            cmap = model.predict([rgb])[0]
            stages["infer"] += time.perf_counter() - t
            t = time.perf_counter()
            scalp = cmap >= 1
            pct[v] = view_loss_percent(scalp, cmap == 2) if scalp.any() else 0.0
            stages["score"] += time.perf_counter() - t
        salt_score(pct)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {
        "visits": len(visits),
        "seconds": elapsed,
        "visits_per_s": len(visits) / elapsed,
        "cpu_s_per_visit": cpu / len(visits),
        "loadavg": os.getloadavg()[0],
        "stage_seconds": stages,
        "peak_rss_mb": peak_rss_mb(),
    }


def child_engine(
    root: Path, out: Path, model_name: str, backend: str, batch_size: int, overlays: bool
) -> dict:
    import shutil

    import salt

    shutil.rmtree(out, ignore_errors=True)
    model = get_model(model_name)
    c0 = time.process_time()
    t0 = time.perf_counter()
    df = salt.score_folder(
        root,
        out,
        model=model,
        backend=backend,
        batch_size=batch_size or None,
        overlays=overlays,
        resume=False,
        progress=False,
    )
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    info = json.loads((out / "run.json").read_text())
    return {
        "visits": len(df),
        "seconds": elapsed,
        "visits_per_s": len(df) / elapsed,
        "cpu_s_per_visit": cpu / len(df),
        "loadavg": os.getloadavg()[0],
        "stage_seconds": info["stage_seconds"],
        "backend": info["backend"],
        "model": info["model"]["name"] + " " + info["model"]["sha256"][:16],
        "peak_rss_mb": peak_rss_mb(),
        "statuses": df["status"].value_counts().to_dict(),
    }


def child_roofline(model_name: str) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    torch.set_num_threads(os.cpu_count() or 1)
    x = torch.randn(8, 256, 64, 64)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).eval()
    flops = 2 * 8 * 256 * 256 * 9 * 64 * 64
    out = {}
    with torch.inference_mode():
        for name, ctx in (("fp32", None), ("bf16", torch.bfloat16)):
            xx = x.contiguous(memory_format=torch.channels_last)
            cc = conv.to(memory_format=torch.channels_last)

            def run(cc=cc, xx=xx, ctx=ctx):
                if ctx is None:
                    return cc(xx)
                with torch.autocast("cpu", dtype=ctx):
                    return cc(xx)

            run()
            best = float("inf")
            for _ in range(5):
                t = time.perf_counter()
                run()
                best = min(best, time.perf_counter() - t)
            out[f"conv_gflops_{name}"] = flops / best / 1e9
        model = get_model(model_name)
        with FlopCounterMode(display=False) as fc:
            model.network(torch.zeros(1, 3, model.input_size, model.input_size))
        out["network_gflop_per_photo"] = fc.get_total_flops() / 1e9
    return out


def child_compare(outs: list[str]) -> dict:
    import pandas as pd

    tables = {
        Path(o).name: pd.read_csv(Path(o) / "visits.csv").set_index(["subject", "visit"])
        for o in outs
    }
    ref = tables.pop("engine-torch")
    res = {}
    for name, t in tables.items():
        cols = [f"{v}_pct" for v in VIEWS]
        d_view = float(np.nanmax(np.abs(t[cols].to_numpy() - ref[cols].to_numpy())))
        d_salt = float(np.nanmax(np.abs(t["salt"].to_numpy() - ref["salt"].to_numpy())))
        res[name] = {"max_abs_view_pct_diff": d_view, "max_abs_salt_diff": d_salt}
    return res


def run_child(args: list[str]) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--visits", type=int, default=50)
    ap.add_argument("--naive-visits", type=int, default=10)
    ap.add_argument(
        "--model", default="random", help="'random' (default architecture) or a model name"
    )
    ap.add_argument("--backends", default="torch,torch-bf16,onnxruntime,openvino-fp32,openvino")
    ap.add_argument(
        "--batch-size", type=int, default=0, help="photos per network call (0: engine default)"
    )
    ap.add_argument(
        "--memory", default="100,1000", help="visit counts for the peak-RSS test ('' to skip)"
    )
    ap.add_argument("--cache", default="/tmp/salt-bench")
    ap.add_argument("--child", nargs=argparse.REMAINDER)
    args = ap.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "naive":
            res = child_naive(Path(rest[0]), rest[1], int(rest[2]))
        elif kind == "engine":
            res = child_engine(
                Path(rest[0]), Path(rest[1]), rest[2], rest[3], int(rest[4]), rest[5] == "1"
            )
        elif kind == "roofline":
            res = child_roofline(rest[0])
        elif kind == "compare":
            res = child_compare(rest)
        else:
            raise SystemExit(f"unknown child {kind}")
        print(json.dumps(res))
        return

    cache = Path(args.cache)
    t = time.perf_counter()
    big = make_12mp(cache / "12mp-noisy", args.visits)
    print(f"12 MP folder ready ({time.perf_counter() - t:.0f} s)", flush=True)
    results: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": {
            "cpu": cpu_description(),
            "cores": os.cpu_count(),
            "loadavg_start": os.getloadavg(),
        },
        "model": args.model,
        "visits": args.visits,
        "batch_size": args.batch_size,
    }
    results["roofline"] = run_child(["roofline", args.model])
    print("roofline", results["roofline"], flush=True)
    naive_args = ["naive", str(big), args.model, str(args.naive_visits)]
    naive_runs = [run_child(naive_args)]
    print("naive", naive_runs[0], flush=True)
    results["engine"] = {}
    outs = []
    for b in args.backends.split(","):
        out = cache / f"engine-{b}"
        results["engine"][b] = run_child(
            ["engine", str(big), str(out), args.model, b, str(args.batch_size), "1"]
        )
        outs.append(str(out))
        print(b, results["engine"][b], flush=True)
    naive_runs.append(run_child(naive_args))  # again after the engines: the load drifts
    print("naive", naive_runs[1], flush=True)
    results["naive_runs"] = naive_runs
    results["naive"] = {
        "visits": sum(r["visits"] for r in naive_runs),
        "seconds": sum(r["seconds"] for r in naive_runs),
        "visits_per_s": sum(r["visits"] for r in naive_runs)
        / sum(r["seconds"] for r in naive_runs),
        "cpu_s_per_visit": float(np.mean([r["cpu_s_per_visit"] for r in naive_runs])),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in naive_runs),
        "stage_seconds": {
            k: sum(r["stage_seconds"][k] for r in naive_runs)
            for k in naive_runs[0]["stage_seconds"]
        },
    }
    if "torch" in args.backends.split(","):
        results["precision"] = run_child(["compare", *outs])
    gflop = results["roofline"]["network_gflop_per_photo"]
    for r in results["engine"].values():
        r["ratio_to_naive"] = r["visits_per_s"] / results["naive"]["visits_per_s"]
        r["cpu_ratio_to_naive"] = results["naive"]["cpu_s_per_visit"] / r["cpu_s_per_visit"]
        net_gflops = 4 * r["visits_per_s"] * gflop
        roof = results["roofline"][
            "conv_gflops_bf16"
            if r["backend"]["name"] in ("torch-bf16", "openvino")
            else "conv_gflops_fp32"
        ]
        r["network_gflops"] = net_gflops
        r["fraction_of_conv_roofline"] = net_gflops / roof
        infer_s = r["stage_seconds"].get("infer", float("nan"))
        r["infer_only_fraction_of_roofline"] = 4 * r["visits"] * gflop / infer_s / roof
    if args.memory:
        results["memory"] = {}
        for n in (int(x) for x in args.memory.split(",")):
            small = make_small(cache / f"small{n}", n)
            r = run_child(
                [
                    "engine",
                    str(small),
                    str(cache / f"mem-out{n}"),
                    args.model,
                    "openvino",
                    str(args.batch_size),
                    "0",
                ]
            )
            results["memory"][n] = {
                "peak_rss_mb": r["peak_rss_mb"],
                "visits_per_s": r["visits_per_s"],
            }
            print("memory", n, results["memory"][n], flush=True)
    results["host"]["loadavg_end"] = os.getloadavg()
    res_dir = HERE / "results"
    res_dir.mkdir(exist_ok=True)
    (res_dir / "engine.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    load = results["host"]
    naive = results["naive"]
    model_id = next(iter(results["engine"].values()))["model"] if results["engine"] else ""
    load = results["host"]
    naive = results["naive"]
    lines = [
        f"bench_engine.py  {results['date']}  model={args.model} ({model_id})",
        f"{args.visits} visits of 12 MP JPEGs, batch {args.batch_size or 'default'}; load average "
        f"{load['loadavg_start'][0]:.1f} at start, {load['loadavg_end'][0]:.1f} at end "
        f"({os.cpu_count()} cores; {load['cpu']})",
        f"conv roofline: fp32 {results['roofline']['conv_gflops_fp32']:.0f} GFLOP/s, "
        f"bf16 {results['roofline']['conv_gflops_bf16']:.0f} GFLOP/s; "
        f"network {gflop:.2f} GFLOP/photo",
        "",
        f"{'config':<22}{'visits/s':>9}{'x naive':>8}{'CPU s/v':>8}{'x naive':>8}"
        f"{'roof':>7}{'infer':>7}{'RSS MB':>7}{'load':>6}",
        f"{'naive (' + str(naive['visits']) + ' visits)':<22}{naive['visits_per_s']:>9.2f}"
        f"{1:>8.2f}{naive['cpu_s_per_visit']:>8.2f}{1:>8.2f}{'':>7}{'':>7}"
        f"{naive['peak_rss_mb']:>7.0f}"
        + "".join(f"{r['loadavg']:>6.1f}" for r in results["naive_runs"][:1]),
    ]
    for b, r in results["engine"].items():
        lines.append(
            f"{'engine ' + b:<22}{r['visits_per_s']:>9.2f}{r['ratio_to_naive']:>8.2f}"
            f"{r['cpu_s_per_visit']:>8.2f}{r['cpu_ratio_to_naive']:>8.2f}"
            f"{r['fraction_of_conv_roofline']:>7.1%}{r['infer_only_fraction_of_roofline']:>7.1%}"
            f"{r['peak_rss_mb']:>7.0f}{r['loadavg']:>6.1f}"
        )
    lines += [
        "",
        "x naive: visits/s ratio (wall clock); CPU s/v: CPU seconds per visit, all threads",
        "(less sensitive to the load); roof: network GFLOP/s over the run / conv roofline",
        "(bf16 one for bf16 backends); infer: the same during the inference stage only;",
        "load: 1-min load average when the configuration finished. Naive: mean of a run",
        "before and one after the engines.",
        "",
        "stage seconds, summed over threads (wall time, so inflated by the load):",
        "  naive: " + ", ".join(f"{k} {v:.1f}" for k, v in naive["stage_seconds"].items()),
    ]
    stages = ("backend_setup", "decode", "preprocess", "infer", "score", "overlays", "journal")
    for b, r in results["engine"].items():
        st = r["stage_seconds"]
        lines.append(f"  {b}: " + ", ".join(f"{k} {st[k]:.1f}" for k in stages if k in st))
    if "precision" in results:
        lines.append("")
        for b, p in results["precision"].items():
            lines.append(
                f"vs torch fp32, {b}: max |d view %| {p['max_abs_view_pct_diff']:.3f}, "
                f"max |d SALT| {p['max_abs_salt_diff']:.3f}"
            )
    if "memory" in results:
        lines.append("")
        for n, m in results["memory"].items():
            lines.append(
                f"peak RSS, {n} visits of 640x480 JPEGs (openvino, no overlays): "
                f"{m['peak_rss_mb']:.0f} MB ({m['visits_per_s']:.1f} visits/s)"
            )
    (res_dir / "engine.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
