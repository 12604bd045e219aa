"""The effects package's exceptions: one base class, so callers can catch everything it refuses."""

from __future__ import annotations


class EffectError(Exception):
    """Base class of every error the effects package raises."""


class UnknownEffect(EffectError, ValueError):
    """An effect name that is not one of none, blur, color, image."""

    def __init__(self, kind: object) -> None:
        super().__init__(f"unknown background effect {kind!r}: expected one of none, blur, color, image")
        self.kind = kind


class InvalidSetting(EffectError, ValueError):
    """A setting out of range or of the wrong type (blur strength, colour, a missing image)."""


class ImageError(EffectError, ValueError):
    """A background image that cannot be used: not an image, an unsupported format, corrupt data."""


class ImageTooLarge(ImageError):
    """A background image over the byte or pixel limit (checked before it is decoded)."""


class FrameError(EffectError, ValueError):
    """A video frame the processor cannot work on (wrong dtype, shape or odd I420 size)."""


class SegmenterError(EffectError):
    """The segmentation model could not be loaded or failed on a frame."""
