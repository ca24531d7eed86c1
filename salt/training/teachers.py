"""Pseudo-labels for real scalp photos from pretrained teacher segmenters.

No public data set pairs the four SALT views with hair-loss masks, so real photos
get labels from models trained for other tasks, combined by rules that keep only
what the teachers are good at and mark the rest unknown (255, ignored by the loss):

* **hair** (class 1) where the MediaPipe hair segmenter and the skin/clothes/hair
  segmenter both see hair; where only one does, unknown;
* **not scalp** (class 0) for background (MediaPipe person segmenter), clothes,
  and bare skin *below the lowest hair* of each image column on back, side and
  front views (neck, face and ears below the hairline);
* **hairless scalp** (class 2) for bare skin *above the highest hair* of each
  column (a bald crown or dome seen from behind or the side), and for bare skin
  inside the head on top views;
* everything else (skin beside hair, face fronts of bald profiles, the teachers'
  uncertain margins) is unknown.

The photo is first turned upright: the image edge that the person touches most is
taken as the bottom (neck and shoulders leave the frame there). The rules run in
the upright frame and the labels are turned back.

Teachers (files under a teachers folder, not shipped with ``salt``; needed only to
make training data):

* ``skin-hair-onnx/pan_mnv3small_skin_clothes_hair.onnx``: skin, clothes, hair
  (K. Takahashi, Skin-Clothes-Hair-Segmentation-using-SMP, MIT License);
* ``teachers/mediapipe/hair_segmentation.tflite`` and
  ``selfie_segmentation.tflite`` (Google MediaPipe, Apache-2.0), run with the
  ``ai-edge-litert`` package.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from salt.errors import ModelError

__all__ = ["PseudoLabel", "Teachers", "pseudo_label_rules", "upright_rotation"]

logger = logging.getLogger(__name__)

#: Label values (the mask convention of ``data/README.md``).
NOT_SCALP, HAIR, HAIRLESS, UNKNOWN = 0, 1, 2, 255

_IMAGENET_MEAN = np.asarray((0.485, 0.456, 0.406), np.float32)
_IMAGENET_STD = np.asarray((0.229, 0.224, 0.225), np.float32)


@dataclasses.dataclass
class PseudoLabel:
    """Teacher outputs and the pseudo-label of one photo.

    Attributes
    ----------
    label : ndarray, (H, W) uint8
        0 not scalp, 1 hair, 2 hairless scalp, 255 unknown; in the photo's frame.
    rotation : int
        Quarter turns counter-clockwise (``np.rot90`` k) that made the photo upright.
    hair, skin, person, clothes : ndarray, (H, W) float32
        Teacher probabilities in [0, 1], in the photo's frame.
    """

    label: npt.NDArray[np.uint8]
    rotation: int
    hair: npt.NDArray[np.float32]
    skin: npt.NDArray[np.float32]
    person: npt.NDArray[np.float32]
    clothes: npt.NDArray[np.float32]


#: Fine-texture level below which bare skin is called smooth (see :func:`fine_texture`);
#: measured on development photos: bald crowns 0.4-1.8, buzz cuts 2.5-6.1, hair 7.6.
SMOOTH_SKIN = 2.0


def fine_texture(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Local fine-texture energy relative to brightness, in percent.

    Parameters
    ----------
    rgb : ndarray, (H, W, 3) uint8

    Returns
    -------
    ndarray, (H, W) float32
        RMS of the grey image minus its Gaussian blur (sigma 2 px), averaged over a
        sigma 6 px window, divided by the local mean grey level (+10) and times 100.
        Stubble and hair give high values, bald skin low ones.
    """
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    high = g - cv2.GaussianBlur(g, (0, 0), 2.0)
    energy = cv2.GaussianBlur(high * high, (0, 0), 6.0)
    base = cv2.GaussianBlur(g, (0, 0), 6.0)
    return np.asarray(np.sqrt(energy) / (base + 10.0) * 100.0, np.float32)


