"""Prometheus metrics of the media plane, served at `GET /metrics`.

Every application gets its own `CollectorRegistry` (never the process-wide default one), so tests can run
many servers in one process. What is measured:

* attendees connected, waiting (ready, unmatched) and in meetings (gauges);
* meetings started, and ended by reason (counters);
* video frames decoded, processed (background effect) and encoded (counters), and histograms of the time
  each decode, effect and encode took;
* event-loop lag (a histogram and the worst lag of the last second) and the CPU time of the loop's
  thread, from an owned background task;
* the process's CPU seconds, resident and peak memory, open files, ...

Decoding and encoding happen inside aiortc (decoder threads, encoder executor), which has no hook for
them, so `install_codecs()` wraps the VP8/H.264 encoders and decoders aiortc creates. Those counts
are process-wide: they include every aiortc peer in the process (in production, only the server's).
"""

from __future__ import annotations

import asyncio
import logging
import math
import resource
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from matcher.events import Matched, MeetingEnded
from sfu.vp8_encoder import Vp8Encoder

if TYPE_CHECKING:
    import av

    from matcher import Matcher

logger = logging.getLogger(__name__)

# Per-frame work on a small machine: from a fraction of a millisecond to a stalled 100 ms and beyond.
FRAME_SECONDS_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.004,
    0.008,
    0.012,
    0.016,
    0.025,
    0.033,
    0.05,
    0.075,
    0.1,
    0.25,
)
LAG_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LAG_INTERVAL_SECONDS = 0.1
VIDEO_CLOCK_RATE = 90_000


class CodecTiming:
    """Process-wide counters and histograms of aiortc's video decodes and encodes.

    One instance per process (see `install_codecs`); every app's registry includes its metrics.
    Observed from decoder threads and encoder executor threads: prometheus-client metrics are
    thread-safe.
    """

    def __init__(self) -> None:
        self.frames_decoded = Counter(
            "speedmeet_video_frames_decoded",
            "Video frames decoded (all aiortc peers in the process)",
            registry=None,
        )
        self.frames_encoded = Counter(
            "speedmeet_video_frames_encoded",
            "Video frames encoded (all aiortc peers in the process)",
            registry=None,
        )
        self.frames_relayed = Counter(
            "speedmeet_video_frames_relayed",
            "Encoded video frames sent on as they came, not re-encoded (all aiortc peers in the process)",
            registry=None,
        )
        self.decode_seconds = Histogram(
            "speedmeet_video_decode_seconds",
            "Time to decode one video frame",
            buckets=FRAME_SECONDS_BUCKETS,
            registry=None,
        )
        self.encode_seconds = Histogram(
            "speedmeet_video_encode_seconds",
            "Time to encode one video frame",
            buckets=FRAME_SECONDS_BUCKETS,
            registry=None,
        )
        self.decode_backlog_seconds = Histogram(
            "speedmeet_video_decode_backlog_seconds",
            "How far behind its stream's own clock each video frame was decoded (0: as fast as it came)",
            buckets=LAG_SECONDS_BUCKETS,
            registry=None,
        )

    def register(self, registry: CollectorRegistry) -> None:
        for metric in (
            self.frames_decoded,
            self.frames_encoded,
            self.frames_relayed,
            self.decode_seconds,
            self.encode_seconds,
            self.decode_backlog_seconds,
        ):
            registry.register(metric)


class _TimedDecoder:
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


class _TimedEncoder:
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


_codec_lock = threading.Lock()
_codec_timing: CodecTiming | None = None


