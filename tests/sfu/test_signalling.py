"""The signalling WebSocket: who may connect, and what happens with bad or out-of-order messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sfu_server import PeerFactory, Server

from loadtest.synthetic_peer import PeerError, SyntheticPeer
from web.store import EventInput, SessionInput, TicketInput
from wire import protocol as p


async def refused(server: Server, session_id: int, secret: str) -> PeerError:
    peer = SyntheticPeer(server.base_url, session_id, secret, ice_servers=[])
    try:
        with pytest.raises(PeerError) as info:
            await peer.connect()
    finally:
        await peer.close()
    return info.value


async def test_missing_and_unknown_tickets_are_refused(server: Server) -> None:
    for secret in ("", "not-a-ticket"):
        error = await refused(server, server.session_id, secret)
        assert error.code == "bad_ticket" and error.close_code == p.CloseCode.BAD_TICKET
        assert "ticket" in str(error).lower()


async def test_ticket_of_another_event_and_unknown_session_are_refused(server: Server) -> None:
    now = datetime.now(UTC)
    other = await server.store.create_event(EventInput(name="Other", timezone="UTC", days=(now.date(),)))
    await server.store.create_ticket_type(other.id, "A")
    [stranger] = await server.store.create_tickets(
        other.id, [TicketInput(name="Stranger", email="s@example.org", ticket_type="A")]
    )
    error = await refused(server, server.session_id, stranger.secret)
    assert error.code == "wrong_event" and error.close_code == p.CloseCode.WRONG_EVENT
    error = await refused(server, 9999, server.tickets[0].secret)
    assert error.code == "session_not_found" and error.close_code == p.CloseCode.SESSION_NOT_FOUND


@pytest.mark.parametrize("session_id", [2**31, 2**63, 2**64 + 1, 0, -1])
async def test_session_ids_out_of_range_are_unknown_sessions_not_server_errors(
    server: Server, session_id: int
) -> None:
    error = await refused(server, session_id, server.tickets[0].secret)
    assert error.code == "session_not_found" and error.close_code == p.CloseCode.SESSION_NOT_FOUND


async def test_an_absurdly_long_ticket_secret_is_refused_without_a_lookup(server: Server) -> None:
    error = await refused(server, server.session_id, "x" * 1000)
    assert error.code == "bad_ticket" and error.close_code == p.CloseCode.BAD_TICKET


async def test_sessions_that_are_not_live_are_refused(server: Server) -> None:
    now = datetime.now(UTC)
    later = await server.store.create_session(
        server.event_id,
        SessionInput(
            title="Later",
            starts_at=now + timedelta(minutes=30),
            ends_at=now + timedelta(minutes=50),
            meeting_seconds=60,
        ),
    )
    error = await refused(server, later.id, server.tickets[0].secret)
    assert error.code == "session_not_live" and error.close_code == p.CloseCode.SESSION_NOT_LIVE
    assert "not started" in str(error)
    server.clock.advance(2 * 3600)  # now both are over
    for session_id in (server.session_id, later.id):
        error = await refused(server, session_id, server.tickets[0].secret)
        assert error.code == "session_not_live" and "ended" in str(error)


async def test_plain_http_request_gets_a_json_error(server: Server) -> None:
    url = f"{server.base_url}/api/sessions/{server.session_id}/ws?t={server.tickets[0].secret}"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 400
        assert "WebSocket" in (await response.json())["error"]


async def test_malformed_messages_get_errors_and_the_attendee_carries_on(
    server: Server, peers: PeerFactory
) -> None:
    a, b = await peers(0), await peers(1)
    bad = [
        "this is not json",
        "[1, 2]",
        json.dumps({"type": "teleport"}),
        json.dumps({"type": "ready", "surprise": True}),
        json.dumps({"type": "report", "ticket_id": "x", "reason": ""}),
        json.dumps({"type": "set_background", "background": {"kind": "color", "rgb": [300, 0, 0]}}),
        json.dumps({"no_type": 1}),
    ]
    for text in bad:
        await a.send_raw(text)
        error = await a.wait_for("error")
        assert isinstance(error, p.Error) and error.code == "bad_message" and not error.fatal
        assert error.message
    assert a._ws is not None
    await a._ws.send_bytes(b"\x00\x01")
    error = await a.wait_for("error")
    assert isinstance(error, p.Error) and error.code == "bad_message"

    # Still fully working: the attendee can meet someone.
    await a.ready()
    await b.ready()
    await a.wait_for("matched")
    await b.wait_for("matched")


async def test_out_of_order_messages_get_clear_errors(server: Server, peers: PeerFactory) -> None:
    a = await peers(0)
    cases = [
        (a.leave, "not_in_meeting"),
        (a.extend_offer, "not_in_meeting"),
        (a.extend_accept, "not_in_meeting"),
        (a.connect_request, "not_in_meeting"),  # no partner to name
        (a.block, "not_in_meeting"),
    ]
    for command, code in cases:
        await command()
        error = await a.wait_for("error")
        assert isinstance(error, p.Error) and error.code == code, (command, error)
        assert error.ref is not None  # points at the message that caused it

    await a.connect_request(server.tickets[1].id)  # never met: may not connect
    error = await a.wait_for("error")
    assert isinstance(error, p.Error) and error.code in ("invalid_command", "unknown_attendee")
    await a.connect_accept(424242)
    error = await a.wait_for("error")
    assert isinstance(error, p.Error) and error.code in ("invalid_command", "unknown_attendee")
    await a.send(p.Answer(sdp="v=0"))
    error = await a.wait_for("error")
    assert isinstance(error, p.Error) and error.code == "invalid_command"
    await a.send(p.Hello(protocol=1))
    assert isinstance(await a.wait_for("welcome"), p.Welcome)


async def test_bad_sdp_and_ice_are_rejected_and_a_good_offer_still_works(
    server: Server, peers: PeerFactory
) -> None:
    a = await peers(0, connect=False)
    await a.connect(negotiate=False)
    await a.send(p.Ice(candidate=p.IceCandidate(candidate="candidate:1 1 UDP 1 127.0.0.1 9 typ host")))
    error = await a.wait_for("error")
    assert isinstance(error, p.Error) and error.code == "sdp_failed"
    await a.send(p.Offer(sdp="v=0\r\nthis is not sdp\r\n"))
    error = await a.wait_for("error")
    assert isinstance(error, p.Error) and error.code == "sdp_failed"
    await a.negotiate()
    await a.send(p.Ice(candidate=p.IceCandidate(candidate="candidate:garbage")))
    error = await a.wait_for("error")
    assert isinstance(error, p.Error) and error.code == "sdp_failed"
    await a.send(p.Ice(candidate=None))  # end of candidates: fine
    await a.wait_for_video(lambda s: True)


async def test_a_flood_of_malformed_messages_closes_the_socket(server: Server, peers: PeerFactory) -> None:
    a = await peers(0)
    for _ in range(25):
        await a.send_raw("{")
    await a.wait_for("error", lambda m: m.fatal, within=5)
    await a.ws_closed.wait()
    assert a.close_code == p.CloseCode.PROTOCOL_ERROR
    # The ticket can come straight back.
    again = await peers(0)
    assert again.welcome is not None


async def test_unsupported_protocol_version_is_refused(server: Server, peers: PeerFactory) -> None:
    a = await peers(0, connect=False)
    await a.connect(negotiate=False)
    await a.send(p.Hello(protocol=99))
    error = await a.wait_for("error")
    assert isinstance(error, p.Error) and error.code == "unsupported_version" and error.fatal
    await a.ws_closed.wait()
    assert a.close_code == p.CloseCode.PROTOCOL_ERROR


async def test_ping_pong_carries_server_time(server: Server, peers: PeerFactory) -> None:
    a = await peers(0)
    await a.ping()
    pong = await a.wait_for("pong")
    assert isinstance(pong, p.Pong) and pong.id is not None and abs(pong.server_time - server.clock()) < 5
