"""The session room's logic against the recording media stand-in: no aiortc, no network."""

from __future__ import annotations

import asyncio

import pytest
from room_testing import FakeWebSocket, RoomSetup, as_ws, until

from sfu import interface as mi
from web.room.attendee import Attendee
from web.room.errors import JoinRefused
from web.room.room import SessionRoom, peer_id
from web.room.socket import AttendeeSocket
from web.store import AssetInput
from wire import protocol as p


async def joined(
    setup: RoomSetup, room: SessionRoom, index: int
) -> tuple[FakeWebSocket, Attendee, AttendeeSocket]:
    ws = FakeWebSocket()
    attendee, sock = await room.join(as_ws(ws), setup.tickets[index])
    await until(lambda: ws.of_type("welcome"))
    return ws, attendee, sock


async def test_join_adds_a_peer_and_sends_the_welcome(setup: RoomSetup) -> None:
    room = setup.room()
    await room.start()
    ws, _, _ = await joined(setup, room, 0)
    peer = peer_id(setup.session.id, setup.tickets[0].id)
    await until(lambda: setup.media.of_type(mi.AddPeer))
    assert setup.media.of_type(mi.AddPeer) == [mi.AddPeer(peer=peer, label=f"ticket {setup.tickets[0].id}")]
    welcome = ws.of_type("welcome")[0]
    assert welcome["me"]["name"] == "Person 0" and welcome["state"] == "idle"
    assert welcome["session"]["status"] == "live"
    await room.stop()
    assert setup.media.of_type(mi.RemovePeer) == [mi.RemovePeer(peer=peer)]
    assert ws.closed and ws.close_code == p.CloseCode.SHUTTING_DOWN


async def test_a_match_routes_both_to_each_other_and_back_to_the_slate(setup: RoomSetup) -> None:
    room = setup.room()
    await room.start()
    wa, a, sa = await joined(setup, room, 0)
    wb, b, sb = await joined(setup, room, 1)
    pa, pb = (peer_id(setup.session.id, setup.tickets[i].id) for i in (0, 1))
    await room.handle(a, sa, p.dump(p.Ready()))
    await room.handle(b, sb, p.dump(p.Ready()))
    await until(lambda: wa.of_type("matched") and wb.of_type("matched"))
    assert wa.of_type("matched")[0]["meeting"]["partner"]["name"] == "Person 1"
    await until(lambda: len(setup.media.of_type(mi.Route)) >= 2)
    assert setup.media.routes(pa)[-1] == mi.Route(peer=pa, to="partner", partner=pb)
    assert setup.media.routes(pb)[-1] == mi.Route(peer=pb, to="partner", partner=pa)
    # The meeting's row is written before the command returns.
    meetings = await setup.store.meetings_for_session(setup.session.id)
    assert len(meetings) == 1 and meetings[0].ended_at is None

    await room.handle(a, sa, p.dump(p.Leave()))
    await until(lambda: wb.of_type("meeting_ended"))
    ended = wb.of_type("meeting_ended")[0]
    assert (ended["reason"], ended["left_by"]) == ("left", "partner")
    await until(lambda: setup.media.routes(pa)[-1].to == "slate" and setup.media.routes(pb)[-1].to == "slate")
    meetings = await setup.store.meetings_for_session(setup.session.id)
    assert meetings[0].ended_at is not None
    await room.stop()


async def test_an_offer_is_answered_through_the_media_plane(setup: RoomSetup) -> None:
    room = setup.room()
    await room.start()
    ws, a, sock = await joined(setup, room, 0)
    await room.handle(a, sock, p.dump(p.Offer(id="o1", sdp="v=0 offer")))
    await until(lambda: ws.of_type("answer"))
    assert ws.of_type("answer")[0]["sdp"] == "answer to v=0 offer"
    setup.media.refuse["answer_offer"] = mi.Refused(code="negotiation_failed", message="bad SDP")
    await room.handle(a, sock, p.dump(p.Offer(id="o2", sdp="garbage")))
    await until(lambda: ws.of_type("error"))
    error = ws.of_type("error")[0]
    assert (error["code"], error["ref"], error["fatal"]) == ("sdp_failed", "o2", False)
    await room.stop()


