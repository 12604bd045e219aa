"""The load tester's media pieces: the pre-encoded clip, send logs, tracks, the receive probe, profiles."""

from __future__ import annotations

import asyncio
import time

import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rtc import patches
from sfu.loadtest.arrival import ARRIVAL_STAMPS, arrival
from sfu.loadtest.clip import ClipError, EncodedClip, astronaut_rgb, encoded_opus_loop
from sfu.loadtest.media import LoadMedia, VideoMode
from sfu.loadtest.probe import MAX_LATENCY_SECONDS, PartnerFeed, VideoProbe
from sfu.loadtest.profile import Profile, ProfileError
from sfu.loadtest.report import percentile, steady_rate
from sfu.loadtest.stamp import read_stamp
from sfu.loadtest.tracks import EncodedAudioTrack, EncodedVideoTrack, LiveVideoTrack, SendLog


@pytest.fixture(scope="module")
def clip() -> EncodedClip:
    return EncodedClip.encode(12, width=320, height=240, fps=30.0, bitrate=300_000, keyframe_interval=6)


def _decode(packets: list[bytes]) -> list[av.VideoFrame]:
    decoder = av.CodecContext.create("libvpx", "r")
    frames: list[av.VideoFrame] = []
    for data in packets:
        frames.extend(f for f in decoder.decode(av.Packet(data)) if isinstance(f, av.VideoFrame))
    return frames


def test_encoded_clip_frames_carry_their_index(clip: EncodedClip) -> None:
    assert len(clip) == 12 and clip.keyframes[0] and clip.keyframes[6]
    assert not clip.keyframes[1]
    frames = _decode(list(clip.packets) * 2)  # the loop plays on without a break
    assert [read_stamp(f) for f in frames] == list(range(12)) * 2
    assert (frames[0].width, frames[0].height) == (320, 240)
    # A real person: the astronaut's orange suit around the code, not a flat test card.
    rgb = frames[3].to_ndarray(format="rgb24")
    assert rgb.std() > 30
    # Each frame also exists as a keyframe on its own, for a receiver that asks for one.
    assert len(clip.intra) == 12
    for index in (3, 7):
        assert [read_stamp(f) for f in _decode([clip.intra[index]])] == [index]
    # Stand-alone keyframes until the chain's next keyframe, then the chain: all decode.
    assert [read_stamp(f) for f in _decode([*clip.intra[3:6], *clip.packets[6:9]])] == list(range(3, 9))


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


def test_send_log_keeps_the_latest_send_of_each_payload() -> None:
    log = SendLog(4, base=100)
    log.record(1, 10.0)
    log.record(5, 11.0)  # same slot as 1: replaces it
    assert log.lookup(1) is None and log.lookup(5) == 11.0 and log.lookup(2) is None
    assert log.count == 2 and log.base == 100


