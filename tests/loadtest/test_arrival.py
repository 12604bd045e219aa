"""Arrival stamps: the time aiortc's decoder thread finished each frame."""

from __future__ import annotations

import asyncio
import time

import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

from loadtest.arrival import ARRIVAL_STAMPS, arrival
from loadtest.clip import EncodedClip
from loadtest.stamp import read_stamp
from loadtest.tracks import EncodedVideoTrack
from rtc import patches


async def test_decoded_frames_carry_their_decode_time(clip: EncodedClip) -> None:
    patches.install(ARRIVAL_STAMPS)
    patches.install(ARRIVAL_STAMPS)  # idempotent
    config = RTCConfiguration(iceServers=[])
    sender, receiver = RTCPeerConnection(config), RTCPeerConnection(config)
    got: list[tuple[av.VideoFrame, float]] = []
    done = asyncio.Event()

    async def consume(track: MediaStreamTrack) -> None:
        while len(got) < 5:
            frame = await track.recv()
            if isinstance(frame, av.VideoFrame):
                got.append((frame, time.monotonic()))
        done.set()

    tasks: list[asyncio.Task[None]] = []
    receiver.on("track", lambda t: tasks.append(asyncio.create_task(consume(t), name="consume-video")))
    try:
        sender.addTrack(EncodedVideoTrack(clip, fps=30.0))
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
    for frame, received in got:
        assert isinstance(frame.opaque, float) and frame.opaque <= received
        assert arrival(frame, 0.0) == frame.opaque
        assert read_stamp(frame) in range(len(clip))
    unstamped = av.VideoFrame.from_ndarray(np.zeros((24, 16), np.uint8), format="yuv420p")
    assert arrival(unstamped, 7.5) == 7.5
