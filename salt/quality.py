"""Photo-quality checks for one view: blur, exposure, scalp in frame, view label.

:func:`quality_flags` measures a photo (and the class map predicted for it) and
returns numbers plus boolean flags, one row of ``views.csv``. The cut-offs live in
the frozen dataclass :class:`QualityThresholds`; pass your own to change them.

The default thresholds were chosen on synthetic visits (``salt.synth``) with known
degradations and then measured on other synthetic visits: see
``benchmarks/quality_flags.py`` and ``benchmarks/results/quality.txt``, and the
README's "Robustness" section, for precision and recall of each flag.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from salt.errors import BadValueError
from salt.views import normalize_view

__all__ = [
    "FLAG_NAMES",
    "QualityThresholds",
    "detail_isotropy",
    "laplacian_variance",
    "mask_geometry",
    "quality_flags",
    "view_log_likelihoods",
]

#: The boolean flags returned by :func:`quality_flags`, in column order.
FLAG_NAMES: tuple[str, ...] = (
    "blurry",
    "overexposed",
    "underexposed",
    "too_little_scalp",
    "view_mismatch",
)


@dataclass(frozen=True)
class QualityThresholds:
    """Cut-offs of the quality flags (all configurable).

    The defaults maximise each flag's F1 score on synthetic visits (``salt.synth`` at
    commit fce7ca2, seeds 0-39, 512 px, true masks) against known degradations, rounded
    (the two blur cut-offs jointly): ``python benchmarks/quality_flags.py --fit --seeds
    0:40``. Their precision and recall on other seeds are in
    ``benchmarks/results/quality.txt``. Real photos differ from synthetic ones: treat the
    flags as prompts to look at a photo, and tune the cut-offs on your own data.

    Attributes
    ----------
    analysis_side : int
        The photo is resized (area averaging) so its short side is this many pixels
        before blur is measured, so the blur measure does not depend on resolution.
        256 is the smallest short side a photo reaches :func:`quality_flags` with in
        the engine (``min_side`` and the network input are both >= 256), so every
        photo is measured at the same scale. Smaller photos are measured as they are.
    min_laplacian_var : float
        ``blurry`` when the variance of the Laplacian (3x3 kernel, grey levels 0-255,
        at ``analysis_side``, after a contrast stretch; :func:`laplacian_variance`) is
        below this (defocus blur).
    min_detail_isotropy : float
        ``blurry`` also when :func:`detail_isotropy` is below this: the fine detail runs
        in one direction only, the mark of motion blur, which the Laplacian misses
        (edges across the motion stay sharp). 0 turns this test off.
    highlight_level : int
        A pixel is a clipped highlight when its luma (ITU-R BT.601 grey,
        ``0.299 R + 0.587 G + 0.114 B``, 0-255) is >= this. Luma, not the brightest
        channel, so that saturated red on light skin under warm light is not "clipped".
    shadow_level : int
        A pixel is a crushed shadow when its luma is <= this (0-255).
    max_highlight_fraction : float
        ``overexposed`` when more than this fraction of the frame is clipped highlight.
        Measured on the frame, not only the scalp: over-exposure clips the skin and
        the background long before it clips dark hair.
    max_shadow_fraction : float
        ``underexposed`` when more than this fraction of the frame is crushed shadow.
    min_scalp_fraction : float
        ``too_little_scalp`` when scalp (class 1 or 2) covers less than this fraction
        of the frame.
    view_margin : float
        ``view_mismatch`` when the scalp-mask geometry fits another view better than
        the labelled one by more than this many nats (log-likelihood difference under
        :data:`VIEW_MODEL`).
    min_scalp_fraction_for_view : float
        The view check is skipped (never flags; ``view_margin`` NaN) when scalp covers
        less than this fraction of the frame: there is too little shape to judge (and
        ``too_little_scalp`` already flags it when equal to ``min_scalp_fraction``).
    """

    analysis_side: int = 256
    min_laplacian_var: float = 45.0
    min_detail_isotropy: float = 0.18
    highlight_level: int = 250
    shadow_level: int = 10
    max_highlight_fraction: float = 0.16
    max_shadow_fraction: float = 0.13
    min_scalp_fraction: float = 0.15
    view_margin: float = 0.6
    min_scalp_fraction_for_view: float = 0.15

    def __post_init__(self) -> None:
        for name in ("max_highlight_fraction", "max_shadow_fraction", "min_scalp_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise BadValueError(f"QualityThresholds.{name} must be in [0, 1], got {value!r}")
        if self.analysis_side < 16:
            raise BadValueError(
                f"QualityThresholds.analysis_side must be >= 16, got {self.analysis_side}"
            )


#: Scalp-mask geometry features used by the view check (see :func:`mask_geometry`).
GEOMETRY_FEATURES: tuple[str, ...] = (
    "scalp_fraction",
    "centroid_x",
    "centroid_y",
    "bottom_rows",
    "top_rows",
    "mirror_iou",
    "bottom_slope",
    "aspect",
)

#: Per-view (mean, standard deviation) of each feature in :data:`GEOMETRY_FEATURES`,
#: fitted on the true scalp masks of synthetic visits (seeds 0-39, 512 px) by
#: ``python benchmarks/quality_flags.py --fit --seeds 0:40``; standard deviations are
#: floored at 0.05 so a feature constant in synthetic photos cannot veto a real one.
VIEW_MODEL: Mapping[str, Mapping[str, tuple[float, float]]] = MappingProxyType(
    {
        "top": MappingProxyType(
            {
                "scalp_fraction": (0.5362, 0.1249),
                "centroid_x": (0.5125, 0.05),
                "centroid_y": (0.5083, 0.05),
                "bottom_rows": (0.2503, 0.207),
                "top_rows": (0.2233, 0.2238),
                "mirror_iou": (0.7919, 0.1061),
                "bottom_slope": (0.0262, 0.1297),
                "aspect": (1.2358, 0.0675),
            }
        ),
        "back": MappingProxyType(
            {
                "scalp_fraction": (0.4544, 0.1134),
                "centroid_x": (0.4952, 0.066),
                "centroid_y": (0.3582, 0.0813),
                "bottom_rows": (0.0146, 0.0702),
                "top_rows": (0.5107, 0.2694),
                "mirror_iou": (0.7678, 0.1965),
                "bottom_slope": (0.0037, 0.0526),
                "aspect": (0.9104, 0.1334),
            }
        ),
        "left": MappingProxyType(
            {
                "scalp_fraction": (0.2632, 0.0597),
                "centroid_x": (0.6413, 0.0618),
                "centroid_y": (0.2944, 0.0796),
                "bottom_rows": (0.0021, 0.05),
                "top_rows": (0.2847, 0.2308),
                "mirror_iou": (0.3661, 0.1592),
                "bottom_slope": (0.3974, 0.1771),
                "aspect": (0.8265, 0.1864),
            }
        ),
        "right": MappingProxyType(
            {
                "scalp_fraction": (0.2627, 0.0574),
                "centroid_x": (0.3809, 0.0752),
                "centroid_y": (0.2892, 0.094),
                "bottom_rows": (0.0018, 0.05),
                "top_rows": (0.315, 0.2513),
                "mirror_iou": (0.3931, 0.1587),
                "bottom_slope": (-0.3628, 0.1871),
                "aspect": (0.8033, 0.1601),
            }
        ),
    }
)


def _check_rgb(rgb: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or arr.size == 0:
        raise BadValueError(
            f"rgb must be an (H, W, 3) uint8 array, got shape {arr.shape} dtype {arr.dtype}"
        )
    return arr


def _check_class_map(class_map: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    arr = np.asarray(class_map)
    if arr.ndim != 2 or arr.size == 0 or arr.dtype.kind not in "uib":
        raise BadValueError(
            f"class_map must be an (H, W) integer array of 0/1/2, got shape {arr.shape} "
            f"dtype {arr.dtype}"
        )
    if arr.dtype != np.uint8:
        if arr.min() < 0 or arr.max() > 2:
            raise BadValueError("class_map must hold only 0 (not scalp), 1 (hair), 2 (hairless)")
        arr = arr.astype(np.uint8)
    elif arr.max() > 2:
        raise BadValueError("class_map must hold only 0 (not scalp), 1 (hair), 2 (hairless)")
    return arr


def laplacian_variance(
    rgb: npt.NDArray[np.uint8], *, analysis_side: int = 256, stretch: bool = True
) -> float:
    """Variance of the Laplacian of the grey image, a sharpness measure.

    Parameters
    ----------
    rgb : numpy.ndarray of uint8, shape (H, W, 3)
        The photo.
    analysis_side : int, default 256
        Short side, in pixels, the photo is area-resized to first (only downwards).
    stretch : bool, default True
        Stretch the grey levels linearly so that their 1st and 99th percentiles map
        to 0 and 255 first, so that a dark or flat photo is not mistaken for a blurred
        one (exposure has its own flags).

    Returns
    -------
    float
        Variance of ``cv2.Laplacian`` (3x3 aperture) in grey levels squared; low
        values mean few sharp edges (blur).
    """
    import cv2

    grey = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    return _grey_laplacian_variance(_analysis_grey(grey, analysis_side), stretch)


def detail_isotropy(rgb: npt.NDArray[np.uint8], *, analysis_side: int = 256) -> float:
    """How evenly the photo's fine detail is spread over directions (motion-blur check).

    Parameters
    ----------
    rgb : numpy.ndarray of uint8, shape (H, W, 3)
        The photo.
    analysis_side : int, default 256
        Short side, in pixels, the photo is area-resized to first (only downwards).

    Returns
    -------
    float
        ``lambda_min / lambda_max`` of the mean structure tensor (Sobel gradients) of
        the grey photo's fine detail (the photo minus its Gaussian blur, sigma 2 px):
        1 when edges run in all directions, near 0 when every edge runs one way, as
        after a linear motion blur. 1 for a flat photo.
    """
    import cv2

    grey = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    return _grey_isotropy(_analysis_grey(grey, analysis_side))


def _analysis_grey(grey: npt.NDArray[np.uint8], analysis_side: int) -> npt.NDArray[np.uint8]:
    import cv2

    h, w = grey.shape
    short = min(h, w)
    if short > analysis_side:
        s = analysis_side / short
        size = (max(1, round(w * s)), max(1, round(h * s)))
        grey = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return grey


def _grey_laplacian_variance(grey: npt.NDArray[np.uint8], stretch: bool) -> float:
    import cv2

    levels = np.arange(256, dtype=np.float32)
    if stretch:
        # 1st and 99th percentile grey levels from the histogram (fast on uint8)
        cdf = np.cumsum(np.bincount(grey.ravel(), minlength=256))
        lo = int(np.searchsorted(cdf, 0.01 * cdf[-1]))
        hi = int(np.searchsorted(cdf, 0.99 * cdf[-1]))
        if hi > lo:
            levels = (levels - lo) * np.float32(255.0 / (hi - lo))
    g = levels[grey]
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=1)
    _, sd = cv2.meanStdDev(lap)
    return float(sd[0, 0]) ** 2


def _grey_isotropy(grey: npt.NDArray[np.uint8]) -> float:
    import cv2

    g = grey.astype(np.float32)
    detail = g - cv2.GaussianBlur(g, (0, 0), 2.0)
    gx = cv2.Sobel(detail, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(detail, cv2.CV_32F, 0, 1, ksize=3)
    a = float(np.mean(gx * gx, dtype=np.float64))
    b = float(np.mean(gx * gy, dtype=np.float64))
    c = float(np.mean(gy * gy, dtype=np.float64))
    half_trace = (a + c) / 2
    disc = math.sqrt(max(half_trace * half_trace - (a * c - b * b), 0.0))
    big, small = half_trace + disc, half_trace - disc
    if big <= 1e-9:
        return 1.0
    return max(0.0, small / big)


def _resize_nearest(mask: npt.NDArray[np.uint8], shape: tuple[int, int]) -> npt.NDArray[np.uint8]:
    if mask.shape == shape:
        return mask
    import cv2

    out = cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return np.asarray(out, dtype=np.uint8)


def mask_geometry(scalp: npt.ArrayLike, *, side: int = 64) -> dict[str, float]:
    """Shape features of a scalp mask, used to tell the four views apart.

    Parameters
    ----------
    scalp : array_like of bool, shape (H, W)
        Scalp pixels (hair or hairless).
    side : int, default 64
        The mask is resized (nearest) to ``side`` x ``side`` first.

    Returns
    -------
    dict of str to float
        ``scalp_fraction`` (of the frame), ``centroid_x`` / ``centroid_y`` (0 left/top,
        1 right/bottom), ``bottom_rows`` / ``top_rows`` (scalp fraction of the bottom /
        top tenth of the frame), ``mirror_iou`` (IoU of the mask with its left-right
        mirror: 1 symmetric), ``bottom_slope`` (slope of the lowest scalp pixel per
        column against x, in frame heights per frame width; positive when the scalp
        reaches lower on the right), ``aspect`` (bounding-box height / width). All 0
        for an empty mask.
    """
    import cv2

    m = np.asarray(scalp).astype(np.uint8)
    m = cv2.resize(m, (side, side), interpolation=cv2.INTER_NEAREST).astype(bool)
    feats = dict.fromkeys(GEOMETRY_FEATURES, 0.0)
    n = int(m.sum())
    if n == 0:
        return feats
    ys, xs = np.nonzero(m)
    band = max(1, side // 10)
    feats["scalp_fraction"] = n / m.size
    feats["centroid_x"] = float((xs.mean() + 0.5) / side)
    feats["centroid_y"] = float((ys.mean() + 0.5) / side)
    feats["bottom_rows"] = float(m[-band:].mean())
    feats["top_rows"] = float(m[:band].mean())
    mirror = m[:, ::-1]
    feats["mirror_iou"] = float((m & mirror).sum() / (m | mirror).sum())
    cols = np.nonzero(m.any(axis=0))[0]
    if cols.size >= 2:
        lowest = side - 1 - np.argmax(m[::-1, cols], axis=0)  # lowest scalp row per column
        x = (cols + 0.5) / side
        y = (lowest + 0.5) / side
        xc = x - x.mean()
        denom = float((xc**2).sum())
        feats["bottom_slope"] = float((xc * (y - y.mean())).sum() / denom) if denom > 0 else 0.0
    height = ys.max() - ys.min() + 1
    width = xs.max() - xs.min() + 1
    feats["aspect"] = float(height / width)
    return feats


def view_log_likelihoods(
    features: Mapping[str, float],
    model: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
) -> dict[str, float]:
    """Log-likelihood of mask-geometry features under each view's Gaussian model.

    Parameters
    ----------
    features : Mapping[str, float]
        Output of :func:`mask_geometry`.
    model : Mapping, optional
        View -> feature -> (mean, standard deviation); default :data:`VIEW_MODEL`.

    Returns
    -------
    dict of str to float
        View -> sum over features of the Gaussian log-density (nats); empty when
        the model is empty.
    """
    model = VIEW_MODEL if model is None else model
    out: dict[str, float] = {}
    for view, params in model.items():
        total = 0.0
        for name, (mean, sd) in params.items():
            sd = max(float(sd), 1e-3)
            z = (float(features[name]) - float(mean)) / sd
            total += -0.5 * z * z - math.log(sd) - 0.5 * math.log(2 * math.pi)
        out[view] = total
    return out


def quality_flags(
    rgb: npt.ArrayLike,
    class_map: npt.ArrayLike | None,
    view: str,
    *,
    thresholds: QualityThresholds | None = None,
) -> dict[str, float | bool]:
    """Measure one photo's quality and flag problems.

    Parameters
    ----------
    rgb : array_like of uint8, shape (H, W, 3)
        The photo, RGB, upright (as :func:`salt.io.photo.load_photo` returns it).
    class_map : array_like of int, shape (h, w), or None
        The predicted (or true) classes of the photo: 0 not scalp, 1 scalp with hair,
        2 hairless scalp. Any resolution covering the whole photo (it is resized,
        nearest, to the photo's size). ``None`` skips the scalp and view checks
        (their measures are NaN and their flags False).
    view : str
        The view the photo is labelled as (``"top"``, ``"back"``, ``"left"``,
        ``"right"`` or an alias).
    thresholds : QualityThresholds, optional
        Cut-offs; default :class:`QualityThresholds()`.

    Returns
    -------
    dict of str to float or bool
        Measures: ``laplacian_var`` (grey levels squared, after the contrast
        stretch of :func:`laplacian_variance`), ``detail_isotropy`` (0-1,
        :func:`detail_isotropy`), ``highlight_fraction`` and
        ``shadow_fraction`` (of the frame), ``scalp_highlight_fraction`` and
        ``scalp_shadow_fraction`` (of the scalp; NaN without scalp; reported, not
        flagged), ``scalp_fraction`` (of the frame), ``view_margin`` (nats by which the best
        other view beats the labelled one; negative when the label fits best).
        Flags (see :data:`FLAG_NAMES`): ``blurry``, ``overexposed``,
        ``underexposed``, ``too_little_scalp``, ``view_mismatch``; and ``flagged``
        (any flag).

    Raises
    ------
    BadValueError
        If ``rgb`` or ``class_map`` have the wrong shape, dtype or values, or the
        view name is unknown.
    """
    t = QualityThresholds() if thresholds is None else thresholds
    img = _check_rgb(rgb)
    view = normalize_view(view)
    h, w = img.shape[:2]
    out: dict[str, float | bool] = {}

    import cv2

    luma = np.asarray(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    small = _analysis_grey(luma, t.analysis_side)
    lap = _grey_laplacian_variance(small, True)
    iso = _grey_isotropy(small)
    out["laplacian_var"] = lap
    out["detail_isotropy"] = iso

    cm: npt.NDArray[np.uint8] | None = None
    scalp: npt.NDArray[np.bool_] | None = None
    if class_map is not None:
        cm = _check_class_map(class_map)
        scalp = _resize_nearest(cm, (h, w)) > 0
    bright = luma >= t.highlight_level
    dark = luma <= t.shadow_level
    out["highlight_fraction"] = np.count_nonzero(bright) / bright.size
    out["shadow_fraction"] = np.count_nonzero(dark) / dark.size
    n_scalp = int(np.count_nonzero(scalp)) if scalp is not None else 0
    if scalp is not None and n_scalp:
        out["scalp_highlight_fraction"] = np.count_nonzero(bright & scalp) / n_scalp
        out["scalp_shadow_fraction"] = np.count_nonzero(dark & scalp) / n_scalp
    else:
        out["scalp_highlight_fraction"] = float("nan")
        out["scalp_shadow_fraction"] = float("nan")

    if scalp is not None and cm is not None:
        frac = n_scalp / scalp.size
        out["scalp_fraction"] = frac
        margin = -math.inf
        if frac >= t.min_scalp_fraction_for_view and VIEW_MODEL:
            ll = view_log_likelihoods(mask_geometry(cm > 0))
            margin = max(v for k, v in ll.items() if k != view) - ll[view]
        out["view_margin"] = float(margin) if math.isfinite(margin) else float("nan")
    else:
        frac = float("nan")
        margin = -math.inf
        out["scalp_fraction"] = frac
        out["view_margin"] = float("nan")

    out["blurry"] = bool(lap < t.min_laplacian_var or iso < t.min_detail_isotropy)
    out["overexposed"] = bool(out["highlight_fraction"] > t.max_highlight_fraction)
    out["underexposed"] = bool(out["shadow_fraction"] > t.max_shadow_fraction)
    out["too_little_scalp"] = bool(scalp is not None and frac < t.min_scalp_fraction)
    out["view_mismatch"] = bool(math.isfinite(margin) and margin > t.view_margin)
    out["flagged"] = any(bool(out[name]) for name in FLAG_NAMES)
    return out
