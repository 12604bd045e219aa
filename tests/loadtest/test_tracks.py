"""What a load-test attendee sends: paced tracks that log when each stamped frame left."""

from __future__ import annotations

import time

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from loadtest.clip import EncodedClip, encoded_opus_loop
from loadtest.stamp import read_stamp
from loadtest.tracks import EncodedAudioTrack, EncodedVideoTrack, LiveVideoTrack, SendLog


def test_send_log_keeps_the_latest_send_of_each_payload() -> None:
    log = SendLog(4, base=100)
    log.record(1, 10.0)
    log.record(5, 11.0)  # same slot as 1: replaces it
    assert log.lookup(1) is None and log.lookup(5) == 11.0 and log.lookup(2) is None
    assert log.count == 2 and log.base == 100


async def test_tracks_pace_and_log_what_they_send(clip: EncodedClip) -> None:
    log = SendLog(len(clip))
    video = EncodedVideoTrack(clip, log, fps=50.0)
    started = time.monotonic()
    packets = [await video.recv() for _ in range(6)]
    elapsed = time.monotonic() - started
    assert 0.08 <= elapsed < 1.0  # five frame intervals at 50 fps
    assert [bytes(p) for p in packets] == list(clip.packets[:6])
    # Presentation times follow the real sending times (as a camera's do): 1800 ticks a frame at 50 fps.
    pts = [p.pts for p in packets]
    assert pts[0] == 0 and pts == sorted(set(pts))
    assert abs(pts[5] - 5 * 1800) < 0.5 * 90000
    assert log.count == 6 and log.lookup(5) is not None
    # A keyframe request (PLI) through aiortc's sender: the next frame is the intra version.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        sender = pc.addTrack(video)
        video.hook(sender)
        assert bytes(await video.recv()) == clip.packets[6]  # a regular keyframe
        sender._send_keyframe()
        # Stand-alone keyframes until the chain comes round to its next keyframe (frame 0).
        assert [bytes(await video.recv()) for _ in range(5)] == list(clip.intra[7:12])
        assert bytes(await video.recv()) == clip.packets[0]
        assert bytes(await video.recv()) == clip.packets[1]
        assert video.keyframes_on_request == 1
    finally:
        await pc.close()
    video.stop()
    with pytest.raises(MediaStreamError):
        await video.recv()

    pictures = [np.full((240 * 3 // 2, 320), 128, np.uint8)]
    live_log = SendLog(64, base=7)
    live = LiveVideoTrack(pictures, 320, 240, 50.0, live_log)
    frames = [await live.recv() for _ in range(3)]
    assert [read_stamp(f) for f in frames] == [7, 8, 9]
    assert live_log.lookup(9) is not None
    live.stop()

    audio = EncodedAudioTrack(encoded_opus_loop(seconds=0.1))
    first, second = await audio.recv(), await audio.recv()
    assert (first.pts, second.pts) == (0, 960)
    audio.stop()
