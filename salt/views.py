"""The four SALT views, their weights, the SALT II sectors and view-name aliases.

Sources: Olsen et al., J Am Acad Dermatol 2004;51:440-447 (SALT view weights);
Olsen & Canfield, J Am Acad Dermatol 2016 (SALT II sectors).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from salt.errors import BadValueError

__all__ = [
    "SALT2_SECTOR_WEIGHTS",
    "VIEWS",
    "VIEW_ALIASES",
    "VIEW_WEIGHTS",
    "normalize_view",
]

#: The four standard views, in the order SALT lists them.
VIEWS: tuple[str, ...] = ("top", "back", "left", "right")

#: Fraction of the whole scalp that each view represents (Olsen 2004). Sums to 1.
VIEW_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"top": 0.40, "back": 0.24, "left": 0.18, "right": 0.18}
)

#: SALT II sector weights, as fractions of the whole scalp (Olsen & Canfield 2016).
#: Top and back are split in four equal quadrants; each side in upper/lower x front/back.
#: Each view's sectors sum to that view's weight in :data:`VIEW_WEIGHTS`.
SALT2_SECTOR_WEIGHTS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "top": MappingProxyType(
            {"front-left": 0.10, "front-right": 0.10, "back-left": 0.10, "back-right": 0.10}
        ),
        "back": MappingProxyType(
            {"upper-left": 0.06, "upper-right": 0.06, "lower-left": 0.06, "lower-right": 0.06}
        ),
        "left": MappingProxyType(
            {"upper-front": 0.05, "upper-back": 0.04, "lower-front": 0.04, "lower-back": 0.05}
        ),
        "right": MappingProxyType(
            {"upper-front": 0.05, "upper-back": 0.04, "lower-front": 0.04, "lower-back": 0.05}
        ),
    }
)

#: Accepted spellings of each view in file names (case-insensitive).
VIEW_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **{a: "top" for a in ("top", "vertex", "superior", "top-down", "topdown", "top_down")},
        **{a: "back" for a in ("back", "occiput", "posterior")},
        **{a: "left" for a in ("left", "left-side", "left_side", "l")},
        **{a: "right" for a in ("right", "right-side", "right_side", "r")},
    }
)


def normalize_view(name: str) -> str:
    """Return the canonical view name for an alias.

    Parameters
    ----------
    name : str
        A view name or alias such as ``"Vertex"``, ``"occiput"`` or ``"L"``;
        case and surrounding spaces are ignored.

    Returns
    -------
    str
        One of :data:`VIEWS`.

    Raises
    ------
    BadValueError
        If ``name`` is not a known alias.

    Examples
    --------
    >>> normalize_view("Vertex")
    'top'
    >>> normalize_view("L")
    'left'
    """
    key = name.strip().lower()
    try:
        return VIEW_ALIASES[key]
    except KeyError:
        known = ", ".join(sorted(VIEW_ALIASES))
        raise BadValueError(f"unknown view {name!r}: expected one of {known}") from None
