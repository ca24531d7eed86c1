"""salt: measure scalp hair loss in alopecia areata from photographs and score SALT.

The science (views, weights, scoring, endpoints) imports only numpy and pandas;
the model and the batch engine (which need torch) load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from salt.errors import (
    BadValueError,
    DuplicateViewError,
    EmptyScalpError,
    InputFileError,
    MissingViewError,
    ModelError,
    OutputError,
    SaltError,
)
from salt.scoring import (
    aa_iga,
    round_salt,
    salt2_score,
    salt_score,
    severity_band,
    view_loss_percent,
)
from salt.views import SALT2_SECTOR_WEIGHTS, VIEW_ALIASES, VIEW_WEIGHTS, VIEWS, normalize_view

__version__ = "0.1.0"

# Names served lazily (module, attribute) so that `import salt` does not import torch.
_LAZY: dict[str, tuple[str, str]] = {
    "endpoints": ("salt.trial.endpoints", "endpoints"),
    "Visit": ("salt.io.folders", "Visit"),
    "discover_visits": ("salt.io.folders", "discover_visits"),
    "ModelConfig": ("salt.model", "ModelConfig"),
    "SaltModel": ("salt.model", "SaltModel"),
    "build_network": ("salt.model", "build_network"),
    "load_model": ("salt.model", "load_model"),
    "random_model": ("salt.model", "random_model"),
    "save_model": ("salt.model", "save_model"),
    "Photo": ("salt.io.photo", "Photo"),
    "load_photo": ("salt.io.photo", "load_photo"),
    "photo_from_array": ("salt.io.photo", "photo_from_array"),
    "UnsupportedURLError": ("salt.io.storage", "UnsupportedURLError"),
    "QualityThresholds": ("salt.quality", "QualityThresholds"),
    "quality_flags": ("salt.quality", "quality_flags"),
    "score_visit": ("salt.inference.engine", "score_visit"),
    "score_folder": ("salt.inference.engine", "score_folder"),
    "report": ("salt.review.report", "write_report"),
    "VisitResult": ("salt.inference.engine", "VisitResult"),
    "ViewResult": ("salt.inference.engine", "ViewResult"),
    "change_from_baseline": ("salt.trial.response", "change_from_baseline"),
    "responders": ("salt.trial.response", "responders"),
    "response_rates": ("salt.trial.response", "response_rates"),
    "wilson_interval": ("salt.trial.response", "wilson_interval"),
    "time_to_response": ("salt.trial.response", "time_to_response"),
    "durable_response": ("salt.trial.response", "durable_response"),
    "relapse": ("salt.trial.relapse_rules", "relapse"),
    "eligibility": ("salt.trial.criteria", "eligibility"),
    "icc": ("salt.trial.agreement", "icc"),
    "bland_altman": ("salt.trial.agreement", "bland_altman"),
    "band_kappa": ("salt.trial.agreement", "band_kappa"),
    "agreement_summary": ("salt.trial.agreement", "agreement_summary"),
    "render_visit": ("salt.synth", "render_visit"),
    "SyntheticVisit": ("salt.synth", "SyntheticVisit"),
    "write_dataset": ("salt.synth", "write_dataset"),
    "write_longitudinal": ("salt.synth", "write_longitudinal"),
}

# Optional libraries and the extra that installs each (pyproject.toml).
_EXTRAS: dict[str, str] = {
    "scipy": "trial",
    "sklearn": "trial",
    "matplotlib": "trial",
    "lifelines": "trial",
    "onnxruntime": "onnx",
    "distributed": "distributed",
    "dask": "distributed",
}

__all__ = [
    "__version__",
    "VIEWS",
    "VIEW_WEIGHTS",
    "SALT2_SECTOR_WEIGHTS",
    "VIEW_ALIASES",
    "normalize_view",
    "view_loss_percent",
    "salt_score",
    "salt2_score",
    "round_salt",
    "severity_band",
    "aa_iga",
    "SaltError",
    "InputFileError",
    "MissingViewError",
    "DuplicateViewError",
    "BadValueError",
    "EmptyScalpError",
    "ModelError",
    "OutputError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'salt' has no attribute {name!r}") from None
    try:
        value = getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        raise ModuleNotFoundError(
            f"salt.{name} needs {exc.name}, which is not installed: pip install 'salt[{extra}]'",
            name=exc.name,
        ) from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
