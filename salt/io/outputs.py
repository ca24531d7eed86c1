"""The output folder of a batch run: atomic writes, the lock, the journal and the tables.

Layout of an output folder ``OUT`` (see README "Batch scoring"):

- ``visits.csv`` / ``visits.parquet``: one row per visit (:data:`VISIT_COLUMNS`).
- ``views.csv``: one row per photo (:data:`VIEW_COLUMNS` then one column per quality flag).
- ``errors.csv``: one row per problem (:data:`ERROR_COLUMNS`).
- ``skipped.csv``: one row per entry under the input that is not a photo of a visit
  (:data:`SKIPPED_COLUMNS`).
- ``overlays/<subject>/<visit>/``: per-photo overlays and one 2x2 sheet per visit
  (JPEG); names made safe for paths by :func:`visit_folder`.
- ``masks/<subject>/<visit>/``: class maps as palette PNGs (optional, :func:`encode_mask_png`).
- ``run.json``: provenance of the last run.
- ``.salt-output.json``: the input and model the folder belongs to (:mod:`salt.io.ownership`).
- ``.salt-journal.jsonl``: one JSON line per finished visit, appended as visits finish,
  read back to resume a run; the tables are written from it at the end of a run.
- ``.salt.lock``: held (``flock``) while a run writes the folder.

Every file except the journal is written to a temporary file in the same folder and
renamed over the target, so a killed run never leaves half a file. The journal is
append-only; a torn last line (a run killed mid-write) is ignored when it is read.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from salt.errors import OutputError
from salt.io.atomic import atomic_write, atomic_write_bytes, atomic_write_text, write_error
from salt.io.csvsafe import write_csv
from salt.io.folders import natural_key
from salt.views import VIEWS

__all__ = [
    "ERROR_COLUMNS",
    "JOURNAL_NAME",
    "LOCK_NAME",
    "SKIPPED_COLUMNS",
    "VIEW_COLUMNS",
    "VISIT_COLUMNS",
    "Journal",
    "OutputLock",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_folder",
    "encode_mask_png",
    "safe_name",
    "visit_folder",
    "write_tables",
]

log = logging.getLogger(__name__)

JOURNAL_NAME = ".salt-journal.jsonl"
LOCK_NAME = ".salt.lock"

#: Columns of ``visits.csv``, in order. Per-view percentages are ``<view>_pct``.
VISIT_COLUMNS: tuple[str, ...] = (
    "subject",
    "visit",
    *(f"{v}_pct" for v in VIEWS),
    "salt",
    "band",
    "aa_iga",
    "status",
    "views_missing",
    "message",
    "quality_flags",
    "model_name",
    "model_sha256",
    "visit_key",
)

#: Leading columns of ``views.csv``; quality-flag columns ``q_<name>`` follow.
VIEW_COLUMNS: tuple[str, ...] = (
    "subject",
    "visit",
    "view",
    "path",
    "sha256",
    "loss_pct",
    "confidence",
    "scalp_pixels",
    "hairless_pixels",
    "mask_pixels",
    "width",
    "height",
    "decoded_width",
    "decoded_height",
    "orientation",
    "overlay",
    "quality_flags",
)

#: Columns of ``errors.csv``.
ERROR_COLUMNS: tuple[str, ...] = ("file", "subject", "visit", "view", "error_type", "message")

#: Columns of ``skipped.csv``.
SKIPPED_COLUMNS: tuple[str, ...] = ("path", "reason")

#: Colours of the mask classes in a palette PNG (0 not scalp: black, 1 hair: green,
#: 2 hairless scalp: red, 255 unknown: grey); pixel values stay 0/1/2.
MASK_PALETTE: tuple[tuple[int, int, int], ...] = ((0, 0, 0), (40, 170, 60), (220, 40, 40))

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|%]')


def safe_name(name: str) -> str:
    r"""Make a subject or visit name safe as one path component, without collisions.

    Characters that paths cannot hold or that change a path's meaning (``/``, ``\``,
    control characters, ``:*?"<>|``) and ``%`` itself are percent-encoded, as is a
    leading ``.`` (so ``..`` cannot climb and names are not hidden); different names
    stay different. An empty name becomes ``%`` (which no other name gives).

    Examples
    --------
    >>> safe_name("P012"), safe_name(".."), safe_name("a/b"), safe_name("50%")
    ('P012', '%2E.', 'a%2Fb', '50%25')
    """
    if not name:
        return "%"
    text = _UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", name)
    return "%2E" + text[1:] if text.startswith(".") else text


def visit_folder(subject: str, visit: str) -> str:
    """Return the folder of a visit's overlays and masks: ``<subject>/<visit>`` (POSIX)."""
    return f"{safe_name(subject)}/{safe_name(visit)}"


