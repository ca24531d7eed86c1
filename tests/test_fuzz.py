"""Property-based fuzzing: decoder and scoring API never crash, never return NaN.

Any input gives either a valid result or a :class:`salt.SaltError`; any other
exception is a bug. ``max_examples`` is kept small so the suite stays fast; raise
``SALT_FUZZ_EXAMPLES`` in the environment for a longer hunt.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import salt
from salt.io.photo import Photo, load_photo

EXAMPLES = int(os.environ.get("SALT_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_DIR = Path(tempfile.mkdtemp(prefix="salt-fuzz-"))


def _seed_files() -> dict[str, bytes]:
    """Small valid images of each format, to mutate (more reach than random bytes)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (24, 32, 3)).astype(np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = {}
    for fmt, kw in (
        ("JPEG", {"quality": 80, "exif": exif.tobytes()}),
        ("JPEG", {"quality": 80, "progressive": True}),
        ("PNG", {}),
        ("WEBP", {"quality": 80}),
        ("TIFF", {}),
        ("HEIF", {"quality": 80}),
        ("BMP", {}),
        ("GIF", {}),
    ):
        bio = io.BytesIO()
        img.save(bio, fmt, **kw)
        out[f"{fmt}{len(out)}"] = bio.getvalue()
    return out


SEEDS = _seed_files()


def _check_decode(data: bytes, name: str = "fuzz.jpg") -> None:
    path = _DIR / name
    path.write_bytes(data)
    try:
        photo = load_photo(path, target_side=16, min_side=8)
    except salt.SaltError as exc:
        assert str(path) in str(exc)
        return
    assert isinstance(photo, Photo)
    assert photo.rgb.dtype == np.uint8 and photo.rgb.ndim == 3 and photo.rgb.shape[2] == 3
    assert photo.rgb.shape[0] >= 1 and photo.rgb.shape[1] >= 1
    assert 1 <= photo.orientation <= 8 and photo.reduction in (1, 2, 4, 8)


@FUZZ
@given(st.binary(max_size=4096))
def test_decoder_random_bytes(data: bytes) -> None:
    _check_decode(data)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[i : i + draw(st.integers(1, 64))]
    return bytes(data)


@FUZZ
@given(_mutated(), st.sampled_from(["x.jpg", "x.png", "x.heic", "x.tif"]))
def test_decoder_mutated_images(data: bytes, name: str) -> None:
    _check_decode(data, name)


def test_decoder_seed_files_are_valid() -> None:
    # The mutation seeds themselves decode (so the fuzzing starts from real images).
    for key, data in SEEDS.items():
        path = _DIR / f"seed_{key}"
        path.write_bytes(data)
        assert load_photo(path, min_side=8).rgb.shape[:2] in ((24, 32), (32, 24)), key


# ----------------------------------------------------------------- scoring API
_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),  # beyond float range
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.complex_numbers(),
    st.lists(st.floats(), max_size=3),
    st.decimals(allow_nan=True),
    st.fractions(),
)
_VIEW_KEYS = st.sampled_from(["top", "back", "left", "right", "vertex", "Top", "", "front"])


def _valid_percent(x: object) -> bool:
    return isinstance(x, float) and math.isfinite(x) and 0.0 <= x <= 100.0


@FUZZ
@given(st.dictionaries(_VIEW_KEYS, _ANY, max_size=6))
def test_salt_score_any_mapping(values: dict[str, object]) -> None:
    try:
        result = salt.salt_score(values)
    except salt.SaltError:
        return
    assert _valid_percent(result)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["top", "back", "left", "right"]),
        st.floats(min_value=0, max_value=100),
        min_size=4,
    )
)
def test_salt_score_valid_inputs_in_range(values: dict[str, float]) -> None:
    result = salt.salt_score(values)
    assert _valid_percent(result)
    assert min(values.values()) - 1e-9 <= result <= max(values.values()) + 1e-9


@FUZZ
@given(_ANY)
def test_severity_band_and_aa_iga_any_value(value: object) -> None:
    for fn, ok in (
        (salt.severity_band, lambda r: r in {"S0", "S1", "S2", "S3", "S4", "S5"}),
        (salt.aa_iga, lambda r: isinstance(r, int) and 0 <= r <= 4),
    ):
        try:
            result = fn(value)  # type: ignore[operator]
        except salt.SaltError:
            continue
        assert ok(result), (fn.__name__, value, result)


