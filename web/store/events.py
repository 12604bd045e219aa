"""Events and their ticket types."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from web.store import models as m
from web.store.core import StoreCore
from web.store.errors import Conflict, InvalidData, NotFound
from web.store.helpers import MAX_EVENT_DAYS, check_session_times, utc_now, zone_info
from web.store.inputs import EventInput
from web.store.records import EventRecord, TicketTypeRecord


def _check_event(data: EventInput) -> None:
    if not data.name.strip():
        raise InvalidData("event name must not be empty")
    zone_info(data.timezone)
    if not data.days:
        raise InvalidData("an event needs at least one day")
    if len(data.days) > MAX_EVENT_DAYS:
        raise InvalidData(f"an event has at most {MAX_EVENT_DAYS} days")


class EventMethods(StoreCore):
    """Events (with their days) and ticket types."""

    async def _event_record(self, s: AsyncSession, row: m.Event) -> EventRecord:
        days = await self._event_days(s, row.id)
        return EventRecord(row.id, row.name, row.timezone, days, row.created_at)

    async def _check_event_name_free(self, s: AsyncSession, name: str, event_id: int | None) -> None:
        q = select(m.Event.id).where(m.Event.name == name)
        if event_id is not None:
            q = q.where(m.Event.id != event_id)
        if await s.scalar(q) is not None:
            raise Conflict(f"an event named {name!r} already exists")

    async def create_event(self, data: EventInput) -> EventRecord:
        _check_event(data)
        async with self._tx() as s:
            await self._check_event_name_free(s, data.name, None)
            row = m.Event(name=data.name, timezone=data.timezone, created_at=utc_now())
            s.add(row)
            await s.flush()
            s.add_all(m.EventDay(event_id=row.id, day=d) for d in sorted(set(data.days)))
            await s.flush()
            return await self._event_record(s, row)

    async def get_event(self, event_id: int) -> EventRecord | None:
        async with self._tx() as s:
            row = await s.get(m.Event, event_id)
            return None if row is None else await self._event_record(s, row)

    async def list_events(self) -> list[EventRecord]:
        async with self._tx() as s:
            rows = (await s.scalars(select(m.Event).order_by(m.Event.id))).all()
            days: dict[int, list[date]] = {r.id: [] for r in rows}
            for event_id, day in await s.execute(
                select(m.EventDay.event_id, m.EventDay.day).order_by(m.EventDay.day)
            ):
                days.setdefault(event_id, []).append(day)
            return [EventRecord(r.id, r.name, r.timezone, tuple(days[r.id]), r.created_at) for r in rows]

    async def update_event(self, event_id: int, data: EventInput) -> EventRecord:
        """Replace an event's fields; refused if its sessions would no longer fall on its days."""
        _check_event(data)
        async with self._tx() as s:
            row = await self._event_row(s, event_id)
            await self._check_event_name_free(s, data.name, event_id)
            new_days = sorted(set(data.days))
            sessions = (await s.scalars(select(m.Session).where(m.Session.event_id == event_id))).all()
            for sess in sessions:
                try:
                    check_session_times(sess.starts_at, sess.ends_at, data.timezone, new_days)
                except InvalidData as exc:
                    raise Conflict(f"session {sess.id} ({sess.title!r}) would no longer fit: {exc}") from exc
            row.name = data.name
            row.timezone = data.timezone
            await s.execute(delete(m.EventDay).where(m.EventDay.event_id == event_id))
            s.add_all(m.EventDay(event_id=event_id, day=d) for d in new_days)
            await s.flush()
            return await self._event_record(s, row)

    async def delete_event(self, event_id: int) -> list[str]:
        """Delete an event and everything in it; returns the file names of its assets to remove."""
        async with self._tx() as s:
            row = await self._event_row(s, event_id)
            files = list(await s.scalars(select(m.Asset.filename).where(m.Asset.event_id == event_id)))
            # Tickets hold a RESTRICT key to ticket types: remove them first, the rest cascades.
            await s.execute(delete(m.Session).where(m.Session.event_id == event_id))
            await s.execute(delete(m.Ticket).where(m.Ticket.event_id == event_id))
            await s.delete(row)
            return files

    # ---- ticket types ------------------------------------------------------------------------------------

    async def _ticket_type_row(self, s: AsyncSession, type_id: int) -> m.TicketType:
        row = await s.get(m.TicketType, type_id)
        if row is None:
            raise NotFound(f"ticket type {type_id} not found")
        return row

    async def _ticket_type_record(self, s: AsyncSession, row: m.TicketType) -> TicketTypeRecord:
        count = await s.scalar(
            select(func.count()).select_from(m.Ticket).where(m.Ticket.ticket_type_id == row.id)
        )
        return TicketTypeRecord(row.id, row.event_id, row.name, int(count or 0), row.created_at)

    async def _check_type_name_free(
        self, s: AsyncSession, event_id: int, name: str, type_id: int | None
    ) -> None:
        q = select(m.TicketType.id).where(m.TicketType.event_id == event_id, m.TicketType.name == name)
        if type_id is not None:
            q = q.where(m.TicketType.id != type_id)
        if await s.scalar(q) is not None:
            raise Conflict(f"the event already has a ticket type named {name!r}")

    async def create_ticket_type(self, event_id: int, name: str) -> TicketTypeRecord:
        if not name.strip():
            raise InvalidData("ticket type name must not be empty")
        async with self._tx() as s:
            await self._event_row(s, event_id)
            await self._check_type_name_free(s, event_id, name, None)
            row = m.TicketType(event_id=event_id, name=name, created_at=utc_now())
            s.add(row)
            await s.flush()
            return TicketTypeRecord(row.id, event_id, name, 0, row.created_at)

    async def get_ticket_type(self, type_id: int) -> TicketTypeRecord | None:
        async with self._tx() as s:
            row = await s.get(m.TicketType, type_id)
            return None if row is None else await self._ticket_type_record(s, row)

    async def list_ticket_types(self, event_id: int) -> list[TicketTypeRecord]:
        async with self._tx() as s:
            await self._event_row(s, event_id)
            count_rows = await s.execute(
                select(m.Ticket.ticket_type_id, func.count())
                .where(m.Ticket.event_id == event_id)
                .group_by(m.Ticket.ticket_type_id)
            )
            counts = {type_id: n for type_id, n in count_rows}
            rows = await s.scalars(
                select(m.TicketType).where(m.TicketType.event_id == event_id).order_by(m.TicketType.id)
            )
            return [
                TicketTypeRecord(r.id, r.event_id, r.name, counts.get(r.id, 0), r.created_at) for r in rows
            ]

    async def rename_ticket_type(self, type_id: int, name: str) -> TicketTypeRecord:
        if not name.strip():
            raise InvalidData("ticket type name must not be empty")
        async with self._tx() as s:
            row = await self._ticket_type_row(s, type_id)
            await self._check_type_name_free(s, row.event_id, name, type_id)
            row.name = name
            await s.flush()
            return await self._ticket_type_record(s, row)

    async def delete_ticket_type(self, type_id: int) -> None:
        async with self._tx() as s:
            row = await self._ticket_type_row(s, type_id)
            tickets = await s.scalar(
                select(func.count()).select_from(m.Ticket).where(m.Ticket.ticket_type_id == type_id)
            )
            if tickets:
                raise Conflict(f"ticket type {row.name!r} still has {tickets} ticket(s)")
            used = await s.scalar(
                select(m.Session.title)
                .join(m.SessionPair, m.SessionPair.session_id == m.Session.id)
                .where(or_(m.SessionPair.type_a_id == type_id, m.SessionPair.type_b_id == type_id))
                .limit(1)
            )
            if used is not None:
                raise Conflict(f"ticket type {row.name!r} is in the matching matrix of session {used!r}")
            await s.delete(row)
