"""aiortc behaviours the server changes for speed, and to keep delay bounded under overload.

**Stale frames.** aiortc hands every received video frame to a per-stream decoder thread through an
unbounded queue. When the machine cannot keep up, frames wait there and the delay of everything
downstream grows without limit (seconds, measured). `StaleFrameShedder` wraps aiortc's VP8 decoders:
once a frame is more than `MAX_DECODE_BACKLOG_SECONDS` behind its stream's timing, it and the frames
after it are dropped undecoded (which costs nothing, so the queue drains at once) until a fresh
keyframe; a keyframe is requested by raising a decode error, on which aiortc's receiver sends the
sender a PLI (again every `KEYFRAME_RETRY_SECONDS` while waiting). Overload then lowers the frame rate
instead of raising the delay.

**Audio level.** aiortc computes the RFC 6465 audio level of every audio frame it sends
(`rtp.compute_audio_level_dbov`, called by `RTCRtpSender` for each 20 ms frame) with a Python loop over
the samples: about 0.25 ms a frame on a quiet core, 50 times a second for every attendee the server
sends audio to, and much more on a busy machine. The numpy version below computes the same value
(same formula, same rounding) about 15 times faster.

`install()` puts both in place (process-wide, idempotent); `sfu.setup` calls it.
"""

from __future__ import annotations

import errno
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiortc import rtp

from sfu.metrics import StreamClock, install_codec_timing

# aiortc's own version, kept for comparison (tests) before `install()` replaces it.
aiortc_audio_level_dbov = rtp.compute_audio_level_dbov

MAX_SAMPLE_VALUE = 32767
MIN_AUDIO_LEVEL = -127
MAX_AUDIO_LEVEL = 0

MAX_DECODE_BACKLOG_SECONDS = 0.3
KEYFRAME_RETRY_SECONDS = 1.0

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_installed = False


def is_vp8_keyframe(data: bytes) -> bool:
    """A VP8 frame's first byte has the inverse keyframe flag in its lowest bit (RFC 6386 9.1)."""
    return bool(data) and not data[0] & 0x01


class StaleFrameShedder:
    """Wraps an aiortc VP8 decoder (see module docstring). Runs in aiortc's decoder thread."""

    def __init__(
        self,
        inner: Any,
        shed: Callable[[], None] | None = None,
        max_backlog: float = MAX_DECODE_BACKLOG_SECONDS,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._inner = inner
        self._on_shed = shed
        self._max_backlog = max_backlog
        self._clock = clock
        self._stream = StreamClock()
        self._shedding = False
        self._last_request = -math.inf
        self.shed = 0
        self.keyframe_requests = 0

    def decode(self, encoded_frame: Any) -> list[Any]:
        rtp = getattr(encoded_frame, "timestamp", None)
        if not isinstance(rtp, int):
            result: list[Any] = self._inner.decode(encoded_frame)
            return result
        now = self._clock()
        backlog = self._stream.backlog(rtp, now)
        fresh = backlog <= self._max_backlog
        if not fresh and not self._shedding:
            self._shedding = True
            logger.info("decoding is %.1f s behind: dropping frames until a fresh keyframe", backlog)
        if self._shedding and fresh and is_vp8_keyframe(encoded_frame.data):
            self._shedding = False
        if not self._shedding:
            decoded: list[Any] = self._inner.decode(encoded_frame)
            return decoded
        self.shed += 1
        if self._on_shed is not None:
            self._on_shed()
        if now - self._last_request >= KEYFRAME_RETRY_SECONDS:
            self._last_request = now
            self.keyframe_requests += 1
            # aiortc's receiver answers a decode error with a PLI to the sender.
            raise av.error.InvalidDataError(errno.EINVAL, "stale frames dropped; keyframe needed")
        return []


def compute_audio_level_dbov(frame: av.AudioFrame) -> int:
    """RFC 6465 Appendix A audio level of a 16-bit frame, as aiortc computes it (every int16 of the
    first plane, divided by the per-channel sample count)."""
    plane = frame.planes[0]
    samples = np.frombuffer(memoryview(plane), dtype=np.int16, count=plane.buffer_size // 2)
    as_float = samples.astype(np.float64)
    energy = float(np.dot(as_float, as_float))
    rms = math.sqrt(energy / (frame.samples * MAX_SAMPLE_VALUE * MAX_SAMPLE_VALUE))
    if rms <= 0:
        return MIN_AUDIO_LEVEL
    return round(min(max(20 * math.log10(rms), MIN_AUDIO_LEVEL), MAX_AUDIO_LEVEL))


def install() -> None:
    """From now on: the numpy audio level, and stale-frame shedding on aiortc's VP8 decoders
    (process-wide, idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        rtp.compute_audio_level_dbov = compute_audio_level_dbov
        import aiortc.rtcrtpreceiver as receiver_module

        timing = install_codec_timing()
        original = receiver_module.get_decoder

        def get_decoder(codec: Any) -> Any:
            decoder = original(codec)
            if str(getattr(codec, "mimeType", "")).lower() == "video/vp8":
                return StaleFrameShedder(decoder, shed=timing.frames_shed.inc)
            return decoder

        receiver_module.get_decoder = get_decoder
        _installed = True
