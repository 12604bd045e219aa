"""The organiser's API for sessions: their rules, pre-session media, summary and live view."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from web import schemas as s
from web.admin_access import (
    EVENT_ID,
    TAG,
    refuse_while_live,
    remove_files,
    request_now,
    require_event,
    require_session,
    save_upload,
    store_of,
)
from web.api_route import Route
from web.auth import require_admin
from web.errors import NotFound, Unprocessable
from web.json_io import no_content, read_json, respond
from web.keys import ROOMS_KEY
from web.store import MAX_SESSION_DURATION, SessionInput
from web.views import session_out, summary_out

_SESSION_RULES = (
    "starts_at and ends_at are real dates and times",
    "ends_at is after starts_at",
    f"a session lasts at most {MAX_SESSION_DURATION.days} days",
    "the session falls on the event's days, in the event's time zone",
    "allowed_pairs names only the event's ticket types",
)


def _aware(value: datetime, timezone: str) -> datetime:
    """Times without an offset are read in the event's time zone."""
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(timezone))


def _pairs(value: list[tuple[str, str]] | None) -> tuple[tuple[str, str], ...] | None:
    return None if value is None else tuple((a, b) for a, b in value)


async def list_sessions(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await require_event(request, admin)
    now = request_now(request)
    sessions = await store_of(request).list_sessions(event.id)
    return respond(s.SessionList(sessions=[session_out(x, now) for x in sessions]))


async def create_session(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    event = await require_event(request, admin)
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
    record = await store_of(request).create_session(event.id, data)
    return respond(session_out(record, request_now(request)), status=201)


async def get_session(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    return respond(session_out(await require_session(request, admin), request_now(request)))


async def patch_session(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await require_session(request, admin)
    body = await read_json(request, s.SessionPatch)
    event = await store_of(request).get_event(current.event_id)
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
    record = await store_of(request).update_session(current.id, data)
    rooms = request.app.get(ROOMS_KEY)
    if rooms is not None:
        await rooms.session_changed(record)  # a running room pairs by the new rules from now on
    return respond(session_out(record, request_now(request)))


async def delete_session(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await require_session(request, admin)
    refuse_while_live(request, "this session is running", session_id=current.id)
    await remove_files(request, await store_of(request).delete_session(current.id))
    return no_content()


async def put_pre_session_media(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await require_session(request, admin)
    stored, data = await save_upload(request, ("image", "video"), current.event_id, None, "pre_session")
    try:
        record, old = await store_of(request).set_pre_session_media(current.id, data)
    except BaseException:
        await remove_files(request, [stored.filename])
        raise
    await remove_files(request, [old] if old else [])
    return respond(session_out(record, request_now(request)))


async def delete_pre_session_media(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await require_session(request, admin)
    old = await store_of(request).clear_pre_session_media(current.id)
    await remove_files(request, [old] if old else [])
    return no_content()


async def session_summary(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await require_session(request, admin)
    summary = await store_of(request).session_summary(current.id)
    return respond(summary_out(summary, current.status(request_now(request))))


async def session_live(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    current = await require_session(request, admin)
    rooms = request.app.get(ROOMS_KEY)
    live = await rooms.live_summary(current.id) if rooms is not None else None
    return respond(
        s.LiveOut(
            session_id=current.id,
            status=current.status(request_now(request)),
            running=live is not None,
            live=live.as_dict() if live is not None else None,
        )
    )


ROUTES = [
    Route(
        "GET", f"/api/admin/events/{EVENT_ID}/sessions", list_sessions, "List networking sessions", TAG,
        "admin", response=s.SessionList,
    ),
    Route(
        "POST", f"/api/admin/events/{EVENT_ID}/sessions", create_session, "Create a networking session", TAG,
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
]  # fmt: skip
