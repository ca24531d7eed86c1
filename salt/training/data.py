"""Training samples: synthetic visits rendered on the fly, labelled and pseudo-labelled photos.

* **Synthetic visits**, rendered by :func:`salt.synth.render_visit` in DataLoader worker
  processes (so rendering runs beside the network). Training draws seeds uniformly from
  ``[0, 10_000_000)`` (:data:`TRAIN_SEEDS`). The validation set scored while training is
  ``[20_000_000, 20_000_000 + n)`` (:data:`VALIDATION_SEED_START`), and
  :mod:`salt.training.evaluate` uses seeds from ``10_000_000`` (:data:`HELDOUT_SEED_START`):
  no seed is ever shared.
* **Labelled folders**: ``DATA/photos/<subject>/<visit>/<view>.<ext>`` with masks
  ``DATA/masks/<subject>/<visit>/<view>.png`` (uint8: 0 not scalp, 1 hair, 2 hairless
  scalp, 255 = unknown, ignored by the loss); pseudo-labels use the same layout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import IterableDataset, get_worker_info

from salt.errors import SaltError
from salt.io.photo import load_mask, load_photo
from salt.model import ModelConfig
from salt.training.augment import augment
from salt.training.realdata import paste_bald_patches, rotate_quarter
from salt.views import VIEWS

__all__ = [
    "HELDOUT_SEED_START",
    "SHORT_HAIR_SHARE",
    "TRAIN_SEEDS",
    "VALIDATION_SEED_START",
    "SampleStream",
    "read_pair",
    "render_training_visit",
]

logger = logging.getLogger(__name__)

#: Synthetic seeds used for training: drawn uniformly from this half-open range.
TRAIN_SEEDS: tuple[int, int] = (0, 10_000_000)
#: First seed of the held-out evaluation set (``salt evaluate --synthetic N``: N seeds from here).
HELDOUT_SEED_START = 10_000_000
#: First seed of the small validation set scored at each checkpoint during training.
VALIDATION_SEED_START = 20_000_000
#: Share of synthetic training visits drawn with buzz-cut or stubble hair.
SHORT_HAIR_SHARE = 0.25


def read_pair(photo: Path, mask: Path) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Read a photo and its class mask, the mask resized (nearest) to the photo.

    The photo is decoded by :func:`salt.io.photo.load_photo` (upright, EXIF applied),
    the decoder of ``salt score``; the mask by :func:`salt.io.photo.load_mask`.

    Returns
    -------
    rgb : ndarray of uint8, shape (H, W, 3)
    mask : ndarray of uint8, shape (H, W)
    """
    rgb = load_photo(photo, min_side=32).rgb
    lab: Any = load_mask(mask)
    if lab.shape != rgb.shape[:2]:
        lab = cv2.resize(lab, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
    return np.asarray(rgb, np.uint8), np.asarray(lab, np.uint8)


def render_training_visit(seed: int, render_size: int) -> Any:
    """Render a training visit; odd seeds spread SALT uniformly over 0-100 (severe cases too)."""
    from salt.synth import render_visit

    # one visit in four has buzz-cut or stubble hair (1.5-8 mm): real clinics see many, and
    # very short hair is hair, not hair loss
    rng = np.random.default_rng(seed)
    length = float(rng.uniform(0.15, 0.8)) if rng.random() < SHORT_HAIR_SHARE else None
    return render_visit(seed, size=render_size, salt_uniform=bool(seed % 2), hair_length=length)


class SampleStream(IterableDataset):
    """Endless stream of augmented (image, mask) tensors for training.

    Each worker has its own generator seeded from (run seed, worker id, start
    step), so a resumed run draws new samples rather than repeating old ones.
    Yields ``(image, mask)``: float32 (3, S, S) normalised, int64 (S, S).
    """

    def __init__(
        self,
        config: ModelConfig,
        *,
        synthetic: bool,
        pairs: Sequence[tuple[Path, Path]],
        real_fraction: float,
        render_size: int,
        seed: int,
        start_step: int,
        renderer: Callable[[int, int], Any] = render_training_visit,
        reuse: int = 1,
        rotate90: float = 0.0,
        bald_patches: float = 0.0,
    ) -> None:
        super().__init__()
        self.config = config
        self.synthetic = synthetic
        self.pairs = list(pairs)
        self.real_fraction = (
            real_fraction if (synthetic and self.pairs) else (0.0 if synthetic else 1.0)
        )
        self.render_size = render_size
        self.seed = seed
        self.start_step = start_step
        self.renderer = renderer
        self.reuse = max(1, reuse)
        self.buffer_size = 32 if self.reuse > 1 else 0
        self.rotate90 = rotate90
        self.bald_patches = bald_patches

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = get_worker_info()
        wid = info.id if info is not None else 0
        if info is not None:
            torch.set_num_threads(1)
            cv2.setNumThreads(1)
        rng = np.random.default_rng([self.seed, wid, self.start_step])
        mean = np.asarray(self.config.mean, np.float32)
        std = np.asarray(self.config.std, np.float32)
        size = self.config.input_size
        buffer: list[tuple[torch.Tensor, torch.Tensor]] = []
        while True:
            if rng.random() < self.real_fraction:
                photo, mask_path = self.pairs[int(rng.integers(len(self.pairs)))]
                try:
                    items = [read_pair(photo, mask_path)]
                except SaltError as exc:
                    logger.warning("skipping %s: %s", photo, exc)
                    continue
                if rng.random() < self.bald_patches:
                    items = [paste_bald_patches(rng, *items[0])]
            else:
                visit = self.renderer(int(rng.integers(*TRAIN_SEEDS)), self.render_size)
                items = [(visit.photos[v], visit.labels[v]) for v in VIEWS] * self.reuse
            for img, lab in items:
                img, lab = rotate_quarter(rng, img, lab, self.rotate90)
                a_img, a_lab = augment(rng, img, lab, size)
                x = (a_img.astype(np.float32) / 255.0 - mean) / std
                sample = (
                    torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))),
                    torch.from_numpy(a_lab.astype(np.int64)),
                )
                # a small shuffle buffer, so copies of one photo rarely share a batch
                if len(buffer) < self.buffer_size:
                    buffer.append(sample)
                    continue
                k = int(rng.integers(len(buffer)))
                buffer[k], sample = sample, buffer[k]
                yield sample
