"""Server metrics: per-app registries, the /metrics endpoint, the lag monitor, codec timing."""

from __future__ import annotations

import asyncio
import fractions
import random
import time

import av
import numpy as np
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpCodecParameters, rtcrtpsender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from prometheus_client.parser import text_string_to_metric_families

from matcher import Matcher, SessionRules
from sfu.metrics import METRICS_KEY, LoopLagMonitor, Metrics, install_codecs, setup_metrics


def _samples(text: str) -> dict[str, float]:
    """Every sample as `name{labels}` -> value."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.meeting_started()
    first.meeting_ended("timeout")
    first.meeting_ended("timeout")
    first.meeting_ended("left")
    first.observe_effect(0.012)
    first.set_attendees(connected=5, waiting=1, in_meetings=4)
    a = _samples(first.render().decode())
    b = _samples(second.render().decode())
    assert a["speedmeet_meetings_started_total"] == 1
    assert a["speedmeet_meetings_ended_total{reason=timeout}"] == 2
    assert a["speedmeet_meetings_ended_total{reason=left}"] == 1
    assert a["speedmeet_video_frames_processed_total"] == 1
    assert a["speedmeet_effect_seconds_count"] == 1
    assert a["speedmeet_effect_seconds_bucket{le=0.016}"] == 1
    assert a["speedmeet_effect_seconds_bucket{le=0.008}"] == 0
    assert (a["speedmeet_attendees_connected"], a["speedmeet_attendees_in_meetings"]) == (5, 4)
    assert b["speedmeet_meetings_started_total"] == 0
    assert b["speedmeet_attendees_connected"] == 0
    # The process collector and peak memory are there for the load tester.
    assert a["process_cpu_seconds_total"] > 0
    assert a["speedmeet_process_peak_resident_memory_bytes"] >= a["process_resident_memory_bytes"] > 0


def _block_loop(seconds: float) -> None:
    """Hold the event loop, as a blocking call on it would."""
    time.sleep(seconds)


async def test_metrics_endpoint_and_lag_monitor_lifecycle() -> None:
    app = web.Application()
    metrics = setup_metrics(app)
    assert app[METRICS_KEY] is metrics
    async with TestClient(TestServer(app)) as client:
        assert any(t.get_name() == "speedmeet-loop-lag" for t in asyncio.all_tasks())
        _block_loop(0.3)  # the monitor must see this
        await asyncio.sleep(1.2)
        response = await client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        samples = _samples(await response.text())
    assert samples["speedmeet_event_loop_lag_seconds_count"] >= 5
    assert samples["speedmeet_event_loop_lag_seconds_sum"] >= 0.15
    assert (
        samples["speedmeet_event_loop_lag_seconds_bucket{le=0.1}"]
        < samples["speedmeet_event_loop_lag_seconds_count"]
    )
    # Cleanup cancelled and awaited the monitor (the suite's leak check would fail otherwise).
    assert not any(t.get_name() == "speedmeet-loop-lag" for t in asyncio.all_tasks())


def _spin(seconds: float) -> None:
    """Use CPU on the calling thread for `seconds` of its own CPU time."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def test_loop_cpu_counts_the_loop_thread_only() -> None:
    metrics = Metrics(codec_timing=False)
    monitor = LoopLagMonitor(metrics, interval=0.02)
    monitor.start()
    try:
        await asyncio.sleep(0.05)
        before = _samples(metrics.render().decode())["speedmeet_event_loop_cpu_seconds_total"]
        await asyncio.get_running_loop().run_in_executor(None, _spin, 0.5)  # another thread's CPU
        await asyncio.sleep(0.05)
        middle = _samples(metrics.render().decode())["speedmeet_event_loop_cpu_seconds_total"]
        _spin(0.3)  # the loop's own thread, busy
        await asyncio.sleep(0.05)
        after = _samples(metrics.render().decode())["speedmeet_event_loop_cpu_seconds_total"]
    finally:
        await monitor.stop()
    assert middle - before < 0.2
    assert after - middle >= 0.28


async def test_lag_monitor_stop_is_safe_twice() -> None:
    monitor = LoopLagMonitor(Metrics(), interval=0.01)
    monitor.start()
    await asyncio.sleep(0.05)
    assert monitor.running
    await monitor.stop()
    await monitor.stop()
    assert not monitor.running


