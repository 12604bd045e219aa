"""The server's codecs in aiortc: its own VP8 encoder, and wrappers around the codecs aiortc creates.

aiortc creates a decoder for every stream it receives (in the receiver's decoder thread) and an encoder
for every stream it sends (`rtcrtpsender.get_encoder`), with no hook for either. `SERVER_CODECS`, a
process-wide patch (`rtc.patches`), wraps both factories:

* every video decoder in `TimedDecoder`: frames decoded, time per decode, and the decode backlog;
* every video encoder in `TimedEncoder`: time per encode, a keyframe after relayed frames (the receiver's
  decoder holds another encoder's pictures), and the bitrate capped by the frame rate actually sent;
  VP8 is encoded by `sfu.vp8_encoder.Vp8Encoder`, with the server's own settings;
* every audio encoder in `FrameStampedEncoder`: relayed and encoded audio on one clock.

The server installs it at start whether or not anyone reads its metrics (relayed and encoded media
follow one another cleanly only with it). Its counters (`CodecTiming`, what `install` returns) are
process-wide: they include every aiortc peer in the process (in production, only the server's); each
app's `MediaMetrics.register_codecs` adds them to that app's registry.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from rtc.patches import Patch
from sfu.metrics import CodecTiming
from sfu.vp8_encoder import Vp8Encoder

VIDEO_CLOCK_RATE = 90_000


class TimedDecoder:
    """Wraps an aiortc video decoder: counts frames, times each decode, and measures the backlog.

    aiortc queues received frames for its decoder thread without bound; when decoding falls behind
    (an overloaded machine), frames wait there and delay grows. The backlog is how much later than
    its stream's own timing (RTP timestamps) a frame gets decoded, against the best seen so far.
    """

    def __init__(self, inner: Any, timing: CodecTiming) -> None:
        self._inner = inner
        self._timing = timing
        self._best_offset: float | None = None  # smallest (decode time - media time) seen
        self._last_rtp: int | None = None
        self._media_time = 0.0  # seconds of stream so far, from RTP timestamps (unwrapped)

    def decode(self, encoded_frame: Any) -> list[Any]:
        started = time.perf_counter()
        frames: list[Any] = self._inner.decode(encoded_frame)
        done = time.perf_counter()
        self._timing.decode_seconds.observe(done - started)
        if frames:
            self._timing.frames_decoded.inc(len(frames))
        rtp = getattr(encoded_frame, "timestamp", None)
        if isinstance(rtp, int):
            if self._last_rtp is not None:
                step = (rtp - self._last_rtp) & 0xFFFFFFFF
                if step < 0x80000000:  # forwards (mod 2^32); a jump back is a new stream
                    self._media_time += step / VIDEO_CLOCK_RATE
                else:
                    self._best_offset = None
            self._last_rtp = rtp
            offset = done - self._media_time
            if self._best_offset is None or offset < self._best_offset:
                self._best_offset = offset
            self._timing.decode_backlog_seconds.observe(offset - self._best_offset)
        return frames


# aiortc's top video bitrate (1.5 Mbit/s) spread over 30 frames a second.
MAX_BITS_PER_FRAME = 50_000
# Gaps longer than this are pauses or a slideshow (the slate), not a video's frame rate: not learnt.
FRAME_RATE_GAP_SECONDS = 0.25
FRAME_RATE_STEP = 5  # the learnt rate is rounded up to these steps, so that jitter never moves the cap


class TimedEncoder:
    """Wraps an aiortc video encoder: times each encode; forwards bitrate control and packing.

    After relayed (packed) frames, the receiver's decoder holds pictures from another encoder, which
    this encoder's next inter frame would be decoded against: the first encode after a pack is a
    keyframe.

    The bitrate follows the receiver's estimate (REMB, set by aiortc's sender) but never above
    `MAX_BITS_PER_FRAME` times the frame rate the track actually sends: aiortc's top rate is meant for
    30 fps, and at fewer frames a second (an effect's frame-rate cap, the slate) the same rate only
    makes every frame larger and slower to encode, not the video better to watch.
    """

    def __init__(self, inner: Any, timing: CodecTiming) -> None:
        self._inner = inner
        self._timing = timing
        self._packed = False
        self._requested = int(inner.target_bitrate)
        self._last_time: float | None = None  # media time (s) of the last frame encoded
        self._interval: float | None = None  # smoothed seconds between frames

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        force_keyframe = force_keyframe or self._packed
        self._packed = False
        self._follow_frame_rate(frame)
        started = time.perf_counter()
        result: tuple[list[bytes], int] = self._inner.encode(frame, force_keyframe)
        self._timing.encode_seconds.observe(time.perf_counter() - started)
        self._timing.frames_encoded.inc()
        return result

    def pack(self, packet: Any) -> tuple[list[bytes], int]:
        result: tuple[list[bytes], int] = self._inner.pack(packet)
        self._packed = True
        self._timing.frames_relayed.inc()
        return result

    @property
    def target_bitrate(self) -> int:
        return int(self._inner.target_bitrate)

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        self._requested = int(bitrate)
        self._apply_bitrate()

    def _follow_frame_rate(self, frame: Any) -> None:
        if frame.pts is None or frame.time_base is None:
            return
        now = float(frame.pts * frame.time_base)
        last, self._last_time = self._last_time, now
        if last is None or not 0 < now - last < FRAME_RATE_GAP_SECONDS:
            return  # the first frame, or a pause: nothing to learn from
        gap = now - last
        self._interval = gap if self._interval is None else self._interval + 0.1 * (gap - self._interval)
        self._apply_bitrate()

    def _apply_bitrate(self) -> None:
        bitrate = self._requested
        if self._interval is not None:
            fps = FRAME_RATE_STEP * math.ceil(1.0 / (self._interval * FRAME_RATE_STEP) - 0.2)
            bitrate = min(bitrate, MAX_BITS_PER_FRAME * max(fps, FRAME_RATE_STEP))
        # aiortc's encoder clamps it to its own range and restarts its codec only on a >10% change.
        self._inner.target_bitrate = bitrate


class FrameStampedEncoder:
    """Wraps an aiortc audio encoder so that encoded frames keep their own timestamps.

    aiortc's Opus encoder numbers its packets by the samples it has encoded, ignoring the frame's pts,
    while `pack()` (relayed packets) uses the packet's pts. A track that sends both (relayed audio, then
    silence it makes itself) needs one clock for both: the frames' pts, which the track sets.
    """

    def __init__(self, inner: Any, clock_rate: int) -> None:
        self._inner = inner
        self._clock_rate = clock_rate  # of the RTP timestamps (48 kHz for Opus whatever the frame's rate)

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int | None]:
        payloads, timestamp = self._inner.encode(frame, force_keyframe)
        if payloads and self._clock_rate and frame.pts is not None and frame.time_base is not None:
            timestamp = int(frame.pts * frame.time_base * self._clock_rate)
        return payloads, timestamp

    def pack(self, packet: Any) -> tuple[list[bytes], int]:
        result: tuple[list[bytes], int] = self._inner.pack(packet)
        return result


def _is_video(codec: Any) -> bool:
    return str(getattr(codec, "mimeType", "")).lower().startswith("video/")


def _is_vp8(codec: Any) -> bool:
    return str(getattr(codec, "mimeType", "")).lower() == "video/vp8"


def _apply() -> CodecTiming:
    """Wrap the video encoders and decoders aiortc creates from now on, and make its VP8 encoders the
    server's own (process-wide)."""
    import aiortc.rtcrtpreceiver as receiver_module
    import aiortc.rtcrtpsender as sender_module

    timing = CodecTiming()
    original_decoder: Callable[[Any], Any] = receiver_module.get_decoder
    original_encoder: Callable[[Any], Any] = sender_module.get_encoder

    def get_decoder(codec: Any) -> Any:
        decoder = original_decoder(codec)
        return TimedDecoder(decoder, timing) if _is_video(codec) else decoder

    def get_encoder(codec: Any) -> Any:
        encoder = Vp8Encoder() if _is_vp8(codec) else original_encoder(codec)
        if _is_video(codec):
            return TimedEncoder(encoder, timing)
        return FrameStampedEncoder(encoder, int(getattr(codec, "clockRate", 0) or 0))

    receiver_module.get_decoder = get_decoder
    sender_module.get_encoder = get_encoder
    return timing


SERVER_CODECS: Patch[CodecTiming] = Patch("server-codecs", _apply)