def encode_mask_png(class_map: npt.ArrayLike) -> bytes:
    """Encode a class map as a palette PNG: values kept, classes coloured in a viewer.

    Parameters
    ----------
    class_map : ndarray of uint8, shape (H, W)
        0 not scalp, 1 hair, 2 hairless scalp (255 unknown).

    Returns
    -------
    bytes
        PNG bytes; ``numpy.asarray(PIL.Image.open(...))`` gives ``class_map`` back.
    """
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(class_map, dtype=np.uint8))  # mode L
    palette = [c for rgb in MASK_PALETTE for c in rgb]
    palette += [128] * (768 - len(palette))
    image.putpalette(palette)  # L -> P: the values become palette indices
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def check_output_folder(
    out: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    *,
    allow_inside_input: bool = False,
) -> Path:
    """Create the output folder and prove it can be written, before any work starts.

    Parameters
    ----------
    out : path-like
        The output folder (created with its parents if missing).
    root : path-like, optional
        The input folder; ``out`` may not be it or lie inside it unless
        ``allow_inside_input``.
    allow_inside_input : bool, default False
        Allow ``out`` inside ``root``.

    Returns
    -------
    Path
        ``out``, resolved.

    Raises
    ------
    OutputError
        If ``out`` lies inside the input folder, is a file, or cannot be created or written.
    """
    out_path = Path(out).expanduser().resolve()
    if root is not None and not allow_inside_input:
        root_path = Path(root).expanduser().resolve()
        if out_path == root_path or root_path in out_path.parents:
            raise OutputError(
                f"output folder {out_path} is inside the input folder {root_path}: choose a folder "
                "outside it (or allow it explicitly with --allow-inside-input)"
            )
    if out_path.exists() and not out_path.is_dir():
        raise OutputError(f"output path {out_path} exists and is not a folder")
    try:
        out_path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".salt-write-test.", dir=out_path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(
            f"cannot write to the output folder {out_path}: {exc.strerror or exc}; "
            "choose a folder you can write"
        ) from None
    return out_path


