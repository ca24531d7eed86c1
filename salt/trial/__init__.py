"""Clinical-trial and registry analysis of SALT scores (pandas, scipy, lifelines; no torch).

* :mod:`~salt.trial.endpoints`: per-visit endpoint flags (``salt_le_20``, PGI, ...).
* :mod:`~salt.trial.response`: responders, response rates, time to response.
* :mod:`~salt.trial.relapse_rules`: relapse after a reference visit, by two named rules.
* :mod:`~salt.trial.treatments`: a registry's treatments (drug, dose, course, line,
  switch and taper events) joined to its visits.
* :mod:`~salt.trial.registry`: response per drug and line at a time on drug, time to
  response censored at stop or switch.
* :mod:`~salt.trial.survival`: Kaplan-Meier curves with confidence intervals (lifelines).
* :mod:`~salt.trial.sites`: eyebrows, eyelashes, body hair and nails (0-3 scores).
* :mod:`~salt.trial.criteria`: eligibility at screening, and criteria sets as data.
* :mod:`~salt.trial.published`: published phase-3 rates from a cited file.
* :mod:`~salt.trial.tables`: the spreadsheet reader (delimiter, decimal mark, encoding,
  visit labels, subject IDs).
* :mod:`~salt.trial.agreement`: agreement between raters (ICC, Bland-Altman, kappa).
* :mod:`~salt.trial.plots`: trial figures (matplotlib).

The main functions are served here lazily (``salt.trial.check_eligibility``) and
some by the top-level package (``salt.endpoints``, ``salt.responders``, ...).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "check_eligibility": "salt.trial.criteria",
    "load_criteria": "salt.trial.criteria",
    "eligibility": "salt.trial.criteria",
    "relapse": "salt.trial.relapse_rules",
    "RELAPSE_RULES": "salt.trial.relapse_rules",
    "join_treatments": "salt.trial.treatments",
    "treatment_events": "salt.trial.treatments",
    "courses": "salt.trial.treatments",
    "course_response": "salt.trial.registry",
    "response_by_treatment": "salt.trial.registry",
    "time_to_response_by_course": "salt.trial.registry",
    "kaplan_meier": "salt.trial.survival",
    "median_time_to_response": "salt.trial.survival",
    "site_responders": "salt.trial.sites",
    "site_response_rates": "salt.trial.sites",
    "published_rates": "salt.trial.published",
    "compare_with_published": "salt.trial.published",
    "read_table": "salt.trial.tables",
    "visit_weeks": "salt.trial.tables",
    "normalise_subjects": "salt.trial.tables",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'salt.trial' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
