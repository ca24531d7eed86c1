"""The built wheel works where users install it: weights and registry are package data.

Builds the wheel from a copy of the sources (``pip wheel --no-deps``), unpacks it in a
temporary folder and, from another folder outside the checkout, loads the shipped model
and runs ``salt synth`` + ``salt score`` with that copy of the package.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SALT_MODELS_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "salt", src / "salt", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q"]
    _run([*pip, "-w", str(work / "dist")], src, dict(os.environ))
    (path,) = (work / "dist").glob("salt-*.whl")
    return path


@pytest.fixture(scope="module")
def site(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(out)
    return out


@pytest.mark.slow
def test_wheel_holds_every_registered_file_byte_for_byte(wheel: Path) -> None:
    registry = json.loads((REPO / "salt" / "weights" / "registry.json").read_text())
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "salt/weights/registry.json" in names
        assert "salt/py.typed" in names
        for model, entry in registry["models"].items():
            for file, sha in entry["files"].items():
                member = f"salt/weights/{model}/{file}"
                assert member in names, member
                assert hashlib.sha256(zf.read(member)).hexdigest() == sha, member


@pytest.mark.slow
def test_unpacked_wheel_loads_and_scores_outside_the_checkout(site: Path, tmp_path: Path) -> None:
    # Any folder outside the checkout, with only the unpacked wheel on sys.path.
    run = tmp_path / "elsewhere"
    run.mkdir()
    env = _env(site)
    code = (
        "import salt, salt.model as m; "
        "print(salt.__file__); print(m.default_models_dir()); "
        "print(salt.load_model().sha256)"
    )
    out = _run([sys.executable, "-c", code], run, env).split()
    assert Path(out[0]).is_relative_to(site)
    assert Path(out[1]) == site / "salt" / "weights"
    registry = json.loads((site / "salt" / "weights" / "registry.json").read_text())
    weights = (site / "salt" / "weights" / "default" / "model.safetensors").read_bytes()
    assert (
        registry["models"]["default"]["files"]["model.safetensors"]
        == hashlib.sha256(weights).hexdigest()
    )

    cli = [sys.executable, "-c", "import sys; from salt.cli import main; sys.exit(main())"]
    _run([*cli, "synth", "photos", "--visits", "1", "--size", "256", "--no-progress"], run, env)
    _run([*cli, "score", "photos/photos", "-o", "scored", "--no-overlays", "-q"], run, env)
    with open(run / "scored" / "visits.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert 0.0 <= float(row["salt"]) <= 100.0
    assert row["model_sha256"] == out[2]
    # the report's template is package data too
    assert '<table id="visits">' in (run / "scored" / "report.html").read_text()


def test_a_missing_optional_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import salt

    real = importlib.import_module

    def without_scipy(name: str, package: str | None = None) -> object:
        if name == "salt.trial.agreement":
            raise ModuleNotFoundError("No module named 'scipy'", name="scipy")
        return real(name, package)

    monkeypatch.setattr(salt.importlib, "import_module", without_scipy)
    monkeypatch.delitem(vars(salt), "icc", raising=False)
    with pytest.raises(
        ModuleNotFoundError, match=r"salt\.icc needs scipy.*pip install 'salt\[trial\]'"
    ):
        salt.icc  # noqa: B018
