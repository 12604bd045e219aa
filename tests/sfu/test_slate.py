"""Slate: the waiting card, rendered once, handed out as fresh frames."""

from __future__ import annotations

import numpy as np
import pytest

from sfu.slate import Slate, render


def test_slate_renders_text_on_a_plain_background() -> None:
    image = render("Waiting for your next match", 640, 360)
    assert image.shape == (360, 640, 3)
    background = image[0, 0].copy()
    text_pixels = np.any(image != background, axis=2)
    # The text covers a band in the middle, and the corners stay background.
    assert 0.005 < text_pixels.mean() < 0.2
    rows = np.nonzero(text_pixels.any(axis=1))[0]
    assert 100 < rows.min() and rows.max() < 260


def test_slate_frames_are_distinct_yuv420p_objects_of_the_same_picture() -> None:
    slate = Slate(width=320, height=180)
    a, b = slate.frame(), slate.frame()
    assert a is not b
    assert (a.width, a.height, a.format.name) == (320, 180, "yuv420p")
    assert np.array_equal(a.to_ndarray(), b.to_ndarray())
    rgb = a.to_ndarray(format="rgb24")
    assert np.abs(rgb.astype(int) - slate.image[..., ::-1].astype(int)).mean() < 6


@pytest.mark.parametrize(("width", "height", "fps"), [(641, 360, 2.0), (8, 8, 2.0), (640, 360, 0.0)])
def test_slate_rejects_bad_settings(width: int, height: int, fps: float) -> None:
    with pytest.raises(ValueError):
        Slate(width=width, height=height, fps=fps)
