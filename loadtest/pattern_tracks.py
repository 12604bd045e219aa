"""What a synthetic peer sends by default: a solid colour with a small moving square, and a sine tone.

Each peer gets its own colour and pitch, so a receiver can tell whose media it gets from a summary of
each frame (see `loadtest.samples`): the partner's colour and tone, or the server's slate and silence.
Both tracks are paced in real time from their first frame, like a camera and a microphone.
"""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
AUDIO_RATE = 48000
AUDIO_SAMPLES = 960  # 20 ms


class PatternVideoTrack(MediaStreamTrack):
    """A solid colour with a small white square moving along the top edge, at a steady frame rate."""

    kind = "video"

    def __init__(
        self, colour: tuple[int, int, int], width: int = 320, height: int = 240, fps: float = 15.0
    ) -> None:
        super().__init__()
        self.fps = fps
        self._frames = _pattern_frames(colour, width, height, positions=30)
        self._index = 0
        self._start: float | None = None
        self.frames_sent = 0

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._index / self.fps
        if due > now:
            await asyncio.sleep(due - now)
        frame = av.VideoFrame.from_ndarray(self._frames[self._index % len(self._frames)], format="yuv420p")
        frame.pts = round(self._index * 90000 / self.fps)
        frame.time_base = VIDEO_TIME_BASE
        self._index += 1
        self.frames_sent += 1
        return frame


def _pattern_frames(
    colour: tuple[int, int, int], width: int, height: int, positions: int
) -> list[np.ndarray]:
    side = max(4, height // 12)
    frames = []
    for i in range(positions):
        image = np.empty((height, width, 3), dtype=np.uint8)
        image[:] = colour
        x = (width - side) * i // max(positions - 1, 1)
        image[:side, x : x + side] = 255
        rgb = av.VideoFrame.from_ndarray(image, format="rgb24")
        frames.append(rgb.reformat(format="yuv420p").to_ndarray())
    return frames


class ToneAudioTrack(MediaStreamTrack):
    """A continuous sine tone (s16 stereo 48 kHz, 20 ms frames), paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, amplitude: int = 8000) -> None:
        super().__init__()
        self.frequency = frequency
        self._amplitude = amplitude
        self._samples_sent = 0
        self._start: float | None = None
        self.frames_sent = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._samples_sent / AUDIO_RATE
        if due > now:
            await asyncio.sleep(due - now)
        t = (np.arange(AUDIO_SAMPLES) + self._samples_sent) / AUDIO_RATE
        mono = (self._amplitude * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        stereo = np.repeat(mono, 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._samples_sent
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._samples_sent += AUDIO_SAMPLES
        self.frames_sent += 1
        return frame
