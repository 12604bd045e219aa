"""Who is asking: the organiser (admin token or an admin's ticket) or an attendee (ticket secret)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from web.errors import Forbidden, Unauthorized
from web.keys import STORE_KEY
from web.store import TicketRecord

_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="speedmeet admin"'}
MAX_SECRET_LENGTH = 256


@dataclass(frozen=True)
class Admin:
    """An organiser. `event_id` None: the admin token, every event; else an admin ticket, its event only."""

    event_id: int | None
    ticket_id: int | None = None

    def check_event(self, event_id: int) -> None:
        if self.event_id is not None and self.event_id != event_id:
            raise Forbidden("your admin ticket belongs to another event")

    def check_global(self) -> None:
        if self.event_id is not None:
            raise Forbidden("this needs the admin token, not an admin ticket")


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized(
            "missing admin token: send 'Authorization: Bearer <token>'", headers=_BEARER_CHALLENGE
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "malformed Authorization header: expected 'Bearer <token>'", headers=_BEARER_CHALLENGE
        )
    return token.strip()


async def require_admin(request: web.Request) -> Admin:
    token = _bearer(request)
    if len(token) > MAX_SECRET_LENGTH:
        raise Unauthorized("invalid admin token", headers=_BEARER_CHALLENGE)
    store = request.app[STORE_KEY]
    if await store.check_admin_token(token):
        return Admin(event_id=None)
    ticket = await store.get_ticket_by_secret(token)
    if ticket is None:
        raise Unauthorized("invalid admin token", headers=_BEARER_CHALLENGE)
    if not ticket.is_admin:
        raise Forbidden("this ticket is not an organiser's: the admin API is for organisers")
    return Admin(event_id=ticket.event_id, ticket_id=ticket.id)


def ticket_secret(request: web.Request) -> str | None:
    return request.query.get("t") or request.headers.get("X-Ticket") or None


async def require_ticket(request: web.Request) -> TicketRecord:
    secret = ticket_secret(request)
    if secret is None:
        raise Unauthorized("missing ticket: add ?t=<secret> from your join link (or an X-Ticket header)")
    if len(secret) > MAX_SECRET_LENGTH:
        raise Unauthorized("unknown ticket")
    ticket = await request.app[STORE_KEY].get_ticket_by_secret(secret)
    if ticket is None:
        raise Unauthorized("unknown ticket: check your join link")
    return ticket


def check_ticket_event(ticket: TicketRecord, event_id: int) -> None:
    if ticket.event_id != event_id:
        raise Forbidden("your ticket is for another event")
