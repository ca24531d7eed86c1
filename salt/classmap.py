"""The class map: what the network outputs per pixel, and the one rule from it to a view's loss %.

A class map is an (H, W) uint8 array (the mask convention of ``data/README.md``):

=====  =====================================================================
value  meaning
=====  =====================================================================
0      not scalp (face, ears, neck, background, clothing)
1      scalp with terminal hair
2      hairless scalp
255    unknown (truth masks only: not scalp and not hairless, ignored by the loss)
=====  =====================================================================

:func:`view_percent` is the only place a class map becomes a percentage. The
engine (``salt score``), training validation, evaluation and the synthetic
generator all call it, so they cannot disagree. **A view without scalp has no
measurement**: :func:`view_percent` returns ``None``, the engine records an
``EmptyScalpError`` and leaves the visit's SALT empty, and training validation
and evaluation count the view (and its visit) as failed instead of as 0 %.
Pure numpy: no torch, no files.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from salt.errors import BadValueError, EmptyScalpError
from salt.scoring import view_loss_percent

__all__ = [
    "CLASSES",
    "HAIR",
    "HAIRLESS",
    "IGNORE_INDEX",
    "NOT_SCALP",
    "UNSURE_BIT",
    "UNSURE_PROB",
    "split_packed",
    "view_confidence",
    "view_percent",
    "view_pixels",
]

NOT_SCALP = 0  #: not scalp
HAIR = 1  #: scalp with terminal hair
HAIRLESS = 2  #: hairless scalp
IGNORE_INDEX = 255  #: unknown (truth masks only)

#: A pixel is *unsure* when the network gives its class less than this probability.
UNSURE_PROB = 0.8
#: Backends pack the class (bits 0-1) and an unsure flag (this bit) into one uint8 per pixel.
UNSURE_BIT = 4

#: Class names in index order.
CLASSES: tuple[str, str, str] = ("not_scalp", "hair", "hairless")


def _check(class_map: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    arr = np.asarray(class_map)
    if arr.ndim != 2 or arr.dtype != np.uint8:
        raise BadValueError(
            f"a class map must be an (H, W) uint8 array, got shape {arr.shape} dtype {arr.dtype}"
        )
    return arr


def view_pixels(class_map: npt.ArrayLike) -> tuple[int, int]:
    """Count the scalp and hairless-scalp pixels of a class map.

    Parameters
    ----------
    class_map : array_like of uint8, shape (H, W)
        0 not scalp, 1 hair, 2 hairless, 255 unknown (counted as neither).

    Returns
    -------
    scalp, hairless : int
        Pixels of classes 1 and 2 together, and of class 2.

    Raises
    ------
    BadValueError
        If ``class_map`` is not a 2-D uint8 array.
    """
    arr = _check(class_map)
    hairless = int(np.count_nonzero(arr == HAIRLESS))
    return hairless + int(np.count_nonzero(arr == HAIR)), hairless


def view_percent(class_map: npt.ArrayLike) -> float | None:
    """Hair loss of one view, percent of its scalp, from a class map.

    Parameters
    ----------
    class_map : array_like of uint8, shape (H, W)
        0 not scalp, 1 hair, 2 hairless, 255 unknown (neither scalp nor hairless).

    Returns
    -------
    float or None
        ``100 * hairless / (hair + hairless)`` pixels, through
        :func:`salt.scoring.view_loss_percent`; ``None`` when the view shows no
        scalp (see the module notes for what callers do then).

    Raises
    ------
    BadValueError
        If ``class_map`` is not a 2-D uint8 array.

    Examples
    --------
    >>> import numpy as np
    >>> view_percent(np.array([[0, 1], [2, 2]], np.uint8))
    66.66666666666667
    >>> view_percent(np.zeros((2, 2), np.uint8)) is None
    True
    """
    arr = _check(class_map)
    try:
        return view_loss_percent((arr == HAIR) | (arr == HAIRLESS), arr == HAIRLESS)
    except EmptyScalpError:
        return None


def split_packed(
    packed: npt.ArrayLike,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Split a backend's packed output into the class map and the unsure mask.

    Parameters
    ----------
    packed : array_like of uint8, any shape
        ``class + UNSURE_BIT * unsure`` per pixel (see :mod:`salt.model.backends`).

    Returns
    -------
    class_map : ndarray of uint8
        0 not scalp, 1 hair, 2 hairless; same shape as ``packed``.
    unsure : ndarray of bool
        True where the network gave the class less than :data:`UNSURE_PROB`.

    Examples
    --------
    >>> cmap, unsure = split_packed(np.array([[1, 6]], np.uint8))
    >>> cmap.tolist(), unsure.tolist()
    ([[1, 2]], [[False, True]])
    """
    arr = np.asarray(packed, dtype=np.uint8)
    return np.asarray(arr & (UNSURE_BIT - 1), np.uint8), (arr & UNSURE_BIT) > 0


def view_confidence(class_map: npt.ArrayLike, unsure: npt.ArrayLike) -> float | None:
    """Share of a view's possible scalp whose class the network is sure of.

    Parameters
    ----------
    class_map : array_like of uint8, shape (H, W)
        0 not scalp, 1 hair, 2 hairless.
    unsure : array_like of bool, shape (H, W)
        Pixels whose class has a probability below :data:`UNSURE_PROB`.

    Returns
    -------
    float or None
        ``1 - U / (S + U0)`` in [0, 1], where S counts scalp pixels (classes 1 and 2),
        U all unsure pixels and U0 the unsure pixels called not scalp (they may be
        scalp). 1 means every pixel that is or may be scalp is sure. None when there is
        neither scalp nor an unsure pixel.

    Raises
    ------
    BadValueError
        If the shapes differ or ``class_map`` is not a 2-D uint8 array.

    Examples
    --------
    >>> cmap = np.array([[1, 1, 2, 0]], np.uint8)
    >>> view_confidence(cmap, np.array([[False, True, False, True]]))
    0.5
    """
    arr = _check(class_map)
    u = np.asarray(unsure, dtype=bool)
    if u.shape != arr.shape:
        raise BadValueError(f"unsure mask shape {u.shape} differs from class map {arr.shape}")
    scalp = (arr == HAIR) | (arr == HAIRLESS)
    n_unsure = int(np.count_nonzero(u))
    denom = int(np.count_nonzero(scalp)) + int(np.count_nonzero(u & ~scalp))
    if denom == 0:
        return None
    return 1.0 - n_unsure / denom
