"""The result of scoring a visit, and the rules that give a visit its status and SALT.

Pure (numpy only): the inference engine fills these from class maps; nothing here
knows about files or torch.

Visit status (``visits.csv`` ``status``), in order of precedence
----------------------------------------------------------------
``failed``
    A photo could not be read or decoded, or a view shows no scalp; SALT empty.
``duplicate``
    A view has two photos (``errors.csv`` names both); SALT empty.
``same_photo``
    The same photo (identical SHA256) is used for two views (``errors.csv`` names
    both); the views are measured but SALT is left empty.
``incomplete``
    A view has no photo (``views_missing`` names it); SALT empty.
``partial``
    Only in partial mode: a view is missing, and SALT is estimated from the
    views present (:func:`partial_salt`); an estimate, not SALT.
``flagged``
    Only in strict mode: a quality flag is set on a view; SALT empty.
``needs_review``
    All four views scored and SALT filled, but the network is unsure of a view
    (its ``confidence`` is below the review cut-off): look at the overlays first.
``ok``
    All four views scored; SALT, band and AA-IGA filled.
``corrected``
    Not set by the engine: a person corrected the mask of a view and the visit was
    re-scored from it (:mod:`salt.review.rescore`); ``message`` says who and when.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from salt.errors import BadValueError
from salt.views import VIEW_WEIGHTS, VIEWS

__all__ = [
    "REVIEW_CONFIDENCE",
    "SCORED_STATUSES",
    "STATUSES",
    "ViewResult",
    "VisitResult",
    "partial_salt",
    "visit_status",
]

#: Values of the ``status`` column of ``visits.csv`` (see module notes).
STATUSES: tuple[str, ...] = (
    "ok",
    "needs_review",
    "partial",
    "incomplete",
    "failed",
    "duplicate",
    "same_photo",
    "flagged",
    "corrected",
)


#: Statuses whose visits have a SALT value (``partial``: an estimate from fewer views;
#: ``corrected``: from a person's corrected masks).
SCORED_STATUSES: tuple[str, ...] = ("ok", "needs_review", "partial", "corrected")

#: A view whose confidence (:func:`salt.classmap.view_confidence`) is below this
#: needs review. Chosen on the rated development photos of one person-wise fold and
#: measured on the other (see the model card).
REVIEW_CONFIDENCE = 0.6


@dataclasses.dataclass(frozen=True)
class ViewResult:
    """The measurement of one photo.

    Attributes
    ----------
    view : str
        One of :data:`salt.VIEWS`.
    path : str
        The photo's path (or name, for an array).
    sha256 : str
        SHA256 of the file bytes.
    loss_pct : float or None
        Hairless share of the view's scalp, percent in [0, 100]; None when the view
        shows no scalp.
    scalp_pixels, hairless_pixels : int
        Pixels of scalp (classes 1 and 2) and hairless scalp (class 2) in the class
        map at network resolution.
    mask_pixels : int
        Pixels in the class map (S * S).
    size : tuple of int
        ``(width, height)`` of the photo at full resolution, upright.
    decoded_size : tuple of int
        ``(width, height)`` of the decoded (possibly reduced) photo.
    orientation : int
        EXIF orientation applied (1-8).
    flags : dict
        Quality measures and flags (:func:`salt.quality.quality_flags`).
    class_map : ndarray of uint8, shape (S, S), or None
        The class map (0 not scalp, 1 hair, 2 hairless), when asked for.
    confidence : float or None
        Share of the possible scalp the network is sure of, in [0, 1]
        (:func:`salt.classmap.view_confidence`); None when not measured.
    """

    view: str
    path: str
    sha256: str
    loss_pct: float | None
    scalp_pixels: int
    hairless_pixels: int
    mask_pixels: int
    size: tuple[int, int]
    decoded_size: tuple[int, int]
    orientation: int
    flags: Mapping[str, float | bool] = dataclasses.field(default_factory=dict)
    class_map: npt.NDArray[np.uint8] | None = None
    confidence: float | None = None


@dataclasses.dataclass(frozen=True)
class VisitResult:
    """The measurement of one visit.

    Attributes
    ----------
    subject, visit : str
        Identifiers ("" when scored from loose photos).
    views : Mapping[str, ViewResult]
        Each scored photo, by view.
    percents : Mapping[str, float]
        Hair-loss percent of each view with a measurement.
    salt : float or None
        SALT, percent of the scalp (None unless ``status`` is ``ok`` or ``partial``).
    band : str or None
        Severity band (:func:`salt.severity_band`).
    aa_iga : int or None
        AA-IGA grade (:func:`salt.aa_iga`).
    status : str
        One of :data:`STATUSES`.
    missing : tuple of str
        Views without a photo.
    errors : tuple of dict
        Rows for ``errors.csv`` (file, subject, visit, view, error_type, message).
    model_name, model_sha256 : str
        The model that measured.
    """

    subject: str
    visit: str
    views: Mapping[str, ViewResult]
    percents: Mapping[str, float]
    salt: float | None
    band: str | None
    aa_iga: int | None
    status: str
    missing: tuple[str, ...] = ()
    errors: tuple[Mapping[str, str], ...] = ()
    model_name: str = ""
    model_sha256: str = ""

    @property
    def message(self) -> str:
        """The problems of this visit in one line ("" when none)."""
        return "; ".join(e["message"] for e in self.errors)

    def row(self) -> dict[str, Any]:
        """Return the visit as a row of ``visits.csv`` (without ``visit_key``)."""
        return {
            "subject": self.subject,
            "visit": self.visit,
            **{f"{v}_pct": self.percents.get(v, math.nan) for v in VIEWS},
            "salt": math.nan if self.salt is None else self.salt,
            "band": self.band,
            "aa_iga": self.aa_iga,
            "status": self.status,
            "views_missing": ",".join(self.missing),
            "message": self.message,
            "model_name": self.model_name,
            "model_sha256": self.model_sha256,
        }


def partial_salt(view_percents: Mapping[str, float]) -> float:
    """Estimate SALT from the views present, their weights rescaled to sum to 1.

    Parameters
    ----------
    view_percents : Mapping[str, float]
        Hair-loss percent (0-100) of some of the views of :data:`salt.VIEWS`.

    Returns
    -------
    float
        ``sum(w_v * p_v) / sum(w_v)`` over the views given, clipped to [0, 100];
        equal to :func:`salt.salt_score` when all four views are given.

    Raises
    ------
    BadValueError
        If no view is given or a name is not one of :data:`salt.VIEWS`.

    Examples
    --------
    >>> partial_salt({"top": 50.0, "back": 10.0})  # weights 0.40 and 0.24
    35.0
    """
    unknown = sorted(set(view_percents) - set(VIEWS))
    if unknown or not view_percents:
        raise BadValueError(
            f"partial SALT needs percentages of some of {list(VIEWS)}, got {sorted(view_percents)}"
        )
    weight = math.fsum(VIEW_WEIGHTS[v] for v in view_percents)
    total = math.fsum(VIEW_WEIGHTS[v] * float(p) for v, p in view_percents.items())
    return min(100.0, max(0.0, total / weight))


def visit_status(
    *,
    failed: bool,
    duplicate: bool,
    same_photo: bool,
    missing: bool,
    partial: bool,
    measured: bool,
    flagged: bool,
    strict: bool,
    review: bool = False,
) -> str:
    """Return the status of a visit: the first rule that applies (module notes).

    Parameters
    ----------
    failed : bool
        A photo failed to load, or a view shows no scalp.
    duplicate : bool
        A view has two photos.
    same_photo : bool
        One photo is used for two views.
    missing : bool
        A view has no photo.
    partial : bool
        Partial mode: estimate SALT when views are missing.
    measured : bool
        At least one view was measured (needed for a partial estimate).
    flagged : bool
        A quality flag is set on a view.
    strict : bool
        Strict mode: a quality flag leaves SALT empty.
    review : bool
        A view's confidence is below :data:`REVIEW_CONFIDENCE`.

    Returns
    -------
    str
        One of :data:`STATUSES`; SALT is defined for :data:`SCORED_STATUSES` only.

    Examples
    --------
    >>> visit_status(failed=False, duplicate=False, same_photo=False, missing=True,
    ...              partial=True, measured=True, flagged=False, strict=False)
    'partial'
    """
    if failed:
        return "failed"
    if duplicate:
        return "duplicate"
    if same_photo:
        return "same_photo"
    if missing:
        return "partial" if partial and measured else "incomplete"
    if strict and flagged:
        return "flagged"
    return "needs_review" if review else "ok"
