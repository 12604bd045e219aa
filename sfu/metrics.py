"""Prometheus metrics of the media plane: what the server's video costs.

* video frames run through a background effect (a counter) and the time each took (a histogram), through
  `MediaMetrics.timed(processor)`;
* video frames decoded, encoded and relayed (counters), the time each decode and encode took and the
  decode backlog (histograms): `CodecTiming`, filled by the codec wrappers of `sfu.codecs` for the whole
  process, added to an app's registry by `MediaMetrics.register_codecs`.

Every metric goes on the registry it is given (the app's), never on the process-wide default one, so tests
can run many servers in one process. Nothing here changes aiortc: the codec wrappers are installed
explicitly (`rtc.patches.install(sfu.codecs.SERVER_CODECS)`), and their counters registered only then.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram

if TYPE_CHECKING:
    import av

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
BACKLOG_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class CodecTiming:
    """Process-wide counters and histograms of aiortc's video decodes and encodes.

    One instance per process, made by `sfu.codecs.SERVER_CODECS` when it is installed; each app's
    `MediaMetrics.register_codecs` adds its metrics to that app's registry. Observed from decoder
    threads and encoder executor threads: prometheus-client metrics are thread-safe.
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
            buckets=BACKLOG_SECONDS_BUCKETS,
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


class MediaMetrics:
    """The media plane's metrics of one server (one app), on the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.frames_processed = Counter(
            "speedmeet_video_frames_processed",
            "Video frames run through a background effect",
            registry=registry,
        )
        self.effect_seconds = Histogram(
            "speedmeet_effect_seconds",
            "Time to apply a background effect to one frame",
            buckets=FRAME_SECONDS_BUCKETS,
            registry=registry,
        )
        self.codecs: CodecTiming | None = None

    def register_codecs(self, timing: CodecTiming) -> None:
        """Show the process's codec counters (`rtc.patches.install(sfu.codecs.SERVER_CODECS)` returns
        them) on this registry too. Registering the same counters again does nothing."""
        if self.codecs is timing:
            return
        if self.codecs is not None:
            raise ValueError("other codec counters are already registered")
        timing.register(self.registry)
        self.codecs = timing

    def observe_effect(self, seconds: float) -> None:
        """One frame went through a background effect in `seconds`."""
        self.frames_processed.inc()
        self.effect_seconds.observe(seconds)

    def timed(self, processor: _Processor) -> _Processor:
        """`processor` (a background effect) with each frame's time and count recorded."""
        return _TimedProcessor(processor, self)


class _Processor(Protocol):
    def process(self, frame: av.VideoFrame) -> av.VideoFrame: ...


class _TimedProcessor:
    """A background effect that records how long each frame took (runs in the effect's thread)."""

    def __init__(self, inner: _Processor, metrics: MediaMetrics) -> None:
        self.inner = inner
        self._metrics = metrics

    def process(self, frame: av.VideoFrame) -> av.VideoFrame:
        started = time.perf_counter()
        out = self.inner.process(frame)
        self._metrics.observe_effect(time.perf_counter() - started)
        return out
