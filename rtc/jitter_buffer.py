"""A jitter buffer that hands on each frame as soon as it is complete.

aiortc's receivers reassemble frames in a `JitterBuffer` that only knows a frame is complete when a
packet of the *next* frame arrives, and for audio it also holds four frames back. A server that forwards
media pays that on every hop: about one frame interval for video (33 ms at 30 fps) and 80 ms for audio.
Senders mark the last packet of each video frame (the RTP marker bit, RFC 7741 for VP8), and every Opus
packet is a whole frame, so this buffer hands on:

* a video frame when its packets, from the first to the marked last one, are all there;
* an audio packet as soon as every packet before it has been handed on.

Everything else (reordering, overflow, keyframe requests after a loss) is aiortc's: the receiver still
asks for a lost packet again (NACK) and still requests a keyframe when the buffer overflows.
"""

from __future__ import annotations

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"
# aiortc's capacities (packets): enough for a large keyframe, and a few audio frames of reordering.
VIDEO_CAPACITY = 512
AUDIO_CAPACITY = 16


class FrameJitterBuffer(JitterBuffer):
    """aiortc's jitter buffer, handing on each frame once it is complete (see module docstring)."""

    def __init__(self, capacity: int, is_video: bool = False) -> None:
        super().__init__(capacity, prefetch=0, is_video=is_video)

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        if self._origin is None:
            return None
        packets: list[RtpPacket] = []
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None:
                return None  # a packet of the first frame is missing (yet): wait for it
            if packets and packet.timestamp != packets[0].timestamp:
                # A packet of the next frame: the first one ended without a marked packet.
                return self._take(packets, count)
            packets.append(packet)
            if packet.marker or not self._is_video:
                return self._take(packets, count + 1)
        return None

    def _take(self, packets: list[RtpPacket], count: int) -> JitterFrame:
        frame = JitterFrame(
            data=b"".join(p._data for p in packets),  # type: ignore[attr-defined]  # set by the receiver
            timestamp=packets[0].timestamp,
        )
        self.remove(count)
        return frame


def install(receiver: RTCRtpReceiver, kind: str) -> None:
    """Give `receiver` (an audio or video receiver that has not received anything yet) a
    `FrameJitterBuffer`."""
    current = getattr(receiver, _ATTRIBUTE, None)
    if not isinstance(current, JitterBuffer):
        raise RuntimeError("cannot replace this aiortc receiver's jitter buffer: unknown layout")
    if current._origin is not None:
        raise RuntimeError("cannot replace a jitter buffer that has already received packets")
    video = kind == "video"
    setattr(receiver, _ATTRIBUTE, FrameJitterBuffer(VIDEO_CAPACITY if video else AUDIO_CAPACITY, video))
