"""What a synthetic peer sends by default: its colour at its frame rate, its tone at its pitch."""

from __future__ import annotations

import asyncio

import numpy as np

from loadtest.pattern_tracks import PatternVideoTrack, ToneAudioTrack
from loadtest.samples import summarise_audio, summarise_video


async def test_pattern_track_sends_its_colour_at_its_frame_rate() -> None:
    track = PatternVideoTrack((10, 200, 30), width=160, height=120, fps=20)
    loop = asyncio.get_running_loop()
    started = loop.time()
    frames = [await track.recv() for _ in range(6)]
    elapsed = loop.time() - started
    track.stop()
    assert 0.15 < elapsed < 1.5  # 5 frame intervals of 50 ms, first at once
    pts = [f.pts for f in frames]
    assert pts == sorted(pts) and len(set(pts)) == 6
    sample = summarise_video(frames[0], 0.0)
    assert sample.is_colour((10, 200, 30), tolerance=12) and (sample.width, sample.height) == (160, 120)
    # The moving square makes consecutive frames differ (encoders see motion).
    assert not np.array_equal(frames[0].to_ndarray(), frames[1].to_ndarray())


async def test_tone_track_is_recognised_by_its_frequency() -> None:
    track = ToneAudioTrack(1000.0)
    frame = await track.recv()
    track.stop()
    assert (frame.format.name, frame.layout.name, frame.sample_rate, frame.samples) == (
        "s16",
        "stereo",
        48000,
        960,
    )
    sample = summarise_audio(frame, 0.0)
    assert abs(sample.frequency - 1000) <= 50 and sample.rms > 3000
