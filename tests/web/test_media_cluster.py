"""The media workers on the bus as one media plane: placement by session, commands to the peer's worker,
refusals when no worker has room, and a lost worker's peers reported failed. Workers here serve the
recording stand-in over a real NATS server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from nats.aio.client import Client

from sfu import interface as mi
from sfu.bus.serve import MediaServer, serve_media_plane
from tests.web.room.media_stand_in import RecordingMediaPlane
from web.media_cluster import MediaCluster, session_key
from web.placement import Placement, PlacementSettings

NatsClients = Callable[[], Awaitable[Client]]


@pytest.fixture
async def cluster(nats_clients: NatsClients) -> AsyncIterator[MediaCluster]:
    made = MediaCluster(await nats_clients(), Placement(PlacementSettings(max_peers=3)), timeout=2.0)
    await made.start()
    try:
        yield made
    finally:
        await made.stop()


async def worker(nats_clients: NatsClients, name: str) -> tuple[RecordingMediaPlane, MediaServer]:
    plane = RecordingMediaPlane()
    return plane, await serve_media_plane(await nats_clients(), plane, name)


def test_peers_are_placed_by_their_session() -> None:
    assert session_key("s12-t345") == session_key("s12-t9") == "s12"
    assert session_key("s12-t345") != session_key("s1-t345")


async def test_a_sessions_attendees_share_a_worker_and_commands_reach_it(
    cluster: MediaCluster, nats_clients: NatsClients
) -> None:
    one, server_one = await worker(nats_clients, "w1")
    two, server_two = await worker(nats_clients, "w2")
    assert await cluster.wait_for_workers(2, 5)
    for peer in ("s1-t1", "s1-t2", "s2-t3"):
        assert isinstance(await cluster.request(mi.AddPeer(peer=peer)), mi.Ok)
    holders = {peer: ("w1" if peer in one.peers else "w2") for peer in ("s1-t1", "s1-t2", "s2-t3")}
    assert holders["s1-t1"] == holders["s1-t2"] != holders["s2-t3"]  # two sessions, two workers
    reply = await cluster.request(mi.Route(peer="s1-t1", to="partner", partner="s1-t2"))
    assert isinstance(reply, mi.Ok)
    answered = await cluster.request(mi.AnswerOffer(peer="s2-t3", sdp="v=0"))
    assert answered == mi.Answered(sdp="answer to v=0")
    stats = await cluster.request(mi.GetStats(peers=["s1-t1", "s1-t2", "s2-t3", "s9-t9"]))
    assert stats == mi.Stats(peer_connections=3, video_frames_in=20, video_frames_out=40)
    unknown = await cluster.request(mi.AnswerOffer(peer="s9-t9", sdp="v=0"))
    assert isinstance(unknown, mi.Refused) and unknown.code == "unknown_peer"
    assert isinstance(await cluster.request(mi.RemovePeer(peer="s2-t3")), mi.Ok)
    assert "s2-t3" not in one.peers | two.peers
    await server_one.stop()
    await server_two.stop()


async def test_no_worker_with_room_is_a_plain_refusal(
    cluster: MediaCluster, nats_clients: NatsClients
) -> None:
    assert isinstance(await cluster.request(mi.AddPeer(peer="s1-t1")), mi.Refused)  # no worker at all
    _, server = await worker(nats_clients, "w1")
    try:
        assert await cluster.wait_for_workers(1, 5)
        replies = [await cluster.request(mi.AddPeer(peer=f"s1-t{i}")) for i in range(1, 5)]
        assert [type(r) for r in replies[:3]] == [mi.Ok, mi.Ok, mi.Ok]
        refused = replies[3]
        assert isinstance(refused, mi.Refused) and refused.code == "no_capacity"  # max_peers 3
    finally:
        await server.stop()


async def test_a_worker_that_stops_loses_its_peers_as_failed(
    cluster: MediaCluster, nats_clients: NatsClients
) -> None:
    events: list[mi.MediaEvent] = []
    both = asyncio.Event()

    def on_event(event: mi.MediaEvent) -> None:
        events.append(event)
        if len(events) == 2:
            both.set()

    cluster.add_listener(on_event)
    _, server = await worker(nats_clients, "w1")
    assert await cluster.wait_for_workers(1, 5)
    await cluster.request(mi.AddPeer(peer="s1-t1"))
    await cluster.request(mi.AddPeer(peer="s1-t2"))
    await server.stop()  # its last report says "stopped"
    await asyncio.wait_for(both.wait(), 5)
    assert sorted((e.peer, e.state) for e in events if isinstance(e, mi.PeerStateChanged)) == [
        ("s1-t1", "failed"),
        ("s1-t2", "failed"),
    ]
    refused = await cluster.request(mi.AnswerOffer(peer="s1-t1", sdp="v=0"))
    assert isinstance(refused, mi.Refused) and refused.code == "unknown_peer"
