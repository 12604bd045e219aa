"""The server's VP8 encoder: aiortc's, set up for pictures that were already encoded once.

Everything the server encodes was either decoded from an attendee's stream (then given a background
effect), whose sender's encoder has already removed the camera's noise, or drawn by the server itself
(the slate), which has none. aiortc's encoder is set up for a camera: libvpx's temporal denoiser at its
strongest (`noise-sensitivity` 4) and Chrome's desktop speed (`cpu-used` -6). On such pictures the
denoiser only blurs detail and costs time. Without it, libvpx's faster speed (-12, what Chrome uses on
phones) still gives pictures closer to the input than aiortc's settings do. On decoded 640x480 VP8
frames of the moving astronaut at 1.5 Mbit/s: 46 dB PSNR against the input where aiortc's settings give
43 dB (`tests/sfu/test_vp8_encoder.py`), and decode + encode in 5.4 ms a frame of CPU instead of 7.3
(`python -m bench effects`).
"""

from __future__ import annotations

import multiprocessing

import av
from aiortc.codecs.vpx import Vp8Encoder as AiortcVp8Encoder
from aiortc.codecs.vpx import number_of_threads
from aiortc.mediastreams import VIDEO_TIME_BASE, convert_timebase
from av.frame import Frame
from av.video.codeccontext import VideoCodecContext

# libvpx's temporal denoiser: 0 is off (aiortc uses 4, the strongest).
NOISE_SENSITIVITY = 0
# libvpx's speed for realtime VP8: -16 (fastest) to 16; negative is a fixed speed, none adapted to load.
CPU_USED = -12


class Vp8Encoder(AiortcVp8Encoder):
    """aiortc's VP8 encoder with the denoiser off and a faster speed; bitrate, packetizing and `pack()`
    are aiortc's."""

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        if not isinstance(frame, av.VideoFrame):
            raise TypeError(f"a video frame to encode, not {type(frame).__name__}")
        pts, time_base = frame.pts, frame.time_base
        if pts is None or time_base is None:
            # Refused before the codec sees it: an encoded frame never sent would be the reference
            # of the next one.
            raise ValueError("a frame to encode needs its pts and time_base")
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        codec = self.codec
        if codec is not None and (
            frame.width != codec.width
            or frame.height != codec.height
            # Like aiortc: a new codec (and so a keyframe) only when the bitrate moves by over 10%.
            or abs(self.target_bitrate - (codec.bit_rate or 0)) > 0.1 * (codec.bit_rate or 0)
        ):
            codec = None
        if force_keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        if codec is None:
            codec = self._open(frame.width, frame.height)
            self.codec = codec

        data = b"".join(bytes(packet) for packet in codec.encode(frame))
        payloads = self._packetize(data, self.picture_id)
        timestamp = convert_timebase(pts, time_base, VIDEO_TIME_BASE)
        self.picture_id = (self.picture_id + 1) % (1 << 15)
        return payloads, timestamp

    def _open(self, width: int, height: int) -> VideoCodecContext:
        bitrate = self.target_bitrate
        codec = av.CodecContext.create("libvpx", "w")
        codec.width = width
        codec.height = height
        codec.bit_rate = bitrate
        codec.pix_fmt = "yuv420p"
        codec.gop_size = 3000  # kf_max_dist: keyframes only when asked for (PLI) or a new codec
        codec.qmin = 2
        codec.qmax = 56
        codec.options = {
            # FFmpeg sets rc_buf_sz = bufsize * 1000 / bit_rate: this gives aiortc's 1000 ms.
            "bufsize": str(bitrate),
            "cpu-used": str(CPU_USED),
            "deadline": "realtime",
            "lag-in-frames": "0",
            # minrate = maxrate = bit_rate makes FFmpeg pick CBR.
            "minrate": str(bitrate),
            "maxrate": str(bitrate),
            "noise-sensitivity": str(NOISE_SENSITIVITY),
            "overshoot-pct": "15",
            "partitions": "0",
            "static-thresh": "1",
            "undershoot-pct": "100",
        }
        codec.thread_count = number_of_threads(width * height, multiprocessing.cpu_count())
        return codec
