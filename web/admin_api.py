"""The organiser's API: events, ticket types, tickets and assets; sessions in `web.admin_sessions`."""

from __future__ import annotations

from aiohttp import web

from web import admin_sessions
from web import schemas as s
from web.admin_access import (
    EVENT_ID,
    TAG,
    base_url,
    refuse_while_live,
    remove_files,
    request_now,
    require_event,
    require_session,
    require_ticket,
    store_of,
    store_upload,
)
from web.api_route import Route
from web.auth import Admin, require_admin
from web.errors import NotFound
from web.json_io import no_content, path_id, read_json, respond
from web.keys import ROOMS_KEY
from web.store import EventInput, TicketInput
from web.views import asset_out, event_out, session_out, ticket_out, ticket_type_out

# The organiser's helpers that other API modules use too.
__all__ = ["ROUTES", "base_url", "require_event", "require_session", "store_upload"]


# ---- events ------------------------------------------------------------------------------------------------


async def list_events(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    events = await store_of(request).list_events()
    if admin.event_id is not None:
        events = [e for e in events if e.id == admin.event_id]
    return respond(s.EventList(events=[event_out(e) for e in events]))


async def create_event(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    admin.check_global()
    body = await read_json(request, s.EventIn)
    event = await store_of(request).create_event(EventInput(body.name, body.timezone, tuple(body.days)))
    return respond(event_out(event), status=201)


async def get_event(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await require_event(request, admin)
    store = store_of(request)
    types = await store.list_ticket_types(event.id)
    sessions = await store.list_sessions(event.id)
    now = request_now(request)
    return respond(
        s.EventDetail(
            **event_out(event).model_dump(),
            ticket_types=[ticket_type_out(t) for t in types],
            sessions=[session_out(x, now) for x in sessions],
        )
    )


async def patch_event(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await require_event(request, admin)
    body = await read_json(request, s.EventPatch)
    data = EventInput(
        name=body.name if body.name is not None else event.name,
        timezone=body.timezone if body.timezone is not None else event.timezone,
        days=tuple(body.days) if body.days is not None else event.days,
    )
    return respond(event_out(await store_of(request).update_event(event.id, data)))


async def delete_event(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    admin.check_global()
    event_id = path_id(request, "event_id")
    refuse_while_live(request, "a session of this event is running", event_id=event_id)
    await remove_files(request, await store_of(request).delete_event(event_id))
    return no_content()


# ---- ticket types ------------------------------------------------------------------------------------------


async def list_ticket_types(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await require_event(request, admin)
    types = await store_of(request).list_ticket_types(event.id)
    return respond(s.TicketTypeList(ticket_types=[ticket_type_out(t) for t in types]))


async def create_ticket_type(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await require_event(request, admin)
    body = await read_json(request, s.TicketTypeIn)
    return respond(
        ticket_type_out(await store_of(request).create_ticket_type(event.id, body.name)), status=201
    )


async def _ticket_type_id(request: web.Request, admin: Admin) -> int:
    type_id = path_id(request, "type_id")
    record = await store_of(request).get_ticket_type(type_id)
    if record is None:
        raise NotFound(f"ticket type {type_id} not found")
    admin.check_event(record.event_id)
    return type_id


async def patch_ticket_type(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    type_id = await _ticket_type_id(request, admin)
    body = await read_json(request, s.TicketTypeIn)
    return respond(ticket_type_out(await store_of(request).rename_ticket_type(type_id, body.name)))


async def delete_ticket_type(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    type_id = await _ticket_type_id(request, admin)
    await store_of(request).delete_ticket_type(type_id)
    return no_content()


# ---- tickets -----------------------------------------------------------------------------------------------


async def list_tickets(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await require_event(request, admin)
    store = store_of(request)
    tickets = await store.list_tickets(event.id)
    sessions = await store.list_sessions(event.id)
    base = base_url(request)
    interests = await store.interests.interests_of(t.id for t in tickets)
    return respond(
        s.TicketList(tickets=[ticket_out(t, sessions, base, interests.get(t.id, ())) for t in tickets])
    )


async def create_tickets(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await require_event(request, admin)
    body = await read_json(request, s.TicketsIn)
    store = store_of(request)
    created = await store.create_tickets(
        event.id,
        [
            TicketInput(
                name=t.name,
                email=t.email,
                ticket_type=t.ticket_type,
                headline=t.headline or None,
                company=t.company or None,
                is_admin=t.is_admin,
                interests=tuple(t.interests),
            )
            for t in body.tickets
        ],
    )
    sessions = await store.list_sessions(event.id)
    base = base_url(request)
    interests = await store.interests.interests_of(t.id for t in created)
    return respond(
        s.TicketList(tickets=[ticket_out(t, sessions, base, interests.get(t.id, ())) for t in created]),
        status=201,
    )


async def get_ticket(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    ticket = await require_ticket(request, admin)
    store = store_of(request)
    sessions = await store.list_sessions(ticket.event_id)
    interests = await store.interests.ticket_interests(ticket.id)
    return respond(ticket_out(ticket, sessions, base_url(request), interests))


async def patch_ticket(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    ticket = await require_ticket(request, admin)
    body = await read_json(request, s.TicketPatch)
    fields = body.model_fields_set
    data = TicketInput(
        name=body.name if body.name is not None else ticket.name,
        email=body.email if body.email is not None else ticket.email,
        ticket_type=body.ticket_type if body.ticket_type is not None else ticket.ticket_type,
        headline=(body.headline or None) if "headline" in fields else ticket.headline,
        company=(body.company or None) if "company" in fields else ticket.company,
        is_admin=body.is_admin if body.is_admin is not None else ticket.is_admin,
    )
    store = store_of(request)
    updated = await store.update_ticket(ticket.id, data, new_secret=body.regenerate_secret)
    rooms = request.app.get(ROOMS_KEY)
    if rooms is not None:
        await rooms.ticket_changed(ticket, updated)  # a running room applies it at once
    sessions = await store.list_sessions(ticket.event_id)
    interests = await store.interests.ticket_interests(ticket.id)
    return respond(ticket_out(updated, sessions, base_url(request), interests))


async def delete_ticket(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    ticket = await require_ticket(request, admin)
    rooms = request.app.get(ROOMS_KEY)
    if rooms is not None:
        # Its holder is taken out of running sessions (a meeting of theirs ends) before it goes.
        await rooms.ticket_changed(ticket, None)
    await remove_files(request, await store_of(request).delete_ticket(ticket.id))
    return no_content()


# ---- assets ------------------------------------------------------------------------------------------------


async def list_assets(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await require_event(request, admin)
    assets = await store_of(request).event_backgrounds(event.id)
    return respond(s.AssetList(assets=[asset_out(a, "event") for a in assets]))


async def upload_asset(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await require_event(request, admin)
    record = await store_upload(request, ("image",), event.id, None, "background")
    return respond(asset_out(record, "event"), status=201)


async def delete_asset(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    asset_id = path_id(request, "asset_id")
    store = store_of(request)
    record = await store.get_asset(asset_id)
    if record is None:
        raise NotFound(f"asset {asset_id} not found")
    admin.check_event(record.event_id)
    deleted = await store.delete_asset(asset_id)
    await remove_files(request, [deleted.filename])
    return no_content()


_TICKET_RULES = (
    "ticket_type names one of the event's ticket types",
    "each interest is one of the event's interest tags, none listed twice",
)

ROUTES = [
    Route("GET", "/api/admin/events", list_events, "List events", TAG, "admin", response=s.EventList),
    Route(
        "POST", "/api/admin/events", create_event, "Create an event", TAG, "admin",
        body=s.EventIn, response=s.EventOut, status=201, errors=(409,),
    ),
    Route(
        "GET", f"/api/admin/events/{EVENT_ID}", get_event, "An event with its ticket types and sessions", TAG,
        "admin", response=s.EventDetail,
    ),
    Route(
        "PATCH", f"/api/admin/events/{EVENT_ID}", patch_event, "Change an event", TAG, "admin",
        body=s.EventPatch, response=s.EventOut, errors=(409,),
    ),
    Route(
        "DELETE", f"/api/admin/events/{EVENT_ID}", delete_event, "Delete an event and everything in it", TAG,
        "admin", status=204,
    ),
    Route(
        "GET", f"/api/admin/events/{EVENT_ID}/ticket-types", list_ticket_types, "List ticket types", TAG,
        "admin", response=s.TicketTypeList,
    ),
    Route(
        "POST", f"/api/admin/events/{EVENT_ID}/ticket-types", create_ticket_type, "Create a ticket type", TAG,
        "admin", body=s.TicketTypeIn, response=s.TicketTypeOut, status=201, errors=(409,),
    ),
    Route(
        "PATCH", r"/api/admin/ticket-types/{type_id:\d+}", patch_ticket_type, "Rename a ticket type", TAG,
        "admin", body=s.TicketTypeIn, response=s.TicketTypeOut, errors=(409,),
    ),
    Route(
        "DELETE", r"/api/admin/ticket-types/{type_id:\d+}", delete_ticket_type,
        "Delete an unused ticket type", TAG, "admin", status=204, errors=(409,),
    ),
    Route(
        "GET", f"/api/admin/events/{EVENT_ID}/tickets", list_tickets, "List tickets with their join links",
        TAG, "admin", response=s.TicketList,
    ),
    Route(
        "POST", f"/api/admin/events/{EVENT_ID}/tickets", create_tickets,
        "Create tickets in bulk (all or none); returns them with their join links", TAG, "admin",
        body=s.TicketsIn, response=s.TicketList, status=201, errors=(409,), rules=_TICKET_RULES,
    ),
    Route(
        "GET", r"/api/admin/tickets/{ticket_id:\d+}", get_ticket, "A ticket with its join links", TAG,
        "admin", response=s.TicketOut,
    ),
    Route(
        "PATCH", r"/api/admin/tickets/{ticket_id:\d+}", patch_ticket,
        "Change a ticket (a new secret, role or ticket type takes its holder out of running sessions)",
        TAG, "admin",
        body=s.TicketPatch, response=s.TicketOut, errors=(409,), rules=_TICKET_RULES,
    ),
    Route(
        "DELETE", r"/api/admin/tickets/{ticket_id:\d+}", delete_ticket,
        "Delete a ticket and its history (its holder is taken out of running sessions first)",
        TAG, "admin", status=204,
    ),
    *admin_sessions.ROUTES,
    Route(
        "GET", f"/api/admin/events/{EVENT_ID}/assets", list_assets, "The event's background images", TAG,
        "admin", response=s.AssetList,
    ),
    Route(
        "POST", f"/api/admin/events/{EVENT_ID}/assets", upload_asset,
        "Upload a background image offered to every attendee", TAG, "admin", response=s.AssetOut,
        upload=("image",), status=201,
    ),
    Route(
        "DELETE", r"/api/admin/assets/{asset_id:\d+}", delete_asset, "Delete an uploaded file", TAG, "admin",
        status=204,
    ),
]  # fmt: skip
