"""Switchable outgoing tracks: source switches without renegotiation, timestamps from the track's clock."""

from __future__ import annotations

import asyncio
import fractions
import itertools

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from sfu.audio_source import AudioSource
from sfu.slate import Slate
from sfu.switchable_track import (
    AUDIO_SAMPLES,
    MediaClock,
    SwitchableAudioTrack,
    SwitchableVideoTrack,
)
from sfu.video_source import VideoSource


def solid(rgb: tuple[int, int, int], pts: int, size: tuple[int, int] = (64, 48)) -> av.VideoFrame:
    image = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    image[:] = rgb
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, 90000)
    return frame


def mean_rgb(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)


def is_colour(frame: av.VideoFrame, rgb: tuple[int, int, int]) -> bool:
    return bool(np.abs(mean_rgb(frame) - np.array(rgb)).max() < 12)


def test_media_clock_follows_its_own_clock_and_never_goes_back() -> None:
    now = [100.0]
    clock = MediaClock(90000, clock=lambda: now[0])
    assert clock.stamp() == 0
    now[0] += 0.5
    assert clock.stamp() == 45000
    # Frames faster than the clock resolution still get increasing stamps.
    assert clock.stamp() == 45001
    now[0] -= 10.0  # a clock hiccup backwards cannot move timestamps back
    assert clock.stamp() == 45002
    audio = MediaClock(48000, clock=lambda: now[0])
    assert audio.stamp(960) == 0
    assert audio.stamp(960) == 960  # never overlaps the previous frame


async def test_video_track_shows_slate_then_sources_with_monotonic_timestamps() -> None:
    slate = Slate(width=64, height=48, fps=50.0)
    red, blue = VideoSource("red"), VideoSource("blue")
    track = SwitchableVideoTrack(slate)
    try:
        first = await asyncio.wait_for(track.recv(), 1.0)
        assert (first.width, first.height) == (64, 48)  # the slate
        pts = [first.pts]

        track.switch_to(red)
        assert red.consumers == 1
        red.output.put(solid((255, 0, 0), pts=10**9))  # the source's own clock is far ahead
        frame = await asyncio.wait_for(track.recv(), 1.0)
        assert is_colour(frame, (255, 0, 0))
        pts.append(frame.pts)

        track.switch_to(blue)
        assert (red.consumers, blue.consumers) == (0, 1)
        blue.output.put(solid((0, 0, 255), pts=3))  # ... and this one's far behind
        frame = await asyncio.wait_for(track.recv(), 1.0)
        assert is_colour(frame, (0, 0, 255))
        assert frame.time_base == fractions.Fraction(1, 90000)
        pts.append(frame.pts)

        track.switch_to(None)
        frame = await asyncio.wait_for(track.recv(), 1.0)
        assert (frame.width, frame.height) == (64, 48) and not is_colour(frame, (0, 0, 255))
        pts.append(frame.pts)
        assert pts == sorted(pts) and len(set(pts)) == len(pts)
        assert pts[-1] < 90000 * 5  # the track's own clock, not the sources'
    finally:
        track.stop()
        await red.close()
        await blue.close()


async def test_switch_wakes_a_waiting_recv_at_once() -> None:
    slate = Slate(width=64, height=48, fps=0.5)  # next slate frame only in 2 s
    source = VideoSource("green")
    track = SwitchableVideoTrack(slate)
    try:
        await track.recv()  # first slate frame
        pending = asyncio.create_task(track.recv(), name="test-recv")
        await asyncio.sleep(0.05)
        assert not pending.done()
        track.switch_to(source)
        source.output.put(solid((0, 255, 0), pts=0))
        frame = await asyncio.wait_for(pending, 0.5)
        assert is_colour(frame, (0, 255, 0))
    finally:
        track.stop()
        await source.close()


