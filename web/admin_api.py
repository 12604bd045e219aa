"""The organiser's API: events, ticket types, tickets, sessions, assets, summaries."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from web import schemas as s
from web import uploads
from web.auth import Admin, require_admin
from web.errors import Conflict, NotFound, Unprocessable
from web.json_io import no_content, path_id, read_json, respond
from web.keys import CLOCK_KEY, CONFIG_KEY, MEDIA_FILES_KEY, ROOMS_KEY, STORE_KEY, UPLOAD_WORKERS_KEY
from web.route import Route
from web.store import (
    MAX_SESSION_DURATION,
    AssetInput,
    AssetRecord,
    EventInput,
    EventRecord,
    SessionInput,
    SessionRecord,
    Store,
    TicketInput,
    TicketRecord,
    UploadQuota,
)
from web.views import (
    asset_out,
    event_out,
    session_out,
    summary_out,
    ticket_out,
    ticket_type_out,
)

TAG = "admin"


def _store(request: web.Request) -> Store:
    return request.app[STORE_KEY]


def _now(request: web.Request) -> datetime:
    return request.app[CLOCK_KEY]()


def base_url(request: web.Request) -> str:
    return request.app[CONFIG_KEY].base_url(f"{request.scheme}://{request.host}")


async def _remove_files(request: web.Request, names: list[str]) -> None:
    if names:
        files = request.app[MEDIA_FILES_KEY]
        await asyncio.get_running_loop().run_in_executor(None, files.remove, names)


def _limits(request: web.Request) -> uploads.Limits:
    c = request.app[CONFIG_KEY]
    return uploads.Limits(c.max_image_bytes, c.max_video_bytes, c.max_image_pixels)


async def _event(request: web.Request, admin: Admin, name: str = "event_id") -> EventRecord:
    event_id = path_id(request, name)
    admin.check_event(event_id)
    event = await _store(request).get_event(event_id)
    if event is None:
        raise NotFound(f"event {event_id} not found")
    return event


async def _session(request: web.Request, admin: Admin) -> SessionRecord:
    session_id = path_id(request, "session_id")
    record = await _store(request).get_session(session_id)
    if record is None:
        raise NotFound(f"session {session_id} not found")
    admin.check_event(record.event_id)
    return record


# For the routes of other modules (interests, exports) that act on an event or a session.
require_event = _event
require_session = _session


async def _ticket(request: web.Request, admin: Admin) -> TicketRecord:
    ticket_id = path_id(request, "ticket_id")
    record = await _store(request).get_ticket(ticket_id)
    if record is None:
        raise NotFound(f"ticket {ticket_id} not found")
    admin.check_event(record.event_id)
    return record


# ---- events ------------------------------------------------------------------------------------------------


async def list_events(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    events = await _store(request).list_events()
    if admin.event_id is not None:
        events = [e for e in events if e.id == admin.event_id]
    return respond(s.EventList(events=[event_out(e) for e in events]))


async def create_event(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    admin.check_global()
    body = await read_json(request, s.EventIn)
    event = await _store(request).create_event(EventInput(body.name, body.timezone, tuple(body.days)))
    return respond(event_out(event), status=201)


async def get_event(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await _event(request, admin)
    store = _store(request)
    types = await store.list_ticket_types(event.id)
    sessions = await store.list_sessions(event.id)
    now = _now(request)
    return respond(
        s.EventDetail(
            **event_out(event).model_dump(),
            ticket_types=[ticket_type_out(t) for t in types],
            sessions=[session_out(x, now) for x in sessions],
        )
    )


async def patch_event(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await _event(request, admin)
    body = await read_json(request, s.EventPatch)
    data = EventInput(
        name=body.name if body.name is not None else event.name,
        timezone=body.timezone if body.timezone is not None else event.timezone,
        days=tuple(body.days) if body.days is not None else event.days,
    )
    return respond(event_out(await _store(request).update_event(event.id, data)))


async def delete_event(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    admin.check_global()
    event_id = path_id(request, "event_id")
    _refuse_while_live(request, "a session of this event is running", event_id=event_id)
    await _remove_files(request, await _store(request).delete_event(event_id))
    return no_content()


# ---- ticket types ------------------------------------------------------------------------------------------


async def list_ticket_types(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await _event(request, admin)
    types = await _store(request).list_ticket_types(event.id)
    return respond(s.TicketTypeList(ticket_types=[ticket_type_out(t) for t in types]))


async def create_ticket_type(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await _event(request, admin)
    body = await read_json(request, s.TicketTypeIn)
    return respond(ticket_type_out(await _store(request).create_ticket_type(event.id, body.name)), status=201)


async def _ticket_type_id(request: web.Request, admin: Admin) -> int:
    type_id = path_id(request, "type_id")
    record = await _store(request).get_ticket_type(type_id)
    if record is None:
        raise NotFound(f"ticket type {type_id} not found")
    admin.check_event(record.event_id)
    return type_id


async def patch_ticket_type(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    type_id = await _ticket_type_id(request, admin)
    body = await read_json(request, s.TicketTypeIn)
    return respond(ticket_type_out(await _store(request).rename_ticket_type(type_id, body.name)))


async def delete_ticket_type(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    type_id = await _ticket_type_id(request, admin)
    await _store(request).delete_ticket_type(type_id)
    return no_content()


# ---- tickets -----------------------------------------------------------------------------------------------


async def list_tickets(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await _event(request, admin)
    store = _store(request)
    tickets = await store.list_tickets(event.id)
    sessions = await store.list_sessions(event.id)
    base = base_url(request)
    interests = await store.interests.interests_of(t.id for t in tickets)
    return respond(
        s.TicketList(tickets=[ticket_out(t, sessions, base, interests.get(t.id, ())) for t in tickets])
    )


async def create_tickets(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await _event(request, admin)
    body = await read_json(request, s.TicketsIn)
    store = _store(request)
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
    ticket = await _ticket(request, admin)
    store = _store(request)
    sessions = await store.list_sessions(ticket.event_id)
    interests = await store.interests.ticket_interests(ticket.id)
    return respond(ticket_out(ticket, sessions, base_url(request), interests))


async def patch_ticket(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    ticket = await _ticket(request, admin)
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
    store = _store(request)
    updated = await store.update_ticket(ticket.id, data, new_secret=body.regenerate_secret)
    rooms = request.app.get(ROOMS_KEY)
    if rooms is not None:
        await rooms.ticket_changed(ticket, updated)  # a running room applies it at once
    sessions = await store.list_sessions(ticket.event_id)
    interests = await store.interests.ticket_interests(ticket.id)
    return respond(ticket_out(updated, sessions, base_url(request), interests))


async def delete_ticket(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    ticket = await _ticket(request, admin)
    rooms = request.app.get(ROOMS_KEY)
    if rooms is not None:
        # Its holder is taken out of running sessions (a meeting of theirs ends) before it goes.
        await rooms.ticket_changed(ticket, None)
    await _remove_files(request, await _store(request).delete_ticket(ticket.id))
    return no_content()


# ---- sessions ----------------------------------------------------------------------------------------------


def _aware(value: datetime, timezone: str) -> datetime:
    """Times without an offset are read in the event's time zone."""
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(timezone))


