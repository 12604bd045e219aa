"""Interest tags: the ones an organiser offers for an event, and the ones each ticket holder picked."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from web.store import models as m
from web.store.errors import InvalidData, NotFound

MAX_EVENT_TAGS = 50
MAX_TICKET_INTERESTS = 5
MAX_TAG_LENGTH = 40

Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def clean_tag(tag: str) -> str:
    """A tag as stored: trimmed, 1 to 40 characters, no control characters (raises `InvalidData`)."""
    if not isinstance(tag, str):
        raise InvalidData("an interest tag must be a string")
    text = tag.strip()
    if not text:
        raise InvalidData("an interest tag must not be empty")
    if len(text) > MAX_TAG_LENGTH:
        raise InvalidData(f"an interest tag has at most {MAX_TAG_LENGTH} characters: {text[:50]!r}")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in text):  # the API documents the same rule
        raise InvalidData(f"an interest tag must not contain control characters: {text!r}")
    return text


def check_event_tags(tags: Sequence[str]) -> list[str]:
    """An event's tags in the organiser's order: at most 50, distinct ignoring case."""
    cleaned = [clean_tag(t) for t in tags]
    if len(cleaned) > MAX_EVENT_TAGS:
        raise InvalidData(f"an event has at most {MAX_EVENT_TAGS} interest tags, got {len(cleaned)}")
    seen: set[str] = set()
    for tag in cleaned:
        if tag.casefold() in seen:
            raise InvalidData(f"interest tag {tag!r} is listed twice")
        seen.add(tag.casefold())
    return cleaned


def pick_interests(chosen: Iterable[str], offered: Sequence[str]) -> list[str]:
    """A ticket's interests: at most 5 of the event's tags (matched ignoring case), in the event's order."""
    by_key = {tag.casefold(): tag for tag in offered}
    picked: set[str] = set()
    unknown: list[str] = []
    for raw in chosen:
        tag = clean_tag(raw)
        found = by_key.get(tag.casefold())
        if found is None:
            unknown.append(tag)
        else:
            picked.add(found)
    if unknown:
        raise InvalidData(f"not an interest tag of this event: {', '.join(sorted(set(unknown)))}")
    if len(picked) > MAX_TICKET_INTERESTS:
        raise InvalidData(f"pick at most {MAX_TICKET_INTERESTS} interests, got {len(picked)}")
    return [tag for tag in offered if tag in picked]


class InterestStore:
    """Reads and writes of interest tags, each in its own transaction of the `Store`."""

    def __init__(self, transaction: Transaction) -> None:
        self._tx = transaction

    async def event_tags(self, event_id: int) -> list[str]:
        async with self._tx() as s:
            await _event(s, event_id)
            return [row.tag for row in await _event_rows(s, event_id)]

    async def set_event_tags(self, event_id: int, tags: Sequence[str]) -> list[str]:
        """Replace an event's tags. A tag kept (same text) keeps the tickets that picked it; a tag dropped
        disappears from every ticket."""
        wanted = check_event_tags(tags)
        async with self._tx() as s:
            await _event(s, event_id)
            rows = {row.tag: row for row in await _event_rows(s, event_id)}
            gone = [row.id for tag, row in rows.items() if tag not in wanted]
            if gone:
                await s.execute(delete(m.EventInterest).where(m.EventInterest.id.in_(gone)))
            for position, tag in enumerate(wanted):
                row = rows.get(tag)
                if row is None:
                    s.add(m.EventInterest(event_id=event_id, tag=tag, position=position))
                else:
                    row.position = position
            await s.flush()
            return wanted

    async def ticket_interests(self, ticket_id: int) -> list[str]:
        async with self._tx() as s:
            if await s.get(m.Ticket, ticket_id) is None:
                raise NotFound(f"ticket {ticket_id} not found")
            return (await _interests_of(s, [ticket_id])).get(ticket_id, [])

    async def interests_of(self, ticket_ids: Iterable[int]) -> dict[int, list[str]]:
        """The interests of many tickets (those without any are left out)."""
        async with self._tx() as s:
            return await _interests_of(s, list(set(ticket_ids)))

    async def set_ticket_interests(self, ticket_id: int, tags: Sequence[str]) -> list[str]:
        """Replace a ticket's interests with at most 5 of its event's tags; returns them in the event's
        order."""
        async with self._tx() as s:
            ticket = await s.get(m.Ticket, ticket_id)
            if ticket is None:
                raise NotFound(f"ticket {ticket_id} not found")
            return (await replace_ticket_interests(s, ticket.event_id, {ticket_id: tags}))[ticket_id]


async def _event(s: AsyncSession, event_id: int) -> m.Event:
    row = await s.get(m.Event, event_id)
    if row is None:
        raise NotFound(f"event {event_id} not found")
    return row


async def _event_rows(s: AsyncSession, event_id: int) -> list[m.EventInterest]:
    rows = await s.scalars(
        select(m.EventInterest)
        .where(m.EventInterest.event_id == event_id)
        .order_by(m.EventInterest.position, m.EventInterest.id)
    )
    return list(rows)


async def _interests_of(s: AsyncSession, ticket_ids: list[int]) -> dict[int, list[str]]:
    if not ticket_ids:
        return {}
    rows = await s.execute(
        select(m.TicketInterest.ticket_id, m.EventInterest.tag)
        .join(m.EventInterest, m.EventInterest.id == m.TicketInterest.interest_id)
        .where(m.TicketInterest.ticket_id.in_(ticket_ids))
        .order_by(m.EventInterest.position, m.EventInterest.id)
    )
    out: dict[int, list[str]] = {}
    for ticket_id, tag in rows:
        out.setdefault(ticket_id, []).append(tag)
    return out


async def replace_ticket_interests(
    s: AsyncSession, event_id: int, chosen: Mapping[int, Sequence[str]]
) -> dict[int, list[str]]:
    """Within the caller's transaction: set the interests of tickets of `event_id` (all checked before
    any is written); returns each ticket's interests in the event's order."""
    rows = await _event_rows(s, event_id)
    offered = [row.tag for row in rows]
    ids = {row.tag: row.id for row in rows}
    picked = {ticket_id: pick_interests(tags, offered) for ticket_id, tags in chosen.items()}
    await s.execute(delete(m.TicketInterest).where(m.TicketInterest.ticket_id.in_(list(chosen))))
    s.add_all(
        m.TicketInterest(ticket_id=ticket_id, interest_id=ids[tag])
        for ticket_id, tags in picked.items()
        for tag in tags
    )
    await s.flush()
    return picked