class _NoiseTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._count = 0
        self._rng = np.random.default_rng(0)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await asyncio.sleep(1 / 30)
        picture = self._rng.integers(0, 255, (240 * 3 // 2, 320), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
        frame.pts, frame.time_base = self._count * 3000, fractions.Fraction(1, 90000)
        self._count += 1
        return frame


async def test_codec_timing_counts_real_aiortc_encodes_and_decodes() -> None:
    timing = install_codecs()
    assert install_codecs() is timing  # idempotent
    metrics = Metrics()
    before = _samples(metrics.render().decode())
    config = RTCConfiguration(iceServers=[])
    sender, receiver = RTCPeerConnection(config), RTCPeerConnection(config)
    track = _NoiseTrack()
    received: list[av.VideoFrame] = []
    done = asyncio.Event()

    async def consume(remote: MediaStreamTrack) -> None:
        while len(received) < 10:
            frame = await remote.recv()
            received.append(frame)
        done.set()

    tasks: list[asyncio.Task[None]] = []
    receiver.on("track", lambda remote: tasks.append(asyncio.create_task(consume(remote), name="consume")))
    try:
        sender.addTrack(track)
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        await asyncio.wait_for(done.wait(), 20)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await sender.close()
        await receiver.close()
    after = _samples(metrics.render().decode())
    assert (
        after["speedmeet_video_frames_encoded_total"] - before["speedmeet_video_frames_encoded_total"] >= 10
    )
    assert (
        after["speedmeet_video_frames_decoded_total"] - before["speedmeet_video_frames_decoded_total"] >= 10
    )
    assert after["speedmeet_video_encode_seconds_count"] > before["speedmeet_video_encode_seconds_count"]
    assert after["speedmeet_video_decode_seconds_sum"] > before["speedmeet_video_decode_seconds_sum"]
    # Decoding kept up with the stream: frames were decoded within a second of their due time.
    backlog = "speedmeet_video_decode_backlog_seconds"
    decoded = after[f"{backlog}_count"] - before[f"{backlog}_count"]
    assert decoded >= 10
    assert after[f"{backlog}_bucket{{le=1.0}}"] - before[f"{backlog}_bucket{{le=1.0}}"] == decoded


class _Room:
    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher


def test_meeting_counters_and_attendee_gauges_follow_a_real_matcher() -> None:
    now = [1000.0]
    matcher = Matcher(SessionRules(meeting_seconds=60), clock=lambda: now[0], rng=random.Random(1))
    metrics = Metrics(codec_timing=False)
    rooms = [_Room(matcher)]
    metrics.count_attendees_in(lambda: rooms)
    for name in ("a", "b", "c"):
        matcher.join(name, "Attendee")
    events = [*matcher.ready("a"), *matcher.ready("b"), *matcher.ready("c"), *matcher.tick()]
    for event in events:
        metrics.observe_event(event)
    samples = _samples(metrics.render().decode())
    assert samples["speedmeet_meetings_started_total"] == 1
    assert samples["speedmeet_attendees_connected"] == 3
    assert samples["speedmeet_attendees_in_meetings"] == 2
    assert samples["speedmeet_attendees_waiting"] == 1
    in_meeting = "a" if matcher.view("a").meeting is not None else "c"
    for event in matcher.leave(in_meeting):
        metrics.observe_event(event)
    now[0] += 61
    samples = _samples(metrics.render().decode())
    assert samples["speedmeet_meetings_ended_total{reason=left}"] == 1
    rooms.clear()  # rooms that are gone count nobody
    assert _samples(metrics.render().decode())["speedmeet_attendees_connected"] == 0


class _Halve:
    def process(self, frame: av.VideoFrame) -> av.VideoFrame:
        time.sleep(0.005)
        return frame.reformat(width=frame.width // 2, height=frame.height // 2)


def test_timed_effect_records_each_frame() -> None:
    metrics = Metrics(codec_timing=False)
    processor = metrics.timed(_Halve())
    frame = av.VideoFrame.from_ndarray(np.zeros((240 * 3 // 2, 320), np.uint8), format="yuv420p")
    for _ in range(3):
        out = processor.process(frame)
    assert (out.width, out.height) == (160, 120)
    samples = _samples(metrics.render().decode())
    assert samples["speedmeet_video_frames_processed_total"] == 3
    assert samples["speedmeet_effect_seconds_count"] == 3
    assert samples["speedmeet_effect_seconds_sum"] >= 0.015
    assert "speedmeet_video_frames_decoded_total" not in samples  # no codec timing asked for


def _frames_at(fps: float, count: int, start: float = 0.0) -> list[av.VideoFrame]:
    frames = []
    for index in range(count):
        frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), index % 256, np.uint8), format="rgb24")
        frame.time_base = fractions.Fraction(1, 90_000)
        frame.pts = round((start + index / fps) * 90_000)
        frames.append(frame.reformat(format="yuv420p"))
    return frames


def test_the_video_bitrate_follows_the_frame_rate_actually_sent() -> None:
    install_codecs()
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
    encoder = rtcrtpsender.get_encoder(vp8)
    encoder.target_bitrate = 1_500_000  # what the receiver's estimate allows
    for frame in _frames_at(30, 20):
        encoder.encode(frame)
    assert encoder.target_bitrate == 1_500_000  # 30 fps: all of it
    for frame in _frames_at(20, 40, start=1.0):  # an effect capped at 20 fps
        encoder.encode(frame)
    assert encoder.target_bitrate == 1_000_000  # the same bits per frame
    encoder.target_bitrate = 600_000  # a lower estimate wins
    assert encoder.target_bitrate == 600_000
    encoder.target_bitrate = 1_500_000
    for frame in _frames_at(2, 10, start=10.0):  # the slate: a slideshow, not a frame rate
        encoder.encode(frame)
    assert encoder.target_bitrate == 1_000_000  # unchanged by it
