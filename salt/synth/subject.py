"""A synthetic person: head geometry, hairline, look and hair-loss map, fixed across visits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from salt.errors import BadValueError
from salt.synth.appearance import HAIR_COLOURS, SKIN_TONES
from salt.synth.head import Head, random_head
from salt.synth.lossmap import SUBTYPES, LossMap, Patch, random_lossmap

__all__ = ["Subject", "random_subject"]

_CLOTHES = np.array(
    [
        [30, 30, 34],
        [220, 220, 224],
        [40, 52, 90],
        [120, 120, 124],
        [90, 30, 34],
        [60, 80, 60],
        [150, 130, 100],
        [70, 100, 150],
        [200, 180, 150],
        [20, 20, 20],
    ],
    dtype=np.float64,
)
# Fitzpatrick types drawn with weights of a mixed clinic population (every type occurs).
_TONE_WEIGHTS = {"I": 0.12, "II": 0.24, "III": 0.24, "IV": 0.16, "V": 0.12, "VI": 0.12}
_HAIR_WEIGHTS = {
    "black": 0.3,
    "brown": 0.3,
    "blond": 0.12,
    "red": 0.06,
    "grey": 0.14,
    "white": 0.08,
}


@dataclass
class Subject:
    """Everything about a synthetic person that stays fixed across visits.

    Attributes
    ----------
    head : Head
        Geometry and hairline.
    lossmap : LossMap
        Loss field; its threshold sets the extent of loss at a visit.
    look : dict
        Skin tone, hair colour, length, curl, density, whorl, clothes colour.
    """

    head: Head
    lossmap: LossMap
    look: dict[str, Any]


def random_subject(
    rng: np.random.Generator,
    *,
    subtype: str | None = None,
    skin_tone: str | None = None,
    hair_colour: str | None = None,
    hair_length: float | None = None,
    patches: Sequence[Patch] | None = None,
) -> Subject:
    """Draw a subject: head, loss map and appearance.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    subtype : str, optional
        One of ``patchy``, ``ophiasis``, ``totalis``, ``diffuse``, ``none``.
        Random (weights :data:`salt.synth.SUBTYPES`) if None.
    skin_tone : str, optional
        Fitzpatrick type ``"I"`` .. ``"VI"``; random if None.
    hair_colour : str, optional
        One of :data:`salt.synth.HAIR_COLOURS`; random if None.
    hair_length : float, optional
        Terminal hair length in cm; random (0.8-20) if None.
    patches : sequence of Patch, optional
        Explicit patches (implies subtype ``patchy``).

    Returns
    -------
    Subject
    """
    head = random_head(rng)
    if patches is not None:
        subtype = "patchy"
    sub = subtype or str(rng.choice(list(SUBTYPES), p=np.array(list(SUBTYPES.values()))))
    if sub not in SUBTYPES:
        raise BadValueError(f"unknown subtype {sub!r}: expected one of {list(SUBTYPES)}")
    lossmap = random_lossmap(
        rng,
        sub,
        head.hairline,
        head.hairline_wave,
        patches=None if patches is None else list(patches),
    )
    tone = skin_tone or str(rng.choice(list(_TONE_WEIGHTS), p=list(_TONE_WEIGHTS.values())))
    if tone not in SKIN_TONES:
        raise BadValueError(f"unknown skin tone {tone!r}: expected one of {list(SKIN_TONES)}")
    colour = hair_colour or str(
        rng.choice(list(_HAIR_WEIGHTS), p=np.array(list(_HAIR_WEIGHTS.values())))
    )
    if colour not in HAIR_COLOURS:
        raise BadValueError(f"unknown hair colour {colour!r}: expected one of {list(HAIR_COLOURS)}")
    length = float(
        hair_length
        if hair_length is not None
        else rng.choice(
            [rng.uniform(0.8, 3.0), rng.uniform(3.0, 8.0), rng.uniform(8.0, 20.0)],
            p=[0.55, 0.35, 0.1],
        )
    )
    if not 0.1 <= length <= 60:
        raise BadValueError(f"hair_length must be within 0.1-60 cm, got {length}")
    whorl = np.array([rng.normal(0, 0.15), rng.uniform(-0.55, -0.2), 1.0])
    whorl /= np.linalg.norm(whorl)
    look = {
        "skin_tone": tone,
        "hair_colour": colour,
        "hair_length_cm": length,
        "curl": float(rng.choice([rng.uniform(0.02, 0.12), rng.uniform(0.3, 0.8)], p=[0.8, 0.2])),
        "density": float(rng.uniform(0.75, 1.0)),
        "gravity": float(np.clip(length / 8.0, 0.1, 2.5) * rng.uniform(0.6, 1.4)),
        "whorl": [float(x) for x in whorl],
        "strand_alpha": float(rng.uniform(0.55, 0.9)),
        "drape": bool(length > 4.0 and rng.random() < 0.3),
        "clumping": float(rng.uniform(0.12, 0.42)),
        "skin_texture": float(rng.uniform(0.015, 0.045)),
        "swirl": float(rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.6)),
        "skin_jitter": [float(x) for x in rng.uniform(0.93, 1.07, size=3)],
        "clothes": [
            float(x) for x in _CLOTHES[int(rng.integers(len(_CLOTHES)))] * rng.uniform(0.7, 1.15)
        ],
        "regrowth": float(rng.choice([0.0, rng.uniform(0.2, 1.0)], p=[0.55, 0.45])),
        "exclamation": float(rng.choice([0.0, rng.uniform(0.3, 1.0)], p=[0.6, 0.4])),
    }
    return Subject(head=head, lossmap=lossmap, look=look)