async def test_stale_source_frame_is_not_shown_after_switch() -> None:
    source = VideoSource("old")
    source.output.put(solid((255, 255, 0), pts=0))
    source.output.peek().at -= 5.0  # type: ignore[union-attr]  # pretend it is 5 s old
    track = SwitchableVideoTrack(Slate(width=64, height=48))
    try:
        track.switch_to(source)
        pending = asyncio.create_task(track.recv(), name="test-recv-stale")
        await asyncio.sleep(0.05)
        assert not pending.done()  # waits for a fresh frame instead of the old one
        source.output.put(solid((0, 255, 255), pts=1))
        assert is_colour(await asyncio.wait_for(pending, 0.5), (0, 255, 255))
    finally:
        track.stop()
        await source.close()


async def test_two_receivers_of_one_frame_get_separate_objects() -> None:
    source = VideoSource("shared")
    a, b = SwitchableVideoTrack(Slate(width=64, height=48)), SwitchableVideoTrack(Slate(width=64, height=48))
    try:
        a.switch_to(source)
        b.switch_to(source)
        original = solid((200, 100, 50), pts=0)
        source.output.put(original)
        fa = await asyncio.wait_for(a.recv(), 1.0)
        fb = await asyncio.wait_for(b.recv(), 1.0)
        assert fa is original and fb is not original  # zero-copy for the first, a copy for the second
        assert is_colour(fb, (200, 100, 50))
    finally:
        a.stop()
        b.stop()
        await source.close()


async def test_stopped_track_raises_and_releases_its_source() -> None:
    source = VideoSource("s")
    track = SwitchableVideoTrack(Slate(width=64, height=48))
    track.switch_to(source)
    track.stop()
    assert source.consumers == 0
    with pytest.raises(MediaStreamError):
        await track.recv()
    await source.close()


def tone(samples: int, pts: int, value: int = 1000) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(
        np.full((1, samples * 2), value, dtype=np.int16), format="s16", layout="stereo"
    )
    frame.sample_rate = 48000
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, 48000)
    return frame


async def test_audio_track_silence_then_source_then_silence_with_contiguous_timestamps() -> None:
    source = AudioSource("a")
    track = SwitchableAudioTrack()
    try:
        silence = await asyncio.wait_for(track.recv(), 1.0)
        assert silence.samples == AUDIO_SAMPLES and not silence.to_ndarray().any()
        stamps = [silence.pts]

        track.switch_to(source)
        assert source.consumers == 1
        queue = source._queues[0]
        queue.put(tone(AUDIO_SAMPLES, pts=123_456_789))
        frame = await asyncio.wait_for(track.recv(), 1.0)
        assert frame.to_ndarray().max() == 1000
        stamps.append(frame.pts)

        # The source stalls: silence fills in so the browser's stream keeps flowing.
        frame = await asyncio.wait_for(track.recv(), 1.0)
        assert not frame.to_ndarray().any()
        stamps.append(frame.pts)

        track.switch_to(None)
        assert source.consumers == 0
        stamps.append((await asyncio.wait_for(track.recv(), 1.0)).pts)
        assert all(b - a >= AUDIO_SAMPLES for a, b in itertools.pairwise(stamps))
    finally:
        track.stop()
        await source.close()


async def test_audio_track_paces_silence_in_real_time() -> None:
    track = SwitchableAudioTrack()
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        for _ in range(10):
            await track.recv()
        elapsed = loop.time() - started
        # 10 frames of 20 ms, the first at once: about 180 ms (generous bounds for noisy machines).
        assert 0.12 < elapsed < 1.0
    finally:
        track.stop()


async def test_audio_track_normalises_other_formats() -> None:
    source = AudioSource("mono")
    track = SwitchableAudioTrack()
    try:
        track.switch_to(source)
        mono = av.AudioFrame.from_ndarray(np.full((1, 160), 500, dtype=np.int16), format="s16", layout="mono")
        mono.sample_rate = 8000
        source._queues[0].put(mono)
        frame = await asyncio.wait_for(track.recv(), 1.0)
        assert (frame.format.name, frame.layout.name, frame.sample_rate) == ("s16", "stereo", 48000)
    finally:
        track.stop()
        await source.close()
