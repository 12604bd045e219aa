"""Rooms across the server's life: created on first join, stopped cleanly, history kept over a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sfu_server import COLOURS, PeerFactory, Server, ShiftedClock, seed, start_server

from loadtest.synthetic_peer import PeerError, SyntheticPeer
from wire import protocol as p


def peer(base_url: str, session_id: int, secret: str, index: int) -> SyntheticPeer:
    return SyntheticPeer(
        base_url, session_id, secret, colour=COLOURS[index], name=f"p{index}", ice_servers=[]
    )


async def test_shutdown_tells_clients_and_closes_everything(tmp_path: Path) -> None:
    runner, server = await start_server(tmp_path, ShiftedClock(), tick_seconds=0.05)
    a = b = None
    try:
        await seed(server)
        a = peer(server.base_url, server.session_id, server.tickets[0].secret, 0)
        b = peer(server.base_url, server.session_id, server.tickets[1].secret, 1)
        await a.connect()
        await b.connect()
        await a.ready()
        await b.ready()
        await a.wait_for("matched")
        room = server.rooms.get(server.session_id)
        assert room is not None and not room.stopped
        await runner.cleanup()
        assert room.stopped and server.rooms.get(server.session_id) is None
        for client in (a, b):
            error = await client.wait_for("error")
            assert isinstance(error, p.Error) and error.code == "shutting_down" and error.fatal
            await asyncio.wait_for(client.ws_closed.wait(), 5)
            assert client.close_code == p.CloseCode.SHUTTING_DOWN
        assert all(a.socket is None for a in room.attendees.values())
    finally:
        for client in (a, b):
            if client is not None:
                await client.close()
        await runner.cleanup()


async def test_restart_keeps_history_matches_and_connections(tmp_path: Path) -> None:
    clock = ShiftedClock()
    runner, server = await start_server(tmp_path, clock, tick_seconds=0.05)
    try:
        await seed(server)
        session_id, tickets = server.session_id, server.tickets
        a = peer(server.base_url, session_id, tickets[0].secret, 0)
        b = peer(server.base_url, session_id, tickets[1].secret, 1)
        try:
            await a.connect()
            await b.connect()
            await a.ready()
            await b.ready()
            await a.wait_for("matched")
            await b.wait_for("matched")
            await a.connect_request()
            await b.wait_for("connection")
            await b.connect_accept()
            await a.wait_for("connection", lambda m: m.connection.state == "accepted")
            await a.leave()
            await b.wait_for("meeting_ended")
        finally:
            await a.close()
            await b.close()
    finally:
        await runner.cleanup()

    # Same data directory, a fresh process state.
    runner, server = await start_server(tmp_path, clock, tick_seconds=0.05)
    a = peer(server.base_url, session_id, tickets[0].secret, 0)
    b = peer(server.base_url, session_id, tickets[1].secret, 1)
    try:
        welcome = await a.connect()
        assert [m.partner.ticket_id for m in welcome.matches] == [tickets[1].id]
        assert welcome.matches[0].end_reason == "left" and welcome.matches[0].connection is not None
        assert welcome.matches[0].connection.state == "accepted"
        assert [(c.ticket_id, c.state) for c in welcome.connections] == [(tickets[1].id, "accepted")]
        await b.connect()
        # The rematch cooldown survived the restart: the two are not paired again.
        await a.ready()
        await b.ready()
        await asyncio.sleep(0.5)
        assert not a.received("matched") and not b.received("matched")
        waiting = await a.wait_for("waiting")
        assert isinstance(waiting, p.Waiting) and waiting.waiting.eligible_waiting == 0
        # ... until the cooldown is over.
        clock.advance(301)
        await a.wait_for("matched")
    finally:
        await a.close()
        await b.close()
        await runner.cleanup()


async def test_live_summary_counts_the_room(tmp_path: Path) -> None:
    runner, server = await start_server(tmp_path, ShiftedClock(), tick_seconds=0.05)
    a = None
    try:
        await seed(server)
        assert await server.rooms.live_summary(server.session_id) is None  # no room until someone joins
        a = peer(server.base_url, server.session_id, server.tickets[0].secret, 0)
        await a.connect()
        await a.ready()
        await a.wait_for("waiting")
        live = await server.rooms.live_summary(server.session_id)
        assert live is not None
        assert (live.attendees, live.connected, live.waiting, live.sockets) == (1, 1, 1, 1)
        assert live.peer_connections == 1
        # The same figures through the admin API.
        token = (tmp_path / "admin-token").read_text().strip()
        url = f"{server.base_url}/api/admin/sessions/{server.session_id}/live"
        async with (
            aiohttp.ClientSession() as http,
            http.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
        ):
            assert response.status == 200
            body = await response.json()
        assert body["running"] is True and body["live"]["waiting"] == 1 and body["live"]["sockets"] == 1
    finally:
        if a is not None:
            await a.close()
        await runner.cleanup()


async def post_connection(server: Server, secret: str, other_ticket_id: int) -> tuple[int, dict[str, Any]]:
    """`POST /api/me/connections/{other}` as the ticket holder: (status, JSON body)."""
    url = f"{server.base_url}/api/me/connections/{other_ticket_id}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, headers={"X-Ticket": secret}) as response,
    ):
        return response.status, await response.json()


async def meet_and_part(a: SyntheticPeer, b: SyntheticPeer) -> None:
    await a.ready()
    await b.ready()
    await a.wait_for("matched")
    await b.wait_for("matched")
    await a.leave()
    await a.wait_for("meeting_ended")
    await b.wait_for("meeting_ended")


async def no_connection_message_after(peer: SyntheticPeer) -> None:
    """Nothing about connections reached `peer` before the answer to a ping sent now."""
    since = len(peer.messages)
    await peer.ping()
    await peer.wait_for("pong", since=since)
    assert [m for m in peer.messages[since:] if m.type == "connection"] == []


async def test_http_connection_request_and_accept_go_through_the_live_room(
    server: Server, peers: PeerFactory
) -> None:
    a, b = await peers(0), await peers(1)
    ta, tb = server.tickets[0], server.tickets[1]
    await meet_and_part(a, b)
    room = server.rooms.get(server.session_id)
    assert room is not None

    # A asks over HTTP after the meeting: B's page hears of it at once, as does A's own.
    status, body = await post_connection(server, ta.secret, tb.id)
    assert status == 200, body
    assert (body["person"]["ticket_id"], body["state"], body["requested_by_me"]) == (tb.id, "requested", True)
    for peer, other, by in ((b, ta, "partner"), (a, tb, "me")):
        message = await peer.wait_for("connection")
        assert isinstance(message, p.Connection)
        assert (message.connection.ticket_id, message.connection.state, message.connection.requested_by) == (
            other.id,
            "requested",
            by,
        )
        assert message.partner is not None and message.partner.name == other.name
    assert [(c.other, c.state.value, c.requested_by) for c in room.matcher.view(str(tb.id)).connections] == [
        (str(ta.id), "requested", str(ta.id))
    ]
    # The row is written before the answer.
    rows = await server.store.connections_for_event(server.event_id)
    assert [(r.state, r.requested_by) for r in rows] == [("requested", ta.id)]

    # Asking again changes nothing and tells nobody anything new.
    status, body = await post_connection(server, ta.secret, tb.id)
    assert status == 200 and body["state"] == "requested"
    await no_connection_message_after(b)

    # B accepts over HTTP (asking back): A sees it accepted, the matcher and the store agree.
    status, body = await post_connection(server, tb.secret, ta.id)
    assert status == 200, body
    assert (body["state"], body["requested_by_me"], body["email"]) == ("accepted", False, ta.email)
    for peer in (a, b):
        accepted = await peer.wait_for("connection")
        assert isinstance(accepted, p.Connection) and accepted.connection.state == "accepted"
    view = room.matcher.view(str(ta.id))
    assert [(c.other, c.state.value, c.requested_by) for c in view.connections] == [
        (str(tb.id), "accepted", str(ta.id))
    ]
    rows = await server.store.connections_for_event(server.event_id)
    assert [(r.state, r.requested_by, r.accepted_at is not None) for r in rows] == [("accepted", ta.id, True)]
    assert (await room.live()).connections_accepted == 1

    # Once accepted, either side asking again is a no-op; a socket's own request agrees.
    for secret, other in ((ta.secret, tb.id), (tb.secret, ta.id)):
        status, body = await post_connection(server, secret, other)
        assert status == 200 and body["state"] == "accepted"
    await no_connection_message_after(a)

    # A page opened afresh shows the same state as the messages did.
    welcome = await b.reconnect()
    assert [(c.ticket_id, c.state, c.requested_by) for c in welcome.connections] == [
        (ta.id, "accepted", "partner")
    ]


async def test_http_connection_rules_hold_with_a_live_room(server: Server, peers: PeerFactory) -> None:
    a, b, c = await peers(0), await peers(1), await peers(2)
    ta, tb, tc = server.tickets[0], server.tickets[1], server.tickets[2]
    await meet_and_part(a, b)

    # Never met (both in the room, or one of them never joined it): refused, nothing sent or stored.
    for secret, other in ((ta.secret, tc.id), (tc.secret, ta.id), (server.tickets[3].secret, ta.id)):
        status, body = await post_connection(server, secret, other)
        assert status == 403 and "met" in body["error"], body
    # Oneself; an unknown ticket.
    status, body = await post_connection(server, ta.secret, ta.id)
    assert status == 422 and body["error"], body
    status, body = await post_connection(server, ta.secret, 999_999)
    assert status == 404 and body["error"], body
    # A block (made in the room) rules it out too.
    await b.block(ta.id)
    await b.wait_for("blocked")
    status, body = await post_connection(server, ta.secret, tb.id)
    assert status == 403 and body["error"], body
    for peer in (a, b, c):
        await no_connection_message_after(peer)
    assert await server.store.connections_for_event(server.event_id) == []
    room = server.rooms.get(server.session_id)
    assert room is not None and (await room.live()).connections_requested == 0


async def test_a_session_edited_by_the_organiser_applies_to_its_running_room(
    server: Server, peers: PeerFactory, tmp_path: Path
) -> None:
    a, b = await peers(0), await peers(1)
    # Meetings are 120 s; the organiser makes them 90 s while the attendees wait in the room.
    token = (tmp_path / "admin-token").read_text().strip()
    url = f"{server.base_url}/api/admin/sessions/{server.session_id}"
    auth = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.patch(url, json={"meeting_seconds": 90}, headers=auth) as response,
    ):
        assert response.status == 200, await response.text()
    welcome = await a.wait_for("welcome", predicate=lambda m: m.session.meeting_seconds == 90)
    assert isinstance(welcome, p.Welcome) and welcome.state == "idle"
    await a.ready()
    await b.ready()
    matched = await a.wait_for("matched")
    assert isinstance(matched, p.Matched)
    assert matched.meeting.ends_at - matched.meeting.started_at == 90


async def test_a_revoked_or_deleted_ticket_is_taken_out_of_the_room_at_once(
    server: Server, peers: PeerFactory, tmp_path: Path
) -> None:
    a, b, c = await peers(0), await peers(1), await peers(2)
    await a.ready()
    await b.ready()
    await a.wait_for("matched")
    token = (tmp_path / "admin-token").read_text().strip()
    base = f"{server.base_url}/api/admin/tickets"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        # A new name reaches the holder and the partner at once; the socket stays.
        mark_a, mark_b = len(a.messages), len(b.messages)
        async with http.patch(f"{base}/{server.tickets[0].id}", json={"name": "Renamed"}) as response:
            assert response.status == 200
        welcome = await a.wait_for("welcome", since=mark_a)
        assert isinstance(welcome, p.Welcome) and welcome.me.name == "Renamed"
        partner_view = await b.wait_for("welcome", since=mark_b)
        assert isinstance(partner_view, p.Welcome) and partner_view.meeting is not None
        assert partner_view.meeting.partner.name == "Renamed"
        # A new secret: the old link stops working and the open socket is closed; the meeting ends.
        async with http.patch(f"{base}/{server.tickets[0].id}", json={"regenerate_secret": True}) as response:
            assert response.status == 200
            new_secret = (await response.json())["secret"]
        error = await a.wait_for("error")
        assert isinstance(error, p.Error) and error.code == "ticket_revoked" and error.fatal
        await asyncio.wait_for(a.ws_closed.wait(), 5)
        assert a.close_code == p.CloseCode.TICKET_REVOKED
        ended = await b.wait_for("meeting_ended")
        assert isinstance(ended, p.MeetingEnded)
        refused = SyntheticPeer(server.base_url, server.session_id, server.tickets[0].secret, ice_servers=[])
        with pytest.raises(PeerError) as info:
            await refused.connect()
        await refused.close()
        assert info.value.code == "bad_ticket"
        assert new_secret != server.tickets[0].secret
        # Deleting a ticket takes its holder out too.
        async with http.delete(f"{base}/{server.tickets[2].id}") as response:
            assert response.status == 204
        error = await c.wait_for("error")
        assert isinstance(error, p.Error) and error.code == "ticket_revoked"


async def test_what_a_running_room_uses_cannot_be_deleted_until_its_session_is_over(
    server: Server, peers: PeerFactory, tmp_path: Path
) -> None:
    await peers(0)
    token = (tmp_path / "admin-token").read_text().strip()
    auth = {"Authorization": f"Bearer {token}"}
    session_url = f"{server.base_url}/api/admin/sessions/{server.session_id}"
    async with aiohttp.ClientSession(headers=auth) as http:
        for path in (f"/api/admin/sessions/{server.session_id}", f"/api/admin/events/{server.event_id}"):
            async with http.delete(server.base_url + path) as response:
                assert response.status == 409, path
                assert "running" in (await response.json())["error"]
        # A ticket goes at once, its holder taken out of the room first; so does one nobody uses.
        for ticket in (server.tickets[0], server.tickets[3]):
            async with http.delete(f"{server.base_url}/api/admin/tickets/{ticket.id}") as response:
                assert response.status == 204
        # The organiser ends the session early; with no meeting running, it can go.
        ended = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
        async with http.patch(session_url, json={"ends_at": ended}) as response:
            assert response.status == 200, await response.text()
        async with http.delete(session_url) as response:
            assert response.status == 204, await response.text()
