"""Moderation for organisers: remove an attendee from a session (a running room takes them out at once and
refuses them until the removal is deleted), and the session's reports with what the organiser did."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from aiohttp import web

from web import schemas as s
from web.admin_api import require_session
from web.api_route import Route
from web.auth import require_admin
from web.errors import NotFound
from web.json_io import no_content, path_id, read_json, respond
from web.keys import ROOMS_KEY, STORE_KEY


async def _tell_room(request: web.Request, session_id: int, ticket_id: int, removed: bool) -> None:
    rooms = request.app.get(ROOMS_KEY)
    if rooms is not None:
        await rooms.removal_changed(session_id, ticket_id, removed)


async def list_removals(request: web.Request) -> web.Response:
    session = await require_session(request, await require_admin(request))
    removals = await request.app[STORE_KEY].moderation.removals(session.id)
    return respond(s.RemovalsOut(removals=[s.RemovalOut(**asdict(r)) for r in removals]))


async def remove_attendee(request: web.Request) -> web.Response:
    session = await require_session(request, await require_admin(request))
    body = await read_json(request, s.RemovalIn)
    removal = await request.app[STORE_KEY].moderation.remove(session.id, body.ticket_id, datetime.now(UTC))
    await _tell_room(request, session.id, body.ticket_id, True)
    return respond(s.RemovalOut(**asdict(removal)), status=201)


async def restore_attendee(request: web.Request) -> web.Response:
    session = await require_session(request, await require_admin(request))
    ticket_id = path_id(request, "ticket_id")
    await request.app[STORE_KEY].moderation.restore(session.id, ticket_id)
    await _tell_room(request, session.id, ticket_id, False)
    return no_content()


async def list_reports(request: web.Request) -> web.Response:
    session = await require_session(request, await require_admin(request))
    reports = await request.app[STORE_KEY].moderation.reports(session.id)
    return respond(s.ReportsOut(reports=[s.ReportOut(**asdict(r)) for r in reports]))


async def set_report_action(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    report_id = path_id(request, "report_id")
    moderation = request.app[STORE_KEY].moderation
    found = await moderation.get_report(report_id)
    if found is None:
        raise NotFound(f"report {report_id} not found")
    admin.check_event(found[1])
    body = await read_json(request, s.ReportActionIn)
    report = await moderation.set_action(report_id, body.action, body.note, datetime.now(UTC))
    return respond(s.ReportOut(**asdict(report)))


_S = r"/api/admin/sessions/{session_id:\d+}"
ADMIN = "admin"

ROUTES = [
    Route(
        "GET", f"{_S}/removals", list_removals, "Attendees removed from the session, oldest first",
        ADMIN, "admin", response=s.RemovalsOut,
    ),
    Route(
        "POST", f"{_S}/removals", remove_attendee,
        "Remove an attendee from the session: a meeting they are in ends, their socket closes (4012) and "
        "the session refuses them until the removal is deleted",
        ADMIN, "admin", body=s.RemovalIn, response=s.RemovalOut, status=201, errors=(409,),
    ),
    Route(
        "DELETE", f"{_S}/removals/{{ticket_id:\\d+}}", restore_attendee,
        "Let a removed attendee back into the session", ADMIN, "admin", status=204,
    ),
    Route(
        "GET", f"{_S}/reports", list_reports,
        "The session's reports: who reported whom, when, why, and what the organiser did", ADMIN, "admin",
        response=s.ReportsOut,
    ),
    Route(
        "PATCH", r"/api/admin/reports/{report_id:\d+}", set_report_action,
        "Record what the organiser did about a report (dismissed, warned, removed; null clears it)",
        ADMIN, "admin", body=s.ReportActionIn, response=s.ReportOut,
    ),
]  # fmt: skip
