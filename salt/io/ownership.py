"""Who an output folder belongs to: the input and model it holds results for.

A batch run records its input (the photo folder or manifest, resolved) and model in
``OUT/.salt-output.json`` (:data:`OWNER_NAME`) before it writes anything else. A
later run into the same folder:

- with the same input goes on (resume; a new model re-scores the visits);
- with another input is refused, naming the input the folder belongs to, unless
  asked to replace those results (``replace=True``, ``salt score --replace-output``):
  then the files the earlier run wrote (tables, ``run.json``, ``report.html``,
  journal, and the overlays and masks its journal lists) are removed first, so no
  row or overlay of the other input is left behind (a person's mask corrections in
  ``corrections/`` are kept: they apply only to photos with the same SHA256);
- never touches a file salt did not write: a folder that holds ``visits.csv``,
  ``run.json`` (or another name salt writes) without the record is refused.

Folders written before the record existed are recognised by their ``run.json``
(``arguments.root``), or by a journal alone (input unknown: only ``replace=True``
reuses them). Temporary files of a killed run (:data:`salt.io.atomic.TEMP_PREFIX`)
are removed by the next run (:func:`remove_temporaries`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from salt.errors import OutputError
from salt.io.atomic import TEMP_PREFIX, atomic_write_text
from salt.io.outputs import JOURNAL_NAME

__all__ = ["OUTPUT_NAMES", "OWNER_NAME", "claim_output_folder", "remove_temporaries"]

log = logging.getLogger(__name__)

#: The record of the input and model an output folder belongs to.
OWNER_NAME = ".salt-output.json"

#: Files salt writes at the top of an output folder (tables, records, the report).
_TABLES = (
    "visits.csv",
    "visits.parquet",
    "views.csv",
    "errors.csv",
    "skipped.csv",
    "run.json",
    "report.html",
    "corrections.csv",
)

#: Names salt writes at the top of an output folder (besides the record and lock).
OUTPUT_NAMES: tuple[str, ...] = (*_TABLES, JOURNAL_NAME, "overlays", "masks", "corrections")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _resolved(text: str) -> str:
    """Return an input as compared: a local path resolved, a URL as written."""
    from salt.io.storage import as_local

    local = as_local(text) if text else None
    return str(local.resolve()) if local is not None else text


def _owner(out: Path) -> dict[str, Any] | None:
    """Return the folder's record, or one made from an earlier version's ``run.json``."""
    record = _read_json(out / OWNER_NAME)
    if record is not None and "input" in record:
        return record
    run = _read_json(out / "run.json")
    if run is not None and "salt_version" in run:
        model = run.get("model") or {}
        return {
            "input": str((run.get("arguments") or {}).get("root", "")),
            "model_name": model.get("name", ""),
            "model_sha256": model.get("sha256", ""),
        }
    if (out / JOURNAL_NAME).exists():  # an earlier version's run killed before its run.json
        return {"input": "", "model_name": "", "model_sha256": ""}
    return None


def claim_output_folder(
    out: Path, *, source: str, model_name: str, model_sha256: str, replace: bool = False
) -> None:
    """Check that ``out`` may hold the results of ``source``, and record that it does.

    Parameters
    ----------
    out : Path
        The output folder (exists, locked by this run).
    source : str
        The input: a resolved local path or a URL.
    model_name, model_sha256 : str
        The model of this run.
    replace : bool, default False
        Replace the results of another input (the files salt wrote for it).

    Raises
    ------
    OutputError
        If ``out`` holds files salt did not write under the names salt writes, or
        the results of another input and ``replace`` is False.
    """
    owner = _owner(out)
    if owner is None:
        taken = [n for n in OUTPUT_NAMES if (out / n).exists()]
        if taken:
            raise OutputError(
                f"output folder {out} already holds {', '.join(taken)}, which salt did not "
                "write (no .salt-output.json or salt run.json): salt never overwrites them; "
                "choose an empty or new folder"
            )
    elif _resolved(owner["input"]) != _resolved(source):
        if not replace:
            raise OutputError(
                f"output folder {out} holds the results of "
                f"{owner['input'] or 'an earlier run whose input is not recorded'} "
                f"(model {owner.get('model_name') or '?'}), not of {source}: choose another "
                "folder, or replace those results with --replace-output"
            )
        log.warning("replacing the results of %s in %s", owner["input"], out)
        _remove_results(out)
    elif owner.get("model_sha256") and owner.get("model_sha256") != model_sha256:
        log.info(
            "%s was scored with model %s; its visits are scored again with %s",
            out,
            owner.get("model_name"),
            model_name,
        )
    record = {
        "input": source,
        "model_name": model_name,
        "model_sha256": model_sha256,
        "claimed": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_text(out / OWNER_NAME, json.dumps(record, indent=2) + "\n")


def _journal_files(out: Path) -> Iterable[Path]:
    """Overlays, sheets and masks that the journal's visits refer to."""
    try:
        lines = (out / JOURNAL_NAME).read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for line in lines:
        with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
            entry = json.loads(line)
            for row in entry.get("views", []):
                if row.get("overlay"):
                    overlay = out / row["overlay"]
                    yield overlay
                    yield overlay.parent / "sheet.jpg"
                    yield (
                        out
                        / "masks"
                        / overlay.parent.relative_to(out / "overlays")
                        / (f"{row['view']}.png")
                    )


def _remove_results(out: Path) -> None:
    """Remove what an earlier run wrote: its images (by its journal), tables and journal."""
    folders = set()
    for path in _journal_files(out):
        if out in path.resolve().parents:  # never outside the output folder
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                folders.add(path.parent)
    for name in (*_TABLES, JOURNAL_NAME, OWNER_NAME):
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder != out and folder.is_dir():  # empty folders the run made
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent


def remove_temporaries(out: Path) -> int:
    """Remove temporary files a killed run left in ``out`` (and its overlays and masks).

    Only names salt gives its temporary files are removed: :data:`TEMP_PREFIX` files,
    write probes (``.salt-write-test.*``), and the ``.<table>.*.tmp`` files of earlier
    versions.

    Returns
    -------
    int
        How many were removed.
    """
    legacy = tuple(f".{n}." for n in (*_TABLES, JOURNAL_NAME))
    removed = 0
    folders = [out, *(p for sub in ("overlays", "masks") for p in (out / sub).rglob("*"))]
    for folder in folders:
        if not folder.is_dir() or folder.is_symlink():
            continue
        with os.scandir(folder) as it:
            for entry in it:
                name = entry.name
                ours = name.startswith((TEMP_PREFIX, ".salt-write-test.")) or (
                    folder == out and name.startswith(legacy) and name.endswith(".tmp")
                )
                if ours and entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed += 1
    if removed:
        log.info("removed %d temporary files left by an interrupted run in %s", removed, out)
    return removed