def install_codecs() -> CodecTiming:
    """Wrap the video encoders and decoders aiortc creates from now on, and make its VP8 encoders the
    server's own (`sfu.vp8_encoder`) (idempotent; process-wide)."""
    global _codec_timing
    with _codec_lock:
        if _codec_timing is not None:
            return _codec_timing
        import aiortc.rtcrtpreceiver as receiver_module
        import aiortc.rtcrtpsender as sender_module

        timing = CodecTiming()
        original_decoder: Callable[[Any], Any] = receiver_module.get_decoder
        original_encoder: Callable[[Any], Any] = sender_module.get_encoder

        def get_decoder(codec: Any) -> Any:
            decoder = original_decoder(codec)
            return _TimedDecoder(decoder, timing) if _is_video(codec) else decoder

        def get_encoder(codec: Any) -> Any:
            encoder = Vp8Encoder() if _is_vp8(codec) else original_encoder(codec)
            if _is_video(codec):
                return _TimedEncoder(encoder, timing)
            return _FrameStampedEncoder(encoder, int(getattr(codec, "clockRate", 0) or 0))

        receiver_module.get_decoder = get_decoder
        sender_module.get_encoder = get_encoder
        _codec_timing = timing
        return timing


class _FrameStampedEncoder:
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


def _peak_rss_bytes() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB, macOS bytes


class Metrics:
    """The metrics of one server (one app), on their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None, *, codec_timing: bool = True) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.attendees_connected = Gauge(
            "speedmeet_attendees_connected", "Attendees with an open signalling connection", registry=r
        )
        self.attendees_waiting = Gauge(
            "speedmeet_attendees_waiting", "Attendees ready and waiting for a match", registry=r
        )
        self.attendees_in_meetings = Gauge(
            "speedmeet_attendees_in_meetings", "Attendees in a running meeting", registry=r
        )
        self.meetings_started = Counter("speedmeet_meetings_started", "Meetings started", registry=r)
        self.meetings_ended = Counter(
            "speedmeet_meetings_ended", "Meetings ended, by reason", ["reason"], registry=r
        )
        self.frames_processed = Counter(
            "speedmeet_video_frames_processed", "Video frames run through a background effect", registry=r
        )
        self.effect_seconds = Histogram(
            "speedmeet_effect_seconds",
            "Time to apply a background effect to one frame",
            buckets=FRAME_SECONDS_BUCKETS,
            registry=r,
        )
        self.loop_lag_seconds = Histogram(
            "speedmeet_event_loop_lag_seconds",
            f"How late the event loop ran a {LAG_INTERVAL_SECONDS}s timer",
            buckets=LAG_SECONDS_BUCKETS,
            registry=r,
        )
        self.loop_lag_max_seconds = Gauge(
            "speedmeet_event_loop_lag_max_seconds", "Worst event-loop lag over the last second", registry=r
        )
        self.loop_cpu_seconds = Counter(
            "speedmeet_event_loop_cpu_seconds",
            "CPU time of the event loop's thread (1 CPU second per second: the process can take no more)",
            registry=r,
        )
        self.peak_memory_bytes = Gauge(
            "speedmeet_process_peak_resident_memory_bytes", "Peak resident memory of the process", registry=r
        )
        self.peak_memory_bytes.set_function(_peak_rss_bytes)
        ProcessCollector(registry=r)  # process_cpu_seconds_total, process_resident_memory_bytes, ...
        self.codecs = install_codecs() if codec_timing else None
        if self.codecs is not None:
            self.codecs.register(r)

    def observe_effect(self, seconds: float) -> None:
        """One frame went through a background effect in `seconds`."""
        self.frames_processed.inc()
        self.effect_seconds.observe(seconds)

    def meeting_started(self) -> None:
        self.meetings_started.inc()

    def meeting_ended(self, reason: str) -> None:
        self.meetings_ended.labels(reason=reason).inc()

    def set_attendees(self, *, connected: int, waiting: int, in_meetings: int) -> None:
        self.attendees_connected.set(connected)
        self.attendees_waiting.set(waiting)
        self.attendees_in_meetings.set(in_meetings)

    def count_attendees_in(self, rooms: Callable[[], Iterable[_Room]]) -> None:
        """Read the attendee gauges from the live rooms' matchers at every scrape."""

        def count(field: str) -> Callable[[], float]:
            def value() -> float:
                return float(sum(getattr(room.matcher.live_summary(), field) for room in rooms()))

            return value

        self.attendees_connected.set_function(count("connected"))
        self.attendees_waiting.set_function(count("waiting"))
        self.attendees_in_meetings.set_function(count("in_meetings"))

    def observe_event(self, event: object) -> None:
        """Count a matcher event (meetings started, and ended by reason)."""
        if isinstance(event, Matched):
            self.meeting_started()
        elif isinstance(event, MeetingEnded):
            self.meeting_ended(str(event.reason.value))

    def timed(self, processor: _Processor) -> _Processor:
        """`processor` (a background effect) with each frame's time and count recorded."""
        return _TimedProcessor(processor, self)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class _Room(Protocol):
    @property
    def matcher(self) -> Matcher: ...