async def test_tracks_pace_and_log_what_they_send(clip: EncodedClip) -> None:
    log = SendLog(len(clip))
    video = EncodedVideoTrack(clip, log, fps=50.0)
    started = time.monotonic()
    packets = [await video.recv() for _ in range(6)]
    elapsed = time.monotonic() - started
    assert 0.08 <= elapsed < 1.0  # five frame intervals at 50 fps
    assert [bytes(p) for p in packets] == list(clip.packets[:6])
    # Presentation times follow the real sending times (as a camera's do): 1800 ticks a frame at 50 fps.
    pts = [p.pts for p in packets]
    assert pts[0] == 0 and pts == sorted(set(pts))
    assert abs(pts[5] - 5 * 1800) < 0.5 * 90000
    assert log.count == 6 and log.lookup(5) is not None
    # A keyframe request (PLI) through aiortc's sender: the next frame is the intra version.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        sender = pc.addTrack(video)
        video.hook(sender)
        assert bytes(await video.recv()) == clip.packets[6]  # a regular keyframe
        sender._send_keyframe()
        # Stand-alone keyframes until the chain comes round to its next keyframe (frame 0).
        assert [bytes(await video.recv()) for _ in range(5)] == list(clip.intra[7:12])
        assert bytes(await video.recv()) == clip.packets[0]
        assert bytes(await video.recv()) == clip.packets[1]
        assert video.keyframes_on_request == 1
    finally:
        await pc.close()
    video.stop()
    with pytest.raises(MediaStreamError):
        await video.recv()

    pictures = [np.full((240 * 3 // 2, 320), 128, np.uint8)]
    live_log = SendLog(64, base=7)
    live = LiveVideoTrack(pictures, 320, 240, 50.0, live_log)
    frames = [await live.recv() for _ in range(3)]
    assert [read_stamp(f) for f in frames] == [7, 8, 9]
    assert live_log.lookup(9) is not None
    live.stop()

    audio = EncodedAudioTrack(encoded_opus_loop(seconds=0.1))
    first, second = await audio.recv(), await audio.recv()
    assert (first.pts, second.pts) == (0, 960)
    audio.stop()


async def test_probe_measures_latency_and_frames_from_the_partner(clip: EncodedClip) -> None:
    log = SendLog(len(clip))
    feed = PartnerFeed(log, lambda: log.count, effects=True)
    probe = VideoProbe("receiver")
    frames = _decode(list(clip.packets))
    probe.on_frame(frames[0], time.monotonic())  # before the meeting: the slate, not counted
    assert probe.current is None and not probe.latencies
    ready = time.monotonic()
    record = probe.meeting_started("m-1", 17, feed, both_ready_at=ready)
    for index, frame in enumerate(frames[:8]):
        log.record(index, time.monotonic())
        await asyncio.sleep(0.01)
        probe.on_frame(frame, time.monotonic())
    plain = av.VideoFrame.from_ndarray(np.zeros((240 * 3 // 2, 320), np.uint8), format="yuv420p")
    probe.on_frame(plain, time.monotonic())  # no code: delivered but unreadable
    probe.meeting_ended("timeout")
    assert record.frames == 9 and record.stamped == 8 and probe.unreadable == 1
    assert record.end_reason == "timeout" and record.partner_effects
    assert record.ready_to_first_frame is not None and 0 < record.ready_to_first_frame < 1
    assert all(0.005 < s.seconds < MAX_LATENCY_SECONDS for s in probe.latencies)
    assert len(probe.latencies) == 8 and record.frames_lost == 0
    probe.on_frame(frames[1], time.monotonic())  # after the meeting: not counted
    assert len(probe.latencies) == 8


def test_media_bundle_builds_both_modes() -> None:
    encoded = LoadMedia.build(VideoMode.encoded, 160, 120, 10.0, 150_000)
    assert encoded.clip is not None and len(encoded.clip) == 60 and not encoded.pictures
    assert isinstance(encoded.video_track(encoded.send_log()), EncodedVideoTrack)
    live = LoadMedia.build(VideoMode.live, 160, 120, 10.0)
    assert live.clip is None and len(live.pictures) == 60
    assert isinstance(live.video_track(live.send_log()), LiveVideoTrack)


def test_profiles_are_validated() -> None:
    assert Profile.steady().drop == 0 and Profile.steady().leave_early == 0
    with pytest.raises(ProfileError):
        Profile(extend=1.5)
    with pytest.raises(ProfileError):
        Profile(think_seconds=(2.0, 1.0))
    assert Profile(leave_seconds=(1.0, 2.0)).to_json()["leave_seconds"] == (1.0, 2.0)


def test_report_helpers() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0

    class Sample:
        def __init__(self, cpu: float | None, attendee_seconds: float) -> None:
            self.server_cpu_seconds, self.attendee_seconds = cpu, attendee_seconds

    samples = [Sample(1.0, 4.0), Sample(None, 4.0), Sample(3.0, 4.0)]
    assert steady_rate(samples, "server_cpu_seconds") == 0.5


async def test_decoded_frames_carry_their_decode_time(clip: EncodedClip) -> None:
    patches.install(ARRIVAL_STAMPS)
    patches.install(ARRIVAL_STAMPS)  # idempotent
    config = RTCConfiguration(iceServers=[])
    sender, receiver = RTCPeerConnection(config), RTCPeerConnection(config)
    got: list[tuple[av.VideoFrame, float]] = []
    done = asyncio.Event()

    async def consume(track: MediaStreamTrack) -> None:
        while len(got) < 5:
            frame = await track.recv()
            if isinstance(frame, av.VideoFrame):
                got.append((frame, time.monotonic()))
        done.set()

    tasks: list[asyncio.Task[None]] = []
    receiver.on("track", lambda t: tasks.append(asyncio.create_task(consume(t), name="consume-video")))
    try:
        sender.addTrack(EncodedVideoTrack(clip, fps=30.0))
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        await asyncio.wait_for(done.wait(), 20)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await sender.close()
        await receiver.close()
    for frame, received in got:
        assert isinstance(frame.opaque, float) and frame.opaque <= received
        assert arrival(frame, 0.0) == frame.opaque
        assert read_stamp(frame) in range(len(clip))
    unstamped = av.VideoFrame.from_ndarray(np.zeros((24, 16), np.uint8), format="yuv420p")
    assert arrival(unstamped, 7.5) == 7.5
