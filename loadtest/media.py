"""The media every synthetic attendee of a load test sends, built once and shared."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from aiortc.mediastreams import MediaStreamTrack

from loadtest.clip import EncodedClip, encoded_opus_loop, render_clip
from loadtest.tracks import (
    EncodedAudioTrack,
    EncodedVideoTrack,
    LiveVideoTrack,
    SendLog,
    live_send_log,
)

CLIP_SECONDS = 6.0  # one sway there and back; stamps repeat after this (see probe.MAX_LATENCY_SECONDS)


class VideoMode(StrEnum):
    encoded = "encoded"  # pre-encoded VP8 packets: nearly free for the load generator
    live = "live"  # aiortc encodes every frame of every attendee: costly


@dataclass(frozen=True)
class LoadMedia:
    mode: VideoMode
    width: int
    height: int
    fps: float
    clip: EncodedClip | None
    pictures: tuple[np.ndarray, ...]
    audio: tuple[bytes, ...]

    @classmethod
    def build(
        cls, mode: VideoMode, width: int = 640, height: int = 480, fps: float = 30.0, bitrate: int = 600_000
    ) -> LoadMedia:
        """Render (and for `encoded`, encode) the clip. Blocking, a second or two: run it in a thread."""
        frames = max(2, round(CLIP_SECONDS * fps))
        audio = encoded_opus_loop()
        if mode is VideoMode.encoded:
            clip = EncodedClip.encode(frames, width=width, height=height, fps=fps, bitrate=bitrate)
            return cls(mode, width, height, fps, clip, (), audio)
        return cls(mode, width, height, fps, None, tuple(render_clip(frames, width, height)), audio)

    def send_log(self) -> SendLog:
        """A fresh log for one attendee's whole stay."""
        if self.clip is not None:
            return SendLog(len(self.clip))
        return live_send_log()

    def video_track(self, log: SendLog) -> MediaStreamTrack:
        if self.clip is not None:
            return EncodedVideoTrack(self.clip, log, self.fps)
        return LiveVideoTrack(self.pictures, self.width, self.height, self.fps, log)

    def audio_track(self) -> MediaStreamTrack:
        return EncodedAudioTrack(self.audio)
