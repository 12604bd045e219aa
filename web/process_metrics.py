"""Prometheus metrics of the server process: its event loop's lag and CPU time, CPU seconds and memory.

* `speedmeet_event_loop_lag_seconds` (histogram) and `speedmeet_event_loop_lag_max_seconds` (the worst
  lag of the last second): how late the loop ran a 100 ms timer;
* `speedmeet_event_loop_cpu_seconds`: the CPU time of the loop's thread, which runs all of the in-process
  media plane's per-packet work (1 CPU second per second: the process can take no more);
* the process's CPU seconds, resident and peak memory, open files, ... (the load tester reads them).

The loop is measured by an `aio.LoopMonitor` whose samples go to `observe_loop`; the app runs it for its
lifetime (`web.pages.setup_metrics`).
"""

from __future__ import annotations

import resource
import sys

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from aio import LoopSample
from aio.loop_monitor import INTERVAL_SECONDS

LAG_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _peak_rss_bytes() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB, macOS bytes


class ProcessMetrics:
    """The process's metrics, on one app's registry (see module docstring)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.loop_lag_seconds = Histogram(
            "speedmeet_event_loop_lag_seconds",
            f"How late the event loop ran a {INTERVAL_SECONDS}s timer",
            buckets=LAG_SECONDS_BUCKETS,
            registry=registry,
        )
        self.loop_lag_max_seconds = Gauge(
            "speedmeet_event_loop_lag_max_seconds",
            "Worst event-loop lag over the last second",
            registry=registry,
        )
        self.loop_cpu_seconds = Counter(
            "speedmeet_event_loop_cpu_seconds",
            "CPU time of the event loop's thread (1 CPU second per second: the process can take no more)",
            registry=registry,
        )
        self.peak_memory_bytes = Gauge(
            "speedmeet_process_peak_resident_memory_bytes",
            "Peak resident memory of the process",
            registry=registry,
        )
        self.peak_memory_bytes.set_function(_peak_rss_bytes)
        ProcessCollector(registry=registry)  # process_cpu_seconds_total, process_resident_memory_bytes, ...

    def observe_loop(self, sample: LoopSample) -> None:
        """One measurement of the event loop (an `aio.LoopMonitor` callback)."""
        self.loop_cpu_seconds.inc(sample.cpu_seconds)
        self.loop_lag_seconds.observe(sample.lag)
        if sample.window is not None:
            self.loop_lag_max_seconds.set(sample.window.worst_lag)