@FUZZ
@given(st.floats(min_value=0, max_value=100))
def test_bands_monotone_in_score(score: float) -> None:
    lower = max(0.0, score - 1.0)
    assert salt.aa_iga(lower) <= salt.aa_iga(score)
    order = ["S0", "S1", "S2", "S3", "S4", "S5"]
    assert order.index(salt.severity_band(lower)) <= order.index(salt.severity_band(score))


_MASK_DTYPES = st.sampled_from(
    [np.bool_, np.uint8, np.int16, np.int64, np.float32, np.float64, np.complex64]
)


@st.composite
def _masks(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
    same = draw(st.booleans())
    shape_b = shape if same else draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0))
    values = [0, 1] if draw(st.booleans()) else [0, 1, 2, -1]
    elements = st.sampled_from(values)
    a = draw(hnp.arrays(np.int8, shape, elements=elements)).astype(draw(_MASK_DTYPES))
    b = draw(hnp.arrays(np.int8, shape_b, elements=elements)).astype(draw(_MASK_DTYPES))
    return a, b


@FUZZ
@given(_masks())
def test_view_loss_percent_any_masks(masks: tuple[np.ndarray, np.ndarray]) -> None:
    scalp, bald = masks
    try:
        result = salt.view_loss_percent(scalp, bald)
    except salt.SaltError:
        return
    assert _valid_percent(result)


@FUZZ
@given(_ANY, _ANY)
def test_view_loss_percent_any_objects(scalp: object, bald: object) -> None:
    try:
        result = salt.view_loss_percent(scalp, bald)  # type: ignore[arg-type]
    except salt.SaltError:
        return
    assert _valid_percent(result)


@pytest.mark.parametrize("value", [None, 3.0, object()])
def test_salt_score_non_mapping(value: object) -> None:
    with pytest.raises(salt.SaltError):
        salt.salt_score(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("fn", ["salt_score", "severity_band", "aa_iga"])
def test_huge_integer_is_a_bad_value(fn: str) -> None:
    arg: object = 10**400
    if fn == "salt_score":
        arg = {"top": 10**400, "back": 0, "left": 0, "right": 0}
    with pytest.raises(salt.BadValueError):
        getattr(salt, fn)(arg)


def test_non_mapping_sequences_are_rejected() -> None:
    # Iterables of strings happen to raise the right error already.
    for value in ("top", ["top", 1.0]):
        with pytest.raises(salt.SaltError):
            salt.salt_score(value)  # type: ignore[arg-type]


# ----------------------------------------------------------------- quality flags
@st.composite
def _quality_inputs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray | None, str]:
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    rgb = draw(hnp.arrays(np.uint8, (h, w, 3)))
    cmap = None
    if draw(st.booleans()):
        ch, cw = draw(st.integers(1, 40)), draw(st.integers(1, 40))
        cmap = draw(hnp.arrays(np.uint8, (ch, cw), elements=st.integers(0, 2)))
    view = draw(st.sampled_from(["top", "back", "left", "right", "vertex", "L"]))
    return rgb, cmap, view


@FUZZ
@given(_quality_inputs())
def test_quality_flags_any_valid_photo(args: tuple[np.ndarray, np.ndarray | None, str]) -> None:
    from salt.quality import FLAG_NAMES, quality_flags

    rgb, cmap, view = args
    q = quality_flags(rgb, cmap, view)
    for name in (*FLAG_NAMES, "flagged"):
        assert isinstance(q[name], bool)
    for name in ("laplacian_var", "highlight_fraction", "shadow_fraction"):
        assert math.isfinite(q[name]) and q[name] >= 0
    assert 0 <= q["highlight_fraction"] <= 1 and 0 <= q["shadow_fraction"] <= 1
    if cmap is not None:
        assert 0 <= q["scalp_fraction"] <= 1
    else:
        assert math.isnan(q["scalp_fraction"])


# ----------------------------------------------------------------- file names
_NAME_CHARS = st.characters(
    blacklist_characters="/\x00", blacklist_categories=("Cs",)
)  # any Unicode except the path separator, NUL and lone surrogates


@FUZZ
@given(st.text(_NAME_CHARS, min_size=1, max_size=40))
def test_any_file_name_loads_and_is_named(stem: str) -> None:
    name = f"{stem}.jpg"
    if stem in (".", "..") or len(name.encode("utf-8")) > 255:
        return
    path = _DIR / "names" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(SEEDS["JPEG0"])
    photo = load_photo(path, min_side=8)
    assert photo.path == str(path)
    path.write_bytes(SEEDS["JPEG0"][:100])  # truncated: the error names the file
    with pytest.raises(salt.InputFileError) as info:
        load_photo(path, min_side=8)
    assert str(path) in str(info.value) or repr(str(path)) in str(info.value)