async def test_failed_media_disconnects_at_the_next_tick_and_a_new_offer_reconnects(setup: RoomSetup) -> None:
    room = setup.room(grace_seconds=30.0)
    await room.start()
    _, a, sa = await joined(setup, room, 0)
    wb, b, sb = await joined(setup, room, 1)
    await room.handle(a, sa, p.dump(p.Ready()))
    await room.handle(b, sb, p.dump(p.Ready()))
    await until(lambda: wb.of_type("matched"))
    pa = peer_id(setup.session.id, setup.tickets[0].id)
    room.media_event(mi.PeerStateChanged(peer=pa, state="failed"))
    await room.tick()
    await until(lambda: wb.of_type("partner_disconnected"))
    await room.handle(a, sa, p.dump(p.Offer(sdp="v=0 again")))
    await until(lambda: wb.of_type("partner_reconnected"))
    await room.stop()


async def test_a_closed_socket_closes_the_peer_connection_and_starts_the_grace_period(
    setup: RoomSetup,
) -> None:
    room = setup.room(grace_seconds=30.0)
    await room.start()
    _, a, sa = await joined(setup, room, 0)
    wb, b, sb = await joined(setup, room, 1)
    await room.handle(a, sa, p.dump(p.Ready()))
    await room.handle(b, sb, p.dump(p.Ready()))
    await until(lambda: wb.of_type("matched"))
    await room.socket_closed(a, sa)
    await until(lambda: wb.of_type("partner_disconnected"))
    pa = peer_id(setup.session.id, setup.tickets[0].id)
    await until(lambda: mi.ClosePeerConnection(peer=pa) in setup.media.commands)
    await room.stop()


async def test_a_second_page_replaces_the_first(setup: RoomSetup) -> None:
    room = setup.room()
    await room.start()
    first, _, _ = await joined(setup, room, 0)
    second, _, _ = await joined(setup, room, 0)
    await until(lambda: first.closed)
    assert first.close_code == p.CloseCode.REPLACED
    assert first.of_type("error")[-1]["code"] == "replaced"
    assert not second.closed
    pa = peer_id(setup.session.id, setup.tickets[0].id)
    assert len(setup.media.of_type(mi.AddPeer)) == 1  # the same media, a new peer connection to come
    assert mi.ClosePeerConnection(peer=pa) in setup.media.commands
    await room.stop()


async def test_a_cancelled_join_leaves_no_task_and_no_connected_attendee(setup: RoomSetup) -> None:
    room = setup.room()
    await room.start()
    async with room._lock:  # the join waits for the lock, and is cancelled there
        join = asyncio.create_task(room.join(as_ws(FakeWebSocket()), setup.tickets[0]), name="join")
        await asyncio.sleep(0.01)
        join.cancel()
    with pytest.raises(asyncio.CancelledError):
        await join
    assert room.matcher.live_summary().connected == 0
    await room.stop()


async def test_a_join_after_stop_is_refused(setup: RoomSetup) -> None:
    room = setup.room()
    await room.start()
    await room.stop()
    with pytest.raises(JoinRefused) as refused:
        await room.join(as_ws(FakeWebSocket()), setup.tickets[0])
    assert refused.value.code == "shutting_down"


def image(event_id: int, ticket_id: int, filename: str) -> AssetInput:
    return AssetInput(
        event_id=event_id,
        ticket_id=ticket_id,
        purpose="background",
        kind="image",
        content_type="image/png",
        filename=filename,
        size_bytes=10,
        width=4,
        height=4,
    )


async def test_an_image_background_is_checked_before_it_reaches_the_media(setup: RoomSetup) -> None:
    event_id = setup.session.event_id
    theirs = await setup.store.add_asset(image(event_id, setup.tickets[1].id, "theirs.png"))
    mine = await setup.store.add_asset(image(event_id, setup.tickets[0].id, "mine.png"))
    room = setup.room()
    await room.start()
    ws, a, sock = await joined(setup, room, 0)
    await room.handle(
        a,
        sock,
        p.dump(p.SetBackground(id="b1", background=p.ImageBackground(asset_id=theirs.id))),
    )
    await until(lambda: ws.of_type("error"))
    assert ws.of_type("error")[0]["code"] == "invalid_command"
    assert not setup.media.of_type(mi.SetBackground)
    await room.handle(
        a,
        sock,
        p.dump(p.SetBackground(id="b2", background=p.ImageBackground(asset_id=mine.id), preview=True)),
    )
    await until(lambda: ws.of_type("background"), what=ws.sent)
    [command] = setup.media.of_type(mi.SetBackground)
    assert command.image == "mine.png"
    pa = peer_id(setup.session.id, setup.tickets[0].id)
    await until(lambda: setup.media.routes(pa) and setup.media.routes(pa)[-1].to == "preview")
    await room.stop()


