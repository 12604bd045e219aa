"""The media interface over a real nats-server: a worker serving a recording stand-in of the media
plane, driven through `RemoteMediaPlane`."""

from __future__ import annotations

import asyncio
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from nats.aio.client import Client

from sfu import interface as mi
from sfu.bus import LOAD_SUBJECT, MediaServer, RemoteMediaPlane, serve_media_plane
from sfu.bus.connect import settle
from sfu.bus.subjects import command_subject, events_subject, parse_report
from tests.nats_fixture import NatsClients
from tests.sfu.sfu_testing import wait_until
from tests.web.room.media_stand_in import RecordingMediaPlane
from wire.protocol import BlurBackground, IceCandidate, ImageBackground

WORKER = "w1"


@dataclass
class Bus:
    plane: RecordingMediaPlane  # the worker's media plane
    server: MediaServer
    remote: RemoteMediaPlane  # the control plane's handle on it
    control: Client  # the control plane's connection


@pytest.fixture
async def bus(nats_clients: NatsClients) -> AsyncIterator[Bus]:
    worker_nc, control_nc = await nats_clients(), await nats_clients()
    plane = RecordingMediaPlane()
    server = await serve_media_plane(worker_nc, plane, WORKER, public_ip="203.0.113.7")
    remote = RemoteMediaPlane(control_nc, WORKER, timeout=5)
    await remote.start()
    try:
        yield Bus(plane, server, remote, control_nc)
    finally:
        await remote.stop()
        await server.stop()


CANDIDATE = IceCandidate(
    candidate="candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", sdpMid="0", sdpMLineIndex=0
)


async def test_every_command_crosses_the_bus_and_gets_its_reply(bus: Bus) -> None:
    commands_and_replies: list[tuple[mi.Command, mi.Reply]] = [
        (mi.AddPeer(peer="s1-t1", label="Ann"), mi.Ok()),
        (mi.AddPeer(peer="s1-t2"), mi.Ok()),
        (mi.AnswerOffer(peer="s1-t1", sdp="v=0 offer"), mi.Answered(sdp="answer to v=0 offer")),
        (mi.AddIceCandidate(peer="s1-t1", candidate=CANDIDATE), mi.Ok()),
        (mi.AddIceCandidate(peer="s1-t1", candidate=None), mi.Ok()),
        (mi.Route(peer="s1-t1", to="partner", partner="s1-t2"), mi.Ok()),
        (mi.Route(peer="s1-t2", to="preview"), mi.Ok()),
        (mi.SetBackground(peer="s1-t1", background=BlurBackground(strength=0.7)), mi.Ok()),
        (
            mi.SetBackground(peer="s1-t2", background=ImageBackground(asset_id=4), image="abc.png"),
            mi.Ok(),
        ),
        (mi.ClosePeerConnection(peer="s1-t1"), mi.Ok()),
        (
            mi.GetStats(peers=["s1-t1", "s1-t2"]),
            mi.Stats(peer_connections=2, video_frames_in=10, video_frames_out=20),
        ),
        (mi.RemovePeer(peer="s1-t1"), mi.Ok()),
        (mi.AddPeer(peer="s1-t2"), mi.Refused(code="peer_exists", message="peer s1-t2 exists")),
        (mi.AnswerOffer(peer="s1-t1", sdp="again"), mi.Refused(code="unknown_peer", message="no peer s1-t1")),
    ]
    for command, expected in commands_and_replies:
        assert await bus.remote.request(command) == expected
    assert bus.plane.commands == [command for command, _ in commands_and_replies]
    every_type = set(typing.get_args(typing.get_args(mi.Command)[0]))
    assert {type(c) for c, _ in commands_and_replies} == every_type


async def test_commands_reach_the_plane_in_the_order_they_were_sent(bus: Bus) -> None:
    await bus.remote.request(mi.AddPeer(peer="p"))
    routes = [mi.Route(peer="p", to="slate" if i % 2 else "preview") for i in range(50)]
    replies = await asyncio.gather(*(bus.remote.request(r) for r in routes))
    assert all(isinstance(r, mi.Ok) for r in replies)
    assert bus.plane.routes("p") == routes


async def test_a_refusal_of_the_plane_is_the_reply(bus: Bus) -> None:
    refusal = mi.Refused(code="effects_off", message="Backgrounds are off")
    bus.plane.refuse["set_background"] = refusal
    assert await bus.remote.request(mi.SetBackground(peer="x")) == refusal


async def test_a_failing_plane_is_an_internal_refusal(bus: Bus) -> None:
    async def broken(command: mi.Command) -> mi.Reply:
        raise RuntimeError("/secret/path exploded")

    bus.plane.request = broken  # type: ignore[method-assign]
    reply = await bus.remote.request(mi.AddPeer(peer="x"))
    assert isinstance(reply, mi.Refused) and reply.code == "internal"
    assert "secret" not in reply.message


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"{}", b'{"type": "launch_rocket"}', b'{"type": "add_peer", "peer": "bad id!"}', b""],
)
async def test_a_malformed_request_is_refused(bus: Bus, payload: bytes) -> None:
    msg = await bus.control.request(command_subject(WORKER), payload, timeout=5)
    reply = mi.parse_reply(msg.data)
    assert isinstance(reply, mi.Refused) and reply.code == "bad_command"
    assert reply.message.startswith("Not a media command")
    assert bus.plane.commands == []


