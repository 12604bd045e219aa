"""The attendee WebSocket: `GET /api/sessions/{session_id}/ws?t=<ticket secret>`.

Checks the ticket and the session before anything else; a refusal is one fatal `error` message and a
close with an application close code (see `wire.protocol.CloseCode`). An admitted socket joins the
session's room and each text message goes to `SessionRoom.handle()`.
"""

from __future__ import annotations

import contextlib
import logging

from aiohttp import WSMsgType, web

from sfu.errors import JoinRefused
from sfu.keys import ROOMS_KEY
from sfu.registry import RoomRegistry
from sfu.room import SessionRoom
from web.keys import STORE_KEY
from web.store import Store
from web.store.records import TicketRecord
from wire import protocol as p

logger = logging.getLogger(__name__)


async def ws_handler(request: web.Request) -> web.StreamResponse:
    registry = request.app[ROOMS_KEY]
    ws = web.WebSocketResponse(
        heartbeat=registry.settings.heartbeat_seconds, max_msg_size=p.MAX_MESSAGE_BYTES, autoping=True
    )
    if not ws.can_prepare(request).ok:
        return web.json_response(
            {"error": "This is the signalling WebSocket: connect with a WebSocket client"}, status=400
        )
    await ws.prepare(request)
    try:
        room, ticket = await _admit(request, registry, request.app[STORE_KEY])
        participant, conn = await room.join(ws, ticket)
    except JoinRefused as exc:
        logger.info("refused a socket for %s: %s", request.path, exc.message)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(p.dump(p.Error(code=exc.code, message=exc.message, fatal=True)))
        await ws.close(code=exc.close_code, message=exc.message.encode()[:120])
        return ws
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await room.handle(participant, conn, msg.data)
            elif msg.type == WSMsgType.BINARY:
                conn.send_error("bad_message", "Binary frames are not part of the protocol: send JSON text")
            elif msg.type == WSMsgType.ERROR:
                logger.info("%s: socket error: %s", conn.name, ws.exception())
                break
    finally:
        await room.connection_closed(participant, conn)
    return ws


async def _admit(
    request: web.Request, registry: RoomRegistry, store: Store
) -> tuple[SessionRoom, TicketRecord]:
    secret = request.query.get("t") or request.headers.get("X-Ticket") or ""
    if not secret:
        raise JoinRefused(
            "bad_ticket", "A ticket is required: open the link from your invitation", p.CloseCode.BAD_TICKET
        )
    ticket = await store.get_ticket_by_secret(secret)
    if ticket is None:
        raise JoinRefused("bad_ticket", "This ticket link is not valid", p.CloseCode.BAD_TICKET)
    try:
        session_id = int(request.match_info["session_id"])
    except ValueError:
        raise JoinRefused("session_not_found", "No such session", p.CloseCode.SESSION_NOT_FOUND) from None
    session = await store.get_session(session_id)
    if session is None:
        raise JoinRefused("session_not_found", "No such session", p.CloseCode.SESSION_NOT_FOUND)
    if session.event_id != ticket.event_id:
        raise JoinRefused("wrong_event", "This ticket is for another event", p.CloseCode.WRONG_EVENT)
    room = await registry.room_for(session, str(ticket.id))
    return room, ticket
