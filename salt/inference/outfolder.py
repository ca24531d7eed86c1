"""The output folder's writer in a run: finished visits' files, resume checks, ``run.json``.

:class:`OutputWriter` is the one writer of an output folder for local and cluster
runs alike; :func:`outputs_exist` says whether a journalled visit's files are still
there (resume); :func:`write_run_json` records a run's provenance;
:func:`warn_shared_photos` names visits that were given the same photo.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import socket
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from salt.io.outputs import visit_folder

__all__ = [
    "OutputWriter",
    "host_info",
    "outputs_exist",
    "peak_rss_mb",
    "warn_shared_photos",
    "write_run_json",
]

log = logging.getLogger(__name__)


def write_run_json(
    out: Path,
    *,
    model: Any,
    backend: Mapping[str, Any],
    cluster: Mapping[str, Any] | None,
    started: datetime,
    elapsed: float,
    counts: Mapping[str, int],
    stages: Mapping[str, float],
    arguments: Mapping[str, Any],
) -> None:
    """Write ``OUT/run.json``: arguments, versions, model, backend, host, times, counts."""
    import salt
    from salt.io.atomic import atomic_write_text

    info = {
        "salt_version": salt.__version__,
        "arguments": dict(arguments),
        "model": {
            "name": str(model.name),
            "sha256": str(model.sha256),
            "config": model.config.to_dict()
            if hasattr(model.config, "to_dict")
            else str(model.config),
        },
        "backend": dict(backend),
        "host": host_info(),
        "cluster": cluster,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(elapsed, 3),
        "visits_per_second": round(counts["visits"] / elapsed, 3) if elapsed > 0 else None,
        "counts": dict(counts),
        "stage_seconds": {k: round(v, 3) for k, v in sorted(stages.items())},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    atomic_write_text(out / "run.json", json.dumps(info, indent=2, default=str) + "\n")


def peak_rss_mb() -> float:
    """Return the peak resident memory of this process, MiB (NaN where unknown)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return math.nan
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


def host_info() -> dict[str, Any]:
    """Return the host's name, platform, Python, CPU model and cores, and GPUs."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from salt.model.backends import default_threads, gpu_names

    gpu = gpu_names()  # imports torch only where a GPU can exist
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_cores": default_threads(),
        "gpu": gpu,
    }


class OutputWriter:
    """Write finished visits: their files (atomically), then their journal line.

    The single writer of an output folder, for local and cluster runs alike: a
    visit's journal line is written only after its overlays and masks, so a visit
    in the journal always has its files.
    """

    def __init__(self, out: Path | None, journal: Any, bar: Any) -> None:
        self.out = out
        self.journal = journal
        self.bar = bar
        self.entries: list[dict[str, Any]] = []

    def __call__(self, entry: dict[str, Any], files: dict[str, bytes], reused: bool) -> None:
        """Write a finished visit's files, then append it to the journal."""
        from salt.io.atomic import atomic_write_bytes, write_error

        if self.out is not None:
            for rel, data in files.items():
                path = self.out / rel
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise write_error(path.parent, exc) from exc
                atomic_write_bytes(path, data, fsync=False)
        if self.journal is not None and not reused:
            self.journal.append([{k: v for k, v in entry.items() if k != "index"}])
        self.entries.append(entry)
        self.bar.update(1)


def outputs_exist(out: Path | None, entry: Mapping[str, Any], overlays: bool, masks: bool) -> bool:
    """Whether the files a journal entry refers to (and the run asks for) exist."""
    if out is None:
        return True
    for row in entry.get("views", []):
        rel = row.get("overlay")
        if overlays and not rel:
            return False
        if rel and not (out / rel).exists():
            return False
        mask = out / "masks" / visit_folder(str(row["subject"]), str(row["visit"]))
        if masks and not (mask / f"{row['view']}.png").exists():
            return False
    return True


def warn_shared_photos(views_df: pd.DataFrame) -> list[list[str]]:
    """Warn when one photo (same SHA256) was scored in more than one visit; return the groups.

    A copy-paste slip in a folder or manifest gives two visits the same SALT, each ``ok``:
    the visits are kept as scored, and the warning names them.
    """
    if views_df.empty or "sha256" not in views_df.columns:
        return []
    rows = views_df.dropna(subset=["sha256"])
    keys = rows["subject"].astype(str) + "/" + rows["visit"].astype(str)
    groups = []
    for digest, visits in keys.groupby(rows["sha256"]):
        names = sorted(set(visits))
        if len(names) > 1:
            groups.append(names)
            log.warning(
                "the same photo (SHA256 %s...) was scored in %d visits: %s; check that each "
                "visit has its own photos (views.csv, column sha256)",
                str(digest)[:12],
                len(names),
                ", ".join(names),
            )
    return groups
