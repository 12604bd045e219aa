"""Media tracks a synthetic attendee sends, and the log of when each stamped frame left.

* `EncodedVideoTrack` hands aiortc pre-encoded VP8 packets (`av.Packet`): no encoding per peer.
* `LiveVideoTrack` hands aiortc raw pictures stamped on the fly: aiortc encodes each one (the costly way,
  kept to measure the difference and for servers that need keyframes on request).
* `EncodedAudioTrack` hands aiortc pre-encoded Opus packets.

Every video frame carries a stamp payload; the track records in its `SendLog` when each payload was
handed to aiortc (which packetizes and sends it at once). A receiver that reads a payload back asks the
sender's log when it left: that is the glass-to-glass latency through the server.
"""

from __future__ import annotations

import asyncio
import fractions
import random
import time
from collections.abc import Sequence

import av
import numpy as np
from aiortc import RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from loadtest.clip import EncodedClip
from loadtest.stamp import stamp_i420

VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)
AUDIO_RATE = 48_000
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_RATE)
AUDIO_SAMPLES = 960  # 20 ms
# If the event loop falls further behind than this, restart the schedule instead of bursting frames.
MAX_BEHIND_SECONDS = 0.5


class SendLog:
    """When each stamp payload was last sent (monotonic seconds), for the last `capacity` payloads.

    One per attendee for its whole stay: the tracks of each new peer connection write to the same log,
    and `count` keeps counting. `base` offsets running payloads (live tracks), so that two attendees'
    payloads differ.
    """

    def __init__(self, capacity: int, base: int = 0) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._payloads = np.full(capacity, -1, dtype=np.int64)
        self._times = np.zeros(capacity, dtype=np.float64)
        self.capacity = capacity
        self.base = base
        self.count = 0  # frames recorded

    def record(self, payload: int, at: float) -> None:
        slot = payload % self.capacity
        self._payloads[slot] = payload
        self._times[slot] = at
        self.count += 1

    def lookup(self, payload: int) -> float | None:
        slot = payload % self.capacity
        if self._payloads[slot] != payload:
            return None
        return float(self._times[slot])


class _Clock:
    """RTP presentation times that follow the real sending time (as a camera's capture times do), so a
    receiver can tell a frame that waited from one that was sent late; never backwards."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._last = -1

    def pts(self, now: float) -> int:
        if self._start is None:
            self._start = now
        self._last = max(self._last + 1, round((now - self._start) * VIDEO_CLOCK_RATE))
        return self._last


class _Pacer:
    """Paces frames at `fps` (monotonic clock): catches up after a short stall, restarts after a long one."""

    def __init__(self, fps: float) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = fps
        self._start: float | None = None
        self._count = 0

    async def wait(self) -> None:
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._count / self.fps
        if now - due > MAX_BEHIND_SECONDS:
            self._start, self._count = now, 0
        elif due > now:
            await asyncio.sleep(due - now)
        self._count += 1


class EncodedVideoTrack(MediaStreamTrack):
    """Loops a shared `EncodedClip`; frame `i` of the clip carries stamp payload `i`."""

    kind = "video"

    def __init__(self, clip: EncodedClip, log: SendLog | None = None, fps: float | None = None) -> None:
        super().__init__()
        self.clip = clip
        self.log = log if log is not None else SendLog(len(clip))
        self._pacer = _Pacer(fps or clip.fps)
        self._clock = _Clock()
        self._index = 0
        self._keyframe_requested = False
        self._intra = False
        self.frames_sent = 0
        self.keyframes_on_request = 0

    def request_keyframe(self) -> None:
        """The receiver lost a packet (PLI/FIR): make the next frame a keyframe."""
        self._keyframe_requested = True

    def hook(self, sender: RTCRtpSender) -> None:
        """Answer `sender`'s keyframe requests. aiortc only acts on them when it encodes frames itself;
        for pre-encoded packets the track must, as a browser's encoder would."""
        sender._send_keyframe = self.request_keyframe  # type: ignore[method-assign]

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        await self._pacer.wait()
        index = self._index % len(self.clip)
        if self.clip.keyframes[index]:
            self._intra = False  # back on the regular chain
        elif self._keyframe_requested and not self._intra:
            self._intra = True
            self.keyframes_on_request += 1
        self._keyframe_requested = False
        # After a requested keyframe, the chain's inter frames would be predicted from pictures the
        # receiver never got (VP8 also references older "golden" frames): send stand-alone keyframes
        # until the chain's next regular keyframe instead.
        packet = av.Packet(self.clip.intra[index] if self._intra else self.clip.packets[index])
        now = time.monotonic()
        packet.pts = self._clock.pts(now)
        packet.time_base = VIDEO_TIME_BASE
        self._index += 1
        self.frames_sent += 1
        self.log.record(index, now)
        return packet


def live_send_log(capacity: int = 4096) -> SendLog:
    """A log for live tracks; its random base tells this sender's payloads apart from another's."""
    return SendLog(capacity, base=random.getrandbits(31))


class LiveVideoTrack(MediaStreamTrack):
    """Loops shared raw I420 pictures, stamping each with a running payload; aiortc encodes them."""

    kind = "video"

    def __init__(
        self,
        pictures: Sequence[np.ndarray],
        width: int,
        height: int,
        fps: float,
        log: SendLog | None = None,
    ) -> None:
        super().__init__()
        self._pictures = pictures
        self._width = width
        self._height = height
        self._pacer = _Pacer(fps)
        self._clock = _Clock()
        self.log = log if log is not None else live_send_log()
        self.frames_sent = 0

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._pacer.wait()
        picture = self._pictures[self.frames_sent % len(self._pictures)].copy()
        payload = (self.log.base + self.log.count) & 0xFFFFFFFF
        stamp_i420(picture, self._width, self._height, payload)
        frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
        now = time.monotonic()
        frame.pts = self._clock.pts(now)
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        self.log.record(payload, now)
        return frame


class EncodedAudioTrack(MediaStreamTrack):
    """Loops shared pre-encoded 20 ms Opus packets."""

    kind = "audio"

    def __init__(self, packets: Sequence[bytes]) -> None:
        super().__init__()
        if not packets:
            raise ValueError("no audio packets")
        self._packets = packets
        self._pacer = _Pacer(AUDIO_RATE / AUDIO_SAMPLES)
        self.frames_sent = 0

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        await self._pacer.wait()
        packet = av.Packet(self._packets[self.frames_sent % len(self._packets)])
        packet.pts = self.frames_sent * AUDIO_SAMPLES
        packet.time_base = AUDIO_TIME_BASE
        self.frames_sent += 1
        return packet