def upright_rotation(
    person: npt.NDArray[np.float32], band: float = 0.04, *, turned: str | None = None
) -> int:
    """Quarter turns (``np.rot90`` k) that put the edge the person touches most at the bottom.

    Parameters
    ----------
    person : ndarray, (H, W) float32
        Person probability in [0, 1].
    band : float
        Width of the edge band, as a fraction of the side.
    turned : {"no", "90", "180"}, optional
        What a person who looked at the photo saw (e.g. a rater's note). ``"no"`` and
        ``"180"`` decide alone; ``"90"`` leaves only the side to choose by coverage.

    Returns
    -------
    int
        k in {0, 1, 2, 3}: ``np.rot90(image, k)`` is upright.
    """
    h, w = person.shape
    bh, bw = max(1, int(h * band)), max(1, int(w * band))
    edges = {
        0: float(person[-bh:].mean()),  # bottom already
        1: float(
            person[:, :bw].mean()
        ),  # left edge: np.rot90 k=1 (counter-clockwise) moves it down
        2: float(person[:bh].mean()),  # top edge
        3: float(person[:, -bw:].mean()),  # right edge
    }
    if turned == "no":
        return 0
    if turned == "180":
        return 2
    if turned == "90":
        return 1 if edges[1] >= edges[3] else 3
    best = max(edges, key=lambda k: edges[k])
    # prefer "no turn" unless another edge is clearly more covered
    if edges[best] < edges[0] + 0.15:
        return 0
    return best


def pseudo_label_rules(
    view: str,
    hair_a: npt.NDArray[np.float32],
    hair_b: npt.NDArray[np.float32],
    skin: npt.NDArray[np.float32],
    person: npt.NDArray[np.float32],
    clothes: npt.NDArray[np.float32],
    texture: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.uint8]:
    """Combine upright teacher probabilities into a pseudo-label (see the module docstring).

    Parameters
    ----------
    view : str
        ``"top"``, ``"back"``, ``"left"``, ``"right"`` or ``"front"``.
    hair_a, hair_b : ndarray, (H, W) float32
        Hair probability from two teachers, in [0, 1].
    skin, person, clothes : ndarray, (H, W) float32
        Skin, person and clothes probabilities, in [0, 1].
    texture : ndarray, (H, W) float32, optional
        Fine texture (:func:`fine_texture`); hairless is only called where it is below
        :data:`SMOOTH_SKIN` (bald skin is smooth, buzz-cut stubble is not).

    Returns
    -------
    ndarray, (H, W) uint8
        0, 1, 2 or 255 per pixel, upright frame.
    """
    h, w = skin.shape
    label = np.full((h, w), UNKNOWN, np.uint8)
    smooth = np.ones((h, w), bool) if texture is None else texture < SMOOTH_SKIN
    hair_yes = (hair_a > 0.5) & (hair_b > 0.5)
    hair_no = (hair_a < 0.3) & (hair_b < 0.3)
    background = (person < 0.2) & hair_no & (skin < 0.3)
    bare_skin = (skin > 0.5) & hair_no & (person > 0.3)
    label[background] = NOT_SCALP
    label[(clothes > 0.6) & hair_no] = NOT_SCALP
    label[hair_yes] = HAIR
    # a little erosion keeps the thin uncertain margins of the hair unknown
    hair_core = cv2.erode(hair_yes.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    rows = np.arange(h)[:, None]
    has_hair = hair_core.sum(axis=0) >= max(3, int(0.03 * h))
    lowest = np.where(has_hair, h - 1 - np.argmax(hair_core[::-1], axis=0), -1)
    highest = np.where(has_hair, np.argmax(hair_core, axis=0), h)
    if view in ("left", "right", "front"):
        # the lower half of a head seen from the side or front is face, ear, beard and neck:
        # its hair (beards) is unknown, its bare skin not scalp
        head_rows = np.nonzero((hair_yes | bare_skin).any(axis=1))[0]
        if len(head_rows):
            low = (rows[:, 0] > head_rows[0] + 0.5 * (h - head_rows[0]))[:, None]
            label[low & hair_yes] = UNKNOWN
            label[low & bare_skin] = NOT_SCALP
    if view == "top":
        # Seen from above, the person segmenter and the MediaPipe hair teacher are
        # unreliable (both mark a bald vertex as person/hair). The bald part of the head is
        # what the skin/hair teacher (hair_b) does not call hair, inside the convex hull of
        # the agreed hair, or clear skin in the middle of the frame.
        label[background & (label == NOT_SCALP)] = UNKNOWN
        inside: Any = np.zeros((h, w), np.uint8)
        ys, xs = np.nonzero(hair_core)
        if len(ys) >= 0.02 * h * w:
            hull = cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.int32))
            cv2.fillConvexPoly(inside, hull, 1)
            inside = cv2.erode(inside, np.ones((9, 9), np.uint8))
        yy, xx = np.mgrid[0:h, 0:w]
        central = ((yy / h - 0.5) ** 2 + (xx / w - 0.5) ** 2) < 0.3**2
        bald = (hair_b < 0.2) & ((inside > 0) | ((skin > 0.8) & central))
        label[bald & smooth] = HAIRLESS
        label[bald & ~smooth] = UNKNOWN
    else:
        below = (rows > lowest[None, :] + 0.02 * h) & has_hair[None, :]
        above = (rows < highest[None, :] - 0.02 * h) & has_hair[None, :]
        label[bare_skin & below] = NOT_SCALP
        label[bare_skin & above & smooth] = HAIRLESS if view != "front" else UNKNOWN
    return label


