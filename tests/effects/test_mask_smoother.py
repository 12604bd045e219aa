"""MaskSmoother: steady edges on a still person, no trailing behind a moving one, thin sharp edges."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from effects_testing import astronaut_rgb

from effects import InvalidSetting, MaskSmoother, Segmenter
from effects.mask_smoother import smoothstep_lut


@pytest.fixture(scope="module")
def noisy_still_masks() -> list[np.ndarray]:
    """Raw model output for 20 frames of a still astronaut with camera noise."""
    rng = np.random.default_rng(7)
    still = astronaut_rgb(0).astype(np.float32)
    with Segmenter() as segmenter:
        masks = []
        for _ in range(20):
            noisy = np.clip(still + rng.normal(0.0, 4.0, still.shape), 0, 255).astype(np.uint8)
            masks.append(segmenter.segment(cv2.resize(noisy, (256, 144), interpolation=cv2.INTER_AREA)))
    return masks


def flicker(smoother: MaskSmoother, raws: list[np.ndarray]) -> float:
    """Mean absolute change of the alpha mask from frame to frame."""
    previous = smoother.update(raws[0]).astype(np.int16)
    changes = []
    for raw in raws[1:]:
        alpha = smoother.update(raw).astype(np.int16)
        changes.append(float(np.mean(np.abs(alpha - previous))))
        previous = alpha
    return float(np.mean(changes))


def test_smoothing_steadies_a_still_person(noisy_still_masks: list[np.ndarray]) -> None:
    raw_flicker = flicker(MaskSmoother(ema=0.0, feather=0), noisy_still_masks)
    smoothed_flicker = flicker(MaskSmoother(feather=0), noisy_still_masks)
    assert raw_flicker > 0  # the noise does move the model's edges
    assert smoothed_flicker < raw_flicker / 2


def test_a_large_change_goes_through_at_once() -> None:
    """Where old and new masks disagree by more than `motion`, the new one wins: no trail of old mask."""
    smoother = MaskSmoother(ema=0.75, motion=0.3, feather=0)
    before = np.zeros((144, 256), dtype=np.float32)
    before[:, :128] = 1.0
    after = np.zeros_like(before)
    after[:, 64:192] = 1.0  # the person moved right by a quarter of the frame
    smoother.update(before)
    alpha = smoother.update(after)
    assert alpha[:, 64:128].min() == 255 and alpha[:, 128:192].min() == 255
    assert alpha[:, :64].max() == 0 and alpha[:, 192:].max() == 0


def test_small_disagreements_are_averaged() -> None:
    smoother = MaskSmoother(ema=0.75, motion=0.3, feather=0, low=0.0, high=1.0)
    smoother.update(np.full((8, 8), 0.5, dtype=np.float32))
    smoother.update(np.full((8, 8), 0.6, dtype=np.float32))
    # weight = 0.75 * (1 - 0.1 / 0.3) = 0.5: halfway between old and new.
    assert smoother.confidence is not None
    np.testing.assert_allclose(smoother.confidence, 0.55, atol=1e-6)


def test_reset_forgets_the_past() -> None:
    smoother = MaskSmoother(feather=0)
    smoother.update(np.full((8, 8), 0.45, dtype=np.float32))
    smoother.reset()
    assert smoother.confidence is None
    alpha = smoother.update(np.full((8, 8), 0.55, dtype=np.float32))
    assert smoother.confidence is not None
    np.testing.assert_allclose(smoother.confidence, 0.55)
    assert alpha.dtype == np.uint8


def test_a_new_size_starts_afresh() -> None:
    smoother = MaskSmoother(feather=0)
    smoother.update(np.zeros((8, 8), dtype=np.float32))
    alpha = smoother.update(np.ones((4, 4), dtype=np.float32))
    assert alpha.shape == (4, 4) and alpha.min() == 255


def test_smoothstep_sharpens_the_edge_band() -> None:
    lut = smoothstep_lut(0.4, 0.8)
    assert lut[0] == 0 and lut[int(0.4 * 255)] == 0
    assert lut[255] == 255 and lut[int(np.ceil(0.8 * 255))] == 255
    assert lut[153] < 128 < lut[166]  # the middle of the band is the middle of the alpha
    assert np.all(np.diff(lut.astype(int)) >= 0)


def test_feathering_softens_a_hard_edge() -> None:
    raw = np.zeros((16, 16), dtype=np.float32)
    raw[:, 8:] = 1.0
    hard = MaskSmoother(feather=0).update(raw)
    soft = MaskSmoother(feather=3).update(raw)
    assert set(np.unique(hard)) == {0, 255}
    assert 0 < soft[0, 7] < 255 and 0 < soft[0, 8] < 255


@pytest.mark.parametrize(
    "settings",
    [
        {"ema": 1.0},
        {"ema": -0.1},
        {"motion": 0.0},
        {"low": 0.8, "high": 0.4},
        {"feather": 4},
        {"feather": -1},
    ],
)
def test_bad_settings(settings: dict[str, float]) -> None:
    with pytest.raises(InvalidSetting):
        MaskSmoother(**settings)  # type: ignore[arg-type]