def _pairs(value: list[tuple[str, str]] | None) -> tuple[tuple[str, str], ...] | None:
    return None if value is None else tuple((a, b) for a, b in value)


async def list_sessions(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await _event(request, admin)
    now = _now(request)
    sessions = await _store(request).list_sessions(event.id)
    return respond(s.SessionList(sessions=[session_out(x, now) for x in sessions]))


async def create_session(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await _event(request, admin)
    body = await read_json(request, s.SessionIn)
    data = SessionInput(
        title=body.title,
        starts_at=_aware(body.starts_at, event.timezone),
        ends_at=_aware(body.ends_at, event.timezone),
        meeting_seconds=body.meeting_seconds,
        allow_rematch=body.allow_rematch,
        rematch_cooldown_seconds=body.rematch_cooldown_seconds,
        max_extensions=body.max_extensions,
        allowed_pairs=_pairs(body.allowed_pairs),
        interest_weighting=body.interest_weighting,
    )
    record = await _store(request).create_session(event.id, data)
    return respond(session_out(record, _now(request)), status=201)


async def get_session(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    return respond(session_out(await _session(request, admin), _now(request)))


async def patch_session(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await _session(request, admin)
    body = await read_json(request, s.SessionPatch)
    event = await _store(request).get_event(current.event_id)
    if event is None:
        raise NotFound(f"event {current.event_id} not found")
    fields = body.model_fields_set
    for name in ("title", "starts_at", "ends_at", "meeting_seconds", "allow_rematch", "interest_weighting"):
        if name in fields and getattr(body, name) is None:
            raise Unprocessable(f"{name} cannot be null")
    data = SessionInput(
        title=body.title if body.title is not None else current.title,
        starts_at=_aware(body.starts_at, event.timezone) if body.starts_at is not None else current.starts_at,
        ends_at=_aware(body.ends_at, event.timezone) if body.ends_at is not None else current.ends_at,
        meeting_seconds=body.meeting_seconds if body.meeting_seconds is not None else current.meeting_seconds,
        allow_rematch=body.allow_rematch if body.allow_rematch is not None else current.allow_rematch,
        rematch_cooldown_seconds=(
            body.rematch_cooldown_seconds
            if body.rematch_cooldown_seconds is not None
            else current.rematch_cooldown_seconds
        ),
        max_extensions=body.max_extensions if body.max_extensions is not None else current.max_extensions,
        # An explicit null lifts the matrix (everyone may meet everyone); absent keeps it.
        allowed_pairs=(
            _pairs(body.allowed_pairs) if "allowed_pairs" in fields else _pairs(current.allowed_pairs)
        ),
        interest_weighting=(
            body.interest_weighting if body.interest_weighting is not None else current.interest_weighting
        ),
    )
    record = await _store(request).update_session(current.id, data)
    rooms = request.app.get(ROOMS_KEY)
    if rooms is not None:
        await rooms.session_changed(record)  # a running room pairs by the new rules from now on
    return respond(session_out(record, _now(request)))


async def delete_session(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await _session(request, admin)
    _refuse_while_live(request, "this session is running", session_id=current.id)
    await _remove_files(request, await _store(request).delete_session(current.id))
    return no_content()


def _refuse_while_live(request: web.Request, why: str, **which: int) -> None:
    """Deleting what a running room uses would lose its meeting records: 409 until the room is done."""
    rooms = request.app.get(ROOMS_KEY)
    if rooms is not None and rooms.holds(**which):
        raise Conflict(
            f"{why}: it can be deleted once the session has ended and its last meeting is over "
            "(to end the session sooner, move its end time)"
        )


async def _save_upload(
    request: web.Request, kinds: tuple[str, ...], event_id: int, ticket_id: int | None, purpose: str
) -> tuple[uploads.StoredFile, AssetInput]:
    files = request.app[MEDIA_FILES_KEY]
    stored = await uploads.receive(request, files, request.app[UPLOAD_WORKERS_KEY], kinds, _limits(request))
    data = AssetInput(
        event_id=event_id,
        ticket_id=ticket_id,
        purpose=purpose,
        kind=stored.media_type.kind,
        content_type=stored.media_type.content_type,
        filename=stored.filename,
        size_bytes=stored.size_bytes,
        width=stored.width,
        height=stored.height,
    )
    return stored, data


async def put_pre_session_media(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await _session(request, admin)
    stored, data = await _save_upload(request, ("image", "video"), current.event_id, None, "pre_session")
    try:
        record, old = await _store(request).set_pre_session_media(current.id, data)
    except BaseException:
        await _remove_files(request, [stored.filename])
        raise
    await _remove_files(request, [old] if old else [])
    return respond(session_out(record, _now(request)))


async def delete_pre_session_media(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await _session(request, admin)
    old = await _store(request).clear_pre_session_media(current.id)
    await _remove_files(request, [old] if old else [])
    return no_content()


async def session_summary(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await _session(request, admin)
    summary = await _store(request).session_summary(current.id)
    return respond(summary_out(summary, current.status(_now(request))))


async def session_live(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await _session(request, admin)
    rooms = request.app.get(ROOMS_KEY)
    live = await rooms.live_summary(current.id) if rooms is not None else None
    return respond(
        s.LiveOut(
            session_id=current.id,
            status=current.status(_now(request)),
            running=live is not None,
            live=live.as_dict() if live is not None else None,
        )
    )


# ---- assets ------------------------------------------------------------------------------------------------


async def list_assets(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await _event(request, admin)
    assets = await _store(request).event_backgrounds(event.id)
    return respond(s.AssetList(assets=[asset_out(a, "event") for a in assets]))


async def upload_asset(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await _event(request, admin)
    record = await store_upload(request, ("image",), event.id, None, "background")
    return respond(asset_out(record, "event"), status=201)


async def store_upload(
    request: web.Request,
    kinds: tuple[str, ...],
    event_id: int,
    ticket_id: int | None,
    purpose: str,
    quota: UploadQuota | None = None,
) -> AssetRecord:
    if ticket_id is not None and quota is not None:
        await _store(request).check_upload_quota(ticket_id, quota)  # before any decoding
    stored, data = await _save_upload(request, kinds, event_id, ticket_id, purpose)
    try:
        return await _store(request).add_asset(data, quota)  # counts and inserts in one step
    except BaseException:
        await _remove_files(request, [stored.filename])
        raise


async def delete_asset(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    asset_id = path_id(request, "asset_id")
    store = _store(request)
    record = await store.get_asset(asset_id)
    if record is None:
        raise NotFound(f"asset {asset_id} not found")
    admin.check_event(record.event_id)
    deleted = await store.delete_asset(asset_id)
    await _remove_files(request, [deleted.filename])
    return no_content()


_E = r"{event_id:\d+}"
_TICKET_RULES = (
    "ticket_type names one of the event's ticket types",
    "each interest is one of the event's interest tags, none listed twice",
)
_SESSION_RULES = (
    "starts_at and ends_at are real dates and times",
    "ends_at is after starts_at",
    f"a session lasts at most {MAX_SESSION_DURATION.days} days",
    "the session falls on the event's days, in the event's time zone",
    "allowed_pairs names only the event's ticket types",
)

ROUTES = [
    Route("GET", "/api/admin/events", list_events, "List events", TAG, "admin", response=s.EventList),
    Route(
        "POST", "/api/admin/events", create_event, "Create an event", TAG, "admin",
        body=s.EventIn, response=s.EventOut, status=201, errors=(409,),
    ),
    Route(
        "GET", f"/api/admin/events/{_E}", get_event, "An event with its ticket types and sessions", TAG,
        "admin", response=s.EventDetail,
    ),
    Route(
        "PATCH", f"/api/admin/events/{_E}", patch_event, "Change an event", TAG, "admin",
        body=s.EventPatch, response=s.EventOut, errors=(409,),
    ),
    Route(
        "DELETE", f"/api/admin/events/{_E}", delete_event, "Delete an event and everything in it", TAG,
        "admin", status=204,
    ),
    Route(
        "GET", f"/api/admin/events/{_E}/ticket-types", list_ticket_types, "List ticket types", TAG, "admin",
        response=s.TicketTypeList,
    ),
    Route(
        "POST", f"/api/admin/events/{_E}/ticket-types", create_ticket_type, "Create a ticket type", TAG,
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
        "GET", f"/api/admin/events/{_E}/tickets", list_tickets, "List tickets with their join links", TAG,
        "admin", response=s.TicketList,
    ),
    Route(
        "POST", f"/api/admin/events/{_E}/tickets", create_tickets,
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
    Route(
        "GET", f"/api/admin/events/{_E}/sessions", list_sessions, "List networking sessions", TAG, "admin",
        response=s.SessionList,
    ),
    Route(
        "POST", f"/api/admin/events/{_E}/sessions", create_session, "Create a networking session", TAG,
        "admin", body=s.SessionIn, response=s.SessionOut, status=201, errors=(409,), rules=_SESSION_RULES,
    ),
    Route(
        "GET", r"/api/admin/sessions/{session_id:\d+}", get_session, "A session and its rules", TAG, "admin",
        response=s.SessionOut,
    ),
    Route(
        "PATCH", r"/api/admin/sessions/{session_id:\d+}", patch_session, "Change a session or its rules",
        TAG, "admin", body=s.SessionPatch, response=s.SessionOut, errors=(409,), rules=_SESSION_RULES,
    ),
    Route(
        "DELETE", r"/api/admin/sessions/{session_id:\d+}", delete_session,
        "Delete a session and its meeting history", TAG, "admin", status=204,
    ),
    Route(
        "PUT", r"/api/admin/sessions/{session_id:\d+}/pre-session-media", put_pre_session_media,
        "Upload the image or video shown before the session starts", TAG, "admin",
        upload=("image", "video"), response=s.SessionOut,
    ),
    Route(
        "DELETE", r"/api/admin/sessions/{session_id:\d+}/pre-session-media", delete_pre_session_media,
        "Remove the pre-session media", TAG, "admin", status=204,
    ),
    Route(
        "GET", r"/api/admin/sessions/{session_id:\d+}/summary", session_summary,
        "Meetings, extensions, connections and average wait of a session", TAG, "admin",
        response=s.SessionSummaryOut,
    ),
    Route(
        "GET", r"/api/admin/sessions/{session_id:\d+}/live", session_live,
        "Live counts from the session's running room", TAG, "admin", response=s.LiveOut,
    ),
    Route(
        "GET", f"/api/admin/events/{_E}/assets", list_assets, "The event's background images", TAG, "admin",
        response=s.AssetList,
    ),
    Route(
        "POST", f"/api/admin/events/{_E}/assets", upload_asset,
        "Upload a background image offered to every attendee", TAG, "admin", response=s.AssetOut,
        upload=("image",), status=201,
    ),
    Route(
        "DELETE", r"/api/admin/assets/{asset_id:\d+}", delete_asset, "Delete an uploaded file", TAG, "admin",
        status=204,
    ),
]  # fmt: skip
