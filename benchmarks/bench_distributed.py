"""Benchmark of batch scoring on a Dask cluster against the local engine, on 12 MP JPEG visits.

Run by hand (a few minutes on the 2-core development machine)::

    python benchmarks/bench_distributed.py --visits 40 --model default

Writes ``benchmarks/results/distributed.json`` and ``distributed.txt``. All numbers
come from one run on one machine, so the ratios compare like with like:

- **local**: :func:`salt.score_folder` in one process (all cores).
- **cluster 1x1, 2x1, 1x2**: the same call with ``client=`` a ``LocalCluster`` of
  1 worker x 1 thread, 2 workers x 1 thread, 1 worker x 2 threads (loopback TCP,
  worker processes). Tables are checked equal to the local run's.
- **overheads**: cluster start, model set-up per worker (receive, check and build
  the backend), Dask's round trip per task (200 no-op tasks), client CPU seconds per
  visit (the client writes every output: its ceiling in visits/s is what one client
  can absorb from any number of machines), bytes per visit sent back to the client
  (overlays, sheets, table rows) and read by workers (photos).

The photos are those of ``bench_engine.py`` (cached in ``--cache``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_engine import make_12mp  # noqa: E402


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_local(root: Path, out: Path, model: Any, backend: str) -> dict[str, Any]:
    import salt

    shutil.rmtree(out, ignore_errors=True)
    c0, t0 = time.process_time(), time.perf_counter()
    df = salt.score_folder(root, out, model=model, backend=backend, resume=False, progress=False)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"df": df, "seconds": elapsed, "client_cpu_s": cpu, "run": _run_json(out)}


def run_cluster(
    root: Path, out: Path, model: Any, backend: str, workers: int, threads: int, chunk: int
) -> dict[str, Any]:
    import distributed

    import salt

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=threads,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        start = time.perf_counter() - t0
        # Dask's own cost per task on this machine: a round trip of trivial tasks
        t = time.perf_counter()
        client.gather(client.map(_noop, range(200), pure=False))
        per_task = (time.perf_counter() - t) / 200
        kwargs = {"model": model, "backend": backend, "resume": False, "progress": False}
        # cold: workers import salt, receive the model and build their backend
        t0 = time.perf_counter()
        salt.score_folder(root, None, client=client, chunk_visits=chunk, **kwargs)
        cold = time.perf_counter() - t0
        # warm: the same folder again on the same workers
        w0 = sum(client.run(_cpu_seconds).values())
        c0, t0 = time.process_time(), time.perf_counter()
        df = salt.score_folder(root, out, client=client, chunk_visits=chunk, **kwargs)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        workers_cpu = sum(client.run(_cpu_seconds).values()) - w0
    return {
        "df": df,
        "cold_seconds": cold,
        "seconds": elapsed,
        "client_cpu_s": cpu,
        "workers_cpu_s": workers_cpu,
        "cluster_start_s": start,
        "dask_task_round_trip_s": per_task,
        "run": _run_json(out),
    }


def _noop(x: int) -> int:
    return x


def _cpu_seconds() -> float:
    """CPU seconds (user + system, all threads) of this process so far."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _run_json(out: Path) -> dict[str, Any]:
    return json.loads((out / "run.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--visits", type=int, default=40)
    ap.add_argument("--model", default="default")
    ap.add_argument("--backend", default="openvino-fp32", help="the local engine's default")
    ap.add_argument("--chunk-visits", type=int, default=4)
    ap.add_argument("--cache", default="/tmp/salt-bench")
    args = ap.parse_args()

    from salt.model import load_model

    cache = Path(args.cache)
    root = make_12mp(cache / "12mp-noisy", args.visits)
    visits = sorted(root.iterdir())[: args.visits]
    if len(visits) < len(list(root.iterdir())):  # score exactly --visits visits
        sub = cache / f"12mp-{args.visits}"
        if not sub.exists():
            sub.mkdir(parents=True)
            for v in visits:
                (sub / v.name).symlink_to(v)
        root = sub
    model = load_model(args.model)
    load0 = os.getloadavg()[0]
    results: dict[str, dict[str, Any]] = {}
    results["local (before)"] = run_local(root, cache / "dist-local", model, args.backend)
    for workers, threads in ((1, 1), (2, 1), (1, 2)):
        name = f"cluster {workers}x{threads}"
        results[name] = run_cluster(
            root,
            cache / f"dist-{workers}x{threads}",
            model,
            args.backend,
            workers,
            threads,
            args.chunk_visits,
        )
    # the machine is shared: the local engine runs before and after the clusters
    results["local (after)"] = run_local(root, cache / "dist-local", model, args.backend)
    ref = results["local (before)"]["df"]
    pct = [f"{v}_pct" for v in ("top", "back", "left", "right")]
    n = len(ref)
    photo_bytes = sum(p.stat().st_size for v in visits for p in v.rglob("*.jpg"))
    back_bytes = folder_bytes(cache / "dist-2x1" / "overlays")
    table_bytes = sum((cache / "dist-2x1" / f).stat().st_size for f in ("visits.csv", "views.csv"))
    lines = [
        f"bench_distributed.py  {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}  "
        f"model={model.name} ({model.sha256[:16]}), backend {args.backend}, "
        f"chunk {args.chunk_visits} visits",
        "x local: visits/s over the mean of the two local runs; cluster rows are warm runs (a "
        "first, cold run on the fresh workers is in 'cold visits/s')",
        f"{n} visits of 12 MP JPEGs ({photo_bytes / n / 2**20:.1f} MiB of photos per visit); "
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}); "
        f"load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end",
        "",
        "config          visits/s  x local  s/visit  cold visits/s  client CPU s/visit  "
        "all CPU s/visit  max |d view %|",
    ]
    summary: dict[str, Any] = {"visits": n, "backend": args.backend, "configs": {}}
    local_s = results["local (before)"]["seconds"] + results["local (after)"]["seconds"]
    local_spv = local_s / (2 * n)
    base = 1 / local_spv
    local_cpu = (
        results["local (before)"]["client_cpu_s"] + results["local (after)"]["client_cpu_s"]
    ) / (2 * n)
    for name, r in results.items():
        vps = n / r["seconds"]
        diff = float((r["df"][pct] - ref[pct]).abs().max().max())
        setup = r["run"].get("cluster") or {}
        cold = f"{n / r['cold_seconds']:13.2f}" if "cold_seconds" in r else f"{'-':>13}"
        all_cpu = (r["client_cpu_s"] + r.get("workers_cpu_s", 0.0)) / n
        lines.append(
            f"{name:<15} {vps:8.2f}  {vps / base:7.2f}  {r['seconds'] / n:7.3f}  {cold}  "
            f"{r['client_cpu_s'] / n:18.3f}  {all_cpu:15.3f}  {diff:14.4f}"
        )
        summary["configs"][name] = {
            "visits_per_s": vps,
            "x_local": vps / base,
            "seconds": r["seconds"],
            "cold_seconds": r.get("cold_seconds"),
            "client_cpu_s_per_visit": r["client_cpu_s"] / n,
            "all_cpu_s_per_visit": all_cpu,
            "max_abs_diff_view_pct_vs_local": diff,
            "cluster_start_s": r.get("cluster_start_s"),
            "dask_task_round_trip_s": r.get("dask_task_round_trip_s"),
            "stage_seconds": r["run"]["stage_seconds"],
            "cluster": setup,
        }
    c21, c11 = summary["configs"]["cluster 2x1"], summary["configs"]["cluster 1x1"]
    c12 = summary["configs"]["cluster 1x2"]
    client_ceiling = 1 / max(c21["client_cpu_s_per_visit"], 1e-9)
    lines += [
        "",
        f"2 workers vs 1 worker (1 thread each): {c21['visits_per_s'] / c11['visits_per_s']:.2f}x",
        f"overhead per visit, cluster 1x2 vs local (mean of before and after) on the same cores: "
        f"{(c12['seconds'] / n - local_spv) * 1000:+.0f} ms "
        f"({c12['seconds'] / n * 1000:.0f} vs {local_spv * 1000:.0f} ms per visit)",
        f"first run on fresh workers (imports, model, backend) took "
        f"{c21['cold_seconds'] - c21['seconds']:+.1f} s more than the warm run (2x1); model "
        f"set-up per worker: "
        + ", ".join(
            f"{v:.2f} s" for v in c21["cluster"].get("model_setup_seconds_by_worker", {}).values()
        ),
        f"CPU per visit, client + workers (cluster 2x1) vs local: "
        f"{c21['all_cpu_s_per_visit']:.3f} vs {local_cpu:.3f} s "
        f"({c21['all_cpu_s_per_visit'] / local_cpu:.2f}x)",
        f"cluster start (2 worker processes): {c21['cluster_start_s']:.1f} s; Dask round trip "
        f"per task: {c21['dask_task_round_trip_s'] * 1000:.1f} ms "
        f"= {c21['dask_task_round_trip_s'] * 1000 / args.chunk_visits:.1f} ms per visit "
        f"at {args.chunk_visits} visits per task",
        f"sent back to the client per visit: {back_bytes / n / 1024:.0f} KiB of overlays and "
        f"sheets + {table_bytes / n / 1024:.1f} KiB of table rows; read by workers per visit: "
        f"{photo_bytes / n / 2**20:.1f} MiB of photos",
        f"client CPU per visit (cluster 2x1): {c21['client_cpu_s_per_visit'] * 1000:.0f} ms -> one "
        f"client absorbs at most ~{client_ceiling:.0f} visits/s",
    ]
    summary.update(
        local_seconds_per_visit=local_spv,
        client_ceiling_visits_per_s=client_ceiling,
        photo_bytes_per_visit=photo_bytes / n,
        returned_bytes_per_visit=(back_bytes + table_bytes) / n,
    )
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "distributed.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    text = "\n".join(lines) + "\n"
    (out_dir / "distributed.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
