"""What a crash can lose: a server killed with SIGKILL loses no meeting or connection row that an
attendee was told about (the rooms send those messages only once the rows are committed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from bench.control_server import Admin, ServerProcess
from web.store import Store, default_database_url


async def next_of(
    ws: aiohttp.ClientWebSocketResponse, kind: str, where: Callable[[dict[str, Any]], bool] = lambda m: True
) -> dict[str, Any]:
    """The next message of type `kind` for which `where` holds."""
    async for msg in ws:
        data = json.loads(msg.data)
        if data["type"] == kind and where(data):
            return data
    raise AssertionError(f"the socket closed before a {kind!r} message")


async def test_sigkill_loses_nothing_an_attendee_was_told() -> None:
    server = ServerProcess(log_level="WARNING")
    try:
        await server.start()
        async with aiohttp.ClientSession() as http:
            live = await Admin(http, server.url, server.admin_token).live_session(2, 60, 60)
            url = f"{server.url}/api/sessions/{live.session_id}/ws?t="
            async with (
                http.ws_connect(url + live.secrets[0], timeout=aiohttp.ClientWSTimeout(ws_close=5)) as a,
                http.ws_connect(url + live.secrets[1], timeout=aiohttp.ClientWSTimeout(ws_close=5)) as b,
            ):
                me_a = (await next_of(a, "welcome"))["me"]["ticket_id"]
                me_b = (await next_of(b, "welcome"))["me"]["ticket_id"]
                await a.send_json({"type": "ready"})
                await b.send_json({"type": "ready"})
                matched = await next_of(a, "matched")
                await next_of(b, "matched")
                await a.send_json({"type": "connect_request"})
                await next_of(b, "connection")
                await b.send_json({"type": "connect_accept"})
                await next_of(a, "connection", lambda m: m["connection"]["state"] == "accepted")
                await server.kill()  # the moment the attendee is told: nothing flushed after this
        store = Store(default_database_url(server.dir / "data"))
        try:
            [meeting] = await store.meetings_for_session(live.session_id)
            assert {meeting.a_ticket_id, meeting.b_ticket_id} == {me_a, me_b}
            assert meeting.started_at.timestamp() == pytest.approx(matched["meeting"]["started_at"], abs=1e-3)
            [link] = await store.connections_for_ticket(me_a)
            assert link.state == "accepted"
        finally:
            await store.close()
    finally:
        await server.stop()
        server.remove_files()
