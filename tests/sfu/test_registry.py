"""Rooms across the server's life: created on first join, stopped cleanly, history kept over a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from conftest import COLOURS, ShiftedClock, seed, start_server

from sfu import protocol as p
from sfu.synthetic_peer import SyntheticPeer


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
        assert all(pt.connection is None for pt in room.participants.values())
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
        assert server.rooms.live_summary(server.session_id) is None  # no room until someone joins
        a = peer(server.base_url, server.session_id, server.tickets[0].secret, 0)
        await a.connect()
        await a.ready()
        await a.wait_for("waiting")
        live = server.rooms.live_summary(server.session_id)
        assert live is not None
        assert (live["attendees"], live["connected"], live["waiting"], live["sockets"]) == (1, 1, 1, 1)
        assert live["peer_connections"] == 1
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
