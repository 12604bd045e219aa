"""The attendee WebSocket: `GET /api/sessions/{session_id}/ws?t=<ticket secret>`.

Checks the ticket and the session before anything else (the HTTP API's ticket rules, `web.auth`); a
refusal is one fatal `error` message and a close with an application close code (see
`wire.protocol.CloseCode`). An admitted socket joins the session's room and each text message goes to
`SessionRoom.handle()`.
"""

from __future__ import annotations

import contextlib
import logging

from aiohttp import WSMsgType, web

from web.auth import MAX_SECRET_LENGTH, ticket_secret
from web.json_io import MAX_ID
from web.keys import ROOMS_KEY, STORE_KEY
from web.room.errors import JoinRefused
from web.room.registry import RoomRegistry
from web.room.room import SessionRoom
from web.store import Store
from web.store.records import TicketRecord
from wire import protocol as p

logger = logging.getLogger(__name__)

WS_PATH = "/api/sessions/{session_id}/ws"


async def ws_handler(request: web.Request) -> web.StreamResponse:
    registry = request.app[ROOMS_KEY]
    ws = web.WebSocketResponse(
        heartbeat=registry.settings.heartbeat_seconds, max_msg_size=p.MAX_FRAME_BYTES, autoping=True
    )
    if not ws.can_prepare(request).ok:
        return web.json_response(
            {"error": "This is the signalling WebSocket: connect with a WebSocket client"}, status=400
        )
    await ws.prepare(request)
    room: SessionRoom | None = None
    try:
        room, ticket = await _admit(request, registry, request.app[STORE_KEY])
        attendee, sock = await room.join(ws, ticket)
    except JoinRefused as exc:
        logger.info("refused a socket for %s: %s", request.path, exc.message)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(p.dump(p.Error(code=exc.code, message=exc.message, fatal=True)))
        await ws.close(code=exc.close_code, message=exc.message.encode()[:120])
        return ws
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await room.handle(attendee, sock, msg.data)
            elif msg.type == WSMsgType.BINARY:
                sock.send_error("bad_message", "Binary frames are not part of the protocol: send JSON text")
            elif msg.type == WSMsgType.ERROR:
                logger.info("%s: socket error: %s", sock.name, ws.exception())
                break
    finally:
        await room.socket_closed(attendee, sock)
    return ws


async def _admit(
    request: web.Request, registry: RoomRegistry, store: Store
) -> tuple[SessionRoom, TicketRecord]:
    """The room and the ticket of a socket. The room of a live session is opened first (once, however
    many sockets arrive together), and answers from memory (its session and its event's tickets); the
    store is asked for a ticket made since, or when the session is not live."""
    secret = ticket_secret(request) or ""
    if not secret:
        raise JoinRefused(
            "bad_ticket", "A ticket is required: open the link from your invitation", p.CloseCode.BAD_TICKET
        )
    try:
        session_id = int(request.match_info["session_id"])
    except ValueError:
        raise JoinRefused("session_not_found", "No such session", p.CloseCode.SESSION_NOT_FOUND) from None
    if len(secret) > MAX_SECRET_LENGTH:
        raise JoinRefused("bad_ticket", "This ticket link is not valid", p.CloseCode.BAD_TICKET)
    if not 0 < session_id < MAX_ID:
        raise JoinRefused("session_not_found", "No such session", p.CloseCode.SESSION_NOT_FOUND)
    running = await registry.open_room(session_id)
    ticket = running.roster.ticket_by_secret(secret) if running is not None else None
    if ticket is None:
        ticket = await store.get_ticket_by_secret(secret)
        if ticket is None:
            raise JoinRefused("bad_ticket", "This ticket link is not valid", p.CloseCode.BAD_TICKET)
        if running is not None:
            running.roster.remember(ticket)
    session = running.session if running is not None else await registry.session(session_id)
    if session is None:
        raise JoinRefused("session_not_found", "No such session", p.CloseCode.SESSION_NOT_FOUND)
    if session.event_id != ticket.event_id:
        raise JoinRefused("wrong_event", "This ticket is for another event", p.CloseCode.WRONG_EVENT)
    room = await registry.room_for(session, str(ticket.id))
    return room, ticket
