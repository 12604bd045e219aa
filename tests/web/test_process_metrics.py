"""Process metrics: loop samples become the lag histogram, the worst-lag gauge and the loop CPU counter;
the process's CPU and memory are there for the load tester."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from aio import LoopSample, LoopWindow
from web.process_metrics import ProcessMetrics


def _samples(registry: CollectorRegistry) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def test_loop_samples_feed_the_lag_and_cpu_metrics() -> None:
    registry = CollectorRegistry()
    metrics = ProcessMetrics(registry)
    metrics.observe_loop(LoopSample(lag=0.002, cpu_seconds=0.05))
    metrics.observe_loop(LoopSample(lag=0.3, cpu_seconds=0.02))
    samples = _samples(registry)
    assert samples["speedmeet_event_loop_lag_seconds_count"] == 2
    assert samples["speedmeet_event_loop_lag_seconds_bucket{le=0.0025}"] == 1
    assert samples["speedmeet_event_loop_lag_seconds_sum"] == pytest.approx(0.302)
    assert samples["speedmeet_event_loop_cpu_seconds_total"] == pytest.approx(0.07)
    assert samples["speedmeet_event_loop_lag_max_seconds"] == 0  # no window closed yet
    metrics.observe_loop(LoopSample(lag=0.001, cpu_seconds=0.0, window=LoopWindow(1.0, 0.3, 0.07)))
    assert _samples(registry)["speedmeet_event_loop_lag_max_seconds"] == 0.3


def test_process_cpu_and_memory() -> None:
    registry = CollectorRegistry()
    ProcessMetrics(registry)
    samples = _samples(registry)
    assert samples["process_cpu_seconds_total"] > 0
    peak = samples["speedmeet_process_peak_resident_memory_bytes"]
    assert peak >= samples["process_resident_memory_bytes"] > 0