class OutputLock:
    """An exclusive lock on an output folder, held while a run writes it.

    Uses ``flock`` on ``OUT/.salt.lock``, so the lock dies with its process
    (a killed run leaves no stale lock behind). The file records the holder's
    process id, host and start time for the error message.

    Parameters
    ----------
    folder : path-like
        The output folder.

    Raises
    ------
    OutputError
        From :meth:`acquire` if another run holds the lock.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> OutputLock:
        """Take the lock or raise :class:`OutputError` naming the run that holds it."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)  # less the umask
        except OSError as exc:
            raise write_error(self.path, exc) from exc
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                try:
                    holder = os.read(fd, 500).decode("utf-8", "replace").strip()
                finally:
                    os.close(fd)
                raise OutputError(
                    f"output folder {self.path.parent} is in use by another salt run "
                    f"({holder or 'unknown holder'}); wait for it to finish or choose another "
                    "folder"
                ) from None
        os.ftruncate(fd, 0)
        since = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        info = f"pid {os.getpid()} on {socket.gethostname()} since {since}"
        os.write(fd, info.encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Release the lock (the lock file stays, empty)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _clean(value: Any) -> Any:
    """Make a value JSON-safe: NaN -> None, numpy scalars -> Python."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Journal:
    """Append-only record of finished visits in ``OUT/.salt-journal.jsonl``.

    Each line is one JSON object ``{"key", "visit_id", "visit", "views", "errors"}``:
    ``visit`` is a row of ``visits.csv``, ``views`` and ``errors`` lists of rows of
    ``views.csv`` and ``errors.csv``. A later line for the same ``visit_id`` replaces
    an earlier one. A line that does not parse (a run killed while writing it) is
    dropped when the journal is read.

    Parameters
    ----------
    folder : path-like
        The output folder.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / JOURNAL_NAME
        self._fh: IO[str] | None = None
        self._lock = threading.Lock()
        self._synced = 0.0
        #: Longest time, seconds, between two ``fsync`` of the journal.
        self.fsync_seconds = 2.0

    def read(self) -> dict[str, dict[str, Any]]:
        """Finished visits, keyed by visit id (``subject/visit``); the last line wins."""
        entries: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return entries
        with open(self.path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.endswith("\n"):
                    log.warning("journal %s: ignoring a torn last line %d", self.path, n)
                    break
                try:
                    entry = json.loads(line)
                    entries[str(entry["visit_id"])] = entry
                except (json.JSONDecodeError, KeyError, TypeError):
                    log.warning("journal %s: ignoring unreadable line %d", self.path, n)
        return entries

    def rewrite(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Replace the journal atomically by ``entries`` (drops stale and torn lines)."""
        self.close()
        with atomic_write(self.path, "w") as fh:
            for entry in entries:
                fh.write(_dumps(entry))

    def append(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Append finished visits; thread-safe.

        Each call hands its lines to the operating system at once (so a killed
        process loses nothing appended), and ``fsync`` runs at most every
        :attr:`fsync_seconds` and on :meth:`close` (so a power cut loses at most
        that much work).
        """
        text = "".join(_dumps(e) for e in entries)
        if not text:
            return
        with self._lock:
            try:
                if self._fh is None:
                    self._fh = open(self.path, "a", encoding="utf-8", newline="")
                self._fh.write(text)
                self._fh.flush()
                now = time.monotonic()
                if now - self._synced >= self.fsync_seconds:
                    os.fsync(self._fh.fileno())
                    self._synced = now
            except OSError as exc:  # disk full: the lines already written stay readable
                raise write_error(self.path, exc) from exc

    def close(self) -> None:
        """Flush the journal to disk and close it."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None


def _dumps(entry: Mapping[str, Any]) -> str:
    def clean_rows(rows: Any) -> Any:
        if isinstance(rows, Mapping):
            return {k: _clean(v) for k, v in rows.items()}
        return [{k: _clean(v) for k, v in r.items()} for r in rows]

    obj = {k: (clean_rows(v) if k in ("visit", "views", "errors") else v) for k, v in entry.items()}
    return json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n"


def _frame(
    rows: list[Mapping[str, Any]], columns: tuple[str, ...], extra_prefix: str | None = None
) -> pd.DataFrame:
    df = pd.DataFrame(list(rows))
    cols = list(columns)
    if extra_prefix is not None:
        cols += sorted(c for c in df.columns if c.startswith(extra_prefix) and c not in cols)
    for c in cols:
        if c not in df.columns:
            df[c] = pd.Series(dtype="object")
    return df[cols]


def _natural(column: pd.Series) -> pd.Series:
    """Sort subjects and visits as :func:`salt.discover_visits` does (week2 before week10)."""
    if column.name in ("subject", "visit"):
        return column.map(lambda v: natural_key(v) if isinstance(v, str) else ((2, ""),))
    return column


def _photo_flags(row: Mapping[str, Any]) -> list[str]:
    """Return the quality flags set on a photo (its ``q_<flag>`` is True; flags of salt.quality)."""
    from salt.quality import FLAG_NAMES

    def is_set(value: Any) -> bool:
        return isinstance(value, bool | np.bool_) and bool(value)

    return [f for f in FLAG_NAMES if is_set(row.get(f"q_{f}"))]


def tables_from_entries(
    entries: Iterable[Mapping[str, Any]], extra_errors: Iterable[Mapping[str, Any]] = ()
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Build the visits, views and errors tables from journal entries.

    Rows are sorted by subject and visit (views by view order), so the tables do not
    depend on the order in which visits finished. ``quality_flags`` lists the flags
    set on each photo (``views``) and on each visit's photos (``visits``,
    ``"top: blurry; back: overexposed"``).
    """
    visits: list[Mapping[str, Any]] = []
    views: list[Mapping[str, Any]] = []
    errors: list[Mapping[str, Any]] = list(extra_errors)
    for e in entries:
        per_view = []
        for row in e["views"]:
            flags = _photo_flags(row)
            views.append({**row, "quality_flags": ", ".join(flags)})
            if flags:
                per_view.append(f"{row['view']}: {', '.join(flags)}")
        visits.append({**e["visit"], "quality_flags": "; ".join(per_view)})
        errors.extend(e["errors"])
    vdf = _frame(visits, VISIT_COLUMNS)
    for c in (*(f"{v}_pct" for v in VIEWS), "salt"):
        vdf[c] = pd.to_numeric(vdf[c], errors="coerce").astype("float64")
    vdf["aa_iga"] = pd.to_numeric(vdf["aa_iga"], errors="coerce").astype("Int64")
    for c in (
        "subject",
        "visit",
        "band",
        "status",
        "views_missing",
        "message",
        "quality_flags",
        "model_name",
        "model_sha256",
    ):
        vdf[c] = vdf[c].astype("string")
    vdf = vdf.sort_values(["subject", "visit"], kind="stable", key=_natural).reset_index(drop=True)
    wdf = _frame(views, VIEW_COLUMNS, extra_prefix="q_")
    order = {v: i for i, v in enumerate(VIEWS)}
    if len(wdf):
        wdf = (
            wdf.assign(_o=wdf["view"].map(order))
            .sort_values(["subject", "visit", "_o", "path"], kind="stable", key=_natural)
            .drop(columns="_o")
            .reset_index(drop=True)
        )
    edf = _frame(errors, ERROR_COLUMNS)
    if len(edf):
        edf = edf.sort_values(
            ["subject", "visit", "file", "error_type"],
            kind="stable",
            na_position="first",
            key=_natural,
        )
        edf = edf.reset_index(drop=True)
    return vdf, wdf, edf


def write_tables(
    folder: str | os.PathLike[str],
    visits: pd.DataFrame,
    views: pd.DataFrame,
    errors: pd.DataFrame,
    skipped: pd.DataFrame | None = None,
    *,
    parquet: bool = True,
    on_write: Callable[[str], None] | None = None,
) -> None:
    """Write ``visits.csv`` (+ ``.parquet``), ``views.csv``, ``errors.csv`` and ``skipped.csv``.

    Each atomically. CSV cells are escaped against formula injection
    (:mod:`salt.io.csvsafe`); the Parquet file keeps the raw values. ``skipped``
    (columns :data:`SKIPPED_COLUMNS`) defaults to an empty table.
    """
    out = Path(folder)
    if skipped is None:
        skipped = pd.DataFrame(columns=list(SKIPPED_COLUMNS))
    tables = (
        ("visits.csv", visits),
        ("views.csv", views),
        ("errors.csv", errors),
        ("skipped.csv", skipped),
    )
    for name, df in tables:
        write_csv(out / name, df)
        if on_write:
            on_write(name)
    if parquet:
        with atomic_write(out / "visits.parquet", "wb") as fh:
            visits.to_parquet(fh, index=False)
        if on_write:
            on_write("visits.parquet")
