"""The two picture layouts the processor works on, as plain numpy arrays:

* I420 (`yuv420p`), what PyAV decodes WebRTC video to (`frame.to_ndarray(format="yuv420p")`): a
  (height * 3 / 2, width) uint8 array holding the Y plane, then the quarter-size U and V planes. Working on
  the planes directly saves two colour conversions per frame, which cost more than the effect itself.
* BGR: an OpenCV (height, width, 3) uint8 picture.

A layout splits a frame into its planes (views, no copy) and makes the small RGB picture the segmenter
takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from effects.errors import FrameError


class PixelFormat(StrEnum):
    I420 = "i420"
    BGR = "bgr"


@dataclass(frozen=True)
class FrameLayout:
    format: PixelFormat
    width: int
    height: int

    @classmethod
    def of(cls, frame: object) -> FrameLayout:
        """The layout of `frame`, or `FrameError` for anything else."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
            raise FrameError("a frame must be a uint8 numpy array (I420 or BGR)")
        if frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] >= 2 and frame.shape[1] >= 2:
            return cls(PixelFormat.BGR, frame.shape[1], frame.shape[0])
        if frame.ndim == 2:
            rows, width = frame.shape
            height = rows * 2 // 3
            if rows % 3 == 0 and height % 2 == 0 and width % 2 == 0 and height >= 2:
                return cls(PixelFormat.I420, width, height)
        raise FrameError(
            f"unsupported frame shape {frame.shape}: expected I420 (height*3/2, width) with even sides, "
            "or BGR (height, width, 3)"
        )

    @property
    def shape(self) -> tuple[int, ...]:
        if self.format is PixelFormat.BGR:
            return (self.height, self.width, 3)
        return (self.height * 3 // 2, self.width)

    @property
    def plane_sizes(self) -> tuple[tuple[int, int], ...]:
        """(width, height) of each plane."""
        if self.format is PixelFormat.BGR:
            return ((self.width, self.height),)
        chroma = (self.width // 2, self.height // 2)
        return ((self.width, self.height), chroma, chroma)

    @property
    def channels(self) -> int:
        """Channels per plane."""
        return 3 if self.format is PixelFormat.BGR else 1

    def planes(self, frame: np.ndarray) -> list[np.ndarray]:
        """The planes of `frame` (a C-contiguous array of this layout) as views that share its memory."""
        if self.format is PixelFormat.BGR:
            return [frame]
        w, h = self.width, self.height
        flat = frame.reshape(-1)
        luma, chroma = w * h, (w // 2) * (h // 2)
        return [
            flat[:luma].reshape(h, w),
            flat[luma : luma + chroma].reshape(h // 2, w // 2),
            flat[luma + chroma : luma + 2 * chroma].reshape(h // 2, w // 2),
        ]

    def small_rgb(self, planes: list[np.ndarray], width: int, height: int) -> np.ndarray:
        """The frame (given as its `planes`) scaled to `width` x `height` (both even) as RGB, for the
        segmenter."""
        if self.format is PixelFormat.BGR:
            return cv2.cvtColor(shrink(planes[0], width, height), cv2.COLOR_BGR2RGB)
        y, u, v = planes
        i420 = np.empty((height * 3 // 2, width), dtype=np.uint8)
        sy, su, sv = FrameLayout(PixelFormat.I420, width, height).planes(i420)
        shrink(y, width, height, dst=sy)
        shrink(u, width // 2, height // 2, dst=su)
        shrink(v, width // 2, height // 2, dst=sv)
        return cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)

    def thumbnail(self, planes: list[np.ndarray], width: int, height: int) -> np.ndarray:
        """A small greyscale picture of the frame, for telling whether anything moved."""
        if self.format is PixelFormat.BGR:
            return cv2.cvtColor(shrink(planes[0], width, height), cv2.COLOR_BGR2GRAY)
        small = shrink(planes[0], width, height)
        return small.copy() if small is planes[0] else small

    def from_rgb(self, rgb: np.ndarray) -> list[np.ndarray]:
        """An RGB picture of this layout's size converted to this layout's planes (new arrays)."""
        if self.format is PixelFormat.BGR:
            return [cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)]
        converted = np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420))
        return [plane.copy() for plane in self.planes(converted)]

    def color_values(self, rgb: tuple[int, int, int]) -> list[tuple[int, ...]]:
        """A solid colour's value in each plane (same colour conversion as the frames use)."""
        patch = np.empty((2, 2, 3), dtype=np.uint8)
        patch[:] = rgb
        if self.format is PixelFormat.BGR:
            return [(rgb[2], rgb[1], rgb[0])]
        i420 = cv2.cvtColor(patch, cv2.COLOR_RGB2YUV_I420).reshape(-1)
        return [(int(i420[0]),), (int(i420[4]),), (int(i420[5]),)]


def shrink(plane: np.ndarray, width: int, height: int, dst: np.ndarray | None = None) -> np.ndarray:
    """Downscale with little aliasing but cheaply: OpenCV's area filter is fast for whole factors only,
    so halve first while that keeps the picture at least twice the target, then finish bilinearly."""
    while plane.shape[1] >= 2 * width and plane.shape[0] >= 2 * height:
        plane = cv2.resize(plane, (plane.shape[1] // 2, plane.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if plane.shape[1] == width and plane.shape[0] == height:
        if dst is None:
            return plane
        dst[...] = plane
        return dst
    if dst is None:
        return cv2.resize(plane, (width, height), interpolation=cv2.INTER_LINEAR)
    cv2.resize(plane, (width, height), dst=dst, interpolation=cv2.INTER_LINEAR)
    return dst
