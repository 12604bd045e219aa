"""Helpers shared by the effects tests: a real person (scikit-image's astronaut) moving across frames, the
regions of the frame that are surely person or surely background, and picture-quality measures."""

from __future__ import annotations

import functools
import math
import struct
import zlib
from contextlib import ExitStack

import cv2
import numpy as np

from effects import SegmenterPool

WIDTH = 640
HEIGHT = 480
_SIDE = 680  # the square astronaut is scaled to this, leaving room to move the 640x480 window

# Boxes (x0, y0, x1, y1) in frame coordinates that stay inside the person / the background in every frame
# of the clip (checked against the segmentation in test_segmenter.py). The window sways by up to 18 px
# sideways and 8 px up and down; the boxes keep clear of the edges by more than that.
FACE = (250, 85, 296, 155)
BODY = (120, 380, 300, 470)
FLAG = (0, 0, 100, 220)  # the flag on the left: stripes and stars, lots of detail
WALL = (400, 0, 460, 160)  # the wall right of her head: smooth
ROCKET = (480, 20, 620, 240)  # the shuttle model on the right: detail
PERSON_BOXES = (FACE, BODY)
BACKGROUND_BOXES = (FLAG, WALL, ROCKET)


@functools.cache
def _astronaut() -> np.ndarray:
    from skimage import data

    return cv2.resize(data.astronaut(), (_SIDE, _SIDE), interpolation=cv2.INTER_AREA)


def astronaut_rgb(index: int = 0, frames: int = 60) -> np.ndarray:
    """Frame `index` of a `frames`-long loop (RGB, 640x480): the astronaut swaying and nodding a little."""
    phase = 2 * math.pi * index / frames
    x0 = 20 + round(18 * math.sin(phase))
    y0 = 40 + round(8 * math.sin(2 * phase))
    return np.ascontiguousarray(_astronaut()[y0 : y0 + HEIGHT, x0 : x0 + WIDTH])


def astronaut_i420(index: int = 0, frames: int = 60) -> np.ndarray:
    return cv2.cvtColor(astronaut_rgb(index, frames), cv2.COLOR_RGB2YUV_I420)


def astronaut_bgr(index: int = 0, frames: int = 60) -> np.ndarray:
    return cv2.cvtColor(astronaut_rgb(index, frames), cv2.COLOR_RGB2BGR)


def crop(picture: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return picture[y0:y1, x0:x1]


def luma(i420: np.ndarray) -> np.ndarray:
    """The Y plane of an I420 frame."""
    return i420[: i420.shape[0] * 2 // 3]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical pictures)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the Laplacian: high for sharp detail, low once blurred."""
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def full_mask(mask: np.ndarray) -> np.ndarray:
    """A mask at the model's resolution scaled to the frame."""
    return cv2.resize(mask, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)


def warm(pool: SegmenterPool) -> SegmenterPool:
    """Load all of the pool's models now, as a server would at start-up: tests time frames, not loading."""
    with ExitStack() as stack:
        for _ in range(pool.size):
            stack.enter_context(pool.borrow()).segment(np.zeros((144, 256, 3), dtype=np.uint8))
    return pool


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` pixels, with no picture data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")
