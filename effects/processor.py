"""One stream's virtual background: segmentation, mask smoothing and compositing, frame after frame.

Per frame (I420 planes, as WebRTC video decodes; BGR works too):

* every `segment_every`-th frame (less often while nothing moves), the picture is shrunk to the
  model's 256x144 input and segmented, and the raw mask is smoothed over time (`MaskSmoother`). The
  alpha masks for the frame's planes (full size for Y, quarter size for U and V) are upscaled from it
  once, and the background term of the blend is computed once (`Backdrop.prepare`); frames in between
  reuse both;
* the person is composited over that background, plane by plane, in uint8. Images and colours are
  prepared once per frame size, not per frame.

PyAV frames (`process_frame`) are read and written in place through their planes: no conversion to BGR
and back, which would cost more than the whole effect.

The effect can change at any time (`set_effect`, from any thread); a frame uses the effect that was set
when its processing started. Switching keeps the mask, so there is no glitch; switching on after a pause
segments the very first frame. Blocking: call `process`/`process_frame` from a worker thread, never on an
event loop.
"""

from __future__ import annotations

import threading
import time
from typing import overload

import av
import cv2
import numpy as np

from effects.backdrop import Backdrop, PlaneMask
from effects.background import BackgroundEffect
from effects.errors import FrameError, InvalidSetting
from effects.frame_layout import FrameLayout, PixelFormat
from effects.mask_smoother import MaskSmoother
from effects.segmenter import INPUT_HEIGHT, INPUT_WIDTH
from effects.segmenter_pool import SegmenterPool

DEFAULT_SEGMENT_EVERY = 2
DEFAULT_SEGMENT_EVERY_STILL = 4
# Motion check between segmentations: a thumbnail of the luma, and how much of it must change (by more
# than sensor noise and compression can) for the picture to count as moving.
_THUMB_SIZE = (80, 60)
_CHANGED_LEVEL = 12
_MOVING_FRACTION = 0.003
# After a gap this long between frames (the effect was off, or the stream paused), the mask is thrown
# away rather than reused or smoothed with.
STALE_MASK_SECONDS = 0.5


