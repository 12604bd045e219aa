"""The receive probe: latency and frames from the partner, per meeting."""

from __future__ import annotations

import asyncio
import time

import av
import numpy as np
from loadtest_testing import decode_vp8

from loadtest.clip import EncodedClip
from loadtest.probe import MAX_LATENCY_SECONDS, PartnerFeed, VideoProbe
from loadtest.tracks import SendLog


async def test_probe_measures_latency_and_frames_from_the_partner(clip: EncodedClip) -> None:
    log = SendLog(len(clip))
    feed = PartnerFeed(log, lambda: log.count, effects=True)
    probe = VideoProbe("receiver")
    frames = decode_vp8(list(clip.packets))
    probe.on_frame(frames[0], time.monotonic())  # before the meeting: the slate, not counted
    assert probe.current is None and not probe.latencies
    ready = time.monotonic()
    record = probe.meeting_started("m-1", 17, feed, both_ready_at=ready)
    for index, frame in enumerate(frames[:8]):
        log.record(index, time.monotonic())
        await asyncio.sleep(0.01)
        probe.on_frame(frame, time.monotonic())
    plain = av.VideoFrame.from_ndarray(np.zeros((240 * 3 // 2, 320), np.uint8), format="yuv420p")
    probe.on_frame(plain, time.monotonic())  # no code: delivered but unreadable
    probe.meeting_ended("timeout")
    assert record.frames == 9 and record.stamped == 8 and probe.unreadable == 1
    assert record.end_reason == "timeout" and record.partner_effects
    assert record.ready_to_first_frame is not None and 0 < record.ready_to_first_frame < 1
    assert all(0.005 < s.seconds < MAX_LATENCY_SECONDS for s in probe.latencies)
    assert len(probe.latencies) == 8 and record.frames_lost == 0
    probe.on_frame(frames[1], time.monotonic())  # after the meeting: not counted
    assert len(probe.latencies) == 8
