"""Received media, summarised: the median colour of each video frame, the loudness and pitch of each
audio frame. A synthetic peer keeps these summaries (see `SyntheticPeer.wait_for_colour`) instead of the
frames themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import av
import numpy as np


@dataclass(frozen=True, slots=True)
class VideoSample:
    """One received video frame, summarised: arrival time (monotonic), median colour, size."""

    at: float
    rgb: tuple[int, int, int]
    width: int
    height: int

    def is_colour(self, rgb: Sequence[int], tolerance: float = 40.0) -> bool:
        return max(abs(a - b) for a, b in zip(self.rgb, rgb, strict=True)) <= tolerance


@dataclass(frozen=True, slots=True)
class AudioSample:
    """One received audio frame: arrival time (monotonic), RMS level, dominant frequency (Hz)."""

    at: float
    rms: float
    frequency: float


def summarise_video(frame: av.VideoFrame, at: float) -> VideoSample:
    small = frame.reformat(width=16, height=16, format="rgb24").to_ndarray().reshape(-1, 3)
    median = np.median(small, axis=0)
    return VideoSample(at, (int(median[0]), int(median[1]), int(median[2])), frame.width, frame.height)


def summarise_audio(frame: av.AudioFrame, at: float) -> AudioSample:
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    samples = (
        data.reshape(-1, channels)[:, 0].astype(np.float64) if data.shape[0] == 1 else data[0].astype(float)
    )
    rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
    frequency = 0.0
    if rms > 1.0 and samples.size >= 64:
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
        frequency = float(np.argmax(spectrum[1:]) + 1) * frame.sample_rate / samples.size
    return AudioSample(at, rms, frequency)