async def test_effects_off_is_said_plainly(setup: RoomSetup) -> None:
    setup.media.refuse["set_background"] = mi.Refused(code="effects_off", message="off")
    room = setup.room()
    await room.start()
    ws, a, sock = await joined(setup, room, 0)
    await room.handle(a, sock, p.dump(p.SetBackground(background=p.BlurBackground())))
    await until(lambda: ws.of_type("error"))
    assert "off on this server" in ws.of_type("error")[0]["message"]
    await room.stop()


async def test_live_counts_combine_the_matcher_and_the_media(setup: RoomSetup) -> None:
    room = setup.room()
    await room.start()
    _, a, sa = await joined(setup, room, 0)
    wb, b, sb = await joined(setup, room, 1)
    await room.handle(a, sa, p.dump(p.Ready()))
    await room.handle(b, sb, p.dump(p.Ready()))
    await until(lambda: wb.of_type("matched"))
    live = await room.live()
    assert (live.attendees, live.sockets, live.meetings_running, live.in_meetings) == (2, 2, 1, 2)
    assert (live.peer_connections, live.video_frames_in, live.video_frames_out) == (2, 10, 20)
    [meeting] = live.meetings
    assert {meeting.a.name, meeting.b.name} == {"Person 0", "Person 1"}
    assert live.as_dict()["meetings"][0]["ends_at"] == meeting.ends_at
    await room.stop()


async def test_a_malformed_message_is_answered_with_its_id_and_the_socket_stays(setup: RoomSetup) -> None:
    room = setup.room()
    await room.start()
    ws, a, sock = await joined(setup, room, 0)
    await room.handle(a, sock, '{"type": "no_such_type", "id": "m-1"}')
    await room.handle(a, sock, '{"type": "ready", "id": "m-2", "extra": 1}')
    await room.handle(a, sock, '{"type": "ready", "id": "' + "x" * (p.MAX_MESSAGE_BYTES) + '"}')
    await until(lambda: len(ws.of_type("error")) == 3)
    errors = ws.of_type("error")
    assert [(e["code"], e["ref"], e["fatal"]) for e in errors] == [
        ("bad_message", "m-1", False),
        ("bad_message", "m-2", False),
        ("bad_message", None, False),
    ]
    assert "too large" in errors[2]["message"]
    assert not ws.closed
    await room.stop()


async def test_a_socket_that_spends_its_budget_is_closed(setup: RoomSetup) -> None:
    room = setup.room(message_rate=1.0, message_burst=5.0)
    await room.start()
    ws, a, sock = await joined(setup, room, 0)
    for i in range(6):
        await room.handle(a, sock, p.dump(p.Ping(id=f"p{i}")))
    await until(lambda: ws.closed)
    assert len(ws.of_type("pong")) == 5
    assert ws.of_type("error")[-1]["code"] == "rate_limited" and ws.of_type("error")[-1]["fatal"]
    assert ws.close_code == p.CloseCode.RATE_LIMITED
    await room.stop()


async def test_blocking_or_reporting_a_stranger_says_the_same_whoever_it_is(setup: RoomSetup) -> None:
    room = setup.room()
    await room.start()
    ws, a, sock = await joined(setup, room, 0)
    await joined(setup, room, 1)
    stranger_here, nobody = setup.tickets[1].id, 424242
    for ticket_id in (stranger_here, nobody):
        await room.handle(a, sock, p.dump(p.Report(ticket_id=ticket_id, reason="spam")))
        await room.handle(a, sock, p.dump(p.Block(ticket_id=ticket_id)))
    await until(lambda: len(ws.of_type("error")) == 4)
    assert {(e["code"], e["message"]) for e in ws.of_type("error")} == {
        ("invalid_command", "only someone you have met can be blocked or reported")
    }
    assert room.matcher.live_summary().reports == 0
    await room.stop()
