"""Synthetic four-view scalp photos with exact hair-loss ground truth.

The main entry point is :func:`render_visit`; :func:`write_dataset` and
:func:`write_longitudinal` write folders in the project's photo-folder
convention with mask PNGs and a ``truth.csv``.
"""

from __future__ import annotations

from salt.synth.appearance import HAIR_COLOURS, SKIN_TONES
from salt.synth.dataset import (
    TRAJECTORIES,
    trajectory,
    visit_seed,
    write_dataset,
    write_longitudinal,
    write_visit,
)
from salt.synth.lossmap import SUBTYPES, Patch
from salt.synth.visit import Subject, SyntheticVisit, random_subject, render_subject, render_visit

__all__ = [
    "HAIR_COLOURS",
    "SKIN_TONES",
    "SUBTYPES",
    "TRAJECTORIES",
    "Patch",
    "Subject",
    "SyntheticVisit",
    "random_subject",
    "render_subject",
    "render_visit",
    "trajectory",
    "visit_seed",
    "write_dataset",
    "write_longitudinal",
    "write_visit",
]
