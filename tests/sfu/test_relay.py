"""The relay: encoded VP8 forwarded from a keyframe on, decoding only while someone needs pictures, and
Opus forwarded frame by frame. (Through the media plane, with real peers: tests/sfu/test_media_plane.py.)"""

from __future__ import annotations

import fractions
import types

import av
import numpy as np
import pytest
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload

from sfu.relay import Relay, is_vp8_keyframe, relay_packet
from sfu.switchable_track import opus_samples

VP8 = types.SimpleNamespace(name="VP8")
H264 = types.SimpleNamespace(name="H264")


def vp8_frames(count: int) -> list[bytes]:
    """`count` real VP8 frames of a moving picture: a keyframe, then inter frames."""
    encoder = Vp8Encoder()
    frames = []
    for index in range(count):
        picture = np.full((240, 320, 3), 60, np.uint8)
        picture[:, index * 8 : index * 8 + 40] = 220
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = index * 3000, fractions.Fraction(1, 90_000)
        payloads, _ = encoder.encode(frame)
        frames.append(b"".join(vp8_depayload(payload) for payload in payloads))
    return frames


FRAMES = vp8_frames(8)
KEY, INTER = FRAMES[0], FRAMES[1:]


def encoded(data: bytes) -> types.SimpleNamespace:
    return types.SimpleNamespace(data=data, timestamp=0)


def test_keyframes_are_told_apart_from_inter_frames() -> None:
    assert is_vp8_keyframe(KEY)
    assert not any(is_vp8_keyframe(frame) for frame in INTER)
    assert not is_vp8_keyframe(b"")


async def test_a_subscription_starts_at_a_keyframe_and_keeps_every_frame_in_order() -> None:
    relay = Relay("r")
    subscription = relay.subscribe()
    relay.push(INTER[0])  # joined mid-stream: useless without the keyframe before it
    assert not subscription.synced and subscription.pop() is None
    waiter = subscription.changed()
    relay.push(KEY)
    assert waiter.done() and subscription.synced
    for frame in INTER[1:4]:
        relay.push(frame)
    assert [subscription.pop() for _ in range(5)] == [KEY, *INTER[1:4], None]
    await relay.close()


async def test_a_receiver_that_falls_behind_drops_its_backlog_and_restarts_at_a_keyframe() -> None:
    relay = Relay("r", max_backlog=3)
    subscription = relay.subscribe()
    for frame in [KEY, *INTER[:4]]:  # the fourth frame finds three waiting
        relay.push(frame)
    assert subscription.resyncs == 1 and not subscription.synced and subscription.pop() is None
    relay.push(INTER[4])
    assert subscription.pop() is None  # still waiting for a keyframe
    relay.push(KEY)
    relay.push(INTER[5])
    assert [subscription.pop(), subscription.pop(), subscription.pop()] == [KEY, INTER[5], None]
    await relay.close()


async def test_closing_ends_every_subscription_and_is_safe_twice() -> None:
    relay = Relay("r")
    first, second = relay.subscribe(), relay.subscribe()
    second.close()
    second.close()
    assert relay.subscriptions == 1
    waiter = first.changed()
    await relay.close()
    await relay.close()
    assert first.closed and waiter.done() and relay.subscriptions == 0
    relay.push(KEY)
    assert first.pop() is None


async def test_frames_reach_the_decoder_only_while_decoding_is_wanted_and_from_a_keyframe() -> None:
    relay = Relay("r")
    subscription = relay.subscribe()
    decoder_queue = relay.decoder_queue()

    relay.decode = False
    for frame in [KEY, INTER[0]]:
        decoder_queue.put((VP8, encoded(frame)))
    assert decoder_queue.qsize() == 0  # nobody needs pictures: not decoded
    assert [subscription.pop(), subscription.pop()] == [KEY, INTER[0]]  # but relayed

    relay.decode = True  # an effect came on: decoding restarts at the next keyframe
    decoder_queue.put((VP8, encoded(INTER[1])))
    assert decoder_queue.qsize() == 0
    decoder_queue.put((VP8, encoded(KEY)))
    decoder_queue.put((VP8, encoded(INTER[2])))
    assert [decoder_queue.get()[1].data for _ in range(2)] == [KEY, INTER[2]]

    # Other codecs cannot be relayed: always decoded, as aiortc would. The end marker always passes.
    relay.decode = False
    decoder_queue.put((H264, encoded(b"\x00\x00\x01")))
    decoder_queue.put(None)
    assert decoder_queue.get()[0] is H264 and decoder_queue.get() is None
    await relay.close()


