"""Tickets: the attendees of an event and their join secrets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from web.store import models as m
from web.store.core import StoreCore
from web.store.errors import Conflict, InvalidData, NotFound
from web.store.helpers import SECRET_PATTERN, new_ticket_secret, ticket_record, utc_now
from web.store.inputs import TicketInput
from web.store.interests import replace_ticket_interests
from web.store.records import TicketRecord


class TicketMethods(StoreCore):
    """Tickets."""

    async def _ticket_with_type(self, s: AsyncSession, *where: Any) -> TicketRecord | None:
        row = (
            await s.execute(
                select(m.Ticket, m.TicketType.name)
                .join(m.TicketType, m.TicketType.id == m.Ticket.ticket_type_id)
                .where(*where)
            )
        ).first()
        return None if row is None else ticket_record(row[0], row[1])

    @staticmethod
    def _check_ticket(data: TicketInput) -> None:
        if not data.name.strip():
            raise InvalidData("ticket holder name must not be empty")
        if "@" not in data.email:
            raise InvalidData(f"not an email address: {data.email!r}")

    async def create_tickets(self, event_id: int, tickets: Sequence[TicketInput]) -> list[TicketRecord]:
        """Create many tickets at once: all of them, or (on any error) none."""
        for data in tickets:
            self._check_ticket(data)
        emails = Counter(t.email.lower() for t in tickets)
        dupes = sorted(e for e, n in emails.items() if n > 1)
        if dupes:
            raise Conflict(f"the list names these emails more than once: {', '.join(dupes)}")
        async with self._tx() as s:
            await self._event_row(s, event_id)
            types = await self._type_ids_by_name(s, event_id)
            unknown = sorted({t.ticket_type for t in tickets if t.ticket_type not in types})
            if unknown:
                raise InvalidData(f"unknown ticket type(s) for this event: {', '.join(unknown)}")
            taken = set(
                await s.scalars(
                    select(m.Ticket.email).where(
                        m.Ticket.event_id == event_id, func.lower(m.Ticket.email).in_(list(emails))
                    )
                )
            )
            if taken:
                raise Conflict(f"the event already has tickets for: {', '.join(sorted(taken))}")
            now = utc_now()
            rows = [
                m.Ticket(
                    event_id=event_id,
                    ticket_type_id=types[t.ticket_type],
                    name=t.name,
                    email=t.email,
                    headline=t.headline,
                    company=t.company,
                    secret=new_ticket_secret(),
                    is_admin=t.is_admin,
                    created_at=now,
                )
                for t in tickets
            ]
            s.add_all(rows)
            await s.flush()
            chosen = {r.id: t.interests for r, t in zip(rows, tickets, strict=True) if t.interests}
            if chosen:
                await replace_ticket_interests(s, event_id, chosen)
            return [ticket_record(r, t.ticket_type) for r, t in zip(rows, tickets, strict=True)]

    async def get_ticket(self, ticket_id: int) -> TicketRecord | None:
        async with self._tx() as s:
            return await self._ticket_with_type(s, m.Ticket.id == ticket_id)

    async def get_ticket_by_secret(self, secret: str) -> TicketRecord | None:
        """None for a string that cannot be a secret, without asking the database (PostgreSQL refuses NUL)."""
        if SECRET_PATTERN.fullmatch(secret) is None:
            return None
        async with self._tx() as s:
            return await self._ticket_with_type(s, m.Ticket.secret == secret)

    async def list_tickets(self, event_id: int) -> list[TicketRecord]:
        async with self._tx() as s:
            await self._event_row(s, event_id)
            rows = await s.execute(
                select(m.Ticket, m.TicketType.name)
                .join(m.TicketType, m.TicketType.id == m.Ticket.ticket_type_id)
                .where(m.Ticket.event_id == event_id)
                .order_by(m.Ticket.id)
            )
            return [ticket_record(t, name) for t, name in rows]

    async def update_ticket(
        self, ticket_id: int, data: TicketInput, new_secret: bool = False
    ) -> TicketRecord:
        """Replace a ticket's fields; `new_secret` invalidates its old join links."""
        self._check_ticket(data)
        async with self._tx() as s:
            row = await s.get(m.Ticket, ticket_id)
            if row is None:
                raise NotFound(f"ticket {ticket_id} not found")
            types = await self._type_ids_by_name(s, row.event_id)
            if data.ticket_type not in types:
                raise InvalidData(f"unknown ticket type for this event: {data.ticket_type}")
            if data.email.lower() != row.email.lower():
                taken = await s.scalar(
                    select(m.Ticket.id).where(
                        m.Ticket.event_id == row.event_id,
                        func.lower(m.Ticket.email) == data.email.lower(),
                        m.Ticket.id != ticket_id,
                    )
                )
                if taken is not None:
                    raise Conflict(f"the event already has a ticket for {data.email}")
            row.name = data.name
            row.email = data.email
            row.headline = data.headline
            row.company = data.company
            row.is_admin = data.is_admin
            row.ticket_type_id = types[data.ticket_type]
            if new_secret:
                row.secret = new_ticket_secret()
            await s.flush()
            return ticket_record(row, data.ticket_type)

    async def delete_ticket(self, ticket_id: int) -> list[str]:
        """Delete a ticket with its history; returns the file names of its uploads to remove."""
        async with self._tx() as s:
            row = await s.get(m.Ticket, ticket_id)
            if row is None:
                raise NotFound(f"ticket {ticket_id} not found")
            files = list(await s.scalars(select(m.Asset.filename).where(m.Asset.ticket_id == ticket_id)))
            await s.delete(row)
            return files
