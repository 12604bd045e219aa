from __future__ import annotations

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from rtc.jitter_buffer import AUDIO_CAPACITY, VIDEO_CAPACITY, FrameJitterBuffer, install


def _packet(seq: int, timestamp: int, marker: bool = False) -> RtpPacket:
    packet = RtpPacket(sequence_number=seq % 65536, timestamp=timestamp, marker=int(marker))
    packet._data = f"<{seq}>".encode()  # type: ignore[attr-defined]  # the receiver's depayloaded data
    return packet


def _frames(buffer: JitterBuffer, packets: list[RtpPacket]) -> list[tuple[int, bytes] | None]:
    """What each `add` hands on: (timestamp, data) or None."""
    out: list[tuple[int, bytes] | None] = []
    for packet in packets:
        _, frame = buffer.add(packet)
        out.append(None if frame is None else (frame.timestamp, frame.data))
    return out


def test_a_video_frame_goes_on_with_its_marked_last_packet() -> None:
    buffer = FrameJitterBuffer(VIDEO_CAPACITY, is_video=True)
    packets = [_packet(10, 3000), _packet(11, 3000), _packet(12, 3000, marker=True), _packet(13, 6000, True)]
    assert _frames(buffer, packets) == [None, None, (3000, b"<10><11><12>"), (6000, b"<13>")]
    # aiortc's own buffer hands each frame on only once the next frame's first packet is there.
    stock = JitterBuffer(VIDEO_CAPACITY, is_video=True)
    assert _frames(stock, packets) == [None, None, None, (3000, b"<10><11><12>")]


def test_reordered_packets_complete_the_frame_when_the_gap_fills() -> None:
    buffer = FrameJitterBuffer(VIDEO_CAPACITY, is_video=True)
    packets = [_packet(20, 90), _packet(22, 90, marker=True), _packet(21, 90), _packet(23, 180, True)]
    assert _frames(buffer, packets) == [None, None, (90, b"<20><21><22>"), (180, b"<23>")]


def test_a_frame_without_a_marked_packet_goes_on_when_the_next_frame_starts() -> None:
    buffer = FrameJitterBuffer(VIDEO_CAPACITY, is_video=True)
    packets = [_packet(1, 100), _packet(2, 100), _packet(3, 200), _packet(4, 200, marker=True)]
    assert _frames(buffer, packets) == [None, None, (100, b"<1><2>"), (200, b"<3><4>")]


def test_a_lost_packet_holds_its_frame_and_a_late_duplicate_is_ignored() -> None:
    buffer = FrameJitterBuffer(VIDEO_CAPACITY, is_video=True)
    assert _frames(buffer, [_packet(5, 50, marker=True)]) == [(50, b"<5>")]
    # Packet 6 is lost: the next frame waits for it (the receiver asks for it again).
    assert _frames(buffer, [_packet(7, 100, marker=True)]) == [None]
    assert _frames(buffer, [_packet(6, 100)]) == [(100, b"<6><7>")]
    assert _frames(buffer, [_packet(6, 100)]) == [None]  # retransmitted twice: already handed on


def test_sequence_numbers_wrap_around() -> None:
    buffer = FrameJitterBuffer(VIDEO_CAPACITY, is_video=True)
    packets = [_packet(65534, 1), _packet(65535, 1), _packet(65536, 1, marker=True), _packet(65537, 2, True)]
    assert _frames(buffer, packets) == [None, None, (1, b"<65534><65535><65536>"), (2, b"<65537>")]


def test_an_overflowing_video_buffer_asks_for_a_keyframe_like_aiortcs() -> None:
    buffer = FrameJitterBuffer(16, is_video=True)
    buffer.add(_packet(0, 0, marker=True))
    buffer.add(_packet(2, 10))  # 1 never comes
    pli, _ = buffer.add(_packet(40, 20))
    assert pli


def test_audio_packets_go_on_at_once_in_order() -> None:
    buffer = FrameJitterBuffer(AUDIO_CAPACITY)
    assert _frames(buffer, [_packet(1, 960), _packet(2, 1920)]) == [(960, b"<1>"), (1920, b"<2>")]
    # Out of order: 4 waits for 3, then goes on with the next packet.
    assert _frames(buffer, [_packet(4, 3840), _packet(3, 2880), _packet(5, 4800)]) == [
        None,
        (2880, b"<3>"),
        (3840, b"<4>"),
    ]
    # aiortc's audio buffer holds four frames back: the first goes on with the fifth.
    stock = JitterBuffer(capacity=16, prefetch=4)
    assert _frames(stock, [_packet(i, 960 * i) for i in range(1, 6)]) == [None] * 4 + [(960, b"<1>")]


async def test_installed_in_a_fresh_receiver_only() -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        video = pc.addTransceiver("video", direction="recvonly").receiver
        audio = pc.addTransceiver("audio", direction="recvonly").receiver
        install(video, "video")
        install(audio, "audio")
        video_buffer = video._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
        audio_buffer = audio._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
        assert isinstance(video_buffer, FrameJitterBuffer) and video_buffer.capacity == VIDEO_CAPACITY
        assert isinstance(audio_buffer, FrameJitterBuffer) and audio_buffer.capacity == AUDIO_CAPACITY
        video_buffer.add(_packet(1, 1))
        with pytest.raises(RuntimeError, match="already received"):
            install(video, "video")
    finally:
        await pc.close()