async def test_every_complete_frame_is_reported_whatever_its_codec_and_whether_decoded_or_not() -> None:
    relay = Relay("r")
    relay.decode = False
    seen: list[int] = []
    decoder_queue = relay.decoder_queue(on_frame=lambda: seen.append(relay.frames_in))
    for codec, frame in [(VP8, KEY), (H264, b"\x00\x00\x01"), (VP8, INTER[0])]:
        decoder_queue.put((codec, encoded(frame)))
    decoder_queue.put(None)  # the end marker is no frame
    assert seen == [0, 1, 1]  # each reported before it is relayed; the H.264 one is not relayed
    assert relay.frames_in == 2
    await relay.close()


async def test_a_decoder_that_falls_behind_gets_a_fresh_start_at_a_keyframe_not_a_growing_queue() -> None:
    relay = Relay("r", max_decode_backlog=3)
    decoder_queue = relay.decoder_queue()
    for frame in [KEY, *INTER[:2]]:
        decoder_queue.put((VP8, encoded(frame)))
    assert decoder_queue.qsize() == 3  # the decoder thread is busy elsewhere
    decoder_queue.put((VP8, encoded(INTER[2])))  # a fourth would only add delay
    assert decoder_queue.qsize() == 0 and relay.decode_backlog_drops == 1
    decoder_queue.put((VP8, encoded(INTER[3])))
    assert decoder_queue.qsize() == 0  # useless without its keyframe
    decoder_queue.put((VP8, encoded(KEY)))
    decoder_queue.put((VP8, encoded(INTER[4])))
    assert [decoder_queue.get()[1].data for _ in range(2)] == [KEY, INTER[4]]
    await relay.close()


def test_relayed_packets_carry_the_frame_and_a_90_khz_timestamp() -> None:
    packet = relay_packet(KEY, 4500)
    assert bytes(packet) == KEY and packet.pts == 4500 and packet.time_base == fractions.Fraction(1, 90_000)


def opus_packets(milliseconds: int, count: int) -> list[bytes]:
    """Real Opus packets of a tone, `milliseconds` each."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.format, codec.layout = 48000, "s16", "stereo"
    codec.options = {"frame_duration": str(milliseconds)}
    samples = 48 * milliseconds
    packets: list[bytes] = []
    index = 0
    while len(packets) < count:
        t = (np.arange(samples) + index * samples) / 48000
        tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts = 48000, index * samples
        packets += [bytes(packet) for packet in codec.encode(frame)]
        index += 1
    return packets[:count]


@pytest.mark.parametrize("milliseconds", [10, 20, 40, 60])
def test_opus_packet_durations_come_from_the_toc_byte(milliseconds: int) -> None:
    assert {opus_samples(packet) for packet in opus_packets(milliseconds, 3)} == {48 * milliseconds}


async def test_audio_relay_joins_anywhere_and_a_slow_receiver_loses_only_the_oldest_frames() -> None:
    relay = Relay("a", "opus", max_backlog=3)
    subscription = relay.subscribe()
    packets = opus_packets(20, 5)
    for packet in packets:
        relay.push(packet)
    assert subscription.synced and subscription.dropped == 2 and relay.keyframe_requests == 0
    assert [subscription.pop() for _ in range(4)] == [*packets[2:], None]
    await relay.close()


def test_only_known_codecs_are_relayed() -> None:
    with pytest.raises(ValueError, match="cannot relay 'h264'"):
        Relay("x", "h264")
