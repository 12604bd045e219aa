"""Server-side virtual backgrounds: blur, solid colour or an image behind the person, with MediaPipe's
selfie segmentation, cheap enough to run on every attendee's video.

Pure processing (numpy, OpenCV, MediaPipe, PyAV frames): no aiortc, no event loop.
"""

from effects.backdrop import Backdrop, PlaneMask
from effects.background import (
    DEFAULT_BLUR_STRENGTH,
    DEFAULT_COLOR,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    BackgroundEffect,
    EffectKind,
    cover_fit,
    load_image,
    parse_color,
)
from effects.errors import (
    EffectError,
    FrameError,
    ImageError,
    ImageTooLarge,
    InvalidSetting,
    SegmenterError,
    UnknownEffect,
)
from effects.frame_layout import FrameLayout, PixelFormat
from effects.mask_smoother import MaskSmoother
from effects.processor import BackgroundProcessor
from effects.segmenter import Segmenter
from effects.segmenter_pool import SegmenterPool

__all__ = [
    "DEFAULT_BLUR_STRENGTH",
    "DEFAULT_COLOR",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "Backdrop",
    "BackgroundEffect",
    "BackgroundProcessor",
    "EffectError",
    "EffectKind",
    "FrameError",
    "FrameLayout",
    "ImageError",
    "ImageTooLarge",
    "InvalidSetting",
    "MaskSmoother",
    "PixelFormat",
    "PlaneMask",
    "Segmenter",
    "SegmenterError",
    "SegmenterPool",
    "UnknownEffect",
    "cover_fit",
    "load_image",
    "parse_color",
]
