"""Downloads: an attendee's accepted connections (vCard, CSV) and a session's meetings and connections (CSV)
for its organiser. Never a private note; contact details only for accepted connections."""

from __future__ import annotations

import re

from aiohttp import web

from web import exports
from web.admin_api import require_session
from web.api_route import Route
from web.auth import require_admin, require_ticket
from web.errors import NotFound
from web.keys import STORE_KEY

_TICKET_QUERY = {"t": "Ticket secret from the join link (or send the X-Ticket header)"}


def _download(text: str, content_type: str, filename: str) -> web.Response:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "export"
    return web.Response(
        body=text.encode(),
        headers={
            "Content-Type": f"{content_type}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{safe}"',
        },
    )


async def my_connections_vcard(request: web.Request) -> web.Response:
    ticket = await require_ticket(request)
    store = request.app[STORE_KEY]
    event = await store.get_event(ticket.event_id)
    if event is None:
        raise NotFound(f"event {ticket.event_id} not found")
    connections = await store.connections_for_ticket(ticket.id)
    return _download(
        exports.connections_vcard(connections, event.name), "text/vcard", f"{event.name} connections.vcf"
    )


async def my_connections_csv(request: web.Request) -> web.Response:
    ticket = await require_ticket(request)
    store = request.app[STORE_KEY]
    event = await store.get_event(ticket.event_id)
    name = event.name if event is not None else "speedmeet"
    connections = await store.connections_for_ticket(ticket.id)
    return _download(exports.connections_csv(connections), "text/csv", f"{name} connections.csv")


async def _session_export(request: web.Request) -> tuple[exports.SessionExport, str]:
    session = await require_session(request, await require_admin(request))
    store = request.app[STORE_KEY]
    meetings = await store.meetings_for_session(session.id)
    tickets = {t.id: t for t in await store.list_tickets(session.event_id)}
    connections = await store.connections_for_event(session.event_id)
    return exports.SessionExport(meetings, tickets, connections), f"session-{session.id} {session.title}"


async def session_meetings_csv(request: web.Request) -> web.Response:
    export, name = await _session_export(request)
    return _download(export.meetings_csv(), "text/csv", f"{name} meetings.csv")


async def session_connections_csv(request: web.Request) -> web.Response:
    export, name = await _session_export(request)
    return _download(export.connections_csv(), "text/csv", f"{name} connections.csv")


ROUTES = [
    Route(
        "GET", "/api/me/connections.vcf", my_connections_vcard,
        "My accepted connections as vCards (one file, to import into an address book)", "attendee",
        "ticket", query=_TICKET_QUERY, produces="text/vcard",
    ),
    Route(
        "GET", "/api/me/connections.csv", my_connections_csv, "My accepted connections as CSV", "attendee",
        "ticket", query=_TICKET_QUERY, produces="text/csv",
    ),
    Route(
        "GET", r"/api/admin/sessions/{session_id:\d+}/meetings.csv", session_meetings_csv,
        "The session's meetings as CSV: who met whom, when, how long, extensions, end reason, connection "
        "state (no contact details, no notes)", "admin", "admin", produces="text/csv",
    ),
    Route(
        "GET", r"/api/admin/sessions/{session_id:\d+}/connections.csv", session_connections_csv,
        "The connections between people who met in the session, as CSV (email addresses once accepted)",
        "admin", "admin", produces="text/csv",
    ),
]  # fmt: skip
