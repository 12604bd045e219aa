"""Summaries of received frames: the median colour of a picture, the level and pitch of a sound."""

from __future__ import annotations

import av
import numpy as np

from loadtest.samples import VideoSample, summarise_audio, summarise_video


def _audio(samples: np.ndarray, layout: str = "stereo") -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout=layout)
    frame.sample_rate = 48000
    return frame


def test_a_picture_is_summarised_by_its_median_colour_and_size() -> None:
    image = np.zeros((120, 160, 3), np.uint8)
    image[:] = (200, 40, 90)
    image[:10, :10] = 255  # a small detail does not move the median
    sample = summarise_video(av.VideoFrame.from_ndarray(image, format="rgb24"), 1.5)
    assert sample.at == 1.5 and (sample.width, sample.height) == (160, 120)
    assert sample.is_colour((200, 40, 90), tolerance=4)
    assert not sample.is_colour((40, 200, 90))


def test_colour_tolerance_is_per_channel() -> None:
    sample = VideoSample(0.0, (100, 100, 100), 16, 16)
    assert sample.is_colour((130, 70, 100), tolerance=30)
    assert not sample.is_colour((131, 100, 100), tolerance=30)


def test_a_tone_is_summarised_by_its_level_and_pitch() -> None:
    t = np.arange(960) / 48000
    mono = (6000 * np.sin(2 * np.pi * 700 * t)).astype(np.int16)
    sample = summarise_audio(_audio(np.repeat(mono, 2)), 2.0)
    assert sample.at == 2.0
    assert abs(sample.frequency - 700) <= 50  # one 20 ms frame resolves 50 Hz
    assert abs(sample.rms - 6000 / np.sqrt(2)) < 100
    # Mono audio too.
    assert abs(summarise_audio(_audio(mono, "mono"), 0.0).frequency - 700) <= 50


def test_silence_has_no_level_and_no_pitch() -> None:
    quiet = summarise_audio(_audio(np.zeros(1920, dtype=np.int16)), 0.0)
    assert quiet.rms == 0 and quiet.frequency == 0
