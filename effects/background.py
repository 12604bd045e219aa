"""What an attendee wants behind them: the `BackgroundEffect` settings, and safe loading of an image.

Settings are validated when the effect is made, so a bad request never reaches a running processor: the
caller gets an `EffectError` and the attendee keeps their current effect.
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from effects.errors import ImageError, ImageTooLarge, InvalidSetting, UnknownEffect

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # checked from the header, before decoding (decompression bombs)
MIN_IMAGE_SIDE = 16
MAX_KEPT_SIDE = 1920  # larger pictures are scaled down on load: frames are never bigger than that
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")

DEFAULT_BLUR_STRENGTH = 0.5
DEFAULT_COLOR = (38, 50, 56)


class EffectKind(StrEnum):
    NONE = "none"
    BLUR = "blur"
    COLOR = "color"
    IMAGE = "image"


RGB = tuple[int, int, int]
_HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6})")


@dataclass(frozen=True, eq=False)
class BackgroundEffect:
    """One attendee's background: none, blur (`blur_strength` 0..1), a solid `color` (r, g, b) or an
    `image` (RGB uint8 array, e.g. from `load_image`). Invalid settings raise `EffectError` subclasses."""

    kind: EffectKind = EffectKind.NONE
    blur_strength: float = DEFAULT_BLUR_STRENGTH
    color: RGB = DEFAULT_COLOR
    image: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _kind(self.kind))
        object.__setattr__(self, "blur_strength", _strength(self.blur_strength))
        object.__setattr__(self, "color", _color(self.color))
        if self.kind is EffectKind.IMAGE:
            if self.image is None:
                raise InvalidSetting("an image background needs an image")
            object.__setattr__(self, "image", _checked_image(self.image))
        elif self.image is not None:
            raise InvalidSetting(f"a {self.kind.value!r} background takes no image")

    @classmethod
    def none(cls) -> BackgroundEffect:
        return cls(EffectKind.NONE)

    @classmethod
    def blurred(cls, strength: float = DEFAULT_BLUR_STRENGTH) -> BackgroundEffect:
        return cls(EffectKind.BLUR, blur_strength=strength)

    @classmethod
    def solid(cls, color: RGB | str) -> BackgroundEffect:
        return cls(EffectKind.COLOR, color=parse_color(color) if isinstance(color, str) else color)

    @classmethod
    def picture(cls, image: np.ndarray) -> BackgroundEffect:
        return cls(EffectKind.IMAGE, image=image)

    @property
    def active(self) -> bool:
        """Whether frames need any processing at all."""
        return self.kind is not EffectKind.NONE


def parse_color(text: str) -> RGB:
    """`"#1e90ff"` or `"1e90ff"` -> (30, 144, 255)."""
    match = _HEX_COLOR.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidSetting(f"colour must look like #rrggbb, got {text!r}")
    value = int(match.group(1), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def load_image(
    source: bytes | bytearray | memoryview | str | os.PathLike[str],
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
    max_side: int = MAX_KEPT_SIDE,
) -> np.ndarray:
    """Decode an uploaded or stored picture into a read-only RGB uint8 array, safely.

    Sizes are checked before decoding (bytes, then the header's pixel count), so a small file that
    would expand to gigabytes is refused; EXIF rotation is applied; transparency is flattened onto
    black; pictures larger than `max_side` are scaled down (aspect kept). Blocking (decodes): run it in
    an executor when called from a server.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name = "image"
        if len(data) > max_bytes:
            raise ImageTooLarge(f"image is {len(data)} bytes, over the {max_bytes} byte limit")
    else:
        path = Path(source)
        name = path.name
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise ImageTooLarge(f"{name} is {size} bytes, over the {max_bytes} byte limit")
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read {name}: {exc.strerror or exc}") from exc
    if not data:
        raise ImageError(f"{name} is empty")
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as im:
            width, height = im.size
            if width * height > max_pixels:
                raise ImageTooLarge(f"{name} is {width}x{height} pixels, over the {max_pixels} pixel limit")
            if min(width, height) < MIN_IMAGE_SIDE:
                raise ImageError(f"{name} is {width}x{height} pixels, too small for a background")
            im.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale when that is enough
            rgb = _to_rgb(ImageOps.exif_transpose(im))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"{name} is too large to decode: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name} is not a supported image ({', '.join(IMAGE_FORMATS)})") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # what Pillow raises for truncated/corrupt data
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"{name} is not a readable image: {exc}") from exc
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    array = np.array(rgb, dtype=np.uint8)
    array.setflags(write=False)
    return array


def cover_fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale `image` to fill `width` x `height` exactly, keeping its aspect ratio (CSS `cover`): the
    centre is kept and the overflowing sides are cropped; never stretched."""
    if width <= 0 or height <= 0:
        raise InvalidSetting(f"cannot fit an image into {width}x{height}")
    h, w = image.shape[:2]
    # The largest centred window of the target's aspect ratio, in source pixels.
    if w * height > h * width:
        crop_w, crop_h = max(1, round(h * width / height)), h
    else:
        crop_w, crop_h = w, max(1, round(w * height / width))
    x0, y0 = (w - crop_w) // 2, (h - crop_h) // 2
    window = image[y0 : y0 + crop_h, x0 : x0 + crop_w]
    shrinking = crop_w >= width and crop_h >= height
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(window, (width, height), interpolation=interpolation)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        im.load()
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (0, 0, 0))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im.convert("RGB")


def _kind(value: object) -> EffectKind:
    if isinstance(value, EffectKind):
        return value
    if isinstance(value, str):
        try:
            return EffectKind(value.strip().lower())
        except ValueError:
            pass
    raise UnknownEffect(value)


def _strength(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSetting(f"blur strength must be a number from 0 to 1, got {value!r}")
    strength = float(value)
    if not math.isfinite(strength) or not 0.0 <= strength <= 1.0:
        raise InvalidSetting(f"blur strength must be from 0 to 1, got {value!r}")
    return strength


def _color(value: object) -> RGB:
    if isinstance(value, str):
        return parse_color(value)
    if not isinstance(value, tuple | list) or len(value) != 3:
        raise InvalidSetting(f"colour must be three numbers (r, g, b) from 0 to 255, got {value!r}")
    channels = []
    for channel in value:
        if isinstance(channel, bool) or not isinstance(channel, int | np.integer) or not 0 <= channel <= 255:
            raise InvalidSetting(f"colour must be three integers (r, g, b) from 0 to 255, got {value!r}")
        channels.append(int(channel))
    return channels[0], channels[1], channels[2]


def _checked_image(image: object) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise InvalidSetting(f"background image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidSetting(
            f"background image must be RGB uint8 of shape (height, width, 3), got {image.dtype} {image.shape}"
        )
    height, width = image.shape[:2]
    if min(width, height) < MIN_IMAGE_SIDE:
        raise InvalidSetting(f"background image is {width}x{height} pixels, too small")
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageTooLarge(f"background image is {width}x{height} pixels, over the {MAX_IMAGE_PIXELS} limit")
    if image.flags.writeable or not image.flags.c_contiguous:
        # A private, read-only copy: the caller cannot change the picture under a running processor.
        image = np.array(image, dtype=np.uint8, order="C", copy=True)
        image.setflags(write=False)
    return image
