"""The attendee's API, authorised by the ticket secret from the join link."""

from __future__ import annotations

import asyncio

from aiohttp import web

from web import schemas as s
from web.admin_api import store_upload
from web.api_route import Route
from web.auth import check_ticket_event, require_ticket
from web.errors import Conflict, NotFound
from web.json_io import no_content, path_id, respond
from web.keys import CLOCK_KEY, CONFIG_KEY, MEDIA_FILES_KEY, ROOMS_KEY, STORE_KEY
from web.store import ConnectionView, SessionRecord, Store, TicketRecord, UploadQuota
from web.views import asset_out, connection_out, match_out, me_out, media_out, note_out

TAG = "attendee"
_TICKET_QUERY = {"t": "Ticket secret from the join link (or send the X-Ticket header)"}


async def _my_session(request: web.Request) -> tuple[TicketRecord, SessionRecord]:
    ticket = await require_ticket(request)
    session_id = path_id(request, "session_id")
    record = await request.app[STORE_KEY].get_session(session_id)
    if record is None:
        raise NotFound(f"session {session_id} not found")
    check_ticket_event(ticket, record.event_id)
    return ticket, record


async def get_session(request: web.Request) -> web.Response:
    ticket, record = await _my_session(request)
    event = await request.app[STORE_KEY].get_event(record.event_id)
    if event is None:
        raise NotFound(f"session {record.id} not found")
    now = request.app[CLOCK_KEY]()
    config = request.app[CONFIG_KEY]
    interests = request.app[STORE_KEY].interests
    return respond(
        s.AttendeeSessionOut(
            id=record.id,
            title=record.title,
            event=s.EventBrief(id=event.id, name=event.name, timezone=event.timezone),
            status=record.status(now),
            starts_at=record.starts_at,
            ends_at=record.ends_at,
            server_time=now,
            meeting_seconds=record.meeting_seconds,
            max_extensions=record.max_extensions,
            allow_rematch=record.allow_rematch,
            pre_session_media=media_out(record.pre_session_media) if record.pre_session_media else None,
            me=me_out(ticket),
            ice_servers=[s.IceServerOut.model_validate(x.to_json()) for x in config.ice_servers],
            interests=await interests.ticket_interests(ticket.id),
            offered_interests=await interests.event_tags(event.id),
        )
    )


async def get_matches(request: web.Request) -> web.Response:
    ticket, record = await _my_session(request)
    store = request.app[STORE_KEY]
    matches = await store.matches_for_ticket(ticket.id, record.id)
    interests = await store.interests.interests_of([ticket.id, *(m.partner_ticket_id for m in matches)])
    mine = interests.get(ticket.id, [])
    notes = await store.notes.notes_of(ticket.id)

    def shared(partner: int) -> list[str]:
        theirs = interests.get(partner, [])
        return [tag for tag in mine if tag in theirs]

    return respond(
        s.MatchList(
            matches=[
                match_out(
                    m,
                    shared(m.partner_ticket_id),
                    note_out(notes[m.meeting_id]) if m.meeting_id in notes else None,
                )
                for m in matches
            ]
        )
    )


async def get_connections(request: web.Request) -> web.Response:
    ticket = await require_ticket(request)
    connections = await request.app[STORE_KEY].connections_for_ticket(ticket.id)
    return respond(s.ConnectionList(connections=[connection_out(c) for c in connections]))


