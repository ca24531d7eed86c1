"""Photo decoding: formats, EXIF orientation, reduced decode, bad files (issue 7)."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from robust_cases import IS_ROOT, asymmetric_rgb, build_bad_files, write_photo

import salt
from salt.io.photo import (
    CorruptImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    Photo,
    apply_orientation,
    load_photo,
    photo_from_array,
)

# JPEG / lossy WebP and HEIF at quality 92 stay within a few grey levels on average.
LOSSY_TOL = 6.0


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_pattern_has_no_symmetry() -> None:
    # Each of the 7 non-identity transforms must change the pattern a lot, or the
    # orientation tests below could pass with the wrong transform.
    img = asymmetric_rgb(200, 200, seed=0)
    for o in range(2, 9):
        assert _mad(apply_orientation(img, o), img) > 3 * LOSSY_TOL, o


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif", ".heic"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_applied_exactly_once(
    tmp_path: Path, suffix: str, orientation: int
) -> None:
    path = tmp_path / f"o{orientation}{suffix}"
    upright = write_photo(path, size=(240, 320), orientation=orientation)
    photo = load_photo(path, min_side=64)
    assert photo.orientation == orientation
    assert photo.rgb.dtype == np.uint8 and photo.rgb.flags.c_contiguous
    assert photo.original_size == (320, 240)  # (width, height) as displayed
    assert _mad(photo.rgb, upright) < LOSSY_TOL


@pytest.mark.parametrize("progressive", [False, True])
def test_reduced_jpeg_decode_keeps_target_side(tmp_path: Path, progressive: bool) -> None:
    # Upright 1200 wide x 1600 high, stored turned (orientation 6).
    # Short side 1200: /4 = 300 >= 256 but /8 = 150 < 256, so reduction 4.
    path = tmp_path / "big.jpg"
    upright = write_photo(path, size=(1600, 1200), orientation=6, progressive=progressive)
    photo = load_photo(path, target_side=256)
    assert photo.reduction == 4
    assert photo.original_size == (1200, 1600)
    assert photo.rgb.shape == (400, 300, 3)
    small = np.asarray(Image.fromarray(upright).resize((300, 400), Image.Resampling.BOX))
    assert _mad(photo.rgb, small) < LOSSY_TOL


@pytest.mark.parametrize(
    ("short", "target", "expected"),
    [
        (3024, 512, 4),
        (3024, 378, 8),
        (3024, 379, 4),
        (1000, 1000, 1),
        (1000, None, 1),
        (2001, 1000, 2),
    ],
)
def test_reduction_choice(tmp_path: Path, short: int, target: int | None, expected: int) -> None:
    # ceil(3024/8) = 378, ceil(2001/2) = 1001: computed by hand.
    from salt.io.decode import reduction_for as _reduction_for

    assert _reduction_for(short, target) == expected


def test_reduced_decode_of_odd_size_rounds_up(tmp_path: Path) -> None:
    path = tmp_path / "odd.jpg"
    write_photo(path, size=(1001, 777))
    photo = load_photo(path, target_side=97)  # 777/8 = 97.1 -> ceil 98 >= 97
    assert photo.reduction == 8
    assert photo.rgb.shape == (math.ceil(1001 / 8), math.ceil(777 / 8), 3)


def test_png_is_reduced_too(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    write_photo(path, size=(1200, 900))
    photo = load_photo(path, target_side=300)
    assert photo.reduction == 2 and photo.rgb.shape == (600, 450, 3)
    assert photo.original_size == (900, 1200)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("baseline.jpg", {}),
        ("progressive.jpg", {"progressive": True}),
        ("cmyk.jpg", {"cmyk": True}),
        ("grey.jpg", {"grey": True}),
        ("rgb8.png", {}),
        ("rgb16.png", {"bits": 16}),
        ("grey8.png", {"grey": True}),
        ("grey16.png", {"grey": True, "bits": 16}),
        ("rgba.png", {"alpha": True}),
        ("greyalpha.png", {"grey": True, "alpha": True}),
        ("plain.tif", {}),
        ("rgb16.tif", {"bits": 16}),
        ("lossy.webp", {}),
        ("alpha.webp", {"alpha": True}),
        ("iphone.heic", {}),
    ],
)
def test_formats(tmp_path: Path, name: str, kwargs: dict[str, object]) -> None:
    path = tmp_path / name
    upright = write_photo(path, size=(288, 352), **kwargs)  # type: ignore[arg-type]
    photo = load_photo(path)
    assert photo.rgb.shape == (288, 352, 3) and photo.rgb.dtype == np.uint8
    # CMYK round trips through an ink model: allow a little more.
    assert _mad(photo.rgb, upright) < (10.0 if kwargs.get("cmyk") else LOSSY_TOL)
    if kwargs.get("alpha"):
        assert photo.rgb[:8, :8].min() > 240  # transparent corner composited over white


def test_lossless_png_is_exact_and_rgb_order(tmp_path: Path) -> None:
    path = tmp_path / "exact.png"
    img = asymmetric_rgb(256, 300)
    Image.fromarray(img).save(path)
    photo = load_photo(path)
    np.testing.assert_array_equal(photo.rgb, img)
    # and the JPEG path (OpenCV, BGR internally) gives RGB too: red block stays red
    jpg = tmp_path / "order.jpg"
    Image.fromarray(img).save(jpg, quality=95)
    rgb = load_photo(jpg).rgb
    r, g, b = rgb[10:40, 10:40].reshape(-1, 3).mean(axis=0)
    assert r > 180 and g < 90 and b < 90


def test_sha256_is_of_file_bytes(tmp_path: Path) -> None:
    path = tmp_path / "h.jpg"
    write_photo(path)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_photo(path).sha256 == expected
    assert load_photo(path, target_side=64).sha256 == expected
    copy = tmp_path / "copy.png"
    copy.write_bytes(path.read_bytes())  # same bytes, different name: same hash
    assert load_photo(copy).sha256 == expected


def test_min_side_boundary(tmp_path: Path) -> None:
    ok = tmp_path / "ok.png"
    write_photo(ok, size=(256, 400))
    assert load_photo(ok).rgb.shape == (256, 400, 3)
    small = tmp_path / "small.png"
    write_photo(small, size=(255, 400))
    with pytest.raises(ImageTooSmallError, match="255") as info:
        load_photo(small)
    assert str(small) in str(info.value)
    assert load_photo(small, min_side=100).rgb.shape == (255, 400, 3)


def test_bad_files_raise_input_errors_naming_the_file(tmp_path: Path) -> None:
    cases = build_bad_files(tmp_path / "bad")
    assert set(cases) >= {
        "zero_bytes",
        "truncated_jpeg",
        "text_as_jpg",
        "directory_as_jpg",
        "unreadable",
        "broken_symlink",
        "tiny_image",
        "non_ascii_truncated",
    }
    for case in cases.values():
        if case.skip_reason:
            continue
        with pytest.raises(case.error) as info:
            load_photo(case.path)
        assert isinstance(info.value, salt.InputFileError)
        message = str(info.value)
        assert str(case.path) in message, (case.name, message)
        assert case.message_part in message, (case.name, message)


@pytest.mark.skipif(IS_ROOT, reason="running as root: file permissions do not stop root reading")
def test_unreadable_file(tmp_path: Path) -> None:
    case = build_bad_files(tmp_path)["unreadable"]
    with pytest.raises(case.error, match="permission denied"):
        load_photo(case.path)


def test_non_ascii_name_loads(tmp_path: Path) -> None:
    path = tmp_path / "sujet_é" / "頭頂_top.jpg"
    path.parent.mkdir()
    upright = write_photo(path)
    assert _mad(load_photo(path).rgb, upright) < LOSSY_TOL
    assert load_photo(path).path == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(salt.InputFileError, match="does not exist"):
        load_photo(tmp_path / "nope.jpg")


def test_png_named_jpg_decodes_by_content(tmp_path: Path) -> None:
    path = tmp_path / "really_png.jpg"
    img = asymmetric_rgb(256, 256)
    Image.fromarray(img).save(path, "PNG")
    photo = load_photo(path)
    assert photo.format == "PNG"
    np.testing.assert_array_equal(photo.rgb, img)


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.95, 0.999])
def test_truncated_jpegs_are_detected(tmp_path: Path, fraction: float) -> None:
    for progressive in (False, True):
        path = tmp_path / f"t{progressive}.jpg"
        write_photo(path, progressive=progressive, orientation=6)  # EXIF holds no thumbnail
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(CorruptImageError):
            load_photo(path)


def test_truncated_png_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "t.png"
    write_photo(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptImageError):
        load_photo(path)


def test_trailing_bytes_after_jpeg_are_allowed(tmp_path: Path) -> None:
    # Motion photos append a video after the JPEG's end-of-image marker.
    path = tmp_path / "motion.jpg"
    upright = write_photo(path)
    path.write_bytes(path.read_bytes() + b"\x00\x00\x00\x18ftypmp42" + bytes(500))
    assert _mad(load_photo(path).rgb, upright) < LOSSY_TOL


def test_photo_from_array() -> None:
    img = asymmetric_rgb(100, 120)
    photo = photo_from_array(img, name="top")
    assert isinstance(photo, Photo)
    assert photo.original_size == (120, 100) and photo.orientation == 1 and photo.reduction == 1
    assert photo.path == "top" and photo.size == (120, 100)
    assert photo_from_array(img.copy(), name="other").sha256 == photo.sha256
    assert photo_from_array(img[::-1].copy(), name="x").sha256 != photo.sha256
    # same bytes, different shape: different hash
    assert photo_from_array(img.reshape(120, 100, 3), name="x").sha256 != photo.sha256
    for bad in (img[..., 0], img.astype(np.float32), img[..., :2], np.zeros((0, 5, 3), np.uint8)):
        with pytest.raises(salt.BadValueError, match="'top'"):
            photo_from_array(bad, name="top")


def test_photo_is_frozen(tmp_path: Path) -> None:
    photo = photo_from_array(asymmetric_rgb(10, 10), name="x")
    with pytest.raises(AttributeError):
        photo.path = "y"  # type: ignore[misc]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_100_megapixel_jpeg_decoded_reduced_with_small_peak_memory(tmp_path: Path) -> None:
    """A 12000 x 8400 (100.8 MP) JPEG decodes at 1/8 without full-resolution memory."""
    import cv2

    path = tmp_path / "huge.jpg"
    h, w = 8400, 12000
    yy = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    xx = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    img = np.empty((h, w, 3), np.uint8)
    img[..., 0] = (yy + 0 * xx).astype(np.uint8)
    img[..., 1] = (xx + 0 * yy).astype(np.uint8)
    img[..., 2] = 128
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    path.write_bytes(buf.tobytes())
    del img, buf
    full_mb = h * w * 3 / 2**20  # 288 MiB for a full-resolution RGB decode
    script = textwrap.dedent(
        """
        import sys
        import cv2, PIL.Image, numpy
        import salt.io.photo
        if sys.argv[1] != "none":
            target = None if sys.argv[1] == "full" else int(sys.argv[1])
            p = salt.io.photo.load_photo(sys.argv[2], target_side=target)
            print(p.reduction, *p.rgb.shape[:2], *p.original_size)
        else:
            print(0, 0, 0, 0, 0)
        # VmHWM (peak RSS of this process image; ru_maxrss would include the forking parent)
        status = open("/proc/self/status").read().split("VmHWM:")[1]
        print(int(status.split()[0]) / 1024)
        """
    )

    def run(target: str) -> tuple[list[int], float]:
        lines = subprocess.run(
            [sys.executable, "-c", script, target, str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        return [int(v) for v in lines[0].split()], float(lines[1])

    _, base_mb = run("none")  # same imports, no decode
    (reduction, oh, ow, w0, h0), peak_mb = run("1024")
    extra_mb = peak_mb - base_mb
    print(f"peak RSS: imports only {base_mb:.0f} MiB, + 100.8 MP decode at 1/8 {peak_mb:.0f} MiB")
    assert reduction == 8 and (oh, ow) == (1050, 1500) and (w0, h0) == (w, h)
    # file bytes (a few MiB) + 1/64 of the pixels; a full decode would add 288 MiB.
    assert extra_mb < full_mb / 4, extra_mb


def test_damaged_exif_keeps_the_photo(tmp_path: Path) -> None:
    # An APP1 "Exif" block whose IFD runs past its end: orientation unknown -> 1, the
    # pixels are fine and must not be lost (even with warnings as errors, as here).
    path = tmp_path / "bad_exif.jpg"
    upright = write_photo(path)
    data = path.read_bytes()
    payload = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05" + b"\xff" * 40
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    path.write_bytes(data[:2] + segment + data[2:])
    photo = load_photo(path)
    assert photo.orientation == 1
    assert _mad(photo.rgb, upright) < LOSSY_TOL


def test_permission_denied_message_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads mode-000 files, so simulate the OS refusing the open.
    import salt.io.photo

    path = tmp_path / "locked.jpg"
    write_photo(path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(salt.io.photo, "open", refuse, raising=False)
    with pytest.raises(salt.io.photo.UnreadableFileError, match="permission denied") as info:
        load_photo(path)
    assert str(path) in str(info.value)


def test_pillow_fallback_when_libjpeg_turbo_cannot_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # libjpeg-turbo cannot give some valid JPEGs as 8-bit RGB (12-bit samples); Pillow
    # then decodes with the same reduction and orientation rules.
    import simplejpeg

    path = tmp_path / "fallback.jpg"
    upright = write_photo(path, size=(600, 800), orientation=6)  # displayed 800 wide, 600 high

    def unsupported(*args: object, **kwargs: object) -> None:
        raise ValueError("Unsupported JPEG data precision 12")

    monkeypatch.setattr(simplejpeg, "decode_jpeg", unsupported)
    photo = load_photo(path, target_side=256)
    assert photo.reduction == 2 and photo.orientation == 6
    assert photo.rgb.shape == (300, 400, 3) and photo.original_size == (800, 600)
    small = np.asarray(Image.fromarray(upright).resize((400, 300), Image.Resampling.BOX))
    assert _mad(photo.rgb, small) < LOSSY_TOL


# ----------------------------------------------------------------- damaged photos that decode
# Every damaged file below is built here from a clean noisy photo (noise makes the
# compressed data as dense as a real photo's). Before, each of them decoded and was
# scored; now each must fail with CorruptImageError naming the file.


def _noisy(h: int = 480, w: int = 640, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (12, 16, 3)).astype(np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    return np.clip(img + rng.integers(-20, 21, img.shape), 0, 255).astype(np.uint8)


def _encode(fmt: str, **kwargs: object) -> bytes:
    import io

    from salt.io.decode import _register_heif

    _register_heif()
    buf = io.BytesIO()
    Image.fromarray(_noisy()).save(buf, fmt, **kwargs)  # type: ignore[arg-type]
    return buf.getvalue()


def _zero(data: bytes, start: float, length: float | None = None) -> bytes:
    """``data`` with bytes from ``start`` (a fraction) zeroed, to the end or ``length``."""
    a = int(len(data) * start)
    b = len(data) if length is None else a + int(len(data) * length)
    return data[:a] + bytes(b - a) + data[b:]


FORMATS = {
    "jpg": ("JPEG", {"quality": 90}),
    "progressive.jpg": ("JPEG", {"quality": 90, "progressive": True}),
    "png": ("PNG", {}),
    "webp": ("WEBP", {"quality": 90}),
    "lossless.webp": ("WEBP", {"lossless": True}),
    "lzw.tif": ("TIFF", {"compression": "tiff_lzw"}),
    "deflate.tif": ("TIFF", {"compression": "tiff_adobe_deflate"}),
    "heic": ("HEIF", {"quality": 90}),
}
DAMAGE = {
    "half_zeroed": lambda d: _zero(d, 0.5),
    "tail_zeroed": lambda d: _zero(d, 0.9),
    "block_zeroed": lambda d: _zero(d, 0.35, 0.1),
    "cut_in_half": lambda d: d[: len(d) // 2],
    "cut_near_end": lambda d: d[: int(len(d) * 0.97)],
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_damaged_photos_fail_naming_file_and_format(
    tmp_path: Path, suffix: str, damage: str
) -> None:
    fmt, kwargs = FORMATS[suffix]
    good = _encode(fmt, **kwargs)
    path = tmp_path / f"photo.{suffix}"
    path.write_bytes(good)
    assert load_photo(path).rgb.shape == (480, 640, 3)  # the clean file decodes
    path.write_bytes(DAMAGE[damage](good))
    with pytest.raises(CorruptImageError) as info:
        load_photo(path)
    message = str(info.value)
    assert str(path) in message
    assert fmt in message or "JPEG" in message or "truncated" in message, message


def test_jpeg_with_zeroed_scan_data_reports_libjpeg_warning(tmp_path: Path) -> None:
    # libjpeg warns "Corrupt JPEG data" and would fill the rest with grey.
    path = tmp_path / "zeroed.jpg"
    path.write_bytes(_zero(_encode("JPEG", quality=90), 0.4, 0.3))
    with pytest.raises(CorruptImageError, match="Corrupt JPEG data"):
        load_photo(path, target_side=256)


def test_png_decoder_error_is_not_swallowed_as_exif(tmp_path: Path) -> None:
    # 64 zero bytes inside the image data: the PNG's checksum no longer matches.
    good = _encode("PNG")
    path = tmp_path / "bad.png"
    mid = len(good) // 2
    path.write_bytes(good[:mid] + bytes(64) + good[mid + 64 :])
    with pytest.raises(CorruptImageError, match="PNG chunk fails its check") as info:
        load_photo(path)
    assert "EXIF" not in str(info.value)


def test_truncated_heic_and_tiff_headers_are_damaged_not_unknown(tmp_path: Path) -> None:
    # Cut inside the HEIF 'meta' box / the TIFF directory at the end of the file:
    # Pillow cannot even identify them, but the bytes say which format they are.
    heic = _encode("HEIF", quality=90)
    tiff = _encode("TIFF", compression="tiff_lzw")
    for name, data, fmt in (("a.heic", heic[:200], "HEIF"), ("b.tif", tiff[:-40], "TIFF")):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(CorruptImageError, match=f"damaged {fmt} file"):
            load_photo(path)


def test_jpeg_claiming_65500_pixels_a_side_fails_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import struct

    import simplejpeg

    data = bytearray(_encode("JPEG", quality=90))
    sof = data.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65500, 65500)
    path = tmp_path / "huge_header.jpg"
    path.write_bytes(bytes(data))

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the pixels must not be decoded")

    monkeypatch.setattr(simplejpeg, "decode_jpeg", never)
    with pytest.raises(ImageTooLargeError, match="65500 x 65500") as info:
        load_photo(path, target_side=256)
    assert str(path) in str(info.value)


def test_png_header_size_is_checked_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    # A well-formed PNG (every checksum right) whose header declares 20,000 x 20,000
    # pixels (1.2 GB as RGB) and whose image data is a few bytes.
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    path = tmp_path / "huge.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(100)))
        + chunk(b"IEND", b"")
    )
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded"))
    with pytest.raises(ImageTooLargeError, match="20000 x 20000"):
        load_photo(path)


def test_the_pixel_limit_is_salts_not_pillows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import PIL.Image

    import salt.io.decode

    path = tmp_path / "p.png"
    Image.fromarray(_noisy(300, 400)).save(path)
    # Pillow's own decompression-bomb limit does not apply ...
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)
    assert load_photo(path).rgb.shape == (300, 400, 3)
    # ... salt's does, for every format, with salt's message.
    monkeypatch.setattr(salt.io.decode, "MAX_PIXELS", 300 * 400 - 1)
    for p in (path, tmp_path / "p.jpg"):
        Image.fromarray(_noisy(300, 400)).save(p)
        with pytest.raises(ImageTooLargeError, match="400 x 300"):
            load_photo(p)


def test_zero_run_finds_a_4_kib_block_and_only_that() -> None:
    from salt.io.damage import ZERO_RUN_BYTES, zero_run

    rng = np.random.default_rng(0)
    data = bytearray(rng.integers(1, 256, 20000, dtype=np.uint8).tobytes())  # no zero byte
    assert zero_run(bytes(data)) is None
    data[3001 : 3001 + ZERO_RUN_BYTES - 1] = bytes(ZERO_RUN_BYTES - 1)  # one byte short
    assert zero_run(bytes(data)) is None
    data[3000 : 3000 + ZERO_RUN_BYTES] = bytes(ZERO_RUN_BYTES)
    assert zero_run(bytes(data)) == 3000
    assert zero_run(bytes(data), 0, 3000 + ZERO_RUN_BYTES - 1) is None  # only in the range
    assert zero_run(bytes(data), 3001) is None
    data[3000:3001] = b"\x01"  # now 4,095 zero bytes from 3001, then one more at 7096
    data[7096:7097] = b"\x00"
    assert zero_run(bytes(data)) == 3001


def test_flat_photos_are_not_taken_for_zero_filled(tmp_path: Path) -> None:
    # Large black areas compress to little data, but not to runs of zero bytes.
    black = np.zeros((1500, 2000, 3), np.uint8)
    black[:, 1000:] = 200
    from salt.io.decode import _register_heif

    _register_heif()
    for suffix, fmt, kwargs in (
        ("webp", "WEBP", {"quality": 90}),
        ("ll.webp", "WEBP", {"lossless": True}),
        ("heic", "HEIF", {"quality": 90}),
        ("tif", "TIFF", {"compression": "tiff_lzw"}),
    ):
        path = tmp_path / f"flat.{suffix}"
        Image.fromarray(black).save(path, fmt, **kwargs)  # type: ignore[arg-type]
        assert load_photo(path).rgb.shape == (1500, 2000, 3), suffix
