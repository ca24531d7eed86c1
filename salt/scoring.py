"""The SALT measurement as pure functions of masks and percentages.

Nothing here knows about files, OpenCV or torch: inputs are numpy arrays and
numbers, outputs are numbers. Sources: Olsen et al. 2004 (SALT), Olsen & Canfield
2016 (SALT II), Wyrwich et al. 2020 (AA-IGA); see ``shared/SALT.md``.

Rounding rule for the integer bands
-----------------------------------
The published severity bands and AA-IGA grades are defined on integer SALT. A
non-integer score is first rounded **half up** to the nearest integer
(``floor(score + 0.5)``: 20.4 -> 20, 20.5 -> 21, 0.4 -> 0) and the integer is
looked up in the table. The same rule is used by :func:`severity_band` and
:func:`aa_iga`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from salt.errors import BadValueError, EmptyScalpError, MissingViewError
from salt.views import SALT2_SECTOR_WEIGHTS, VIEW_WEIGHTS, VIEWS

__all__ = [
    "aa_iga",
    "round_salt",
    "salt2_score",
    "salt_score",
    "severity_band",
    "view_loss_percent",
]


def _as_mask(mask: npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    arr = np.asarray(mask)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "uif":
        raise BadValueError(f"{name} must be a bool or 0/1 array, got dtype {arr.dtype}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise BadValueError(
            f"{name} must hold only 0 and 1 (or be bool); found other values such as "
            f"{arr[~np.isin(arr, (0, 1))].flat[0]!r}"
        )
    return arr.astype(bool)


def view_loss_percent(scalp_mask: npt.ArrayLike, hairless_mask: npt.ArrayLike) -> float:
    """Percentage of one view's scalp that is hairless.

    Parameters
    ----------
    scalp_mask : array_like of bool or {0, 1}, shape (H, W)
        Pixels of scalp that should bear hair (hairline by anatomy; not face,
        ears, neck or background).
    hairless_mask : array_like of bool or {0, 1}, shape (H, W)
        Pixels without terminal hair. Pixels outside ``scalp_mask`` are ignored.

    Returns
    -------
    float
        ``100 * |hairless AND scalp| / |scalp|``, in percent of the view's scalp, in [0, 100].

    Raises
    ------
    BadValueError
        If the masks differ in shape or hold values other than 0/1.
    EmptyScalpError
        If ``scalp_mask`` has no pixel set: the view shows no scalp, so the
        percentage is undefined (never returned as NaN).

    Examples
    --------
    >>> import numpy as np
    >>> scalp = np.ones((4, 4), bool)
    >>> bald = np.zeros((4, 4), bool); bald[:2] = True
    >>> view_loss_percent(scalp, bald)
    50.0
    """
    scalp = _as_mask(scalp_mask, "scalp_mask")
    bald = _as_mask(hairless_mask, "hairless_mask")
    if scalp.shape != bald.shape:
        raise BadValueError(
            f"scalp_mask and hairless_mask differ in shape: {scalp.shape} vs {bald.shape}"
        )
    n_scalp = int(np.count_nonzero(scalp))
    if n_scalp == 0:
        raise EmptyScalpError(
            "the view shows no scalp (scalp mask is empty): its hair-loss percentage is "
            "undefined; check the photo shows the scalp"
        )
    n_bald = int(np.count_nonzero(scalp & bald))
    return 100.0 * n_bald / n_scalp


def _short(value: object) -> str:
    """Return a repr for messages, cut to 40 characters (safe for huge integers)."""
    try:
        text = repr(value)
    except ValueError:  # int too large to print
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


def _check_percent(value: object, where: str) -> float:
    if isinstance(value, str | bytes | bytearray | bool | np.bool_):
        raise BadValueError(f"{where}: expected a number, got {_short(value)}")
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise BadValueError(f"{where}: expected a percentage, got {_short(value)}") from None
    if not math.isfinite(x) or not 0.0 <= x <= 100.0:
        raise BadValueError(f"{where}: percentage must be within [0, 100], got {_short(value)}")
    return x


def _check_mapping(value: object, name: str) -> None:
    if not isinstance(value, Mapping):
        raise BadValueError(
            f"{name} must be a mapping such as {{'top': 10.0, ...}}, got {type(value).__name__}"
        )


def salt_score(view_percents: Mapping[str, float]) -> float:
    """SALT score from the four per-view hair-loss percentages.

    Parameters
    ----------
    view_percents : Mapping[str, float]
        Percent of each view's scalp with hair loss, keyed by ``"top"``,
        ``"back"``, ``"left"`` and ``"right"``; each in [0, 100].

    Returns
    -------
    float
        ``0.40 top + 0.24 back + 0.18 left + 0.18 right``, percent of the whole
        scalp, in [0, 100].

    Raises
    ------
    MissingViewError
        If a view is missing (the message names it).
    BadValueError
        If a value is not a finite number in [0, 100] or an unknown view is given.

    Examples
    --------
    >>> salt_score({"top": 100, "back": 0, "left": 0, "right": 0})
    40.0
    """
    _check_mapping(view_percents, "view_percents")
    unknown = sorted(map(str, set(view_percents) - set(VIEWS)))
    if unknown:
        raise BadValueError(f"unknown view(s) {unknown}: expected {list(VIEWS)}")
    terms = []
    for view in VIEWS:
        if view not in view_percents:
            raise MissingViewError(f"the {view!r} view is missing: SALT needs all of {list(VIEWS)}")
        terms.append(VIEW_WEIGHTS[view] * _check_percent(view_percents[view], f"view {view!r}"))
    return min(100.0, max(0.0, math.fsum(terms)))


def salt2_score(sector_percents: Mapping[str, Mapping[str, float]]) -> float:
    """SALT II score from per-sector hair-loss percentages.

    Parameters
    ----------
    sector_percents : Mapping[str, Mapping[str, float]]
        For each view, the percent hair loss (0-100) of each of its sectors, with
        the sector names of :data:`salt.views.SALT2_SECTOR_WEIGHTS`.

    Returns
    -------
    float
        Sum of sector weight x sector percent, percent of the whole scalp.

    Raises
    ------
    MissingViewError
        If a view or one of its sectors is missing.
    BadValueError
        If a value is out of range or a name is unknown.
    """
    _check_mapping(sector_percents, "sector_percents")
    unknown = sorted(map(str, set(sector_percents) - set(VIEWS)))
    if unknown:
        raise BadValueError(f"unknown view(s) {unknown}: expected {list(VIEWS)}")
    terms = []
    for view in VIEWS:
        if view not in sector_percents:
            raise MissingViewError(f"the {view!r} view is missing from the SALT II sectors")
        sectors = sector_percents[view]
        _check_mapping(sectors, f"sectors of view {view!r}")
        weights = SALT2_SECTOR_WEIGHTS[view]
        extra = sorted(map(str, set(sectors) - set(weights)))
        if extra:
            raise BadValueError(
                f"view {view!r}: unknown sector(s) {extra}; expected {list(weights)}"
            )
        for sector, w in weights.items():
            if sector not in sectors:
                raise MissingViewError(f"view {view!r} lacks sector {sector!r}")
            terms.append(w * _check_percent(sectors[sector], f"view {view!r} sector {sector!r}"))
    return min(100.0, max(0.0, math.fsum(terms)))


def round_salt(score: float) -> int:
    """Round a SALT score half up to an integer, the rule used for the integer bands.

    Parameters
    ----------
    score : float
        SALT in [0, 100].

    Returns
    -------
    int
        ``floor(score + 0.5)``.

    Raises
    ------
    BadValueError
        If ``score`` is not a finite number in [0, 100].
    """
    return math.floor(_check_percent(score, "SALT score") + 0.5)


def severity_band(score: float, *, split_s4: bool = False) -> str:
    """Severity band of a SALT score (Olsen 2004).

    Parameters
    ----------
    score : float
        SALT in [0, 100]; rounded half up first (see module notes).
    split_s4 : bool, default False
        Report S4 as ``"S4a"`` (75-95) or ``"S4b"`` (96-99).

    Returns
    -------
    str
        ``"S0"`` (0), ``"S1"`` (1-24), ``"S2"`` (25-49), ``"S3"`` (50-74),
        ``"S4"`` (75-99) or ``"S5"`` (100).

    Examples
    --------
    >>> severity_band(24.4), severity_band(24.5)
    ('S1', 'S2')
    """
    s = round_salt(score)
    if s == 0:
        return "S0"
    if s < 25:
        return "S1"
    if s < 50:
        return "S2"
    if s < 75:
        return "S3"
    if s < 100:
        if split_s4:
            return "S4a" if s <= 95 else "S4b"
        return "S4"
    return "S5"


def aa_iga(score: float) -> int:
    """AA-IGA grade (0-4) of a SALT score (Wyrwich et al. 2020).

    Parameters
    ----------
    score : float
        SALT in [0, 100]; rounded half up first (see module notes).

    Returns
    -------
    int
        0 (SALT 0), 1 (1-20), 2 (21-49), 3 (50-94) or 4 (95-100).

    Examples
    --------
    >>> aa_iga(20.0), aa_iga(20.5), aa_iga(94.4), aa_iga(94.5)
    (1, 2, 3, 4)
    """
    s = round_salt(score)
    if s == 0:
        return 0
    if s <= 20:
        return 1
    if s <= 49:
        return 2
    if s <= 94:
        return 3
    return 4