class Teachers:
    """The pretrained teachers, loaded once.

    Parameters
    ----------
    shared_data : path
        Folder holding ``skin-hair-onnx/`` and ``teachers/mediapipe/``.

    Raises
    ------
    ModelError
        If a teacher file is missing or its runtime (onnxruntime, ai-edge-litert)
        is not installed.
    """

    def __init__(self, shared_data: str | os.PathLike[str]) -> None:
        root = Path(shared_data)
        onnx_path = root / "skin-hair-onnx" / "pan_mnv3small_skin_clothes_hair.onnx"
        mp = root / "teachers" / "mediapipe"
        for p in (onnx_path, mp / "hair_segmentation.tflite", mp / "selfie_segmentation.tflite"):
            if not p.is_file():
                raise ModelError(f"teacher model {p} not found")
        try:
            import onnxruntime as ort
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ModelError(
                f"teachers need onnxruntime and ai-edge-litert ({exc}); pip install 'salt[train]'"
            ) from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self._onnx = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self._hair = Interpreter(model_path=str(mp / "hair_segmentation.tflite"), num_threads=1)
        self._hair.allocate_tensors()
        self._selfie = Interpreter(model_path=str(mp / "selfie_segmentation.tflite"), num_threads=1)
        self._selfie.allocate_tensors()

    @staticmethod
    def _run(interp: Any, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        interp.set_tensor(interp.get_input_details()[0]["index"], x)
        interp.invoke()
        return np.asarray(interp.get_tensor(interp.get_output_details()[0]["index"]), np.float32)

    def person(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Person probability (H, W) float32 from the MediaPipe selfie segmenter."""
        h, w = rgb.shape[:2]
        x = cv2.resize(rgb, (256, 256), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        out = self._run(self._selfie, x[None])[0, :, :, 0]
        return np.asarray(cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)

    def mediapipe_hair(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Hair probability (H, W) float32 from MediaPipe hair segmentation (mask fed back)."""
        h, w = rgb.shape[:2]
        x = cv2.resize(rgb, (512, 512), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        prev = np.zeros((512, 512, 1), np.float32)
        prob = prev[..., 0]
        for _ in range(2):
            logits = self._run(self._hair, np.concatenate([x, prev], axis=2)[None])[0]
            e = np.exp(logits - logits.max(axis=2, keepdims=True))
            prob = e[..., 1] / e.sum(axis=2)
            prev = prob[..., None].astype(np.float32)
        return np.asarray(cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)

    def skin_clothes_hair(
        self, rgb: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """(skin, clothes, hair) probabilities, each (H, W) float32, from the ONNX segmenter."""
        h, w = rgb.shape[:2]
        x = cv2.resize(rgb, (512, 512)).astype(np.float32) / 255.0
        x = ((x - _IMAGENET_MEAN) / _IMAGENET_STD).transpose(2, 0, 1)[None]
        out = self._onnx.run(None, {self._onnx.get_inputs()[0].name: x.astype(np.float32)})[0][0]
        return tuple(  # type: ignore[return-value]
            np.asarray(cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
            for c in out
        )

    def label(
        self, rgb: npt.NDArray[np.uint8], view: str, turned: str | None = None
    ) -> PseudoLabel:
        """Pseudo-label one photo.

        Parameters
        ----------
        rgb : ndarray, (H, W, 3) uint8
            The photo, as decoded by :func:`salt.io.photo.load_photo` (EXIF applied).
        view : str
            ``"top"``, ``"back"``, ``"left"``, ``"right"`` or ``"front"``.
        turned : {"no", "90", "180"}, optional
            Rotation seen by a person (see :func:`upright_rotation`).

        Returns
        -------
        PseudoLabel
        """
        k = upright_rotation(self.person(rgb), turned=turned)
        up = np.ascontiguousarray(np.rot90(rgb, k))
        person = self.person(up)
        hair_a = self.mediapipe_hair(up)
        skin, clothes, hair_b = self.skin_clothes_hair(up)
        lab = pseudo_label_rules(view, hair_a, hair_b, skin, person, clothes, fine_texture(up))

        def back(a: npt.NDArray[Any]) -> Any:
            return np.ascontiguousarray(np.rot90(a, -k))

        return PseudoLabel(
            label=back(lab),
            rotation=k,
            hair=back(np.minimum(hair_a, hair_b)),
            skin=back(skin),
            person=back(person),
            clothes=back(clothes),
        )
