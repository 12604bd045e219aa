"""EffectTrack: an aiortc track that applies the background effect off the event loop, newest frame first."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import av
import numpy as np
import pytest
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from effects_testing import FACE, VIDEO_TIME_BASE, WALL, AstronautTrack, crop, luma, warm

from effects import BackgroundEffect, BackgroundProcessor, EffectTrack, Segmenter, SegmenterPool

BLUE = (30, 144, 255)


class RecordingSegmenter(Segmenter):
    """A real segmenter that also notes which threads ran it."""

    threads: set[int] = set()

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        RecordingSegmenter.threads.add(threading.get_ident())
        return super().segment(rgb)


@pytest.fixture
async def make_track(segmenters: SegmenterPool) -> AsyncIterator[object]:
    tracks: list[EffectTrack] = []

    def make(source: AstronautTrack, effect: BackgroundEffect | None = None, **kwargs: object) -> EffectTrack:
        processor = BackgroundProcessor(segmenters=segmenters)
        track = EffectTrack(source, effect, processor=processor, **kwargs)  # type: ignore[arg-type]
        tracks.append(track)
        return track

    yield make
    for track in tracks:
        await track.close()


async def drain(track: EffectTrack) -> list[av.VideoFrame]:
    frames = []
    while True:
        try:
            frames.append(await track.recv())
        except MediaStreamError:
            return frames


async def test_frames_come_out_processed_with_their_timestamps(make_track) -> None:  # type: ignore[no-untyped-def]
    source = AstronautTrack(12, fps=60)
    track = make_track(source, BackgroundEffect.solid(BLUE))
    frames = await asyncio.wait_for(drain(track), 30)
    assert len(frames) >= 8  # a frame may be skipped when processing falls behind, never delayed
    pts = [frame.pts for frame in frames]
    assert pts == sorted(set(pts)) and all(p % 3000 == 0 for p in pts)
    for frame in frames:
        assert frame.time_base == VIDEO_TIME_BASE
        assert (frame.width, frame.height) == (640, 480)
        rgb = frame.to_ndarray(format="rgb24")
        assert np.abs(crop(rgb, WALL).astype(int) - BLUE).max() <= 4
    assert track.frames_processed == len(frames) == track.frames_out
    assert track.readyState == "ended"


async def test_with_no_effect_frames_pass_through_untouched(make_track) -> None:  # type: ignore[no-untyped-def]
    sent: list[av.VideoFrame] = []

    class Recording(AstronautTrack):
        async def recv(self) -> av.VideoFrame:
            frame = await super().recv()
            sent.append(frame)
            return frame

    track = make_track(Recording(6, fps=60))
    frames = await asyncio.wait_for(drain(track), 30)
    assert frames and all(any(frame is original for original in sent) for frame in frames)
    assert track.frames_processed == 0


async def test_the_work_runs_in_a_worker_thread_and_the_loop_stays_responsive() -> None:
    RecordingSegmenter.threads.clear()
    pool = warm(SegmenterPool(1, factory=RecordingSegmenter))
    RecordingSegmenter.threads.clear()
    track = EffectTrack(
        AstronautTrack(30, fps=60),
        BackgroundEffect.blurred(),
        processor=BackgroundProcessor(segmenters=pool),
    )
    gaps: list[float] = []

    async def heartbeat() -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(0.002)
            now = loop.time()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat(), name="heartbeat")
    try:
        frames = await asyncio.wait_for(drain(track), 60)
    finally:
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)
        await track.close()
        pool.close()
    assert len(frames) >= 5 and track.frames_processed == len(frames)
    assert RecordingSegmenter.threads and threading.get_ident() not in RecordingSegmenter.threads
    # The loop kept ticking all along (generous bound: a shared CI machine; per-frame work is ~5 ms).
    assert len(gaps) > len(frames)
    assert max(gaps) < 0.25


async def test_only_the_newest_frame_is_kept_when_the_reader_is_slow(make_track) -> None:  # type: ignore[no-untyped-def]
    source = AstronautTrack(120, fps=150)
    track = make_track(source, BackgroundEffect.solid(BLUE))
    received: list[int] = []
    lags: list[int] = []
    while True:
        try:
            frame = await asyncio.wait_for(track.recv(), 30)
        except MediaStreamError:
            break
        received.append(frame.pts // 3000)
        lags.append(source.sent - 1 - received[-1])
        await asyncio.sleep(0.03)  # a slow consumer (an encoder at a lower frame rate)
    # Each frame that comes out was the newest when it was taken: the lag is what one frame's processing
    # takes, and it does not grow (a queue would fall some 5 frames further behind per read here).
    assert max(lags) <= 20, lags
    assert max(lags[len(lags) // 2 :]) <= max(lags[: len(lags) // 2]) + 10, lags
    assert track.frames_dropped > 0
    assert len(received) < 120
    assert received == sorted(received)
    assert received[-1] >= 115  # the end of the clip came out, not frames from long ago


async def test_set_effect_applies_from_the_next_frame(make_track) -> None:  # type: ignore[no-untyped-def]
    track = make_track(AstronautTrack(40, fps=60), BackgroundEffect.blurred())
    first = await track.recv()
    assert not np.all(np.abs(crop(first.to_ndarray(format="rgb24"), WALL).astype(int) - BLUE) <= 4)
    track.set_effect(BackgroundEffect.solid(BLUE))
    assert track.effect.color == BLUE
    second = await track.recv()
    assert np.abs(crop(second.to_ndarray(format="rgb24"), WALL).astype(int) - BLUE).max() <= 4
    track.set_effect(BackgroundEffect.none())
    third = await track.recv()
    assert track.frames_processed == 2
    assert third.format.name == "yuv420p"
    with pytest.raises(Exception, match="BackgroundEffect"):
        track.set_effect("color")  # type: ignore[arg-type]
    assert not track.effect.active


async def test_a_frame_the_effect_cannot_handle_passes_through(make_track, caplog) -> None:  # type: ignore[no-untyped-def]
    class OddSized(AstronautTrack):
        async def recv(self) -> av.VideoFrame:
            await super().recv()
            frame = av.VideoFrame(641, 481, "yuv420p")
            frame.pts, frame.time_base = self.sent * 3000, VIDEO_TIME_BASE
            return frame

    track = make_track(OddSized(3, fps=60), BackgroundEffect.blurred())
    with caplog.at_level(logging.ERROR, logger="effects.track"):
        frames = await asyncio.wait_for(drain(track), 30)
    assert frames and all(frame.width == 641 for frame in frames)
    assert track.errors == len(frames) and track.frames_processed == 0
    assert len([r for r in caplog.records if "passing frames through" in r.getMessage()]) == 1


async def test_close_ends_the_track_and_is_idempotent(make_track) -> None:  # type: ignore[no-untyped-def]
    source = AstronautTrack(1000, fps=4)
    track = make_track(source, BackgroundEffect.blurred())
    await track.recv()
    waiting = asyncio.create_task(track.recv(), name="waiting-recv")
    await asyncio.sleep(0.01)  # the next frame is 250 ms away: recv() is waiting for it
    await track.close()
    await track.close()
    with pytest.raises(MediaStreamError):
        await waiting
    with pytest.raises(MediaStreamError):
        await track.recv()
    assert track.readyState == "ended"
    assert source.readyState == "live"  # the source belongs to someone else


async def test_stop_then_close_and_a_shared_executor_is_left_running(segmenters: SegmenterPool) -> None:
    with ThreadPoolExecutor(1) as executor:
        track = EffectTrack(
            AstronautTrack(100, fps=30),
            BackgroundEffect.solid(BLUE),
            processor=BackgroundProcessor(segmenters=segmenters),
            executor=executor,
        )
        frame = await track.recv()
        assert frame.pts is not None
        track.stop()
        await track.close()
        assert executor.submit(lambda: 42).result() == 42


async def test_only_video_sources() -> None:
    with pytest.raises(ValueError, match="video"):
        EffectTrack(AudioStreamTrack())


async def test_a_track_makes_its_own_processor_and_frees_it() -> None:
    track = EffectTrack(AstronautTrack(3, fps=60), BackgroundEffect.solid(BLUE))
    frames = await asyncio.wait_for(drain(track), 30)
    await track.close()
    assert frames
    np.testing.assert_array_equal(
        crop(luma(frames[-1].to_ndarray()), FACE).shape, (FACE[3] - FACE[1], FACE[2] - FACE[0])
    )
    with pytest.raises(RuntimeError, match="closed"):
        track.processor.process(frames[-1].to_ndarray())


async def test_stop_alone_releases_the_processor(make_track) -> None:  # type: ignore[no-untyped-def]
    track = make_track(AstronautTrack(100, fps=30), BackgroundEffect.blurred())
    await track.recv()
    track.stop()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while not track.processor.closed:
        assert loop.time() < deadline, "processor not released after stop()"
        await asyncio.sleep(0.01)
    with pytest.raises(MediaStreamError):
        await track.recv()
