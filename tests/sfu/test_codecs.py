"""The server's codec wrappers: installed once through rtc.patches, they count and time real aiortc
decodes and encodes, and cap the video bitrate by the frame rate actually sent."""

from __future__ import annotations

import asyncio
import fractions
from typing import Any

import aiortc.rtcrtpreceiver as receiver_module
import aiortc.rtcrtpsender as sender_module
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpCodecParameters
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from aio import cancel_and_wait
from rtc import patches
from sfu.codecs import SERVER_CODECS, FrameStampedEncoder, TimedDecoder, TimedEncoder
from sfu.metrics import MediaMetrics
from sfu.vp8_encoder import Vp8Encoder


def _samples(registry: CollectorRegistry) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def _layers(codec: object) -> list[type]:
    """The types of a codec and of every codec it wraps (other patches may wrap the same factory)."""
    layers = []
    while codec is not None:
        layers.append(type(codec))
        codec = getattr(codec, "_inner", None)
    return layers


def test_installed_once_wrapping_every_codec() -> None:
    timing = patches.install(SERVER_CODECS)
    factories = (receiver_module.get_decoder, sender_module.get_encoder)
    assert patches.install(SERVER_CODECS) is timing
    assert (receiver_module.get_decoder, sender_module.get_encoder) == factories  # not wrapped twice
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
    opus = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48_000, channels=2, payloadType=111)
    assert _layers(receiver_module.get_decoder(vp8)).count(TimedDecoder) == 1
    assert TimedDecoder not in _layers(receiver_module.get_decoder(opus))
    assert _layers(sender_module.get_encoder(vp8))[:2] == [TimedEncoder, Vp8Encoder]
    assert _layers(sender_module.get_encoder(opus)).count(FrameStampedEncoder) == 1


class _NoiseTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._count = 0
        self._rng = np.random.default_rng(0)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await asyncio.sleep(1 / 30)
        picture = self._rng.integers(0, 255, (240 * 3 // 2, 320), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
        frame.pts, frame.time_base = self._count * 3000, fractions.Fraction(1, 90000)
        self._count += 1
        return frame


async def test_codec_timing_counts_real_aiortc_encodes_and_decodes() -> None:
    registry = CollectorRegistry()
    MediaMetrics(registry).register_codecs(patches.install(SERVER_CODECS))
    before = _samples(registry)
    config = RTCConfiguration(iceServers=[])
    sender, receiver = RTCPeerConnection(config), RTCPeerConnection(config)
    track = _NoiseTrack()
    received: list[object] = []
    done = asyncio.Event()

    async def consume(remote: MediaStreamTrack) -> None:
        while len(received) < 10:
            frame = await remote.recv()
            received.append(frame)
        done.set()

    tasks: list[asyncio.Task[None]] = []
    receiver.on("track", lambda remote: tasks.append(asyncio.create_task(consume(remote), name="consume")))
    try:
        sender.addTrack(track)
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        await asyncio.wait_for(done.wait(), 20)
    finally:
        await cancel_and_wait(*tasks)
        await sender.close()
        await receiver.close()
    after = _samples(registry)
    assert (
        after["speedmeet_video_frames_encoded_total"] - before["speedmeet_video_frames_encoded_total"] >= 10
    )
    assert (
        after["speedmeet_video_frames_decoded_total"] - before["speedmeet_video_frames_decoded_total"] >= 10
    )
    assert after["speedmeet_video_encode_seconds_count"] > before["speedmeet_video_encode_seconds_count"]
    assert after["speedmeet_video_decode_seconds_sum"] > before["speedmeet_video_decode_seconds_sum"]
    # Decoding kept up with the stream: frames were decoded within a second of their due time.
    backlog = "speedmeet_video_decode_backlog_seconds"
    decoded = after[f"{backlog}_count"] - before[f"{backlog}_count"]
    assert decoded >= 10
    assert after[f"{backlog}_bucket{{le=1.0}}"] - before[f"{backlog}_bucket{{le=1.0}}"] == decoded


def _frames_at(fps: float, count: int, start: float = 0.0) -> list[av.VideoFrame]:
    frames = []
    for index in range(count):
        frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), index % 256, np.uint8), format="rgb24")
        frame.time_base = fractions.Fraction(1, 90_000)
        frame.pts = round((start + index / fps) * 90_000)
        frames.append(frame.reformat(format="yuv420p"))
    return frames


def test_the_video_bitrate_follows_the_frame_rate_actually_sent() -> None:
    patches.install(SERVER_CODECS)
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
    encoder: Any = sender_module.get_encoder(vp8)
    encoder.target_bitrate = 1_500_000  # what the receiver's estimate allows
    for frame in _frames_at(30, 20):
        encoder.encode(frame)
    assert encoder.target_bitrate == 1_500_000  # 30 fps: all of it
    for frame in _frames_at(20, 40, start=1.0):  # an effect capped at 20 fps
        encoder.encode(frame)
    assert encoder.target_bitrate == 1_000_000  # the same bits per frame
    encoder.target_bitrate = 600_000  # a lower estimate wins
    assert encoder.target_bitrate == 600_000
    encoder.target_bitrate = 1_500_000
    for frame in _frames_at(2, 10, start=10.0):  # the slate: a slideshow, not a frame rate
        encoder.encode(frame)
    assert encoder.target_bitrate == 1_000_000  # unchanged by it
