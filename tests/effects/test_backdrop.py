"""Backdrop: uint8 compositing that is exact where the mask is decided, and a blur that keeps the person
out of the background."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from effects import Backdrop, BackgroundEffect, FrameLayout, PixelFormat, PlaneMask
from effects.backdrop import BLUR_REFRESH, blur_sigma

I420 = FrameLayout(PixelFormat.I420, 64, 48)
BGR = FrameLayout(PixelFormat.BGR, 64, 48)


def half_mask(layout: FrameLayout) -> tuple[np.ndarray, list[PlaneMask]]:
    """Person on the left half (alpha 255), background on the right (0), a soft column in between."""
    person = np.zeros((144, 256), dtype=np.uint8)
    person[:, :128] = 255
    masks = []
    for width, height in layout.plane_sizes:
        alpha = np.zeros((height, width), dtype=np.uint8)
        alpha[:, : width // 2] = 255
        alpha[:, width // 2] = 128
        if layout.channels > 1:
            alpha = np.dstack([alpha] * layout.channels)
        masks.append(PlaneMask(alpha))
    return person, masks


def random_planes(layout: FrameLayout, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = (lambda w, h: (h, w, 3)) if layout.channels > 1 else (lambda w, h: (h, w))
    return [rng.integers(0, 256, shape(w, h), dtype=np.uint8) for w, h in layout.plane_sizes]


def composite(effect: BackgroundEffect, layout: FrameLayout, planes: list[np.ndarray]) -> list[np.ndarray]:
    person, masks = half_mask(layout)
    backdrop = Backdrop(effect, layout)
    backdrop.prepare(planes, masks, person)
    out = [np.empty_like(plane) for plane in planes]
    backdrop.compose(planes, masks, out)
    return out


@pytest.mark.parametrize("layout", [I420, BGR], ids=["i420", "bgr"])
def test_colour_is_exact_on_the_background_and_the_person_untouched(layout: FrameLayout) -> None:
    planes = random_planes(layout)
    out = composite(BackgroundEffect.solid((30, 144, 255)), layout, planes)
    for plane, result, value in zip(planes, out, layout.color_values((30, 144, 255)), strict=True):
        half = plane.shape[1] // 2
        np.testing.assert_array_equal(result[:, :half], plane[:, :half])
        assert (result[:, half + 1 :] == np.asarray(value, dtype=np.uint8)).all()
        # The soft column is the blend, within one step.
        expected = (plane[:, half].astype(float) * 128 + np.asarray(value) * 127) / 255
        assert np.abs(result[:, half] - expected).max() <= 1.0


def test_image_backdrop_is_exact_where_decided() -> None:
    picture = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    planes = random_planes(BGR)
    out = composite(BackgroundEffect.picture(picture), BGR, planes)
    np.testing.assert_array_equal(out[0][:, :32], planes[0][:, :32])
    np.testing.assert_array_equal(out[0][:, 33:], picture[:, 33:, ::-1])  # RGB picture, BGR frame


def test_blur_keeps_the_persons_colours_out_of_the_background() -> None:
    """A bright person next to a dark background: the blurred background beside them stays dark."""
    layout = FrameLayout(PixelFormat.I420, 256, 144)
    y = np.full((144, 256), 20, dtype=np.uint8)
    y[:, :128] = 235
    u = np.full((72, 128), 128, dtype=np.uint8)
    planes = [y, u, u.copy()]
    person, masks = half_mask(layout)
    backdrop = Backdrop(BackgroundEffect.blurred(1.0), layout)
    backdrop.prepare(planes, masks, person)
    out = [np.empty_like(plane) for plane in planes]
    backdrop.compose(planes, masks, out)
    np.testing.assert_array_equal(out[0][:, :128], y[:, :128])
    # Right next to the person, a plain blur of the same strength is far brighter; the weighted one
    # stays within a tenth of the step.
    sigma = blur_sigma(1.0, 256)
    plain = cv2.GaussianBlur(y, (0, 0), sigma)
    assert plain[:, 132].min() > 80
    assert out[0][:, 132:].max() <= 20 + 0.1 * (235 - 20)


def test_blur_removes_detail_and_keeps_the_mean() -> None:
    layout = FrameLayout(PixelFormat.I420, 320, 240)
    planes = random_planes(layout)
    person = np.zeros((144, 256), dtype=np.uint8)  # all background
    masks = [PlaneMask(np.zeros((h, w), dtype=np.uint8)) for w, h in layout.plane_sizes]
    backdrop = Backdrop(BackgroundEffect.blurred(0.5), layout)
    backdrop.prepare(planes, masks, person)
    out = [np.empty_like(plane) for plane in planes]
    backdrop.compose(planes, masks, out)
    assert out[0].std() < planes[0].std() / 5
    assert abs(float(out[0].mean()) - float(planes[0].mean())) < 3


def test_stronger_blur_means_a_larger_sigma() -> None:
    assert blur_sigma(0.0, 640) < blur_sigma(0.5, 640) < blur_sigma(1.0, 640)
    assert blur_sigma(0.5, 1280) == 2 * blur_sigma(0.5, 640)


def test_compose_needs_prepare_and_none_has_no_backdrop() -> None:
    backdrop = Backdrop(BackgroundEffect.solid((0, 0, 0)), I420)
    assert not backdrop.prepared
    planes = random_planes(I420)
    _, masks = half_mask(I420)
    with pytest.raises(RuntimeError, match="prepare"):
        backdrop.compose(planes, masks, [np.empty_like(p) for p in planes])
    with pytest.raises(ValueError):
        Backdrop(BackgroundEffect.none(), I420)


def test_the_blurred_picture_is_refreshed_every_few_masks() -> None:
    layout = FrameLayout(PixelFormat.I420, 320, 240)
    dark = [np.full((h, w), 40, dtype=np.uint8) for w, h in layout.plane_sizes]
    bright = [np.full((h, w), 200, dtype=np.uint8) for w, h in layout.plane_sizes]
    person = np.zeros((144, 256), dtype=np.uint8)
    masks = [PlaneMask(np.zeros((h, w), dtype=np.uint8)) for w, h in layout.plane_sizes]
    backdrop = Backdrop(BackgroundEffect.blurred(), layout)
    out = [np.empty_like(plane) for plane in dark]
    seen = []
    for planes in [dark] + [bright] * BLUR_REFRESH:
        backdrop.prepare(planes, masks, person)
        backdrop.compose(planes, masks, out)
        seen.append(int(np.median(out[0])))
    assert seen == [40] * BLUR_REFRESH + [200]
