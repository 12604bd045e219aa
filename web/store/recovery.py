"""Closing what a stopped server left open: meetings whose end was never written.

A meeting's row gets its `ended_at` when the meeting ends. If the server stops while a meeting runs (a
crash, a kill, a power cut), the row stays open; without this, the next start would show the meeting as
running forever. The moment the server actually stopped is not stored anywhere, so the end written here
is the last moment the database shows the server alive around that meeting:

* the latest time the server wrote for the meeting's session: a meeting of that session starting or
  ending, a report made in it;
* the latest time it wrote for the pair: their connection request or acceptance, a block between them;
* never before the meeting's start, and never after the longest the meeting could have run (its length
  plus every allowed extension, each half a length) or the restart itself.

That is a lower bound of the real end (the meeting may have run on, unseen, until the server stopped), so
the length is not known: such meetings end with reason `server_restart`, and the session summary leaves
them out of its average meeting length.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from web.store import models as m

# The end reason of a meeting closed on start because the server stopped while it ran.
SERVER_RESTART = "server_restart"


def longest_meeting(meeting_seconds: int, max_extensions: int) -> timedelta:
    """The longest a meeting may run: its length plus every extension (each adds half a length)."""
    return timedelta(seconds=meeting_seconds * (1 + max_extensions / 2))


async def _latest(s: AsyncSession, *maxima: Select[Any]) -> datetime | None:
    """The latest of several `select(func.max(...))` queries; None when every one is empty."""
    found = [value for query in maxima if (value := await s.scalar(query)) is not None]
    return max(found, default=None)


async def _session_last_seen(s: AsyncSession, session_id: int) -> datetime | None:
    in_session = m.Meeting.session_id == session_id
    return await _latest(
        s,
        select(func.max(m.Meeting.started_at)).where(in_session),
        select(func.max(m.Meeting.ended_at)).where(in_session),
        select(func.max(m.Report.created_at)).where(m.Report.session_id == session_id),
    )


async def _pair_last_seen(s: AsyncSession, a: int, b: int) -> datetime | None:
    low, high = min(a, b), max(a, b)
    pair = (m.Connection.a_ticket_id == low) & (m.Connection.b_ticket_id == high)
    blocked = or_(
        (m.Block.by_ticket_id == a) & (m.Block.blocked_ticket_id == b),
        (m.Block.by_ticket_id == b) & (m.Block.blocked_ticket_id == a),
    )
    return await _latest(
        s,
        select(func.max(m.Connection.requested_at)).where(pair),
        select(func.max(m.Connection.accepted_at)).where(pair),
        select(func.max(m.Block.created_at)).where(blocked),
    )


async def close_interrupted_meetings(s: AsyncSession, now: datetime) -> int:
    """Give every meeting without an end the end described above; returns how many were closed."""
    rows = (
        await s.execute(
            select(m.Meeting, m.Session.meeting_seconds, m.Session.max_extensions)
            .join(m.Session, m.Session.id == m.Meeting.session_id)
            .where(m.Meeting.ended_at.is_(None))
            .order_by(m.Meeting.id)
        )
    ).all()
    session_seen: dict[int, datetime | None] = {}
    for meeting, meeting_seconds, max_extensions in rows:
        if meeting.session_id not in session_seen:
            session_seen[meeting.session_id] = await _session_last_seen(s, meeting.session_id)
        seen = [
            t
            for t in (
                meeting.started_at,
                session_seen[meeting.session_id],
                await _pair_last_seen(s, meeting.a_ticket_id, meeting.b_ticket_id),
            )
            if t is not None
        ]
        latest_possible = min(meeting.started_at + longest_meeting(meeting_seconds, max_extensions), now)
        meeting.ended_at = max(meeting.started_at, min(max(seen), latest_possible))
        meeting.end_reason = SERVER_RESTART
    await s.flush()
    return len(rows)
