"""One attendee's media: offers answered on a new peer connection (a bad one changes nothing), the route
applied to every connection, and events only for the current connection. Real aiortc peers on
127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from media_client import COLOURS, TONES, EventLog, MediaClient, slate_colour
from sfu_testing import wait_until

from rtc import patches
from rtc.peer_connection import close_peer_connection
from sfu.codecs import SERVER_CODECS
from sfu.errors import NegotiationFailed
from sfu.interface import FirstFrame, PeerStateChanged
from sfu.peer import MediaPeer, PeerClosed
from sfu.slate import Slate
from wire.protocol import IceCandidate, NoBackground

Pair = tuple[MediaPeer, MediaPeer, MediaClient, MediaClient]


@pytest.fixture
def events() -> EventLog:
    return EventLog()


@pytest.fixture
async def make(events: EventLog) -> AsyncIterator[Callable[[int], tuple[MediaPeer, MediaClient]]]:
    """`make(i)`: peer "p<i>" and its (not yet connected) client sending colour i and tone i."""
    patches.install(SERVER_CODECS)
    slate = Slate()
    made: list[tuple[MediaPeer, MediaClient]] = []

    def factory(index: int) -> tuple[MediaPeer, MediaClient]:
        peer = MediaPeer(f"p{index}", slate=slate, on_event=events)
        client = MediaClient(f"c{index}", COLOURS[index], TONES[index], peer.answer)
        made.append((peer, client))
        return peer, client

    try:
        yield factory
    finally:
        for peer, client in made:
            await client.close()
            await peer.close()


@pytest.fixture
async def pair(make: Callable[[int], tuple[MediaPeer, MediaClient]]) -> Pair:
    """Two connected peers, each routed to the other, media flowing both ways."""
    (a, ca), (b, cb) = make(0), make(1)
    await ca.connect()
    await cb.connect()
    a.route("partner", b)
    b.route("partner", a)
    await ca.wait_for_colour(COLOURS[1])
    await cb.wait_for_colour(COLOURS[0])
    return a, b, ca, cb


def states(events: EventLog, peer: str) -> list[str]:
    return [e.state for e in events.of(PeerStateChanged) if e.peer == peer]


async def test_a_new_peer_gets_the_slate_and_silence_then_its_partner(
    make: Callable[[int], tuple[MediaPeer, MediaClient]], events: EventLog
) -> None:
    (a, ca), (b, cb) = make(0), make(1)
    await ca.connect()
    await cb.connect()
    assert a.target == "slate"
    await ca.wait_for_colour(slate_colour(), tolerance=20)
    silent = await ca.wait_for_audio(lambda s: s.rms < 50)
    assert silent.rms < 50

    a.route("partner", b)
    await ca.wait_for_colour(COLOURS[1])
    await ca.wait_for_tone(TONES[1])
    assert b.video_out is not None and b.video_out.source is None  # b still waits: the slate
    await cb.wait_for_colour(slate_colour(), tolerance=20)

    await events.wait_for_event(PeerStateChanged(peer="p0", state="connected"))
    for kind in ("audio", "video"):
        await events.wait_for_event(FirstFrame(peer="p0", kind=kind))
    assert a.video_frames_in > 0 and a.video_frames_out > 0


async def test_preview_sends_the_attendees_own_video_and_none_of_their_voice(pair: Pair) -> None:
    a, _, ca, _ = pair
    a.route("preview")
    await ca.wait_for_colour(COLOURS[0])
    silent = await ca.wait_for_audio(lambda s: s.rms < 50)
    assert silent.rms < 50 and a.audio_out is not None and a.audio_out.source is None
    a.route("slate")
    await ca.wait_for_colour(slate_colour(), tolerance=20)


async def test_a_bad_offer_leaves_the_working_connection_and_its_media_flowing(
    pair: Pair, events: EventLog
) -> None:
    a, _, ca, cb = pair
    working = a.pc
    good = await ca.offer()
    no_media = "\r\n".join(line for line in good.split("\r\n") if not line.startswith("m=")) + "\r\n"
    for sdp in ("v=0\r\nthis is not an offer\r\n", good[: len(good) // 2], no_media):
        with pytest.raises(NegotiationFailed):
            await a.answer(sdp)
        assert a.pc is working and a.connected
    # Media still flows both ways, on the same connection.
    await ca.wait_for_colour(COLOURS[1])
    await ca.wait_for_tone(TONES[1])
    await cb.wait_for_colour(COLOURS[0])
    await cb.wait_for_tone(TONES[0])
    assert a.pc is working and a.offers_answered == 1
    assert states(events, "p0") == ["connected"]


async def test_a_new_offer_replaces_the_connection_without_an_event_and_keeps_the_route(
    pair: Pair, events: EventLog
) -> None:
    a, _, ca, cb = pair
    first = a.pc
    sent_before = a.video_frames_out
    await ca.connect()  # the page renegotiates (a network change): a new peer connection
    assert a.pc is not first and a.offers_answered == 2
    await wait_until(lambda: a.connected, what="the new connection up")
    assert first is not None and first.connectionState == "closed"
    await ca.wait_for_colour(COLOURS[1])  # the route applies to the new connection at once
    await cb.wait_for_colour(COLOURS[0])  # the partner gets the new connection's video
    await wait_until(
        lambda: len([e for e in events.of(FirstFrame) if e.peer == "p0"]) == 4, what="first frames again"
    )
    assert states(events, "p0") == ["connected", "connected"]  # the replaced one said nothing
    assert a.video_frames_out >= sent_before


async def test_closing_by_command_says_nothing_and_keeps_sources_route_and_background(
    pair: Pair, events: EventLog
) -> None:
    a, b, ca, cb = pair
    pc = a.pc
    await a.close_pc()
    await a.close_pc()  # safe twice
    assert a.pc is None and not a.connected and pc is not None and pc.connectionState == "closed"
    # The partner still receives a's sources (the last picture, then whatever comes next).
    assert a.target == "partner" and a.partner is b
    assert b.video_out is not None and b.video_out.source is a.video
    await ca.connect()
    await ca.wait_for_colour(COLOURS[1])
    await cb.wait_for_colour(COLOURS[0])
    assert states(events, "p0") == ["connected", "connected"]


async def test_the_attendee_closing_their_side_is_reported(pair: Pair, events: EventLog) -> None:
    a, _, ca, _ = pair
    assert ca.pc is not None
    await close_peer_connection(ca.pc)
    await events.wait_for(lambda e: isinstance(e, PeerStateChanged) and e.state != "connected")
    assert states(events, "p0")[-1] in ("closed", "failed") and not a.connected
    assert a.pc is not None  # the control plane decides what happens next


async def test_ice_candidates_need_a_connection_and_must_parse(
    make: Callable[[int], tuple[MediaPeer, MediaClient]],
) -> None:
    a, ca = make(0)
    host = IceCandidate(candidate="candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host", sdpMLineIndex=0)
    with pytest.raises(NegotiationFailed, match="send an offer first"):
        await a.add_ice_candidate(host)
    await a.add_ice_candidate(None)  # end of candidates: nothing to do
    await ca.connect()
    with pytest.raises(NegotiationFailed, match="malformed ICE candidate"):
        await a.add_ice_candidate(IceCandidate(candidate="candidate:garbage", sdpMLineIndex=0))
    await a.add_ice_candidate(IceCandidate(candidate="", sdpMLineIndex=0))
    await a.add_ice_candidate(host)  # a well-formed one is taken (even one that leads nowhere)
    await wait_until(lambda: a.connected, what="connected")


async def test_route_rules_and_a_closed_peer_takes_no_commands(
    make: Callable[[int], tuple[MediaPeer, MediaClient]],
) -> None:
    (a, ca), (b, _) = make(0), make(1)
    with pytest.raises(ValueError, match="partner is named"):
        a.route("partner")
    with pytest.raises(ValueError, match="partner is named"):
        a.route("slate", b)
    with pytest.raises(ValueError, match="itself"):
        a.route("partner", a)
    a.route("partner", b)
    await a.close()
    await a.close()  # safe twice
    assert a.closed and a.partner is None and a.pc is None
    with pytest.raises(PeerClosed):
        a.route("slate")
    with pytest.raises(PeerClosed):
        await a.answer(await ca.offer())
    with pytest.raises(PeerClosed):
        a.set_processor(None, NoBackground())
