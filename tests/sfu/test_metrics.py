"""Media metrics: per-app registries, effect timing, the codec counters registered only when asked."""

from __future__ import annotations

import time

import aiortc.rtcrtpreceiver as receiver_module
import aiortc.rtcrtpsender as sender_module
import av
import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sfu.metrics import CodecTiming, MediaMetrics


def _samples(registry: CollectorRegistry) -> dict[str, float]:
    """Every sample as `name{labels}` -> value."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def test_each_metrics_object_uses_its_own_registry() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    metrics = MediaMetrics(first)
    MediaMetrics(second)
    metrics.observe_effect(0.012)
    a, b = _samples(first), _samples(second)
    assert a["speedmeet_video_frames_processed_total"] == 1
    assert a["speedmeet_effect_seconds_count"] == 1
    assert a["speedmeet_effect_seconds_bucket{le=0.016}"] == 1
    assert a["speedmeet_effect_seconds_bucket{le=0.008}"] == 0
    assert b["speedmeet_video_frames_processed_total"] == 0


def test_building_metrics_changes_nothing_in_aiortc() -> None:
    factories = (receiver_module.get_decoder, sender_module.get_encoder)
    registry = CollectorRegistry()
    MediaMetrics(registry)
    assert (receiver_module.get_decoder, sender_module.get_encoder) == factories
    # No codec counters either until some are registered.
    assert "speedmeet_video_frames_decoded_total" not in _samples(registry)


def test_codec_counters_show_once_registered() -> None:
    timing = CodecTiming()
    registry = CollectorRegistry()
    metrics = MediaMetrics(registry)
    metrics.register_codecs(timing)
    metrics.register_codecs(timing)  # the same counters again: nothing changes
    timing.frames_decoded.inc(3)
    timing.encode_seconds.observe(0.004)
    samples = _samples(registry)
    assert samples["speedmeet_video_frames_decoded_total"] == 3
    assert samples["speedmeet_video_encode_seconds_count"] == 1
    with pytest.raises(ValueError, match="already registered"):
        metrics.register_codecs(CodecTiming())
    # Process-wide counters: another app's registry shows the same ones.
    other = CollectorRegistry()
    MediaMetrics(other).register_codecs(timing)
    assert _samples(other)["speedmeet_video_frames_decoded_total"] == 3


class _Halve:
    def process(self, frame: av.VideoFrame) -> av.VideoFrame:
        time.sleep(0.005)
        return frame.reformat(width=frame.width // 2, height=frame.height // 2)


def test_timed_effect_records_each_frame() -> None:
    registry = CollectorRegistry()
    processor = MediaMetrics(registry).timed(_Halve())
    frame = av.VideoFrame.from_ndarray(np.zeros((240 * 3 // 2, 320), np.uint8), format="yuv420p")
    for _ in range(3):
        out = processor.process(frame)
    assert (out.width, out.height) == (160, 120)
    samples = _samples(registry)
    assert samples["speedmeet_video_frames_processed_total"] == 3
    assert samples["speedmeet_effect_seconds_count"] == 3
    assert samples["speedmeet_effect_seconds_sum"] >= 0.015
