"""Interests in a live room: the partner card shows the shared ones, and changes reach the matcher."""

from __future__ import annotations

from sfu_server import PeerFactory, Server

from wire import protocol as p


async def test_partner_card_shows_shared_interests_and_changes_reach_the_matcher(
    server: Server, peers: PeerFactory
) -> None:
    store = server.store
    await store.interests.set_event_tags(server.event_id, ["AI", "Climate", "Health", "Design"])
    t0, t1 = server.tickets[0].id, server.tickets[1].id
    await store.interests.set_ticket_interests(t0, ["AI", "Climate", "Health"])
    await store.interests.set_ticket_interests(t1, ["Health", "Climate", "Design"])
    a, b = await peers(0), await peers(1)
    await a.ready()
    await b.ready()
    ma, mb = await a.wait_for("matched"), await b.wait_for("matched")
    assert isinstance(ma, p.Matched) and isinstance(mb, p.Matched)
    assert ma.meeting.shared_interests == mb.meeting.shared_interests == ["Climate", "Health"]
    room = server.rooms.get(server.session_id)
    assert room is not None
    assert room.matcher.rules.interest_weighting is True

    # Changed in the store, told to the rooms: the matcher and a reload of the page follow.
    await store.interests.set_ticket_interests(t1, ["Design"])
    await server.rooms.interests_changed(server.event_id, [t1])
    meeting = room.matcher.view(str(t0)).meeting
    assert meeting is not None and meeting.shared_interests == frozenset()
    await a.hello()
    welcome = await a.wait_for("welcome")
    assert isinstance(welcome, p.Welcome) and welcome.meeting is not None
    assert welcome.meeting.shared_interests == []
    # Tags dropped from the event leave every ticket: the whole event reloads (and with it a change the
    # room was not told of).
    await store.interests.set_ticket_interests(t1, ["Design", "Health"])
    await store.interests.set_event_tags(server.event_id, ["Design", "Health"])
    await server.rooms.interests_changed(server.event_id)
    meeting = room.matcher.view(str(t1)).meeting
    assert meeting is not None and meeting.shared_interests == {"Health"}
