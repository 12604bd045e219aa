"""web.pages.setup_metrics: one registry behind `GET /metrics`, and the event-loop monitor owned by the
app (started with it, cancelled and awaited at cleanup)."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from web.keys import METRICS_REGISTRY_KEY, PROCESS_METRICS_KEY, SESSION_METRICS_KEY
from web.pages import setup_metrics


def _block_loop(seconds: float) -> None:
    """Hold the event loop, as a blocking call on it would."""
    time.sleep(seconds)


def _samples(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


async def test_metrics_endpoint_and_loop_monitor_lifecycle() -> None:
    app = web.Application()
    app[METRICS_REGISTRY_KEY] = CollectorRegistry()
    session_metrics = setup_metrics(app)
    assert app[SESSION_METRICS_KEY] is session_metrics
    assert PROCESS_METRICS_KEY in app
    session_metrics.meeting_started()
    async with TestClient(TestServer(app)) as client:
        assert any(t.get_name() == "speedmeet-loop-lag" for t in asyncio.all_tasks())
        _block_loop(0.3)  # the monitor must see this
        await asyncio.sleep(1.2)
        response = await client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        samples = _samples(await response.text())
    assert samples["speedmeet_meetings_started_total"] == 1
    assert samples["speedmeet_event_loop_lag_seconds_count"] >= 5
    assert samples["speedmeet_event_loop_lag_seconds_sum"] >= 0.15
    assert (
        samples["speedmeet_event_loop_lag_seconds_bucket{le=0.1}"]
        < samples["speedmeet_event_loop_lag_seconds_count"]
    )
    assert samples["speedmeet_event_loop_lag_max_seconds"] >= 0.15
    # Cleanup cancelled and awaited the monitor (the suite's leak check would fail otherwise).
    assert not any(t.get_name() == "speedmeet-loop-lag" for t in asyncio.all_tasks())