class _Processor(Protocol):
    def process(self, frame: av.VideoFrame) -> av.VideoFrame: ...


class _TimedProcessor:
    """A background effect that records how long each frame took (runs in the effect's thread)."""

    def __init__(self, inner: _Processor, metrics: Metrics) -> None:
        self.inner = inner
        self._metrics = metrics

    def process(self, frame: av.VideoFrame) -> av.VideoFrame:
        started = time.perf_counter()
        out = self.inner.process(frame)
        self._metrics.observe_effect(time.perf_counter() - started)
        return out


class LoopLagMonitor:
    """Measures how late the event loop runs a short timer, and its thread's CPU time, into `Metrics`.

    A timer due every `interval` seconds that fires late means callbacks (frame handling, signalling)
    waited that long for the loop: the first sign of an overloaded server. The loop's thread runs all of
    aiortc's per-packet work (SRTP, RTP, RTCP, sockets), which no other thread can share: once it uses a
    whole CPU second per second, the process is full however many cores are idle.
    """

    def __init__(self, metrics: Metrics, interval: float = LAG_INTERVAL_SECONDS) -> None:
        self._metrics = metrics
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="speedmeet-loop-lag")

    async def stop(self) -> None:
        """Cancel and await the measuring task. Safe to call twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        window_start = loop.time()
        window_max = 0.0
        cpu = time.thread_time()  # this task runs on the loop's thread
        try:
            while True:
                due = loop.time() + self._interval
                await asyncio.sleep(self._interval)
                cpu_before, cpu = cpu, time.thread_time()
                self._metrics.loop_cpu_seconds.inc(max(0.0, cpu - cpu_before))
                lag = max(0.0, loop.time() - due)
                self._metrics.loop_lag_seconds.observe(lag)
                window_max = max(window_max, lag)
                if loop.time() - window_start >= 1.0:
                    self._metrics.loop_lag_max_seconds.set(window_max)
                    window_start, window_max = loop.time(), 0.0
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("event-loop lag monitor crashed")


METRICS_KEY = web.AppKey("speedmeet_metrics", Metrics)


async def metrics_handler(request: web.Request) -> web.Response:
    """`GET /metrics`: the Prometheus text format."""
    body = request.app[METRICS_KEY].render()
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def setup_metrics(app: web.Application) -> Metrics:
    """Give `app` its metrics (under `METRICS_KEY`), the `GET /metrics` route and the lag monitor.

    The metrics go on the app's registry when the web layer made one (`METRICS_REGISTRY_KEY`: HTTP request
    metrics are there), so one scrape returns everything."""
    from web.keys import METRICS_REGISTRY_KEY

    metrics = Metrics(app.get(METRICS_REGISTRY_KEY))
    app[METRICS_KEY] = metrics
    app.router.add_get("/metrics", metrics_handler, name="metrics")

    async def lag_monitor(app: web.Application) -> AsyncIterator[None]:
        monitor = LoopLagMonitor(app[METRICS_KEY])
        monitor.start()
        yield
        await monitor.stop()

    app.cleanup_ctx.append(lag_monitor)
    return metrics
