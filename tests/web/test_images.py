"""Re-encoding uploaded images: a clean copy no larger than a background is shown, orientation applied,
metadata dropped, every mode turned into RGB or RGBA; JPEGs decoded at a reduced scale."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, PngImagePlugin

from web.errors import PayloadTooLarge, UnsupportedMediaType
from web.images import MAX_STORED_SIDE, fit, reencode


def _write(tmp_path: Path, image: Image.Image, fmt: str, **save: object) -> Path:
    path = tmp_path / f"in.{fmt.lower()}"
    image.save(path, format=fmt, **save)
    return path


def test_fit_scales_down_only() -> None:
    assert fit((4000, 3000), 1920) == (1920, 1440)
    assert fit((3000, 4000), 1920) == (1440, 1920)
    assert fit((800, 450), 1920) == (800, 450)
    assert fit((100_000, 1), 1920) == (1920, 1)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_large_images_are_stored_at_the_size_they_are_shown(tmp_path: Path, fmt: str) -> None:
    src = _write(tmp_path, Image.linear_gradient("L").convert("RGB").resize((4000, 2500)), fmt)
    out = tmp_path / "out"
    assert reencode(src, out, fmt, 16_000_000) == (1920, 1200)
    with Image.open(out) as img:
        assert img.format == fmt and img.size == (1920, 1200) and img.mode == "RGB"
    assert MAX_STORED_SIDE == 1920


def test_a_big_jpeg_is_decoded_at_a_reduced_scale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _write(tmp_path, Image.new("RGB", (7680, 4320), (10, 200, 30)), "JPEG")
    loaded: list[tuple[int, int]] = []
    original_load = Image.Image.load

    def spy(self: Image.Image) -> object:
        result = original_load(self)
        loaded.append(self.size)
        return result

    monkeypatch.setattr(Image.Image, "load", spy)
    assert reencode(src, tmp_path / "out", "JPEG", 40_000_000) == (1920, 1080)
    # 8K decoded at a quarter of its size: 1/16 of the pixels, never the full 33 megapixels.
    assert (1920, 1080) in loaded and max(w * h for w, h in loaded) == 1920 * 1080


def test_orientation_is_applied_and_metadata_dropped(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90 degrees counter-clockwise to view
    exif[0x010F] = "SecretCam"
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "tracking-id-123")
    image = Image.new("RGB", (60, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 10, 20))  # a blue left edge
    src = _write(tmp_path, image, "PNG", exif=exif.tobytes(), pnginfo=info)
    out = tmp_path / "out"
    assert reencode(src, out, "PNG", 1_000_000) == (20, 60)
    data = out.read_bytes()
    assert b"SecretCam" not in data and b"tracking-id-123" not in data
    with Image.open(out) as img:
        assert not img.getexif() and "Comment" not in img.info
        expected = image.transpose(Image.Transpose.ROTATE_90)
        assert ImageChops.difference(img.convert("RGB"), expected).getbbox() is None


@pytest.mark.parametrize(
    ("mode", "fmt", "stored"),
    [
        ("P", "PNG", "RGB"),
        ("L", "PNG", "RGB"),
        ("LA", "PNG", "RGBA"),
        ("RGBA", "WEBP", "RGBA"),
        ("CMYK", "JPEG", "RGB"),
    ],
)
def test_every_mode_becomes_rgb_or_rgba(tmp_path: Path, mode: str, fmt: str, stored: str) -> None:
    src = _write(tmp_path, Image.new(mode, (30, 30)), fmt)
    reencode(src, tmp_path / "out", fmt, 1_000_000)
    with Image.open(tmp_path / "out") as img:
        assert img.mode == stored


def test_transparent_palette_png_keeps_its_alpha(tmp_path: Path) -> None:
    image = Image.new("P", (2000, 2000), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 1000, 2000))
    src = _write(tmp_path, image, "PNG", transparency=0)
    assert reencode(src, tmp_path / "out", "PNG", 16_000_000) == (1920, 1920)
    with Image.open(tmp_path / "out") as img:
        assert img.mode == "RGBA"
        assert img.getpixel((10, 10)) == (255, 0, 0, 255) and img.getpixel((1900, 10))[3] == 0


def test_pixel_limit_and_broken_files(tmp_path: Path) -> None:
    src = _write(tmp_path, Image.new("RGB", (200, 100)), "PNG")
    with pytest.raises(PayloadTooLarge, match=r"too many pixels \(200x100\); the limit is 19,999 pixels"):
        reencode(src, tmp_path / "out", "PNG", 19_999)
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 50).save(buf, format="PNG")
    broken = tmp_path / "broken.png"
    broken.write_bytes(buf.getvalue()[:200])
    with pytest.raises(UnsupportedMediaType) as caught:
        reencode(broken, tmp_path / "out", "PNG", 1_000_000)
    assert str(tmp_path) not in caught.value.message
    with pytest.raises(UnsupportedMediaType):
        reencode(src, tmp_path / "out", "JPEG", 1_000_000)  # not what it was sniffed as