async def test_events_reach_the_control_plane_in_order(bus: Bus) -> None:
    seen: list[mi.MediaEvent] = []
    bus.remote.add_listener(seen.append)
    events: list[mi.MediaEvent] = [
        mi.PeerStateChanged(peer="a", state="connected"),
        mi.FirstFrame(peer="a", kind="video"),
        mi.FirstFrame(peer="a", kind="audio"),
        mi.PeerStateChanged(peer="a", state="failed"),
    ]
    for event in events:
        bus.plane.emit(event)
    await wait_until(lambda: len(seen) == len(events), within=5, what="the events")
    assert seen == events


async def test_a_broken_listener_does_not_stop_the_others(bus: Bus) -> None:
    seen: list[mi.MediaEvent] = []

    def broken(event: mi.MediaEvent) -> None:
        raise RuntimeError("listener bug")

    bus.remote.add_listener(broken)
    bus.remote.add_listener(seen.append)
    bus.plane.emit(mi.FirstFrame(peer="a", kind="video"))
    await wait_until(lambda: len(seen) == 1, within=5, what="the event")


async def test_load_goes_to_the_events_and_as_a_report_to_the_load_subject(bus: Bus) -> None:
    reports = await bus.control.subscribe(LOAD_SUBJECT)
    await settle(bus.control)
    seen: list[mi.MediaEvent] = []
    bus.remote.add_listener(seen.append)
    load = mi.Load(worker=WORKER, peers=3, peers_with_effects=1, cpu_seconds=12.5, loop_busy=0.25)
    bus.plane.emit(load)
    report = parse_report((await reports.next_msg(timeout=5)).data)
    assert report.worker == WORKER and report.state == "serving" and report.load == load
    assert report.public_ip == "203.0.113.7" and report.instance == bus.server.instance
    await wait_until(lambda: seen == [load], within=5, what="the load event")

    await bus.server.set_state("draining")
    report = parse_report((await reports.next_msg(timeout=5)).data)
    assert report.state == "draining" and report.load == load
    await bus.server.stop()
    report = parse_report((await reports.next_msg(timeout=5)).data)
    assert report.state == "stopped"
    await reports.unsubscribe()


async def test_a_worker_announces_itself_when_it_starts(nats_clients: NatsClients) -> None:
    control, worker_nc = await nats_clients(), await nats_clients()
    reports = await control.subscribe(LOAD_SUBJECT)
    await settle(control)
    server = await serve_media_plane(worker_nc, RecordingMediaPlane(), "w9")
    try:
        report = parse_report((await reports.next_msg(timeout=5)).data)
        assert (report.worker, report.state, report.load) == ("w9", "serving", None)
    finally:
        await server.stop()
        await reports.unsubscribe()


async def test_a_stopped_worker_takes_no_more_commands(bus: Bus) -> None:
    await bus.server.stop()
    reply = await bus.remote.request(mi.AddPeer(peer="x"))
    assert isinstance(reply, mi.Refused) and reply.code == "internal"
    assert "not running" in reply.message
    bus.plane.emit(mi.FirstFrame(peer="a", kind="video"))  # ignored once stopped
    await bus.server.stop()  # twice is fine


async def test_no_worker_is_a_refusal_at_once(nats_clients: NatsClients) -> None:
    remote = RemoteMediaPlane(await nats_clients(), "nobody", timeout=30)
    async with asyncio.timeout(5):  # no responder: NATS says so at once
        reply = await remote.request(mi.AddPeer(peer="x"))
    assert reply == mi.Refused(
        code="internal", message="The media worker nobody is not running (nothing answers on its subject)"
    )


async def test_a_hung_worker_is_a_refusal_within_the_timeout(nats_clients: NatsClients) -> None:
    hung = await nats_clients()
    sub = await hung.subscribe(command_subject("stuck"))  # takes requests, never answers
    await settle(hung)
    remote = RemoteMediaPlane(await nats_clients(), "stuck", timeout=0.3)
    async with asyncio.timeout(5):
        reply = await remote.request(mi.AddPeer(peer="x"))
    assert reply == mi.Refused(code="internal", message="The media worker stuck did not answer within 0.3 s")
    await sub.unsubscribe()


async def test_an_unreadable_reply_or_event_is_dropped(nats_clients: NatsClients) -> None:
    odd, control = await nats_clients(), await nats_clients()

    async def answer_garbage(msg: object) -> None:
        await msg.respond(b"{garbage")  # type: ignore[attr-defined]

    sub = await odd.subscribe(command_subject("odd"), cb=answer_garbage)
    await settle(odd)
    remote = RemoteMediaPlane(control, "odd")
    seen: list[mi.MediaEvent] = []
    remote.add_listener(seen.append)
    async with remote:
        reply = await remote.request(mi.AddPeer(peer="x"))
        assert isinstance(reply, mi.Refused) and "could not be read" in reply.message
        await odd.publish(events_subject("odd"), b"nonsense")
        await odd.publish(events_subject("odd"), mi.dump(mi.FirstFrame(peer="a", kind="audio")))
        await wait_until(lambda: len(seen) == 1, within=5, what="the good event")
    assert seen == [mi.FirstFrame(peer="a", kind="audio")]
    await sub.unsubscribe()
