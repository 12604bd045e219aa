"""Moderation: attendees an organiser removed from a session, and the organiser's action on each report.

A removal is per session: the session's room refuses the ticket until the organiser deletes the removal;
other sessions of the event still admit it. A report keeps who reported whom, when and why (written by the
room, `web.store.history`); the organiser records what they did about it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from web.store import models as m
from web.store.errors import Conflict, InvalidData, NotFound

ReportAction = Literal["dismissed", "warned", "removed"]
REPORT_ACTIONS: tuple[str, ...] = get_args(ReportAction)
MAX_ACTION_NOTE_LENGTH = 1000

Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True)
class RemovalRecord:
    session_id: int
    ticket_id: int
    name: str
    removed_at: datetime


@dataclass(frozen=True)
class ReportRecord:
    id: int
    session_id: int
    by_ticket_id: int
    by_name: str
    reported_ticket_id: int
    reported_name: str
    reason: str
    created_at: datetime
    action: str | None
    action_note: str | None
    action_at: datetime | None


class ModerationStore:
    """Removals and report actions, each call in its own transaction of the `Store`."""

    def __init__(self, transaction: Transaction) -> None:
        self._tx = transaction

    async def _session(self, s: AsyncSession, session_id: int) -> m.Session:
        session = await s.get(m.Session, session_id)
        if session is None:
            raise NotFound(f"session {session_id} not found")
        return session

    async def remove(self, session_id: int, ticket_id: int, at: datetime) -> RemovalRecord:
        """Remove `ticket_id` from the session. `NotFound` for an unknown session, or a ticket that is not
        of the session's event; `Conflict` when it is removed already."""
        async with self._tx() as s:
            session = await self._session(s, session_id)
            ticket = await s.get(m.Ticket, ticket_id)
            if ticket is None or ticket.event_id != session.event_id:
                raise NotFound(f"ticket {ticket_id} not found in this session's event")
            row = await s.scalar(
                select(m.SessionRemoval).where(
                    m.SessionRemoval.session_id == session_id, m.SessionRemoval.ticket_id == ticket_id
                )
            )
            if row is not None:
                raise Conflict(f"ticket {ticket_id} is removed from session {session_id} already")
            row = m.SessionRemoval(session_id=session_id, ticket_id=ticket_id, removed_at=at)
            s.add(row)
            try:
                await s.flush()
            except IntegrityError:  # removed by a concurrent call
                raise Conflict(f"ticket {ticket_id} is removed from session {session_id} already") from None
            return RemovalRecord(session_id, ticket_id, ticket.name, at.astimezone(UTC))

    async def restore(self, session_id: int, ticket_id: int) -> None:
        """Let a removed attendee back into the session; `NotFound` when they were not removed."""
        async with self._tx() as s:
            await self._session(s, session_id)
            row = await s.scalar(
                select(m.SessionRemoval).where(
                    m.SessionRemoval.session_id == session_id, m.SessionRemoval.ticket_id == ticket_id
                )
            )
            if row is None:
                raise NotFound(f"ticket {ticket_id} is not removed from session {session_id}")
            await s.delete(row)

    async def removals(self, session_id: int) -> list[RemovalRecord]:
        """The session's removed attendees, oldest removal first."""
        async with self._tx() as s:
            await self._session(s, session_id)
            rows = await s.execute(
                select(m.SessionRemoval, m.Ticket.name)
                .join(m.Ticket, m.Ticket.id == m.SessionRemoval.ticket_id)
                .where(m.SessionRemoval.session_id == session_id)
                .order_by(m.SessionRemoval.removed_at, m.SessionRemoval.id)
            )
            return [
                RemovalRecord(row.session_id, row.ticket_id, name, row.removed_at.astimezone(UTC))
                for row, name in rows.all()
            ]

    async def removed_ticket_ids(self, session_id: int) -> set[int]:
        """The ticket ids removed from the session (empty for an unknown session)."""
        async with self._tx() as s:
            rows = await s.scalars(
                select(m.SessionRemoval.ticket_id).where(m.SessionRemoval.session_id == session_id)
            )
            return set(rows)

    async def reports(self, session_id: int) -> list[ReportRecord]:
        """The session's reports, oldest first, with both names and the organiser's action."""
        by, reported = aliased(m.Ticket), aliased(m.Ticket)
        async with self._tx() as s:
            await self._session(s, session_id)
            rows = await s.execute(
                select(m.Report, by.name, reported.name)
                .join(by, by.id == m.Report.by_ticket_id)
                .join(reported, reported.id == m.Report.reported_ticket_id)
                .where(m.Report.session_id == session_id)
                .order_by(m.Report.created_at, m.Report.id)
            )
            return [_report(row, by_name, reported_name) for row, by_name, reported_name in rows.all()]

    async def get_report(self, report_id: int) -> tuple[int, int] | None:
        """The session and event of a report (None: no such report)."""
        async with self._tx() as s:
            row = (
                await s.execute(
                    select(m.Report.session_id, m.Session.event_id)
                    .join(m.Session, m.Session.id == m.Report.session_id)
                    .where(m.Report.id == report_id)
                )
            ).first()
            return None if row is None else (row[0], row[1])

    async def set_action(
        self, report_id: int, action: str | None, note: str | None, at: datetime
    ) -> ReportRecord:
        """Record what the organiser did about a report (None clears it). `InvalidData` for an action not
        in `REPORT_ACTIONS` or a note over 1,000 characters; `NotFound` for an unknown report."""
        if action is not None and action not in REPORT_ACTIONS:
            raise InvalidData(f"action must be one of {', '.join(REPORT_ACTIONS)} or null")
        if note is not None:
            if len(note) > MAX_ACTION_NOTE_LENGTH:
                raise InvalidData(f"a note has at most {MAX_ACTION_NOTE_LENGTH} characters")
            note = note.strip() or None
        async with self._tx() as s:
            row = await s.get(m.Report, report_id)
            if row is None:
                raise NotFound(f"report {report_id} not found")
            row.action = action
            row.action_note = note if action is not None else None
            row.action_at = at if action is not None else None
            await s.flush()
            by = await s.get(m.Ticket, row.by_ticket_id)
            reported = await s.get(m.Ticket, row.reported_ticket_id)
            assert by is not None and reported is not None  # the report cascades with its tickets
            return _report(row, by.name, reported.name)


def _report(row: m.Report, by_name: str, reported_name: str) -> ReportRecord:
    return ReportRecord(
        id=row.id,
        session_id=row.session_id,
        by_ticket_id=row.by_ticket_id,
        by_name=by_name,
        reported_ticket_id=row.reported_ticket_id,
        reported_name=reported_name,
        reason=row.reason,
        created_at=row.created_at.astimezone(UTC),
        action=row.action,
        action_note=row.action_note,
        action_at=row.action_at.astimezone(UTC) if row.action_at is not None else None,
    )
