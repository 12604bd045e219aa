"""aiortc behaviours the server changes for speed, and to keep delay bounded under overload.

**Stale frames.** aiortc hands every received video frame to a per-stream decoder thread through an
unbounded queue. When the machine cannot keep up, frames wait there and the delay of everything
downstream grows without limit (seconds, measured with the load tester). `SheddingQueue` sits between
that queue and the decoder: when more than `MAX_WAITING_FRAMES` frames wait, it drops them undecoded
(free, so the queue empties at once) and the following frames until a keyframe, which it requests with a
PLI through aiortc's own decode-error path. Overload then lowers the frame rate instead of raising the
delay, as the rest of the media plane (latest-frame slots) already does.

**Audio level.** aiortc computes the RFC 6465 audio level of every audio frame it sends
(`rtp.compute_audio_level_dbov`, called by `RTCRtpSender` for each 20 ms frame) with a Python loop over
the samples: about 0.25 ms a frame on a quiet core, 50 times a second for every attendee the server
sends audio to, and much more on a busy machine. The numpy version below computes the same value
(same formula, same rounding) about 15 times faster.

`install()` puts both in place (process-wide, idempotent); `sfu.setup` calls it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import av
import numpy as np
from aiortc import rtp

from sfu.metrics import install_codec_timing

# aiortc's own version, kept for comparison (tests) before `install()` replaces it.
aiortc_audio_level_dbov = rtp.compute_audio_level_dbov

MAX_SAMPLE_VALUE = 32767
MIN_AUDIO_LEVEL = -127
MAX_AUDIO_LEVEL = 0

MAX_WAITING_FRAMES = 8  # about 0.3 s of video at 30 fps
KEYFRAME_RETRY_SECONDS = 1.0

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_installed = False


def is_vp8_keyframe(data: bytes) -> bool:
    """A VP8 frame's first byte has the inverse keyframe flag in its lowest bit (RFC 6386 9.1)."""
    return bool(data) and not data[0] & 0x01


class SheddingQueue:
    """The queue between aiortc's receiver and its decoder thread, as the decoder thread sees it.

    `get()` hands out the next encoded frame, except when more than `max_waiting` VP8 frames wait
    behind it: then it drops them (undecoded: that is free, so the queue empties at once) and every
    following frame until a keyframe that has no backlog behind it, and sets `decode_error`, on which
    aiortc's receiver sends the sender a PLI (again every `KEYFRAME_RETRY_SECONDS` while waiting).
    Only the decoder thread calls `get()`; aiortc's receiver keeps putting into the wrapped queue.
    """

    def __init__(
        self,
        inner: queue.Queue[Any],
        decode_error: threading.Event,
        *,
        max_waiting: int = MAX_WAITING_FRAMES,
        on_shed: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._decode_error = decode_error
        self._max_waiting = max_waiting
        self._on_shed = on_shed
        self._clock = clock
        self._shedding = False
        self._last_request = -math.inf
        self.shed = 0
        self.keyframe_requests = 0

    def get(self) -> Any:
        while True:
            item = self._inner.get()
            if item is None or not _is_vp8(item):
                return item
            waiting = self._inner.qsize()
            if waiting > self._max_waiting and not self._shedding:
                self._shedding = True
                logger.info("decoder %d frames behind: dropping frames until a fresh keyframe", waiting)
            if self._shedding and waiting <= self._max_waiting and is_vp8_keyframe(item[1].data):
                self._shedding = False
            if not self._shedding:
                return item
            self.shed += 1
            if self._on_shed is not None:
                self._on_shed()
            now = self._clock()
            if now - self._last_request >= KEYFRAME_RETRY_SECONDS:
                self._last_request = now
                self.keyframe_requests += 1
                self._decode_error.set()  # aiortc's receiver sends a PLI on its next packet


def _is_vp8(item: Any) -> bool:
    codec = item[0] if isinstance(item, tuple) and len(item) == 2 else None
    return str(getattr(codec, "mimeType", "")).lower() == "video/vp8"


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
    """From now on: the numpy audio level, and stale-frame shedding in aiortc's decoder threads
    (process-wide, idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        rtp.compute_audio_level_dbov = compute_audio_level_dbov
        import aiortc.rtcrtpreceiver as receiver_module

        timing = install_codec_timing()
        original = receiver_module.decoder_worker

        def decoder_worker(
            loop: asyncio.AbstractEventLoop,
            input_q: queue.Queue[Any],
            output_q: asyncio.Queue[Any],
            decode_error: threading.Event,
        ) -> None:
            shedding = SheddingQueue(input_q, decode_error, on_shed=timing.frames_shed.inc)
            # The worker only calls `get()` on its input queue.
            original(loop, cast("queue.Queue[Any]", shedding), output_q, decode_error)

        # RTCRtpReceiver starts its decoder thread with the module's `decoder_worker`.
        receiver_module.decoder_worker = decoder_worker
        _installed = True
