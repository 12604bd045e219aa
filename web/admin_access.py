"""What the organiser's API modules share: the store, clock and files of a request, the admin's
event, session or ticket named in the path, and the handling of uploads."""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiohttp import web

from web import uploads
from web.auth import Admin
from web.errors import Conflict, NotFound
from web.json_io import path_id
from web.keys import CLOCK_KEY, CONFIG_KEY, MEDIA_FILES_KEY, ROOMS_KEY, STORE_KEY, UPLOAD_WORKERS_KEY
from web.store import AssetInput, AssetRecord, EventRecord, SessionRecord, Store, TicketRecord, UploadQuota

TAG = "admin"
EVENT_ID = r"{event_id:\d+}"


def store_of(request: web.Request) -> Store:
    return request.app[STORE_KEY]


def request_now(request: web.Request) -> datetime:
    return request.app[CLOCK_KEY]()


def base_url(request: web.Request) -> str:
    return request.app[CONFIG_KEY].base_url(f"{request.scheme}://{request.host}")


async def remove_files(request: web.Request, names: list[str]) -> None:
    if names:
        files = request.app[MEDIA_FILES_KEY]
        await asyncio.get_running_loop().run_in_executor(None, files.remove, names)


def upload_limits(request: web.Request) -> uploads.Limits:
    c = request.app[CONFIG_KEY]
    return uploads.Limits(c.max_image_bytes, c.max_video_bytes, c.max_image_pixels)


async def require_event(request: web.Request, admin: Admin, name: str = "event_id") -> EventRecord:
    event_id = path_id(request, name)
    admin.check_event(event_id)
    event = await store_of(request).get_event(event_id)
    if event is None:
        raise NotFound(f"event {event_id} not found")
    return event


async def require_session(request: web.Request, admin: Admin) -> SessionRecord:
    session_id = path_id(request, "session_id")
    record = await store_of(request).get_session(session_id)
    if record is None:
        raise NotFound(f"session {session_id} not found")
    admin.check_event(record.event_id)
    return record


async def require_ticket(request: web.Request, admin: Admin) -> TicketRecord:
    ticket_id = path_id(request, "ticket_id")
    record = await store_of(request).get_ticket(ticket_id)
    if record is None:
        raise NotFound(f"ticket {ticket_id} not found")
    admin.check_event(record.event_id)
    return record


def refuse_while_live(request: web.Request, why: str, **which: int) -> None:
    """Deleting what a running room uses would lose its meeting records: 409 until the room is done."""
    rooms = request.app.get(ROOMS_KEY)
    if rooms is not None and rooms.holds(**which):
        raise Conflict(
            f"{why}: it can be deleted once the session has ended and its last meeting is over "
            "(to end the session sooner, move its end time)"
        )


async def save_upload(
    request: web.Request, kinds: tuple[str, ...], event_id: int, ticket_id: int | None, purpose: str
) -> tuple[uploads.StoredFile, AssetInput]:
    files = request.app[MEDIA_FILES_KEY]
    stored = await uploads.receive(
        request, files, request.app[UPLOAD_WORKERS_KEY], kinds, upload_limits(request)
    )
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


async def store_upload(
    request: web.Request,
    kinds: tuple[str, ...],
    event_id: int,
    ticket_id: int | None,
    purpose: str,
    quota: UploadQuota | None = None,
) -> AssetRecord:
    if ticket_id is not None and quota is not None:
        await store_of(request).check_upload_quota(ticket_id, quota)  # before any decoding
    stored, data = await save_upload(request, kinds, event_id, ticket_id, purpose)
    try:
        return await store_of(request).add_asset(data, quota)  # counts and inserts in one step
    except BaseException:
        await remove_files(request, [stored.filename])
        raise
