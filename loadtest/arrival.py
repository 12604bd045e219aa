"""Arrival times of received video frames, taken in aiortc's decoder thread.

A synthetic attendee's frames reach its code through the load generator's event loop, which is shared
by every attendee; when that loop is busy, decoded frames wait in aiortc's queue, and a time taken there
would add the generator's own delay to the latency it reports. `ARRIVAL_STAMPS` (installed with
`rtc.patches.install`) wraps the video decoders aiortc creates so each decoded frame carries the moment
it was decoded (`frame.opaque`), which is when a browser would show it.
"""

from __future__ import annotations

import time
from typing import Any

import av

from rtc.patches import Patch


class _StampingDecoder:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def decode(self, encoded_frame: Any) -> list[Any]:
        frames: list[Any] = self._inner.decode(encoded_frame)
        now = time.monotonic()
        for frame in frames:
            if isinstance(frame, av.VideoFrame) and frame.opaque is None:
                frame.opaque = now
        return frames


def _apply() -> None:
    """Stamp decoded video frames with their decode time from now on (process-wide)."""
    import aiortc.rtcrtpreceiver as receiver_module

    original = receiver_module.get_decoder

    def get_decoder(codec: Any) -> Any:
        decoder = original(codec)
        if str(getattr(codec, "mimeType", "")).lower().startswith("video/"):
            return _StampingDecoder(decoder)
        return decoder

    receiver_module.get_decoder = get_decoder


ARRIVAL_STAMPS: Patch[None] = Patch("arrival-stamps", _apply)


def arrival(frame: av.VideoFrame, fallback: float) -> float:
    """When `frame` was decoded (if stamped: `ARRIVAL_STAMPS` is installed), else `fallback`."""
    stamp = frame.opaque
    return stamp if isinstance(stamp, float) else fallback
