"""The SALT measurement as pure functions of masks and percentages.

Nothing here knows about files, OpenCV or torch: inputs are numpy arrays and
numbers, outputs are numbers. Sources: Olsen et al. 2004 (SALT, severity bands),
Olsen & Canfield 2016 (SALT II), Wyrwich et al. 2020 (AA-IGA); the endpoints of
the BRAVE-AA and ALLEGRO phase 3 trials.

One rule for every decision
---------------------------
The published severity bands and AA-IGA grades are written on integer SALT
("1-20", "21-49"); a measured SALT is not an integer. Every decision here and in
:mod:`salt.trial.endpoints` is taken on the **unrounded** score with continuous
intervals:

=====  =====================  =======  ====================
band   SALT                   AA-IGA   SALT
=====  =====================  =======  ====================
S0     0                      0        0
S1     (0, 25)                1        (0, 20]
S2     [25, 50)               2        (20, 50)
S3     [50, 75)               3        [50, 95)
S4     [75, 100): S4a [75,    4        [95, 100]
       96), S4b [96, 100)
S5     100
=====  =====================  =======  ====================

so that AA-IGA <= 1 holds exactly when SALT <= 20 (the primary response
endpoint ``salt_le_20``) and S3 or worse exactly when SALT >= 50 (``eligible``).
A score within :data:`TOLERANCE` of a boundary counts as at the boundary
(:func:`at_most`, :func:`at_least`), so that a value that is exactly at a
threshold in decimal arithmetic is not pushed across it by binary rounding
(``30.1 - 10.1`` is ``20.000000000000004``).
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from salt.errors import BadValueError, EmptyScalpError, MissingViewError
from salt.views import SALT2_SECTOR_WEIGHTS, VIEW_WEIGHTS, VIEWS

__all__ = [
    "AA_IGA_FLOORS",
    "ELIGIBILITY_SALT",
    "RESPONSE_SALT",
    "SEVERITY_BAND_FLOORS",
    "TOLERANCE",
    "aa_iga",
    "at_least",
    "at_most",
    "round_salt",
    "salt2_score",
    "salt_score",
    "severity_band",
    "view_loss_percent",
]

#: Comparison tolerance at every threshold, in SALT points (or percent of baseline).
TOLERANCE = 1e-9

#: Primary response endpoint (BRAVE-AA week 36, ALLEGRO week 24): SALT <= 20; also the
#: top of AA-IGA 1 (Wyrwich et al. 2020), so "AA-IGA success" is the same decision.
RESPONSE_SALT = 20.0

#: Eligibility for JAK-inhibitor trials and treatment: SALT >= 50 (severe disease); also
#: the floor of S3 (Olsen 2004) and of AA-IGA 3.
ELIGIBILITY_SALT = 50.0

#: Severity bands above S1 and the SALT at which each starts (inclusive), highest first
#: (Olsen et al. 2004). S0 is SALT 0; anything above 0 and below 25 is S1.
SEVERITY_BAND_FLOORS: Mapping[str, float] = types.MappingProxyType(
    {"S5": 100.0, "S4": 75.0, "S3": ELIGIBILITY_SALT, "S2": 25.0}
)

#: S4 splits at 96 into S4a [75, 96) and S4b [96, 100) (Olsen et al. 2004).
_S4B_FLOOR = 96.0

#: AA-IGA grades 3 and 4 and the SALT at which each starts (inclusive), highest first
#: (Wyrwich et al. 2020). Grade 0 is SALT 0, 1 is (0, 20], 2 is (20, 50).
AA_IGA_FLOORS: Mapping[int, float] = types.MappingProxyType({4: 95.0, 3: ELIGIBILITY_SALT})


@overload
def at_most(score: float, limit: float) -> bool: ...
@overload
def at_most(score: npt.NDArray[Any], limit: float) -> npt.NDArray[np.bool_]: ...
def at_most(score: float | npt.NDArray[Any], limit: float) -> bool | npt.NDArray[np.bool_]:
    """Whether a SALT score is at or below a threshold, the rule of every ``<=`` decision.

    Parameters
    ----------
    score : float or numpy.ndarray of float
        SALT (or percent change); NaN compares False.
    limit : float
        The threshold, inclusive.

    Returns
    -------
    bool or numpy.ndarray of bool
        ``score <= limit + TOLERANCE``, elementwise for an array.

    Examples
    --------
    >>> at_most(30.1 - 10.1, 20.0), at_most(20.01, 20.0)
    (True, False)
    """
    if isinstance(score, np.ndarray):
        return np.less_equal(score, limit + TOLERANCE)
    return bool(score <= limit + TOLERANCE)


@overload
def at_least(score: float, limit: float) -> bool: ...
@overload
def at_least(score: npt.NDArray[Any], limit: float) -> npt.NDArray[np.bool_]: ...
def at_least(score: float | npt.NDArray[Any], limit: float) -> bool | npt.NDArray[np.bool_]:
    """Whether a SALT score is at or above a threshold, the rule of every ``>=`` decision.

    Parameters
    ----------
    score : float or numpy.ndarray of float
        SALT (or percent change); NaN compares False.
    limit : float
        The threshold, inclusive.

    Returns
    -------
    bool or numpy.ndarray of bool
        ``score >= limit - TOLERANCE``, elementwise for an array.

    Examples
    --------
    >>> at_least(49.99, 50.0), at_least(50.0, 50.0)
    (False, True)
    """
    if isinstance(score, np.ndarray):
        return np.greater_equal(score, limit - TOLERANCE)
    return bool(score >= limit - TOLERANCE)


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
    """Round a SALT score half up to an integer, for display.

    The bands, grades and endpoints never use it: they decide on the unrounded
    score (see the module notes).

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

    Examples
    --------
    >>> round_salt(20.4), round_salt(20.5)
    (20, 21)
    """
    return math.floor(_check_percent(score, "SALT score") + 0.5)


def severity_band(score: float, *, split_s4: bool = False) -> str:
    """Severity band of a SALT score (Olsen et al. 2004), on the unrounded score.

    Parameters
    ----------
    score : float
        SALT in [0, 100].
    split_s4 : bool, default False
        Report S4 as ``"S4a"`` [75, 96) or ``"S4b"`` [96, 100).

    Returns
    -------
    str
        ``"S0"`` (0), ``"S1"`` (0, 25), ``"S2"`` [25, 50), ``"S3"`` [50, 75),
        ``"S4"`` [75, 100) or ``"S5"`` (100); S3 or worse exactly when
        :func:`at_least` ``(score, ELIGIBILITY_SALT)``.

    Raises
    ------
    BadValueError
        If ``score`` is not a finite number in [0, 100].

    Examples
    --------
    >>> severity_band(0.2), severity_band(24.9), severity_band(25.0), severity_band(49.6)
    ('S1', 'S1', 'S2', 'S2')
    """
    s = _check_percent(score, "SALT score")
    if at_most(s, 0.0):
        return "S0"
    for band, floor in SEVERITY_BAND_FLOORS.items():
        if at_least(s, floor):
            if band == "S4" and split_s4:
                return "S4b" if at_least(s, _S4B_FLOOR) else "S4a"
            return band
    return "S1"


def aa_iga(score: float) -> int:
    """AA-IGA grade (0-4) of a SALT score (Wyrwich et al. 2020), on the unrounded score.

    Parameters
    ----------
    score : float
        SALT in [0, 100].

    Returns
    -------
    int
        0 (SALT 0), 1 (0, 20], 2 (20, 50), 3 [50, 95) or 4 [95, 100]; grade <= 1
        ("success") exactly when :func:`at_most` ``(score, RESPONSE_SALT)``.

    Raises
    ------
    BadValueError
        If ``score`` is not a finite number in [0, 100].

    Examples
    --------
    >>> aa_iga(20.0), aa_iga(20.4), aa_iga(49.6), aa_iga(95.0)
    (1, 2, 2, 4)
    """
    s = _check_percent(score, "SALT score")
    if at_most(s, 0.0):
        return 0
    if at_most(s, RESPONSE_SALT):
        return 1
    for grade, floor in AA_IGA_FLOORS.items():
        if at_least(s, floor):
            return grade
    return 2
