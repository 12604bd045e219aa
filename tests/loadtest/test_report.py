"""The report's helpers."""

from __future__ import annotations

from loadtest.report import percentile, steady_rate


def test_report_helpers() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0

    class Sample:
        def __init__(self, cpu: float | None, attendee_seconds: float) -> None:
            self.server_cpu_seconds, self.attendee_seconds = cpu, attendee_seconds

    samples = [Sample(1.0, 4.0), Sample(None, 4.0), Sample(3.0, 4.0)]
    assert steady_rate(samples, "server_cpu_seconds") == 0.5
