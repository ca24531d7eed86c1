"""The four SALT views, their weights, the SALT II sectors and view-name aliases.

Sources: Olsen et al., J Am Acad Dermatol 2004;51:440-447 (SALT view weights);
Olsen & Canfield, J Am Acad Dermatol 2016 (SALT II sectors).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from salt.errors import BadValueError

__all__ = [
    "SALT2_SECTOR_WEIGHTS",
    "VIEWS",
    "VIEW_ALIASES",
    "VIEW_WEIGHTS",
    "alias_key",
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


def alias_key(name: str) -> str:
    """Return the form in which view names are compared.

    Case, accents, surrounding spaces and the separators space, ``-`` and ``_`` do
    not matter: ``"Left Side"``, ``"left_side"`` and ``"LEFT-SIDE"`` are one name,
    and so are ``"arrière"`` and ``"arriere"``.

    Examples
    --------
    >>> alias_key(" Left  Side "), alias_key("Arrière")
    ('left-side', 'arriere')
    """
    decomposed = unicodedata.normalize("NFKD", name.strip().casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s_\-]+", "-", plain).strip("-")


_ALIASES_BY_VIEW: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # English, German, French, Dutch, Spanish (compared by alias_key)
        "top": (
            *("top", "vertex", "superior", "top-down", "topdown", "crown", "overhead"),
            *("oben", "scheitel", "oberseite", "draufsicht", "dessus", "sommet", "haut"),
            *("boven", "bovenkant", "bovenaanzicht", "kruin", "arriba", "coronilla"),
            *("vertice", "cenital"),
        ),
        "back": (
            *("back", "occiput", "posterior", "rear", "occipital", "back-of-head", "hinten"),
            *("hinterkopf", "ruckseite", "rueckseite", "arriere", "derriere", "nuque"),
            *("achter", "achterkant", "achterhoofd", "atras", "detras", "nuca", "trasera"),
        ),
        "left": (
            *("left", "left-side", "l", "left-profile", "links", "linke-seite", "gauche"),
            *("cote-gauche", "profil-gauche", "linkerkant", "linkerzijde", "izquierda"),
            *("izquierdo", "lado-izquierdo", "lateral-izquierdo"),
        ),
        "right": (
            *("right", "right-side", "r", "right-profile", "rechts", "rechte-seite", "droite"),
            *("droit", "cote-droit", "profil-droit", "rechterkant", "rechterzijde", "derecha"),
            *("derecho", "lado-derecho", "lateral-derecho"),
        ),
    }
)

#: Accepted names of each view in file names, keyed by :func:`alias_key`: common
#: English, German, French, Dutch and Spanish names. A user's own names are added
#: with a view-alias file (:func:`salt.io.names.load_view_aliases`).
VIEW_ALIASES: Mapping[str, str] = MappingProxyType(
    {alias_key(a): view for view, names in _ALIASES_BY_VIEW.items() for a in names}
)


def normalize_view(name: str) -> str:
    """Return the canonical view name for an alias.

    Parameters
    ----------
    name : str
        A view name or alias such as ``"Vertex"``, ``"occiput"``, ``"L"`` or
        ``"hinten"``; compared by :func:`alias_key` (case, accents and separators
        ignored).

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
    key = alias_key(name)
    try:
        return VIEW_ALIASES[key]
    except KeyError:
        known = ", ".join(sorted(VIEW_ALIASES))
        raise BadValueError(f"unknown view {name!r}: expected one of {known}") from None