async def post_connection(request: web.Request) -> web.Response:
    ticket = await require_ticket(request)
    other_id = path_id(request, "ticket_id")
    store = request.app[STORE_KEY]
    other = await store.get_ticket(other_id)
    if other is None or other.event_id != ticket.event_id:
        raise NotFound(f"ticket {other_id} not found")
    # A live room the attendee joined takes it through its matcher: both pages hear of it at once and
    # the matcher and the store agree. Otherwise (or if the room could not write its row, which it
    # logs) the store decides, with the same rules: only people who met, no blocks, idempotent.
    rooms = request.app.get(ROOMS_KEY)
    handled = rooms is not None and await rooms.connect(ticket.event_id, ticket.id, other.id)
    view = await _connection_with(store, ticket.id, other.id) if handled else None
    if view is None:
        await store.request_connection(ticket.id, other.id, request.app[CLOCK_KEY]())
        view = await _connection_with(store, ticket.id, other.id)
    if view is None:
        raise Conflict(f"the connection with ticket {other.id} could not be saved; try again")
    return respond(connection_out(view))


async def _connection_with(store: Store, ticket_id: int, other_id: int) -> ConnectionView | None:
    views = await store.connections_for_ticket(ticket_id)
    return next((v for v in views if v.other_ticket_id == other_id), None)


async def get_backgrounds(request: web.Request) -> web.Response:
    ticket, record = await _my_session(request)
    store = request.app[STORE_KEY]
    event_assets = await store.event_backgrounds(record.event_id)
    mine = await store.ticket_backgrounds(ticket.id)
    return respond(
        s.BackgroundList(
            backgrounds=[asset_out(a, "event") for a in event_assets] + [asset_out(a, "me") for a in mine]
        )
    )


async def upload_background(request: web.Request) -> web.Response:
    ticket = await require_ticket(request)
    config = request.app[CONFIG_KEY]
    quota = UploadQuota(config.max_uploads_per_ticket, config.max_upload_bytes_per_ticket)
    record = await store_upload(request, ("image",), ticket.event_id, ticket.id, "background", quota)
    return respond(asset_out(record, "me"), status=201)


async def delete_background(request: web.Request) -> web.Response:
    ticket = await require_ticket(request)
    asset_id = path_id(request, "asset_id")
    store = request.app[STORE_KEY]
    record = await store.get_asset(asset_id)
    if record is None or record.ticket_id != ticket.id:
        raise NotFound(f"background {asset_id} not found")
    deleted = await store.delete_asset(asset_id)
    files = request.app[MEDIA_FILES_KEY]
    await asyncio.get_running_loop().run_in_executor(None, files.remove, [deleted.filename])
    return no_content()


_S = r"{session_id:\d+}"

ROUTES = [
    Route(
        "GET", f"/api/sessions/{_S}", get_session,
        "The session as an attendee sees it: upcoming (with pre-session media) / live / ended", TAG,
        "ticket", response=s.AttendeeSessionOut, query=_TICKET_QUERY,
    ),
    Route(
        "GET", f"/api/sessions/{_S}/matches", get_matches, "Who I met in this session", TAG, "ticket",
        response=s.MatchList, query=_TICKET_QUERY,
    ),
    Route(
        "GET", "/api/me/connections", get_connections, "My connection requests and connections", TAG,
        "ticket", response=s.ConnectionList, query=_TICKET_QUERY,
    ),
    Route(
        "POST", r"/api/me/connections/{ticket_id:\d+}", post_connection,
        "Ask to connect with someone I met; asking back accepts their request", TAG, "ticket",
        response=s.ConnectionOut, query=_TICKET_QUERY, errors=(409,),
        rules=("the ticket is someone else's: nobody can connect with themselves",),
    ),
    Route(
        "GET", f"/api/sessions/{_S}/backgrounds", get_backgrounds,
        "Background images: the organiser's and my own", TAG, "ticket", response=s.BackgroundList,
        query=_TICKET_QUERY,
    ),
    Route(
        "POST", "/api/me/backgrounds", upload_background, "Upload my own background image", TAG, "ticket",
        upload=("image",), response=s.AssetOut, status=201, query=_TICKET_QUERY, errors=(409,),
    ),
    Route(
        "DELETE", r"/api/me/backgrounds/{asset_id:\d+}", delete_background, "Delete my background image",
        TAG, "ticket", status=204, query=_TICKET_QUERY,
    ),
]  # fmt: skip
