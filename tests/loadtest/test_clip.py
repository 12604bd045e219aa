"""The astronaut clip: pre-encoded VP8 whose frames carry their index, and the Opus loop."""

from __future__ import annotations

import av
import pytest
from loadtest_testing import decode_vp8

from loadtest.clip import ClipError, EncodedClip, astronaut_rgb, encoded_opus_loop
from loadtest.stamp import read_stamp


def test_encoded_clip_frames_carry_their_index(clip: EncodedClip) -> None:
    assert len(clip) == 12 and clip.keyframes[0] and clip.keyframes[6]
    assert not clip.keyframes[1]
    frames = decode_vp8(list(clip.packets) * 2)  # the loop plays on without a break
    assert [read_stamp(f) for f in frames] == list(range(12)) * 2
    assert (frames[0].width, frames[0].height) == (320, 240)
    # A real person: the astronaut's orange suit around the code, not a flat test card.
    rgb = frames[3].to_ndarray(format="rgb24")
    assert rgb.std() > 30
    # Each frame also exists as a keyframe on its own, for a receiver that asks for one.
    assert len(clip.intra) == 12
    for index in (3, 7):
        assert [read_stamp(f) for f in decode_vp8([clip.intra[index]])] == [index]
    # Stand-alone keyframes until the chain's next keyframe, then the chain: all decode.
    assert [read_stamp(f) for f in decode_vp8([*clip.intra[3:6], *clip.packets[6:9]])] == list(range(3, 9))


def test_clip_sizes_are_checked() -> None:
    with pytest.raises(ClipError):
        astronaut_rgb(0, 10, width=321, height=240)
    with pytest.raises(ClipError):
        EncodedClip.encode(1)


def test_opus_loop_is_twenty_millisecond_packets() -> None:
    packets = encoded_opus_loop(seconds=0.2)
    assert len(packets) == 10 and all(0 < len(p) < 400 for p in packets)
    decoder = av.CodecContext.create("opus", "r")
    samples = sum(f.samples for p in packets for f in decoder.decode(av.Packet(p)))
    assert samples == 10 * 960
