"""Small helpers on PyAV frames shared by the media modules."""

from __future__ import annotations

import av


def copy_video_frame(frame: av.VideoFrame) -> av.VideoFrame:
    """A new frame object with the same picture (yuv420p), safe to restamp independently."""
    if frame.format.name != "yuv420p":
        return frame.reformat(format="yuv420p")  # reformatting already makes a new frame
    return av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")


def copy_audio_frame(frame: av.AudioFrame) -> av.AudioFrame:
    """A new audio frame object with the same samples."""
    copy = av.AudioFrame.from_ndarray(frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name)
    copy.sample_rate = frame.sample_rate
    return copy
