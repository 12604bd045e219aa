"""VideoSource: drains the remote track always, processes only with demand, keeps only the newest frame."""

from __future__ import annotations

import asyncio
import threading
import time

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from sfu_testing import wait_until

from sfu.video_source import VideoSource


class QueueTrack(MediaStreamTrack):
    """Stands in for aiortc's RemoteStreamTrack: frames pushed by the test, in order."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[av.VideoFrame | None] = asyncio.Queue()

    async def recv(self) -> av.VideoFrame:
        frame = await self.queue.get()
        if frame is None:
            raise MediaStreamError
        return frame


def grey(level: int) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.full((48, 64, 3), level, dtype=np.uint8), format="rgb24")


class Invert:
    def __init__(self) -> None:
        self.calls = 0
        self.threads: set[int] = set()

    def process(self, frame: av.VideoFrame) -> av.VideoFrame:
        self.calls += 1
        self.threads.add(threading.get_ident())
        return av.VideoFrame.from_ndarray(255 - frame.to_ndarray(format="rgb24"), format="rgb24")


async def test_passthrough_without_processor_keeps_only_the_newest_frame() -> None:
    source = VideoSource("p")
    track = QueueTrack()
    await source.attach(track)
    try:
        for level in (10, 20, 30):
            track.queue.put_nowait(grey(level))
        await wait_until(lambda: source.frames_in == 3)
        item = source.output.latest_after(0)
        assert item is not None and item.seq == 3
        assert item.value.to_ndarray(format="rgb24").mean() == 30
        assert source.output.dropped == 2
    finally:
        await source.close()


async def test_processor_runs_only_while_someone_consumes_and_off_the_event_loop() -> None:
    source = VideoSource("fx")
    track = QueueTrack()
    invert = Invert()
    await source.attach(track)
    source.set_processor(invert)
    try:
        track.queue.put_nowait(grey(40))
        await wait_until(lambda: source.frames_in == 1)
        await asyncio.sleep(0.05)
        assert invert.calls == 0  # nobody receives this video: no processing
        assert source.output.latest_after(0) is None

        source.add_consumer()
        await wait_until(lambda: invert.calls == 1)  # the newest waiting frame gets processed
        await wait_until(lambda: source.output.seq == 1)
        item = source.output.latest_after(0)
        assert item is not None and item.value.to_ndarray(format="rgb24").mean() == 215
        assert threading.get_ident() not in invert.threads

        source.remove_consumer()
        track.queue.put_nowait(grey(50))
        await wait_until(lambda: source.frames_in == 2)
        await asyncio.sleep(0.05)
        assert invert.calls == 1

        source.set_processor(None)  # effect off: frames pass straight through again
        track.queue.put_nowait(grey(60))
        await wait_until(lambda: source.output.seq == 2)
        item = source.output.latest_after(1)
        assert item is not None and item.value.to_ndarray(format="rgb24").mean() == 60
    finally:
        await source.close()


async def test_failing_processor_passes_frames_through() -> None:
    class Broken:
        def process(self, frame: av.VideoFrame) -> av.VideoFrame:
            raise RuntimeError("model failed to load")

    source = VideoSource("broken")
    track = QueueTrack()
    await source.attach(track)
    source.set_processor(Broken())
    source.add_consumer()
    try:
        track.queue.put_nowait(grey(70))
        await wait_until(lambda: source.output.seq == 1)
        assert source.process_errors == 1
    finally:
        await source.close()


async def test_attach_replaces_the_track_and_close_is_idempotent() -> None:
    source = VideoSource("r")
    first, second = QueueTrack(), QueueTrack()
    await source.attach(first)
    await source.attach(second)
    first.queue.put_nowait(grey(1))
    second.queue.put_nowait(grey(2))
    await wait_until(lambda: source.frames_in == 1)
    await asyncio.sleep(0.02)
    assert source.frames_in == 1  # the old track is no longer read
    second.queue.put_nowait(None)  # track ends: the drain task finishes quietly
    await source.close()
    await source.close()
    assert source.output.closed


async def test_the_effect_frame_rate_cap_processes_a_share_of_the_frames_as_they_arrive() -> None:
    source = VideoSource("cap", max_fps=10)
    track = QueueTrack()
    invert = Invert()
    await source.attach(track)
    source.set_processor(invert)
    source.add_consumer()
    try:
        started = time.monotonic()
        for level in range(30):  # about a second of video at 30 fps
            track.queue.put_nowait(grey(level))
            await wait_until(lambda n=level + 1: source.frames_processed + source.frames_skipped == n)
            await asyncio.sleep(1 / 30)
        span = time.monotonic() - started
        # 10 per second of arrivals (the first frame at once), the rest skipped.
        assert span * 10 - 1 <= source.frames_processed <= span * 10 + 2
        assert source.frames_processed + source.frames_skipped == 30 and source.frames_skipped > 10
    finally:
        await source.close()


def test_the_frame_rate_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_fps must be positive"):
        VideoSource("bad", max_fps=0)
