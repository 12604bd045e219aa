"""Test media: a short clip of a real person (scikit-image's astronaut) for fake cameras.

Chromium's `--use-file-for-fake-video-capture` plays a YUV4MPEG2 file in a loop; the clip moves the
picture a little from frame to frame (there and back, so the loop has no jump), like a person in a call.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
from PIL import Image

WIDTH = 640
HEIGHT = 480
_SCALED = 680  # the square astronaut is scaled to this, leaving room to move the 640x480 window


@functools.cache
def _scaled_astronaut() -> np.ndarray:
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((_SCALED, _SCALED), Image.Resampling.LANCZOS)
    return np.asarray(image)


# Variants tell several fake cameras apart while keeping a real person in view (the segmenter must still
# find her): "mirror" flips left and right, "swap" exchanges the red and blue channels (a blue suit).
VARIANTS = ("plain", "mirror", "swap")


def astronaut_frame(index: int, frames: int, variant: str = "plain") -> np.ndarray:
    """Frame `index` of a `frames`-long loop (RGB uint8, 640x480): a sideways sway and a small nod."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
    phase = 2 * math.pi * index / frames
    x0 = 20 + round(18 * math.sin(phase))
    y0 = 40 + round(8 * math.sin(2 * phase))
    frame = _scaled_astronaut()[y0 : y0 + HEIGHT, x0 : x0 + WIDTH]
    if variant == "mirror":
        frame = frame[:, ::-1]
    elif variant == "swap":
        frame = frame[:, :, ::-1]
    return np.ascontiguousarray(frame)


def closest_variant(frame: np.ndarray) -> str:
    """Which variant a received frame shows: the nearest middle-of-the-loop reference at low resolution."""
    small = _thumb(frame)
    errors = {v: float(np.mean((small - _thumb(astronaut_frame(0, 2, v))) ** 2)) for v in VARIANTS}
    return min(errors, key=errors.__getitem__)


def _thumb(rgb: np.ndarray) -> np.ndarray:
    image = Image.fromarray(np.ascontiguousarray(rgb)).resize((64, 48), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32)


def rgb_to_yuv420(rgb: np.ndarray) -> bytes:
    """Full-range BT.601 (JPEG) Y'CbCr with 2x2-averaged chroma: the `C420jpeg` layout of y4m."""
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b
    h, w = y.shape

    def sub(plane: np.ndarray) -> np.ndarray:
        return plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    planes = (y, sub(cb), sub(cr))
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def write_astronaut_y4m(path: Path, seconds: float = 3.0, fps: int = 15, variant: str = "plain") -> Path:
    """Write a y4m clip of the astronaut moving gently (yuv420p, 640x480); returns `path`.

    15 fps by default: enough to see motion, and half the encoding work of 30 fps for every browser
    and for the server when several fake cameras run on one machine."""
    frames = max(2, round(seconds * fps))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for i in range(frames):
            out.write(b"FRAME\n")
            out.write(rgb_to_yuv420(astronaut_frame(i, frames, variant)))
    return path


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: high for sharp detail, low once blurred."""
    g = gray.astype(np.float64)
    lap = -4.0 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    return float(lap.var())
