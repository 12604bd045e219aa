"""The media plane driven only through the media interface, every command, reply and event crossing
its JSON form, with real aiortc attendees on 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import av
import pytest
from media_client import COLOURS, TONES, EventLog, JsonMediaPlane, MediaClient, slate_colour
from PIL import Image
from prometheus_client import CollectorRegistry
from sfu_testing import wait_until

from sfu.interface import (
    AddIceCandidate,
    AddPeer,
    Answered,
    AnswerOffer,
    ClosePeerConnection,
    Command,
    FirstFrame,
    GetStats,
    Load,
    MediaError,
    Ok,
    PeerStateChanged,
    Refused,
    RemovePeer,
    Route,
    SetBackground,
    Stats,
)
from sfu.media_plane import LocalMediaPlane
from sfu.metrics import MediaMetrics
from sfu.video_source import FrameProcessor
from wire import protocol as p

GREEN = (0, 200, 0)
Clients = Callable[..., Awaitable[MediaClient]]


class EffectThreads(MediaMetrics):
    """Media metrics that also record the thread every effect frame ran on."""

    def __init__(self) -> None:
        super().__init__(CollectorRegistry())
        self.threads: set[str] = set()

    def timed(self, processor: FrameProcessor) -> FrameProcessor:
        threads = self.threads

        class Timed:
            def process(self, frame: av.VideoFrame) -> av.VideoFrame:
                threads.add(threading.current_thread().name)
                return processor.process(frame)

        return Timed()


@pytest.fixture
def effect_threads() -> EffectThreads:
    return EffectThreads()


@pytest.fixture
async def plane(tmp_path: Path, effect_threads: EffectThreads) -> AsyncIterator[LocalMediaPlane]:
    def image_path(name: str) -> Path | None:
        path = tmp_path / name
        return path if path.is_file() else None

    local = LocalMediaPlane(ice_servers=[], image_path=image_path, metrics=effect_threads, load_seconds=0.2)
    await local.start()
    try:
        yield local
    finally:
        await local.stop()
        await local.stop()  # safe twice


@pytest.fixture
def media(plane: LocalMediaPlane) -> JsonMediaPlane:
    return JsonMediaPlane(plane)


@pytest.fixture
def events(media: JsonMediaPlane) -> EventLog:
    log = EventLog()
    media.add_listener(log)
    return log


@pytest.fixture
async def clients(media: JsonMediaPlane) -> AsyncIterator[Clients]:
    """`await clients(i)`: peer "p<i>" added and a client sending colour i and tone i connected to it."""
    made: list[MediaClient] = []

    async def make(index: int, *, connect: bool = True) -> MediaClient:
        await ok(media, AddPeer(peer=f"p{index}", label=f"attendee {index}"))
        client = MediaClient(f"c{index}", COLOURS[index], TONES[index], media.answerer(f"p{index}"))
        made.append(client)
        if connect:
            await client.connect()
        return client

    try:
        yield make
    finally:
        for client in made:
            await client.close()


async def ok(media: JsonMediaPlane, command: Command) -> None:
    reply = await media.request(command)
    assert reply == Ok(), f"{command!r} answered {reply!r}"


async def refused(media: JsonMediaPlane, command: Command) -> str:
    reply = await media.request(command)
    assert isinstance(reply, Refused), f"{command!r} answered {reply!r}"
    return reply.code


async def meeting(media: JsonMediaPlane, clients: Clients) -> tuple[MediaClient, MediaClient]:
    """p0 and p1 connected and routed to each other, each seeing the other."""
    a, b = await clients(0), await clients(1)
    await ok(media, Route(peer="p0", to="partner", partner="p1"))
    await ok(media, Route(peer="p1", to="partner", partner="p0"))
    await a.wait_for_colour(COLOURS[1])
    await b.wait_for_colour(COLOURS[0])
    return a, b


def states(events: EventLog, peer: str) -> list[str]:
    return [e.state for e in events.of(PeerStateChanged) if e.peer == peer]


async def test_two_peers_routed_to_each_other_see_and_hear_each_other(
    media: JsonMediaPlane, clients: Clients, events: EventLog
) -> None:
    a, b = await meeting(media, clients)
    await a.wait_for_tone(TONES[1])
    await b.wait_for_tone(TONES[0])
    for peer in ("p0", "p1"):
        await events.wait_for_event(PeerStateChanged(peer=peer, state="connected"))
        for kind in ("audio", "video"):
            await events.wait_for_event(FirstFrame(peer=peer, kind=kind))
    stats = await media.request(GetStats(peers=["p0", "p1", "p1", "nobody"]))
    assert isinstance(stats, Stats)
    assert stats.peer_connections == 2 and stats.video_frames_in > 0 and stats.video_frames_out > 0
    one = await media.request(GetStats(peers=["p0"]))
    assert isinstance(one, Stats) and one.peer_connections == 1
    assert 0 < one.video_frames_in < stats.video_frames_in
    assert await media.request(GetStats()) == Stats()


async def test_the_slate_the_preview_and_a_partner(media: JsonMediaPlane, clients: Clients) -> None:
    a, _ = await clients(0), await clients(1)
    await a.wait_for_colour(slate_colour(), tolerance=20)  # a new peer waits
    await ok(media, Route(peer="p0", to="preview"))
    await a.wait_for_colour(COLOURS[0])
    silent = await a.wait_for_audio(lambda s: s.rms < 50)  # no echo of their own voice
    assert silent.rms < 50
    await ok(media, Route(peer="p0", to="partner", partner="p1"))
    await a.wait_for_colour(COLOURS[1])
    await a.wait_for_tone(TONES[1])
    await ok(media, Route(peer="p0", to="slate"))
    await a.wait_for_colour(slate_colour(), tolerance=20)
    await a.wait_for_audio(lambda s: s.rms < 50)


async def test_a_route_set_before_the_offer_applies_to_the_connection(
    media: JsonMediaPlane, clients: Clients
) -> None:
    await clients(1)
    a = await clients(0, connect=False)
    await ok(media, Route(peer="p0", to="partner", partner="p1"))
    await a.connect()
    await a.wait_for_colour(COLOURS[1])


async def test_a_bad_offer_is_refused_and_media_keeps_flowing(
    media: JsonMediaPlane, plane: LocalMediaPlane, clients: Clients, events: EventLog
) -> None:
    a, b = await meeting(media, clients)
    peer = plane.peer("p0")
    assert peer is not None
    working = peer.pc
    good = await a.offer()
    for sdp in ("v=0\r\nnot an offer\r\n", good[: len(good) // 2]):
        assert await refused(media, AnswerOffer(peer="p0", sdp=sdp)) == "negotiation_failed"
    bad_candidate = p.IceCandidate(candidate="candidate:nonsense", sdpMLineIndex=0)
    assert await refused(media, AddIceCandidate(peer="p0", candidate=bad_candidate)) == "negotiation_failed"
    assert peer.pc is working
    await a.wait_for_colour(COLOURS[1])
    await a.wait_for_tone(TONES[1])
    await b.wait_for_colour(COLOURS[0])
    await b.wait_for_tone(TONES[0])
    assert states(events, "p0") == ["connected"]


async def test_closing_a_peer_connection_by_command_sends_no_event_and_a_new_offer_restores_media(
    media: JsonMediaPlane, clients: Clients, events: EventLog
) -> None:
    a, b = await meeting(media, clients)
    await events.wait_for_event(PeerStateChanged(peer="p0", state="connected"))
    await ok(media, ClosePeerConnection(peer="p0"))
    await ok(media, ClosePeerConnection(peer="p0"))
    stats = await media.request(GetStats(peers=["p0"]))
    assert isinstance(stats, Stats) and stats.peer_connections == 0
    await a.connect()  # the attendee came back: same peer, same route
    await a.wait_for_colour(COLOURS[1])
    await b.wait_for_colour(COLOURS[0])
    await wait_until(lambda: states(events, "p0") == ["connected", "connected"], what="connected again")
    await asyncio.sleep(0.2)
    assert states(events, "p0") == ["connected", "connected"]


async def test_the_attendee_going_away_is_an_event(
    media: JsonMediaPlane, clients: Clients, events: EventLog
) -> None:
    a = await clients(0)
    await a.close()
    event = await events.wait_for(lambda e: isinstance(e, PeerStateChanged) and e.state != "connected")
    assert isinstance(event, PeerStateChanged) and event.peer == "p0" and event.state in ("closed", "failed")


async def test_removing_a_peer_frees_it_and_its_partner_gets_the_slate(
    media: JsonMediaPlane, plane: LocalMediaPlane, clients: Clients, events: EventLog
) -> None:
    a, _ = await meeting(media, clients)
    await ok(media, SetBackground(peer="p1", background=p.BlurBackground()))
    backgrounds = plane.backgrounds
    assert backgrounds is not None and backgrounds.active == 1
    removed = plane.peer("p1")
    assert removed is not None
    pc = removed.pc
    await ok(media, RemovePeer(peer="p1"))
    assert plane.peer("p1") is None and plane.peer_count == 1 and backgrounds.active == 0
    assert removed.closed and removed.pc is None and pc is not None and pc.connectionState == "closed"
    survivor = plane.peer("p0")
    assert survivor is not None and survivor.target == "slate" and survivor.partner is None
    await a.wait_for_colour(slate_colour(), tolerance=20)
    await a.wait_for_audio(lambda s: s.rms < 50)
    assert await refused(media, Route(peer="p1", to="slate")) == "unknown_peer"
    assert await refused(media, Route(peer="p0", to="partner", partner="p1")) == "unknown_peer"
    await ok(media, RemovePeer(peer="p1"))  # unknown peers are fine
    assert await media.request(GetStats(peers=["p1"])) == Stats()
    assert "p1" not in {e.peer for e in events.of(PeerStateChanged) if e.state != "connected"}
    await ok(media, AddPeer(peer="p1"))  # the id is free again


async def test_unknown_peers_and_duplicate_peers_are_refused(media: JsonMediaPlane) -> None:
    await ok(media, AddPeer(peer="p0"))
    assert await refused(media, AddPeer(peer="p0")) == "peer_exists"
    for command in (
        AnswerOffer(peer="nobody", sdp="v=0"),
        AddIceCandidate(peer="nobody"),
        Route(peer="nobody", to="slate"),
        Route(peer="p0", to="partner", partner="nobody"),
        SetBackground(peer="nobody"),
        ClosePeerConnection(peer="nobody"),
    ):
        assert await refused(media, command) == "unknown_peer"
    await ok(media, RemovePeer(peer="nobody"))
    await ok(media, AddIceCandidate(peer="p0"))  # end of candidates, before any offer: nothing to do
    host = "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"
    candidate = p.IceCandidate(candidate=host, sdpMLineIndex=0)
    assert await refused(media, AddIceCandidate(peer="p0", candidate=candidate)) == "negotiation_failed"


async def test_a_colour_background_reaches_the_partner_and_can_be_switched_off(
    media: JsonMediaPlane, clients: Clients, effect_threads: EffectThreads
) -> None:
    _, b = await meeting(media, clients)
    # The test camera shows no person: with a colour background the whole picture becomes it.
    await ok(media, SetBackground(peer="p0", background=p.ColorBackground(rgb=GREEN)))
    await b.wait_for_colour(GREEN)
    # The effect runs on the media plane's own threads, through the media metrics.
    assert effect_threads.threads and all(name.startswith("sfu-effect") for name in effect_threads.threads)
    await ok(media, SetBackground(peer="p0", background=p.BlurBackground(strength=0.7)))
    await b.wait_for_colour(COLOURS[0])
    await ok(media, SetBackground(peer="p0", background=p.NoBackground()))
    await b.wait_for_colour(COLOURS[0])


async def test_image_backgrounds_come_from_the_named_file(
    media: JsonMediaPlane, clients: Clients, tmp_path: Path
) -> None:
    a = await clients(0)
    await ok(media, Route(peer="p0", to="preview"))
    Image.new("RGB", (64, 48), (250, 250, 0)).save(tmp_path / "beach.png", format="PNG")
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    image = p.ImageBackground(asset_id=3)
    for name in (None, "missing.png", "broken.png"):
        command = SetBackground(peer="p0", background=image, image=name)
        assert await refused(media, command) == "background_unavailable"
    await ok(media, SetBackground(peer="p0", background=image, image="beach.png"))
    await a.wait_for_colour((250, 250, 0), tolerance=50)


async def test_a_background_costs_nothing_while_nobody_receives_the_video(
    media: JsonMediaPlane, plane: LocalMediaPlane, clients: Clients
) -> None:
    a = await clients(0)
    await ok(media, SetBackground(peer="p0", background=p.BlurBackground(strength=0.7)))
    peer = plane.peer("p0")
    assert peer is not None and peer.has_effect
    source = peer.video
    await wait_until(lambda: source.frames_in > 10, within=5, what="incoming frames")
    await asyncio.sleep(0.3)
    assert source.frames_processed == 0  # on the slate, no preview: nobody receives this video
    await ok(media, Route(peer="p0", to="preview"))  # the settings panel opens: they watch themselves
    await wait_until(lambda: source.frames_processed > 5, within=10, what="processed frames")
    await a.wait_for_colour(COLOURS[0], tolerance=60)


async def test_with_backgrounds_off_only_no_background_is_taken() -> None:
    plane = LocalMediaPlane(ice_servers=[])
    await plane.start()
    try:
        media = JsonMediaPlane(plane)
        await ok(media, AddPeer(peer="p0"))
        await ok(media, SetBackground(peer="p0", background=p.NoBackground()))
        command = SetBackground(peer="p0", background=p.BlurBackground())
        assert await refused(media, command) == "effects_off"
        assert plane.backgrounds is None
    finally:
        await plane.stop()


async def test_load_is_reported(
    media: JsonMediaPlane, plane: LocalMediaPlane, clients: Clients, events: EventLog
) -> None:
    await meeting(media, clients)
    await ok(media, SetBackground(peer="p0", background=p.BlurBackground()))
    event = await events.wait_for(lambda e: isinstance(e, Load) and e.peers_with_effects == 1, within=5)
    assert isinstance(event, Load)
    assert event.worker == "local" and event.peers == 2 and event.cpu_seconds > 0
    assert 0 < event.loop_busy < 1.5  # one thread: at most a CPU second a second
    assert plane.load().peers == 2


async def test_a_peer_removed_while_its_offer_is_answered_leaves_nothing_open(
    media: JsonMediaPlane, plane: LocalMediaPlane, clients: Clients
) -> None:
    a = await clients(0, connect=False)
    peer = plane.peer("p0")
    assert peer is not None
    sdp = await a.offer()
    # Sent one after the other without waiting: carried out in that order.
    answering = asyncio.create_task(media.request(AnswerOffer(peer="p0", sdp=sdp)))
    removing = asyncio.create_task(media.request(RemovePeer(peer="p0")))
    answered, removed = await asyncio.gather(answering, removing)
    assert isinstance(answered, Answered) and removed == Ok()
    assert peer.closed and peer.pc is None and plane.peer("p0") is None


async def test_a_command_whose_caller_stops_waiting_is_still_carried_out(
    media: JsonMediaPlane, plane: LocalMediaPlane, clients: Clients
) -> None:
    a = await clients(0, connect=False)
    sdp = await a.offer()
    waiting = asyncio.create_task(media.request(AnswerOffer(peer="p0", sdp=sdp)))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    peer = plane.peer("p0")
    assert peer is not None
    await wait_until(lambda: peer.offers_answered == 1, within=5, what="the offer answered")


async def test_a_command_still_running_at_stop_is_answered_with_a_refusal() -> None:
    plane = LocalMediaPlane(ice_servers=[])
    await plane.start()
    media = JsonMediaPlane(plane)
    await ok(media, AddPeer(peer="p0"))
    client = MediaClient("c0", COLOURS[0], TONES[0], media.answerer("p0"))
    try:
        sdp = await client.offer()
        answering = asyncio.create_task(media.request(AnswerOffer(peer="p0", sdp=sdp)))
        await asyncio.sleep(0)  # under way: gathering its candidates
        await plane.stop()
        assert await answering == Refused(code="internal", message="The media plane stopped")
    finally:
        await client.close()
        await plane.stop()


async def test_stop_closes_every_peer_and_refuses_later_commands(tmp_path: Path) -> None:
    plane = LocalMediaPlane(ice_servers=[], image_path=lambda name: None, preload_effects=False)
    assert await plane.request(AddPeer(peer="early")) == Refused(
        code="internal", message="The media plane is not running"
    )
    await plane.start()
    media = JsonMediaPlane(plane)
    await ok(media, AddPeer(peer="p0"))
    client = MediaClient("c0", COLOURS[0], TONES[0], media.answerer("p0"))
    try:
        await client.connect()
        peer = plane.peer("p0")
        assert peer is not None and plane.executor is not None
        await plane.stop()
        assert peer.closed and peer.pc is None and plane.executor is None and plane.peer_count == 0
        reply = await plane.request(AddPeer(peer="p1"))
        assert isinstance(reply, Refused) and reply.code == "internal"
        with pytest.raises(MediaError):
            await media.answerer("p0")("v=0")
    finally:
        await client.close()
        await plane.stop()


async def test_a_video_with_no_effect_is_relayed_and_one_with_an_effect_is_re_encoded(
    media: JsonMediaPlane, plane: LocalMediaPlane, clients: Clients
) -> None:
    _, b = await meeting(media, clients)
    pa, pb = plane.peer("p0"), plane.peer("p1")
    assert pa is not None and pb is not None and pa.video_out is not None and pb.video_out is not None
    to_a, to_b = pa.video_out, pb.video_out
    await wait_until(lambda: to_a.relaying and to_b.relaying, within=5, what="both directions relayed")
    relayed = to_b.frames_relayed
    await wait_until(lambda: to_b.frames_relayed > relayed + 10, within=5, what="relayed frames")
    # Nobody needs the pictures of a video that is only relayed: it is not decoded.
    assert not pa.video.relay.decode and not pb.video.relay.decode

    # A's colour background: B now gets A's processed frames, encoded by the server; A still B's relayed.
    await ok(media, SetBackground(peer="p0", background=p.ColorBackground(rgb=GREEN)))
    await b.wait_for_colour(GREEN)
    assert not to_b.relaying and to_a.relaying and pa.video.relay.decode
    relayed = to_b.frames_relayed
    await b.wait_for_colour(GREEN)
    assert to_b.frames_relayed == relayed

    # Switched off again: back to relaying, and the picture is A's own again.
    await ok(media, SetBackground(peer="p0", background=p.NoBackground()))
    await b.wait_for_colour(COLOURS[0])
    await wait_until(lambda: to_b.relaying, within=5, what="relaying again")


async def test_audio_is_relayed_and_not_decoded_and_silence_follows_when_the_partner_goes(
    media: JsonMediaPlane, plane: LocalMediaPlane, clients: Clients
) -> None:
    _, b = await meeting(media, clients)
    await b.wait_for_tone(TONES[0])
    pa, pb = plane.peer("p0"), plane.peer("p1")
    assert pa is not None and pb is not None and pb.audio_out is not None
    to_b = pb.audio_out
    assert to_b.relaying and not pa.audio.relay.decode
    relayed = to_b.frames_relayed
    await wait_until(lambda: to_b.frames_relayed > relayed + 20, within=5, what="relayed audio")

    # The meeting ends: B's track goes on with silence it encodes itself, on the relayed audio's clock.
    await ok(media, Route(peer="p1", to="slate"))
    silent = await b.wait_for_audio(lambda sample: sample.rms < 50)
    assert silent.rms < 50 and not to_b.relaying
    silence_sent = to_b.silence_frames
    await wait_until(lambda: to_b.silence_frames > silence_sent + 10, within=5, what="silence")

    # And relayed audio again after the silence: the receiver takes both on one clock.
    await clients(2)
    await ok(media, Route(peer="p1", to="partner", partner="p2"))
    await b.wait_for_tone(TONES[2])
    assert to_b.relaying


def test_the_media_plane_loads_nothing_of_the_control_plane() -> None:
    code = (
        "import sys, sfu.media_plane; "
        "loaded = {'web', 'sqlalchemy', 'alembic'} & {name.split('.')[0] for name in sys.modules}; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=Path(__file__).parents[2])
