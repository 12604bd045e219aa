"""Interests, private notes and ratings: the organiser's tags and aggregates, the attendee's own picks and
notes. A running room hears of changed interests at once, so the next pairing weighs them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from web import schemas as s
from web.admin_api import require_event, require_session
from web.api_route import Route
from web.auth import require_admin, require_ticket
from web.errors import NotFound
from web.json_io import path_id, read_json, respond
from web.keys import ROOMS_KEY, STORE_KEY
from web.views import note_out, rating_out

logger = logging.getLogger(__name__)

_TICKET_QUERY = {"t": "Ticket secret from the join link (or send the X-Ticket header)"}


async def _tell_rooms(request: web.Request, event_id: int, ticket_ids: list[int] | None = None) -> None:
    rooms = request.app.get(ROOMS_KEY)
    if rooms is not None:
        await rooms.interests_changed(event_id, ticket_ids)


# ---- the organiser -----------------------------------------------------------------------------------------


async def get_event_interests(request: web.Request) -> web.Response:
    event = await require_event(request, await require_admin(request))
    return respond(s.InterestTagsOut(tags=await request.app[STORE_KEY].interests.event_tags(event.id)))


async def put_event_interests(request: web.Request) -> web.Response:
    event = await require_event(request, await require_admin(request))
    body = await read_json(request, s.InterestTagsIn)
    tags = await request.app[STORE_KEY].interests.set_event_tags(event.id, body.tags)
    await _tell_rooms(request, event.id)  # a dropped tag left the tickets that had it
    return respond(s.InterestTagsOut(tags=tags))


async def session_ratings(request: web.Request) -> web.Response:
    session = await require_session(request, await require_admin(request))
    return respond(rating_out(await request.app[STORE_KEY].notes.rating_summary(session.id)))


# ---- the attendee ------------------------------------------------------------------------------------------


async def get_my_interests(request: web.Request) -> web.Response:
    ticket = await require_ticket(request)
    interests = request.app[STORE_KEY].interests
    return respond(
        s.MyInterestsOut(
            interests=await interests.ticket_interests(ticket.id),
            offered=await interests.event_tags(ticket.event_id),
        )
    )


async def put_my_interests(request: web.Request) -> web.Response:
    ticket = await require_ticket(request)
    body = await read_json(request, s.MyInterestsIn)
    interests = request.app[STORE_KEY].interests
    chosen = await interests.set_ticket_interests(ticket.id, body.interests)
    await _tell_rooms(request, ticket.event_id, [ticket.id])
    return respond(s.MyInterestsOut(interests=chosen, offered=await interests.event_tags(ticket.event_id)))


async def get_my_note(request: web.Request) -> web.Response:
    ticket = await require_ticket(request)
    meeting_id = path_id(request, "meeting_id")
    note = (await request.app[STORE_KEY].notes.notes_of(ticket.id)).get(meeting_id)
    if note is None:
        raise NotFound(f"you have no note on meeting {meeting_id}")
    return respond(note_out(note))


async def put_my_note(request: web.Request) -> web.Response:
    ticket = await require_ticket(request)
    meeting_id = path_id(request, "meeting_id")
    body = await read_json(request, s.NoteIn)
    note = await request.app[STORE_KEY].notes.save_note(
        meeting_id, ticket.id, body.note, body.rating, body.would_meet_again, datetime.now(UTC)
    )
    return respond(note_out(note))


_M = r"{meeting_id:\d+}"
ADMIN = "admin"
ATTENDEE = "attendee"

ROUTES = [
    Route(
        "GET", r"/api/admin/events/{event_id:\d+}/interests", get_event_interests,
        "The event's interest tags, in the order attendees see them", ADMIN, "admin",
        response=s.InterestTagsOut,
    ),
    Route(
        "PUT", r"/api/admin/events/{event_id:\d+}/interests", put_event_interests,
        "Replace the event's interest tags (at most 50); a dropped tag leaves every ticket", ADMIN, "admin",
        body=s.InterestTagsIn, response=s.InterestTagsOut,
        rules=("the tags are distinct, ignoring case",),
    ),
    Route(
        "GET", r"/api/admin/sessions/{session_id:\d+}/ratings", session_ratings,
        "Ratings after the session's meetings: counts and averages only, never a note", ADMIN, "admin",
        response=s.RatingSummaryOut,
    ),
    Route(
        "GET", "/api/me/interests", get_my_interests, "My interests and the event's tags to pick from",
        ATTENDEE, "ticket", response=s.MyInterestsOut, query=_TICKET_QUERY,
    ),
    Route(
        "PUT", "/api/me/interests", put_my_interests,
        "Pick up to 5 of the event's tags, before or during the session", ATTENDEE, "ticket",
        body=s.MyInterestsIn, response=s.MyInterestsOut, query=_TICKET_QUERY,
        rules=("each interest is one of the event's tags", "no interest is listed twice"),
    ),
    Route(
        "GET", f"/api/me/meetings/{_M}/note", get_my_note, "My private note and rating of a meeting",
        ATTENDEE, "ticket", response=s.NoteOut, query=_TICKET_QUERY,
    ),
    Route(
        "PUT", f"/api/me/meetings/{_M}/note", put_my_note,
        "Write or edit my private note, rating (1-5) and would-meet-again for one of my meetings",
        ATTENDEE, "ticket", body=s.NoteIn, response=s.NoteOut, query=_TICKET_QUERY,
    ),
]  # fmt: skip
