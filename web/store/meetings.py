"""What the media plane writes: meetings, connections, blocks and reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from web.store import models as m
from web.store.core import StoreCore
from web.store.errors import InvalidData, NotAllowed, NotFound
from web.store.helpers import connection_record, ordered_pair
from web.store.history import (
    BlockMade,
    ConnectionSet,
    HistoryRow,
    MeetingEnded,
    MeetingStarted,
    ReportMade,
    write_history,
)
from web.store.records import ConnectionRecord


class MeetingMethods(StoreCore):
    """Meetings, connections, blocks and reports as they happen."""

    async def record_history(self, rows: Sequence[HistoryRow], meeting_ids: dict[str, int]) -> None:
        """Write a session's history rows in one transaction, in order (see `web.store.history`): all of
        them or none. `meeting_ids` maps the caller's meeting keys to row ids (new meetings are added)."""
        written = dict(meeting_ids)
        async with self._tx() as s:
            await write_history(s, rows, written, self._upsert_connection)
        meeting_ids.update(written)

    async def record_meeting_started(
        self,
        session_id: int,
        a_ticket_id: int,
        b_ticket_id: int,
        started_at: datetime,
        a_waited_seconds: float,
        b_waited_seconds: float,
    ) -> int:
        ids: dict[str, int] = {}
        row = MeetingStarted(
            "new", session_id, a_ticket_id, b_ticket_id, started_at, a_waited_seconds, b_waited_seconds
        )
        await self.record_history([row], ids)
        return ids["new"]

    async def record_meeting_ended(
        self, meeting_id: int, ended_at: datetime, extensions: int, end_reason: str
    ) -> None:
        await self.record_history(
            [MeetingEnded("old", ended_at, extensions, end_reason)], {"old": meeting_id}
        )

    async def set_connection(
        self, a_ticket_id: int, b_ticket_id: int, requested_by: int, state: str, at: datetime
    ) -> None:
        """Upsert the pair's connection: accepted stays accepted; the first requester is kept."""
        await self.record_history([ConnectionSet(a_ticket_id, b_ticket_id, requested_by, state, at)], {})

    async def _upsert_connection(
        self, s: AsyncSession, a: int, b: int, requested_by: int, state: str, at: datetime
    ) -> m.Connection:
        row = await s.scalar(
            select(m.Connection).where(m.Connection.a_ticket_id == a, m.Connection.b_ticket_id == b)
        )
        if row is None:
            ta = await s.get(m.Ticket, a)
            tb = await s.get(m.Ticket, b)
            if ta is None or tb is None:
                raise NotFound("ticket not found")
            if ta.event_id != tb.event_id:
                raise InvalidData("tickets of different events cannot connect")
            row = m.Connection(
                event_id=ta.event_id,
                a_ticket_id=a,
                b_ticket_id=b,
                requested_by=requested_by,
                state=state,
                requested_at=at,
                accepted_at=at if state == "accepted" else None,
            )
            s.add(row)
        elif state == "accepted" and row.state != "accepted":
            row.state = "accepted"
            row.accepted_at = at
        await s.flush()
        return row

    async def request_connection(
        self, by_ticket_id: int, other_ticket_id: int, at: datetime
    ) -> ConnectionRecord:
        """An attendee asks to connect after meeting someone; asking back accepts a pending request."""
        if by_ticket_id == other_ticket_id:
            raise InvalidData("you cannot connect with yourself")
        a, b = ordered_pair(by_ticket_id, other_ticket_id)
        async with self._tx() as s:
            met = await s.scalar(
                select(m.Meeting.id)
                .where(
                    or_(
                        (m.Meeting.a_ticket_id == a) & (m.Meeting.b_ticket_id == b),
                        (m.Meeting.a_ticket_id == b) & (m.Meeting.b_ticket_id == a),
                    )
                )
                .limit(1)
            )
            if met is None:
                raise NotAllowed("you can only connect with someone you have met")
            blocked = await s.scalar(
                select(m.Block.id)
                .where(
                    or_(
                        (m.Block.by_ticket_id == a) & (m.Block.blocked_ticket_id == b),
                        (m.Block.by_ticket_id == b) & (m.Block.blocked_ticket_id == a),
                    )
                )
                .limit(1)
            )
            if blocked is not None:
                raise NotAllowed("a connection is not possible with this attendee")
            row = await s.scalar(
                select(m.Connection).where(m.Connection.a_ticket_id == a, m.Connection.b_ticket_id == b)
            )
            if row is None:
                row = await self._upsert_connection(s, a, b, by_ticket_id, "requested", at)
            elif row.state == "requested" and row.requested_by != by_ticket_id:
                row = await self._upsert_connection(s, a, b, row.requested_by, "accepted", at)
            return connection_record(row)

    async def record_block(
        self, event_id: int, by_ticket_id: int, blocked_ticket_id: int, at: datetime
    ) -> None:
        """Idempotent; also withdraws the pair's connection (see `web.store.history.BlockMade`)."""
        await self.record_history([BlockMade(event_id, by_ticket_id, blocked_ticket_id, at)], {})

    async def record_report(
        self, session_id: int, by_ticket_id: int, reported_ticket_id: int, reason: str, at: datetime
    ) -> None:
        await self.record_history([ReportMade(session_id, by_ticket_id, reported_ticket_id, reason, at)], {})
