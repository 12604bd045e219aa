"""The video a synthetic attendee sends: a real person (scikit-image's astronaut) swaying gently.

Rendered once per load test and shared by every peer. Two forms:

* `render_clip()`: raw I420 pictures, for peers whose frames aiortc encodes live (costly: one VP8 encode
  per frame per peer);
* `EncodedClip`: the same pictures encoded to VP8 once, each stamped with its own index (see
  `loadtest.stamp`). Peers send these packets as they are (aiortc's `RTCRtpSender` packetizes
  `av.Packet`s without encoding), so a peer costs the load generator almost nothing. The receiver reads
  the index back and looks up when that packet was sent (`SendLog`).

The clip loops: the sway goes there and back, so the loop has no jump, and frame 0 is a keyframe.
"""

from __future__ import annotations

import fractions
import functools
import math
from dataclasses import dataclass

import av
import numpy as np

from loadtest.stamp import stamp_i420

DEFAULT_WIDTH = 640
DEFAULT_HEIGHT = 480


class ClipError(Exception):
    """The clip cannot be made (bad size, missing scikit-image)."""


@functools.cache
def _astronaut(side: int) -> np.ndarray:
    try:
        from skimage import data
    except ImportError as exc:  # the loadtest extra has scikit-image; the server does not need it
        raise ClipError(
            "the load tester's video needs scikit-image (pip install 'speedmeet[loadtest]')"
        ) from exc
    from PIL import Image

    image = Image.fromarray(data.astronaut()).resize((side, side), Image.Resampling.LANCZOS)
    return np.asarray(image)


def astronaut_rgb(
    index: int, frames: int, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT
) -> np.ndarray:
    """Frame `index` of a `frames`-long loop: a `width` x `height` window on the astronaut, swaying
    sideways and nodding a little (RGB uint8)."""
    if width % 2 or height % 2 or width < 64 or height < 48:
        raise ClipError(f"clip size must be even and at least 64x48, got {width}x{height}")
    # The square picture, scaled so the window fits with room to move (as 680 does for 640x480).
    side = int(max(width * 680 / 640, height * 680 / 480))
    phase = 2 * math.pi * index / frames
    x0 = round(width * 20 / 640 + width * 18 / 640 * math.sin(phase))
    y0 = round(height * 40 / 480 + height * 8 / 480 * math.sin(2 * phase))
    return np.ascontiguousarray(_astronaut(side)[y0 : y0 + height, x0 : x0 + width])


def render_clip(frames: int, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT) -> list[np.ndarray]:
    """The clip as I420 arrays ((height * 3 / 2, width) uint8, as `VideoFrame.to_ndarray()` gives)."""
    out = []
    for i in range(frames):
        rgb = av.VideoFrame.from_ndarray(astronaut_rgb(i, frames, width, height), format="rgb24")
        out.append(rgb.reformat(format="yuv420p").to_ndarray())
    return out


@dataclass(frozen=True)
class EncodedClip:
    """VP8 packets of the clip, frame `i` stamped with payload `i`; `packets[0]` is a keyframe.

    `intra[i]` is frame `i` encoded as a keyframe on its own. When the receiver asks for a keyframe (it
    lost a packet), the sender switches to these until the chain's next regular keyframe, so it recovers
    at once, as from a browser (whose encoder answers such requests).
    """

    packets: tuple[bytes, ...]
    keyframes: tuple[bool, ...]
    intra: tuple[bytes, ...]
    width: int
    height: int
    fps: float
    bitrate: int

    def __len__(self) -> int:
        return len(self.packets)

    @property
    def loop_seconds(self) -> float:
        return len(self.packets) / self.fps

    @classmethod
    def encode(
        cls,
        frames: int,
        *,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        fps: float = 30.0,
        bitrate: int = 600_000,
        keyframe_interval: int | None = None,
    ) -> EncodedClip:
        """Render and encode the clip (blocking: about 5 ms a frame at 640x480; run it in a thread).

        A keyframe every `keyframe_interval` frames (default: every 2 s) lets a receiver that lost a
        packet recover: pre-encoded frames cannot answer a keyframe request.
        """
        if frames < 2:
            raise ClipError(f"a clip needs at least 2 frames, got {frames}")
        interval = keyframe_interval or max(1, round(2 * fps))
        encoder = _vp8_encoder(width, height, bitrate, interval)
        # Keyframes for requests: a separate encoder so the main chain's rate control is undisturbed.
        intra_encoder = _vp8_encoder(width, height, bitrate, 1)
        packets: list[bytes] = []
        keyframes: list[bool] = []
        intra: list[bytes] = []
        for i, picture in enumerate(render_clip(frames, width, height)):
            stamp_i420(picture, width, height, i)
            frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
            frame.pts = round(i * 1000 / fps)
            if i % interval == 0:
                frame.pict_type = av.video.frame.PictureType.I
            for packet in encoder.encode(frame):
                packets.append(bytes(packet))
                keyframes.append(bool(packet.is_keyframe))
            key = av.VideoFrame.from_ndarray(picture, format="yuv420p")
            key.pts = frame.pts
            key.pict_type = av.video.frame.PictureType.I
            intra.append(b"".join(bytes(packet) for packet in intra_encoder.encode(key)))
        for packet in encoder.encode(None):
            packets.append(bytes(packet))
            keyframes.append(bool(packet.is_keyframe))
        if len(packets) != frames or not keyframes[0] or not all(intra):
            raise ClipError(f"the VP8 encoder gave {len(packets)} packets for {frames} frames")
        return cls(tuple(packets), tuple(keyframes), tuple(intra), width, height, fps, bitrate)


def _vp8_encoder(width: int, height: int, bitrate: int, keyframe_interval: int) -> av.VideoCodecContext:
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width = width
    encoder.height = height
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = fractions.Fraction(1, 1000)
    encoder.bit_rate = bitrate
    encoder.gop_size = keyframe_interval
    encoder.options = {
        "deadline": "good",
        "cpu-used": "4",
        "lag-in-frames": "0",  # one packet out per frame in, no reordering
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "bufsize": str(bitrate),
    }
    return encoder


def encoded_opus_loop(
    seconds: float = 1.0, frequency: float = 330.0, amplitude: int = 3000
) -> tuple[bytes, ...]:
    """Opus packets (20 ms, 48 kHz stereo) of a quiet tone that loops without a click."""
    rate, samples = 48_000, 960
    count = max(1, round(seconds * rate / samples))
    # A whole number of periods per loop, so the end meets the start.
    cycles = max(1, round(frequency * count * samples / rate))
    t = np.arange(count * samples) / (count * samples)
    mono = (amplitude * np.sin(2 * np.pi * cycles * t)).astype(np.int16)
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = rate
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.time_base = fractions.Fraction(1, rate)
    packets: list[bytes] = []
    # Encode the loop twice and keep the second pass: the encoder's start-up delay is over by then.
    for lap in range(2):
        for i in range(count):
            chunk = mono[i * samples : (i + 1) * samples]
            frame = av.AudioFrame.from_ndarray(
                np.repeat(chunk, 2).reshape(1, -1), format="s16", layout="stereo"
            )
            frame.sample_rate = rate
            frame.pts = (lap * count + i) * samples
            for packet in encoder.encode(frame):
                packets.append(bytes(packet))
    return tuple(packets[-count:])
