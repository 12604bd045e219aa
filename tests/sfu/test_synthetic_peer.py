"""The synthetic peer's media: what it sends is what its receiver-side summaries recognise."""

from __future__ import annotations

import asyncio

import av
import numpy as np
from sfu_server import PeerFactory, Server

from sfu.relay import TappedQueue
from sfu.synthetic_peer import PatternVideoTrack, ToneAudioTrack, summarise_audio, summarise_video


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
    silence = av.AudioFrame.from_ndarray(np.zeros((1, 1920), dtype=np.int16), format="s16", layout="stereo")
    silence.sample_rate = 48000
    quiet = summarise_audio(silence, 0.0)
    assert quiet.rms == 0 and quiet.frequency == 0


async def test_wait_for_colour_times_out_with_a_clear_error(server: Server, peers: PeerFactory) -> None:
    a = await peers(0)
    try:
        await a.wait_for_colour((1, 2, 3), tolerance=1, within=1.5)
    except TimeoutError as exc:
        assert "p0" in str(exc)
    else:
        raise AssertionError("matched a colour nobody sends")
    assert a.video_frames > 0  # it did receive (the slate)


async def test_without_summaries_audio_is_counted_not_decoded(server: Server, peers: PeerFactory) -> None:
    a = await peers(0, summarise=False)
    deadline = asyncio.get_running_loop().time() + 5.0
    while a.audio_frames < 25:  # half a second of the silence the server sends between meetings
        assert asyncio.get_running_loop().time() < deadline, f"only {a.audio_frames} audio frames arrived"
        await asyncio.sleep(0.05)
    assert a.pc is not None
    (receiver,) = [r for r in a.pc.getReceivers() if r.track.kind == "audio"]
    assert isinstance(receiver._RTCRtpReceiver__decoder_queue, TappedQueue)  # type: ignore[attr-defined]
    assert receiver._RTCRtpReceiver__decoder_queue.qsize() == 0  # type: ignore[attr-defined]
    assert receiver.track._queue.qsize() == 0  # type: ignore[attr-defined]  # no decoded frame
    assert not a.audio  # no summaries either
    assert a.video_frames > 0  # video is still decoded (stamps are read from the pictures)
