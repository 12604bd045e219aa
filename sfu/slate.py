"""The picture an unmatched attendee receives: a still "Waiting for your next match" card.

Rendered once with OpenCV into a YUV 4:2:0 buffer; each outgoing track gets its own `VideoFrame` copy of
it (frames carry per-track timestamps, so they are never shared between tracks). Sent at a low frame rate:
a still picture needs few frames, and each costs an encode.
"""

from __future__ import annotations

import av
import cv2
import numpy as np

SLATE_FPS = 2.0
SLATE_WIDTH = 640
SLATE_HEIGHT = 360

_BACKGROUND_BGR = (58, 40, 30)  # dark blue-grey
_TEXT_BGR = (235, 235, 235)
_ACCENT_BGR = (230, 160, 60)


class Slate:
    """A still card with a line of text, ready to hand out as video frames."""

    def __init__(
        self,
        text: str = "Waiting for your next match",
        width: int = SLATE_WIDTH,
        height: int = SLATE_HEIGHT,
        fps: float = SLATE_FPS,
    ) -> None:
        if width % 2 or height % 2 or width < 16 or height < 16:
            raise ValueError(f"slate size must be even and at least 16x16, got {width}x{height}")
        if fps <= 0:
            raise ValueError(f"slate fps must be positive, got {fps}")
        self.text = text
        self.width = width
        self.height = height
        self.fps = fps
        self.image = render(text, width, height)
        # Convert once; frames are cheap copies of this buffer.
        self._yuv = (
            av.VideoFrame.from_ndarray(self.image, format="bgr24").reformat(format="yuv420p").to_ndarray()
        )

    def frame(self) -> av.VideoFrame:
        """A new yuv420p frame of the slate (no timestamp: the track stamps it)."""
        return av.VideoFrame.from_ndarray(self._yuv, format="yuv420p")


def render(text: str, width: int, height: int) -> np.ndarray:
    """Draw the card: text centred, scaled to fit, with a thin accent bar under it."""
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = _BACKGROUND_BGR
    font = cv2.FONT_HERSHEY_SIMPLEX
    thickness = max(1, height // 180)
    # Fit 80% of the width at most, and keep the size proportional to the height.
    (unit_w, _), _ = cv2.getTextSize(text, font, 1.0, thickness)
    scale = min(0.8 * width / max(unit_w, 1), 1.1 * height / 360.0)
    (text_w, text_h), baseline = cv2.getTextSize(text, font, scale, thickness)
    x = (width - text_w) // 2
    y = (height + text_h) // 2
    cv2.putText(image, text, (x, y), font, scale, _TEXT_BGR, thickness, cv2.LINE_AA)
    bar_y = y + baseline + max(4, height // 40)
    bar_h = max(2, height // 120)
    cv2.rectangle(image, (x, bar_y), (x + text_w, bar_y + bar_h), _ACCENT_BGR, thickness=-1)
    return image
