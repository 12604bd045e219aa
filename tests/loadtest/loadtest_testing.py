"""Helpers for the load tester's tests (imported by name: `from loadtest_testing import ...`)."""

from __future__ import annotations

import av


def decode_vp8(packets: list[bytes]) -> list[av.VideoFrame]:
    """Decode VP8 packets in order with libvpx, as a receiver would."""
    decoder = av.CodecContext.create("libvpx", "r")
    frames: list[av.VideoFrame] = []
    for data in packets:
        frames.extend(f for f in decoder.decode(av.Packet(data)) if isinstance(f, av.VideoFrame))
    return frames
