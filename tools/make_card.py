# ruff: noqa: E501 - the card template has long markdown table rows
"""Ship a trained model as ``salt/weights/<name>/`` with its model card (run by hand at release).

Usage::

    python tools/make_card.py --from runs/<run>/best --run runs/<run> \
        --eval out/eval-default --real out/real-default --name default

Copies the weights and config, writes ``metrics.json`` (the numbers the tests hold
the model to) and ``README.md`` (the model card, from the reports of ``salt
evaluate``) and the ONNX export ``network.onnx`` (``salt.model.export.ship_export``: a first
use without torch), then records the SHA256 of every file in ``salt/weights/registry.json``. The
registry keeps every model already there, so an earlier model stays loadable by name.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

from salt.model import default_models_dir, file_sha256, load_model, update_registry
from salt.model.export import SHIPPED_ONNX, SHIPPED_RECORD, ship_export


def _fmt(v: Any, spec: str = ".2f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return format(v, spec)


#: Placeholders for local data paths in a reproduce command (the card names no local folder).
_PATH_PLACEHOLDERS = {"--real": "GRADED_PHOTOS", "--baseline-onnx": "SEGMENTER.onnx"}


def _public_command(command: list[str] | None) -> str:
    """Join a command into one line, local data paths replaced by placeholders."""
    words = list(command or [])
    return " ".join(
        _PATH_PLACEHOLDERS.get(words[i - 1], w) if i else w for i, w in enumerate(words)
    )


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    """Copy the model, write metrics.json and README.md, update the registry."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--from", dest="src", type=Path, required=True, help="model folder to ship")
    p.add_argument("--run", type=Path, required=True, help="training run folder")
    p.add_argument("--eval", type=Path, required=True, help="salt evaluate --synthetic output")
    p.add_argument("--real", type=Path, required=True, help="salt evaluate --real output")
    p.add_argument("--name", default="default")
    p.add_argument("--notes", type=Path, default=None, help="markdown appended (choice, limits)")
    args = p.parse_args()

    dst = default_models_dir() / args.name
    dst.mkdir(parents=True, exist_ok=True)
    for f in ("model.safetensors", "config.json"):
        shutil.copy2(args.src / f, dst / f)
    model = load_model(args.src)
    ev = json.loads((args.eval / "report.json").read_text())
    real = json.loads((args.real / "real_report.json").read_text())
    state = json.loads((args.run / "state.json").read_text())
    opts = json.loads((args.run / "options.json").read_text())
    m = ev["metrics"]
    keep = [
        "n_visits", "salt_mae", "salt_rmse", "salt_bias", "salt_p95_abs_error", "view_mae",
        "icc21", "icc21_ci", "bland_altman", "call_le20_agreement", "call_ge50_agreement",
        "band_accuracy", "aa_iga_accuracy", "iou", "miou", "worst_group_mae_ratio", "targets",
    ]  # fmt: skip
    metrics = {
        "model_sha256": file_sha256(dst / "model.safetensors"),
        "synthetic_heldout": {k: m.get(k) for k in keep},
        "synthetic_source": ev["source"],
        "synthetic_command": ev["command"],
        "real_photos": real["summary"],
        "real_command": real["command"],
    }
    (dst / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    cfg = model.config
    n_params = sum(t.numel() for t in model.network.parameters())
    size_mb = (dst / "model.safetensors").stat().st_size / 1e6
    src = ev["source"]
    rows = "\n".join(
        f"| {name} | {t['target']} | {_fmt(t['value'], '.3f')} | {'met' if t['met'] else '**missed**'} |"
        for name, t in m["targets"].items()
    )
    groups = "\n".join(
        f"| {col} | {val} | {g['n']} | {g['mae']:.2f} | {g['bias']:+.2f} |"
        for col, vals in m["groups"].items()
        for val, g in vals.items()
    )
    views = ", ".join(f"{v} {m['view_mae'][v]:.2f}" for v in ("top", "back", "left", "right"))
    iou = ", ".join(f"{k} {v:.3f}" for k, v in m.get("iou", {}).items())
    rs = real["summary"]
    ba = m["bland_altman"]
    card = f"""# Model card: `{args.name}`

Scalp segmentation for SALT: every pixel of a photo is **0 not scalp** (face, ears,
neck, background, clothing), **1 scalp with terminal hair** or **2 hairless scalp**.
Per-view loss % = hairless / (hair + hairless) pixels (`salt.view_loss_percent`);
SALT = 0.40 top + 0.24 back + 0.18 left + 0.18 right.

| | |
|---|---|
| architecture | segmentation-models-pytorch `{cfg.architecture}`, encoder `{cfg.encoder}` (random init, no pretrained weights), decoder channels {list(cfg.decoder_channels)} |
| parameters | {n_params / 1e6:.2f} M; weights stored as float16, {size_mb:.1f} MB |
| input | RGB resized to {cfg.input_size} x {cfg.input_size} with `cv2.INTER_AREA`, scaled to [0, 1], normalised with mean {list(cfg.mean)}, std {list(cfg.std)} |
| output | {len(cfg.classes)} logits per pixel at {cfg.input_size} x {cfg.input_size}: {", ".join(cfg.classes)} |
| SHA256 (model.safetensors) | `{metrics["model_sha256"]}` |
| load | `salt.load_model("{args.name}")` (checks the SHA256 of every file against `salt/weights/registry.json`) |

## Training data

Synthetic only: visits rendered on the fly by `salt.synth.render_visit` (3-D head, four
SALT cameras, hair-loss map; exact labels), seeds drawn uniformly from [0, 10 000 000)
(odd seeds with SALT uniform over 0-100, even seeds with the generator's natural mix),
rendered at {opts.get("render_size")} px, each photo used {opts.get("reuse")} times with
different augmentation (zoom 0.7-2.2x, rotation, shift, flip, exposure, contrast, white
balance, saturation, gamma, vignetting, flash glare, defocus/motion blur, noise,
low resolution, JPEG). {state["images"]} training photos ({state["step"]} AdamW steps of
{opts.get("batch_size")}, cross-entropy with hairless weight {opts.get("hairless_weight")} +
{opts.get("dice_weight")} x soft Dice), {state["elapsed_s"] / 60:.0f} minutes on a shared
2-core CPU. No real photo was used for training. Code at commit `{_git_commit()}`;
run options in the training run's `options.json`.

## Accuracy on held-out synthetic visits

{m["n_visits"]} visits, seeds {src["seeds"][0]}..{src["seeds"][1]} (never used in training),
{"SALT uniform over 0-100" if src.get("salt_uniform") else "natural SALT mix"}, photos
{src.get("photo_size")} px. Reproduce:

    {" ".join(ev["command"] or [])}

| target | wanted | measured | |
|---|---|---|---|
{rows}

- SALT MAE {m["salt_mae"]:.2f} points (RMSE {m["salt_rmse"]:.2f}, 95th percentile absolute
  error {m["salt_p95_abs_error"]:.2f}), bias {m["salt_bias"]:+.2f}; Bland-Altman limits
  {ba["loa_low"]:+.2f} to {ba["loa_high"]:+.2f} points.
- ICC(2,1) {_fmt(m.get("icc21"), ".3f")} (95 % CI {_fmt((m.get("icc21_ci") or [None])[0], ".3f")} -
  {_fmt((m.get("icc21_ci") or [None, None])[1], ".3f")}).
- Per-view MAE (percent of the view's scalp): {views}.
- Agreement on the SALT <= 20 call {m["call_le20_agreement"]:.1%}, on the >= 50 call
  {m["call_ge50_agreement"]:.1%}; severity band accuracy {m["band_accuracy"]:.1%}, AA-IGA
  accuracy {m["aa_iga_accuracy"]:.1%}.
- IoU at the network resolution: {iou} (mIoU {_fmt(m.get("miou"), ".3f")}).

| group | value | visits | MAE | bias |
|---|---|---|---|---|
{groups}

## Real photos (no SALT truth)

{rs["n"]} real top views of a public pattern-hair-loss photo set (uploader's
grade LEVEL_2..7): Spearman correlation of the predicted top-view loss % with the grade
**{rs["spearman"]:.3f}** (p = {rs["spearman_p"]:.1g}); a skin/hair ONNX segmenter
(bare-skin share of skin + hair pixels) gives
{_fmt(rs.get("baseline_spearman"), ".3f")} on the same photos; median IoU of our hair mask
with its hair mask {_fmt(rs.get("hair_iou_with_baseline_median"), ".2f")}. Reproduce:

    {_public_command(real["command"])}

Overlays: `docs/img/model_real_overlays.png` (photos CC BY 4.0, "hair-loss" data set,
Roboflow Universe user "uze", via Multilabel-Baldness-Classification, R. Valverde Romero).
"""
    if args.notes:
        card += "\n" + args.notes.read_text()
    (dst / "README.md").write_text(card)
    for stale in (SHIPPED_ONNX, SHIPPED_RECORD):  # the previous model's export
        (dst / stale).unlink(missing_ok=True)
    update_registry(dst)  # the new weights, so that ship_export can load them
    ship_export(dst)  # first use without torch (salt.model.export)
    update_registry(dst, description=f"{cfg.architecture}/{cfg.encoder} @ {cfg.input_size}px")
    print(f"shipped {dst}: SHA256 {metrics['model_sha256']}")


if __name__ == "__main__":
    main()
