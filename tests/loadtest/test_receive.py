"""Receiving as a browser: frame-complete jitter buffers, and audio counted instead of decoded."""

from __future__ import annotations

import types

from aiortc import RTCConfiguration, RTCPeerConnection

from loadtest.receive import receive_as_a_browser
from rtc.jitter_buffer import FrameJitterBuffer
from rtc.tap import TappedQueue


def _encoded(data: bytes) -> types.SimpleNamespace:
    return types.SimpleNamespace(data=data, timestamp=0)


async def test_every_receiver_hands_on_complete_frames_and_decodes_by_default() -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver("audio")
        pc.addTransceiver("video")
        receive_as_a_browser(pc)
        for transceiver in pc.getTransceivers():
            receiver = transceiver.receiver
            assert isinstance(receiver._RTCRtpReceiver__jitter_buffer, FrameJitterBuffer)  # type: ignore[attr-defined]
            assert not isinstance(receiver._RTCRtpReceiver__decoder_queue, TappedQueue)  # type: ignore[attr-defined]
    finally:
        await pc.close()


async def test_with_a_counter_audio_is_counted_and_never_reaches_the_decoder() -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    counted: list[None] = []
    try:
        pc.addTransceiver("audio")
        pc.addTransceiver("video")
        receive_as_a_browser(pc, lambda: counted.append(None))
        audio, video = (t.receiver for t in pc.getTransceivers())
        queue = audio._RTCRtpReceiver__decoder_queue  # type: ignore[attr-defined]
        assert isinstance(queue, TappedQueue)
        queue.put(("opus", _encoded(b"\x78\x01\x02")))
        queue.put(("opus", _encoded(b"\x78\x03\x04")))
        assert len(counted) == 2 and queue.qsize() == 0
        # Video is still decoded (the load tester reads its stamps from the pictures).
        assert not isinstance(video._RTCRtpReceiver__decoder_queue, TappedQueue)  # type: ignore[attr-defined]
    finally:
        await pc.close()
