"""Removal from a live session: the attendee is taken out at once and cannot rejoin until let back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sfu_server import PeerFactory, Server

from loadtest.synthetic_peer import PeerError, SyntheticPeer
from wire import protocol as p


async def _refused(server: Server, index: int) -> PeerError:
    peer = SyntheticPeer(server.base_url, server.session_id, server.tickets[index].secret, ice_servers=[])
    with pytest.raises(PeerError) as info:
        await peer.connect()
    await peer.close()
    return info.value


async def test_a_removed_attendee_is_taken_out_at_once_and_cannot_rejoin(
    server: Server, peers: PeerFactory, tmp_path: Path
) -> None:
    a, b = await peers(0), await peers(1)
    await a.ready()
    await b.ready()
    await a.wait_for("matched")
    await b.wait_for("matched")
    token = (tmp_path / "admin-token").read_text().strip()
    removals = f"{server.base_url}/api/admin/sessions/{server.session_id}/removals"
    removed = server.tickets[1]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.post(removals, json={"ticket_id": removed.id}) as response:
            assert response.status == 201
        error = await b.wait_for("error")
        assert isinstance(error, p.Error) and error.code == "removed_from_session" and error.fatal
        await asyncio.wait_for(b.ws_closed.wait(), 5)
        assert b.close_code == p.CloseCode.REMOVED_FROM_SESSION == 4012
        ended = await a.wait_for("meeting_ended")
        assert isinstance(ended, p.MeetingEnded)
        assert (ended.reason, ended.left_by) == ("left", "partner")
        # The same link is refused, with the same code, while the removal stands.
        refusal = await _refused(server, 1)
        assert (refusal.code, refusal.close_code) == ("removed_from_session", 4012)
        # The partner stays in the room.
        await a.hello()
        assert isinstance(await a.wait_for("welcome"), p.Welcome)
        # Let back: the ticket joins again.
        async with http.delete(f"{removals}/{removed.id}") as response:
            assert response.status == 204
        back = SyntheticPeer(server.base_url, server.session_id, removed.secret, ice_servers=[])
        try:
            welcome = await back.connect(negotiate=False)
            assert welcome.me.ticket_id == removed.id
        finally:
            await back.close()


async def test_a_room_that_starts_refuses_those_removed_before(server: Server, peers: PeerFactory) -> None:
    assert server.rooms.get(server.session_id) is None
    await server.store.moderation.remove(server.session_id, server.tickets[2].id, datetime.now(UTC))
    refusal = await _refused(server, 2)
    assert (refusal.code, refusal.close_code) == ("removed_from_session", p.CloseCode.REMOVED_FROM_SESSION)
    room = server.rooms.get(server.session_id)
    assert room is not None and str(server.tickets[2].id) in room.roster.removed
    # Everyone else still joins.
    other = await peers(3)
    assert other.close_code is None
