"""Per-view percentages, SALT, status and quality flags of a visit, from its class maps.

:func:`measure_visit` is the one step from class maps to a
:class:`salt.results.VisitResult`, used by the pipeline's writer stage, by
:func:`salt.score_visit` and by evaluation; :func:`error_row` builds the rows of
``errors.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salt.classmap import view_confidence, view_percent, view_pixels
from salt.errors import BadValueError, DuplicateViewError, EmptyScalpError, MissingViewError
from salt.results import (
    REVIEW_CONFIDENCE,
    ViewResult,
    VisitResult,
    partial_salt,
    visit_status,
)
from salt.scoring import aa_iga, salt_score, severity_band
from salt.views import VIEWS

__all__ = ["error_row", "measure_visit", "quality", "quality_thresholds"]


def error_row(
    exc: BaseException | str,
    *,
    file: str = "",
    subject: str = "",
    visit: str = "",
    view: str = "",
    error_type: str | None = None,
) -> dict[str, str]:
    """Build a row of ``errors.csv`` for an exception or a message."""
    return {
        "file": file,
        "subject": subject,
        "visit": visit,
        "view": view,
        "error_type": error_type or type(exc).__name__,
        "message": str(exc),
    }


def quality(
    rgb: npt.NDArray[np.uint8],
    class_map: npt.NDArray[np.uint8],
    view: str,
    thresholds: Mapping[str, Any] | None,
) -> dict[str, float | bool]:
    """Quality measures and flags of one photo (:func:`salt.quality.quality_flags`)."""
    try:
        from salt.quality import quality_flags
    except ImportError:  # the quality module is optional
        return {}
    return dict(quality_flags(rgb, class_map, view, thresholds=quality_thresholds(thresholds)))


def quality_thresholds(thresholds: Any) -> Any:
    """Build QualityThresholds from a mapping of some of its fields (others pass through)."""
    if not isinstance(thresholds, Mapping):
        return thresholds
    from salt.quality import QualityThresholds

    try:
        return QualityThresholds(**thresholds)
    except TypeError as exc:
        raise BadValueError(f"bad quality thresholds {dict(thresholds)}: {exc}") from None


def _same_photo_errors(photos: Mapping[str, Any], subject: str, visit: str) -> list[dict[str, str]]:
    """Error rows for one photo (equal SHA256) used for two or more views."""
    by_hash: dict[str, list[str]] = {}
    for view in VIEWS:
        if view in photos:
            by_hash.setdefault(photos[view].sha256, []).append(view)
    rows = []
    for same in by_hash.values():
        if len(same) > 1:
            files = ", ".join(f"{v!r} ({photos[v].path})" for v in same)
            exc = DuplicateViewError(
                f"visit {subject}/{visit}: the same photo (identical content) is used for "
                f"the views {files}; give each view its own photo"
            )
            rows.append(
                error_row(
                    exc,
                    file=photos[same[0]].path,
                    subject=subject,
                    visit=visit,
                    view=",".join(same),
                )
            )
    return rows


def _measure_view(
    view: str,
    photo: Any,
    cmap: npt.NDArray[np.uint8],
    thresholds: Any,
    keep_mask: bool,
    unsure: npt.NDArray[np.bool_] | None = None,
) -> ViewResult:
    """Measure one photo: its loss % (:func:`salt.classmap.view_percent`) and quality flags."""
    n_scalp, n_bald = view_pixels(cmap)
    return ViewResult(
        view=view,
        path=photo.path,
        sha256=photo.sha256,
        loss_pct=view_percent(cmap),
        scalp_pixels=n_scalp,
        hairless_pixels=n_bald,
        mask_pixels=int(cmap.size),
        size=(int(photo.original_size[0]), int(photo.original_size[1])),
        decoded_size=photo.size,
        orientation=int(photo.orientation),
        flags=quality(photo.rgb, cmap, view, thresholds),
        class_map=cmap if keep_mask else None,
        confidence=None if unsure is None else view_confidence(cmap, unsure),
    )


def _flag_names(flags: Mapping[str, Any]) -> list[str]:
    return [k for k, v in flags.items() if isinstance(v, (bool, np.bool_)) and bool(v)]


def _missing_row(subject: str, visit: str, missing: Sequence[str], partial: bool) -> dict[str, str]:
    names = ", ".join(repr(v) for v in missing)
    exc = MissingViewError(
        f"visit {subject}/{visit} has no photo of the {names} view"
        + ("s" if len(missing) > 1 else "")
        + ("" if partial else "; SALT left empty (use partial mode for an estimate)")
    )
    return error_row(exc, subject=subject, visit=visit, view=",".join(missing))


def _flag_row(subject: str, visit: str, view: str, result: ViewResult) -> dict[str, str]:
    return error_row(
        f"{result.path}: quality flags set ({', '.join(_flag_names(result.flags))}); "
        "SALT left empty (strict mode)",
        file=result.path,
        subject=subject,
        visit=visit,
        view=view,
        error_type="QualityFlag",
    )


def measure_visit(
    *,
    subject: str,
    visit: str,
    photos: Mapping[str, Any],
    class_maps: Mapping[str, npt.NDArray[np.uint8]],
    missing: Sequence[str],
    errors: Sequence[Mapping[str, str]],
    model: Any,
    partial: bool,
    strict: bool,
    thresholds: Mapping[str, Any] | None,
    keep_masks: bool,
    unsure_maps: Mapping[str, npt.NDArray[np.bool_]] | None = None,
) -> VisitResult:
    """Turn class maps into per-view percentages, SALT and a status.

    Per-view % by :func:`salt.classmap.view_percent` (a view without scalp fails the
    visit), status by :func:`salt.results.visit_status`, SALT by
    :func:`salt.salt_score` or, for a partial visit, :func:`salt.results.partial_salt`.
    ``errors`` are rows already found (load failures, duplicate files).
    ``unsure_maps`` (the backend's unsure masks) give each view a confidence; a
    complete visit with a view below :data:`salt.results.REVIEW_CONFIDENCE` gets the
    status ``needs_review``.
    """
    errs = [dict(e) for e in errors]
    dup = any(e["error_type"] == "DuplicateViewError" for e in errs)
    failed = any(e["error_type"] != "DuplicateViewError" for e in errs)
    same = _same_photo_errors(photos, subject, visit)
    errs += same
    views = {
        v: _measure_view(
            v, photos[v], class_maps[v], thresholds, keep_masks, (unsure_maps or {}).get(v)
        )
        for v in VIEWS
        if v in class_maps
    }
    percents = {v: r.loss_pct for v, r in views.items() if r.loss_pct is not None}
    for v, r in views.items():
        if r.loss_pct is None:
            failed = True
            exc = EmptyScalpError(f"{r.path}: the view shows no scalp (no hair, no hairless scalp)")
            errs.append(error_row(exc, file=r.path, subject=subject, visit=visit, view=v))
    missing = tuple(v for v in VIEWS if v in missing)
    if missing:
        errs.append(_missing_row(subject, visit, missing, partial))
    flagged = [v for v, r in views.items() if _flag_names(r.flags)]
    status = visit_status(
        failed=failed,
        duplicate=dup,
        same_photo=bool(same),
        missing=bool(missing),
        partial=partial,
        measured=bool(percents),
        flagged=bool(flagged),
        strict=strict,
        review=any(
            r.confidence is not None and r.confidence < REVIEW_CONFIDENCE for r in views.values()
        ),
    )
    if status == "flagged":
        errs += [_flag_row(subject, visit, v, views[v]) for v in flagged]
    salt = {"ok": salt_score, "needs_review": salt_score, "partial": partial_salt}.get(
        status, lambda _: None
    )(percents)
    return VisitResult(
        subject=subject,
        visit=visit,
        views=views,
        percents=percents,
        salt=salt,
        band=None if salt is None else severity_band(salt),
        aa_iga=None if salt is None else aa_iga(salt),
        status=status,
        missing=missing,
        errors=tuple(errs),
        model_name=str(model.name),
        model_sha256=str(model.sha256),
    )
