"""Frame stamps survive a real VP8 encode/decode and read back exactly, or not at all."""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest

from effects import BackgroundEffect, BackgroundProcessor
from loadtest.clip import EncodedClip, astronaut_rgb
from loadtest.stamp import crc8, read_stamp, read_stamp_luma, stamp_i420, stamp_rgb

PAYLOADS = [0, 1, 0xFFFFFFFF, 0x80000000, 0x12345678, 0xDEADBEEF, 0x0F0F0F0F]


def _i420(width: int, height: int, index: int = 0) -> np.ndarray:
    rgb = av.VideoFrame.from_ndarray(astronaut_rgb(index, 30, width, height), format="rgb24")
    return rgb.reformat(format="yuv420p").to_ndarray()


def _vp8_round_trip(pictures: list[np.ndarray], width: int, height: int, bitrate: int) -> list[av.VideoFrame]:
    """Encode with aiortc's realtime VP8 settings at `bitrate`, decode, return the decoded frames."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 30)
    encoder.bit_rate = bitrate
    encoder.options = {
        "deadline": "realtime",
        "cpu-used": "-6",
        "lag-in-frames": "0",
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "bufsize": str(bitrate),
    }
    decoder = av.CodecContext.create("libvpx", "r")
    decoded: list[av.VideoFrame] = []
    for pts, picture in enumerate(pictures):
        frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
        frame.pts = pts
        for packet in encoder.encode(frame):
            decoded.extend(f for f in decoder.decode(packet) if isinstance(f, av.VideoFrame))
    return decoded


@pytest.mark.parametrize(("width", "height", "bitrate"), [(640, 480, 250_000), (320, 240, 150_000)])
def test_stamps_survive_vp8_at_low_bitrate(width: int, height: int, bitrate: int) -> None:
    payloads = [*PAYLOADS, *range(100, 133)]
    pictures = []
    for i, payload in enumerate(payloads):
        picture = _i420(width, height, i)
        stamp_i420(picture, width, height, payload)
        pictures.append(picture)
    decoded = _vp8_round_trip(pictures, width, height, bitrate)
    assert len(decoded) == len(payloads)
    assert [read_stamp(frame) for frame in decoded] == payloads


def test_stamp_reads_back_after_scaling() -> None:
    picture = _i420(640, 480)
    stamp_i420(picture, 640, 480, 0xCAFEF00D)
    frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
    assert read_stamp(frame) == 0xCAFEF00D
    assert read_stamp(frame.reformat(width=480, height=360)) == 0xCAFEF00D
    assert read_stamp(frame.reformat(format="rgb24")) == 0xCAFEF00D  # any pixel format


def test_rgb_and_i420_stamps_agree() -> None:
    rgb = astronaut_rgb(3, 30)
    stamp_rgb(rgb, 424242)
    gray = av.VideoFrame.from_ndarray(rgb, format="rgb24").to_ndarray(format="gray")
    assert read_stamp_luma(gray) == 424242


def test_pictures_without_a_code_read_as_none() -> None:
    assert read_stamp_luma(np.full((480, 640), 128, dtype=np.uint8)) is None
    plain = av.VideoFrame.from_ndarray(_i420(640, 480), format="yuv420p")
    assert read_stamp(plain) is None
    assert read_stamp_luma(np.zeros((8, 8), dtype=np.uint8)) is None  # too small to hold a code


def test_a_damaged_code_fails_its_check() -> None:
    picture = _i420(640, 480)
    stamp_i420(picture, 640, 480, 0x01020304)
    luma = picture[:480]
    assert read_stamp_luma(luma) == 0x01020304
    # Flip one data cell (the third cell of the top row: the first payload bit).
    cell = 16
    x0, y0 = 150 + 2 * cell, 340
    luma[y0 : y0 + cell, x0 : x0 + cell] = 255 - luma[y0 : y0 + cell, x0 : x0 + cell]
    assert read_stamp_luma(luma) is None


def test_crc8_known_value_and_payload_range() -> None:
    # CRC-8 with polynomial 0x07 and initial value 0xFF over "123456789" is 0xFB.
    assert crc8(b"123456789") == 0xFB
    picture = _i420(640, 480)
    with pytest.raises(ValueError, match="32 bits"):
        stamp_i420(picture, 640, 480, 1 << 32)
    with pytest.raises(ValueError, match="32 bits"):
        stamp_i420(picture, 640, 480, -1)
    with pytest.raises(ValueError, match="I420"):
        stamp_i420(picture[:480], 640, 480, 1)


@pytest.mark.parametrize("kind", ["blur", "color"])
def test_stamps_survive_the_servers_background_effects(kind: str) -> None:
    """The code sits on the person (the astronaut's suit), which the segmentation keeps: it reads back
    from attendees whose background is blurred or replaced."""
    clip = EncodedClip.encode(12, fps=30.0)
    decoder = av.CodecContext.create("libvpx", "r")
    effect = BackgroundEffect.blurred(1.0) if kind == "blur" else BackgroundEffect.solid((0, 200, 0))
    processor = BackgroundProcessor(effect)
    try:
        read = []
        for index, data in enumerate(clip.packets):
            for frame in decoder.decode(av.Packet(data)):
                frame.pts, frame.time_base = index * 3000, fractions.Fraction(1, 90000)
                out = processor.process(frame)
                read.append(read_stamp(out))
                # The effect did change the picture (the corner is background).
                corner_before, corner_after = frame.to_ndarray()[:40, :40], out.to_ndarray()[:40, :40]
                assert np.abs(corner_after.astype(int) - corner_before).mean() > 2
    finally:
        processor.close()
    assert read == list(range(12))
