"""Session rooms end to end: real server on loopback, real aiortc peers, real store."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sfu_server import COLOURS, TONES, PeerFactory, Server
from sfu_testing import eventually

from loadtest.synthetic_peer import PeerError, SyntheticPeer
from sfu.interface import GetStats
from wire import protocol as p

SLATE_SIZE = (640, 360)


async def meet(a: SyntheticPeer, b: SyntheticPeer) -> tuple[p.Matched, p.Matched]:
    await a.ready()
    await b.ready()
    ma = await a.wait_for("matched")
    mb = await b.wait_for("matched")
    assert isinstance(ma, p.Matched) and isinstance(mb, p.Matched)
    return ma, mb


@pytest.mark.parametrize("server", ["sqlite", "postgresql", "workers"], indirect=True)
async def test_two_attendees_meet_and_each_receives_the_others_video_and_audio(
    server: Server, peers: PeerFactory
) -> None:
    a, b = await peers(0), await peers(1)
    assert a.welcome is not None and a.welcome.state == "idle" and a.welcome.me.name == "Person 0"
    # Before a match: the waiting slate and silence.
    slate = await a.wait_for_video(lambda s: True)
    assert (slate.width, slate.height) == SLATE_SIZE and not slate.is_colour(COLOURS[1])

    ma, mb = await meet(a, b)
    assert ma.meeting.meeting_id == mb.meeting.meeting_id
    assert ma.meeting.partner.name == "Person 1" and ma.meeting.partner.headline == "Role 1"
    assert mb.meeting.partner.company == "Company 0" and mb.meeting.partner.ticket_type == "A"
    assert ma.meeting.ends_at - ma.meeting.started_at == 120
    assert (await a.wait_for("state", since=0, predicate=lambda m: m.state == "meeting")).type == "state"

    # Each sees and hears the *other* (distinct colours and tones), not themselves.
    seen_by_a = await a.wait_for_colour(COLOURS[1])
    seen_by_b = await b.wait_for_colour(COLOURS[0])
    assert (seen_by_a.width, seen_by_b.width) == (320, 320)
    await a.wait_for_tone(TONES[1])
    await b.wait_for_tone(TONES[0])
    assert not any(s.is_colour(COLOURS[0]) for s in list(a.video))

    live = await server.rooms.live_summary(server.session_id)
    assert live is not None
    assert (live.meetings_running, live.in_meetings, live.sockets) == (1, 2, 2)
    pair = {server.tickets[0].id, server.tickets[1].id}
    await eventually(
        lambda: server.store.meetings_for_session(server.session_id),
        lambda meetings: [({m.a_ticket_id, m.b_ticket_id}, m.ended_at) for m in meetings] == [(pair, None)],
        what="stored meeting",
    )


async def test_extend_offer_accept_moves_the_deadline_for_both(server: Server, peers: PeerFactory) -> None:
    a, b = await peers(0), await peers(1)
    ma, _ = await meet(a, b)
    mid, ends_at = ma.meeting.meeting_id, ma.meeting.ends_at

    await a.extend_offer()  # 2:00 left: too early
    error = await a.wait_for("error")
    assert isinstance(error, p.Error) and error.code == "invalid_command" and not error.fatal

    server.clock.advance(100)  # 0:20 left
    await a.extend_offer()
    offered_b = await b.wait_for("extend_offered")
    offered_a = await a.wait_for("extend_offered")
    assert (
        isinstance(offered_b, p.ExtendOffered) and offered_b.by == "partner" and offered_b.meeting_id == mid
    )
    assert isinstance(offered_a, p.ExtendOffered) and offered_a.by == "me"

    await b.extend_accept()
    for peer, by in ((a, "partner"), (b, "me")):
        accepted = await peer.wait_for("extend_accepted")
        deadline = await peer.wait_for("meeting_deadline", since=0)
        assert isinstance(accepted, p.ExtendAccepted) and accepted.by == by
        assert accepted.ends_at == ends_at + 60 and accepted.extensions_left == 0
        assert isinstance(deadline, p.MeetingDeadline) and deadline.ends_at == ends_at + 60

    # A reload shows the new deadline.
    await a.hello()
    welcome = await a.wait_for("welcome")
    assert isinstance(welcome, p.Welcome) and welcome.meeting is not None
    assert welcome.meeting.ends_at == ends_at + 60 and welcome.meeting.extend.extensions_left == 0


async def test_unanswered_extend_offer_lapses_and_the_meeting_times_out(
    server: Server, peers: PeerFactory
) -> None:
    a, b = await peers(0), await peers(1)
    await meet(a, b)
    server.clock.advance(95)
    await a.extend_offer()
    await b.wait_for("extend_offered")
    server.clock.advance(30)  # past 0:00
    for peer in (a, b):
        declined = await peer.wait_for("extend_declined")
        ended = await peer.wait_for("meeting_ended", since=0)
        assert isinstance(declined, p.ExtendDeclined) and declined.by is None
        assert isinstance(ended, p.MeetingEnded) and ended.reason == "timeout" and ended.left_by is None
        assert ended.match is not None and ended.match.end_reason == "timeout"
    # Back to the slate.
    await a.wait_for_video(lambda s: (s.width, s.height) == SLATE_SIZE)
    await eventually(
        lambda: server.store.meetings_for_session(server.session_id),
        lambda meetings: [m.end_reason for m in meetings] == ["timeout"],
        what="stored meeting end",
    )


@pytest.mark.parametrize("server", ["sqlite", "postgresql"], indirect=True)
async def test_connection_request_accept_and_leave(server: Server, peers: PeerFactory) -> None:
    a, b = await peers(0), await peers(1)
    await meet(a, b)
    ta, tb = server.tickets[0].id, server.tickets[1].id

    await a.connect_request()
    ca = await a.wait_for("connection")
    cb = await b.wait_for("connection")
    assert isinstance(ca, p.Connection) and isinstance(cb, p.Connection)
    assert (ca.connection.ticket_id, ca.connection.state, ca.connection.requested_by) == (
        tb,
        "requested",
        "me",
    )
    assert (cb.connection.ticket_id, cb.connection.state, cb.connection.requested_by) == (
        ta,
        "requested",
        "partner",
    )
    assert cb.partner is not None and cb.partner.name == "Person 0"

    await b.connect_accept()
    for peer in (a, b):
        accepted = await peer.wait_for("connection")
        assert isinstance(accepted, p.Connection) and accepted.connection.state == "accepted"
    await eventually(
        lambda: server.store.connections_for_event(server.event_id),
        lambda rows: [(r.state, r.requested_by) for r in rows] == [("accepted", ta)],
        what="stored connection",
    )

    await a.leave()
    for peer, left_by in ((a, "me"), (b, "partner")):
        ended = await peer.wait_for("meeting_ended")
        assert isinstance(ended, p.MeetingEnded) and ended.reason == "left" and ended.left_by == left_by
        state = await peer.wait_for("state", lambda m: m.state == "idle")
        assert isinstance(state, p.State)
    await b.wait_for_video(lambda s: (s.width, s.height) == SLATE_SIZE)
    await eventually(
        lambda: server.store.meetings_for_session(server.session_id),
        lambda meetings: [(m.end_reason, m.ended_at is not None) for m in meetings] == [("left", True)],
        what="stored meeting end",
    )

    # Leaving again makes no sense now: a clear error, nothing breaks.
    await a.leave()
    error = await a.wait_for("error")
    assert isinstance(error, p.Error) and error.code == "not_in_meeting"
    # A connection request to a past partner by ticket id still works after the meeting (idempotent).
    await b.connect_request(ta)
    await a.ping()
    assert (await a.wait_for("pong")).type == "pong"


async def test_a_third_attendee_then_meets_one_of_them(server: Server, peers: PeerFactory) -> None:
    a, b, c = await peers(0), await peers(1), await peers(2)
    await meet(a, b)
    await a.wait_for_colour(COLOURS[1])
    await b.leave()
    await a.wait_for("meeting_ended")

    await c.ready()
    await a.ready()  # b is idle, and a may not meet b again within the cooldown anyway
    ma = await a.wait_for("matched")
    mc = await c.wait_for("matched")
    assert isinstance(ma, p.Matched) and isinstance(mc, p.Matched)
    assert ma.meeting.partner.ticket_id == server.tickets[2].id
    assert mc.meeting.partner.ticket_id == server.tickets[0].id
    # The same outgoing tracks now carry the new partner: no renegotiation.
    await a.wait_for_colour(COLOURS[2])
    await c.wait_for_colour(COLOURS[0])
    await a.wait_for_tone(TONES[2])
    assert len(a.received("answer")) == 1

    await b.ready()
    waiting = await b.wait_for("waiting")
    assert isinstance(waiting, p.Waiting) and waiting.waiting.reason


async def test_partner_drop_is_told_within_seconds_and_reconnect_resumes(
    server: Server, peers: PeerFactory
) -> None:
    a, b = await peers(0), await peers(1)
    ma, _ = await meet(a, b)
    await a.wait_for_colour(COLOURS[1])

    await b.close()  # tab closed
    loop = asyncio.get_running_loop()
    dropped_at = loop.time()
    notice = await a.wait_for("partner_disconnected", within=5.0)
    assert loop.time() - dropped_at < 5.0
    assert isinstance(notice, p.PartnerDisconnected) and notice.meeting_id == ma.meeting.meeting_id

    # The same ticket comes back (a page reload): the meeting resumes where it was.
    b2 = await peers(1)
    assert b2.welcome is not None and b2.welcome.state == "meeting" and b2.welcome.meeting is not None
    assert b2.welcome.meeting.meeting_id == ma.meeting.meeting_id
    assert b2.welcome.meeting.ends_at == ma.meeting.ends_at
    assert b2.welcome.meeting.partner.ticket_id == server.tickets[0].id
    back = await a.wait_for("partner_reconnected")
    assert isinstance(back, p.PartnerReconnected)
    await a.wait_for_colour(COLOURS[1])
    await b2.wait_for_colour(COLOURS[0])


async def test_partner_who_does_not_come_back_ends_the_meeting(server: Server, peers: PeerFactory) -> None:
    a, b = await peers(0), await peers(1)
    await meet(a, b)
    await b.close()
    await a.wait_for("partner_disconnected")
    server.clock.advance(5)  # past the grace period
    ended = await a.wait_for("meeting_ended")
    assert isinstance(ended, p.MeetingEnded) and ended.reason == "partner_left" and ended.left_by == "partner"
    await a.wait_for_video(lambda s: (s.width, s.height) == SLATE_SIZE)


async def test_media_failure_counts_as_a_drop_and_a_new_offer_resumes(
    server: Server, peers: PeerFactory
) -> None:
    a, b = await peers(0), await peers(1)
    await meet(a, b)
    await b.close_media()  # the peer connection goes away, the socket stays
    notice = await a.wait_for("partner_disconnected", within=5.0)
    assert isinstance(notice, p.PartnerDisconnected)
    await b.negotiate()
    await a.wait_for("partner_reconnected")
    await a.wait_for_colour(COLOURS[1])
    await b.wait_for_colour(COLOURS[0])


async def test_second_socket_for_a_ticket_replaces_the_first(server: Server, peers: PeerFactory) -> None:
    a = await peers(0)
    await a.ready()
    await a.wait_for("waiting")
    a2 = await peers(0)
    assert a2.welcome is not None and a2.welcome.state in ("ready", "idle")
    error = await a.wait_for("error")
    assert isinstance(error, p.Error) and error.code == "replaced" and error.fatal
    await asyncio.wait_for(a.ws_closed.wait(), 5)
    assert a.close_code == p.CloseCode.REPLACED
    await a2.ping()
    await a2.wait_for("pong")


async def test_block_ends_the_meeting_and_report_is_acknowledged(server: Server, peers: PeerFactory) -> None:
    a, b = await peers(0), await peers(1)
    await meet(a, b)
    await a.report("Rude", ticket_id=server.tickets[1].id)
    reported = await a.wait_for("reported")
    assert isinstance(reported, p.Reported) and reported.ticket_id == server.tickets[1].id
    await a.block()
    blocked = await a.wait_for("blocked")
    assert isinstance(blocked, p.Blocked) and blocked.ticket_id == server.tickets[1].id
    for peer in (a, b):
        ended = await peer.wait_for("meeting_ended")
        assert isinstance(ended, p.MeetingEnded) and ended.reason == "blocked"
    await eventually(
        lambda: server.store.blocks_for_event(server.event_id),
        lambda blocks: blocks == [(server.tickets[0].id, server.tickets[1].id)],
        what="stored block",
    )


async def test_background_preview_shows_own_video_then_the_slate(server: Server, peers: PeerFactory) -> None:
    a = await peers(0)
    await a.set_background(p.NoBackground(), preview=True)
    ack = await a.wait_for("background")
    assert isinstance(ack, p.BackgroundSet) and ack.preview
    await a.wait_for_colour(COLOURS[0])  # their own camera, processed
    await a.preview(False)
    await a.wait_for("background")
    await a.wait_for_video(lambda s: (s.width, s.height) == SLATE_SIZE)


@pytest.mark.parametrize("server", ["sqlite", "postgresql"], indirect=True)
async def test_session_end_sends_the_matches_list(server: Server, peers: PeerFactory) -> None:
    a, b = await peers(0), await peers(1)
    await meet(a, b)
    await a.leave()
    await a.wait_for("meeting_ended")
    server.clock.advance(3600)  # the session is over
    for peer, partner in ((a, "Person 1"), (b, "Person 0")):
        ended = await peer.wait_for("session_ended")
        assert isinstance(ended, p.SessionEnded)
        assert [m.partner.name for m in ended.matches] == [partner]
        assert ended.matches[0].end_reason == "left"
    await a.ready()
    waiting = await a.wait_for("waiting")
    assert isinstance(waiting, p.Waiting) and waiting.waiting.reason is not None
    assert "ended" in waiting.waiting.reason


async def test_meeting_running_at_session_end_runs_to_its_own_end(server: Server, peers: PeerFactory) -> None:
    assert server.session is not None
    session_end = server.session.ends_at.timestamp()
    server.clock.advance(session_end - server.clock() - 60)  # one minute before the session's end
    a, b = await peers(0), await peers(1)
    ma, _ = await meet(a, b)
    assert ma.meeting.ends_at > session_end  # a two-minute meeting: it outlasts the session
    server.clock.advance(session_end - server.clock() + 1)  # just after the session's end
    await asyncio.sleep(0.3)
    assert not a.received("meeting_ended") and not a.received("session_ended")
    # A reload still works (the session is over, but this meeting is not).
    a2 = await peers(0)
    assert a2.welcome is not None and a2.welcome.state == "meeting" and a2.welcome.session_over
    # Someone else cannot join any more.
    try:
        await peers(2)
    except PeerError as exc:
        assert exc.code == "session_not_live" and exc.close_code == p.CloseCode.SESSION_NOT_LIVE
    else:
        raise AssertionError("joined a session that has ended")
    server.clock.advance(120)
    ended = await a2.wait_for("meeting_ended")
    assert isinstance(ended, p.MeetingEnded) and ended.reason == "timeout"
    done = await a2.wait_for("session_ended")
    assert isinstance(done, p.SessionEnded) and len(done.matches) == 1
    assert datetime.now(UTC) < server.session.ends_at  # all of this in virtual time


async def test_random_command_storm_never_breaks_the_room(server: Server, peers: PeerFactory) -> None:
    """Any order of commands (plus garbage and clock jumps) gets answers, never an internal error, and
    leaves a consistent state that every attendee sees the same way."""
    rng = random.Random(20261124)
    group = [await peers(i) for i in range(3)]
    tickets = [t.id for t in server.tickets[:3]]

    def command(peer: SyntheticPeer) -> Awaitable[None]:
        other = rng.choice([None, *tickets, 424242])
        choices: list[Callable[[], Awaitable[None]]] = [
            peer.ready,
            peer.ready,
            peer.unready,
            peer.leave,
            peer.extend_offer,
            peer.extend_accept,
            peer.extend_decline,
            lambda: peer.connect_request(other),
            lambda: peer.connect_accept(other),
            lambda: peer.report("storm", other),
            lambda: peer.preview(rng.random() < 0.5),
            peer.ping,
            peer.hello,
            lambda: peer.send_raw(rng.choice(["{", '{"type": "ready", "x": 1}', "[]", '{"type": 7}'])),
        ]
        return rng.choice(choices)()

    for step in range(150):
        await command(rng.choice(group))
        if step % 25 == 24:
            server.clock.advance(rng.choice([5.0, 40.0, 100.0]))
        if step % 10 == 0:
            await asyncio.sleep(0.05)

    await asyncio.sleep(0.3)  # let the last commands and ticks settle
    for peer in group:
        errors = [m for m in peer.messages if isinstance(m, p.Error)]
        assert all(e.code != "internal" and not e.fatal for e in errors), errors
        mark = len(peer.messages)
        await peer.hello()
        assert isinstance(await peer.wait_for("welcome", since=mark), p.Welcome)
    # Server side, in one consistent snapshot: meetings are symmetric, and media follows the matcher.
    room = server.rooms.get(server.session_id)
    assert room is not None
    plane = server.media
    async with room._lock:
        await room.media.call(GetStats())  # every media command queued before is carried out
        for attendee, one in room.attendees.items():
            view = room.matcher.view(attendee)
            media = plane.peer(one.peer)
            assert media is not None
            if view.meeting is None:
                assert one.partner is None and media.partner is None
                continue
            partner = room.attendees[view.meeting.partner]
            assert one.partner is partner and partner.partner is one
            other = room.matcher.view(partner.attendee).meeting
            assert other is not None and other.meeting_id == view.meeting.meeting_id
            assert media.partner is plane.peer(partner.peer)
            assert media.video_out is not None and media.audio_out is not None
            assert media.video_out.source is media.partner.video
            assert media.audio_out.source is media.partner.audio


async def test_media_lost_with_the_socket_open_is_noticed_and_the_partner_told_within_5_s(
    server: Server, peers: PeerFactory
) -> None:
    """The attendee's UDP is dropped (no RTP, no RTCP, no DTLS from them) while their signalling socket
    stays open and answers pings: the media plane reports them silent, the partner hears of it within
    5 s, and when packets flow again both are back in the meeting."""
    a, b = await peers(0), await peers(1)
    await meet(a, b)
    await a.wait_for_colour(COLOURS[1])
    assert b.pc is not None
    ice = b.pc.getTransceivers()[0].sender.transport.transport  # bundled: one ICE transport for all
    send = ice._send

    async def dropped(data: bytes) -> None:
        return None

    loop = asyncio.get_running_loop()
    lost_at = loop.time()
    ice._send = dropped
    notice = await a.wait_for("partner_disconnected", within=5.0)
    assert isinstance(notice, p.PartnerDisconnected)
    assert loop.time() - lost_at < 5.0
    assert not b.ws_closed.is_set()  # only the media went quiet
    ice._send = send
    back = await a.wait_for("partner_reconnected", within=5.0)
    assert isinstance(back, p.PartnerReconnected)
    await a.wait_for_colour(COLOURS[1])


async def test_silent_network_loss_is_noticed_and_the_partner_told_within_5_s(
    server: Server, peers: PeerFactory
) -> None:
    a, b = await peers(0), await peers(1)
    await meet(a, b)
    loop = asyncio.get_running_loop()
    lost_at = loop.time()
    b.answer_pings = False  # the network goes quiet: no close, no error, just silence
    notice = await a.wait_for("partner_disconnected", within=5.0)
    assert isinstance(notice, p.PartnerDisconnected)
    assert loop.time() - lost_at < 5.0
    await asyncio.wait_for(b.ws_closed.wait(), 5)  # the server gave up on the silent socket
