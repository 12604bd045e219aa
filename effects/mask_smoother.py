"""Turns the model's raw person confidence into a steady alpha mask with clean edges.

Three steps, all at the model's resolution (256x144, a few tens of microseconds):

1. Temporal smoothing: an exponential moving average with `ema` weight on the previous mask, so edges
   do not flicker. The weight drops where the new mask disagrees strongly with the old one (the person
   moved): smoothing calm edges must not make a moving arm trail behind (a halo of old background).
2. Edge sharpening: a smoothstep between `low` and `high` confidence, so the unsure band around the
   person is thin instead of a wide semi-transparent fringe.
3. Feathering: a small blur; upscaling the mask bilinearly to the frame then gives a soft, clean edge.
"""

from __future__ import annotations

import cv2
import numpy as np

from effects.errors import InvalidSetting


def smoothstep_lut(low: float, high: float) -> np.ndarray:
    """256-entry uint8 table: confidence byte -> alpha byte through a smoothstep from `low` to `high`."""
    x = np.arange(256, dtype=np.float64) / 255.0
    t = np.clip((x - low) / (high - low), 0.0, 1.0)
    return np.rint(255.0 * t * t * (3.0 - 2.0 * t)).astype(np.uint8)


class MaskSmoother:
    """Stateful per stream: feed each new raw mask to `update()`; `reset()` after a cut or size change."""

    def __init__(
        self,
        ema: float = 0.75,
        motion: float = 0.3,
        low: float = 0.4,
        high: float = 0.8,
        feather: int = 3,
    ) -> None:
        if not 0.0 <= ema < 1.0:
            raise InvalidSetting(f"ema weight must be in [0, 1), got {ema}")
        if not 0.0 < motion <= 1.0:
            raise InvalidSetting(f"motion threshold must be in (0, 1], got {motion}")
        if not 0.0 <= low < high <= 1.0:
            raise InvalidSetting(f"need 0 <= low < high <= 1, got {low}, {high}")
        if feather < 0 or (feather and feather % 2 == 0):
            raise InvalidSetting(f"feather must be 0 or an odd kernel size, got {feather}")
        self.ema = ema
        self.motion = motion
        self.low = low
        self.high = high
        self.feather = feather
        self._lut = smoothstep_lut(low, high)
        self._state: np.ndarray | None = None  # smoothed confidence, float32

    @property
    def confidence(self) -> np.ndarray | None:
        """The smoothed confidence (float32, 0..1) after the last update, or None."""
        return self._state

    def reset(self) -> None:
        self._state = None

    def update(self, raw: np.ndarray) -> np.ndarray:
        """Blend a new raw confidence (float32, 0..1) into the state; returns the alpha mask (uint8)."""
        raw = np.asarray(raw, dtype=np.float32)
        state = self._state
        if state is None or state.shape != raw.shape or self.ema == 0.0:
            state = raw.copy()
        else:
            # weight = ema * max(0, 1 - |raw - state| / motion): full smoothing where the masks agree,
            # none where they disagree by `motion` or more. (OpenCV: fewer passes than numpy here.)
            weight = cv2.absdiff(raw, state)
            weight = cv2.addWeighted(weight, -self.ema / self.motion, weight, 0.0, self.ema)
            weight = cv2.threshold(weight, 0.0, 0.0, cv2.THRESH_TOZERO)[1]
            # state = raw + (state - raw) * weight
            state = cv2.add(cv2.multiply(cv2.subtract(state, raw), weight), raw)
        self._state = state
        alpha = cv2.LUT(cv2.convertScaleAbs(state, alpha=255.0), self._lut)
        if self.feather:
            alpha = cv2.GaussianBlur(alpha, (self.feather, self.feather), 0)
        return alpha
