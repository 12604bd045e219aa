"""What goes behind the person, prepared once per effect and frame layout, and the compositing itself.

Compositing is uint8 throughout, with OpenCV's saturating arithmetic:

    out = fg * a / 255 + bg * (255 - a) / 255        (each product rounded; a = 255 is the person)

Where the mask is 255 the person's pixels come out untouched and where it is 0 the background's do,
exactly; in between the result is within one step of the exact blend. The background term only changes
when the mask does (every segmentation), so `prepare()` computes it then and every frame in between
costs one multiply and one add per plane:

* colour: the term is the inverse mask scaled by the colour's value in each plane;
* image: the picture fitted by "cover" (see `cover_fit`) and converted to the frame's planes once per
  frame size, times the inverse mask;
* blur: the planes shrunk to a small grid, where a small Gaussian does the work of a large one, and
  the result scaled back up. The blur is weighted by the background mask (normalized convolution), so
  the person's colours do not bleed into the blurred background around them as a ghostly halo. The
  blurred picture is refreshed every `BLUR_REFRESH` masks (its product with the mask at every one): a
  background blurred this much a few frames old cannot be told apart from a fresh one.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from effects.background import BackgroundEffect, EffectKind, cover_fit
from effects.frame_layout import FrameLayout, shrink

_SCALE = 1.0 / 255.0
# Blur strength 0..1 -> Gaussian sigma in pixels of a 640-wide frame.
BLUR_SIGMA_MIN = 3.0
BLUR_SIGMA_MAX = 24.0
# The blur runs on a small grid, where its sigma is about this many cells (a large blur on a coarse
# grid, a light one on a finer grid), all planes stacked as the channels of one picture: U and V are
# half size and need half the sigma, which on the common grid is the same sigma as Y's.
_GRID_SIGMA = 2.0
# Weight kept by person pixels in the background blur, so the normalization never divides by zero.
_PERSON_WEIGHT = 0.01
# The blurred picture is made afresh every this many masks (every 4th frame when the model runs on every
# 2nd); in between only its product with the new mask is. A background blurred this much looks the same
# a few frames later.
BLUR_REFRESH = 2


class PlaneMask:
    """The alpha mask at one plane's size and channel count (`alpha` 255 = person) and, made on first
    use, its inverse."""

    def __init__(self, alpha: np.ndarray) -> None:
        self.alpha = alpha
        self._inverse: np.ndarray | None = None

    @property
    def inverse(self) -> np.ndarray:
        if self._inverse is None:
            self._inverse = cv2.subtract(np.full_like(self.alpha, 255), self.alpha)
        return self._inverse


def blur_sigma(strength: float, width: int) -> float:
    """Gaussian sigma (pixels of a `width`-wide picture) for a blur strength in 0..1."""
    return (BLUR_SIGMA_MIN + (BLUR_SIGMA_MAX - BLUR_SIGMA_MIN) * strength) * width / 640.0


class Backdrop:
    """The background for one effect (blur, colour or image) and one frame layout."""

    def __init__(self, effect: BackgroundEffect, layout: FrameLayout) -> None:
        if not effect.active:
            raise ValueError("no backdrop for the 'none' effect")
        self.effect = effect
        self.layout = layout
        self._colors: list[int] = []
        self._pictures: list[np.ndarray] = []
        self._blur_grid = (0, 0)  # size of the grid the blur runs on
        self._blur_sigma = 0.0  # in grid cells
        self._blurred: np.ndarray | None = None  # at the mask's resolution, all planes as channels
        self._blurred_age = 0  # masks since it was made
        self._terms: list[np.ndarray] | None = None  # bg * (255 - a) / 255 per plane, from prepare()
        if effect.kind is EffectKind.COLOR:
            for (width, height), values in zip(
                layout.plane_sizes, layout.color_values(effect.color), strict=True
            ):
                if len(values) == 1:
                    self._colors.append(values[0])
                else:  # a multi-channel plane: a solid picture, blended like an image
                    self._pictures.append(np.full((height, width, len(values)), values, dtype=np.uint8))
        elif effect.kind is EffectKind.IMAGE:
            assert effect.image is not None
            self._pictures = layout.from_rgb(cover_fit(effect.image, layout.width, layout.height))
        else:
            sigma = blur_sigma(effect.blur_strength, layout.width)
            scale = min(1.0, _GRID_SIGMA / sigma)  # grid cells per frame pixel
            self._blur_grid = (max(4, round(layout.width * scale)), max(4, round(layout.height * scale)))
            self._blur_sigma = sigma * self._blur_grid[0] / layout.width

    @property
    def prepared(self) -> bool:
        return self._terms is not None

    def prepare(self, planes: list[np.ndarray], masks: list[PlaneMask], person: np.ndarray) -> None:
        """Compute the background term of the blend for a new mask. `planes` is the current frame (the
        blur's source); `person` the mask at the model's resolution (uint8), which keeps the person out
        of the blurred background."""
        kind = self.effect.kind
        terms = []
        if kind is EffectKind.COLOR and self._colors:
            for mask, color in zip(masks, self._colors, strict=True):
                # |c - a * c / 255| = c * (255 - a) / 255, straight from the mask.
                terms.append(cv2.convertScaleAbs(mask.alpha, alpha=-color * _SCALE, beta=color))
        elif kind is not EffectKind.BLUR:
            for mask, picture in zip(masks, self._pictures, strict=True):
                terms.append(cv2.multiply(picture, mask.inverse, scale=_SCALE))
        else:
            terms = self._blur_terms(planes, person)
        self._terms = terms

    def compose(self, planes: list[np.ndarray], masks: list[PlaneMask], out: list[np.ndarray]) -> None:
        """Write the composited planes into `out` (after `prepare()` for the current masks)."""
        if self._terms is None:
            raise RuntimeError("Backdrop.compose() before prepare()")
        for plane, mask, term, dst in zip(planes, masks, self._terms, out, strict=True):
            cv2.multiply(plane, mask.alpha, dst=dst, scale=_SCALE)
            cv2.add(dst, term, dst=dst)

    def _blur_terms(self, planes: list[np.ndarray], person: np.ndarray) -> list[np.ndarray]:
        """blur * (255 - alpha) / 255 for each plane. The term is made at the mask's own resolution and
        scaled up once: the blurred picture is smooth there, so this matches the product at full size
        for a fraction of the work."""
        size = (person.shape[1], person.shape[0])
        if (
            self._blurred is None
            or self._blurred.shape[:2] != person.shape
            or self._blurred_age >= BLUR_REFRESH
        ):
            self._blurred = cv2.resize(self._blur(planes, person), size, interpolation=cv2.INTER_LINEAR)
            self._blurred_age = 0
        self._blurred_age += 1
        blurred = self._blurred
        background = cv2.subtract(np.full_like(person, 255), person)
        if blurred.ndim == 3:
            background = cv2.merge([background] * blurred.shape[2])
        term = cv2.multiply(blurred, background, scale=_SCALE)
        parts = [term] if len(planes) == 1 else list(cv2.split(term))
        return [
            cv2.resize(part, (plane.shape[1], plane.shape[0]), interpolation=cv2.INTER_LINEAR)
            for part, plane in zip(parts, planes, strict=True)
        ]

    def _blur(self, planes: list[np.ndarray], person: np.ndarray) -> np.ndarray:
        """The frame blurred on the small grid, weighted so the person does not bleed into it."""
        grid = self._blur_grid
        shrunk = [shrink(plane, *grid) for plane in planes]
        stack = shrunk[0] if len(shrunk) == 1 else cv2.merge(shrunk)
        channels = 1 if stack.ndim == 2 else stack.shape[2]
        # Background weight: 1 on the background, _PERSON_WEIGHT on the person; its blur normalizes.
        weight: np.ndarray = cv2.resize(person, grid, interpolation=cv2.INTER_AREA).astype(np.float32)
        weight *= (_PERSON_WEIGHT - 1.0) / 255.0
        weight += 1.0
        sigma = self._blur_sigma
        ksize = 2 * math.ceil(3.0 * sigma) + 1
        norm = cv2.GaussianBlur(weight, (ksize, ksize), sigma)
        if channels > 1:
            weight, norm = cv2.merge([weight] * channels), cv2.merge([norm] * channels)
        blurred = cv2.GaussianBlur(cv2.multiply(stack, weight, dtype=cv2.CV_32F), (ksize, ksize), sigma)
        return cv2.convertScaleAbs(cv2.divide(blurred, norm))
