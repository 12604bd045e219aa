"""FrameLayout: I420 and BGR frames split into planes without copies; the segmenter's small picture."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from effects_testing import astronaut_i420, astronaut_rgb

from effects import FrameError, FrameLayout, PixelFormat
from effects.frame_layout import shrink


def test_i420_layout_and_planes_share_memory() -> None:
    frame = astronaut_i420(0)
    layout = FrameLayout.of(frame)
    assert layout == FrameLayout(PixelFormat.I420, 640, 480)
    assert layout.shape == (720, 640)
    assert layout.plane_sizes == ((640, 480), (320, 240), (320, 240))
    y, u, v = layout.planes(frame)
    assert (y.shape, u.shape, v.shape) == ((480, 640), (240, 320), (240, 320))
    for plane in (y, u, v):
        assert np.shares_memory(plane, frame)
    np.testing.assert_array_equal(y, frame[:480])
    np.testing.assert_array_equal(u.ravel(), frame[480:600].ravel())
    np.testing.assert_array_equal(v.ravel(), frame[600:].ravel())


def test_bgr_layout() -> None:
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    layout = FrameLayout.of(frame)
    assert layout == FrameLayout(PixelFormat.BGR, 640, 480)
    assert layout.plane_sizes == ((640, 480),) and layout.channels == 3
    assert layout.planes(frame)[0] is frame


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((721, 640), dtype=np.uint8),  # not 3/2 of an even height
        np.zeros((720, 641), dtype=np.uint8),  # odd width
        np.zeros((480, 640, 4), dtype=np.uint8),
        np.zeros((720, 640), dtype=np.float32),
        np.zeros((720,), dtype=np.uint8),
        [[0, 0], [0, 0]],
    ],
)
def test_unsupported_frames(frame: object) -> None:
    with pytest.raises(FrameError):
        FrameLayout.of(frame)


def test_small_rgb_from_i420_matches_a_direct_conversion() -> None:
    frame = astronaut_i420(0)
    layout = FrameLayout.of(frame)
    small = layout.small_rgb(layout.planes(frame), 256, 144)
    assert small.shape == (144, 256, 3)
    expected = cv2.resize(astronaut_rgb(0), (256, 144), interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - expected).mean() < 6


def test_small_rgb_from_bgr() -> None:
    rgb = astronaut_rgb(0)
    layout = FrameLayout.of(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    small = layout.small_rgb([cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)], 256, 144)
    expected = cv2.resize(rgb, (256, 144), interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - expected).mean() < 4


def test_shrink_halves_then_finishes_bilinearly() -> None:
    plane = np.random.default_rng(0).integers(0, 256, (480, 640), dtype=np.uint8)
    out = np.empty((144, 256), dtype=np.uint8)
    assert shrink(plane, 256, 144, dst=out) is out
    flat = np.full((480, 640), 77, dtype=np.uint8)
    assert set(np.unique(shrink(flat, 100, 75))) == {77}
    assert shrink(plane, 640, 480) is plane  # already the right size


def test_from_rgb_and_colour_values_use_the_frames_colour_conversion() -> None:
    layout = FrameLayout(PixelFormat.I420, 64, 48)
    solid = np.empty((48, 64, 3), dtype=np.uint8)
    solid[:] = (30, 144, 255)
    planes = layout.from_rgb(solid)
    values = layout.color_values((30, 144, 255))
    for plane, (value,) in zip(planes, values, strict=True):
        assert set(np.unique(plane)) == {value}
    back = cv2.cvtColor(
        np.concatenate([p.reshape(-1) for p in planes]).reshape(72, 64), cv2.COLOR_YUV2RGB_I420
    )
    assert np.abs(back.astype(int) - (30, 144, 255)).max() <= 3
    assert FrameLayout(PixelFormat.BGR, 64, 48).color_values((1, 2, 3)) == [(3, 2, 1)]