class BackgroundProcessor:
    """Applies one attendee's current `BackgroundEffect` to their frames; keeps the per-stream state.

    `segmenters` may be a pool shared by many processors (the model is stateless); without one, the
    processor loads its own segmenter on first use and frees it in `close()`.

    The model runs every `segment_every` frames; while nothing in the picture moves (a thumbnail of it
    is unchanged since the last segmentation), only every `segment_every_still` frames: a still
    person's mask does not go stale, and a listener sitting still costs less. After a gap of
    `stale_after` seconds between frames the mask is made afresh.

    `opencv_threads` sets OpenCV's worker threads for the whole process (`cv2.setNumThreads`): a server
    runs each stream's effect in a worker of its own, and OpenCV splitting every small resize and blur
    over more threads only adds overhead (about half a millisecond of CPU per 640x480 frame, measured
    by `bench/bench_effects.py`). None leaves the setting alone.
    """

    def __init__(
        self,
        effect: BackgroundEffect | None = None,
        *,
        segmenters: SegmenterPool | None = None,
        segment_every: int = DEFAULT_SEGMENT_EVERY,
        segment_every_still: int = DEFAULT_SEGMENT_EVERY_STILL,
        smoother: MaskSmoother | None = None,
        stale_after: float = STALE_MASK_SECONDS,
        opencv_threads: int | None = 1,
    ) -> None:
        for name, value in (("segment_every", segment_every), ("segment_every_still", segment_every_still)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidSetting(f"{name} must be an integer of at least 1, got {value!r}")
        if segment_every_still < segment_every:
            raise InvalidSetting("segment_every_still must be at least segment_every")
        if not stale_after > 0:
            raise InvalidSetting(f"stale_after must be positive, got {stale_after!r}")
        if opencv_threads is not None and cv2.getNumThreads() != opencv_threads:
            cv2.setNumThreads(opencv_threads)
        self._effect = BackgroundEffect.none()
        if effect is not None:
            self.set_effect(effect)
        self._own_pool = segmenters is None
        self._segmenters = segmenters if segmenters is not None else SegmenterPool(1)
        self.segment_every = segment_every
        self.segment_every_still = segment_every_still
        self.stale_after = stale_after
        self._smoother = smoother if smoother is not None else MaskSmoother()
        self._lock = threading.Lock()
        self._layout: FrameLayout | None = None
        self._person: np.ndarray | None = None  # alpha at the model's resolution (uint8, 255 = person)
        self._masks: list[PlaneMask] = []
        self._thumbnail: np.ndarray | None = None  # of the last segmented frame
        self._due_thumbnail: np.ndarray | None = None  # of this frame, when the motion check made one
        self._backdrop: Backdrop | None = None
        self._frame_index = 0  # frames processed with an effect on
        self._segmented_frame = 0  # frame index of the last segmentation
        self._last_frame_time = -float("inf")  # monotonic time of the last frame processed
        self._closed = False
        self.frames = 0
        self.segmentations = 0

    @property
    def effect(self) -> BackgroundEffect:
        return self._effect

    @property
    def closed(self) -> bool:
        return self._closed

    def set_effect(self, effect: BackgroundEffect) -> None:
        """Switch to `effect` from the next frame on. Anything but a `BackgroundEffect` is refused with
        `InvalidSetting` and the current effect stays. (Settings are checked when the effect is made.)"""
        if not isinstance(effect, BackgroundEffect):
            raise InvalidSetting(f"expected a BackgroundEffect, got {type(effect).__name__}")
        self._effect = effect  # one reference assignment: atomic for a worker thread reading it

    @property
    def mask(self) -> np.ndarray | None:
        """The current person mask at the model's resolution (uint8, 255 = person), or None."""
        person = self._person
        return None if person is None else person.copy()

    @overload
    def process(self, frame: av.VideoFrame) -> av.VideoFrame: ...
    @overload
    def process(self, frame: np.ndarray) -> np.ndarray: ...
    def process(self, frame: av.VideoFrame | np.ndarray) -> av.VideoFrame | np.ndarray:
        """The frame with the current effect applied. A numpy frame (I420 `(h * 3 / 2, w)` or BGR
        `(h, w, 3)`, uint8) gives a new array of the same layout; a PyAV frame gives a new frame (see
        `process_frame`). With no effect on, the frame itself is returned untouched."""
        if isinstance(frame, av.VideoFrame):
            return self.process_frame(frame)
        layout = FrameLayout.of(frame)
        effect = self._effect
        if not effect.active:
            return frame
        frame = np.ascontiguousarray(frame)
        out = np.empty(layout.shape, dtype=np.uint8)
        self._run(layout, layout.planes(frame), layout.planes(out), effect)
        return out

    def process_frame(self, frame: av.VideoFrame) -> av.VideoFrame:
        """`process` for a PyAV video frame: a new yuv420p frame with the same pts and time base, or the
        same frame object when no effect is on."""
        effect = self._effect
        if not effect.active:
            return frame
        if frame.width % 2 or frame.height % 2:
            raise FrameError(f"frame size must be even, got {frame.width}x{frame.height}")
        source = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
        layout = FrameLayout(PixelFormat.I420, frame.width, frame.height)
        out = av.VideoFrame(frame.width, frame.height, "yuv420p")
        self._run(layout, _plane_views(source, layout), _plane_views(out, layout), effect)
        out.pts = frame.pts
        if frame.time_base is not None:
            out.time_base = frame.time_base
        out.color_range = source.color_range
        out.colorspace = source.colorspace
        return out

    def close(self) -> None:
        """Free the model if this processor loaded its own. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._own_pool:
            self._segmenters.close()

    # --- per frame --------------------------------------------------------------------------------

    def _run(
        self, layout: FrameLayout, planes: list[np.ndarray], out: list[np.ndarray], effect: BackgroundEffect
    ) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("background processor is closed")
            if layout != self._layout:
                self._layout = layout
                self._person = None
                self._backdrop = None
            now = time.monotonic()
            if now - self._last_frame_time > self.stale_after:
                self._person = None
                self._backdrop = None  # its blurred picture is as old as the mask
            self._last_frame_time = now
            backdrop = self._backdrop
            if backdrop is None or backdrop.effect is not effect:
                backdrop = self._backdrop = Backdrop(effect, layout)
            if self._segmentation_due(layout, planes):
                self._segment(layout, planes)
                backdrop.prepare(planes, self._masks, self._person_mask())
            elif not backdrop.prepared:
                backdrop.prepare(planes, self._masks, self._person_mask())
            backdrop.compose(planes, self._masks, out)
            self._frame_index += 1
            self.frames += 1

    def _segmentation_due(self, layout: FrameLayout, planes: list[np.ndarray]) -> bool:
        self._due_thumbnail = None
        since = self._frame_index - self._segmented_frame
        if self._person is None or self._thumbnail is None or since >= self.segment_every_still:
            return True
        if since < self.segment_every:
            return False
        thumbnail = layout.thumbnail(planes, *_THUMB_SIZE)
        changed = cv2.absdiff(thumbnail, self._thumbnail)
        moving = cv2.countNonZero(cv2.threshold(changed, _CHANGED_LEVEL, 255, cv2.THRESH_BINARY)[1])
        if moving > _MOVING_FRACTION * changed.size:
            self._due_thumbnail = thumbnail  # the segmentation about to run keeps it
            return True
        return False

    def _person_mask(self) -> np.ndarray:
        assert self._person is not None
        return self._person

    def _segment(self, layout: FrameLayout, planes: list[np.ndarray]) -> None:
        small = layout.small_rgb(planes, INPUT_WIDTH, INPUT_HEIGHT)
        with self._segmenters.borrow() as segmenter:
            raw = segmenter.segment(small)
        if self._person is None:
            self._smoother.reset()  # a fresh start: nothing recent to smooth with
        person = self._smoother.update(raw)
        by_size: dict[tuple[int, int], PlaneMask] = {}  # U and V share theirs
        for size in layout.plane_sizes:
            if size not in by_size:
                alpha = cv2.resize(person, size, interpolation=cv2.INTER_LINEAR)
                if layout.format is PixelFormat.BGR:
                    alpha = cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR)
                by_size[size] = PlaneMask(alpha)
        masks = [by_size[size] for size in layout.plane_sizes]
        self._person = person
        self._masks = masks
        thumbnail, self._due_thumbnail = self._due_thumbnail, None
        self._thumbnail = thumbnail if thumbnail is not None else layout.thumbnail(planes, *_THUMB_SIZE)
        self._segmented_frame = self._frame_index
        self.segmentations += 1


def _plane_views(frame: av.VideoFrame, layout: FrameLayout) -> list[np.ndarray]:
    """The planes of a yuv420p PyAV frame as numpy views of its own memory (rows may be padded)."""
    views = []
    for plane, (width, height) in zip(frame.planes, layout.plane_sizes, strict=True):
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
        views.append(rows[:height, :width])
    return views
