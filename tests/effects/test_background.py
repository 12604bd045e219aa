"""BackgroundEffect settings, the error hierarchy, safe image loading and "cover" fitting."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from effects_testing import png_header_only
from PIL import Image

from effects import (
    BackgroundEffect,
    EffectError,
    EffectKind,
    FrameError,
    ImageError,
    ImageTooLarge,
    InvalidSetting,
    SegmenterError,
    UnknownEffect,
    cover_fit,
    load_image,
    parse_color,
)


def encode(array: np.ndarray, fmt: str = "PNG", **params: object) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt, **params)
    return out.getvalue()


def gradient(width: int, height: int) -> np.ndarray:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    picture = np.empty((height, width, 3), dtype=np.uint8)
    picture[..., 0] = x
    picture[..., 1] = y
    picture[..., 2] = 128
    return picture


# --- errors -------------------------------------------------------------------------------------------


def test_every_error_is_an_effect_error() -> None:
    for error in (UnknownEffect, InvalidSetting, ImageError, ImageTooLarge, FrameError, SegmenterError):
        assert issubclass(error, EffectError)
    assert issubclass(ImageTooLarge, ImageError)
    assert "sparkle" in str(UnknownEffect("sparkle"))


# --- BackgroundEffect ---------------------------------------------------------------------------------


def test_defaults_and_constructors() -> None:
    assert BackgroundEffect().kind is EffectKind.NONE
    assert not BackgroundEffect.none().active
    blur = BackgroundEffect.blurred(0.8)
    assert (blur.kind, blur.blur_strength, blur.active) == (EffectKind.BLUR, 0.8, True)
    assert BackgroundEffect.solid((1, 2, 3)).color == (1, 2, 3)
    assert BackgroundEffect.solid("#1e90ff").color == (30, 144, 255)
    picture = BackgroundEffect.picture(gradient(64, 32))
    assert picture.kind is EffectKind.IMAGE and picture.image is not None


def test_kind_given_as_text() -> None:
    assert BackgroundEffect(kind="blur").kind is EffectKind.BLUR  # type: ignore[arg-type]
    assert BackgroundEffect(kind=" Color ").kind is EffectKind.COLOR  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["sparkle", "", None, 3])
def test_unknown_effect_name(kind: object) -> None:
    with pytest.raises(UnknownEffect):
        BackgroundEffect(kind=kind)  # type: ignore[arg-type]


@pytest.mark.parametrize("strength", [-0.1, 1.5, float("nan"), float("inf"), "0.5", True, None])
def test_blur_strength_out_of_range(strength: object) -> None:
    with pytest.raises(InvalidSetting, match="blur strength"):
        BackgroundEffect.blurred(strength)  # type: ignore[arg-type]


def test_blur_strength_bounds_are_allowed() -> None:
    assert BackgroundEffect.blurred(0).blur_strength == 0.0
    assert BackgroundEffect.blurred(1).blur_strength == 1.0


@pytest.mark.parametrize(
    "color", [(256, 0, 0), (-1, 0, 0), (0, 0), (0, 0, 0, 0), (0.5, 0, 0), (True, 0, 0), "red", "#12345", None]
)
def test_colour_out_of_range(color: object) -> None:
    with pytest.raises(InvalidSetting, match="colour"):
        BackgroundEffect.solid(color)  # type: ignore[arg-type]


def test_colour_from_a_list_and_numpy_integers() -> None:
    assert BackgroundEffect(EffectKind.COLOR, color=[0, 128, 255]).color == (0, 128, 255)  # type: ignore[arg-type]
    color = tuple(np.array([1, 2, 3], dtype=np.uint8))
    assert BackgroundEffect.solid(color).color == (1, 2, 3)  # type: ignore[arg-type]


def test_parse_color() -> None:
    assert parse_color("#000000") == (0, 0, 0)
    assert parse_color("FFfF00") == (255, 255, 0)
    with pytest.raises(InvalidSetting):
        parse_color("#gg0000")


def test_image_effect_needs_a_usable_image() -> None:
    with pytest.raises(InvalidSetting, match="needs an image"):
        BackgroundEffect(EffectKind.IMAGE)
    with pytest.raises(InvalidSetting, match="RGB uint8"):
        BackgroundEffect.picture(np.zeros((32, 32), dtype=np.uint8))
    with pytest.raises(InvalidSetting, match="RGB uint8"):
        BackgroundEffect.picture(np.zeros((32, 32, 3), dtype=np.float32))
    with pytest.raises(InvalidSetting, match="too small"):
        BackgroundEffect.picture(np.zeros((8, 32, 3), dtype=np.uint8))
    with pytest.raises(InvalidSetting, match="numpy array"):
        BackgroundEffect.picture(b"\x89PNG")  # type: ignore[arg-type]
    with pytest.raises(InvalidSetting, match="takes no image"):
        BackgroundEffect(EffectKind.BLUR, image=gradient(32, 32))


def test_image_is_kept_as_a_private_read_only_copy() -> None:
    picture = gradient(64, 32)
    effect = BackgroundEffect.picture(picture)
    picture[:] = 0  # the caller changing its array later must not change the background
    assert effect.image is not None
    assert effect.image.max() > 0
    assert not effect.image.flags.writeable
    with pytest.raises(ValueError):
        effect.image[0, 0, 0] = 1
    # A read-only array (what load_image returns) is used as it is, not copied again.
    loaded = load_image(encode(gradient(64, 32)))
    assert BackgroundEffect.picture(loaded).image is loaded


def test_effects_are_frozen() -> None:
    effect = BackgroundEffect.blurred(0.3)
    with pytest.raises(AttributeError):
        effect.blur_strength = 0.9  # type: ignore[misc]


# --- load_image ---------------------------------------------------------------------------------------


def test_loads_png_and_jpeg_bytes_and_files(tmp_path: Path) -> None:
    picture = gradient(200, 100)
    png = load_image(encode(picture))
    assert png.shape == (100, 200, 3) and png.dtype == np.uint8
    np.testing.assert_array_equal(png, picture)
    jpeg = load_image(encode(picture, "JPEG", quality=95))
    assert jpeg.shape == (100, 200, 3)
    assert np.abs(jpeg.astype(int) - picture).mean() < 3
    path = tmp_path / "background.webp"
    path.write_bytes(encode(picture, "WEBP", lossless=True))
    np.testing.assert_array_equal(load_image(path), picture)
    assert not png.flags.writeable


def test_exif_rotation_is_applied() -> None:
    picture = gradient(200, 100)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    loaded = load_image(encode(picture, "JPEG", quality=95, exif=exif.tobytes()))
    assert loaded.shape == (200, 100, 3)


def test_transparency_is_flattened_onto_black() -> None:
    rgba = np.zeros((32, 32, 4), dtype=np.uint8)
    rgba[..., :3] = 200
    rgba[:, 16:, 3] = 255  # right half opaque, left half transparent
    loaded = load_image(encode(rgba))
    assert loaded.shape == (32, 32, 3)
    assert loaded[:, :16].max() == 0
    assert loaded[:, 16:].min() == 200


def test_grey_and_palette_images_become_rgb() -> None:
    grey = load_image(encode(np.full((20, 30), 77, dtype=np.uint8)))
    assert grey.shape == (20, 30, 3) and set(np.unique(grey)) == {77}
    out = io.BytesIO()
    Image.fromarray(gradient(40, 20)).convert("P").save(out, format="GIF")
    assert load_image(out.getvalue()).shape == (20, 40, 3)


def test_large_pictures_are_scaled_down_keeping_the_aspect_ratio() -> None:
    loaded = load_image(encode(gradient(2400, 800), "JPEG"), max_side=1200)
    assert loaded.shape == (400, 1200, 3)


def test_a_huge_picture_is_refused_from_its_header_without_decoding() -> None:
    with pytest.raises(ImageTooLarge, match="8000x6000"):
        load_image(png_header_only(8000, 6000))
    with pytest.raises(ImageTooLarge):
        load_image(png_header_only(30000, 30000))  # beyond Pillow's own bomb limit too
    with pytest.raises(ImageTooLarge, match="pixel limit"):
        load_image(encode(gradient(100, 100)), max_pixels=5000)


def test_too_many_bytes_is_refused(tmp_path: Path) -> None:
    data = encode(gradient(100, 100))
    with pytest.raises(ImageTooLarge, match="byte limit"):
        load_image(data, max_bytes=len(data) - 1)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with pytest.raises(ImageTooLarge, match="byte limit"):
        load_image(path, max_bytes=100)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"definitely not an image",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        encode(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))[:2000],  # truncated
    ],
)
def test_unreadable_images_are_refused(data: bytes) -> None:
    with pytest.raises(ImageError):
        load_image(data)


def test_unsupported_format_is_refused() -> None:
    with pytest.raises(ImageError, match="not a supported image"):
        load_image(encode(gradient(64, 64), "TIFF"))


def test_tiny_and_missing_images_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="too small"):
        load_image(encode(gradient(8, 64)))
    with pytest.raises(ImageError, match="cannot read"):
        load_image(tmp_path / "missing.png")


# --- cover_fit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1280, 480), (400, 900), (640, 480), (100, 60), (1200, 1200)])
def test_cover_fit_fills_the_frame_without_stretching(size: tuple[int, int]) -> None:
    width, height = size
    # Concentric circles: stretching would make them ellipses.
    yy, xx = np.mgrid[0:height, 0:width]
    radius = np.hypot(xx - width / 2, yy - height / 2)
    rings = ((radius // (min(width, height) / 10)) % 2 * 255).astype(np.uint8)
    picture = np.dstack([rings] * 3)
    fitted = cover_fit(picture, 640, 480)
    assert fitted.shape == (480, 640, 3)
    # Pillow's own "cover" (ImageOps.fit) as the reference.
    from PIL import ImageOps

    reference = np.asarray(ImageOps.fit(Image.fromarray(picture), (640, 480), Image.Resampling.BILINEAR))
    agreement = np.mean(np.abs(fitted.astype(int) - reference) < 64)
    assert agreement > 0.95
    # A stretched picture would not agree with it.
    import cv2

    stretched = cv2.resize(picture, (640, 480), interpolation=cv2.INTER_AREA)
    if abs(width / height - 640 / 480) > 0.1:
        assert np.mean(np.abs(stretched.astype(int) - reference) < 64) < 0.9


def test_cover_fit_refuses_an_empty_target() -> None:
    with pytest.raises(InvalidSetting):
        cover_fit(gradient(32, 32), 0, 480)
